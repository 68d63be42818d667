// Huge results and big statements on the real cluster: a result too large to hold fails
// once, on one server, with its own code and no health penalty; memory does not grow with
// distinct SQL texts or distinct result shapes.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { connect, definePool, startSupervisor, TransportError, type ClickHousePool } from '../../src/index.js';
import { serverUrls } from './cluster.js';
import { sql, until } from './helpers.js';

const test = suite('pool-huge');

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const MiB = 1024 * 1024;

function retainedMiB(): number {
  for (let i = 0; i < 3; i++) gc();
  const m = process.memoryUsage();
  return (m.heapUsed + m.external) / MiB;
}

const failure = (p: Promise<unknown>): Promise<{ code?: string; message?: string } & Error> =>
  p.then(() => assert.unreachable('expected a failure'), (e: Error) => e) as Promise<{ code?: string } & Error>;

function assertNoServerBlamed(pool: ClickHousePool, queries: number): void {
  const servers = pool.stats().servers;
  assert.is(servers.reduce((n, s) => n + s.queries, 0), queries, 'sent to one server, not retried on another');
  assert.equal(servers.map((s) => s.errors), servers.map(() => 0), 'counted as no server error');
  assert.equal(servers.map((s) => s.penalty), servers.map(() => 0), 'no health penalty');
  assert.ok(servers.every((s) => s.up), 'every server stays up');
}

test('huge :: 550 MB of text (past V8\'s longest string) fails once with RESULT_TOO_LARGE, is not retried, blames no server', async () => {
  const pool = definePool({
    connectionStrings: serverUrls({ user: 'colonnade' }), name: `it-huge-${process.pid}`,
    poolSize: 3, maxOverflow: 0, readRetries: 2, timeout: 120_000,
  });
  const app = await startSupervisor([pool]);
  try {
    const queryId = `huge-${process.pid}-${Date.now()}`;
    const err = await failure(pool.select("SELECT arrayStringConcat(arrayResize([''], 1000001), 'x') AS s FROM system.numbers LIMIT 550", {}, { queryId }));
    assert.is(err.code, 'RESULT_TOO_LARGE', `${err.code}: ${err.message}`);
    assert.not.ok(err instanceof TransportError);
    assert.match(err.message, /LIMIT/);
    assert.match(err.message, /maxResultBytes/);
    assertNoServerBlamed(pool, 1);
    const server = pool.stats().servers.findIndex((s) => s.queries === 1);
    // The socket was destroyed mid-response: the server's next write fails and it ends the query.
    await until('the server no longer runs the query', async () =>
      (await sql(server, `SELECT count() FROM system.processes WHERE query_id = '${queryId}'`)).trim() === '0', 30_000, 100);
    for (let i = 0; i < 3; i++) assert.equal(await pool.select('SELECT 1 AS x'), [{ x: 1 }]);
    assertNoServerBlamed(pool, 4);
  } finally {
    await app.stop();
  }
});

test('huge :: maxResultBytes of the pool, of a call and of connect() stop a result at that size', async () => {
  const big = "SELECT arrayStringConcat(arrayResize([''], 1001), 'x') AS s FROM system.numbers LIMIT 5000"; // about 5 MB
  const pool = definePool({
    connectionStrings: serverUrls({ user: 'colonnade' }), name: `it-huge-limit-${process.pid}`,
    poolSize: 3, maxOverflow: 0, maxResultBytes: 1_000_000,
  });
  const app = await startSupervisor([pool]);
  try {
    const err = await failure(pool.select(big));
    assert.is(err.code, 'RESULT_TOO_LARGE');
    assert.match(err.message, /1000000 bytes/);
    const q = await failure(pool.query(`${big} FORMAT TabSeparated`));
    assert.is(q.code, 'RESULT_TOO_LARGE', 'query() text is bounded too');
    assertNoServerBlamed(pool, 2);
    const rows = await pool.select(big, {}, { maxResultBytes: 10_000_000 });
    assert.is(rows.length, 5000, 'a call may allow more');
    const small = await failure(pool.select('SELECT number FROM system.numbers LIMIT 1000', {}, { maxResultBytes: 100 }));
    assert.is(small.code, 'RESULT_TOO_LARGE', 'or less');
  } finally {
    await app.stop();
  }
  const conn = connect(serverUrls()[0]!, { maxResultBytes: 1_000_000 });
  try {
    assert.is((await failure(conn.select(big))).code, 'RESULT_TOO_LARGE');
    assert.equal(await conn.select('SELECT 1 AS x'), [{ x: 1 }], 'the connection is fine after it');
  } finally {
    await conn.close();
  }
});

test('huge :: 64 distinct 4 MiB statements leave no 4 MiB copies in memory', async () => {
  await withMemoryPool('stmt', async (pool) => {
    const before = retainedMiB();
    const filler = 'x'.repeat(4 * MiB);
    for (let i = 0; i < 64; i++) {
      // A fresh string per statement, as an application building its SQL would have.
      const statement = `SELECT ${i} AS i /* ${i} ${filler} */`;
      assert.equal(await pool.select(statement, {}, { settings: { max_query_size: 8 * MiB } }), [{ i }]);
    }
    const grown = retainedMiB() - before;
    assert.ok(grown < 64, `64 × 4 MiB statements left ${grown.toFixed(1)} MiB behind`);
  });
});

test('huge :: 24 distinct 4 MiB results, once dropped, leave no 4 MiB bodies in memory', async () => {
  await withMemoryPool('res', async (pool) => {
    const before = retainedMiB();
    for (let i = 0; i < 24; i++) {
      // Each result has a header of its own (the column's name).
      const rows = await pool.select(`SELECT arrayStringConcat(arrayResize([''], 4097), {kib}) AS a_column_name_long_enough_${i}`, { kib: 'y'.repeat(1024) });
      assert.is((rows[0]![`a_column_name_long_enough_${i}`] as string).length, 4 * MiB);
    }
    const grown = retainedMiB() - before;
    assert.ok(grown < 64, `24 × 4 MiB results left ${grown.toFixed(1)} MiB behind`);
  });
});

async function withMemoryPool(tag: string, body: (pool: ClickHousePool) => Promise<void>): Promise<void> {
  const pool = definePool({ connectionStrings: serverUrls({ user: 'colonnade' }), name: `it-huge-${tag}-${process.pid}`, poolSize: 3, timeout: 60_000 });
  const app = await startSupervisor([pool]);
  try {
    await pool.select('SELECT 1 AS x');
    await body(pool);
  } finally {
    await app.stop();
  }
}

test.run();
