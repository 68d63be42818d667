import { BoundedCache } from './bounded-cache.js';
import type { ColumnEncoding } from './column-type.js';
import { QueryParamError } from './errors.js';
import { epochSeconds, isWellFormed, jsonText } from './params.js';
import type { Row } from './types.js';

const DECIMAL_TEXT = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;
// Column names as JSON keys (`"name":`), checked once; a name longer than any real one is
// quoted each time instead of kept.
const keyCache = new BoundedCache<string>({ maxEntries: 10_000, maxKeyLength: 256, maxChars: 512 * 1024 });

/**
 * The columns of a table whose values need a form of their own, by name (what
 * `columnEncoding` says of each column's type; `perform` learns them with `DESCRIBE TABLE`).
 *
 * @example
 * const encodings: ColumnEncodings = new Map([['price', 'decimal'], ['day', 'date']]);
 */
export type ColumnEncodings = ReadonlyMap<string, ColumnEncoding>;

/**
 * Encodes one row as a JSONEachRow line, without the trailing newline. Keys whose value is
 * `undefined` are left out so the column default applies. Values: string, finite number,
 * `NaN`/`Infinity` (as ClickHouse's `"nan"`/`"inf"`), bigint (exact digits), boolean (1/0),
 * null, Date, arrays (for Array and Tuple columns) and plain objects (JSON text, for a
 * String column). A Date is written as its epoch seconds (which a DateTime column reads as
 * that instant whatever the time zones), unless `encodings` says the column is a Date or
 * Date32 (its UTC day, `"2020-02-29"`) or a DateTime64 (epoch seconds and milliseconds).
 * Strings of a `'decimal'` column are written as bare numbers (ClickHouse 18.16 refuses a
 * quoted Decimal). Anything else throws `QueryParamError` naming the column.
 *
 * @example
 * encodeRow({ id: 1n, name: 'Ann', at: new Date(0), skip: undefined }); // '{"id":1,"name":"Ann","at":"0000000000"}'
 * encodeRow({ day: new Date('2020-02-29T23:30:00Z') }, new Map([['day', 'date']])); // '{"day":"2020-02-29"}'
 */
export function encodeRow(row: Row, encodings?: ColumnEncodings): string {
  if (row === null || typeof row !== 'object' || Array.isArray(row)) {
    throw new QueryParamError('row', 'expected a plain object keyed by column name');
  }
  let out = '{';
  for (const key in row) {
    if (!Object.prototype.hasOwnProperty.call(row, key)) continue;
    const value = row[key];
    if (value === undefined) continue;
    let quotedKey = keyCache.get(key);
    if (quotedKey === undefined) {
      checkColumnName(key);
      quotedKey = `${JSON.stringify(key)}:`;
      keyCache.set(key, quotedKey);
    }
    if (out.length > 1) out += ',';
    out += quotedKey;
    out += encodeValue(value, key, encodings?.get(key), []);
  }
  return out + '}';
}

/**
 * Refuses a column name that no insert can carry: empty, or holding a control character
 * or a lone UTF-16 surrogate. Checked when a row is encoded, so a bad row is refused in
 * the caller (even for async inserts) before anything is sent.
 *
 * @example
 * checkColumnName('nest.a');   // fine
 * checkColumnName('bad\nname'); // throws QueryParamError naming the column
 */
export function checkColumnName(name: string): void {
  if (name === '' || /[\u0000-\u001f]/.test(name) || !isWellFormed(name)) {
    throw new QueryParamError(name, 'column name is empty or holds a control character or a lone surrogate');
  }
}

/**
 * Encodes rows as the JSONEachRow body of an insert: one line per row, each ending in `\n`.
 *
 * @example
 * encodeRows([{ a: 1 }, { a: 2 }]); // '{"a":1}\n{"a":2}\n'
 */
export function encodeRows(rows: readonly Row[], encodings?: ColumnEncodings): string {
  let out = '';
  for (const row of rows) out += `${encodeRow(row, encodings)}\n`;
  return out;
}

function encodeValue(value: unknown, name: string, kind: ColumnEncoding | undefined, seen: unknown[]): string {
  switch (typeof value) {
    case 'string':
      if (!isWellFormed(value)) throw new QueryParamError(name, 'string holds a lone UTF-16 surrogate, which has no UTF-8 form');
      if (kind === 'decimal') {
        if (!DECIMAL_TEXT.test(value)) throw new QueryParamError(name, `${JSON.stringify(value.slice(0, 40))} is not a decimal number`);
        return value;
      }
      return JSON.stringify(value);
    case 'number':
      if (Number.isFinite(value)) return String(value);
      return Number.isNaN(value) ? '"nan"' : value > 0 ? '"inf"' : '"-inf"';
    case 'bigint':
      return String(value);
    case 'boolean':
      return value ? '1' : '0';
    case 'undefined':
      throw new QueryParamError(name, 'undefined inside a value (only a whole column may be left undefined)');
    case 'function':
    case 'symbol':
      throw new QueryParamError(name, `a ${typeof value} cannot be inserted`);
  }
  if (value === null || typeof value !== 'object') return 'null';
  if (value instanceof Date) return `"${dateText(value, name, kind)}"`;
  if (seen.includes(value)) throw new QueryParamError(name, 'value is circular');
  if (Array.isArray(value)) {
    seen.push(value);
    let out = '[';
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out += ',';
      out += encodeValue(value[i], `${name}[${i}]`, kind, seen);
    }
    seen.pop();
    return `${out}]`;
  }
  const proto = Object.getPrototypeOf(value);
  if (proto === Object.prototype || proto === null) return JSON.stringify(jsonText(value, name));
  throw new QueryParamError(name, 'unsupported value (use a string, number, bigint, boolean, null, Date, array or plain object)');
}

// The days each type holds: Date 1970-01-01 to 2149-06-06, Date32 1900-01-01 to 2299-12-31.
const DAY_MS = 86_400_000;
const DATE_RANGE = { date: [0, 65_535], date32: [-25_567, 120_529] } as const;
const DATETIME64_MAX_MS = Date.UTC(2299, 11, 31, 23, 59, 59, 999);

function dateText(date: Date, name: string, kind: ColumnEncoding | undefined): string {
  const ms = date.getTime();
  if (Number.isNaN(ms)) throw new QueryParamError(name, 'Date is invalid');
  if (kind === 'date' || kind === 'date32') {
    const day = Math.floor(ms / DAY_MS);
    const [lo, hi] = DATE_RANGE[kind];
    if (day < lo || day > hi) {
      throw new QueryParamError(name, `Date ${date.toISOString()} is outside ${kind === 'date' ? "Date's range (1970-01-01 to 2149-06-06)" : "Date32's range (1900-01-01 to 2299-12-31)"}`);
    }
    return date.toISOString().slice(0, 10);
  }
  if (kind === 'datetime64') {
    if (ms < 0 || ms > DATETIME64_MAX_MS) throw new QueryParamError(name, `Date ${date.toISOString()} is outside 1970 to 2299, which DateTime64 is written for`);
    return `${String(Math.floor(ms / 1000)).padStart(10, '0')}.${String(ms % 1000).padStart(3, '0')}`;
  }
  // Ten digits: 18.16 reads a shorter text as `YYYY-MM-DD hh:mm:ss` when its fifth character is no digit.
  return String(epochSeconds(date, name)).padStart(10, '0');
}
