import { BoundedCache } from './bounded-cache.js';
import { type ColumnEncoding, type ColumnType, structuralType } from './column-type.js';
import { checkNesting, checkOwnFields, descend, isPlainObject, isRowObject } from './checks.js';
import { NOT_A_ROW, QueryParamError } from './errors.js';
import { epochSeconds, isWellFormed, utcDay } from './params.js';
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
export type ColumnEncodings = ReadonlyMap<string, ColumnEncoding | ColumnType>;

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
  if (!isRowObject(row)) {
    throw new QueryParamError('row', NOT_A_ROW);
  }
  let out = '{';
  for (const key in row) {
    if (!Object.prototype.hasOwnProperty.call(row, key)) continue;
    const value = row[key];
    if (value === undefined) continue;
    if (out.length > 1) out += ',';
    out += quotedKey(key);
    const encoding = encodings?.get(key);
    out += typeof encoding === 'object' ? encodeTyped(value, key, encoding, []) : encodeValue(value, key, encoding, NOTHING_SEEN);
  }
  out += '}';
  // Built by +=, the line is a rope of every piece until something reads it. Lines are held
  // (a batch, a body being joined): reading one character makes V8 flatten it now, so the
  // garbage collector traces one string per row instead of dozens (3x faster inserts).
  out.charCodeAt(0);
  return out;
}

/**
 * Checks that `encodeRow(row)` would encode the row, without making its line: throws the
 * same `QueryParamError` for the same row. A big array is checked whole before its first
 * byte is sent, then encoded as it is sent. The common values (text, numbers, bigints,
 * booleans, null, Dates, arrays of these) are checked here with the encoder's own checks;
 * anything else is handed to the encoder itself.
 *
 * @example
 * checkRow({ id: 1, name: 'Ann' });  // fine
 * checkRow({ name: 'a\uD800' });     // throws QueryParamError naming `name`
 */
export function checkRow(row: Row): void {
  if (!isRowObject(row)) throw new QueryParamError('row', NOT_A_ROW);
  let at = 0;
  for (const key in row) {
    if (!Object.prototype.hasOwnProperty.call(row, key)) continue;
    const value = row[key];
    if (value === undefined) continue;
    // Rows mostly give the same columns as the row before: a name checked in that place is not looked up.
    if (key !== lastNames[at]) {
      quotedKey(key);
      lastNames[at] = key;
    }
    at++;
    if (!plainValue(value, key)) encodeValue(value, key, undefined, NOTHING_SEEN);
  }
  if (at === 0) checkOwnFields(row);
}

// The column names of the row checked last, by place; each was checked when it was put here.
const lastNames: string[] = [];

/** True for a value `encodeValue` writes without throwing and that this checked; false: ask the encoder. */
function plainValue(value: unknown, name: string): boolean {
  switch (typeof value) {
    case 'string': return isWellFormed(value);
    case 'number': case 'bigint': case 'boolean': return true;
    case 'object':
      if (value === null) return true;
      if (value instanceof Date) {
        // Within DateTime's range written as its seconds; before 1970 the column's type decides (a Date32 holds it).
        const ms = value.getTime();
        if (!(ms >= 0 && ms < EPOCH_TEXT_END_MS) && !(ms >= DATE32_MIN_MS && ms < 0)) dateText(value, name, undefined);
        return true;
      }
      if (Array.isArray(value)) {
        for (const element of value as unknown[]) {
          // An element that is itself an object (a nested array, a Date) goes to the encoder with its array.
          if (!((typeof element !== 'object' || element === null) && element !== undefined && plainValue(element, name))) return false;
        }
        return true;
      }
  }
  return false;
}

/**
 * One value as `encodeRow` writes it for a column it knows nothing of (no encodings); throws
 * the same `QueryParamError`.
 *
 * @example
 * encodePlain(new Date(0), 'at'); // '"0000000000"'
 */
export function encodePlain(value: unknown, name: string): string {
  return encodeValue(value, name, undefined, NOTHING_SEEN);
}

