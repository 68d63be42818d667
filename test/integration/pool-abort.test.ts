// A caller that gives up mid-query (NimblePool's rule): its connection is not handed to the
// next caller with half a response on the socket; it gets a fresh Client first.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { definePool, startSupervisor } from '../../src/index.js';
import { until } from './helpers.js';
import { serverUrls } from './cluster.js';

const test = suite('pool-abort');

test('abort :: a caller that gave up mid-query leaves a clean connection for the next one', async () => {
  const pool = definePool({ connectionStrings: serverUrls({ user: 'colonnade' }).slice(0, 1), name: `it-abort-${process.pid}`, poolSize: 1, maxOverflow: 0 });
  const app = await startSupervisor([pool]);
  try {
    const ac = new AbortController();
    // About 10 s on the server (20 blocks of one row, 0.5 s each), so "released at once"
    // has a wide margin on a loaded machine.
    const slow = pool.select('SELECT sleepEachRow(0.5) AS s FROM numbers(20) SETTINGS max_block_size = 1', {}, { signal: ac.signal, timeout: 30_000 })
      .then(() => 'answered', (e: { code?: string }) => e.code);
    await until('the slow select is in flight', () => pool.stats().servers[0]!.inFlight === 1);
    const t0 = Date.now();
    ac.abort();
    assert.is(await slow, 'ABORTED');
    const took = Date.now() - t0;
    assert.ok(took < 5_000, `the caller was released at once, not when the query ended (${took} ms)`);
    // The only connection serves the next caller with its own answer, not the old stream.
    for (let i = 0; i < 5; i++) assert.equal(await pool.select('SELECT {i} AS i', { i }), [{ i }]);
    const s = pool.stats().servers[0]!;
    assert.is(s.errors, 0, 'giving up is not a server failure');
    assert.ok(s.up);
  } finally {
    await app.stop();
  }
});

test.run();
