import { BoundedCache, ownCopy } from './bounded-cache.js';
import { QueryParamError } from './errors.js';
import { CALL_OPTION_KEYS, checkDepth, checkNesting, isRowObject, shown } from './checks.js';
import type { QueryParams } from './types.js';

/**
 * A SQL text cut at its `{name}` placeholders: `parts[i]` comes before `names[i]`, and
 * `parts` has one more element than `names`.
 */
interface Template {
  readonly parts: readonly string[];
  readonly names: readonly string[];
  /** The server-side placeholders `{name:Type}`, left in the text, in order of appearance. */
  readonly typed: readonly TypedPlaceholder[];
  /** For a kept text without placeholders: what `renderTemplate` returns, made once. */
  readonly plain?: RenderedQuery;
}

/**
 * One server-side placeholder `{name:Type}` of a SQL text: its name and its type as written.
 *
 * @example
 * const p: TypedPlaceholder = { name: 'n', type: 'UInt32' };
 */
export interface TypedPlaceholder {
  readonly name: string;
  readonly type: string;
}

/**
 * A SQL text with its `{name}` placeholders substituted, and the `{name:Type}` ones it
 * still holds for the server (an empty list for most queries).
 *
 * @example
 * const r: RenderedQuery = renderTemplate('SELECT {a}, {b:UInt8}', { a: 1, b: 2 });
 * // { sql: 'SELECT 1, {b:UInt8}', typed: [{ name: 'b', type: 'UInt8' }] }
 */
export interface RenderedQuery {
  readonly sql: string;
  readonly typed: readonly TypedPlaceholder[];
}

// SQL texts parsed once; a long statement (a big IN list, a literal) is parsed each time
// instead of kept, and all kept texts together stay under a few MiB.
const templates = new BoundedCache<Template>({ maxEntries: 512, maxKeyLength: 16_384, maxChars: 2 * 1024 * 1024 });
const IDENT_START = /[A-Za-z_]/;
const IDENT = /^[A-Za-z_][A-Za-z0-9_]*/;

/**
 * Substitutes Pillar-style `{name}` placeholders with ClickHouse literals. Placeholders
 * inside string literals, quoted identifiers and comments are left alone, and so is the
 * server's typed form `{name:Type}`. Values: string (escaped for a `'...'` literal:
 * backslash, quote, NUL and control characters), finite number, bigint, boolean (1/0),
 * null (NULL), Date (`toDateTime(<epoch seconds>)`, the same instant in any server time
 * zone), arrays (nested) and plain objects (their JSON text as a string). Anything else,
 * a string with a lone UTF-16 surrogate, or a placeholder without a value throws
 * `QueryParamError` naming the parameter.
 *
 * @example
 * renderQuery('SELECT * FROM users WHERE name = {name} AND age > {age}', { name: "O'Brien\\", age: 21 });
 * // "SELECT * FROM users WHERE name = 'O\\'Brien\\\\' AND age > 21"
 */
export function renderQuery(sql: string, params?: QueryParams): string {
  return substitute(compile(sql), sql, params);
}

/**
 * `renderQuery` that also returns the typed placeholders `{name:Type}` the text holds,
 * from the same parse (each SQL text is parsed once and kept, see the template cache).
 *
 * @example
 * renderTemplate("SELECT {s:String}, {n}", { s: 'x', n: 1 }); // { sql: 'SELECT {s:String}, 1', typed: [{ name: 's', type: 'String' }] }
 */
export function renderTemplate(sql: string, params?: QueryParams): RenderedQuery {
  if (params !== undefined && !isRowObject(params)) throw new QueryParamError('params', `expected a plain object of values by placeholder name, got ${shown(params)}`);
  const template = compile(sql);
  if (template.names.length === 0 && template.typed.length === 0) {
    // `select(sql, { timeout: 1_000 })`: options in the params' place, which the SQL has no use for.
    const keys = params === undefined ? undefined : Object.keys(params);
    if (keys !== undefined && keys.length > 0 && keys.every((k) => CALL_OPTION_KEYS.has(k))) {
      throw new QueryParamError('params', `${keys.join(', ')} ${keys.length === 1 ? 'is an option' : 'are options'}, and the SQL has no placeholder: pass options as the third argument (sql, params, options)`);
    }
    return template.plain ?? { sql, typed: NONE };
  }
  return { sql: substitute(template, sql, params), typed: template.typed };
}

