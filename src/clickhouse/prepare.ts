import { columnsOf, statementParts } from './encode-bytes.js';
import { checkColumnName, checkRow } from './encode.js';
import { CALL_OPTION_KEYS, checkInt64, checkMaxResultBytes, checkSettings, checkTimeout, isRowObject, shown } from './checks.js';
import { ColonnadeError, ConfigError, NOT_A_ROW, QueryParamError, rowRefused } from './errors.js';
import { checkParamSizes } from './param-layout.js';
import { type RenderedQuery, commentEnd, isWellFormed, quoteIdentifier, renderTemplate, skipQuoted } from './params.js';
import { typedParamValues } from './typed-params.js';
import type { CallOptions, Command, InsertGroup, PreparedRequest, QueryParams, Row, RowSource } from './types.js';

/**
 * The format `select` asks for: text, so every digit survives, with the column types
 * (`perform` asks a server that has it for `RowBinaryWithNamesAndTypes` instead).
 *
 * @example
 * prepare({ type: 'select', sql: 'SELECT 1' }).body.endsWith(`FORMAT ${SELECT_FORMAT}`); // true
 */
export const SELECT_FORMAT = 'TabSeparatedWithNamesAndTypes';

const READ_ONLY_START = /^(?:SELECT|SHOW|DESCRIBE|DESC|EXISTS|WITH|EXPLAIN)\b/i;

/** True when `sql`'s first word, after blanks and comments, starts a statement that only reads. */
function readsOnly(sql: string): boolean {
  let i = 0;
  for (;;) {
    while (i < sql.length && /\s/.test(sql[i] as string)) i++;
    const end = commentEnd(sql, i, true);
    if (end < 0) return READ_ONLY_START.test(sql.slice(i, i + 9));
    i = end;
  }
}
const ANY_FORMAT = /\bFORMAT\s/i;
// The settings the binary reader depends on (decode-binary.ts's BINARY_SETTINGS), set in a statement's SETTINGS.
const OWN_SETTING = /\bSETTINGS\s[\s\S]*?\b(output_format_binary_(?:write_json_as_string|encode_types_in_binary_format))\s*=/i;
// Read after the SQL's trailing blanks and semicolons are cut (`trimEnd`).
// A FORMAT clause at the end of a statement's code, perhaps followed by its SETTINGS.
// Not a column named format before a keyword (`ORDER BY format DESC`).
const TRAILING_FORMAT = /\bFORMAT\s+(?!(?:ASC|DESC|NULLS|COLLATE|WITH|LIMIT|OFFSET|SETTINGS|FROM|AS|AND|OR|BY|FILL|UNION|EXCEPT|INTERSECT)\b)(?:`[^`]*`|"[^"]*"|[A-Za-z_][A-Za-z0-9_]*)(?:\s+SETTINGS\s[\s\S]*)?$/i;

/** `sql`'s code: comments made blanks, a quoted text's content dropped (`''`), quoted names kept, no blank or `;` at its end. */
function codeOf(sql: string): string {
  let out = '';
  for (let i = 0; i < sql.length;) {
    const ch = sql[i] as string;
    const comment = ch === '-' || ch === '/' || ch === '#' ? commentEnd(sql, i, true) : -1;
    if (comment >= 0) {
      i = comment;
      out += ' ';
    } else if (ch === "'" || ch === '`' || ch === '"') {
      const end = skipQuoted(sql, i, ch);
      out += ch === "'" ? "''" : sql.slice(i, end);
      i = end;
    } else {
      out += ch;
      i++;
    }
  }
  return trimEnd(out);
}

// The SQL without its trailing blanks and semicolons, cut by a loop from the end: the regex
// `[\s;]+$` would try again from every position of a long blank run inside the SQL.
function trimEnd(sql: string): string {
  let end = sql.length;
  while (end > 0 && BLANK_OR_SEMICOLON.test(sql[end - 1] as string)) end--;
  return sql.slice(0, end);
}
const BLANK_OR_SEMICOLON = /^[\s;]$/;

/**
 * Checks and renders a command without any I/O. Bad parameters, values or options throw
 * here (`QueryParamError`, `ConfigError`), so nothing reaches a server. `select` gets
 * `FORMAT TabSeparatedWithNamesAndTypes` appended; `insert_to_table` becomes
 * `INSERT INTO <quoted table> FORMAT JSONEachRow` followed by one JSON line per row.
 * The same command always gives the same body.
 *
 * @example
 * prepare({ type: 'insert_to_table', table: 'users', rows: [{ id: 1, name: 'Ann' }] }).body;
 * // 'INSERT INTO `users` (`id`, `name`) FORMAT JSONEachRow\n{"id":1,"name":"Ann"}\n'
 */
