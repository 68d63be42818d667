// Server-side typed parameters ({name:Type}, sent as param_<name>) on real servers: every type
// family through `SELECT {p:Type}` on the modern servers, the URL and the multipart body,
// both placeholder forms in one query, the pool; and the refusal on 18.16, before the query
// is sent. Values are compared through expressions whose result types decode today
// (toString, toUnixTimestamp64Milli, tupleElement...), not through the modern types' own
// decoding, which is another piece of work.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { connect, definePool, startSupervisor, QueryParamError, type Connection } from '../../src/index.js';
import { MAX_FIELD_BYTES } from '../../src/clickhouse/param-layout.js';
import { serverUrls } from './cluster.js';
import { modernCluster, modernUrls, type ModernInfo } from './modern.js';

const test = suite('typed-params');
const found = modernCluster();
const opened: Connection[] = [];

function open(url: string): Connection {
  const conn = connect(url, { timeout: 20_000 });
  opened.push(conn);
  return conn;
}

const at = new Date('2020-02-29T23:30:15.045Z');
const SPECIAL = "it's \\ \\N \t\n\r\0 \x01 \x7f é 中文 😀 {x:String} '' -- /* NULL";

/** [type, value, expression of v (the parameter) whose result decodes today, expected row value]. */
const ROUND_TRIPS: Array<[string, unknown, string, unknown]> = [
  ['UInt8', 255, 'v', 255],
  ['UInt16', 65535, 'v', 65535],
  ['UInt32', 4294967295, 'v', 4294967295],
  ['UInt64', 18446744073709551615n, 'v', 18446744073709551615n],
  ['Int8', -128, 'v', -128],
  ['Int16', -32768, 'v', -32768],
  ['Int32', -2147483648, 'v', -2147483648],
  ['Int64', -9223372036854775808n, 'v', -9223372036854775808n],
  ['Int64', '9007199254740993', 'toString(v)', '9007199254740993'],
  ['Int128', -(2n ** 127n), 'toString(v)', (-(2n ** 127n)).toString()],
  ['UInt128', 2n ** 128n - 1n, 'toString(v)', (2n ** 128n - 1n).toString()],
  ['Int256', -(2n ** 255n), 'toString(v)', (-(2n ** 255n)).toString()],
  ['UInt256', 2n ** 256n - 1n, 'toString(v)', (2n ** 256n - 1n).toString()],
  ['Float32', 1.5, 'v', 1.5],
  ['Float64', -0.1, 'v', -0.1],
  ['Array(Float64)', [NaN, Infinity, -Infinity, 1e300], 'arrayMap(x -> toString(x), v)', ['nan', 'inf', '-inf', '1e300']],
  ['BFloat16', 1.5, 'toFloat64(v)', 1.5],
  ['Decimal(38, 10)', '1234567890123456789012345678.0123456789', 'toString(v)', '1234567890123456789012345678.0123456789'],
  ['Decimal256(20)', '-12345678901234567890123456789012345678901234567890.12345678901234567891', 'toString(v)', '-12345678901234567890123456789012345678901234567890.12345678901234567891'],
  ['Decimal32(2)', 12.5, 'toString(v)', '12.5'],
  ['Bool', true, 'toString(v)', 'true'],
  ['Bool', false, 'toUInt8(v)', 0],
  ['String', SPECIAL, 'v', SPECIAL],
  ['String', { k: "it's", n: [1] }, 'v', '{"k":"it\'s","n":[1]}'],
  ['FixedString(5)', 'ab', 'hex(v)', '6162000000'],
  ['LowCardinality(String)', SPECIAL, 'toString(v)', SPECIAL],
  ['UUID', '61f0c404-5cb3-11e7-907b-a6006ad3dba0', 'toString(v)', '61f0c404-5cb3-11e7-907b-a6006ad3dba0'],
  ['IPv4', '192.168.0.1', 'toString(v)', '192.168.0.1'],
  ['IPv6', '2001:db8::ff00:42:8329', 'toString(v)', '2001:db8::ff00:42:8329'],
  ["Enum8('a' = 1, 'it''s' = 2)", "it's", 'toString(v)', "it's"],
  ["Enum16('x' = -1000, 'y' = 1000)", 'y', 'toInt16(v)', 1000],
  ['Date', at, 'toString(v)', '2020-02-29'],
  ['Date32', new Date('1900-01-01T00:00:00Z'), 'toString(v)', '1900-01-01'],
  ['DateTime', at, 'toUnixTimestamp(v)', 1583019015],
  ['DateTime', new Date(0), 'toUnixTimestamp(v)', 0],
  ["DateTime('Asia/Tokyo')", at, 'toUnixTimestamp(v)', 1583019015],
  ['DateTime64(3)', at, 'toUnixTimestamp64Milli(v)', 1583019015045],
  ["DateTime64(6, 'America/New_York')", at, 'toUnixTimestamp64Micro(v)', 1583019015045000],
  ['DateTime64(3)', new Date('1969-12-31T23:59:58.500Z'), 'toUnixTimestamp64Milli(v)', -1500],
  ['DateTime64(3)', '2020-01-01 00:00:00.123', 'toString(v)', '2020-01-01 00:00:00.123'],
  ['Nullable(String)', null, 'isNull(v)', 1],
  ['Nullable(String)', '\\N', 'v', '\\N'],
  ['Nullable(UInt8)', 7, 'v', 7],
  ['Array(Nullable(String))', [SPECIAL, null, ''], 'v', [SPECIAL, null, '']],
  ['Array(Array(String))', [[], ['a', "b'"], ['\\']], 'v', [[], ['a', "b'"], ['\\']]],
  ['Array(LowCardinality(Nullable(String)))', ['x', null], 'v', ['x', null]],
  ['Array(Decimal(9, 2))', ['1.5', 2, 3n], 'arrayMap(x -> toString(x), v)', ['1.5', '2', '3']],
  ['Array(DateTime64(3))', [at, new Date(0)], 'arrayMap(x -> toUnixTimestamp64Milli(x), v)', [1583019015045, 0]],
  ['Array(Nullable(DateTime))', [at, null], 'arrayMap(x -> toUnixTimestamp(x), v)', [1583019015, null]],
  ['Array(Date)', [at], 'arrayMap(x -> toString(x), v)', ['2020-02-29']],
  ['Array(Bool)', [true, false], 'arrayMap(x -> toString(x), v)', ['true', 'false']],
  ['Array(UUID)', ['61f0c404-5cb3-11e7-907b-a6006ad3dba0'], 'arrayMap(x -> toString(x), v)', ['61f0c404-5cb3-11e7-907b-a6006ad3dba0']],
  ['Map(String, UInt8)', { a: 1, [SPECIAL]: 2 }, '(mapKeys(v), mapValues(v))', [['a', SPECIAL], [1, 2]]],
  ['Map(UInt64, Array(String))', new Map<unknown, unknown>([[1n, ['x']], [18446744073709551615n, []]]), '(arrayMap(k -> toString(k), mapKeys(v)), mapValues(v))', [['1', '18446744073709551615'], [['x'], []]]],
  ['Map(String, Nullable(String))', { k: null }, 'isNull(v[\'k\'])', 1],
  ['Array(Map(String, Array(UInt8)))', [{ a: [1, 2] }, {}], 'arrayMap(m -> toString(m), v)', ["{'a':[1,2]}", '{}']],
  ['Tuple(String, UInt8)', [SPECIAL, 200], '(tupleElement(v, 1), tupleElement(v, 2))', [SPECIAL, 200]],
  ['Tuple(a String, b Array(Nullable(UInt8)))', { b: [1, null], a: 'x' }, "(tupleElement(v, 'a'), tupleElement(v, 'b'))", ['x', [1, null]]],
  ['Array(Tuple(id UInt32, at DateTime64(3)))', [[1, at]], "arrayMap(t -> toUnixTimestamp64Milli(tupleElement(t, 'at')), v)", [1583019015045]],
  ['JSON', { a: SPECIAL, b: { c: 'x' } }, "(JSONExtractString(toJSONString(v), 'a'), JSONExtractString(toJSONString(v), 'b', 'c'))", [SPECIAL, 'x']],
  ['Variant(String, UInt64)', 42, '(toString(v), variantType(v))', ['42', 'UInt64']],
  ['Variant(String, UInt64)', SPECIAL, '(toString(v), variantType(v))', [SPECIAL, 'String']],
  ['Array(Variant(String, UInt64))', ['x\ty\n', 7], 'arrayMap(x -> variantType(x), v)', ['String', 'UInt64']],
  ['Dynamic', SPECIAL, 'toString(v)', SPECIAL],
  ['Time', '12:34:56', 'toString(v)', '12:34:56'],
  ['Time64(3)', '12:34:56.789', 'toString(v)', '12:34:56.789'],
  ['Point', [1.5, -2], '(tupleElement(v, 1), tupleElement(v, 2))', [1.5, -2]],
  ['Ring', [[0, 0], [1, 0], [1, 1]], 'length(v)', 3],
  ['Polygon', [[[0, 0], [10, 0], [10, 10], [0, 10]]], 'toString(v)', '[[(0,0),(10,0),(10,10),(0,10)]]'],
];

