// Pool exhaustion on the real cluster: more slow callers than connections plus overflow.
// The excess wait `poolTimeout` and get POOL_TIMEOUT; nothing leaks afterwards.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { definePool, startSupervisor } from '../../src/index.js';
import { serverUrls } from './cluster.js';

const test = suite('pool-exhaustion');

test('exhaustion :: poolSize 2 + maxOverflow 1, ten slow selects: seven POOL_TIMEOUT, then 2 idle and no overflow', async () => {
  const pool = definePool({
    connectionStrings: serverUrls({ user: 'colonnade' }),
    name: `it-exhaustion-${process.pid}`,
    poolSize: 2,
    maxOverflow: 1,
    poolTimeout: 300,
    overflowLinger: 200,
  });
  const app = await startSupervisor([pool]);
  try {
    const t0 = Date.now();
    const results = await Promise.all(
      Array.from({ length: 10 }, () =>
        pool.select('SELECT sleep(3) AS s').then(
          () => ({ ok: true, code: 'ok', ms: Date.now() - t0 }),
          (e: { code?: string }) => ({ ok: false, code: e.code ?? String(e), ms: Date.now() - t0 }),
        ),
      ),
    );
    const timedOut = results.filter((r) => r.code === 'POOL_TIMEOUT');
    assert.is(results.filter((r) => r.ok).length, 3, 'poolSize + maxOverflow callers were served');
    assert.is(timedOut.length, 7, JSON.stringify(results));
    // Given up after poolTimeout (never before it), and before any slow select (3 s) was
    // answered: they did not wait for a connection to come back.
    const firstServed = Math.min(...results.filter((r) => r.ok).map((r) => r.ms));
    for (const r of timedOut) assert.ok(r.ms >= 290 && r.ms < firstServed, `gave up after poolTimeout, not after a slow select (${r.ms} ms, first answer at ${firstServed} ms)`);
    const during = pool.stats();
    assert.is(during.waiters, 0, 'no waiter left behind');
    let stats = during;
    // The linger is 200 ms; on a loaded 2-core machine timers run late, so allow up to 10 s.
    for (let i = 0; i < 200 && (stats.overflow > 0 || stats.idle !== 2); i++) {
      await new Promise((r) => setTimeout(r, 50));
      stats = pool.stats();
    }
    assert.is(stats.overflow, 0, 'the overflow connection was dismissed after its linger');
    assert.is(stats.idle, 2);
    assert.is(stats.inUse, 0);
    const states = stats.servers.reduce((n, s) => n + s.connections.idle, 0);
    assert.is(states, 2, 'two connection actors remain, both idle');
    assert.equal(await pool.select('SELECT 1 AS x'), [{ x: 1 }], 'the pool still serves');
  } finally {
    await app.stop();
  }
});

test.run();