// A column name as a JSON key (`"name":`), checked the first time it is met.
function quotedKey(key: string): string {
  let quoted = keyCache.get(key);
  if (quoted === undefined) {
    checkColumnName(key);
    quoted = `${JSON.stringify(key)}:`;
    keyCache.set(key, quoted);
  }
  return quoted;
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
  checkNesting(value, name, seen);
  if (Array.isArray(value)) {
    // The path to what is inside is only written out for an element that is itself an
    // object, or for an error: an array of numbers costs no string per element.
    const inner = seen === NOTHING_SEEN ? [value] : (seen.push(value), seen);
    let out = '[';
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out += ',';
      const element: unknown = value[i];
      out += typeof element === 'number' && Number.isFinite(element) ? String(element)
        : typeof element === 'object' && element !== null ? encodeValue(element, `${name}[${i}]`, kind, inner)
          : encodeScalar(element, name, i, kind);
    }
    if (inner === seen) seen.pop();
    return `${out}]`;
  }
  // A JS Map is a Map column's value: an object keyed by the keys' text.
  if (value instanceof Map) return encodeTyped(value, name, UNTYPED_MAP, seen === NOTHING_SEEN ? [] : seen);
  // A plain object is JSON text (for a String column); the table's types may say otherwise (see encodeTyped).
  if (isPlainObject(value)) return JSON.stringify(jsonValue(value, name, seen === NOTHING_SEEN ? [] : seen));
  throw new QueryParamError(name, 'unsupported value (use a string, number, bigint, boolean, null, Date, array, Map or plain object)');
}

// What a top-level value has been inside of: nothing. Never pushed to (an array copies it).
const NOTHING_SEEN: unknown[] = [];

/** A scalar element `i` of an array `name`: the element's path is written only for an error. */
function encodeScalar(value: unknown, name: string, i: number, kind: ColumnEncoding | undefined): string {
  try {
    return encodeValue(value, name, kind, NOTHING_SEEN);
  } catch (err) {
    if (err instanceof QueryParamError) return encodeValue(value, `${name}[${i}]`, kind, NOTHING_SEEN);
    throw err;
  }
}

const DATETIME64_MAX_MS = Date.UTC(2299, 11, 31, 23, 59, 59, 999);
const DATE32_MIN_MS = Date.UTC(1900, 0, 1);
/** Where a Date stops being written as its epoch seconds (2106): past it, as a DateTime64's text. */
export const EPOCH_TEXT_END_MS = 2 ** 32 * 1000;

function dateText(date: Date, name: string, kind: ColumnEncoding | undefined): string {
  const ms = date.getTime();
  if (Number.isNaN(ms)) throw new QueryParamError(name, 'Date is invalid');
  if (kind === 'date' || kind === 'date32') return utcDay(date, kind === 'date' ? 'Date' : 'Date32', name);
  if (kind === 'datetime64') {
    if (ms < 0 || ms > DATETIME64_MAX_MS) throw new QueryParamError(name, `Date ${date.toISOString()} is outside 1970 to 2299, which DateTime64 is written for`);
    // Epoch seconds of more than ten digits are not read: past 2106 the UTC ISO text, which modern servers read.
    if (ms >= EPOCH_TEXT_END_MS) return date.toISOString();
    return `${String(Math.floor(ms / 1000)).padStart(10, '0')}.${String(ms % 1000).padStart(3, '0')}`;
  }
  // Ten digits: 18.16 reads a shorter text as `YYYY-MM-DD hh:mm:ss` when its fifth character is no digit.
  if (ms >= 0 && ms < EPOCH_TEXT_END_MS) return String(Math.floor(ms / 1000)).padStart(10, '0');
  // Past DateTime's range only a DateTime64 holds it (a DateTime column's rows are checked by the table's types
  // first): written as for one. Before 1970 only a Date32 (a column described as one, never here).
  if (ms >= EPOCH_TEXT_END_MS && ms <= DATETIME64_MAX_MS) return dateText(date, name, 'datetime64');
  if (ms > DATETIME64_MAX_MS || ms < DATE32_MIN_MS) throw new QueryParamError(name, `Date ${date.toISOString()} is outside 1900 to 2299, which no ClickHouse date or time type holds`);
  return String(epochSeconds(date, name)).padStart(10, '0');
}

