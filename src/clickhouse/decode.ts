import { BoundedCache, ownCopy } from './bounded-cache.js';
import { type ColumnType, parseColumnType, structuralType } from './column-type.js';
import { ClickHouseError, ProtocolError, findTrailingError, type ServerErrorInfo } from './errors.js';
import { stripNuls } from './binary-values.js';
import { dateTimeReader } from './time-zone.js';
import { ownText, unescapeTsv } from './text-escape.js';
import { type RowBuild, rowBuilder } from './row-builder.js';
import type { Int64Mode, Row } from './types.js';

/**
 * What decoding needs besides the body.
 *
 * @example
 * decodeTsv(body, { int64: 'auto', serverTimeZone: 'Europe/Berlin' } satisfies DecodeContext);
 */
export interface DecodeContext {
  readonly int64: Int64Mode;
  /** The server's time zone, for `DateTime` columns without their own. */
  readonly serverTimeZone: string;
}

/** Reads a value from its text form (already unescaped, unquoted). */
type Scalar = (text: string) => unknown;

/**
 * Decodes a `TabSeparatedWithNamesAndTypes` body into row objects, converting each value
 * by its column type (see the README's mapping table). An exception the server appended
 * after streaming some rows throws `ClickHouseError`; text that only looks like one is data
 * (see `tsvTail`: when the bytes alone cannot tell, they are taken as data here, and
 * `perform` asks the server again instead).
 *
 * @example
 * decodeTsv('x\ts\nUInt64\tString\n1\ta\\tb\n', { int64: 'auto', serverTimeZone: 'UTC' });
 * // [{ x: 1, s: 'a\tb' }]
 */
export function decodeTsv(body: string, context: DecodeContext): Row[] {
  const tail = tsvTail(body);
  if (tail !== undefined && tail !== 'ambiguous') throw new ClickHouseError(tail, 200);
  return decodeTsvRows(body, context);
}

/**
 * `decodeTsv` for a body already known to hold rows only (its end checked by `tsvTail`, or
 * the server said so by status).
 *
 * @example
 * decodeTsvRows('x\nUInt8\n1\n', { int64: 'auto', serverTimeZone: 'UTC' }); // [{ x: 1 }]
 */
export function decodeTsvRows(body: string, context: DecodeContext): Row[] {
  if (body === '') return [];
  const { header, rowsStart } = tsvHeader(body);
  return tsvLines(header, body, rowsStart, body.length, context);
}

/**
 * The rows of the lines of `body` from `start` up to `limit` (exclusive; a newline just
 * before it ends the last line, and a line without one ends there), read by a header parsed
 * before (`tsvHeader`): a stream's chunks are read in place, with no copy of the header
 * put before each. The rows are appended to `rows` (a new array unless given).
 *
 * @example
 * const { header } = tsvHeader('x\nUInt8\n');
 * tsvLines(header, '1\n2\n', 0, 4, { int64: 'auto', serverTimeZone: 'UTC' }); // [{ x: 1 }, { x: 2 }]
 */
export function tsvLines(header: TsvHeader, body: string, start: number, limit: number, context: DecodeContext, rows: Row[] = []): Row[] {
  const fields = fieldsOf(header, context);
  const { names } = header;
  const width = names.length;
  const build = (header.build ??= rowBuilder<string[]>(names, 'cells'));
  // One array of cells for every row (the builder reads it at once), each cell cut from
  // the body where it lies: no string of the line, no array per row.
  const cells = new Array<string>(width);
  const last = width - 1;
  // The next tab at or after `at`, found again only once passed: a body with no tab after a
  // line (one column, or its last lines) is not searched to its end for every line.
  let tab = -1;
  while (start < limit) {
    let end = body.indexOf('\n', start);
    if (end < 0 || end > limit) end = limit;
    let at = start;
    for (let i = 0; i < last; i++) {
      if (tab < at) tab = nextTab(body, at);
      if (tab > end) throw fieldCount(body, start, end, rows.length, width);
      cells[i] = body.slice(at, tab);
      at = tab + 1;
    }
    if (tab < at) tab = nextTab(body, at);
    if (tab < end) throw fieldCount(body, start, end, rows.length, width);
    cells[last] = body.slice(at, end);
    rows.push(build(fields, cells));
    start = end + 1;
  }
  return rows;
}

