/**
 * What `insert_to_table` learns of a table (`DESCRIBE TABLE`, cached per server and table):
 * the columns whose values need a form of their own, and its flattened `Nested` columns.
 */
import { BoundedCache } from './bounded-cache.js';
import { isPlainObject } from './checks.js';
import { type ColumnType, parseColumnType } from './column-type.js';
import { unescapeTsv } from './text-escape.js';
import { type ColumnEncodings } from './encode.js';
import { checkRows } from './prepare.js';
import { type RangeCheck, rangeCheck, refuseOutOfRange } from './value-ranges.js';
import { ClickHouseError, QueryParamError, rowRefused } from './errors.js';
import { withinOwn } from './signals.js';
import { withAllRefused } from './refusals.js';
import { columnsOf } from './encode-bytes.js';
import type { ColumnTypes } from './encode-binary.js';
import { send } from './http.js';
import { queryPath } from './query-path.js';
import { checkResponse } from './response.js';
import type { InsertGroup, Row, ServerConfig, Transport } from './types.js';

const SCHEMA_TTL_MS = 30_000;
// Per server origin, database and table: bounded like every cache here.
// `value` once `columns` has resolved: a caller that must not wait reads it at once.
const schemas = new BoundedCache<{ readonly until: number; readonly columns: Promise<TableSchema>; value?: TableSchema }>(
  { maxEntries: 1_024, maxKeyLength: 4_096, maxChars: 1024 * 1024 },
);

/**
 * What `insert_to_table` learns of a table with `DESCRIBE TABLE`: the columns whose
 * values need a form of their own, and the names `n` of flattened `Nested` columns (the
 * table has `n.a`, `n.b` ... and no `n`).
 *
 * @example
 * const { encodings, nested } = await tableSchemaOf(transport, server, '`t`', () => 5_000);
 */
export interface TableSchema {
  readonly encodings: ColumnEncodings;
  readonly nested: ReadonlySet<string>;
  /** Every column's type, for a binary insert's header. */
  readonly types: ColumnTypes;
  /**
   * Only for a table with EPHEMERAL columns (which a statement naming no columns skips): the
   * columns an insert may name, all but MATERIALIZED and ALIAS ones.
   */
  readonly writable?: readonly string[];
  /** MATERIALIZED and ALIAS columns: computed by the server, never given (absent: none known). */
  readonly computed?: ReadonlySet<string>;
  /** Columns holding integers or (written without their type, not in `encodings`) DateTimes, with their checks: values outside their range are refused (`checkRanges`). */
  readonly ranged?: readonly (readonly [string, RangeCheck])[];
}

/**
 * Numbers, bigints and nulls are written the same whatever the column: only other values
 * may need the table's types. (Rows of numbers alone are not described, so that an insert
 * of them needs no question first: their ranges are then the server's to check.)
 *
 * @example
 * mayNeedSchema([{ id: 1 }]); // false
 * mayNeedSchema([{ at: new Date() }]); // true
 */
export function mayNeedSchema(rows: readonly Row[]): boolean {
  for (const row of rows) {
    for (const key in row) {
      const v = row[key];
      if (typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'object' && v !== null)) return true;
    }
  }
  return false;
}

/**
 * True when `row` gives a flattened `Nested` column as one object (`n: { a: [...] }`).
 *
 * @example
 * nestedKey({ n: { a: [1] } }, new Set(['n'])); // true
 */
export function nestedKey(row: Row, nested: ReadonlySet<string>): boolean {
  for (const key in row) if (nested.has(key) && isPlainObject(row[key])) return true;
  return false;
}

/**
 * `row` with each `Nested` object written as its columns (`n.a`, `n.b`).
 *
 * @example
 * flattenNested({ n: { a: [1], b: ['x'] } }, new Set(['n'])); // { 'n.a': [1], 'n.b': ['x'] }
 */
export function flattenNested(row: Row, nested: ReadonlySet<string>): Row {
  if (!nestedKey(row, nested)) return row;
  const out: Row = {};
  for (const key in row) {
    if (!Object.prototype.hasOwnProperty.call(row, key)) continue;
    const value = row[key];
    if (nested.has(key) && isPlainObject(value)) {
      for (const sub in value) if (Object.prototype.hasOwnProperty.call(value, sub)) out[`${key}.${sub}`] = value[sub];
    } else out[key] = value;
  }
  return out;
}

/**
 * True when a row (flattened, see `flattenNested`) gives some but not all of a `Nested`
 * column's fields (`n.a` without `n.b`): in one statement that names them all, the field it leaves out would be
 * `[]`, and the server refuses arrays of different sizes.
 *
 * @example
 * givesPartOfNested([{ 'n.a': [1] }], schema); // true when the table has n.a and n.b
 */
export function givesPartOfNested(rows: readonly Row[], schema: TableSchema): boolean {
  const partial = partOfNestedTest(schema);
  return rows.some(partial);
}

/**
 * `givesPartOfNested` for one row at a time, the table's fields counted once.
 *
 * @example
 * const partial = partOfNestedTest(schema);
 * partial({ id: 1, 'n.a': [1] }); // true when the table has n.a and n.b
 */
