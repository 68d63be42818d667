/**
 * JSONEachRow lines written straight into byte chunks: the bytes `encodeRow` gives, without
 * a string per value or per line. Keys are constant bytes, copied; integers are written
 * digit by digit; text that needs no escape is copied a character a byte; anything else
 * (an escape, a non-ASCII character, a Date, a Map, an object) is written from the text
 * `encodeRow`'s own value encoder makes, so the two never disagree.
 */
import { BoundedCache } from './bounded-cache.js';
import { EPOCH_TEXT_END_MS, checkColumnName, encodePlain, encodeRow } from './encode.js';
import { ChunkWriter } from './chunk-writer.js';
import { failedAt } from './insert-stop.js';
import { isWellFormed } from './params.js';
import type { Row } from './types.js';

// The chunks every writer here writes into (its own module, imported from here by the rest).
export { ChunkWriter };

/**
 * The keys of `row` with a value other than `undefined`, in order: the columns it gives.
 *
 * @example
 * columnsOf({ id: 1, note: undefined, name: 'Ann' }); // ['id', 'name']
 */
export function columnsOf(row: Row): string[] {
  const keys: string[] = [];
  for (const key in row) if (Object.prototype.hasOwnProperty.call(row, key) && row[key] !== undefined) keys.push(key);
  return keys;
}

/**
 * A statement's body in parts: `head`, then each row (all giving the columns of the first,
 * checked already) as a JSONEachRow line, written by one compiled `rowWriter` into `out`.
 * Each part is the chunks filled so far and the rows written by then; the last part holds
 * the rest. Throws as `encodeRow` does for a row that does not encode (`out` then holds
 * part of its line).
 *
 * @example
 * const chunks = [...statementParts('INSERT INTO `t` (`a`) FORMAT JSONEachRow\n', [{ a: 1 }])].flatMap((p) => p.chunks);
 */
export function statementParts(head: string, rows: readonly Row[], out = new ChunkWriter()): Generator<{ chunks: Buffer[]; rows: number }> {
  out.text(head);
  const keys = rows.length > 0 ? columnsOf(rows[0] as Row) : [];
  // A few rows of a column list not compiled yet are not worth compiling for (it costs 0.4 ms).
  return rowParts(rows, rows.length >= COMPILE_AFTER ? rowWriter(keys) : knownRowWriter(keys) ?? writeLine, out);
}

/**
 * `rows` written one by one by `write` into `out` (after whatever `out` holds already), in
 * parts: each the chunks filled so far and the rows written by then; the last holds the rest.
 * What a row's writing throws is noted with its place (`placedRefusal` reads it).
 *
 * @example
 * const parts = rowParts(rows, rowWriter(['a']), out);
 */
export function* rowParts(rows: readonly Row[], write: (out: ChunkWriter, row: Row) => void, out: ChunkWriter): Generator<{ chunks: Buffer[]; rows: number }> {
  // Where the row being written began: nothing of it is handed over before it ends, so a row that throws is taken back whole.
  let i = 0;
  let chunks = 0;
  let pos = 0;
  try {
    for (; i < rows.length; i++) {
      chunks = out.ready.length;
      pos = out.pos;
      write(out, rows[i] as Row);
      if (out.full || out.ready.length > 0) yield { chunks: out.take(), rows: i + 1 };
    }
  } catch (err) {
    out.rewind(chunks, pos);
    throw failedAt(typeof err === 'object' && err !== null ? err : new Error(String(err)), i);
  }
  yield { chunks: out.take(), rows: rows.length };
}

/**
 * Writes one row that gives exactly `keys` (values other than `undefined`, in that order,
 * as `prepare` groups rows) as a JSONEachRow line and its newline: the bytes of
 * `encodeRow(row)` and `\n`. Compiled once per key list; throws `QueryParamError` as
 * `encodeRow` does (the writer then holds part of the line).
 *
 * @example
 * const write = rowWriter(['id', 'name']);
 * write(out, { id: 1, name: 'Ann' }); // {"id":1,"name":"Ann"}\n
 */
export function rowWriter(keys: readonly string[]): (out: ChunkWriter, row: Row) => void {
  const cacheKey = keys.join('\u0000');
  let write = writers.get(cacheKey);
  if (write === undefined) {
    for (const key of keys) checkColumnName(key);
    const heads = keys.map((key, i) => Buffer.from(`${i === 0 ? '{' : ','}${JSON.stringify(key)}:`, 'utf8'));
    // Each column's key bytes are stored one by one and its value dispatched inline: every
    // column has its own place in the code, so each branch sees one kind of value.
    // A wide row is written by calls instead: written out, its function would be too big for V8 to optimize.
    const wide = keys.length > INLINE_COLUMNS;
    const steps = keys.map((key, i) => {
      const name = JSON.stringify(key);
      return wide ? `k.put(out, h[${i}]); w(out, row[${name}], ${name});` : `${storeBytes(heads[i] as Buffer)} v = row[${name}]; ${dispatch(name)}`;
    });
    const end = storeBytes(keys.length === 0 ? EMPTY_LINE : LINE_END);
    // eslint-disable-next-line @typescript-eslint/no-implied-eval -- the point: one function per key list, named property reads.
    const make = new Function('k', 'h', 'w', `return (out, row) => { let b, p, v; ${steps.join(' ')} ${end} };`) as (
      kit: typeof KIT, heads: Buffer[], value: typeof writeValue) => (out: ChunkWriter, row: Row) => void;
    write = make(KIT, heads, writeValue);
    writers.set(cacheKey, write);
  }
  return write;
}

