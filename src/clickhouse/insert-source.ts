/**
 * `insertToTable` from a row source (a generator, an async generator, an object-mode
 * `Readable`): the rows are encoded and sent as they are read, in one streamed request where
 * omitted fields take their DEFAULT, in rounds of statements on older servers.
 */
import { type ColumnEncodings, encodeRow } from './encode.js';
import { ChunkWriter } from './encode-bytes.js';
import { QueryParamError, rowRefused, withRequestSent } from './errors.js';
import { withAllRefused } from './refusals.js';
import type { RawResponse } from './http.js';
import { columnList, columnUnion, insertHead } from './prepare.js';
import { type Expiry, type ReadOptions, SourceReader, type SourceRowWriter, stallWatch } from './source-writer.js';
import { checkResponse } from './response.js';
import { type TableSchema, flattenedRows, givesPartOfNested } from './table-schema.js';
import type { InsertResult, Row, RowSource, Settings } from './types.js';

/**
 * Once a group of an insert reached the server, the request as a whole was sent: a later
 * group's "never sent" must not invite a retry that would write the first group again.
 *
 * @example
 * throw statements === 0 ? err : partlySent(err);
 */
export function partlySent(err: unknown): unknown {
  return withRequestSent(err, true);
}

/**
 * How an insert sends its statement number `statement` (0, 1, ...: each has a query id
 * and deduplication token of its own), with `extra` settings: the perform's own request.
 *
 * @example
 * const res = await post(body, 0, { input_format_defaults_for_omitted_fields: 1 });
 */
export type Post = (body: string | readonly Buffer[] | AsyncIterable<Buffer>, statement: number, extra?: Settings) => Promise<RawResponse>;

// Rows an older server's insert takes per round (one statement per column set each).
const ROUNDS_OF = 50_000;
// How long a slow source's rows wait client-side before they are sent anyway: a chunk of
// the streamed body; a round (a statement of its own) on an older server.
const SLOW_SOURCE_MS = 200;
const SLOW_ROUND_MS = 1_000;
// Omitted fields get their column's DEFAULT, in one statement whatever the rows' columns.
const OMITTED_DEFAULTS: Settings = { input_format_defaults_for_omitted_fields: 1 };

/**
 * The server's count of rows written, from `X-ClickHouse-Summary`, when it sends one.
 *
 * @example
 * writtenRows(res); // 1000 when X-ClickHouse-Summary says written_rows 1000
 */