export function prepare<C extends Command>(command: C): PreparedRequest<C['type']> {
  if (command === null || typeof command !== 'object') throw new QueryParamError('command', `expected an object like { type: 'select', sql }, got ${shown(command)}`);
  const options = checkCallOptions(command.options);
  switch (command.type) {
    case 'select': case 'stream': {
      const rendered = renderTemplate(checkSql(command.sql), command.params);
      const sql = trimEnd(rendered.sql);
      // The SQL's code is read only when its text names what the checks look for.
      const code = ANY_FORMAT.test(sql) || sql.includes('output_format_binary_') ? codeOf(sql) : '';
      if (TRAILING_FORMAT.test(code)) {
        throw new QueryParamError('sql', `${command.type} sets the output format itself; use query() for another FORMAT`);
      }
      const own = OWN_SETTING.exec(code);
      if (own) throw new QueryParamError('sql', `${command.type} sets ${own[1]} itself (the result is read as RowBinary on 22.1+); leave it out of the SETTINGS`);
      return withTyped({ type: command.type, body: `${sql}\nFORMAT ${SELECT_FORMAT}`, options, readOnly: true }, rendered, command.params);
    }
    case 'query': {
      const rendered = renderTemplate(checkSql(command.sql), command.params);
      return withTyped({ type: command.type, body: rendered.sql, options, readOnly: readsOnly(rendered.sql) }, rendered, command.params);
    }
    case 'insert': {
      const rendered = renderTemplate(checkSql(command.sql), command.params);
      return withTyped({ type: command.type, body: rendered.sql, options, readOnly: false }, rendered, command.params);
    }
    case 'insert_to_table': {
      const table = quoteIdentifier(command.table);
      if (isRowSource(command.rows)) {
        return { type: 'insert_to_table', body: '', options, readOnly: false, insert: { table, groups: [], source: command.rows } } as PreparedRequest<C['type']>;
      }
      const rows: readonly Row[] = Array.isArray(command.rows) ? command.rows : [command.rows as Row];
      return insertRequest(table, rows, undefined, options);
    }
    default:
      throw new QueryParamError('type', `unknown command type ${JSON.stringify((command as { type?: unknown }).type)}`);
  }
}

/**
 * True for rows to be read as they are sent: an iterable or async iterable that is not an
 * array nor a plain object (a generator, an object-mode `Readable`, a `Set`).
 *
 * @example
 * isRowSource((function* () { yield { id: 1 }; })()); // true
 * isRowSource([{ id: 1 }]);                            // false
 */
export function isRowSource(rows: unknown): rows is RowSource {
  if (rows === null || typeof rows !== 'object' || Array.isArray(rows)) return false;
  const proto: unknown = Object.getPrototypeOf(rows);
  if (proto === Object.prototype || proto === null) return false;
  return typeof (rows as { [Symbol.iterator]?: unknown })[Symbol.iterator] === 'function'
    || typeof (rows as { [Symbol.asyncIterator]?: unknown })[Symbol.asyncIterator] === 'function';
}

// Most queries have no typed placeholder: they are returned as they are, with no other work.
function withTyped<K extends 'select' | 'stream' | 'query' | 'insert'>(request: PreparedRequest<K>, rendered: RenderedQuery, params: QueryParams | undefined): PreparedRequest<K> {
  if (rendered.typed.length === 0) return request;
  const typedParams = typedParamValues(rendered.typed, params);
  checkParamSizes(typedParams);
  return { ...request, typedParams };
}

/**
 * The `insert_to_table` request for rows of an already quoted table: one statement per set
 * of given columns (see `groupRows`). `checked`: the caller checked the rows with `checkRow`
 * already (the async writer's copies).
 *
 * @example
 * insertRequest('`logs`', [{ a: 1 }, { a: 2, b: 'x' }]).body;
 * // 'INSERT INTO `logs` (`a`) FORMAT JSONEachRow\n{"a":1}\nINSERT INTO `logs` (`a`, `b`) FORMAT JSONEachRow\n{"a":2,"b":"x"}\n'
 */
export function insertRequest(quotedTable: string, rows: readonly Row[], checked = false, options: CallOptions = {}): PreparedRequest<'insert_to_table'> {
  // The rows are checked whole now (a bad one is refused before anything is sent), unless
  // the caller did, and encoded later: as they are sent, or when the body is read.
  if (!checked) checkRows(rows);
  const groups = uniformGroup(quotedTable, rows) ?? groupRows(rows).map(({ columns, rows: members }) => insertGroup(quotedTable, columns, members));
  let text: string | undefined;
  return {
    type: 'insert_to_table',
    // Text only when somebody reads it: what is sent is each group's bytes.
    get body(): string {
      return (text ??= groups.length === 1 ? (groups[0] as InsertGroup).body : groups.map((g) => g.body).join(''));
    },
    options,
    readOnly: false,
    insert: { table: quotedTable, groups, rows },
  };
}

