// An array insert of 10,000 rows or more goes to a 22.1+ server as RowBinaryWithNamesAndTypes
// when every value has its column's binary form (issue 13, fast codecs), to an older one
// (18.16) as TabSeparated for the same values, and as JSONEachRow otherwise. Run on each
// engine by `npm test`: the rows come back the same either way, the server's query log says
// which format carried them, and a table changed since it was described gets its rows anyway
// (the binary header is refused before any row is read, and the statement goes again as
// JSONEachRow; TabSeparated text is read by the column's new type).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { connect, type Connection } from '../../src/clickhouse/connection.js';
import type { Row, Settings } from '../../src/clickhouse/types.js';
import { TEST_ENGINE, serverUrls } from './cluster.js';
import { sql, until } from './helpers.js';
import { seeded } from '../seeded.js';

const test = suite('insert-binary');
const table = `it_binary_${process.pid}_${Date.now().toString(36)}`;
const modern = TEST_ENGINE === 'modern';
const ROWS = 20_000;
let conn: Connection;
// 18.16 logs a query only when asked.
const LOGGED = { settings: { log_queries: 1 } };

// Bool and LowCardinality are not in 18.16 (without experimental settings).
const COLUMNS: Record<string, string> = {
  id: 'UInt32', u8: 'UInt8', i16: 'Int16', u64: 'UInt64', i64: 'Int64', f64: 'Float64', s: 'String', dt: 'DateTime',
  e8: "Enum8('a' = 1, 'b' = -2, 'x\\ny' = 3)", e16: "Enum16('x' = 1000, 'y' = -1000)", ns: 'Nullable(String)', arr: 'Array(UInt32)',
  nested: 'Array(Array(Nullable(Int64)))', ...(modern ? { b: 'Bool', lc: 'LowCardinality(String)' } : {}),
  d: 'UInt32 DEFAULT id * 2',
};

function rowsFrom(seed: number, first: number): Row[] {
  const next = seeded(seed);
  const int = (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1));
  const text = () => Array.from({ length: int(0, 10) }, () => ['a', 'é', '😀', '"', '\\', '\n', '\t', '\0', "'", 'Z'][int(0, 9)]).join('');
  return Array.from({ length: ROWS }, (_, k) => {
    const id = first + k;
    return {
      id, u8: int(0, 255), i16: int(-32768, 32767), u64: id % 2 === 0 ? int(0, 2 ** 53 - 1) : 18446744073709551615n - BigInt(id),
      i64: id % 2 === 0 ? int(-(2 ** 53) + 1, 2 ** 53 - 1) : -(2n ** 63n) + BigInt(id), f64: [0.1, -1e-300, 1.5e300, next() * 1e6 - 5e5][int(0, 3)] as number,
      s: text(), dt: new Date(int(0, 2 ** 31 - 1) * 1000), e8: ['a', 'b', 'x\ny'][int(0, 2)], e16: ['x', 'y'][int(0, 1)], ns: next() < 0.3 ? null : text(),
      arr: Array.from({ length: int(0, 3) }, () => int(0, 1000)), nested: Array.from({ length: int(0, 2) }, () => Array.from({ length: int(0, 2) }, () => (next() < 0.3 ? null : int(-1000, 1000)))),
      ...(modern ? { b: next() < 0.5, lc: text() } : {}),
    };
  });
}

/** The format of the finished insert whose query id is `id` or begins with it (`id-text`: sent again as text), once it is in the server's log. */
async function formatOf(id: string): Promise<string[]> {
  let found: string[] = [];
  await until(`the insert ${id} in the query log`, async () => {
    await sql(0, 'SYSTEM FLUSH LOGS');
    const text = await sql(0, `SELECT extract(query, 'FORMAT (\\\\w+)') FROM system.query_log WHERE type = 2 AND query_id LIKE '${id}%' ORDER BY query_id FORMAT TSV`);
    found = text.split('\n').filter((line) => line !== '');
    return found.length > 0;
  }, 15_000, 250);
  return found;
}

