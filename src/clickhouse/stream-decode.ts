/**
 * Result decoders for `stream()`: the same text and binary decoding as `select`, fed chunk
 * by chunk as the response arrives, holding only the part of a row that has not ended yet.
 */
import { StringDecoder } from 'node:string_decoder';
import { type BinaryContext, readHeader } from './decode-binary.js';
import { Input, type Reader, SHORT } from './binary-input.js';
import { type DecodeContext, type TsvHeader, tsvHeader, tsvLines } from './decode.js';
import { ProtocolError } from './errors.js';
import type { RowBuild } from './row-builder.js';
import type { Row } from './types.js';

/**
 * Decodes a `RowBinaryWithNamesAndTypes` body as it arrives: `push` each chunk and get the
 * rows it completed, `end` at the end of the body for the rest. A row split between chunks
 * comes with the chunk that ends it, or (a row longer than what it held when it ran short)
 * once twice those bytes are in, or from `end`: each byte is read a bounded number of times,
 * however many chunks a row spans. The readers are compiled once, from the header.
 *
 * @example
 * const decoder = new RowBinaryStream({ int64: 'auto' });
 * for (const chunk of chunks) handle(decoder.push(chunk));
 * handle(decoder.end());
 */
// Bytes of the next chunk joined to the front of a row cut between chunks, past what it said it needs.
const JOIN_FRONT = 4096;

export class RowBinaryStream {
  // The bytes of a row not read yet (and what came after it), kept as they came: joined
  // only once there are `#needed` of them.
  #parts: Buffer[] = [];
  #held = 0;
  #needed = 0;
  #names: string[] | undefined;
  #readers: Reader[] = [];
  #build: RowBuild<Input> | undefined;

  constructor(readonly context: BinaryContext) {}

  /** The column names and types, once the header has arrived. */
  get columns(): readonly string[] | undefined {
    return this.#names;
  }

