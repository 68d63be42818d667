// stats() while calls run, on a real server: what an operator would read from it.
import { suite } from 'uvu';
import { startFaultProxy } from '../support/fault-proxy.js';
import * as assert from 'uvu/assert';
import { definePool, startSupervisor, type PoolStats } from '../../src/index.js';
import { serverUrls, TEST_ENGINE } from './cluster.js';
import { until } from './helpers.js';

const test = suite('pool-stats');

test('stats :: each server\'s version, read when the pool starts, without a call being made', async () => {
  const pool = definePool({ connectionStrings: serverUrls({ user: 'colonnade' }), name: `it-stats-version-${process.pid}`, poolSize: 3 });
  const app = await startSupervisor([pool]);
  try {
    await until('every server\'s version is known', () => pool.stats().servers.every((s) => s.version !== undefined), 10_000);
    const versions = pool.stats().servers.map((s) => s.version);
    for (const v of versions) assert.match(String(v), TEST_ENGINE === 'modern' ? /^26\.7\./ : /^18\.16\./);
    assert.is(pool.stats().servers.reduce((n, s) => n + s.queries, 0), 0, 'no call was made: the version is read on a connection of its own');
  } finally {
    await app.stop();
  }
});

test('stats :: inFlight, busy connections, waiters and queries follow the calls as they run', async () => {
  const pool = definePool({
    connectionStrings: serverUrls({ user: 'colonnade' }).slice(0, 2), name: `it-stats-${process.pid}`,
    poolSize: 2, maxOverflow: 0, poolTimeout: 30_000, balance: 'round_robin',
  });
  const app = await startSupervisor([pool]);
  try {
    const idle: PoolStats = pool.stats();
    assert.is(idle.started, true);
    assert.equal(idle.servers.map((s) => [s.inFlight, s.connections.idle, s.connections.busy, s.queries, s.errors]), [[0, 1, 0, 0, 0], [0, 1, 0, 0, 0]]);
    assert.is(idle.idle, 2);

    const slow = [pool.select('SELECT sleep(2) AS s'), pool.select('SELECT sleep(2) AS s')];
    await until('both connections busy', () => pool.stats().servers.every((s) => s.connections.busy === 1));
    let s = pool.stats();
    assert.equal(s.servers.map((x) => x.inFlight), [1, 1]);
    assert.equal(s.servers.map((x) => x.queries), [1, 1]);
    assert.is(s.inUse, 2);
    assert.is(s.idle, 0);
    assert.is(s.waiters, 0);

    const third = pool.select('SELECT 3 AS x');
    await until('the third caller waits', () => pool.stats().waiters === 1);
    assert.equal(pool.stats().servers.map((x) => x.queries), [1, 1], 'a waiter has sent nothing yet');

    assert.equal(await third, [{ x: 3 }]);
    await Promise.all(slow);
    s = pool.stats();
    assert.is(s.waiters, 0);
    assert.equal(s.servers.map((x) => x.inFlight), [0, 0]);
    assert.equal(s.servers.map((x) => x.connections.busy), [0, 0]);
    assert.is(s.servers.reduce((n, x) => n + x.queries, 0), 3);
    assert.equal(s.servers.map((x) => x.errors), [0, 0]);
    assert.equal(s.servers.map((x) => x.penalty), [0, 0]);
  } finally {
    await app.stop();
  }
});

test('stats :: a broken connection counts as an error and adds a penalty below the mark-down line; it goes down again', async () => {
  const proxy = await startFaultProxy({ target: serverUrls({ user: 'colonnade' })[0] as string });
  const pool = definePool({ connectionStrings: [proxy.url()], name: `it-stats-p-${process.pid}`, poolSize: 1, readRetries: 0 });
  const app = await startSupervisor([pool]);
  try {
    // The select itself must meet the fault, not the version question a new pool asks first.
    await until('the server\'s version is known', () => pool.stats().servers[0]!.version !== undefined, 5_000);
    proxy.setMode('reset-after-request');
    const code = await pool.select('SELECT 1 AS x').then(() => 'ok', (e: { code?: string; message?: string }) => e.code ?? e.message);
    proxy.setMode('pass');
    assert.is(code, 'TRANSPORT');
    const s = pool.stats().servers[0]!;
    assert.is(s.errors, 1);
    assert.ok(s.queries >= 1);
    assert.ok(s.penalty > 0.5 && s.penalty <= 1, `penalty of one soft failure, decaying (half-life 10 s): ${s.penalty}`);
    assert.ok(s.up, 'one failure does not mark it down');
    await until('the connection is back after its reset', () => pool.stats().idle === 1);
    assert.equal(await pool.select('SELECT 1 AS x'), [{ x: 1 }]);
    const later = pool.stats().servers[0]!;
    // Lower by now: it halves every 10 s, and the probe after the reset forgives it.
    assert.ok(later.penalty < s.penalty, `the penalty went down (${s.penalty} → ${later.penalty})`);
    assert.is(later.errors, 1);
  } finally {
    await app.stop();
    await proxy.close();
  }
});

test('stats :: a timeout is the caller\'s: no error, no penalty, while the server answers /ping', async () => {
  const pool = definePool({ connectionStrings: serverUrls({ user: 'colonnade' }).slice(0, 1), name: `it-stats-t-${process.pid}`, poolSize: 1 });
  const app = await startSupervisor([pool]);
  try {
    const code = await pool.select('SELECT sleep(2) AS s', {}, { timeout: 100 }).then(() => 'ok', (e: { code?: string }) => e.code);
    assert.is(code, 'TIMEOUT');
    await until('the connection is back after its check', () => pool.stats().idle === 1);
    const s = pool.stats().servers[0]!;
    assert.equal([s.errors, s.penalty, s.up, s.queries], [0, 0, true, 1]);
  } finally {
    await app.stop();
  }
});

test.run();
