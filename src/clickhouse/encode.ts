import { BoundedCache } from './bounded-cache.js';
import { QueryParamError } from './errors.js';
import { epochSeconds, isWellFormed, jsonText } from './params.js';
import type { Row } from './types.js';

const DECIMAL_TEXT = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;
// Column names as JSON keys (`"name":`), checked once; a name longer than any real one is
// quoted each time instead of kept.
const keyCache = new BoundedCache<string>({ maxEntries: 10_000, maxKeyLength: 256, maxChars: 512 * 1024 });

/**
 * Encodes one row as a JSONEachRow line, without the trailing newline. Keys whose value is
 * `undefined` are left out so the column default applies. Values: string, finite number,
 * `NaN`/`Infinity` (as ClickHouse's `"nan"`/`"inf"`), bigint (exact digits), boolean (1/0),
 * null, Date (its epoch seconds, which a DateTime column reads as that instant whatever
 * the time zones), arrays (for Array and Tuple columns) and plain objects (JSON text, for a
 * String column). `decimalColumns` names columns whose strings are written as bare numbers
 * (ClickHouse 18.16 refuses a quoted Decimal). Anything else throws `QueryParamError`
 * naming the column.
 *
 * @example
 * encodeRow({ id: 1n, name: 'Ann', at: new Date(0), skip: undefined }); // '{"id":1,"name":"Ann","at":"0000000000"}'
 */
export function encodeRow(row: Row, decimalColumns?: ReadonlySet<string>): string {
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
    out += encodeValue(value, key, decimalColumns?.has(key) === true, []);
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
export function encodeRows(rows: readonly Row[], decimalColumns?: ReadonlySet<string>): string {
  let out = '';
  for (const row of rows) out += `${encodeRow(row, decimalColumns)}\n`;
  return out;
}

function encodeValue(value: unknown, name: string, decimal: boolean, seen: unknown[]): string {
  switch (typeof value) {
    case 'string':
      if (!isWellFormed(value)) throw new QueryParamError(name, 'string holds a lone UTF-16 surrogate, which has no UTF-8 form');
      if (decimal) {
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
  // Ten digits: 18.16 reads a shorter text as `YYYY-MM-DD hh:mm:ss` when its fifth character is no digit.
  if (value instanceof Date) return `"${String(epochSeconds(value, name)).padStart(10, '0')}"`;
  if (seen.includes(value)) throw new QueryParamError(name, 'value is circular');
  if (Array.isArray(value)) {
    seen.push(value);
    let out = '[';
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out += ',';
      out += encodeValue(value[i], `${name}[${i}]`, decimal, seen);
    }
    seen.pop();
    return `${out}]`;
  }
  const proto = Object.getPrototypeOf(value);
  if (proto === Object.prototype || proto === null) return JSON.stringify(jsonText(value, name));
  throw new QueryParamError(name, 'unsupported value (use a string, number, bigint, boolean, null, Date, array or plain object)');
}