/** Where the next tab at or after `from` is; past the body's end when there is none. */
function nextTab(body: string, from: number): number {
  const at = body.indexOf('\t', from);
  return at < 0 ? body.length + 1 : at;
}

/** The error for row `before + 1` (the line from `start` to `end`) when it has not `width` fields. */
function fieldCount(body: string, start: number, end: number, before: number, width: number): ProtocolError {
  return new ProtocolError(`row ${before + 1} has ${body.slice(start, end).split('\t').length} fields, expected ${width}`, 200);
}

// Assigning `__proto__` would set the row's prototype (or, for a string, do nothing): a
// column of that name becomes an own property like any other.
/**
 * What ends a `TabSeparatedWithNamesAndTypes` body: `undefined` when it ends in rows; the
 * server's exception when the end is in the server's exception form and no row could be
 * (the header does not parse, a line has not one field per column, or a String cell holds
 * what TSV always escapes: a quote, a carriage return, a lone backslash); `'ambiguous'` when
 * the same bytes could be either. That takes text columns that hold the whole form, in
 * practice a result of one String column whose last value reads like an exception with no
 * quote in it (`system.query_log.exception`, say). Given the header the rows came under
 * (`known`), `body` may be the body's end alone.
 *
 * @example
 * tsvTail("s\nString\nCode: 60, e.displayText() = DB::Exception: Table x doesn\\'t exist., e.what() = DB::Exception\n"); // 'ambiguous'
 * tsvTail("s\nString\nCode: 60, e.displayText() = DB::Exception: Table x doesn't exist., e.what() = DB::Exception\n"); // { serverCode: 60, ... }
 */
export function tsvTail(body: string, known?: TsvHeader): ServerErrorInfo | 'ambiguous' | undefined {
  const found = findTrailingError(body);
  if (found === undefined) return undefined;
  // Only the body's end (its rows decoded as they came): read by the header they came under.
  if (known !== undefined) return couldBeRows(body, found.offset, known) ? 'ambiguous' : found;
  let header: TsvHeader;
  let rowsStart: number;
  try {
    ({ header, rowsStart } = tsvHeader(body));
  } catch {
    return found; // the exception took the header's place: nothing was streamed before it
  }
  return couldBeRows(body, Math.max(found.offset, rowsStart), header) ? 'ambiguous' : found;
}

function couldBeRows(body: string, from: number, header: TsvHeader): boolean {
  const width = header.names.length;
  const text = header.types.map(isEscapedText);
  if (from < body.length && !text[0] && !isOtherText(header.types[0] as ColumnType)) return false;
  for (let start = from; start < body.length;) {
    let end = body.indexOf('\n', start);
    if (end < 0) end = body.length;
    const cells = body.slice(start, end).split('\t');
    if (cells.length !== width) return false;
    for (let i = 0; i < width; i++) if (text[i] && !escapedAsTsv(cells[i] as string)) return false;
    start = end + 1;
  }
  return true;
}

const unwrap = (declared: ColumnType): ColumnType => {
  const type = structuralType(declared);
  return type.name === 'Nullable' || type.name === 'LowCardinality' ? unwrap(type.args[0] as ColumnType) : type;
};

/** Types whose TSV field is an escaped string. */
function isEscapedText(type: ColumnType): boolean {
  const { name } = unwrap(type);
  return name === 'String' || name === 'FixedString' || name === 'Enum8' || name === 'Enum16';
}

/** Types this decoder does not know, which may print as any text (AggregateFunction, JSON ...). */
function isOtherText(type: ColumnType): boolean {
  const { name } = unwrap(type);
  return !/^(?:U?Int\d+|Float\d+|Decimal\d*|Date|Date32|DateTime|DateTime64|UUID|Array|Tuple|Map|Nothing|IPv4|IPv6|Bool)$/.test(name);
}

function escapedAsTsv(cell: string): boolean {
  for (let i = 0; i < cell.length; i++) {
    const ch = cell.charCodeAt(i);
    if (ch === 92) {
      if (++i >= cell.length) return false;
    } else if (ch === 39 || ch === 13) return false;
  }
  return true;
}

/**
 * True when decoding a result of these types needs the server's time zone.
 *
 * @example
 * needsServerTimeZone(['UInt8', 'Array(DateTime)']); // true
 */