const checks: Array<[string, (info: ModernInfo) => Promise<void>]> = [
  ['typed :: every type family round-trips through SELECT {p:Type}', async (info) => {
    const conn = open(modernUrls(info, { user: 'colonnade' })[0]!);
    for (const [type, value, expr, expected] of ROUND_TRIPS) {
      const [row] = await conn.select(`SELECT ${expr.replace(/\bv\b/g, `{p:${type}}`)} AS got`, { p: value });
      assert.equal(row?.['got'], expected, `${type} ${String(value)}`);
    }
  }],

  ['typed :: a DateTime from a Date is the same instant in any session time zone', async (info) => {
    const conn = open(modernUrls(info)[0]!);
    for (const zone of ['UTC', 'Asia/Tokyo', 'America/New_York']) {
      const [row] = await conn.select('SELECT toUnixTimestamp({t:DateTime}) AS s, toUnixTimestamp64Milli({m:DateTime64(3)}) AS ms, toString({d:Date}) AS d',
        { t: at, m: at, d: at }, { settings: { session_timezone: zone } });
      assert.equal(row, { s: 1583019015, ms: 1583019015045, d: '2020-02-29' }, zone);
    }
  }],

  ['typed :: both forms in one query; {name} in a literal or comment stays text', async (info) => {
    const conn = open(modernUrls(info)[0]!);
    const rows = await conn.select("SELECT {n:UInt32} + {m} AS x, {s:String} AS s, '{m}' AS lit /* {m} {s:String} */", { n: 41, m: 1, s: SPECIAL });
    assert.equal(rows, [{ x: 42, s: SPECIAL, lit: '{m}' }]);
    assert.is(await conn.query('SELECT {n:UInt8} * 2 FORMAT TabSeparated', { n: 21 }), '42\n');
    assert.equal(await conn.select('SELECT count() AS c FROM {db:Identifier}.{t:Identifier} WHERE dummy = {d}', { db: 'system', t: 'one', d: 0 }), [{ c: 1 }]);
  }],

  ['typed :: a value too long for the URL goes in a multipart body and comes back exactly', async (info) => {
    const conn = open(modernUrls(info)[0]!);
    const wide = 'é😀\t'.repeat(10_000); // 100,000 bytes, about 250,000 percent-encoded
    const many = Object.fromEntries(Array.from({ length: 9 }, (_, i) => [`v${i}`, String(i).repeat(MAX_FIELD_BYTES)]));
    const [row] = await conn.select(`SELECT {w:String} = {w2:String} AS same, lengthUTF8({w:String}) AS n, ${Object.keys(many).map((k) => `length({${k}:String})`).join(' + ')} AS total`,
      { w: wide, w2: wide, ...many });
    assert.equal(row, { same: 1, n: wide.length - 10_000, total: 9 * MAX_FIELD_BYTES });
    const [back] = await conn.select('SELECT {w:String} AS w', { w: wide });
    assert.is(back?.['w'], wide);
  }],

  ['typed :: a value over the field limit is refused before anything is sent, naming it and the limit', async (info) => {
    const conn = open(modernUrls(info)[0]!);
    const queryId = `typed-too-long-${process.pid}-${Date.now()}`;
    const err = await conn.select('SELECT length({s:String}) AS n', { s: 'x'.repeat(MAX_FIELD_BYTES + 1) }, { queryId }).catch((e: unknown) => e);
    assert.instance(err, QueryParamError);
    assert.is((err as QueryParamError).param, 's');
    assert.match((err as Error).message, /131073 bytes.*http_max_field_value_size/);
    assert.equal(await conn.select('SELECT length({s:String}) AS n', { s: 'x'.repeat(MAX_FIELD_BYTES) }), [{ n: MAX_FIELD_BYTES }], 'the limit itself is fine');
  }],

  ['typed :: bad values are refused by the client, naming the parameter and what was wrong', async (info) => {
    const conn = open(modernUrls(info)[0]!);
    for (const [sql, params, param, why] of [
      ['SELECT {n:UInt8}', { n: 256 }, 'n', /outside UInt8/],
      ['SELECT {n:UInt8}', {}, 'n', /no value was given/],
      ['SELECT {xs:Array(UInt8)}', { xs: [1, 'two'] }, 'xs[1]', /expected an integer/],
      ['SELECT {t:Tuple(a String, b UInt8)}', { t: { a: 'x' } }, 't.b', /missing/],
      ['SELECT {s:String}', { s: 'a\ud800' }, 's', /surrogate/],
    ] as const) {
      const err = await conn.select(sql, params).catch((e: unknown) => e);
      assert.instance(err, QueryParamError, sql);
      assert.is((err as QueryParamError).param, param, sql);
      assert.match((err as Error).message, why, sql);
    }
  }],

  ['typed :: through the pool: select and insert with typed parameters', async (info) => {
    const table = `typed_params_${process.pid}_${Date.now().toString(36)}`;
    const urls = modernUrls(info, { user: 'colonnade' });
    const pool = definePool({ connectionStrings: urls, name: `TypedParams-${process.pid}-${Date.now().toString(36)}`, poolSize: 2 });
    const app = await startSupervisor([pool]);
    try {
      assert.equal(await pool.select('SELECT {n:UInt32} + 1 AS x', { n: 41 }), [{ x: 42 }]);
      await open(urls[0]!).query(`CREATE TABLE ${table} (id UInt32, s String, at DateTime64(3)) ENGINE = MergeTree ORDER BY id`);
      const direct = open(urls[0]!);
      await direct.insert(`INSERT INTO ${table} SELECT {id:UInt32}, {s:String}, {at:DateTime64(3)}`, { id: 1, s: SPECIAL, at });
      assert.equal(await direct.select(`SELECT s, toUnixTimestamp64Milli(at) AS ms FROM ${table} WHERE id = {id:UInt32}`, { id: 1 }), [{ s: SPECIAL, ms: 1583019015045 }]);
    } finally {
      await app.stop();
      await open(urls[0]!).query(`DROP TABLE IF EXISTS ${table}`);
    }
  }],
];

