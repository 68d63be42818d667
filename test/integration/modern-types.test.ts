// Types both ways on the modern servers (26.x): for each type of issue 12, insertToTable
// then select gives back an equal JS value (the README's "Type mapping"), and the official
// JS client's data-type cases (its data_types / date_time integration tests, rewritten here
// as checks through connect()) give what a user of this client expects. Selects go through
// RowBinaryWithNamesAndTypes on these servers; one check reads system.query_log to see so.
// It needs a modern cluster (COLONNADE_MODERN_DIR) and skips by name without one.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { connect, type Connection } from '../../src/clickhouse/connection.js';
import type { Row } from '../../src/clickhouse/types.js';
import { modernCluster, modernUrls } from './modern.js';

const test = suite('modern-types');
const found = modernCluster();
const prefix = `mt_${process.pid}_${Date.now().toString(36)}`;
let conn: Connection;
let n = 0;

async function table(columns: string, settings: Record<string, number> = {}): Promise<string> {
  const name = `${prefix}_${n++}`;
  await conn.query(`CREATE TABLE ${name} (id UInt32, ${columns}) ENGINE = MergeTree ORDER BY id`, {}, { settings });
  return name;
}

async function roundTrip(columns: string, rows: Row[], settings: Record<string, number> = {}): Promise<Row[]> {
  const name = await table(columns, settings);
  await conn.insertToTable(name, rows.map((r, i) => ({ id: i + 1, ...r })), { settings });
  const back = await conn.select(`SELECT * EXCEPT id FROM ${name} ORDER BY id`);
  await conn.query(`DROP TABLE ${name}`);
  return back;
}

// [column type, values]: each value goes in and must come back equal.
const ROUND_TRIPS: Array<[string, unknown[]]> = [
  ['Bool', [true, false]],
  ['Map(String, UInt8)', [new Map([['a', 1], ['b', 2]]), new Map()]],
  ['Map(UInt8, String)', [new Map([[1, 'a'], [2, 'b']])]],
  ['Map(Int64, Array(Nullable(UInt64)))', [new Map([[-9223372036854775808n, [1, null, 18446744073709551615n]]])]],
  ['Map(UUID, Map(String, Int32))', [new Map([['61f0c404-5cb3-11e7-907b-a6006ad3dba0', new Map([['x', -1]])]])]],
  ["DateTime64(3, 'UTC')", [new Date('2020-01-01T00:00:00.123Z'), new Date('2299-12-31T23:59:59.999Z')]],
  ["DateTime64(3, 'Asia/Tokyo')", [new Date('2020-01-01T00:00:00.007Z')]],
  ["DateTime64(0, 'UTC')", [new Date('2020-01-01T00:00:01Z')]],
  ['DateTime64(2)', [new Date('2020-01-01T00:00:01.250Z')]],
  ['DateTime64(6)', ['2020-01-01T00:00:00.123456Z', '2020-01-01T00:00:01.000123Z']],
  ['DateTime64(9)', ['2106-02-07T06:28:15.123456789Z']],
  ['DateTime', [new Date('2106-02-07T06:28:15Z')]],
  ['Date', ['2149-06-06', '1970-01-01']],
  ['Date32', ['1900-01-01', '2299-12-31']],
  ['Int128', [-170141183460469231731687303715884105728n, 170141183460469231731687303715884105727n, 5]],
  ['UInt128', [340282366920938463463374607431768211455n]],
  ['Int256', [-(2n ** 255n), 2n ** 255n - 1n]],
  ['UInt256', [2n ** 256n - 1n, 0]],
  ['Decimal128(20)', ['-123456789012345678.12345678901234567891', '0.00000000000000000001']],
  ['Decimal256(40)', ['123456789012345678901234567890123456.1234567890123456789012345678901234567891']],
  ['IPv4', ['1.2.3.4', '255.255.255.255']],
  ['IPv6', ['2001:db8::1', '::ffff:1.2.3.4', '::1.2.3.4', '::', 'f984:5f0b:bf33:e2db:16cd:567c:c1b3:20c4']],
  ['UUID', ['61f0c404-5cb3-11e7-907b-a6006ad3dba0', '00000000-0000-0000-0000-000000000000']],
  ["Enum16('a' = -1000, 'b' = 1000)", ['a', 'b']],
  ['Tuple(a UInt8, b Nullable(String))', [{ a: 1, b: 'x' }, { a: 2, b: null }]],
  ['Tuple(String, Array(Int32))', [['x', [1, 2]]]],
  ['Array(Map(String, Tuple(a Nullable(String), b LowCardinality(String))))', [[new Map([['k', { a: null, b: 'x' }]])], []]],
  ['Array(Array(LowCardinality(Nullable(String))))', [[['a', null], []]]],
  ['JSON', [{ a: { b: 1, c: 'x' }, big: 12345678901234567890n, arr: [1, 2] }, {}]],
  ['Variant(String, UInt64, Array(UInt8))', ['N', 42, [1, 2], null]],
  ['Dynamic', ['N', 42, true, null, [1, 2]]],
  ['Time', ['-12:34:56', '100:00:00']],
  ['Time64(6)', ['00:00:01.500000', '00:00:01.000005']],
  ['Point', [[1.5, -2]]],
  ['Ring', [[[0, 0], [10, 0], [10, 10]]]],
  ['LineString', [[[0, 0], [1, 1]]]],
  ['Polygon', [[[[20, 20], [50, 20], [50, 50]], [[30, 30], [50, 50], [50, 30]]]]],
  ['MultiPolygon', [[[[[0, 0], [10, 0], [10, 10]]]]]],
  ['Float64', [NaN, Infinity, -Infinity, 3.35245141223232]],
  // Past 2^24 as the server prints them (123456790, not the float's 123456792).
  ['Float32', [NaN, -Infinity, 1.1, -0.7968956, 123456790, 1e20, 3.4028235e38]],
  ['BFloat16', [1.09375, -2]],
  ['Nullable(Bool)', [null, true]],
  ['LowCardinality(Nullable(String))', ['x', null]],
  ['FixedString(3)', ['bar', 'é']],
  ['SimpleAggregateFunction(sum, UInt64)', [5, 18446744073709551615n]],
];