const INLINE_COLUMNS = 32;

// Code that appends constant bytes (a key, the line's end) without a loop or a call, making room first.
function storeBytes(bytes: Buffer): string {
  const n = bytes.length;
  const stores = [...bytes].map((byte, i) => `b[p + ${i}] = ${byte};`).join(' ');
  return `if (out.pos + ${n} > out.buf.length) out.room(${n}); b = out.buf; p = out.pos; ${stores} out.pos = p + ${n};`;
}

/**
 * How many rows of one column list make compiling its `rowWriter` worth it; fewer are
 * written by `encodeRow`, unless the list's writer is compiled already.
 */
export const COMPILE_AFTER = 16;

// A row written from encodeRow's text: what the compiled writers write, without compiling one.
const writeLine = (out: ChunkWriter, row: Row): void => out.line(encodeRow(row));

/**
 * The writer `rowWriter(keys)` compiled already, or `undefined`: nothing is compiled.
 *
 * @example
 * const write = knownRowWriter(['id', 'name']) ?? undefined; // after rowWriter(['id', 'name'])
 */
export function knownRowWriter(keys: readonly string[]): ((out: ChunkWriter, row: Row) => void) | undefined {
  return writers.get(keys.join('\u0000'));
}

// How one value `v` is written, as code: the common kinds as bytes, anything else (an
// escape, a non-ASCII character, a Date out of range, a Map, an object) from the text the
// value encoder makes. `name` is the code of the column's name. Written out in each row
// writer (each column its own branches), and compiled once more as `writeValue`.
function dispatch(name: string): string {
  return `if (typeof v === 'number') { if (Number.isSafeInteger(v)) k.integer(out, v); else if (Number.isFinite(v)) k.ascii(out, String(v)); else k.other(out, v, ${name}); }
    else if (typeof v === 'string') { if (!k.plain(out, v)) k.other(out, v, ${name}); }
    else if (v === null) k.put(out, k.NULL);
    else if (typeof v === 'boolean') k.bool(out, v);
    else if (v instanceof Date) { if (!k.epoch(out, v.getTime())) k.other(out, v, ${name}); }
    else if (Array.isArray(v)) { if (!k.integers(out, v)) k.other(out, v, ${name}); }
    else k.other(out, v, ${name});`;
}

const writers = new BoundedCache<(out: ChunkWriter, row: Row) => void>({ maxEntries: 256, maxKeyLength: 16_384, maxChars: 1024 * 1024 });
const EMPTY_LINE = Buffer.from('{}\n');
const LINE_END = Buffer.from('}\n');
const NULL = Buffer.from('null');

// What compiled writers call.
const KIT = {
  integer: writeInteger, ascii: writeAscii, plain: writePlainString, epoch: writeEpoch, integers: writeIntegers, put, NULL,
  bool(out: ChunkWriter, value: boolean): void {
    out.room(1);
    out.buf[out.pos++] = value ? 49 : 48;
  },
  other(out: ChunkWriter, value: unknown, name: string): void {
    out.text(encodePlain(value, name));
  },
};

// One value of any kind, for a row too wide to have its writer written out.
// eslint-disable-next-line @typescript-eslint/no-implied-eval -- the same dispatch as the written-out writers, from one text.
const writeValue = new Function('k', `return (out, v, name) => { ${dispatch('name')} };`)(KIT) as (out: ChunkWriter, value: unknown, name: string) => void;

/**
 * Appends constant bytes (a key, a header) to `out`.
 *
 * @example
 * put(out, Buffer.from('null'));
 */
export function put(out: ChunkWriter, bytes: Buffer): void {
  const n = bytes.length;
  out.room(n);
  // A key is a few bytes: a loop costs less than a native copy's call.
  if (n <= 24) {
    const buf = out.buf;
    let at = out.pos;
    for (let i = 0; i < n; i++) buf[at++] = bytes[i] as number;
    out.pos = at;
  } else {
    out.buf.set(bytes, out.pos);
    out.pos += n;
  }
}

/**
 * A safe integer's digits, as `String(value)` writes them.
 *
 * @example
 * writeInteger(out, -42); // bytes of '-42'
 */
export function writeInteger(out: ChunkWriter, value: number): void {
  out.room(17);
  const buf = out.buf;
  let v = value;
  if (v < 0) {
    buf[out.pos++] = 45;
    v = -v;
  }
  let digits = 1;
  for (let rest = v; rest >= 10; rest = Math.floor(rest / 10)) digits++;
  let at = out.pos + digits;
  out.pos = at;
  do {
    const next = Math.floor(v / 10);
    buf[--at] = 48 + (v - next * 10);
    v = next;
  } while (v > 0);
}