/**
 * Encodes a value for a column of a known type (learnt with `DESCRIBE TABLE` on the
 * modern path): `Map` from a JS `Map` or a plain object, named `Tuple` from an object or
 * an array, `JSON` from an object (inline, not as text), `Bool` as `true`/`false`,
 * `DateTime64` from a `Date` (milliseconds kept) or from the lossless ISO text that
 * `select` gives for precision above 3, `Nested` (with `flatten_nested=0`) from an array
 * of objects, and every nesting of `Array`/`Nullable`/`LowCardinality`. Other values as
 * `encodeValue` writes them.
 */
function encodeTyped(value: unknown, name: string, declared: ColumnType, seen: unknown[]): string {
  const type = structuralType(declared);
  if (value === null || value === undefined) return encodeValue(value, name, undefined, seen);
  switch (type.name) {
    case 'Nullable': case 'LowCardinality':
      return encodeTyped(value, name, type.args[0] as ColumnType, seen);
    case 'Decimal': case 'Decimal32': case 'Decimal64': case 'Decimal128': case 'Decimal256':
      return encodeValue(value, name, 'decimal', seen);
    case 'DateTime':
      // Only a DateTime64 holds a time past 2106 (or before 1970): refused here, not clamped by the server.
      if (value instanceof Date) return `"${String(epochSeconds(value, name)).padStart(10, '0')}"`;
      break;
    case 'Date': return encodeValue(value, name, 'date', seen);
    case 'Date32': return encodeValue(value, name, 'date32', seen);
    case 'DateTime64':
      if (typeof value === 'string' && PRECISE_INSTANT.test(value)) return `"${preciseEpoch(value, name)}"`;
      return encodeValue(value, name, 'datetime64', seen);
    case 'Bool': case 'Variant': case 'Dynamic':
      if (typeof value === 'boolean') return value ? 'true' : 'false';
      if (type.name !== 'Bool' && typeof value === 'object' && !(value instanceof Date)) return jsonValue(value, name, seen);
      return encodeValue(value, name, undefined, seen);
    case 'JSON': case 'Object':
      return jsonValue(value, name, seen);
    case 'Array': {
      if (!Array.isArray(value)) break;
      return descend(value, name, seen, () => {
        let out = '[';
        for (let i = 0; i < value.length; i++) {
          if (i > 0) out += ',';
          out += encodeTyped(value[i], `${name}[${i}]`, type.args[0] as ColumnType, seen);
        }
        return `${out}]`;
      });
    }
    case 'Tuple': {
      const elements = type.args as readonly ColumnType[];
      const fields = elements.map((e) => e.field);
      const named = fields.length > 0 && fields.every((f) => f !== undefined);
      if (Array.isArray(value)) {
        if (value.length !== elements.length) throw new QueryParamError(name, `expected ${elements.length} tuple elements, got ${value.length}`);
        return descend(value, name, seen, () => {
          const parts = value.map((v, i) => encodeTyped(v, `${name}.${fields[i] ?? i + 1}`, elements[i] as ColumnType, seen));
          // A named tuple reads only an object in JSON: the elements get their names.
          return named ? `{${parts.map((p, i) => `${JSON.stringify(fields[i])}:${p}`).join(',')}}` : `[${parts.join(',')}]`;
        });
      }
      if (named && isPlainObject(value)) {
        const record = value as Record<string, unknown>;
        const extra = Object.keys(record).find((k) => record[k] !== undefined && !fields.includes(k)); // the server would drop it
        if (extra !== undefined) throw new QueryParamError(`${name}.${extra}`, `the named Tuple has no element ${JSON.stringify(extra)} (its elements: ${fields.join(', ')})`);
        return descend(value, name, seen, () => `{${elements.map((e, i) => {
          const field = fields[i] as string;
          return `${JSON.stringify(field)}:${encodeTyped(record[field] ?? null, `${name}.${field}`, e, seen)}`;
        }).join(',')}}`);
      }
      break;
    }
    case 'Map': {
      const [keyType, valueType] = type.args as readonly ColumnType[];
      let entries: [unknown, unknown][];
      if (value instanceof Map) entries = [...(value as Map<unknown, unknown>).entries()];
      else if (isPlainObject(value)) entries = Object.entries(value as Record<string, unknown>);
      else break;
      return descend(value, name, seen, () => `{${entries.map(([k, v]) => {
        const key = mapKeyText(k, name, keyType as ColumnType);
        return `${JSON.stringify(key)}:${encodeTyped(v, `${name}[${key}]`, valueType as ColumnType, seen)}`;
      }).join(',')}}`);
    }
  }
  return encodeValue(value, name, undefined, seen);
}