  /** The rows `chunk` completed, appended to `rows` (a new array unless given). */
  push(chunk: Buffer, rows: Row[] = []): Row[] {
    if (this.#held === 0) return this.#read(chunk, rows);
    this.#parts.push(chunk);
    this.#held += chunk.length;
    if (this.#held < this.#needed) return rows;
    const rest = this.#parts[0] as Buffer;
    if (this.#parts.length === 2 && this.#build !== undefined) {
      // Most often the rest is the front of one row that this chunk ends: that row is read
      // from the rest joined with the chunk's first bytes, then the chunk in place after it
      // (not the whole chunk copied behind the rest). A row longer than that is joined whole below.
      const front = Math.min(chunk.length, this.#needed - rest.length + JOIN_FRONT);
      const input = new Input(Buffer.concat([rest, chunk.subarray(0, front)], rest.length + front), true);
      let row: Row | undefined;
      try {
        row = this.#build(this.#readers, input);
      } catch (err) {
        if (err !== SHORT) throw err;
      }
      if (row !== undefined) {
        rows.push(row);
        this.#parts = [];
        this.#held = 0;
        return this.#read(chunk.subarray(input.pos - rest.length), rows);
      }
    }
    const buf = Buffer.concat(this.#parts, this.#held);
    this.#parts = [];
    this.#held = 0;
    return this.#read(buf, rows);
  }

  /** The rows of what is left (a row waiting for more bytes than it needed); throws when the body ended inside a row. */
  end(): Row[] {
    if (this.#held === 0) return [];
    const left = Buffer.concat(this.#parts, this.#held);
    this.#parts = [];
    this.#held = 0;
    const rows = this.#read(left, []);
    if (this.#held > 0) throw new ProtocolError(`RowBinary body ends inside a row (${this.#held} bytes left over)`, 200);
    return rows;
  }

  #read(buf: Buffer, rows: Row[]): Row[] {
    const input = new Input(buf, true);
    let start = 0;
    try {
      if (this.#names === undefined) this.#header(input);
      start = input.pos;
      const build = this.#build as RowBuild<Input>;
      const readers = this.#readers;
      while (input.pos < buf.length) {
        rows.push(build(readers, input));
        start = input.pos;
      }
    } catch (err) {
      if (err !== SHORT) throw err;
      const rest = buf.subarray(start);
      this.#parts = [rest];
      this.#held = rest.length;
      // What the row said it needs, and at least twice what it holds: a row that says only
      // its next value (an array of strings) is then read again after each doubling, not
      // after each chunk, which for a row of many chunks would read it over and over.
      this.#needed = Math.max(input.needed - start, 2 * rest.length);
    }
    return rows;
  }

  #header(input: Input): void {
    const { names, readers, build } = readHeader(input, this.context);
    this.#readers = readers;
    this.#build = build;
    this.#names = names;
  }
}

/** What a collector feeds: a decoder that appends the rows each chunk completes, and gives the rest at the end. */
interface ChunkDecoder {
  push(chunk: Buffer, rows: Row[]): Row[];
  end(): Row[];
}

/**
 * A select's body decoded into one array as it arrives, so that the body is never held
 * whole: `push` takes each chunk and never throws (a failure is kept, the rows so far
 * dropped, and the rest of the body ignored); `rows()` at the end gives the rows or throws
 * what failed. Whether a failure was the rows' or an exception the server appended is for
 * the caller to decide from the body's end, before it asks for `rows()`.
 *
 * @example
 * const rows: RowCollector = binary ? new RowBinaryCollector({ int64 }) : new TsvCollector({ int64, serverTimeZone });
 * await send(transport, server, { ...request, binary: rows.binary, onBody: rows.push });
 */
export abstract class RowCollector {
  /** The body is `RowBinaryWithNamesAndTypes` (asked with the binary settings), not text. */
  abstract readonly binary: boolean;
  readonly #decoder: ChunkDecoder;
  #rows: Row[] = [];
  #failure: { readonly error: unknown } | undefined;

  constructor(decoder: ChunkDecoder) {
    this.#decoder = decoder;
  }

  readonly push = (chunk: Buffer): void => {
    if (this.#failure !== undefined) return;
    try {
      this.#decoder.push(chunk, this.#rows);
    } catch (error) {
      this.#failure = { error };
      this.#rows = [];
    }
  };

  rows(): Row[] {
    if (this.#failure === undefined) {
      try {
        this.#decoder.end().forEach((row) => this.#rows.push(row));
      } catch (error) {
        this.#failure = { error };
      }
    }
    if (this.#failure !== undefined) throw this.#failure.error;
    return this.#rows;
  }
}

/**
 * A select's `RowBinaryWithNamesAndTypes` body collected as it arrives (see `RowCollector`);
 * `rows()` throws `UnsupportedBinaryType` for a column type the decoder cannot read,
 * `ProtocolError` for bytes that are not rows.
 *
 * @example
 * const collector = new RowBinaryCollector({ int64: 'auto' });
 * await send(transport, server, { ...request, binary: true, onBody: collector.push });
 * const rows = collector.rows();
 */
export class RowBinaryCollector extends RowCollector {
  readonly binary = true;

  constructor(context: BinaryContext) {
    super(new RowBinaryStream(context));
  }
}

/**
 * A select's `TabSeparatedWithNamesAndTypes` body collected as it arrives (see
 * `RowCollector`), decoded in the server's time zone, which must be known before the body
 * comes; `header` is the body's columns once they have arrived and read well.
 *
 * @example
 * const collector = new TsvCollector({ int64: 'auto', serverTimeZone: 'UTC' });
 * await send(transport, server, { ...request, onBody: collector.push });
 * const rows = collector.rows();
 */
export class TsvCollector extends RowCollector {
  readonly binary = false;
  readonly #tsv: TsvStream;

  constructor(context: DecodeContext) {
    const tsv = new TsvStream(context);
    super(tsv);
    this.#tsv = tsv;
  }

  get header(): TsvHeader | undefined {
    return this.#tsv.header;
  }
}

/**
 * Decodes a `TabSeparatedWithNamesAndTypes` body as it arrives: `push` each chunk and get
 * the rows whose lines it completed; `end` at the end of the body. A row is one line (TSV
 * escapes newlines inside values), so a line split between chunks waits for its end.
 *
 * @example
 * const decoder = new TsvStream({ int64: 'auto', serverTimeZone: 'UTC' });
 * decoder.push(Buffer.from('x\nUInt8\n1\n2')); // [{ x: 1 }]
 * decoder.push(Buffer.from('\n'));               // [{ x: 2 }]
 */
export class TsvStream {
  readonly #utf8 = new StringDecoder('utf8');
  // The start of a line whose end has not come yet (or, before the header, all so far).
  #rest = '';
  #header: TsvHeader | undefined;
  #headerLines = 0;

  constructor(readonly context: DecodeContext) {}

  /** The column names and types, once they have arrived (and read well). */
  get header(): TsvHeader | undefined {
    return this.#header;
  }

  /** The rows whose lines `chunk` completed, appended to `rows` (a new array unless given). */
  push(chunk: Buffer, rows: Row[] = []): Row[] {
    const text = this.#utf8.write(chunk);
    if (this.#header === undefined) {
      // The header's two lines may come in many chunks: only each new one is searched.
      this.#rest += text;
      for (let at = text.indexOf('\n'); at >= 0 && this.#headerLines < 2; at = text.indexOf('\n', at + 1)) this.#headerLines++;
      if (this.#headerLines < 2) return rows;
      const head = this.#rest;
      this.#rest = '';
      const { header, rowsStart } = tsvHeader(head);
      this.#header = header;
      return this.#lines(head, rowsStart, rows);
    }
    if (this.#rest === '') return this.#lines(text, 0, rows);
    // The line begun in an earlier chunk is read on its own: the chunk is read in place.
    const first = text.indexOf('\n');
    if (first < 0) {
      this.#rest += text;
      return rows;
    }
    const line = this.#rest + text.slice(0, first + 1);
    this.#rest = '';
    return this.#lines(text, first + 1, tsvLines(this.#header, line, 0, line.length, this.context, rows));
  }

  /** The rows of a last line without its newline; throws when the header never came. */
  end(): Row[] {
    const text = this.#rest + this.#utf8.end();
    this.#rest = '';
    if (this.#header === undefined) {
      if (text === '') return [];
      throw new ProtocolError('response has no column names and types', 200);
    }
    return text === '' ? [] : tsvLines(this.#header, text, 0, text.length, this.context);
  }

  #lines(text: string, from: number, rows: Row[]): Row[] {
    const last = text.lastIndexOf('\n');
    if (last < from) {
      this.#rest = text.slice(from);
      return rows;
    }
    this.#rest = text.slice(last + 1);
    return tsvLines(this.#header as TsvHeader, text, from, last + 1, this.context, rows);
  }
}