export function needsServerTimeZone(typeTexts: readonly string[]): boolean {
  return typeTexts.some((t) => /(^|[(, ])DateTime($|[),])/.test(t));
}

/**
 * True when decoding this `TabSeparatedWithNamesAndTypes` body needs the server's time
 * zone (a `DateTime` column without a zone of its own); false for a body without a header.
 *
 * @example
 * bodyNeedsServerTimeZone('x\nDateTime\n2020-01-01 00:00:00\n'); // true
 */
export function bodyNeedsServerTimeZone(body: string): boolean {
  if (body === '') return false;
  return tsvHeader(body).header.needsTimeZone;
}

/** The names and types lines of a result, parsed once per distinct header text. */
export interface TsvHeader {
  readonly names: readonly string[];
  /** Where a column is named `__proto__`, or -1. */
  readonly protoAt: number;
  readonly types: readonly ColumnType[];
  readonly needsTimeZone: boolean;
  /** The field readers, per int64 mode and server time zone. */
  readonly fields: Map<string, Scalar[]>;
  /** The row builder, compiled at the first row. */
  build?: RowBuild<string[]>;
}

// Results of the same query shape repeat their header: parsing it (names, types, readers)
// once instead of per response matters for small results. Bounded in entries, in the size
// of each header text kept and in all of them together.
const headers = new BoundedCache<TsvHeader>({ maxEntries: 256, maxKeyLength: 4_096, maxChars: 256 * 1024 });

/**
 * The header of a `TabSeparatedWithNamesAndTypes` body (its names and types lines, parsed
 * once per distinct text) and where its rows start. Throws `ProtocolError` when the body
 * has no such lines.
 *
 * @example
 * tsvHeader('x\nUInt8\n1\n').rowsStart; // 8
 */
export function tsvHeader(body: string): { header: TsvHeader; rowsStart: number } {
  const namesEnd = body.indexOf('\n');
  const typesEnd = namesEnd < 0 ? -1 : body.indexOf('\n', namesEnd + 1);
  if (typesEnd < 0) throw new ProtocolError('response has no column names and types', 200);
  let text = body.slice(0, typesEnd);
  let header = headers.get(text);
  if (header === undefined) {
    // A kept header is parsed from a copy: a slice of the body would keep the whole body.
    const kept = headers.accepts(text);
    if (kept) text = ownCopy(text);
    const names = text.slice(0, namesEnd).split('\t').map(unescapeTsv);
    const typeTexts = text.slice(namesEnd + 1).split('\t').map(unescapeTsv);
    if (names.length !== typeTexts.length) throw new ProtocolError('response has as many column names as types', 200);
    header = { names, protoAt: names.indexOf('__proto__'), types: typeTexts.map(parseColumnType), needsTimeZone: needsServerTimeZone(typeTexts), fields: new Map() };
    if (kept) headers.set(text, header);
  }
  return { header, rowsStart: typesEnd + 1 };
}

function fieldsOf(header: TsvHeader, context: DecodeContext): Scalar[] {
  const key = `${context.int64} ${context.serverTimeZone}`;
  let fields = header.fields.get(key);
  if (fields === undefined) {
    fields = header.types.map((t) => topLevel(t, context));
    if (header.fields.size < 8) header.fields.set(key, fields);
  }
  return fields;
}

/** A field as it appears in a TSV line: escaped scalars, or the quoted text of composites. */
function topLevel(declared: ColumnType, context: DecodeContext): Scalar {
  const type = structuralType(declared);
  if (type.name === 'Nullable' || type.name === 'Nothing') {
    const inner = type.name === 'Nothing' ? () => null : topLevel(type.args[0] as ColumnType, context);
    return (text) => (text === '\\N' ? null : inner(text));
  }
  if (type.name === 'LowCardinality') return topLevel(type.args[0] as ColumnType, context);
  if (type.name === 'Array' || type.name === 'Tuple') {
    const read = composite(type, context);
    return (text) => {
      const cursor = { text, pos: 0 };
      const value = read(cursor);
      if (cursor.pos !== text.length) throw new ProtocolError(`cannot read ${type.name} value ${JSON.stringify(text)}`, 200);
      return value;
    };
  }
  const convert = scalar(type, context);
  return (text) => convert(unescapeTsv(text));
}

interface Cursor {
  readonly text: string;
  pos: number;
}
type Nested = (cursor: Cursor) => unknown;