const checks: Array<[string, () => Promise<void>]> = [];

for (const [type, values] of ROUND_TRIPS) {
  checks.push([`round trip :: ${type}`, async () => {
    const back = await roundTrip(`v ${type}`, values.map((v) => ({ v })), { enable_time_time64_type: 1 });
    assert.equal(back, values.map((v) => ({ v })));
  }]);
}

checks.push(['round trip :: a Date into DateTime64(3) keeps its milliseconds, a JS Map its non-string keys', async () => {
  const at = new Date('2021-10-02T03:12:42.123Z');
  const [row] = await roundTrip('t DateTime64(3), m Map(Date, UInt8)', [{ t: at, m: new Map([['2020-02-29', 1]]) }]);
  assert.is((row?.['t'] as Date).getTime(), at.getTime());
  assert.equal(row?.['m'], new Map([['2020-02-29', 1]]));
}]);

checks.push(['select :: inside Variant and Dynamic a NULL is null and the text N stays N', async () => {
  const rows = await conn.select(`SELECT CAST(if(number = 0, NULL, 'N') AS Variant(String, UInt64)) AS v, CAST(if(number = 0, NULL, 'N') AS Dynamic) AS d FROM numbers(2) ORDER BY number`);
  assert.equal(rows, [{ v: null, d: null }, { v: 'N', d: 'N' }]);
}]);

checks.push(['select :: inside Dynamic a Decimal keeps its scale, a FixedString its length, an Enum8 its negative values', async () => {
  const sql = "SELECT CAST(toDecimal64(1.5, 2) AS Dynamic) AS d, CAST(toFixedString('ab', 3) AS Dynamic) AS f, CAST(CAST('a' AS Enum8('a' = -1, 'b' = 2)) AS Dynamic) AS e";
  assert.equal(await conn.select(sql), [{ d: '1.50', f: 'ab', e: 'a' }]);
}]);

checks.push(['select :: an IntervalYear inside Dynamic, an empty Tuple, an interval: read in binary, the same by stream (the first two made the whole result text, or threw)', async () => {
  const sql = 'SELECT CAST(toIntervalYear(2) AS Dynamic) AS d, tuple() AS e, [tuple()] AS es, toIntervalSecond(-3) AS s, toNullable(true) AS b';
  const want = [{ d: 2, e: [], es: [[]], s: -3, b: true }];
  assert.equal(await conn.select(sql), want);
  const streamed: unknown[] = [];
  for await (const row of conn.stream(sql)) streamed.push(row);
  assert.equal(streamed, want);
}]);

checks.push(['select :: RowBinaryWithNamesAndTypes is the format asked of a modern server', async () => {
  const queryId = `${prefix}_format`;
  await conn.select('SELECT 1 AS x', {}, { queryId });
  await conn.query('SYSTEM FLUSH LOGS');
  const text = await conn.query(`SELECT query FROM system.query_log WHERE query_id = '${queryId}' AND type = 'QueryFinish' FORMAT TSVRaw`);
  assert.match(text, /FORMAT RowBinaryWithNamesAndTypes\s*$/);
}]);

