// readRetries on the real cluster: a read that fails on the network is tried again on
// another server, at most readRetries times. Two "killed" servers (ports nobody listens
// on) come first in in_order, the third is a real replica; stats().servers[i].queries
// counts what was sent where.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { definePool, startSupervisor, type PoolOptions } from '../../src/index.js';
import { serverUrls, whoQuery } from './cluster.js';

const test = suite('pool-retries');
const WHO = whoQuery();
let seq = 0;

async function withPool<T>(extra: Partial<PoolOptions>, fn: (pool: ReturnType<typeof definePool>) => Promise<T>): Promise<T> {
  const pool = definePool({
    connectionStrings: ['http://colonnade:pw@127.0.0.1:1/default', 'http://colonnade:pw@127.0.0.1:2/default', serverUrls({ user: 'colonnade' })[0]!],
    name: `it-retries-${process.pid}-${++seq}`,
    poolSize: 3,
    maxOverflow: 0,
    balance: 'in_order',
    backoff: { initial: 5_000, max: 10_000 }, // no probe gets in the way while the test runs
    ...extra,
  });
  const app = await startSupervisor([pool]);
  try {
    return await fn(pool);
  } finally {
    await app.stop();
  }
}

const outcome = (p: Promise<unknown>) => p.then((v) => ({ ok: true as const, v }), (e: { code?: string }) => ({ ok: false as const, code: e.code }));

test('readRetries :: default 2: a read tries both dead servers, then answers from the third', async () => {
  await withPool({}, async (pool) => {
    const r = await outcome(pool.select(WHO));
    assert.equal(r, { ok: true, v: [{ replica: 'r0' }] });
    assert.equal(pool.stats().servers.map((s) => s.queries), [1, 1, 1], 'three attempts, one per server');
    assert.equal(pool.stats().servers.map((s) => s.up), [false, false, true], 'the refusing servers are marked down');
  });
});

test('readRetries :: 1: two attempts, both on dead servers, and the caller gets the network error', async () => {
  await withPool({ readRetries: 1 }, async (pool) => {
    const r = await outcome(pool.select(WHO));
    assert.equal(r, { ok: false, code: 'TRANSPORT' });
    assert.equal(pool.stats().servers.map((s) => s.queries), [1, 1, 0], 'the live server was never tried');
  });
});

test('readRetries :: 0: one attempt, no retry', async () => {
  await withPool({ readRetries: 0 }, async (pool) => {
    const r = await outcome(pool.select(WHO));
    assert.equal(r, { ok: false, code: 'TRANSPORT' });
    assert.equal(pool.stats().servers.map((s) => s.queries), [1, 0, 0]);
    // The dead server is marked down now: the next call goes to the next one, and so on.
    assert.equal(await outcome(pool.select(WHO)), { ok: false, code: 'TRANSPORT' });
    assert.equal(await outcome(pool.select(WHO)), { ok: true, v: [{ replica: 'r0' }] });
    assert.equal(pool.stats().servers.map((s) => s.queries), [1, 1, 1]);
  });
});

test('readRetries :: bounds writes that never left too: readRetries 0 fails, the default lands on the live server', async () => {
  await withPool({ readRetries: 0 }, async (pool) => {
    assert.equal(await outcome(pool.query('SELECT 1 FORMAT TSV')), { ok: false, code: 'TRANSPORT' });
    assert.equal(await outcome(pool.insertToTable('no_such_table_for_retries', { x: 1 })), { ok: false, code: 'TRANSPORT' }, 'a refused connection: the write never left');
    assert.equal(pool.stats().servers.map((s) => s.queries), [1, 1, 0]);
  });
  await withPool({}, async (pool) => {
    const r = await outcome(pool.insertToTable('no_such_table_for_retries', { x: 1 }));
    assert.equal(r, { ok: false, code: 'CLICKHOUSE' }, 'retried until it reached the live server, which answered');
    assert.equal(pool.stats().servers.map((s) => s.queries), [1, 1, 1]);
  });
});

test.run();