export function partOfNestedTest(schema: TableSchema): (row: Row) => boolean {
  if (schema.nested.size === 0) return () => false;
  const fields = new Map<string, number>();
  for (const name of schema.types.keys()) {
    const nested = nestedOf(name, schema.nested);
    if (nested !== undefined) fields.set(nested, (fields.get(nested) ?? 0) + 1);
  }
  return (row) => {
    let given: Map<string, number> | undefined;
    for (const key in row) {
      if (!Object.prototype.hasOwnProperty.call(row, key) || row[key] === undefined) continue;
      const nested = nestedOf(key, schema.nested);
      if (nested !== undefined) (given ??= new Map()).set(nested, (given.get(nested) ?? 0) + 1);
    }
    if (given !== undefined) for (const [nested, count] of given) if (count !== fields.get(nested)) return true;
    return false;
  };
}

/**
 * A test of whether a key names a column of `schema`, exactly or in another case (a modern
 * server matches JSON keys ignoring case); the lower-case names are made at the first miss.
 *
 * @example
 * const names = columnNames(schema);
 * names('ID'); // true when the table has `id`
 */
export function columnNames(schema: TableSchema): (key: string) => boolean {
  let lower: Set<string> | undefined;
  return (key) => schema.types.has(key) || (lower ??= new Set([...schema.types.keys()].map((name) => name.toLowerCase()))).has(key.toLowerCase());
}

/**
 * Refuses, before anything is sent, an array's row the table cannot take as given, named by
 * its place: a key that names no column of a described table, or a MATERIALIZED or ALIAS
 * column (its statement names the key: the server would refuse it, on 18.16 after storing
 * the column sets before it), a value outside its column's range (`refuseOutOfRange`,
 * unless `ranges` is false: the caller checked the rows by stricter checks). The keys are
 * checked on each group's first row (the rows of a group give the same ones).
 *
 * @example
 * refuseRows(rows, request.insert.groups, schema); // throws QueryParamError: parameter rows[2].nmae: the table has no column "nmae"
 */
export function refuseRows(rows: readonly Row[], groups: readonly InsertGroup[], schema: TableSchema, ranges = true): void {
  const { computed, types, nested } = schema;
  const refused: QueryParamError[] = [];
  let places: Map<Row, number> | undefined;
  for (const group of groups) {
    const first = group.rows[0];
    if (first === undefined) continue;
    const key = columnsOf(first).find((k) => (types.size > 0 && !types.has(k) && !nested.has(k)) || computed?.has(k) === true);
    if (key === undefined) continue;
    const err = new QueryParamError(key, computed?.has(key) === true ? `column ${JSON.stringify(key)} is MATERIALIZED or ALIAS: the server computes it, an insert cannot give it` : `the table has no column ${JSON.stringify(key)}`);
    if (rows.length === 1) throw err;
    // Every row of the group gives that key: each is refused (the async writer reports each and sends the rest once).
    places ??= new Map(rows.map((row, i) => [row, i]));
    for (const row of group.rows) refused.push(rowRefused(err, places.get(row) ?? 0) as QueryParamError);
  }
  if (refused.length > 0) throw withAllRefused(refused.sort((a, b) => (a.row ?? 0) - (b.row ?? 0)));
  if (ranges) refuseOutOfRange(rows, schema.ranged ?? []);
}

/**
 * An array's rows with their Nested columns given as objects flattened (`n: { a }` → `n.a`),
 * in the caller's order, each flattened row mapped to its caller's row in `given`; checked
 * again as flattened (a value inside such an object is read as its column's only now), a
 * refusal named by the row's place among the caller's rows.
 *
 * @example
 * const flat = flattenedRows(rows, schema, given);
 */
export function flattenedRows(rows: readonly Row[], schema: TableSchema, given: Map<Row, Row>): Row[] {
  const flat = rows.map((row) => {
    const f = flattenNested(row, schema.nested);
    if (f !== row) given.set(f, row);
    return f;
  });
  checkRows(flat);
  refuseOutOfRange(flat, schema.ranged ?? []);
  return flat;
}

/**
 * True when a key of `keys` names no column of `schema` (see `columnNames`) and no Nested
 * column: the description may be older than the column (added since).
 *
 * @example
 * lacksColumn(schema, ['id', 'added']); // true when the cached description has no `added`
 */
export function lacksColumn(schema: TableSchema, keys: Iterable<string>): boolean {
  const names = columnNames(schema);
  for (const key of keys) if (!schema.nested.has(key) && !names(key)) return true;
  return false;
}

// The Nested column a flattened field `n.a` belongs to, if any.
function nestedOf(name: string, nested: ReadonlySet<string>): string | undefined {
  const dot = name.indexOf('.');
  return dot > 0 && nested.has(name.slice(0, dot)) ? name.slice(0, dot) : undefined;
}

// Column types whose values the default JSON form writes right.
const PLAIN_TYPE = /^(?:U?Int(?:8|16|32|64|128|256)|Float(?:32|64)|BFloat16|String|FixedString|UUID|IPv4|IPv6|Enum8|Enum16|DateTime|Time|Time64|Nothing|IntervalSecond)$/;