const NONE: readonly TypedPlaceholder[] = [];

function substitute(template: Template, sql: string, params: QueryParams | undefined): string {
  if (template.names.length === 0) return sql;
  let out = template.parts[0] ?? '';
  // Whether `out` ends in '-', kept as it grows: asking `out` itself would flatten it every time.
  let dash = out.endsWith('-');
  for (let i = 0; i < template.names.length; i++) {
    const name = template.names[i] as string;
    if (params === undefined || !Object.prototype.hasOwnProperty.call(params, name)) {
      throw new QueryParamError(name, 'the query has a {' + name + '} placeholder but no value was given');
    }
    const literal = formatLiteral(params[name], name);
    // `x -{n}` with n = -1 would become `x --1`, a comment.
    out += dash && literal.startsWith('-') ? ` ${literal}` : literal;
    const part = template.parts[i + 1] ?? '';
    out += part;
    dash = part === '' ? literal.endsWith('-') : part.endsWith('-');
  }
  return out;
}

/**
 * The ClickHouse literal for one value, as `renderQuery` writes it. `name` is used in the
 * error when the value is refused.
 *
 * @example
 * formatLiteral(['a', null, [1n]], 'xs'); // "['a',NULL,[1]]"
 */
export function formatLiteral(value: unknown, name = 'value'): string {
  return literal(value, name, []);
}

/**
 * Quotes a string as a ClickHouse `'...'` literal, escaping backslash, quote, NUL and
 * other control characters. Refuses a string with a lone surrogate (it has no UTF-8 form).
 *
 * @example
 * quoteString("it's"); // "'it\\'s'"
 */
export function quoteString(value: string, name = 'value'): string {
  if (!isWellFormed(value)) throw new QueryParamError(name, 'string holds a lone UTF-16 surrogate, which has no UTF-8 form');
  return `'${escapeText(value)}'`;
}

/**
 * `text` with ClickHouse's escapes for a quoted or TabSeparated string: `\\`, `\'`, and the
 * control characters (`\t`, `\n`, `\0`, ..., `\xHH`). Not checked for lone surrogates.
 *
 * @example
 * escapeText("it's\t"); // "it\\'s\\t"
 */
export function escapeText(text: string): string {
  return NEEDS_ESCAPE.test(text) ? text.replace(ESCAPED, escapeChar) : text;
}

/**
 * Quotes a table or column name with backticks. `db.table` is split at the dot. Refuses
 * names that are empty or hold backticks, backslashes or control characters.
 *
 * @example
 * quoteIdentifier('analytics.events'); // '`analytics`.`events`'
 */
