/**
 * Values of server-side typed placeholders (`{name:Type}`), written as the text ClickHouse
 * reads a query parameter in: the value's text form for its type, escaped as in
 * TabSeparated (`deserializeTextEscaped`). The placeholder's type says what to write.
 */
import { type ColumnType, parseColumnType } from './column-type.js';
import { descend, isPlainObject } from './checks.js';
import { QueryParamError } from './errors.js';
import { epochSeconds, isWellFormed, jsonText, quoteString, utcDay, type TypedPlaceholder } from './params.js';
import type { QueryParams } from './types.js';

/**
 * The `param_<name>` texts for a query's typed placeholders, by name. A placeholder
 * without a value, or a name used with two types that need different texts, throws
 * `QueryParamError` naming the parameter.
 *
 * @example
 * typedParamValues([{ name: 'n', type: 'UInt32' }], { n: 41 }); // { n: '41' }
 */
export function typedParamValues(typed: readonly TypedPlaceholder[], params: QueryParams | undefined): Record<string, string> {
  const out: Record<string, string> = Object.create(null) as Record<string, string>;
  const typeOfName = new Map<string, string>();
  for (const { name, type } of typed) {
    const before = typeOfName.get(name);
    if (before === type) continue;
    if (params === undefined || !Object.prototype.hasOwnProperty.call(params, name)) {
      throw new QueryParamError(name, `the query has a {${name}:${type}} placeholder but no value was given`);
    }
    const text = formatTypedParam(params[name], type, name);
    if (before !== undefined && out[name] !== text) {
      throw new QueryParamError(name, `used as {${name}:${before}} and {${name}:${type}}, which need different texts for this value (the server gets one)`);
    }
    typeOfName.set(name, type);
    out[name] = text;
  }
  return out;
}

/**
 * The `param_<name>` text for `value` as a `{name:Type}` placeholder of type `type`.
 * Throws `QueryParamError` naming the parameter (and the element: `xs[2]`, `m["k"]`,
 * `t.a`) when the value does not suit the type.
 *
 * @example
 * formatTypedParam(['a\tb', null], 'Array(Nullable(String))', 'xs'); // "['a\\tb',NULL]"
 * formatTypedParam(new Date('2020-01-01T00:00:00.5Z'), 'DateTime64(3)', 'at'); // '1577836800.500'
 * formatTypedParam('it\'s\n', 'String', 's'); // "it's\\n"
 */
export function formatTypedParam(value: unknown, type: string, name: string): string {
  const parsed = typeOf(type);
  if (parsed === undefined) return opaque(value, name, type);
  return top(value, parsed, name);
}

const parsedTypes = new Map<string, ColumnType | undefined>();

function typeOf(text: string): ColumnType | undefined {
  if (parsedTypes.has(text)) return parsedTypes.get(text);
  let type: ColumnType | undefined;
  try {
    type = parseColumnType(text.trim().replace(/\s+/g, ' '));
  } catch {
    // A type this client cannot read (a newer server's syntax): values go as given.
    type = undefined;
  }
  if (parsedTypes.size >= 256) parsedTypes.clear();
  parsedTypes.set(text, type);
  return type;
}

// Geo types are names for nested tuples and arrays.
const GEO: Record<string, string> = {
  Point: 'Tuple(Float64, Float64)',
  Ring: 'Array(Tuple(Float64, Float64))',
  LineString: 'Array(Tuple(Float64, Float64))',
  Polygon: 'Array(Array(Tuple(Float64, Float64)))',
  MultiLineString: 'Array(Array(Tuple(Float64, Float64)))',
  MultiPolygon: 'Array(Array(Array(Tuple(Float64, Float64))))',
};

