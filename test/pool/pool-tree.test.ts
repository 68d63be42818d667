// The pool's supervision tree (pool-tree.ts) under faults: a burst of connection crashes,
// the broker crashing, an overflow connection whose start is refused. Fake servers (the
// ConnectionIO seam) and a simulated clock, as in define-pool.test.ts; every wait is a few
// setImmediate turns or a step of the test clock.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { TransportError } from '../../src/clickhouse/errors.js';
import { createTestClock, startSupervisor, supervisorOf, type ChildActor, type Supervisor, type SupervisorNotice } from '../../src/otp/index.js';
import { definePoolWith } from '../../src/pool/define-pool.js';
import { PoolNotStartedError } from '../../src/pool/errors.js';
import { fakeServers } from './fake-servers.js';
import type { PoolOptions } from '../../src/pool/options.js';

const urls = [1, 2, 3].map((i) => `http://alice:secret@10.0.0.${i}:8123/db`);
const flush = async (n = 5) => {
  for (let i = 0; i < n; i++) await new Promise((resolve) => setImmediate(resolve));
};
const codeOf = (e: unknown) => (e as { code?: string } | undefined)?.code;
const bug = async (): Promise<never> => {
  throw new TypeError("Cannot read properties of undefined (reading 'x')");
};

let seq = 0;
async function started(options: Partial<PoolOptions> = {}) {
  const fake = fakeServers();
  const clock = createTestClock();
  const pool = definePoolWith({ connectionStrings: urls, name: `tree-${++seq}`, poolSize: 3, ...options }, fake.io);
  const app = await startSupervisor([pool], { clock });
  return { ...fake, pool, app, clock };
}

/** The pool supervisor's child `id` (broker, connections, writer), as a supervisor shows it. */
function childOf(app: Supervisor, id: string): ChildActor {
  const poolActor = app.whichChildren()[0]!.actor!;
  const actor = supervisorOf(poolActor)!.whichChildren().find((c) => c.id === id)?.actor;
  if (actor === undefined) throw new Error(`no running child '${id}'`);
  return actor;
}

/** Every server crashes its connection on `bug` and holds `slow` until the returned release. */
function crashOrHold(behaviour: ReturnType<typeof fakeServers>['behaviour']): () => void {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  for (let i = 0; i < 3; i++) {
    behaviour[i] = async (req) => {
      if (req.body.includes('bug')) return bug();
      if (req.body.includes('slow')) {
        await gate;
        return [{ x: 'slow' }];
      }
      return [{ x: i }];
    };
  }
  return release;
}

const test = suite('pool-tree');

test('crash :: a burst of poolSize connection crashes leaves the healthy connections alone: a call in flight on one still gets its answer', async () => {
  // poolSize 5: the connections supervisor takes max(3, 5) = 5 restarts within its period.
  const { pool, app, behaviour, sent, opened } = await started({ poolSize: 5, maxOverflow: 0 });
  const release = crashOrHold(behaviour);
  const slow = pool.select('SELECT slow').then((rows) => ({ rows }), (e: unknown) => ({ error: codeOf(e) }));
  await flush();
  assert.is(pool.stats().inUse, 1, 'the slow call holds one connection');
  assert.is(opened(), 5);
  for (let i = 0; i < 5; i++) {
    assert.is(codeOf(await pool.select('SELECT bug').catch((e: unknown) => e)), 'POOL_CONNECTION_CRASHED', `crash ${i + 1}`);
    await flush();
  }
  release();
  const outcome = await Promise.race([slow, flush(20).then(() => 'still waiting')]);
  assert.equal(outcome, { rows: [{ x: 'slow' }] }, 'the call in flight on a healthy connection was answered');
  assert.is(sent.filter((s) => s.body.includes('slow')).length, 1, 'and sent once, not retried after a restart');
  // Each crash restarted its own connection only (one new Client each): nobody else was stopped.
  assert.is(opened(), 10, 'five restarts, five new Clients; the busy connection kept its own');
  await flush();
  assert.is(pool.stats().idle, 5);
  assert.is(app.status, 'running');
  await app.stop();
});

