// Every type of the README's mapping table goes in through insertToTable and comes back
// equal through select, on a real ClickHouse 18.16 server of the local cluster.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { connect, type Connection } from '../../src/clickhouse/connection.js';
import { serverUrls, TEST_ENGINE } from './cluster.js';

const test = suite('clickhouse-types');
const table = `ch_types_${process.pid}_${Date.now()}`;
let conn: Connection;

const COLUMNS = `
  id UInt32, u8 UInt8, u16 UInt16, u32 UInt32, u64 UInt64, i8 Int8, i16 Int16, i32 Int32, i64 Int64,
  f32 Float32, f64 Float64, d32 Decimal(9, 2), d128 Decimal(38, 10),
  s String, fs FixedString(5), day Date, at DateTime, at_tokyo DateTime('Asia/Tokyo'), uuid UUID,
  e8 Enum8('a' = 1, 'it\\'s' = 2), e16 Enum16('x' = 1000, 'y' = -1000),
  ns Nullable(String), ni Nullable(Int64), nd Nullable(DateTime),
  arr Array(String), arr_n Array(Nullable(Int32)), arr2 Array(Array(UInt8)), arr_at Array(DateTime), arr_dec Array(Decimal(9, 2)),
  tup Tuple(UInt8, String, Array(String)), lc LowCardinality(String), nest Nested(a UInt8, b String),
  flag UInt8, filled String DEFAULT 'the default'`;

const rows = [
  {
    id: 1, u8: 255, u16: 65535, u32: 4294967295, u64: 18446744073709551615n, i8: -128, i16: -32768, i32: -2147483648,
    i64: -9223372036854775808n, f32: 0.5, f64: 0.1, d32: '-1234567.89', d128: '1234567890123456789012345678.0123456789',
    s: "quote ' backslash \\ tab \t newline \n nul \0 é 中 😀", fs: 'abc', day: '2020-02-29',
    at: new Date('2020-01-01T12:34:56Z'), at_tokyo: new Date('2021-06-30T23:59:59Z'), uuid: '6f88a342-42d3-425b-b666-1e7d2418e024',
    e8: "it's", e16: 'y', ns: null, ni: 9007199254740993n, nd: null,
    arr: ["a'b", 'c\\d', ''], arr_n: [1, null, -3], arr2: [[1, 2], []], arr_at: [new Date('2000-01-01T00:00:00Z')], arr_dec: ['1.50', '-0.01'],
    tup: [7, 'seven', ['x', "y'"]], lc: 'low', 'nest.a': [1, 2], 'nest.b': ['one', 'two'], flag: 1, filled: 'given',
  },
  {
    id: 2, u8: 0, u16: 0, u32: 0, u64: 0, i8: 127, i16: 32767, i32: 2147483647, i64: 9223372036854775807n,
    f32: -Infinity, f64: NaN, d32: '0.00', d128: '-0.0000000001', s: '', fs: 'five!', day: '1970-01-01',
    at: new Date(0), at_tokyo: new Date(1_000), uuid: '00000000-0000-0000-0000-000000000000',
    e8: 'a', e16: 'x', ns: 'not null', ni: -5, nd: new Date('2105-12-31T23:59:59Z'),
    arr: [], arr_n: [], arr2: [], arr_at: [], arr_dec: [], tup: [0, '', []], lc: '', 'nest.a': [], 'nest.b': [], flag: 0, filled: undefined,
  },
];

test.before(async () => {
  conn = connect(serverUrls()[0] as string, { timeout: 10_000 });
  // 18.16 needs this switch for LowCardinality; 26.x no longer knows it.
  const settings: Record<string, number> = TEST_ENGINE === 'modern' ? {} : { allow_experimental_low_cardinality_type: 1 };
  await conn.query(`CREATE TABLE ${table} (${COLUMNS}) ENGINE = MergeTree ORDER BY id`, {}, { settings });
});

test.after(async () => {
  await conn.query(`DROP TABLE IF EXISTS ${table}`);
  await conn.close();
});

test('round trip :: every mapped type comes back equal', async () => {
  await conn.insertToTable(table, rows);
  const back = await conn.select(`SELECT * FROM ${table} ORDER BY id`);
  assert.equal(back[0], rows[0]);
  assert.equal(back[1], { ...rows[1], f64: NaN, filled: 'the default' });
});

test('round trip :: int64 modes bigint and string', async () => {
  const [asBig] = await conn.select(`SELECT u64, i64, ni, u8 FROM ${table} WHERE id = 2`, {}, { int64: 'bigint' });
  assert.equal(asBig, { u64: 0n, i64: 9223372036854775807n, ni: -5n, u8: 0 });
  const [asText] = await conn.select(`SELECT u64, i64 FROM ${table} WHERE id = 1`, {}, { int64: 'string' });
  assert.equal(asText, { u64: '18446744073709551615', i64: '-9223372036854775808' });
});

test('select :: a LowCardinality of a Nullable or of a number, a Tuple ending in a number (18.16 sends them as text)', async () => {
  const settings: Record<string, number> = TEST_ENGINE === 'modern' ? { allow_suspicious_low_cardinality_types: 1 } : { allow_experimental_low_cardinality_type: 1 };
  const sql = `SELECT CAST(NULL AS LowCardinality(Nullable(String))) AS ln, CAST(toUInt32(5) AS LowCardinality(UInt32)) AS lu,
    ('a', toUInt8(2)) AS t, [(toUInt8(1), toUInt8(2))] AS at`;
  assert.equal(await conn.select(sql, {}, { settings }), [{ ln: null, lu: 5, t: ['a', 2], at: [[1, 2]] }]);
});

test('params :: each parameter kind reaches the server as the right value', async () => {
  const [row] = await conn.select(
    'SELECT {s} AS s, {n} AS n, {big} AS big, {t} AS t, {z} AS z, {d} AS d, {a} AS a, {o} AS o, toTypeName({d}) AS dtype',
    { s: "O'Brien\\", n: -1.25, big: 18446744073709551615n, t: true, z: null, d: new Date('2020-05-05T05:05:05Z'), a: [['x'], ['y', "z'"]], o: { k: 'v' } },
  );
  assert.equal(row, {
    s: "O'Brien\\", n: -1.25, big: 18446744073709551615n, t: 1, z: null, d: new Date('2020-05-05T05:05:05Z'),
    a: [['x'], ['y', "z'"]], o: '{"k":"v"}', dtype: 'DateTime',
  });
});

test('params :: the instant of a Date survives a DateTime in another zone', async () => {
  const when = new Date('2020-07-01T12:00:00Z');
  const [row] = await conn.select("SELECT toTimeZone({w}, 'America/New_York') AS ny, toString(toTimeZone({w}, 'America/New_York')) AS txt", { w: when });
  assert.equal(row, { ny: when, txt: '2020-07-01 08:00:00' });
});

test.run();