/**
 * Text known to be ASCII (a finite number's digits, sign, point and exponent), a byte a character.
 *
 * @example
 * writeAscii(out, String(0.5)); // bytes of '0.5'
 */
export function writeAscii(out: ChunkWriter, text: string): void {
  const n = text.length;
  out.room(n);
  const buf = out.buf;
  let at = out.pos;
  for (let i = 0; i < n; i++) buf[at++] = text.charCodeAt(i);
  out.pos = at;
}

// A Date within DateTime's range as the value encoder writes it: its epoch seconds, ten
// digits, quoted; false for any other (nothing written).
function writeEpoch(out: ChunkWriter, ms: number): boolean {
  if (!(ms >= 0 && ms < EPOCH_TEXT_END_MS)) return false;
  writeSeconds(out, ms, 34);
  return true;
}

/**
 * A time within DateTime's range (the caller checked it) as its epoch seconds, ten digits,
 * between two `quote`s (a character's code; 0: none).
 *
 * @example
 * writeSeconds(out, 1_600_000_000_000, 39); // bytes of '1600000000' in single quotes
 */
export function writeSeconds(out: ChunkWriter, ms: number, quote: number): void {
  out.room(12);
  const buf = out.buf;
  if (quote !== 0) buf[out.pos++] = quote;
  let at = out.pos + 10;
  out.pos = at;
  // Ten digits as two halves of five, each small enough for integer arithmetic.
  const seconds = Math.floor(ms / 1000);
  let high = Math.floor(seconds / 100_000);
  let low = seconds - high * 100_000;
  for (let i = 0; i < 5; i++) {
    const next = (low / 10) | 0;
    buf[--at] = 48 + (low - next * 10);
    low = next;
  }
  for (let i = 0; i < 5; i++) {
    const next = (high / 10) | 0;
    buf[--at] = 48 + (high - next * 10);
    high = next;
  }
  if (quote !== 0) buf[out.pos++] = quote;
}

// A string of printable ASCII without a quote or a backslash is its JSON as it is; false for
// any other (nothing written), which the value encoder then writes.
function writePlainString(out: ChunkWriter, text: string): boolean {
  const n = text.length;
  out.room(n + 2);
  const buf = out.buf;
  let at = out.pos;
  buf[at++] = 34;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c === 34 || c === 92) return false;
    buf[at++] = c;
  }
  buf[at++] = 34;
  out.pos = at;
  return true;
}

// An array of safe integers, as the value encoder writes it; false for any other (nothing written).
function writeIntegers(out: ChunkWriter, items: readonly unknown[]): boolean {
  for (let i = 0; i < items.length; i++) if (!Number.isSafeInteger(items[i])) return false;
  out.room(1);
  out.buf[out.pos++] = 91;
  for (let i = 0; i < items.length; i++) {
    if (i > 0) {
      out.room(1);
      out.buf[out.pos++] = 44;
    }
    writeInteger(out, items[i] as number);
  }
  out.room(1);
  out.buf[out.pos++] = 93;
  return true;
}

/**
 * What `writeText` throws for a string with a lone UTF-16 surrogate (no UTF-8 form): the
 * caller names the column by encoding the value again as text, which refuses it in words.
 *
 * @example
 * try { writeText(out, s); } catch (err) { if (err === MALFORMED) encodePlain(s, 'name'); throw err; }
 */
export const MALFORMED = new Error('a string with a lone UTF-16 surrogate');

/**
 * An unsigned LEB128 length, as RowBinary writes one before a string or an array.
 *
 * @example
 * writeLength(out, 300); // bytes ac 02
 */
export function writeLength(out: ChunkWriter, n: number): void {
  out.room(5);
  let v = n;
  while (v >= 0x80) {
    out.buf[out.pos++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  out.buf[out.pos++] = v;
}

/**
 * A RowBinary String: its UTF-8 length and bytes; short ASCII copied a byte a character.
 * Throws `MALFORMED` for a string with a lone surrogate.
 *
 * @example
 * writeText(out, 'abc'); // bytes 03 61 62 63
 */
export function writeText(out: ChunkWriter, text: string): void {
  const n = text.length;
  let ascii = n <= 64;
  if (ascii) for (let i = 0; i < n; i++) if (text.charCodeAt(i) > 0x7f) ascii = false;
  if (ascii) {
    out.room(n + 1);
    const buf = out.buf;
    let at = out.pos;
    buf[at++] = n;
    for (let i = 0; i < n; i++) buf[at++] = text.charCodeAt(i);
    out.pos = at;
    return;
  }
  // Checked in the call, but the caller may have changed it since: a lone surrogate has no UTF-8 form.
  if (!isWellFormed(text)) throw MALFORMED;
  const bytes = Buffer.byteLength(text, 'utf8');
  writeLength(out, bytes);
  out.room(bytes);
  out.pos += out.buf.write(text, out.pos, 'utf8');
}