test('crash :: when the broker crashes with an async batch in flight, the batch is kept for the restart, then written; nothing is dead-lettered', async () => {
  const dead: Array<{ code: string | undefined; rows: number }> = [];
  const { pool, app, clock, behaviour, sent } = await started({
    poolSize: 3, maxOverflow: 0, asyncRetries: 0, onError: (e, rows) => dead.push({ code: codeOf(e), rows: rows.length }),
  });
  // The first insert hangs on its server (a slow write): in flight when the broker goes.
  let inserts = 0;
  for (let i = 0; i < 3; i++) {
    behaviour[i] = async (req) => {
      if (req.type === 'insert_to_table' && ++inserts === 1) return new Promise(() => undefined);
      return req.type === 'select' ? [{ x: i }] : undefined;
    };
  }
  pool.asyncInsertToTable('events', [{ id: 1 }, { id: 2 }]);
  const flushed = pool.flush().then(() => 'flushed');
  await flush();
  assert.is(inserts, 1, 'the batch is in flight');
  // The broker's actor ends outside its supervisor: a crash, which the pool supervisor
  // (rest_for_one) answers by restarting the broker, the connections and the writer.
  childOf(app, 'broker').stop();
  // Give the writer's drain its whole shutdown time: a drain left waiting on the batch in
  // flight would run out of it and dead-letter the rows.
  for (let i = 0; i < 20; i++) {
    clock.advance(500);
    await flush();
  }
  assert.is(await Promise.race([flushed, flush().then(() => 'still waiting')]), 'flushed');
  assert.equal(dead, [], 'no row reported as not written');
  assert.is(app.status, 'running');
  const written = sent.filter((s) => s.body.startsWith('INSERT'));
  assert.is(written.length, 2, 'sent again after the restart');
  assert.is(written[1]!.body, 'INSERT INTO `events` (`id`) FORMAT JSONEachRow\n{"id":1}\n{"id":2}\n');
  assert.equal([pool.stats().writer.written, pool.stats().writer.failed, pool.stats().writer.dropped], [2, 0, 0]);
  assert.equal(await pool.select('SELECT 1', {}, { timeout: 5_000 }).then(() => 'ok'), 'ok', 'the restarted broker serves');
  await app.stop();
});

/**
 * Brings the connections supervisor to give up while two calls hold connections: `during`
 * runs at that moment, when a caller finds nothing idle and gets an overflow connection
 * that the dying supervisor refuses to start. Returns what `during` gave, the held calls
 * (answered once `gates` are opened) and the gates.
 */
async function atGiveUp<T>(options: Partial<PoolOptions>, during: (pool: Awaited<ReturnType<typeof started>>['pool']) => Promise<T>) {
  const tree = await started({ poolSize: 3, maxOverflow: 1, poolTimeout: 1_000, asyncFlushInterval: 60_000, ...options });
  const { pool, app, behaviour } = tree;
  const gates: Array<() => void> = [];
  for (let i = 0; i < 3; i++) {
    behaviour[i] = async (req) => {
      if (req.body.includes('bug')) return bug();
      if (req.body.includes('held')) return new Promise((resolve) => gates.push(() => resolve([{ x: 'held' }])));
      return req.type === 'select' ? [{ x: i }] : undefined;
    };
  }
  // Three crashes: the connections supervisor's whole intensity (max(3, poolSize) = 3).
  for (let i = 0; i < 3; i++) {
    assert.is(codeOf(await pool.select('SELECT bug').catch((e: unknown) => e)), 'POOL_CONNECTION_CRASHED');
    await flush();
  }
  // Two connections busy; the fourth crash, on the third, makes the connections supervisor give up.
  const held = [pool.select('SELECT held'), pool.select('SELECT held')].map((h) => h.then(() => 'ok', (e: unknown) => codeOf(e)));
  await flush();
  assert.is(pool.stats().inUse, 2);
  let result: Promise<T> | undefined;
  const unwatch = app.watch((notice: SupervisorNotice) => {
    if (notice.type === 'give_up' && notice.supervisor === 'connections' && result === undefined) result = during(pool);
  });
  assert.is(codeOf(await pool.select('SELECT bug').catch((e: unknown) => e)), 'POOL_CONNECTION_CRASHED');
  await flush(20);
  unwatch();
  assert.ok(result !== undefined, 'the connections supervisor gave up');
  return { ...tree, result, held, gates };
}

test('overflow :: an overflow connection whose start the dying connections supervisor refuses leaves no slot behind: later callers still get one', async () => {
  const { pool, app, clock, result, held, gates } = await atGiveUp({}, (p) => p.select('SELECT 1').then(() => 'ok', (e: unknown) => codeOf(e)));
  assert.ok(await Promise.race([result, flush().then(() => 'still waiting')]) !== 'still waiting', 'the caller on the refused overflow connection is answered');
  // The held calls were stopped with their connections; the pool restarted the connections.
  for (const open of gates) open();
  await Promise.all(held);
  await flush();
  assert.is(app.status, 'running');
  assert.is(pool.stats().overflow, 0, 'the broker holds no overflow slot for the connection that never started');
  // Every base connection busy: the next caller must get an overflow connection, not wait out its poolTimeout.
  const busy = [pool.select('SELECT held'), pool.select('SELECT held'), pool.select('SELECT held')];
  await flush();
  const extra = pool.select('SELECT 1').then(() => 'ok', (e: unknown) => codeOf(e));
  await flush();
  clock.advance(1_000);
  assert.is(await Promise.race([extra, flush().then(() => 'still waiting')]), 'ok', 'answered on an overflow connection');
  for (const open of gates) open();
  await Promise.all(busy);
  await app.stop();
});