async function assertStored(rows: readonly Row[], from: number): Promise<void> {
  const back = await conn.select(`SELECT * FROM ${table} WHERE id >= ${from} AND id < ${from + rows.length} ORDER BY id`, undefined, { int64: 'bigint' });
  assert.is(back.length, rows.length, 'every row stored once');
  rows.forEach((row, i) => {
    const got = back[i] as Row;
    for (const [key, want] of Object.entries(row)) {
      const expected = typeof want === 'number' && (key === 'u64' || key === 'i64') ? BigInt(want) : key === 'nested' ? (want as (number | null)[][]).map((a) => a.map((v) => (v === null ? null : BigInt(v)))) : want;
      if (key === 'dt') assert.is((got[key] as Date).getTime(), (want as Date).getTime(), `row ${i} dt`);
      else assert.equal(got[key], expected, `row ${i} ${key}`);
    }
    assert.is(got['d'], row['id'] as number * 2, `row ${i}: the omitted column took its DEFAULT`);
  });
}

test.before(async () => {
  conn = connect(serverUrls()[0] as string, { timeout: 60_000 });
  await conn.query(`CREATE TABLE ${table} (${Object.entries(COLUMNS).map(([k, t]) => `${k} ${t}`).join(', ')}) ENGINE = MergeTree ORDER BY id`);
});

test.after(async () => {
  await conn.query(`DROP TABLE IF EXISTS ${table}`);
  await conn.close();
});

// The fast form of this engine.
const FAST = modern ? 'RowBinaryWithNamesAndTypes' : 'TabSeparated';

test(`binary :: ${ROWS} rows of every type with a plain form come back the same (${TEST_ENGINE}: ${FAST})`, async () => {
  const rows = rowsFrom(1, 0);
  assert.equal(await conn.insertToTable(table, rows, { ...LOGGED, queryId: `${table}-every-type` }), { rows: ROWS });
  await assertStored(rows, 0);
  assert.equal(await formatOf(`${table}-every-type`), [FAST]);
});

test('binary :: one value without a plain form (a DateTime given as text) sends the statement as JSONEachRow', async () => {
  const rows = rowsFrom(2, ROWS);
  const odd = rows[ROWS - 1] as Row;
  rows[ROWS - 1] = { ...odd, dt: '2020-01-02 03:04:05' };
  const id = `${table}-text-dt`;
  assert.equal(await conn.insertToTable(table, rows, { ...LOGGED, queryId: id }), { rows: ROWS });
  await assertStored([...rows.slice(0, -1), { ...odd, dt: new Date('2020-01-02T03:04:05Z') }], ROWS);
  assert.equal(await formatOf(id), ['JSONEachRow']);
});

test(`binary :: a table changed since it was described gets the rows${modern ? ' (the header refused, sent again as text), then binary again' : ' (the text read by the new type)'}`, async () => {
  // Each insert's format found by its query id (18.16's log orders queries by the second only).
  const ids = [1, 2, 3].map((k) => `${table}-changed-${k}`);
  await conn.insertToTable(table, rowsFrom(3, 2 * ROWS), { ...LOGGED, queryId: ids[0] }); // described, cached
  await sql(0, `ALTER TABLE ${table} MODIFY COLUMN u8 UInt16`, 60_000);
  const rows = rowsFrom(4, 3 * ROWS);
  assert.equal(await conn.insertToTable(table, rows, { ...LOGGED, queryId: ids[1] }), { rows: ROWS });
  await assertStored(rows, 3 * ROWS);
  await conn.insertToTable(table, rowsFrom(5, 4 * ROWS), { ...LOGGED, queryId: ids[2] });
  const seen: string[][] = [];
  for (const id of ids) seen.push(await formatOf(id as string));
  assert.equal(seen, [[FAST], [modern ? 'JSONEachRow' : FAST], [FAST]]);
});

