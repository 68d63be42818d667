/**
 * The checks of values a user gives in more than one place (connection strings, pool and
 * connect options, per-call options): one home each, so the places cannot drift apart.
 */
import { ConfigError, MAX_RESULT_BYTES, NOT_A_ROW, QueryParamError } from './errors.js';
import type { Settings } from './types.js';

const SETTING_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * True when `name` can be a ClickHouse setting (an identifier).
 *
 * @example
 * isSettingName('max_threads'); // true
 */
export function isSettingName(name: string): boolean {
  return SETTING_NAME.test(name);
}

/**
 * The keys of a call's options (`CallOptions`).
 *
 * @example
 * CALL_OPTION_KEYS.has('timeout'); // true
 */
export const CALL_OPTION_KEYS: ReadonlySet<string> = new Set(['timeout', 'settings', 'signal', 'queryId', 'int64', 'maxResultBytes', 'asyncInsert', 'deduplicationToken', 'onProgress']);

/**
 * The longest wait a timer takes, in milliseconds (2^31 − 1, about 24.8 days): Node runs a
 * longer one after 1 ms, so every timeout option is refused past it.
 *
 * @example
 * checkTimeout(MAX_TIMER_MS, 'options.timeout'); // fine
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Validates a timeout in milliseconds (when given): a positive number up to `MAX_TIMER_MS`.
 *
 * @example
 * checkTimeout(1_000, 'options.timeout');
 */
export function checkTimeout(value: unknown, where: string): void {
  if (value === undefined) return;
  if (typeof value !== 'number' || !(value > 0 && value <= MAX_TIMER_MS)) {
    throw new ConfigError(`${where}: expected a positive number of milliseconds up to ${MAX_TIMER_MS} (about 24.8 days), got ${shown(value)}`);
  }
}

/**
 * A value as an error message shows it: text quoted (so `"5"` is not read as 5), anything
 * else by its kind, never by a conversion that could throw (`Object.create(null)`).
 *
 * @example
 * shown('5'); // '"5"'
 * shown([1]); // 'an array'
 */
export function shown(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value);
  if (typeof value === 'function') return 'a function';
  if (typeof value === 'symbol') return 'a symbol';
  if (Array.isArray(value)) return 'an array';
  if (value === null) return 'null';
  if (typeof value === 'object') return 'an object';
  return String(value);
}

/**
 * Validates an `int64` option (when given), naming where it came from in a `ConfigError`.
 *
 * @example
 * checkInt64('bigint', 'options.int64');
 */
export function checkInt64(int64: unknown, where: string): void {
  if (int64 !== undefined && int64 !== 'auto' && int64 !== 'bigint' && int64 !== 'string') {
    throw new ConfigError(`${where}: expected 'auto', 'bigint' or 'string', got ${shown(int64)}`);
  }
}

/**
 * The `maxResultBytes` of a pool or connection that does not set one: 256 MiB, half the
 * longest string, so a result and the rows decoded from it fit a default Node heap.
 *
 * @example
 * connect(url, { maxResultBytes: DEFAULT_MAX_RESULT_BYTES * 2 });
 */
export const DEFAULT_MAX_RESULT_BYTES = 256 * 1024 * 1024;

/**
 * Validates a `maxResultBytes` option (when given): an integer from 1 to `MAX_RESULT_BYTES`.
 *
 * @example
 * checkMaxResultBytes(10_000_000, 'options.maxResultBytes');
 */
export function checkMaxResultBytes(value: unknown, where: string): void {
  if (value === undefined) return;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > MAX_RESULT_BYTES) {
    throw new ConfigError(`${where}: expected an integer from 1 to ${MAX_RESULT_BYTES} (the longest string), got ${shown(value)}`);
  }
}

/**
 * Keys the HTTP interface reads itself (in any letter case), refused as a connection
 * string's settings (credentials and the database have their places in the URL) and, the
 * `options` ones, in every `settings` option too: credentials there fail every call, another
 * database would be written with the connection's database's table types, a `query` is glued
 * before the SQL, a `query_id` fights the client's own.
 *
 * @example
 * isReservedKey('Database'); // true
 * isReservedKey('quota_key', 'options'); // false: a call may set its quota key
 */
export function isReservedKey(name: string, where: 'url' | 'options' = 'url'): boolean {
  return (where === 'url' ? RESERVED_IN_URL : RESERVED_IN_OPTIONS).has(name.toLowerCase());
}
// `database` too: the client describes a table in the connection's database, not in one a setting switches to.
const RESERVED_IN_OPTIONS = new Set(['user', 'password', 'database', 'query', 'query_id']);
const RESERVED_IN_URL = new Set([...RESERVED_IN_OPTIONS, 'default_format', 'quota_key']);

/**
 * Validates ClickHouse settings: identifier names, none of the credentials, query or query
 * id the HTTP interface reads itself (`isReservedKey`), string/number/boolean values.
 *
 * @example
 * checkSettings({ max_threads: 2 }, 'settings');
 */
export function checkSettings(settings: Settings, where: string): Settings {
  if (settings === null || typeof settings !== 'object') throw new ConfigError(`${where}: expected an object of ClickHouse settings`);
  for (const [name, value] of Object.entries(settings)) {
    if (!isSettingName(name)) throw new ConfigError(`${where}.${name}: not a setting name`);
    if (isReservedKey(name, 'options')) throw new ConfigError(`${where}.${name}: not allowed as a setting (the user, password and database go in the connection string, the SQL in the call, a query id in options.queryId)`);
    const kind = typeof value;
    if (kind !== 'string' && kind !== 'boolean' && !(kind === 'number' && Number.isFinite(value))) {
      throw new ConfigError(`${where}.${name}: expected a string, finite number or boolean`);
    }
  }
  return settings;
}

