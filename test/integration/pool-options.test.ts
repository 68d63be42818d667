// Pool-wide defaults and per-call overrides reach the server: timeout, settings, int64.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { definePool, startSupervisor } from '../../src/index.js';
import { serverUrls } from './cluster.js';

const test = suite('pool-options');
const MAX_THREADS = "SELECT value FROM system.settings WHERE name = 'max_threads'";

test('options :: settings and int64 for every query; a call\'s own options win', async () => {
  const pool = definePool({ connectionStrings: serverUrls({ user: 'colonnade' }), name: `it-options-${process.pid}`, poolSize: 3, settings: { max_threads: 3 }, int64: 'string' });
  const app = await startSupervisor([pool]);
  try {
    assert.equal(await pool.select(MAX_THREADS), [{ value: '3' }]);
    // Not 2: a 26.x server on two cores shows max_threads=2 as its own default, 'auto(2)'.
    assert.equal(await pool.select(MAX_THREADS, {}, { settings: { max_threads: 1 } }), [{ value: '1' }]);
    assert.equal(await pool.select('SELECT toUInt64(42) AS x'), [{ x: '42' }]);
    assert.equal(await pool.select('SELECT toUInt64(42) AS x', {}, { int64: 'auto' }), [{ x: 42 }]);
  } finally {
    await app.stop();
  }
});

test('options :: a call\'s timeout overrides the pool\'s', async () => {
  const pool = definePool({ connectionStrings: serverUrls({ user: 'colonnade' }), name: `it-options-t-${process.pid}`, poolSize: 3, timeout: 10_000 });
  const app = await startSupervisor([pool]);
  try {
    const t0 = Date.now();
    const code = await pool.select('SELECT sleep(1) AS s', {}, { timeout: 200 }).then(() => 'ok', (e: { code?: string }) => e.code);
    assert.is(code, 'TIMEOUT');
    // The pool's 10 s timeout would have let sleep(1) answer: TIMEOUT is the call's 200 ms,
    // never earlier than it and far from the pool's.
    const took = Date.now() - t0;
    assert.ok(took >= 190 && took < 10_000 / 2, `ended by the call's timeout (${took} ms)`);
    assert.equal(await pool.select('SELECT sleep(1) AS s'), [{ s: 0 }], "the pool's 10 s timeout lets it finish");
  } finally {
    await app.stop();
  }
});

test.run();