test('binary :: a row changed while its insert is under way stores nothing of the statement, or all of it as it was checked', async () => {
  // The value turns bad at its k-th read: in the call's check, the choice of format, or while
  // the body is written (binary: the request is aborted; text: the server refuses the body).
  const outcomes = new Set<string>();
  for (let k = 1; k <= 6; k++) {
    const from = 10 * ROWS + k * ROWS;
    const rows: Row[] = rowsFrom(10 + k, from);
    let reads = 0;
    Object.defineProperty(rows[ROWS - 1], 'u8', { enumerable: true, get: () => (++reads >= k ? 'boom' : 7) });
    const outcome = await conn.insertToTable(table, rows).then(() => 'stored', (e: Error) => e.message);
    const count = Number(await conn.query(`SELECT count() FROM ${table} WHERE id >= ${from} AND id < ${from + ROWS} FORMAT TSV`));
    if (outcome === 'stored') assert.is(count, ROWS, `k=${k}: every row stored`);
    else assert.is(count, 0, `k=${k}: refused (${outcome.slice(0, 120)}), and nothing of the statement stored`);
    outcomes.add(outcome === 'stored' ? 'stored' : /changed after the insert was called/.test(outcome) ? 'refused by the client' : 'refused by the server');
  }
  assert.ok(outcomes.has('refused by the server'), 'a bad value sent as text is refused by the server');
  if (modern) assert.ok(outcomes.has('refused by the client'), 'a value that turned bad as the binary body was written is caught there');
});

test(`mixed :: 3,000 rows that leave out different fields (64 column sets) are ${modern ? 'one statement' : 'one statement per column set'}, and every omitted field takes its DEFAULT`, async () => {
  const mixed = `${table}_mixed`;
  const optional = ['o0', 'o1', 'o2', 'o3', 'o4', 'o5'];
  // dec: a Decimal given as text, which 18.16 reads only unquoted (the table's types are asked).
  await conn.query(`CREATE TABLE ${mixed} (id UInt32, ${optional.map((o, k) => `${o} UInt32 DEFAULT id * 10 + ${k}`).join(', ')}, dec Decimal(9, 2) DEFAULT 0) ENGINE = MergeTree ORDER BY id`);
  try {
    // Row i gives the optional fields whose bit is set in i % 64, in an order that varies too.
    const rows = Array.from({ length: 3_000 }, (_, i) => {
      const given = optional.filter((_o, k) => ((i % 64) >> k) & 1);
      return Object.fromEntries([['id', i], ...(i % 2 === 0 ? given : [...given].reverse()).map((o) => [o, 7]), ...(i % 64 === 5 ? [['dec', `${i}.25`]] : [])]);
    });
    assert.equal(await conn.insertToTable(mixed, rows, LOGGED), { rows: 3_000 });
    const back = await conn.select(`SELECT * FROM ${mixed} ORDER BY id`);
    assert.is(back.length, 3_000);
    back.forEach((row, i) => {
      optional.forEach((o, k) => {
        if (row[o] !== (((i % 64) >> k) & 1 ? 7 : i * 10 + k)) assert.unreachable(`row ${i} ${o}: ${String(row[o])}`);
      });
      if (row['dec'] !== (i % 64 === 5 ? `${i}.25` : '0.00')) assert.unreachable(`row ${i} dec: ${String(row['dec'])}`);
    });
    let statements = 0;
    await until(`the inserts into ${mixed} in the query log`, async () => {
      await sql(0, 'SYSTEM FLUSH LOGS');
      statements = Number(await sql(0, `SELECT count() FROM system.query_log WHERE type = 2 AND query LIKE 'INSERT INTO \`${mixed}\`%' FORMAT TSV`));
      return statements >= (modern ? 1 : 64);
    }, 15_000, 250);
    assert.is(statements, modern ? 1 : 64);
  } finally {
    await conn.query(`DROP TABLE IF EXISTS ${mixed}`);
  }
});