export function writtenRows(res: RawResponse): number | undefined {
  const summary = res.headers['x-clickhouse-summary'];
  if (summary === undefined) return undefined;
  try {
    const rows = Number((JSON.parse(summary) as { written_rows?: unknown }).written_rows);
    return Number.isFinite(rows) ? rows : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The body of a statement whose rows were checked already (an array's), from its `parts`
 * (`statementParts` or `binaryParts`, writing into `out`): the rows encoded chunk by chunk
 * as the request is written, so the server parses the first rows while the last are
 * encoded, and no copy of the whole body is ever held. `writing` is called as each chunk is
 * handed over: from then on bytes may have reached the server.
 *
 * A row that no longer encodes (changed by the caller since it was checked) must not let
 * the server store the rows before it (18.16 stores the rows of a text body cut short):
 * a text body ends with `unreadable`, a line its format cannot read, so the server refuses
 * the whole statement; a binary body (`unreadable` undefined), where any bytes may read as
 * values, is aborted mid-request instead.
 * `refused` gets the row's error, which the caller throws.
 *
 * @example
 * const out = new ChunkWriter();
 * await post(encodedAsSent(statementParts(head, rows, out), out, UNREADABLE_LINE, () => undefined, () => { started = true; }, (e) => { error = e; }), 0);
 */
export async function* encodedAsSent(
  parts: Generator<{ chunks: Buffer[]; rows: number }>, out: ChunkWriter, unreadable: string | undefined,
  sentRows: (rows: number) => void, writing: () => void, refused: (error: unknown) => void,
): AsyncGenerator<Buffer> {
  for (;;) {
    let part: IteratorResult<{ chunks: Buffer[]; rows: number }>;
    try {
      part = parts.next();
    } catch (err) {
      refused(err);
      writing();
      if (unreadable === undefined) throw err;
      out.text(unreadable);
      yield* out.take();
      return;
    }
    if (part.done === true) return;
    writing();
    yield* part.value.chunks;
    sentRows(part.value.rows);
  }
}

/**
 * A statement's whole body, `head` and a line per row encoded with the table's `encodings`
 * (which may still refuse a row: nothing of the statement is sent then, and the refusal
 * names the row by its place in the caller's rows, `placeOf`, by default its place here).
 *
 * @example
 * const chunks = encodedWhole(insertHead(table, group.columns), group.rows, schema.encodings);
 */
export function encodedWhole(head: string, rows: readonly Row[], encodings: ColumnEncodings, placeOf?: (row: Row, index: number) => number): Buffer[] {
  const out = new ChunkWriter();
  out.text(head);
  // Every refused row is found (the async writer reports each alone and sends the rest once).
  const refused: QueryParamError[] = [];
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i] as Row;
    try {
      out.line(encodeRow(row, encodings));
    } catch (err) {
      const refusal = rowRefused(err, placeOf === undefined ? i : placeOf(row, i));
      if (!(refusal instanceof QueryParamError)) throw refusal;
      refused.push(refusal);
    }
  }
  if (refused.length > 0) throw withAllRefused(refused);
  return out.take();
}

/**
 * Not JSON, not a row: a JSONEachRow statement whose body holds it fails to parse, and
 * stores nothing (a TabSeparated one has a line of its own, `TsvPlan.unreadable`).
 *
 * @example
 * await post(encodedAsSent(parts, out, UNREADABLE_LINE, sentRows, writing, refused), 0);
 */
export const UNREADABLE_LINE = '\n\u0000 the client stopped this insert: a row no longer encodes\n';


/**
 * A source's rows as one request whose body is written as they are read (servers where
 * omitted fields take their DEFAULT): nothing is held but the chunk being filled. A bad row
 * cancels the request, so the server stores none of it (unless more rows than its
 * `max_insert_block_size` went before, which it may have written already). `columns`: the
 * statement's column list; by default none, or the table's writable columns when it has
 * EPHEMERAL ones (a statement naming no columns skips those).
 *
 * A row that gives only some of a Nested column's fields cannot be in that statement (the
 * fields it leaves out would be `[]`, of another size than those it gives): such rows are
 * encoded as they come, kept aside by column set, and sent after it, a statement per set.
 * When `HELD_AT_MOST` of them are kept, the streamed statement ends there, they are sent,
 * and the rest of the source goes in a new streamed statement.
 *
 * @example
 * const { rows } = await insertStreamed('`events`', rows(), schema, post, () => undefined);
 */
export async function insertStreamed(table: string, source: RowSource, schema: TableSchema, post: Post, sentRows: (rows: number) => void, options: SourceOptions = {}): Promise<InsertResult> {
  const columns = options.columns ?? '';
  const head = insertHead(table, columns !== '' || schema.writable === undefined ? columns : columnList(schema.writable));
  // The rows of an array given with `columns` were checked already, their ranges too: not again per row.
  const reader = new SourceReader(source, columns === '' ? schema : { ...schema, ranged: [] }, { ...options, nestedParts: columns === '' });
  const { writer } = reader;
  // Rows giving part of a Nested column's fields, by column list: their statements' bodies.
  const held = new Map<string, StatementBody>();
  let heldRows = 0;
  let heldBytes = 0;
  let sent = 0;
  async function* body(): AsyncGenerator<Buffer> {
    const out = new ChunkWriter();
    out.text(head);
    let at = Date.now();
    let inBody = 0;
    for (;;) {
      let next: IteratorResult<unknown>;
      try {
        next = await reader.next();
      } catch (err) {
        throw reader.failed(err);
      }
      const taken = reader.take(next);
      if (taken === false) break;
      if (taken !== true) await taken;
      if (reader.partOfNested()) {
        heldBytes += writeGrouped(held, table, reader.list, writer, reader.row);
        if (++heldRows >= HELD_AT_MOST || heldBytes >= HELD_BYTES) break;
        continue;
      }
      writer.write(out, reader.row);
      inBody++;
      // Full, or a slow source's rows waiting long enough: sent now.
      if (out.full || out.ready.length > 0 || Date.now() - at >= SLOW_SOURCE_MS) {
        yield* out.take();
        at = Date.now();
        sent += inBody;
        inBody = 0;
        sentRows(sent);
      }
    }
    yield* out.take();
    sent += inBody;
    sentRows(sent);
  }
  let written = 0;
  let statement = 0;
  try {
    for (;;) {
      const before = sent;
      const res = await post(body(), statement++, OMITTED_DEFAULTS);
      checkResponse(res);
      written += writtenRows(res) ?? sent - before;
      for (const group of held.values()) {
        const kept = await post(group.body.take(), statement++, OMITTED_DEFAULTS);
        checkResponse(kept);
        sent += group.rows;
        written += writtenRows(kept) ?? group.rows;
        sentRows(sent);
      }
      held.clear();
      heldRows = 0;
      heldBytes = 0;
      if (reader.ended) return { rows: written };
    }
  } catch (err) {
    // Rows were read from the source: it cannot be read again, so the request counts as sent,
    // and the source is ended (not waited for). One never read is left for a retry.
    const read = reader.pulled > 0 || statement > 1;
    reader.close();
    throw read ? partlySent(err) : err;
  }
}

/**
 * How a source's rows go: `columns`, the statement's column list (none: see
 * `insertStreamed`); the rest as `ReadOptions` says.
 *
 * @example
 * await insertStreamed('`events`', rows(), schema, post, () => undefined, { refuseUnknown: true });
 */
export interface SourceOptions extends Omit<ReadOptions, 'nestedParts'> {
  readonly columns?: string;
  /** The call's timeout and abort signal, for the waits for the source between requests (18.16's rounds): each wait is bounded by the timeout. */
  readonly expiry?: Expiry;
}

/** A statement's body being written, and its rows. */
interface StatementBody {
  readonly body: ChunkWriter;
  rows: number;
}

/** Writes `row`, whose column list is `list`, into the body of its statement in `groups` (begun on its first row); returns the bytes it took. */
function writeGrouped(groups: Map<string, StatementBody>, table: string, list: string, writer: SourceRowWriter, row: Row): number {
  let group = groups.get(list);
  if (group === undefined) {
    group = { body: new ChunkWriter(), rows: 0 };
    group.body.text(insertHead(table, list));
    groups.set(list, group);
  }
  const before = bytesIn(group.body);
  writer.write(group.body, row);
  group.rows++;
  return bytesIn(group.body) - before;
}

/** The bytes a chunk writer holds (its filled chunks and the one being filled). */
function bytesIn(out: ChunkWriter): number {
  let n = out.pos;
  for (const chunk of out.ready) n += chunk.length;
  return n;
}

// Rows giving part of a Nested column's fields kept aside before the streamed statement is
// ended for them (their statements' bodies are held in memory): this many, or this many bytes.
const HELD_AT_MOST = 50_000;
const HELD_BYTES = 16 * 1024 * 1024;

/**
 * An array's rows of several column sets as one statement, on a server where an omitted
 * field takes its DEFAULT: the statement names every column the rows give (so EPHEMERAL
 * columns are read, which a statement naming none skips). Values the table's types may still
 * refuse (`schema.encodings`) are encoded whole before anything is sent, as a statement per
 * column set was; otherwise the rows are written as they are sent. `undefined`, with nothing
 * sent, when a row gives only some of a Nested column's fields (see `givesPartOfNested`).
 *
 * @example
 * const { rows } = await insertMerged('`events`', rows, schema, post, () => undefined);
 */
export async function insertMerged(table: string, rows: readonly Row[], schema: TableSchema, post: Post, sentRows: (rows: number) => void): Promise<InsertResult | undefined> {
  // Flattened and checked again as flattened, a refusal named by the caller's place of the row.
  const flat = schema.nested.size > 0 ? flattenedRows(rows, schema, new Map()) : rows;
  // A row giving part of a Nested column's fields: the caller sends a statement per set.
  if (givesPartOfNested(flat, schema)) return undefined;
  const columns = columnUnion(flat);
  if (schema.encodings.size === 0) return insertStreamed(table, flat, schema, post, sentRows, { columns });
  const res = await post(encodedWhole(insertHead(table, columns), flat, schema.encodings), 0, OMITTED_DEFAULTS);
  checkResponse(res);
  sentRows(flat.length);
  return { rows: writtenRows(res) ?? flat.length };
}

/**
 * A source's rows on a server without DEFAULTs for omitted fields (18.16): rounds of
 * `ROUNDS_OF` rows, each sent as one statement per column set, one after another; the next
 * round is read and encoded while one is being sent. A bad row stops it there; the rounds
 * before it are stored.
 *
 * @example
 * const { rows } = await insertChunked('`events`', rows(), schema, post, (n) => console.log(n));
 */
export async function insertChunked(table: string, source: RowSource, schema: TableSchema, post: Post, sentRows: (rows: number) => void, options: SourceOptions = {}): Promise<InsertResult> {
  let written = 0;
  let statements = 0;
  // Statements by column list, in the order the lists were first met: a row object the
  // source reuses and changes is read (encoded, its columns listed) as it is when it comes.
  let round = new Map<string, StatementBody>();
  let held = 0;
  let roundStart = 0;
  let sending: Promise<void> = Promise.resolve();
  const send = async (groups: Map<string, StatementBody>): Promise<void> => {
    for (const { body, rows } of groups.values()) {
      const res = await post(body.take(), statements).catch((err: unknown) => {
        throw statements === 0 ? err : partlySent(err);
      });
      statements++;
      checkResponse(res);
      written += writtenRows(res) ?? rows;
      sentRows(written);
    }
  };
  // At most one round is sent while the next fills: it waits for the one before.
  const startRound = async (): Promise<void> => {
    await sending;
    const groups = round;
    round = new Map();
    held = 0;
    sending = send(groups);
    sending.catch(() => undefined);
  };
  const reader = new SourceReader(source, schema, options);
  // A source that stalls longer than the call's timeout ends it, as it ends a streamed
  // request: the call rejects at once; the loop, still waiting for the source, stops when it
  // gets a row, and the source is ended.
  const watch = stallWatch(options.expiry, () => reader.pulled);
  const work = async (): Promise<InsertResult> => {
    try {
      for (;;) {
        watch.waiting = true;
        let next: IteratorResult<unknown>;
        try {
          next = await reader.next();
        } catch (err) {
          throw reader.failed(err);
        } finally {
          watch.waiting = false;
        }
        if (watch.fired) throw new Error('the insert ended while it waited for its source');
        // A bad row throws before any byte of it is written (its statement is never sent).
        const taken = reader.take(next);
        if (taken === false) break;
        if (taken !== true) await taken;
        writeGrouped(round, table, reader.list, reader.writer, reader.row);
        if (held === 0) roundStart = Date.now();
        // Full, or a slow source's rows waiting long enough: sent now.
        if (++held >= ROUNDS_OF || Date.now() - roundStart >= SLOW_ROUND_MS) await startRound();
      }
      if (held > 0) await startRound();
      await sending;
    } catch (err) {
      reader.close();
      // The round being sent ends first: its failure came first, and what it stored is told right.
      const first = await sending.then(() => err, (failure: unknown) => failure);
      // Rows were read from the source: a retry could not read them again.
      throw reader.pulled > 0 ? partlySent(first) : first;
    }
    return { rows: written };
  };
  try {
    if (watch.expired === undefined) return await work();
    return await Promise.race([work(), watch.expired.catch((error: unknown) => {
      reader.close();
      throw error;
    })]);
  } finally {
    watch.stop();
  }
}