checks.push(['select :: int64 modes on the binary path', async () => {
  const sql = 'SELECT toInt64(-42) AS small, toUInt64(18446744073709551615) AS big, toInt128(7) AS i128';
  assert.equal(await conn.select(sql), [{ small: -42, big: 18446744073709551615n, i128: 7 }]);
  assert.equal(await conn.select(sql, {}, { int64: 'bigint' }), [{ small: -42n, big: 18446744073709551615n, i128: 7n }]);
  assert.equal(await conn.select(sql, {}, { int64: 'string' }), [{ small: '-42', big: '18446744073709551615', i128: '7' }]);
}]);

checks.push(['select :: a failure after rows were streamed is a ClickHouseError, and maxResultBytes holds', async () => {
  const err = await conn.select('SELECT throwIf(number = 5000, \'boom\') AS x FROM numbers(10000)', {}, { settings: { max_block_size: 100 } }).catch((e: unknown) => e);
  assert.is((err as { code?: string }).code, 'CLICKHOUSE');
  assert.match(String((err as Error).message), /boom/);
  const big = await conn.select('SELECT repeat(\'x\', 1000) AS s FROM numbers(10000)', {}, { maxResultBytes: 100_000 }).catch((e: unknown) => e);
  assert.is((big as { code?: string }).code, 'RESULT_TOO_LARGE');
}]);

checks.push(['select :: a type the binary decoder cannot read (an aggregate state) comes as text, as on 18.16', async () => {
  const [row] = await conn.select('SELECT uniqState(1) AS s, 1 AS x');
  assert.is(typeof row?.['s'], 'string');
  assert.is(row?.['x'], 1);
  // stream() is asked again as text too, before its first row (it threw UnsupportedBinaryType).
  const streamed: unknown[] = [];
  for await (const r of conn.stream('SELECT uniqState(1) AS s, 1 AS x')) streamed.push(r);
  assert.equal(streamed, [row]);
}]);

checks.push(['select :: asked again as text, a SimpleAggregateFunction is its value\'s type and a geo type its arrays, as on the binary path', async () => {
  const columns = "CAST(5 AS SimpleAggregateFunction(sum, UInt64)) AS n, CAST([1, 2] AS SimpleAggregateFunction(groupArrayArray, Array(UInt8))) AS a, "
    + "CAST(toNullable(7) AS SimpleAggregateFunction(anyLast, Nullable(UInt32))) AS m, CAST((1.5, 2) AS Point) AS p, CAST([(1, 2)] AS Ring) AS r";
  const binary = await conn.select(`SELECT ${columns}`);
  assert.equal(binary, [{ n: 5, a: [1, 2], m: 7, p: [1.5, 2], r: [[1, 2]] }]);
  // Before: the text path gave the server's text ('5', '[1,2]', '(1.5,2)'), so a value's type depended on the other columns.
  const [row] = await conn.select(`SELECT uniqState(1) AS s, ${columns}`);
  const { s, ...rest } = row as Record<string, unknown>;
  assert.is(typeof s, 'string');
  assert.equal([rest], binary);
  const streamed: Record<string, unknown>[] = [];
  for await (const r of conn.stream(`SELECT uniqState(1) AS s, ${columns}`)) streamed.push(r);
  assert.equal(streamed.map(({ s: _s, ...other }) => other), binary);
}]);

// The official JS client's data type cases (clickhouse-js tests/integration data_types, date_time).
checks.push(['official :: integer types', async () => {
  const values = [
    { i1: 127, i2: 32767, i3: 2147483647, i4: 9223372036854775807n, i5: 170141183460469231731687303715884105727n, u1: 255, u4: 18446744073709551615n, u6: 2n ** 256n - 1n },
    { i1: -128, i2: -32768, i3: -2147483648, i4: -9223372036854775808n, i5: -170141183460469231731687303715884105728n, u1: 120, u4: 421342, u6: 41345135123432 },
  ];
  assert.equal(await roundTrip('i1 Int8, i2 Int16, i3 Int32, i4 Int64, i5 Int128, u1 UInt8, u4 UInt64, u6 UInt256', values), values);
}]);