const INT = /^(U?)Int(8|16|32|64|128|256)$/;
const INT_TEXT = /^[+-]?\d+$/;
const NUMBER_TEXT = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const FLOAT_TEXT = /^(?:[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|[+-]?(?:nan|inf|infinity))$/i;
const STRING_LIKE = new Set(['String', 'FixedString', 'UUID', 'IPv4', 'IPv6', 'Enum8', 'Enum16', 'Enum', 'Time', 'Time64', 'Identifier', 'Object']);

/** The top-level text: TSV-escaped where the type reads escaped text. */
function top(value: unknown, type: ColumnType, name: string): string {
  switch (type.name) {
    case 'Nullable':
      return value === null ? '\\N' : top(value, inner(type), name);
    case 'LowCardinality':
      return top(value, inner(type), name);
    case 'Array': case 'Map': case 'Tuple':
      return nested(value, type, name);
    case 'Variant': case 'Dynamic':
      // 26.7 unescapes a top-level Variant or Dynamic text twice (the field, then its
      // content): escaped twice, a tab or a backslash arrives as itself.
      return escapeText(scalar(value, type, name, false), name);
  }
  if (GEO[type.name] !== undefined) return nested(value, typeOf(GEO[type.name] as string) as ColumnType, name);
  return scalar(value, type, name, false);
}

/** The text of a value inside an Array, Map or Tuple: strings quoted, numbers bare, NULL. */
function nested(value: unknown, type: ColumnType, name: string, seen: unknown[] = []): string {
  if (value === undefined) throw new QueryParamError(name, 'value is undefined');
  switch (type.name) {
    case 'Nullable':
      return value === null ? 'NULL' : nested(value, inner(type), name, seen);
    case 'LowCardinality':
      return nested(value, inner(type), name, seen);
    case 'Array': {
      if (!Array.isArray(value)) throw new QueryParamError(name, `expected an array for ${typeText(type)}, got ${kind(value)}`);
      return descend(value, name, seen, () => `[${value.map((item, i) => nested(item, inner(type), `${name}[${i}]`, seen)).join(',')}]`);
    }
    case 'Map': {
      const [keyType, valueType] = type.args as ColumnType[];
      const entries = mapEntries(value, type, name);
      return descend(value, name, seen, () => `{${entries.map(([k, v]) => {
        const at = `${name}[${typeof k === 'string' ? JSON.stringify(k) : String(k)}]`;
        return `${nested(k, keyType as ColumnType, at, seen)}:${nested(v, valueType as ColumnType, at, seen)}`;
      }).join(',')}}`);
    }
    case 'Tuple': {
      const elements = type.args.filter((a): a is ColumnType => typeof a === 'object');
      const values = tupleValues(value, type, elements, name);
      return descend(value, name, seen, () => `(${elements.map((el, i) => nested(values[i], el, el.field === undefined ? `${name}[${i}]` : `${name}.${el.field}`, seen)).join(',')})`);
    }
  }
  if (GEO[type.name] !== undefined) return nested(value, typeOf(GEO[type.name] as string) as ColumnType, name, seen);
  return scalar(value, type, name, true);
}

// `YYYY-MM-DD`, perhaps with `hh:mm:ss`: the text whose fields a server carries over silently (26.7 reads 2020-02-30 as 2020-03-01, 2020-13-45 as 1970-01-01).
const CALENDAR = /^\s*(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2}):(\d{2}))?/;

/** `value`, refused when it reads as a date (and time) that no calendar has; any other text is the server's to read. */
function calendarChecked(value: string, name: string, t: string): string {
  const m = CALENDAR.exec(value);
  // The zero date (`0000-00-00`) is ClickHouse's own.
  if (m === null || /^0000-00-00(?:[ T]00:00:00)?$/.test(m[0].trim())) return value;
  const [year, month, day, hour = 0, minute = 0, second = 0] = m.slice(1).map((f) => (f === undefined ? undefined : Number(f))) as number[];
  const days = new Date(Date.UTC(year as number, month as number, 0)).getUTCDate();
  if ((month as number) < 1 || (month as number) > 12 || (day as number) < 1 || (day as number) > days || hour > 23 || minute > 59 || second > 59) {
    throw new QueryParamError(name, `${JSON.stringify(value.trim())} is no ${t === 'Date' || t === 'Date32' ? 'date' : 'date and time'} of the calendar (the server would read another)`);
  }
  return value;
}