/**
 * Checks rows as `checkRow` does, before any is sent. Of several rows, a refused one is
 * named by its place (`rows[2].name`); a single row by its column alone.
 *
 * @example
 * checkRows([{ a: 1 }, { a: Symbol('x') }]); // throws QueryParamError: parameter rows[1].a: a symbol cannot be inserted
 */
export function checkRows(rows: readonly Row[]): void {
  for (let i = 0; i < rows.length; i++) {
    try {
      checkRow(rows[i] as Row);
    } catch (err) {
      // A single row's refusal names its column alone; a getter's own error is the row's.
      throw rows.length === 1 && err instanceof ColonnadeError ? err : rowRefused(err, i);
    }
  }
}

/**
 * The same request with other options. Unlike a spread, it keeps an `insert_to_table`
 * body as it is (bytes, its text made only if read) instead of reading it.
 *
 * @example
 * const traced = withOptions(request, { ...request.options, queryId: 'q-1' });
 */
export function withOptions<K extends PreparedRequest['type']>(request: PreparedRequest<K>, options: CallOptions): PreparedRequest<K> {
  const copy = Object.defineProperties({}, Object.getOwnPropertyDescriptors(request)) as PreparedRequest<K>;
  Object.defineProperty(copy, 'options', { value: options, enumerable: true, writable: true, configurable: true });
  return copy;
}

/**
 * One statement of an insert: `INSERT INTO t (columns) FORMAT JSONEachRow` and one line per
 * row, rows that give exactly the columns of the list (checked already). Encoded when
 * `chunks` (or `body`) is first read, by the byte writer; `perform` may instead encode a big
 * group as it sends it.
 */
function insertGroup(quotedTable: string, columns: string, rows: readonly Row[]): InsertGroup {
  let chunks: Buffer[] | undefined;
  let text: string | undefined;
  return {
    columns,
    rows,
    get chunks(): readonly Buffer[] {
      return (chunks ??= [...statementParts(insertHead(quotedTable, columns), rows)].flatMap((part) => part.chunks));
    },
    get body(): string {
      return (text ??= Buffer.concat(this.chunks).toString('utf8'));
    },
  };
}

// The common case of a batch whose rows all give the same columns (the async writer's
// one-row calls): one group, no per-row signature.
function uniformGroup(quotedTable: string, rows: readonly Row[]): InsertGroup[] | undefined {
  const first = rows[0];
  if (first === undefined || first === null || typeof first !== 'object' || Array.isArray(first)) return undefined;
  const keys = columnsOf(first);
  if (keys.length === 0 || !rows.every((row) => sameColumns(row, keys))) return undefined;
  return [insertGroup(quotedTable, columnList(keys), rows)];
}

/**
 * The quoted column list an `insert_to_table` statement names for each row of a run (its
 * keys with a value other than `undefined`, in order): a row that gives the same columns
 * as the one before gets the same list without quoting them again.
 *
 * @example
 * const columns = new ColumnListReader();
 * columns.of({ id: 1 }); // '(`id`)'
 */
export class ColumnListReader {
  #keys: string[] = [];
  #list: string | undefined;

  /** The keys of the row read last, in order (what its list quotes). */
  get keys(): readonly string[] {
    return this.#keys;
  }