checks.push(['official :: decimals keep every digit', async () => {
  const values = [
    { d1: '1234567.89', d2: '123456789123456.789', d3: '1234567891234567891234567891.1234567891', d4: '12345678912345678912345678911234567891234567891234567891.12345678911234567891' },
    { d1: '12.01', d2: '5000000.405', d3: '1.0000000004', d4: '42.00000000000000013007' },
  ];
  assert.equal(await roundTrip('d1 Decimal(9, 2), d2 Decimal(18, 3), d3 Decimal(38, 10), d4 Decimal(76, 20)', values), values);
}]);

checks.push(['official :: dates from strings and from JS Dates', async () => {
  const back = await roundTrip("d1 Date, d2 Date32, dt1 DateTime('UTC'), dt2 DateTime64(3, 'UTC'), dt3 DateTime64(6, 'UTC'), dt4 DateTime64(9, 'UTC')", [
    { d1: '2149-06-06', d2: '2178-04-16', dt1: '2106-02-07 06:28:15', dt2: '2106-02-07 06:28:15.123', dt3: '2106-02-07 06:28:15.123456', dt4: '2106-02-07 06:28:15.123456789' },
    { d1: new Date('2022-09-01T00:00:00Z'), d2: new Date('2007-01-29T00:00:00Z'), dt1: new Date('2022-09-01T01:40:42Z'), dt2: new Date('2021-10-02T03:12:42.123Z'), dt3: new Date('2022-12-15T07:10:42.123Z'), dt4: new Date('2008-04-05T03:45:42.123Z') },
  ]);
  assert.equal(back, [
    { d1: '2149-06-06', d2: '2178-04-16', dt1: new Date('2106-02-07T06:28:15Z'), dt2: new Date('2106-02-07T06:28:15.123Z'), dt3: '2106-02-07T06:28:15.123456Z', dt4: '2106-02-07T06:28:15.123456789Z' },
    { d1: '2022-09-01', d2: '2007-01-29', dt1: new Date('2022-09-01T01:40:42Z'), dt2: new Date('2021-10-02T03:12:42.123Z'), dt3: '2022-12-15T07:10:42.123000Z', dt4: '2008-04-05T03:45:42.123000000Z' },
  ]);
}]);

checks.push(['official :: DateTime from epoch seconds and text in the column zone', async () => {
  const back = await roundTrip("d DateTime('Asia/Istanbul')", [{ d: 1662328969 }, { d: '2022-09-05 00:02:49' }]);
  assert.equal(back, [{ d: new Date(1662328969_000) }, { d: new Date('2022-09-04T21:02:49Z') }]);
}]);

checks.push(['official :: bigint and Date without a custom serializer', async () => {
  const values = [{ big_id: 25000000000000000n, dt: new Date('2023-12-06T10:54:48.123Z') }];
  assert.equal(await roundTrip("big_id UInt64, dt DateTime64(3, 'UTC')", values), values);
}]);

checks.push(['official :: enums, low cardinality, tuples, nullables, IPs, UUIDs', async () => {
  const values = [
    { e: 'Foo', s: 'foo', fs: 'bar', t1: ['foo', 42], t2: ['2022-01-04', [1, 2]], n: null, a: [null, 51], ip1: '68.172.195.211', ip2: '2150:c3d5:f9e0:cdee:a94f:4580:d939:3901', u: '9d4f2a3e-0c1b-4f6e-8a2d-3b5c7e9f1a2b' },
    { e: 'Bar', s: 'qaz', fs: 'qux', t1: ['bar', 43], t2: ['2015-04-15', [3, 4]], n: 42, a: [], ip1: '184.232.227.132', ip2: '::1', u: '00000000-0000-0000-0000-000000000001' },
  ];
  assert.equal(await roundTrip("e Enum('Foo', 'Bar'), s LowCardinality(String), fs LowCardinality(FixedString(3)), t1 Tuple(String, Int32), t2 Tuple(Date, Array(Int32)), n Nullable(Int32), a Array(Nullable(Int32)), ip1 IPv4, ip2 IPv6, u UUID", values), values);
}]);