function needsCare(type: ColumnType): boolean {
  if (PLAIN_TYPE.test(type.name)) return false;
  if (type.name === 'Array' || type.name === 'Nullable' || type.name === 'LowCardinality' || (type.name === 'Tuple' && type.args.every((a) => typeof a === 'object' && a.field === undefined))) {
    return type.args.some((a) => typeof a === 'object' && needsCare(a));
  }
  return true;
}

/**
 * Drops what is cached of a table on a server: the next insert describes it again.
 *
 * @example
 * forgetTableSchema(server, '`events`'); // after the server said the table has other types
 */
export function forgetTableSchema(server: ServerConfig, quotedTable: string): void {
  schemas.delete(schemaKey(server, quotedTable));
}

export const schemaKey = (server: ServerConfig, quotedTable: string): string => `${server.origin}/${server.database}/${quotedTable}`;

/**
 * The table's description if one is cached (or being asked for) and fresh, without asking,
 * with when it was asked for, and the description itself once it has come.
 *
 * @example
 * const cached = cachedTableSchema(server, '`events`'); // undefined: never described, or 30 s ago
 */
export function cachedTableSchema(server: ServerConfig, quotedTable: string): { readonly columns: Promise<TableSchema>; readonly asked: number; readonly value: TableSchema | undefined } | undefined {
  const cached = schemas.get(schemaKey(server, quotedTable));
  return cached && cached.until > Date.now() ? { columns: cached.columns, asked: cached.until - SCHEMA_TTL_MS, value: cached.value } : undefined;
}

/**
 * The table's schema (`DESCRIBE TABLE`), cached 30 s per server and table; a failure is not
 * cached. A description another call asked that fails on its way (that call's connection
 * ended, its signal fired), not by the server's answer, is asked again by this one.
 *
 * @example
 * const schema = await tableSchemaOf(transport, server, '`events`', () => 5_000);
 */
export function tableSchemaOf(transport: Transport, server: ServerConfig, quotedTable: string, timeout: () => number, signal?: AbortSignal): Promise<TableSchema> {
  const cached = cachedTableSchema(server, quotedTable);
  if (cached) {
    if (cached.value !== undefined) return cached.columns;
    // Another call's question, still out: this call waits for it no longer than its own time
    // and signal allow. If it fails on its way, a call still waiting asks again itself (one
    // that gave up does not: its request would be dead at birth for the others).
    let gone = false;
    const own = withinOwn(() => cached.columns.catch((err: unknown) => {
      if (err instanceof ClickHouseError || gone) throw err;
      return tableSchemaOf(transport, server, quotedTable, timeout, signal);
    }), timeout(), signal);
    own.catch(() => { gone = true; });
    return own;
  }
  const key = schemaKey(server, quotedTable);
  const now = Date.now();
  const columns = send(transport, server, {
    method: 'POST', path: queryPath(server, []), body: `DESCRIBE TABLE ${quotedTable} FORMAT TabSeparated`, timeout: timeout(),
    ...(signal ? { signal } : {}),
  }).then((res) => {
    const encodings = new Map<string, ColumnType>();
    const types = new Map<string, { type: ColumnType; text: string }>();
    const writable: string[] = [];
    const computed = new Set<string>();
    const ranged: [string, RangeCheck][] = [];
    let ephemeral = false;
    for (const line of checkResponse(res).split('\n')) {
      const fields = line.split('\t');
      const [rawName, rawType, defaultType] = fields;
      // With describe_include_subcolumns=1 a modern server lists subcolumns too (`raw.size`), flagged in the 8th field.
      if (!rawName || !rawType || fields[7] === '1') continue;
      const name = unescapeTsv(rawName);
      if (defaultType === 'EPHEMERAL') ephemeral = true;
      if (defaultType !== 'MATERIALIZED' && defaultType !== 'ALIAS') writable.push(name);
      else computed.add(name);
      const text = unescapeTsv(rawType);
      const type = parseColumnType(text);
      types.set(name, { type, text });
      // A column written by its type refuses a Date it cannot hold itself, not an integer inside a Map, Tuple or the like.
      const care = needsCare(type);
      if (care) encodings.set(name, type);
      const check = rangeCheck(type, !care);
      if (check !== undefined) ranged.push([name, check]);
    }
    const nested = new Set<string>();
    for (const name of types.keys()) {
      const dot = name.indexOf('.');
      if (dot > 0 && !types.has(name.slice(0, dot))) nested.add(name.slice(0, dot));
    }
    const schema: TableSchema = ephemeral ? { encodings, nested, types, writable, computed, ranged } : { encodings, nested, types, computed, ranged };
    entry.value = schema;
    return schema;
  });
  const entry: { until: number; columns: Promise<TableSchema>; value?: TableSchema } = { until: now + SCHEMA_TTL_MS, columns };
  schemas.set(key, entry);
  columns.catch(() => {
    if (schemas.get(key)?.columns === columns) schemas.delete(key);
  });
  return columns;
}