  /** The row's column list, `(\`id\`, \`name\`)`. */
  of(row: Row): string {
    if (this.#list !== undefined && sameColumns(row, this.#keys)) return this.#list;
    this.#keys = columnsOf(row);
    this.#list = columnList(this.#keys);
    return this.#list;
  }
}

function sameColumns(row: Row, keys: readonly string[]): boolean {
  if (!isRowObject(row)) return false;
  let i = 0;
  for (const key in row) {
    if (!Object.prototype.hasOwnProperty.call(row, key) || row[key] === undefined) continue;
    if (key !== keys[i++]) return false;
  }
  return i === keys.length;
}

/**
 * The statement line of an `insert_to_table` body for an already quoted table name and
 * column list, in `format` (JSONEachRow unless said).
 *
 * @example
 * insertHead('`users`', '(`id`)'); // 'INSERT INTO `users` (`id`) FORMAT JSONEachRow\n'
 */
export function insertHead(quotedTable: string, columns: string, format = 'JSONEachRow'): string {
  return `INSERT INTO ${quotedTable}${columns === '' ? '' : ` ${columns}`} FORMAT ${format}\n`;
}

/**
 * Splits rows into runs that give the same columns (keys with a value other than
 * `undefined`, in the same order), keeping the rows' order within each group.
 *
 * @example
 * groupRows([{ a: 1 }, { a: 2, b: undefined }, { a: 3, b: 4 }]).map((g) => g.columns); // ['(`a`)', '(`a`, `b`)']
 */
function groupRows(rows: readonly Row[]): { columns: string; rows: Row[] }[] {
  const groups = new Map<string, { columns: string; rows: Row[] }>();
  for (const row of rows) {
    if (!isRowObject(row)) {
      throw new QueryParamError('row', NOT_A_ROW);
    }
    let signature = '';
    for (const key in row) {
      if (Object.prototype.hasOwnProperty.call(row, key) && row[key] !== undefined) signature += `${key}\u0000`;
    }
    let group = groups.get(signature);
    if (!group) {
      // A row that gives no column (`{}`) is a row of the server's defaults, as in Pillar.
      const names = signature === '' ? [] : signature.slice(0, -1).split('\u0000');
      group = { columns: columnList(names), rows: [] };
      groups.set(signature, group);
    }
    group.rows.push(row);
  }
  return [...groups.values()];
}

/**
 * The column list of every key the rows give (with a value other than `undefined`), in the
 * order they first appear: the statement that carries rows of several column sets at once.
 *
 * @example
 * columnUnion([{ a: 1 }, { b: 2, a: 3 }]); // '(`a`, `b`)'
 */
export function columnUnion(rows: readonly Row[]): string {
  const names = new Set<string>();
  for (const row of rows) {
    for (const key in row) {
      if (Object.prototype.hasOwnProperty.call(row, key) && row[key] !== undefined) names.add(key);
    }
  }
  return columnList([...names]);
}

/**
 * A statement's column list, each name quoted.
 *
 * @example
 * columnList(['a', 'b']); // '(`a`, `b`)'
 */
export function columnList(names: readonly string[]): string {
  // No column at all: no list (`()` is a syntax error); the statement takes every column's default.
  return names.length === 0 ? '' : `(${names.map(quoteColumn).join(', ')})`;
}

/**
 * Quotes a column name with backticks (a dot stays part of the name, as in `nest.a`).
 *
 * @example
 * quoteColumn('nest.a'); // '`nest.a`'
 */
function quoteColumn(name: string): string {
  checkColumnName(name);
  return `\`${name.replace(/[\\`]/g, '\\$&')}\``;
}

/**
 * Validates per-call options, naming the offending key in a `ConfigError`.
 *
 * @example
 * checkCallOptions({ timeout: 1_000, settings: { max_threads: 2 } });
 */
export function checkCallOptions(options: CallOptions | undefined): CallOptions {
  if (options === undefined) return {};
  if (options === null || typeof options !== 'object') throw new ConfigError('options: expected an object');
  for (const key of Object.keys(options)) {
    if (!CALL_OPTION_KEYS.has(key)) throw new ConfigError(`options.${key}: unknown option (expected one of ${[...CALL_OPTION_KEYS].join(', ')})`);
  }
  const { timeout, settings, signal, queryId, int64 } = options;
  checkTimeout(timeout, 'options.timeout');
  if (settings !== undefined) checkSettings(settings, 'options.settings');
  if (signal !== undefined && !(signal instanceof AbortSignal)) throw new ConfigError('options.signal: expected an AbortSignal');
  if (queryId !== undefined && (typeof queryId !== 'string' || queryId === '' || queryId.length > 256)) {
    throw new ConfigError('options.queryId: expected a non-empty string of at most 256 characters');
  }
  checkInt64(int64, 'options.int64');
  checkMaxResultBytes(options.maxResultBytes, 'options.maxResultBytes');
  if (options.asyncInsert !== undefined && typeof options.asyncInsert !== 'boolean') {
    throw new ConfigError(`options.asyncInsert: expected a boolean, got ${shown(options.asyncInsert)}`);
  }
  if (options.onProgress !== undefined && typeof options.onProgress !== 'function') {
    throw new ConfigError(`options.onProgress: expected a function, got ${typeof options.onProgress}`);
  }
  const token = options.deduplicationToken;
  if (token !== undefined && (typeof token !== 'string' || token === '' || token.length > 256 || !isWellFormed(token))) {
    throw new ConfigError('options.deduplicationToken: expected a non-empty string of at most 256 characters');
  }
  return options;
}

function checkSql(sql: unknown): string {
  if (typeof sql !== 'string' || sql.trim() === '') throw new QueryParamError('sql', 'expected a non-empty SQL string');
  return sql;
}