test('nested :: rows that give part of a Nested column\'s fields, mixed with other column sets, are stored (one statement naming every field would give the rest [] and the server refuses arrays of different sizes)', async () => {
  const nested = `${table}_nested`;
  await conn.query(`CREATE TABLE ${nested} (id UInt32, n Nested(a UInt8, b String), x UInt8 DEFAULT 9) ENGINE = MergeTree ORDER BY id`);
  try {
    const rows = (from: number): Row[] => [{ id: from + 1, n: { a: [1, 2] } }, { id: from + 2, 'n.b': ['x'] }, { id: from + 3 }, { id: from + 4, 'n.a': [5], 'n.b': ['y'], x: 1 }];
    assert.equal(await conn.insertToTable(nested, rows(0)), { rows: 4 });
    // From a generator too (on 26.7 one streamed statement, the part-of-Nested rows in
    // statements of their own after it; before, error 190 SIZES_OF_ARRAYS_DONT_MATCH).
    assert.equal(await conn.insertToTable(nested, (function* () { yield* rows(10); yield* rows(20); })()), { rows: 8 });
    const back = await conn.select(`SELECT id, n.a AS a, n.b AS b, x FROM ${nested} ORDER BY id`);
    const shape = [[1, 2, 2, 9], [2, 1, 1, 9], [3, 0, 0, 9], [4, 1, 1, 1]];
    assert.equal(back.map((r) => [(r.id as number) % 10, (r.a as unknown[]).length, (r.b as unknown[]).length, r.x]), [...shape, ...shape, ...shape]);
    assert.equal(back.map((r) => r.id), [1, 2, 3, 4, 11, 12, 13, 14, 21, 22, 23, 24]);
    for (const k of [0, 4, 8]) assert.equal([back[k]?.a, back[k + 1]?.b, back[k + 3]?.a, back[k + 3]?.b], [[1, 2], ['x'], [5], ['y']]);
  } finally {
    await conn.query(`DROP TABLE IF EXISTS ${nested}`);
  }
});

test('nested :: 120,000 rows from a generator, every other one giving part of a Nested column: each stored once, as given', async () => {
  const nested = `${table}_nested_many`;
  await conn.query(`CREATE TABLE ${nested} (id UInt32, n Nested(a UInt8, b String)) ENGINE = MergeTree ORDER BY id`);
  try {
    // One row object reused and changed by the source: each is read as it is when it comes.
    // On 26.7 the part-of-Nested rows are kept aside 50,000 at most: the streamed statement
    // ends there, they go, and a new one goes on with the rest.
    function* source(): Generator<Row> {
      const row: Row = {};
      for (let id = 0; id < 120_000; id++) {
        for (const key of Object.keys(row)) delete row[key];
        row.id = id;
        if (id % 2 === 0) row['n.b'] = ['x', 'y'];
        else Object.assign(row, { 'n.a': [1], 'n.b': ['z'] });
        yield row;
      }
    }
    assert.equal(await conn.insertToTable(nested, source()), { rows: 120_000 });
    const [summary] = await conn.select(`SELECT count() AS n, uniqExact(id) AS ids, sum(length(n.a)) AS a, sum(length(n.b)) AS b, countIf(n.b = ['x', 'y'] AND n.a = [0, 0]) AS part FROM ${nested}`);
    assert.equal({ ...summary }, { n: 120_000, ids: 120_000, a: 180_000, b: 180_000, part: 60_000 });
  } finally {
    await conn.query(`DROP TABLE IF EXISTS ${nested}`);
  }
});