/** One scalar value: quoted (inside a composite) or TSV-escaped (at the top). */
function scalar(value: unknown, type: ColumnType, name: string, quoted: boolean): string {
  const text = (s: string): string => (quoted ? quoteString(s, name) : escapeText(s, name));
  if (value === null) throw new QueryParamError(name, `null for ${typeText(type)}, which is not Nullable`);
  if (value === undefined) throw new QueryParamError(name, 'value is undefined');
  const t = type.name;
  const int = INT.exec(t);
  if (int) return integer(value, int[1] === 'U', Number(int[2]), name, t);
  if (t === 'Float32' || t === 'Float64' || t === 'BFloat16') return float(value, name, t);
  if (t.startsWith('Decimal')) return decimal(value, name, t);
  if (t === 'Bool') {
    if (typeof value === 'boolean') return value ? 'true' : 'false';
    if (value === 0 || value === 1) return value === 1 ? 'true' : 'false';
    throw new QueryParamError(name, `expected a boolean for Bool, got ${kind(value)}`);
  }
  if (t === 'Date' || t === 'Date32') {
    if (typeof value === 'string') return text(calendarChecked(value, name, t));
    if (value instanceof Date) return text(utcDay(value, t, name));
    throw new QueryParamError(name, `expected a Date or 'YYYY-MM-DD' text for ${t}, got ${kind(value)}`);
  }
  if (t === 'DateTime') {
    if (typeof value === 'string') return text(calendarChecked(value, name, t));
    // Epoch seconds: the same instant whatever the server's or the column's time zone.
    // Ten digits at least, since the server reads a shorter number as a broken-down date.
    if (value instanceof Date) return text(String(epochSeconds(value, name)).padStart(10, '0'));
    throw new QueryParamError(name, `expected a Date or date-time text for ${typeText(type)}, got ${kind(value)}`);
  }
  if (t === 'DateTime64') {
    if (typeof value === 'string') return text(calendarChecked(value, name, t));
    if (value instanceof Date) return text(epochMillisText(value, name));
    throw new QueryParamError(name, `expected a Date or date-time text for ${typeText(type)}, got ${kind(value)}`);
  }
  if (t === 'JSON') {
    if (typeof value === 'string') return text(value);
    if (isPlainObject(value)) return text(jsonText(value, name));
    throw new QueryParamError(name, `expected a plain object or JSON text for JSON, got ${kind(value)}`);
  }
  if (t === 'String' && isPlainObject(value)) return text(jsonText(value, name));
  if (STRING_LIKE.has(t)) {
    if (typeof value === 'string') return text(value);
    if ((t === 'Enum8' || t === 'Enum16' || t === 'Enum') && typeof value === 'number' && Number.isInteger(value) && !quoted) return String(value);
    throw new QueryParamError(name, `expected a string for ${typeText(type)}, got ${kind(value)}`);
  }
  // Variant, Dynamic and types this client has no rule for: the value as its kind says.
  return byKind(value, name, quoted, typeText(type));
}

function byKind(value: unknown, name: string, quoted: boolean, type: string): string {
  switch (typeof value) {
    case 'string': return quoted ? quoteString(value, name) : escapeText(value, name);
    case 'number': return numberText(value);
    case 'bigint': return String(value);
    case 'boolean': return value ? 'true' : 'false';
  }
  throw new QueryParamError(name, `cannot write ${kind(value)} for ${type} (give the server's text form as a string)`);
}

function opaque(value: unknown, name: string, type: string): string {
  if (value === null) return '\\N';
  return byKind(value, name, false, type);
}

function integer(value: unknown, unsigned: boolean, bits: number, name: string, type: string): string {
  let n: bigint;
  if (typeof value === 'bigint') n = value;
  else if (typeof value === 'number' && Number.isInteger(value)) n = BigInt(value);
  else if (typeof value === 'string' && INT_TEXT.test(value)) n = BigInt(value);
  else throw new QueryParamError(name, `expected an integer for ${type}, got ${kind(value)}`);
  const min = unsigned ? 0n : -(1n << BigInt(bits - 1));
  const max = unsigned ? (1n << BigInt(bits)) - 1n : (1n << BigInt(bits - 1)) - 1n;
  if (n < min || n > max) throw new QueryParamError(name, `${n} is outside ${type} (${min} to ${max})`);
  return n.toString();
}

function float(value: unknown, name: string, type: string): string {
  if (typeof value === 'number') return numberText(value);
  if (typeof value === 'bigint') return String(value);
  if (typeof value === 'string' && FLOAT_TEXT.test(value)) return value;
  throw new QueryParamError(name, `expected a number for ${type}, got ${kind(value)}`);
}

function decimal(value: unknown, name: string, type: string): string {
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new QueryParamError(name, `${value} is not a ${type}`);
    return String(value);
  }
  if (typeof value === 'bigint') return String(value);
  if (typeof value === 'string' && NUMBER_TEXT.test(value)) return value;
  throw new QueryParamError(name, `expected a number, bigint or decimal text for ${type}, got ${kind(value)}`);
}

