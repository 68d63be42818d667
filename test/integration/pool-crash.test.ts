// A bug inside one connection actor on the real cluster: that actor crashes, the caller it
// served gets POOL_CONNECTION_CRASHED, its supervisor restarts it, every other call carries on.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { perform } from '../../src/clickhouse/index.js';
import { defaultIO } from '../../src/pool/connection/io.js';
import { startSupervisor } from '../../src/otp/index.js';
import { definePoolWith } from '../../src/pool/define-pool.js';
import { serverUrls } from './cluster.js';

const test = suite('pool-crash');

test('crash :: one connection crashes and restarts; concurrent calls are undisturbed', async () => {
  const defaults = { timeout: 5_000, int64: 'auto' } as const;
  const pool = definePoolWith(
    { connectionStrings: serverUrls({ user: 'colonnade' }), name: `it-crash-${process.pid}`, poolSize: 6 },
    {
      ...defaultIO(defaults),
      // The seam stands for a bug in our code: a TypeError thrown while serving one query.
      perform: (transport, server, request) =>
        request.body.includes('crash_me') ? Promise.reject(new TypeError('undefined is not a function')) : perform(transport, server, request, defaults),
    },
  );
  const app = await startSupervisor([pool]);
  try {
    const others = Array.from({ length: 20 }, (_, i) => pool.select('SELECT {i} AS i, sleepEachRow(0.05) AS s', { i }));
    const crashed = await pool.select('SELECT 1 AS crash_me').catch((e: { code?: string; cause?: unknown }) => e);
    assert.is((crashed as { code?: string }).code, 'POOL_CONNECTION_CRASHED');
    assert.instance((crashed as { cause?: unknown }).cause, TypeError);
    const rows = await Promise.all(others);
    assert.equal(rows.map((r) => r[0]!.i), Array.from({ length: 20 }, (_, i) => i), 'every other call answered');
    let stats = pool.stats();
    for (let i = 0; i < 40 && stats.idle !== 6; i++) {
      await new Promise((r) => setTimeout(r, 25));
      stats = pool.stats();
    }
    assert.is(stats.idle, 6, 'the crashed connection was restarted: all six idle');
    assert.equal(stats.servers.map((s) => s.up), [true, true, true], 'a bug is not a server failure');
    assert.is(app.status, 'running');
    const again = await Promise.all(Array.from({ length: 12 }, () => pool.select('SELECT 1 AS x')));
    assert.is(again.length, 12);
  } finally {
    await app.stop();
  }
});

test.run();