test('typed :: on 18.16 a {name:Type} query is refused before it is sent, naming the version and the parameter', async () => {
  const url = serverUrls({ user: 'colonnade' })[0]!;
  const conn = open(url);
  // The server counts the queries it starts (18.16 keeps no query_log here): between two
  // readings of the counter, only the second reading itself may be counted.
  const queries = async (): Promise<number> => Number(await conn.query("SELECT value FROM system.events WHERE event = 'Query'"));
  await conn.select('SELECT {n:UInt32} AS x', { n: 1 }).catch(() => undefined);
  const before = await queries();
  const err = await conn.select('SELECT {n:UInt32} AS x', { n: 1 }).catch((e: unknown) => e);
  const after = await queries();
  assert.instance(err, QueryParamError);
  assert.is((err as QueryParamError).param, 'n');
  assert.match((err as Error).message, /runs ClickHouse 18\.16\.\d+, which has no server-side parameters/);
  assert.not.match((err as Error).message, /s3cret/);
  assert.is(after - before, 1, 'the refused query never reached the server');

  const pool = definePool({ connectionStrings: serverUrls({ user: 'colonnade' }), name: `TypedParams1816-${process.pid}`, poolSize: 1 });
  const app = await startSupervisor([pool]);
  try {
    const viaPool = await pool.select('SELECT {n:UInt32} AS x', { n: 1 }).catch((e: unknown) => e);
    assert.instance(viaPool, QueryParamError);
    assert.match((viaPool as Error).message, /18\.16/);
    assert.equal(await pool.select('SELECT {n} AS x', { n: 1 }), [{ x: 1 }], '{name} works there as before');
  } finally {
    await app.stop();
  }
});

if (found.info) {
  const info = found.info;
  for (const [name, fn] of checks) test(name, () => fn(info));
} else {
  console.log(`typed-params :: SKIPPED, did not run (${checks.length} modern-engine tests): ${found.why}`);
  for (const [name] of checks) test.skip(name, () => undefined);
}
test.after(async () => {
  await Promise.all(opened.map((c) => c.close()));
});

test.run();