test('overflow :: a write lent the overflow connection the dying supervisor refuses fails as the pool\'s, never sent; an async row there is written after the restart, not dead-lettered', async () => {
  // The insert's error is what a caller would read: a pool error that says nothing was sent.
  const { app, result, held, gates, sent } = await atGiveUp({}, (p) => p.insert('INSERT INTO t VALUES (1)').then(() => undefined, (e: unknown) => e));
  const err = await result;
  assert.instance(err, PoolNotStartedError, `got ${String(err)}`);
  assert.match((err as Error).message, 'restarting its connections');
  assert.ok(!sent.some((s) => s.body.startsWith('INSERT')), 'nothing was sent');
  for (const open of gates) open();
  await Promise.all(held);
  await app.stop();

  // The same moment for an async row, with no retries allowed: the writer keeps it for the restart.
  const dead: unknown[] = [];
  const tree = await atGiveUp({ asyncRetries: 0, onError: (e) => void dead.push(e) }, async (p) => {
    p.asyncInsertToTable('t', { a: 1 });
    return p.flush().then(() => 'flushed');
  });
  for (const open of tree.gates) open();
  await Promise.all(tree.held);
  let flushed: string | undefined;
  void tree.result.then((r) => { flushed = r; });
  for (let i = 0; i < 40 && flushed === undefined; i++) {
    tree.clock.advance(500);
    await flush(10);
  }
  assert.is(flushed, 'flushed');
  assert.equal(dead, [], 'nothing dead-lettered');
  assert.is(tree.pool.stats().writer.written, 1);
  assert.is(tree.sent.filter((s) => s.body.startsWith('INSERT')).length, 1, 'the row was written once');
  await tree.app.stop();
});

test('crash :: crashes spread out over more than the period never add up: one every 2 s keeps the pool serving', async () => {
  // poolSize 3: the connections supervisor takes 3 restarts within 5 s, whatever came before.
  const { pool, app, clock, behaviour, sent } = await started({ poolSize: 3, maxOverflow: 0 });
  const release = crashOrHold(behaviour);
  const slow = pool.select('SELECT slow', {}, { timeout: 600_000 }).then((rows) => ({ rows }), (e: unknown) => ({ error: codeOf(e) }));
  await flush();
  // Six crashes, 2 s apart: never more than three within any 5 s.
  for (let i = 0; i < 6; i++) {
    assert.is(codeOf(await pool.select('SELECT bug').catch((e: unknown) => e)), 'POOL_CONNECTION_CRASHED', `crash ${i + 1}`);
    await flush();
    clock.advance(2_000);
    await flush();
  }
  release();
  const outcome = await Promise.race([slow, flush(20).then(() => 'still waiting')]);
  assert.equal(outcome, { rows: [{ x: 'slow' }] }, 'the call in flight was not stopped by a give-up of the connections supervisor');
  assert.is(sent.filter((s) => s.body.includes('slow')).length, 1);
  await flush();
  assert.is(pool.stats().idle, 3);
  assert.is(app.status, 'running');
  await app.stop();
});

test('health :: a server probed back up counts only its failures in stats(), not the probe that answered', async () => {
  const { pool, app, clock, behaviour, probeOk } = await started({ poolSize: 3, balance: 'in_order', backoff: { initial: 100, max: 100 } });
  behaviour[0] = async () => { throw new TransportError('connect ECONNREFUSED', false); };
  probeOk[0] = false;
  assert.equal(await pool.select('SELECT 1'), [{ x: 1 }], 'failed over to server 1');
  assert.not.ok(pool.stats().servers[0]!.up);
  assert.equal(pool.stats().servers.map((s) => s.errors), [1, 0, 0]);
  behaviour[0] = async () => [{ x: 0 }];
  probeOk[0] = true;
  clock.advance(100);
  await flush();
  assert.ok(pool.stats().servers[0]!.up, 'probed back up');
  assert.equal(pool.stats().servers.map((s) => s.errors), [1, 0, 0], 'the answered probe is no error');
  assert.equal(await pool.select('SELECT 1'), [{ x: 0 }]);
  await app.stop();
});

test.run();