export function quoteIdentifier(name: string, what = 'table'): string {
  if (typeof name !== 'string' || name === '') throw new QueryParamError(what, 'expected a non-empty name');
  const pieces = name.split('.');
  if (pieces.length > 2 || pieces.some((p) => p === '' || /[`\\\u0000-\u001f]/.test(p) || !isWellFormed(p))) {
    throw new QueryParamError(what, `${JSON.stringify(name)} is not a valid name (use name or database.name, without backticks, backslashes or control characters)`);
  }
  return pieces.map((p) => `\`${p}\``).join('.');
}

/**
 * True when a string has no lone UTF-16 surrogate, so it has an exact UTF-8 form.
 *
 * @example
 * isWellFormed('\ud800'); // false
 */
export function isWellFormed(value: string): boolean {
  return (value as unknown as { isWellFormed(): boolean }).isWellFormed();
}

const NEEDS_ESCAPE = /[\\'\u0000-\u001f\u007f]/;
const ESCAPED = /[\\'\u0000-\u001f\u007f]/g;
const ESCAPES: Record<string, string> = {
  '\\': '\\\\', "'": "\\'", '\0': '\\0', '\b': '\\b', '\f': '\\f', '\n': '\\n', '\r': '\\r', '\t': '\\t',
};

function escapeChar(ch: string): string {
  return ESCAPES[ch] ?? `\\x${ch.charCodeAt(0).toString(16).padStart(2, '0')}`;
}

function literal(value: unknown, name: string, seen: unknown[]): string {
  switch (typeof value) {
    case 'string':
      return quoteString(value, name);
    case 'number':
      if (!Number.isFinite(value)) throw new QueryParamError(name, `${value} has no ClickHouse literal (only finite numbers are sent)`);
      return String(value);
    case 'bigint':
      return String(value);
    case 'boolean':
      return value ? '1' : '0';
    case 'undefined':
      throw new QueryParamError(name, 'value is undefined');
    case 'function':
    case 'symbol':
      throw new QueryParamError(name, `a ${typeof value} cannot be sent`);
  }
  if (value === null || typeof value !== 'object') return 'NULL';
  if (value instanceof Date) return `toDateTime(${epochSeconds(value, name)})`;
  checkNesting(value, name, seen);
  if (Array.isArray(value)) {
    seen.push(value);
    const items = value.map((item, i) => literal(item, `${name}[${i}]`, seen));
    seen.pop();
    return `[${items.join(',')}]`;
  }
  const proto = Object.getPrototypeOf(value);
  if (proto === Object.prototype || proto === null) return quoteString(jsonText(value, name), name);
  throw new QueryParamError(name, `unsupported value ${describe(value)} (use a string, number, bigint, boolean, null, Date, array or plain object)`);
}

/**
 * Seconds since the epoch for a DateTime, refusing what a DateTime cannot hold.
 *
 * @example
 * epochSeconds(new Date('2020-01-01T00:00:00.900Z'), 'at'); // 1577836800
 */
export function epochSeconds(date: Date, name: string): number {
  const ms = date.getTime();
  if (Number.isNaN(ms)) throw new QueryParamError(name, 'Date is invalid');
  const seconds = Math.floor(ms / 1000);
  if (seconds < 0 || seconds > 0xffffffff) throw new QueryParamError(name, `Date ${date.toISOString()} is outside DateTime's range (1970 to 2106)`);
  return seconds;
}

// The days each type holds: Date 1970-01-01 to 2149-06-06, Date32 1900-01-01 to 2299-12-31.
const DAY_MS = 86_400_000;
const DAY_RANGE = { Date: [0, 65_535, '1970-01-01', '2149-06-06'], Date32: [-25_567, 120_529, '1900-01-01', '2299-12-31'] } as const;

/**
 * The UTC day of a JS Date as a `Date` or `Date32` value reads it (`YYYY-MM-DD`), refusing
 * a day outside the type's range.
 *
 * @example
 * utcDay(new Date('2020-02-29T23:30:00Z'), 'Date', 'day'); // '2020-02-29'
 */
export function utcDay(date: Date, type: 'Date' | 'Date32', name: string): string {
  const ms = date.getTime();
  if (Number.isNaN(ms)) throw new QueryParamError(name, 'Date is invalid');
  const [lo, hi, from, to] = DAY_RANGE[type];
  const day = Math.floor(ms / DAY_MS);
  if (day < lo || day > hi) throw new QueryParamError(name, `Date ${date.toISOString()} is outside ${type}'s range (${from} to ${to})`);
  return date.toISOString().slice(0, 10);
}

/**
 * JSON text of a plain object, refusing what JSON.stringify would mangle or choke on.
 *
 * @example
 * jsonText({ a: [1, 'b'] }, 'payload'); // '{"a":[1,"b"]}'
 */
export function jsonText(value: object, name: string): string {
  checkDepth(value, name);
  try {
    return JSON.stringify(value);
  } catch (err) {
    const why = err instanceof Error && /circular/i.test(err.message) ? 'value is circular' : `cannot be written as JSON (${err instanceof Error ? err.message : String(err)})`;
    throw new QueryParamError(name, why);
  }
}

function describe(value: object): string {
  const ctor = (value as { constructor?: { name?: unknown } }).constructor;
  return typeof ctor?.name === 'string' && ctor.name !== '' ? `of class ${ctor.name}` : 'of an unknown kind';
}

/**
 * When a comment starts at `i` of `sql`, the index just past it (its line's end for `--`;
 * the matching `*\/` for `/*`, nested ones counted, as ClickHouse reads them; with `all`,
 * also the line comments `//`, `# ` and `#!`); -1 when none starts there. An unclosed
 * comment runs to the end. Placeholders are looked for without `all`: a statement's inline
 * data (`INSERT ... FORMAT TSV` rows, a `$$` heredoc) often holds a URL's `//`.
 *
 * @example
 * commentEnd('SELECT 1 /* a /* b *\/ c *\/', 9); // 26: the whole nested comment
 */
export function commentEnd(sql: string, i: number, all = false): number {
  const ch = sql[i];
  const next = sql[i + 1];
  if ((ch === '-' && next === '-') || (all && ((ch === '/' && next === '/') || (ch === '#' && (next === ' ' || next === '!'))))) {
    const end = sql.indexOf('\n', i);
    return end < 0 ? sql.length : end + 1;
  }
  if (ch !== '/' || next !== '*') return -1;
  let depth = 0;
  for (let j = i; j < sql.length - 1; j++) {
    if (sql[j] === '/' && sql[j + 1] === '*') {
      depth++;
      j++;
    } else if (sql[j] === '*' && sql[j + 1] === '/') {
      j++;
      if (--depth === 0) return j + 1;
    }
  }
  return sql.length;
}

function compile(text: string): Template {
  const cached = templates.get(text);
  if (cached) return cached;
  // The parts are slices of the text: of a copy when kept, so they do not keep alive a
  // larger string the caller's text may be a slice of.
  const kept = templates.accepts(text);
  const sql = kept ? ownCopy(text) : text;
  const parts: string[] = [];
  const names: string[] = [];
  const typed: TypedPlaceholder[] = [];
  let start = 0;
  let i = 0;
  const n = sql.length;
  while (i < n) {
    const ch = sql[i];
    if (ch === "'" || ch === '"' || ch === '`') {
      i = skipQuoted(sql, i, ch);
    } else if (ch === '-' || ch === '/') {
      const end = commentEnd(sql, i);
      i = end < 0 ? i + 1 : end;
    } else if (ch === '{' && IDENT_START.test(sql[i + 1] ?? '')) {
      const name = IDENT.exec(sql.slice(i + 1, i + 130))?.[0] ?? '';
      if (sql[i + 1 + name.length] === '}') {
        parts.push(sql.slice(start, i));
        names.push(name);
        i += name.length + 2;
        start = i;
      } else {
        const end = typedEnd(sql, i + 1 + name.length);
        if (end > 0) {
          typed.push({ name, type: sql.slice(sql.indexOf(':', i) + 1, end - 1).trim() });
          i = end;
        } else i += 1;
      }
    } else {
      i += 1;
    }
  }
  parts.push(sql.slice(start));
  const template: Template = names.length === 0 && typed.length === 0 && kept
    ? { parts, names, typed: NONE, plain: { sql, typed: NONE } }
    : { parts, names, typed };
  if (kept) templates.set(sql, template);
  return template;
}

/**
 * For `{name` ending at `at`: the index just past the `}` of a typed placeholder
 * `{name:Type}` (spaces allowed around the colon; the type may hold parentheses and quoted
 * text), or -1 when the text there is no typed placeholder.
 */
function typedEnd(sql: string, at: number): number {
  let i = at;
  while (sql[i] === ' ' || sql[i] === '\t' || sql[i] === '\n' || sql[i] === '\r') i++;
  if (sql[i] !== ':') return -1;
  const typeStart = i + 1;
  let depth = 0;
  // A type is short: a lone `{x:` in a long text is not followed to its end.
  const limit = Math.min(sql.length, typeStart + 4_096);
  for (i = typeStart; i < limit; i++) {
    const ch = sql[i];
    if (ch === "'" || ch === '"' || ch === '`') i = skipQuoted(sql, i, ch) - 1;
    else if (ch === '(') depth++;
    else if (ch === ')') depth--;
    else if (ch === '}' && depth === 0) return sql.slice(typeStart, i).trim() === '' ? -1 : i + 1;
    else if (ch === '{' || ch === ';' || depth < 0) return -1;
  }
  return -1;
}

/**
 * Index just past the closing quote of the quoted text opening at `open`; backslash escapes
 * and doubled quotes stay inside.
 *
 * @example
 * skipQuoted("'it''s' AS x", 0, "'"); // 7
 */
export function skipQuoted(sql: string, open: number, quote: string): number {
  let i = open + 1;
  while (i < sql.length) {
    const ch = sql[i];
    if (ch === '\\') i += 2;
    else if (ch === quote) {
      if (sql[i + 1] === quote) i += 2;
      else return i + 1;
    } else i += 1;
  }
  return sql.length;
}