/**
 * True for an object literal (or `Object.create(null)`): what a row, a Map column's value
 * or a named Tuple may be given as; a class instance, an array or a Date is not one.
 *
 * @example
 * isPlainObject({ a: 1 }); // true
 * isPlainObject(new Date()); // false
 */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object') return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * True for what can be a row: a plain object, or an instance of a class whose fields are its
 * columns (a driver's row packet, an ORM entity, an object of another realm), read by its
 * own enumerable keys; not a `Date`, `Map`, `Set`, `Error`, array, typed array or the like,
 * whose keys are no columns.
 *
 * @example
 * isRowObject(new (class { id = 1 })()); // true
 * isRowObject(new Map([['id', 1]]));     // false
 */
export function isRowObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object') return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null || Object.prototype.toString.call(value) === '[object Object]';
}

/**
 * Refuses a row that has no field of its own and is no plain object: a class instance whose
 * values are getters, or an object whose fields are its prototype's. Only a row's own
 * enumerable fields are read, so it would be stored as a row of column DEFAULTs, its values
 * lost. `{}` (or fields all `undefined`) asks for the DEFAULTs on purpose and passes.
 *
 * @example
 * checkOwnFields(new (class Entity { get id() { return 1; } })()); // throws QueryParamError: ...: an Entity with no field of its own ...
 */
export function checkOwnFields(row: object): void {
  if (isPlainObject(row) || Object.keys(row).length > 0) return;
  const maker: unknown = Object.getPrototypeOf(row)?.constructor;
  const kind = typeof maker === 'function' && maker !== Object && maker.name !== '' ? `${/^[aeiou]/i.test(maker.name) ? 'an' : 'a'} ${maker.name}` : 'an object';
  throw new QueryParamError('row', `${NOT_A_ROW}: ${kind} with no field of its own (getters and inherited fields are not read)`);
}

/**
 * Composites one value may be nested in: a deeper one is refused with a `QueryParamError`
 * before the encoders' recursion runs out of stack (at about 2,000 levels of objects).
 * ClickHouse's own JSON input stops at 1,000 (`input_format_json_max_depth`).
 */
export const MAX_NESTING = 512;

/**
 * Refuses a composite `value` that contains itself or lies deeper than `MAX_NESTING`:
 * `seen` holds the composites being written around it.
 *
 * @example
 * checkNesting(list, 'xs[0]', [outer]); // throws when list is outer
 */
export function checkNesting(value: unknown, name: string, seen: readonly unknown[]): void {
  if (seen.length >= MAX_NESTING) {
    // The path is hundreds of steps long: its two ends say where.
    const where = name.length > 120 ? `${name.slice(0, 60)}...${name.slice(-40)}` : name;
    throw new QueryParamError(where, `value is nested deeper than ${MAX_NESTING} levels`);
  }
  if (seen.includes(value)) throw new QueryParamError(name, 'value is circular');
}

/**
 * Refuses a value whose arrays and objects lie deeper than `MAX_NESTING`, or that contains
 * itself, found without recursion: for a value that `JSON.stringify` is about to write
 * (which would overflow the stack instead).
 *
 * @example
 * checkDepth({ a: [[1]] }, 'payload'); // fine
 */
export function checkDepth(value: unknown, name: string): void {
  if (value === null || typeof value !== 'object' || typeof (value as { toJSON?: unknown }).toJSON === 'function') return;
  // Depth first, with the composites on the current path (a repeat there is a cycle).
  const path = new Set<object>();
  const stack: { item: object; depth: number; leave: boolean }[] = [{ item: value, depth: 0, leave: false }];
  for (let top = stack.pop(); top !== undefined; top = stack.pop()) {
    if (top.leave) {
      path.delete(top.item);
      continue;
    }
    if (path.has(top.item)) throw new QueryParamError(name, 'value is circular');
    if (top.depth >= MAX_NESTING) throw new QueryParamError(name, `value is nested deeper than ${MAX_NESTING} levels`);
    path.add(top.item);
    stack.push({ item: top.item, depth: top.depth, leave: true });
    for (const child of Object.values(top.item)) {
      // JSON.stringify writes what a toJSON gives (a Date's text, a tree without its back
      // links): such a value is left to it, and an overflow there is caught around it.
      if (child === null || typeof child !== 'object' || typeof (child as { toJSON?: unknown }).toJSON === 'function') continue;
      stack.push({ item: child as object, depth: top.depth + 1, leave: false });
    }
  }
}

/**
 * Writes a composite value (array, Map, Tuple, object) with `write`, refusing one that
 * contains itself or lies too deep (`checkNesting`): `seen` holds the composites being
 * written around it.
 *
 * @example
 * descend(list, 'xs', [], () => `[${list.map(String).join(',')}]`);
 */
export function descend<T>(value: unknown, name: string, seen: unknown[], write: () => T): T {
  checkNesting(value, name, seen);
  seen.push(value);
  try {
    return write();
  } finally {
    seen.pop();
  }
}

/**
 * Checks a `compression` option: an object with optional boolean `request` and `response`.
 *
 * @example
 * checkCompression({ response: true }, 'connect option compression'); // fine
 * checkCompression({ gzip: true }, 'compression'); // throws ConfigError naming gzip
 */
export function checkCompression(value: unknown, where: string): void {
  if (value === undefined) return;
  if (!isPlainObject(value)) throw new ConfigError(`${where}: expected { request?: boolean, response?: boolean }`);
  for (const [key, v] of Object.entries(value)) {
    if (key !== 'request' && key !== 'response') throw new ConfigError(`${where}.${key}: unknown (expected request or response)`);
    if (typeof v !== 'boolean') throw new ConfigError(`${where}.${key}: expected true or false, got ${typeof v}`);
  }
}