/** A Map key as the text of a JSON object key, which the server reads as the key type. */
function mapKeyText(key: unknown, name: string, keyType: ColumnType): string {
  switch (typeof key) {
    case 'string':
      if (!isWellFormed(key)) throw new QueryParamError(name, 'Map key holds a lone UTF-16 surrogate');
      return key;
    case 'number':
      if (!Number.isFinite(key)) return Number.isNaN(key) ? 'nan' : key > 0 ? 'inf' : '-inf';
      return String(key);
    case 'bigint': return String(key);
    case 'boolean': return key ? 'true' : 'false';
  }
  if (key instanceof Date) {
    const inner = structuralType(keyType.name === 'LowCardinality' || keyType.name === 'Nullable' ? keyType.args[0] as ColumnType : keyType);
    const kind = inner.name === 'Date' ? 'date' : inner.name === 'Date32' ? 'date32' : inner.name === 'DateTime64' ? 'datetime64' : undefined;
    return dateText(key, name, kind);
  }
  throw new QueryParamError(name, `a Map key must be a string, number, bigint, boolean or Date, got ${key === null ? 'null' : typeof key}`);
}

const STRING: ColumnType = { name: 'String', args: [] };
const UNTYPED_MAP: ColumnType = { name: 'Map', args: [{ name: 'String', args: [] }, { name: 'Dynamic', args: [] }] };

/**
 * JSON text as `JSON.stringify` writes it (keys whose value is `undefined` left out, a
 * Date as its ISO text, a non-finite number as null), except that a bigint keeps its
 * digits and a JS Map is an object: the value of a JSON column, or the text of an object
 * for a String column.
 */
function jsonValue(value: unknown, name: string, seen: unknown[]): string {
  switch (typeof value) {
    case 'number':
      return Number.isFinite(value) ? String(value) : 'null';
    case 'string': case 'undefined': case 'function': case 'symbol':
      return encodeValue(value, name, undefined, seen);
    case 'bigint': return String(value);
    case 'boolean': return value ? 'true' : 'false';
  }
  if (value === null) return 'null';
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) throw new QueryParamError(name, 'Date is invalid');
    return JSON.stringify(value.toISOString());
  }
  if (Array.isArray(value)) {
    return descend(value, name, seen, () => `[${value.map((v, i) => jsonValue(v, `${name}[${i}]`, seen)).join(',')}]`);
  }
  if (value instanceof Map || isPlainObject(value)) {
    const entries: [unknown, unknown][] = value instanceof Map ? [...(value as Map<unknown, unknown>).entries()] : Object.entries(value as object);
    return descend(value, name, seen, () => `{${entries.filter(([, v]) => v !== undefined).map(([k, v]) => {
      const key = mapKeyText(k, name, STRING);
      return `${JSON.stringify(key)}:${jsonValue(v, `${name}.${key}`, seen)}`;
    }).join(',')}}`);
  }
  return encodeValue(value, name, undefined, seen);
}

// The form `select` gives a DateTime64 of precision above 3: UTC, every digit.
const PRECISE_INSTANT = /^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?Z$/;

/** `2020-01-01T00:00:00.123456789Z` as epoch seconds with all its fraction digits. */
function preciseEpoch(text: string, name: string): string {
  const m = PRECISE_INSTANT.exec(text) as RegExpExecArray;
  const ms = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
  if (Number.isNaN(ms) || ms < 0 || ms > DATETIME64_MAX_MS) throw new QueryParamError(name, `${text} is outside 1970 to 2299, which DateTime64 is written for`);
  if (ms >= EPOCH_TEXT_END_MS) return text;
  const seconds = String(ms / 1000).padStart(10, '0');
  return m[7] === undefined ? seconds : `${seconds}.${m[7]}`;
}