test('source :: a key that is no column, or a computed one, is refused before it is sent, naming the row and the key (a modern server would drop it silently)', async () => {
  const keys = `${table}_keys`;
  await conn.query(`CREATE TABLE ${keys} (id UInt32, name String, up String MATERIALIZED upper(name)) ENGINE = MergeTree ORDER BY id`);
  try {
    const refusal = async (rows: Row[], settings?: Settings): Promise<string> => conn.insertToTable(keys, (function* () { yield* rows; })(), settings ? { settings } : {})
      .then(() => 'stored', (e: Error & { code?: string }) => `${e.code ?? ''}: ${e.message}`);
    assert.match(await refusal([{ id: 1, name: 'a' }, { id: 2, name: 'b' }, { id: 3, nmae: 'c' }]), /^QUERY_PARAM: parameter rows\[2\]\.nmae: the table has no column "nmae"/);
    assert.match(await refusal([{ id: 1, name: 'a' }, { id: 2, name: 'b', up: 'B' }]), /^QUERY_PARAM: parameter rows\[1\]\.up: column "up" is MATERIALIZED or ALIAS/);
    assert.is(await conn.select(`SELECT count() AS n FROM ${keys}`).then((r) => r[0]?.n), 0, 'nothing stored');
    // The caller chose what the server does with such a key: left to it.
    const chosen = await refusal([{ id: 5, name: 'e', extra: 1 }], { input_format_skip_unknown_fields: 1 });
    assert.not.match(chosen, /QUERY_PARAM/);
    assert.equal(await refusal([{ id: 4, name: 'd' }]), 'stored');
    // A column added after the table was described (its description is kept 30 s): described
    // afresh when its key comes, not refused.
    await conn.query(`ALTER TABLE ${keys} ADD COLUMN added UInt8 DEFAULT 7`);
    assert.equal(await refusal([{ id: 6, name: 'f', added: 1 }, { id: 7, name: 'g' }]), 'stored');
    assert.equal(await conn.select(`SELECT id, added FROM ${keys} WHERE id >= 6 ORDER BY id`), [{ id: 6, added: 1 }, { id: 7, added: 7 }]);
  } finally {
    await conn.query(`DROP TABLE IF EXISTS ${keys}`);
  }
});

// 18.16 has no EPHEMERAL columns.
if (modern) test('ephemeral :: an EPHEMERAL column\'s value reaches the DEFAULTs made from it, from an array of several column sets and from a generator', async () => {
  const eph = `${table}_eph`;
  await conn.query(`CREATE TABLE ${eph} (id UInt32, raw String EPHEMERAL, msg String DEFAULT upper(raw), o UInt32 DEFAULT 5) ENGINE = MergeTree ORDER BY id`);
  try {
    const rows = (from: number): Row[] => [{ id: from, raw: 'a' }, { id: from + 1, raw: 'b', o: 1 }, { id: from + 2 }];
    // First (the table's description is cached 30 s): a connection string whose setting makes
    // DESCRIBE list subcolumns too (raw.size), which are not columns to name.
    const url = serverUrls()[0] as string;
    const subcolumns = connect(`${url}${url.includes('?') ? '&' : '?'}describe_include_subcolumns=1`, { timeout: 60_000 });
    try {
      await subcolumns.insertToTable(eph, (function* () { yield* rows(20); })());
    } finally {
      await subcolumns.close();
    }
    await conn.insertToTable(eph, rows(0));
    await conn.insertToTable(eph, (function* () { yield* rows(10); })());
    const back = await conn.select(`SELECT id, msg, o FROM ${eph} ORDER BY id`);
    assert.equal(back, [
      { id: 0, msg: 'A', o: 5 }, { id: 1, msg: 'B', o: 1 }, { id: 2, msg: '', o: 5 },
      { id: 10, msg: 'A', o: 5 }, { id: 11, msg: 'B', o: 1 }, { id: 12, msg: '', o: 5 },
      { id: 20, msg: 'A', o: 5 }, { id: 21, msg: 'B', o: 1 }, { id: 22, msg: '', o: 5 },
    ]);
  } finally {
    await conn.query(`DROP TABLE IF EXISTS ${eph}`);
  }
});

test.run();