/** Reads a value in ClickHouse's quoted text form, as inside `[...]` and `(...)`. */
function composite(declared: ColumnType, context: DecodeContext): Nested {
  const type = structuralType(declared);
  if (type.name === 'Array') {
    const item = composite(type.args[0] as ColumnType, context);
    return (c) => list(c, '[', ']', () => item(c));
  }
  if (type.name === 'Tuple') {
    const items = type.args.map((a) => composite(a as ColumnType, context));
    return (c) => {
      let i = 0;
      return list(c, '(', ')', () => (items[i++] as Nested)(c));
    };
  }
  if (type.name === 'Nullable' || type.name === 'LowCardinality') return composite(type.args[0] as ColumnType, context);
  const convert = type.name === 'Nothing' ? () => null : scalar(type, context);
  return (c) => {
    if (c.text.startsWith('NULL', c.pos)) {
      c.pos += 4;
      return null;
    }
    return convert(c.text[c.pos] === "'" ? quoted(c) : bare(c));
  };
}

function list(c: Cursor, open: string, close: string, item: () => unknown): unknown[] {
  if (c.text[c.pos] !== open) throw new ProtocolError(`expected ${open} at ${c.pos} in ${JSON.stringify(c.text)}`, 200);
  c.pos++;
  const out: unknown[] = [];
  if (c.text[c.pos] === close) {
    c.pos++;
    return out;
  }
  for (;;) {
    out.push(item());
    const ch = c.text[c.pos++];
    // A copy of its own length: a pushed array keeps room for 16 or more values, which a
    // million short arrays held in rows would carry (about 120 bytes each).
    if (ch === close) return out.slice();
    if (ch !== ',') throw new ProtocolError(`expected , or ${close} at ${c.pos - 1} in ${JSON.stringify(c.text)}`, 200);
  }
}

function bare(c: Cursor): string {
  const from = c.pos;
  while (c.pos < c.text.length) {
    const ch = c.text.charCodeAt(c.pos);
    if (ch === 44 || ch === 93 || ch === 41) break; // , ] )
    c.pos++;
  }
  return c.text.slice(from, c.pos);
}

function quoted(c: Cursor): string {
  const from = ++c.pos;
  let escaped = false;
  while (c.pos < c.text.length) {
    const ch = c.text[c.pos];
    if (ch === '\\') {
      escaped = true;
      c.pos += 2;
    } else if (ch === "'") {
      const raw = c.text.slice(from, c.pos++);
      return escaped ? unescapeTsv(raw) : raw;
    } else c.pos++;
  }
  throw new ProtocolError(`unterminated string in ${JSON.stringify(c.text)}`, 200);
}

function scalar(type: ColumnType, context: DecodeContext): Scalar {
  const name = type.name;
  switch (name) {
    case 'UInt8': case 'UInt16': case 'UInt32': case 'Int8': case 'Int16': case 'Int32':
      return Number;
    case 'Float32': case 'Float64':
      return float;
    case 'UInt64': case 'Int64': case 'UInt128': case 'Int128': case 'UInt256': case 'Int256':
      return wideInt(context.int64);
    case 'String': case 'UUID': case 'Enum8': case 'Enum16':
      return ownText;
    case 'FixedString':
      return (text) => ownText(stripNuls(text));
    case 'Date':
      return (text) => (text === '0000-00-00' ? '1970-01-01' : text);
    case 'DateTime': {
      const zone = typeof type.args[0] === 'string' ? type.args[0] : context.serverTimeZone;
      return dateTimeReader(zone);
    }
  }
  // An interval is an Int64 (a number or bigint as the binary reader gives it).
  if (name.startsWith('Interval')) return wideInt(context.int64);
  // Decimal keeps every digit as text; unknown types (IPv6, AggregateFunction...) come as text too.
  return ownText;
}

function float(text: string): number {
  switch (text) {
    case 'nan': case '-nan': case '+nan': return NaN;
    case 'inf': case '+inf': return Infinity;
    case '-inf': return -Infinity;
  }
  return Number(text);
}

function wideInt(mode: Int64Mode): Scalar {
  if (mode === 'string') return ownText;
  if (mode === 'bigint') return BigInt;
  return (text) => {
    if (text.length < 16) return Number(text);
    const big = BigInt(text);
    return big <= 9007199254740991n && big >= -9007199254740991n ? Number(big) : big;
  };
}