function numberText(value: number): string {
  if (Number.isNaN(value)) return 'nan';
  if (value === Infinity) return 'inf';
  if (value === -Infinity) return '-inf';
  return String(value);
}

/**
 * Escapes text as TabSeparated does, for the server's `deserializeTextEscaped`: backslash,
 * tab, newline, carriage return and NUL. Refuses a lone surrogate (no UTF-8 form).
 *
 * @example
 * escapeText('a\tb\\'); // 'a\\tb\\\\'
 */
export function escapeText(value: string, name = 'value'): string {
  if (!isWellFormed(value)) throw new QueryParamError(name, 'string holds a lone UTF-16 surrogate, which has no UTF-8 form');
  return TSV_SPECIAL.test(value) ? value.replace(TSV_SPECIALS, (ch) => TSV_ESCAPES[ch] as string) : value;
}

const TSV_SPECIAL = /[\\\t\n\r\0]/;
const TSV_SPECIALS = /[\\\t\n\r\0]/g;
const TSV_ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r', '\0': '\\0' };

function epochMillisText(date: Date, name: string): string {
  const ms = date.getTime();
  if (Number.isNaN(ms)) throw new QueryParamError(name, 'Date is invalid');
  if (ms < DATETIME64_MIN_MS || ms > DATETIME64_MAX_MS) {
    throw new QueryParamError(name, `Date ${date.toISOString()} is outside DateTime64's range (1900 to 2299)`);
  }
  const negative = ms < 0;
  const abs = Math.abs(ms);
  const seconds = String(Math.floor(abs / 1000)).padStart(10, '0');
  return `${negative ? '-' : ''}${seconds}.${String(abs % 1000).padStart(3, '0')}`;
}

const DATETIME64_MIN_MS = Date.UTC(1900, 0, 1);
const DATETIME64_MAX_MS = Date.UTC(2299, 11, 31, 23, 59, 59, 999);

function mapEntries(value: unknown, type: ColumnType, name: string): [unknown, unknown][] {
  if (value instanceof Map) return [...value.entries()];
  if (isPlainObject(value)) return Object.entries(value);
  throw new QueryParamError(name, `expected a Map or a plain object for ${typeText(type)}, got ${kind(value)}`);
}

function tupleValues(value: unknown, type: ColumnType, elements: readonly ColumnType[], name: string): readonly unknown[] {
  if (Array.isArray(value)) {
    if (value.length !== elements.length) throw new QueryParamError(name, `expected ${elements.length} elements for ${typeText(type)}, got ${value.length}`);
    return value;
  }
  const named = elements.every((el) => el.field !== undefined);
  if (named && isPlainObject(value)) {
    const fields = elements.map((el) => el.field as string);
    const extra = Object.keys(value).find((k) => !fields.includes(k));
    if (extra !== undefined) throw new QueryParamError(`${name}.${extra}`, `${typeText(type)} has no element ${JSON.stringify(extra)}`);
    const missing = fields.find((f) => !Object.prototype.hasOwnProperty.call(value, f));
    if (missing !== undefined) throw new QueryParamError(`${name}.${missing}`, 'value is missing');
    return fields.map((f) => (value as Record<string, unknown>)[f]);
  }
  throw new QueryParamError(name, `expected an array${named ? ' or a plain object' : ''} for ${typeText(type)}, got ${kind(value)}`);
}

function inner(type: ColumnType): ColumnType {
  return type.args[0] as ColumnType;
}

function kind(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (value instanceof Date) return 'a Date';
  if (typeof value === 'object') {
    const ctor = (value as { constructor?: { name?: unknown } }).constructor;
    return isPlainObject(value) ? 'a plain object' : `an instance of ${typeof ctor?.name === 'string' ? ctor.name : 'a class'}`;
  }
  if (typeof value === 'string') return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
  if (typeof value === 'number' || typeof value === 'bigint') return `${typeof value} ${String(value)}`;
  return `a ${typeof value}`;
}

function typeText(type: ColumnType): string {
  const args = type.args.map((a) => (typeof a === 'object' ? typeText(a) : typeof a === 'string' ? `'${a}'` : String(a)));
  const own = args.length === 0 ? type.name : `${type.name}(${args.join(', ')})`;
  return type.field === undefined ? own : `${type.field} ${own}`;
}