checks.push(['official :: (very) nested arrays and maps', async () => {
  let arr: unknown = ['a', 'b'];
  let arrType = 'Array(String)';
  let map: unknown = new Map([[1, 'x'], [2, 'y']]);
  let mapType = 'Map(Int32, String)';
  for (let i = 1; i < 10; i++) {
    arr = [arr, arr];
    arrType = `Array(${arrType})`;
    map = new Map([[i, map]]);
    mapType = `Map(Int32, ${mapType})`;
  }
  const values = [{ a1: [42, 43], a2: [[['qaz', 144], ['qux', 1024]], [['qwerty', 102]]], a3: arr, m1: new Map([['foo', 'bar']]), m2: new Map([[1, 2], [3, 4]]), m3: map }];
  assert.equal(await roundTrip(`a1 Array(Int32), a2 Array(Array(Tuple(String, Int32))), a3 ${arrType}, m1 Map(String, String), m2 Map(Int32, Int64), m3 ${mapType}`, values), values);
  // A plain object is a Map's value too; its keys read as the key type.
  const [row] = await roundTrip('m Map(Int32, Int64)', [{ m: { 1: 2, 3: 4 } }]);
  assert.equal(row, { m: new Map([[1, 2], [3, 4]]) });
}]);

checks.push(['official :: geo, JSON, Variant, Dynamic', async () => {
  const values = [{
    p: [42, 144], r: [[0, 0], [10, 0], [10, 10], [0, 10]], pg: [[[20, 20], [50, 20], [50, 50], [20, 50]], [[30, 30], [50, 50], [50, 30]]],
    o: { a: 1, b: { c: 2, d: [1, 2, 3] } }, var: 'foo', dyn: { bar: 'qux' },
  }, {
    p: [0, 0], r: [], pg: [], o: { a: 2, b: { c: 3, d: [4, 5, 6] } }, var: 42, dyn: 'foo',
  }];
  assert.equal(await roundTrip('p Point, r Ring, pg Polygon, o JSON, var Variant(String, Int32), dyn Dynamic', values), values);
}]);

const NESTED = "n Nested(id UInt32, name String, createdAt DateTime('UTC'), roles Array(Enum('User', 'Admin')))";
const NESTED_BACK = [
  { 'n.id': [42], 'n.name': ['foo'], 'n.createdAt': [new Date('2001-04-23T00:00:00Z')], 'n.roles': [['User']] },
  { 'n.id': [43], 'n.name': ['bar'], 'n.createdAt': [new Date('2000-01-12T00:00:00Z')], 'n.roles': [['Admin']] },
];
const FLAT = [
  { 'n.id': [42], 'n.name': ['foo'], 'n.createdAt': ['2001-04-23 00:00:00'], 'n.roles': [['User']] },
  { 'n.id': [43], 'n.name': ['bar'], 'n.createdAt': ['2000-01-12 00:00:00'], 'n.roles': [['Admin']] },
];
const OBJECTS = [
  { n: [{ id: 42, name: 'foo', createdAt: '2001-04-23 00:00:00', roles: ['User'] }] },
  { n: [{ id: 43, name: 'bar', createdAt: '2000-01-12 00:00:00', roles: ['Admin'] }] },
];
const COLUMNS = [
  { n: { id: [42], name: ['foo'], createdAt: ['2001-04-23 00:00:00'], roles: [['User']] } },
  { n: { id: [43], name: ['bar'], createdAt: ['2000-01-12 00:00:00'], roles: [['Admin']] } },
];
for (const [name, rows, create, insert] of [
  ['by default', FLAT, {}, {}],
  ['flatten_nested = 0', OBJECTS, { flatten_nested: 0 }, {}],
  ['input_format_import_nested_json = 1', COLUMNS, {}, { input_format_import_nested_json: 1 }],
  ['flatten_nested = 0 and input_format_import_nested_json = 1', OBJECTS, { flatten_nested: 0 }, { input_format_import_nested_json: 1 }],
] as const) {
  checks.push([`official :: Nested ${name}`, async () => {
    const t = await table(NESTED, create);
    await conn.insertToTable(t, rows.map((r, i) => ({ id: i + 1, ...r })), { settings: insert });
    assert.equal(await conn.select(`SELECT n.id, n.name, n.createdAt, n.roles FROM ${t} ORDER BY id`), NESTED_BACK);
    if ('flatten_nested' in create) {
      const back = await conn.select(`SELECT n FROM ${t} ORDER BY id`);
      assert.equal(back, OBJECTS.map((r) => ({ n: r.n.map((e) => ({ ...e, createdAt: new Date(`${e.createdAt.replace(' ', 'T')}Z`) })) })));
    }
    await conn.query(`DROP TABLE ${t}`);
  }]);
}

if (found.info) {
  const info = found.info;
  test.before(() => {
    conn = connect(modernUrls(info)[0] as string, { timeout: 30_000 });
  });
  test.after(async () => {
    await conn.close();
  });
  for (const [name, fn] of checks) test(name, fn);
} else {
  for (const [name] of checks) console.log(`modern-types :: ${name} :: SKIPPED, did not run: ${found.why}`);
}
test.run();
