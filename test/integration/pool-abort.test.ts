// A caller that gives up mid-query (NimblePool's rule): its connection is not handed to the
// next caller with half a response on the socket; it gets a fresh Client first.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startSupervisor } from '../../src/otp/index.js';
import { definePool } from '../../src/pool/define-pool.js';
import { serverUrls } from './cluster.js';

const test = suite('pool-abort');

test('abort :: a caller that gave up mid-query leaves a clean connection for the next one', async () => {
  const pool = definePool({ connectionStrings: serverUrls({ user: 'colonnade' }).slice(0, 1), name: `it-abort-${process.pid}`, poolSize: 1, maxOverflow: 0 });
  const app = await startSupervisor([pool]);
  try {
    const ac = new AbortController();
    const t0 = Date.now();
    const slow = pool.select('SELECT sleep(2) AS s', {}, { signal: ac.signal }).catch((e: { code?: string }) => e.code);
    setTimeout(() => ac.abort(), 300);
    assert.is(await slow, 'ABORTED');
    assert.ok(Date.now() - t0 < 1_500, 'the caller was released at once');
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
