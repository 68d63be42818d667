// A slow query is not a dead server (issue 11, item 2): a select that runs past its own
// timeout is the caller's error; the server stays in service unless it stops answering
// /ping too, and the server is asked to stop the query nobody waits for any more.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { definePool, startSupervisor } from '../../src/index.js';
import { sql, until } from './helpers.js';
import { serverUrls, whoQuery } from './cluster.js';
import { startFaultProxy } from '../support/fault-proxy.js';

const test = suite('pool-slow-query');

// About 10 s on the server, in blocks of one row, so a KILL takes effect within 0.5 s;
// max_execution_time ends it anyway should nothing stop it.
const WHO = whoQuery();
const SLOW = 'SELECT sleepEachRow(0.5) AS s FROM numbers(20) SETTINGS max_block_size = 1, max_execution_time = 15';

const running = async (server: number, queryId: string): Promise<boolean> =>
  (await sql(server, `SELECT count() FROM system.processes WHERE query_id = '${queryId}'`)).trim() !== '0';

test('slow :: selects that time out leave a one-server pool serving, its server up and unpenalised', async () => {
  const pool = definePool({ connectionStrings: serverUrls().slice(0, 1), name: `it-slow-one-${process.pid}`, poolSize: 2, maxOverflow: 0 });
  const app = await startSupervisor([pool]);
  try {
    for (let round = 0; round < 2; round++) {
      // Two at once, one per connection: before, these two timeouts marked the only server
      // down and the SELECT 1 right after failed with POOL_NO_SERVER.
      const codes = await Promise.all([0, 1].map(() => pool.select(SLOW, {}, { timeout: 300 }).then(() => 'answered', (e: { code?: string }) => e.code)));
      assert.equal(codes, ['TIMEOUT', 'TIMEOUT'], 'each slow select fails with the caller\'s TimeoutError');
      assert.ok(pool.stats().servers[0]!.up, 'the server is still up right after the timeouts');
      assert.equal(await pool.select('SELECT 1 AS one', {}, { timeout: 10_000 }), [{ one: 1 }]);
    }
    await until('both connections are idle again', () => pool.stats().servers[0]!.connections.idle === 2);
    const s = pool.stats().servers[0]!;
    assert.ok(s.up, 'the server is still up');
    assert.is(s.errors, 0, 'timeouts are not server errors');
    assert.is(s.penalty, 0, 'timeouts counted nothing against it');
  } finally {
    await app.stop();
  }
});

test('slow :: under mixed load every fast select succeeds while the slow ones time out', async () => {
  const pool = definePool({ connectionStrings: serverUrls(), name: `it-slow-mixed-${process.pid}`, poolSize: 6, maxOverflow: 4 });
  const app = await startSupervisor([pool]);
  try {
    const slow = Array.from({ length: 6 }, () => pool.select(SLOW, {}, { timeout: 400 }).then(() => 'answered', (e: { code?: string }) => e.code));
    const fast: Promise<string>[] = [];
    for (let i = 0; i < 60; i++) {
      fast.push(pool.select('SELECT {i} AS i', { i }, { timeout: 20_000 }).then(
        (rows) => (JSON.stringify(rows) === JSON.stringify([{ i }]) ? 'ok' : `wrong answer ${JSON.stringify(rows)}`),
        (e: unknown) => String(e),
      ));
      if (i % 10 === 9) await new Promise((r) => setTimeout(r, 50));
    }
    const answers = await Promise.all(fast);
    assert.equal(answers.filter((a) => a !== 'ok'), [], 'every fast select answered');
    assert.equal(await Promise.all(slow), Array(6).fill('TIMEOUT'));
    await until('every connection is idle again after the checks', () => pool.stats().servers.every((s) => s.connections.idle + s.connections.busy >= 2), 10_000);
    assert.equal(pool.stats().servers.map((s) => [s.up, s.errors]), [[true, 0], [true, 0], [true, 0]], 'no server was blamed for the slow queries');
  } finally {
    await app.stop();
  }
});

test('slow :: a timed-out select is killed on its server', async () => {
  const pool = definePool({ connectionStrings: serverUrls().slice(0, 1), name: `it-slow-kill-${process.pid}`, poolSize: 1, maxOverflow: 0 });
  const app = await startSupervisor([pool]);
  try {
    const queryId = `it-slow-kill-${process.pid}-${Date.now()}`;
    const code = await pool.select(SLOW, {}, { timeout: 700, queryId }).then(() => 'answered', (e: { code?: string }) => e.code);
    assert.is(code, 'TIMEOUT');
    // Without the KILL the server runs it for ~10 s more.
    await until('the server no longer runs the timed-out query', async () => !(await running(0, queryId)), 1_500, 50);
  } finally {
    await app.stop();
  }
});

test('slow :: an aborted select is killed on its server, also with an id the pool chose', async () => {
  const pool = definePool({ connectionStrings: serverUrls().slice(0, 1), name: `it-slow-abort-${process.pid}`, poolSize: 1, maxOverflow: 0 });
  const app = await startSupervisor([pool]);
  try {
    const ac = new AbortController();
    const tag = `it-slow-abort-${process.pid}-${Date.now()}`;
    const call = pool.select(`${SLOW.replace('AS s', `AS s, '${tag}' AS tag`)}`, {}, { signal: ac.signal, timeout: 30_000 })
      .then(() => 'answered', (e: { code?: string }) => e.code);
    const find = async (): Promise<string> =>
      (await sql(0, `SELECT query_id FROM system.processes WHERE query LIKE '%${tag}%' AND query NOT LIKE '%system.processes%'`)).trim();
    await until('the select runs on the server', async () => (await find()) !== '', 10_000, 50);
    const queryId = await find();
    ac.abort();
    assert.is(await call, 'ABORTED');
    await until('the server no longer runs the aborted query', async () => !(await running(0, queryId)), 1_500, 50);
  } finally {
    await app.stop();
  }
});

test('hedge :: with hedgeAfter, a read on a server that hangs is answered by another one, long before its timeout', async () => {
  // Server 0 behind a black hole (accepts, never answers): a hung server, as under SIGSTOP.
  const hole = await startFaultProxy({ target: serverUrls()[0] as string, mode: { mode: 'blackhole' } });
  const pool = definePool({
    connectionStrings: [hole.url(), serverUrls()[1] as string], name: `it-hedge-${process.pid}`, poolSize: 2, maxOverflow: 2,
    balance: 'in_order', timeout: 8_000, hedgeAfter: 300, readRetries: 0,
  });
  const app = await startSupervisor([pool]);
  try {
    const t0 = Date.now();
    const rows = await pool.select(WHO);
    const took = Date.now() - t0;
    assert.equal(rows, [{ replica: 'r1' }], 'answered by the other server');
    assert.ok(took < 4_000, `answered after the hedge delay, not the 8 s timeout (${took} ms)`);
    assert.is(pool.stats().servers[1]!.queries >= 1, true);
    // The hung attempt was cancelled: its connection does not stay busy until its timeout.
    await until('no call in flight on the hung server', () => pool.stats().servers[0]!.inFlight === 0, 3_000);
    // It asks its server /ping, as after a timeout, and the hung server fails it: the reads
    // after go straight to the other server (before, each was sent to the hung one first and
    // paid the hedge delay, and the hung server stayed in service).
    const sent = pool.stats().servers[0]!.queries;
    for (let i = 0; i < 5; i++) assert.equal(await pool.select(WHO), [{ replica: 'r1' }]);
    assert.is(pool.stats().servers[0]!.queries, sent, 'no read was sent to the hung server again');
  } finally {
    await app.stop();
    await hole.close();
  }
});

test('hedge :: a read that answers before hedgeAfter is sent once', async () => {
  const pool = definePool({ connectionStrings: serverUrls(), name: `it-hedge-once-${process.pid}`, poolSize: 3, hedgeAfter: 2_000 });
  const app = await startSupervisor([pool]);
  try {
    for (let i = 0; i < 6; i++) assert.equal(await pool.select('SELECT {i} AS i', { i }), [{ i }]);
    assert.is(pool.stats().servers.reduce((n, s) => n + s.queries, 0), 6);
  } finally {
    await app.stop();
  }
});

test.run();
