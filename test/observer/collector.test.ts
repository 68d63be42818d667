// The observer's collector on a simulated clock, fed the pool's events by hand: per-second
// history, rate and last minute as the page shows them; the query counters /metrics reads;
// the tree and the restarts table; and nothing left listening, nor held without bound.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Collector, HISTORY_SECONDS, type ObservedServer } from '../../src/observer/collector.js';
import { startSupervisor, supervisor, supervisorOf, type ChildSpec, type Supervisor } from '../../src/otp/index.js';
import type { ClickHousePool } from '../../src/pool/index.js';
import { heldBytes } from '../gc.js';
import { crashy, deadPool, emitQuery, until } from './fixtures.js';

const test = suite('observer collector');

interface Fixture {
  pool: ClickHousePool;
  app: Supervisor;
  collector: Collector;
  clock: { now: number };
}

/** A pool named P (and `extra` children) under a root, with a collector whose clock starts on a whole second. */
async function withCollector(extra: ChildSpec[], fn: (f: Fixture) => Promise<void>): Promise<void> {
  const pool = deadPool('P');
  const app = await startSupervisor([pool, ...extra], { intensity: 100, period: 1_000 });
  const clock = { now: 1_000_000_000 };
  const collector = new Collector(app, () => clock.now);
  try {
    await fn({ pool, app, collector, clock });
  } finally {
    collector.close();
    await app.stop();
  }
}

const server = (c: Collector): ObservedServer => c.snapshot().pools[0]!.servers[0]!;
const sum = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0);
const child = (sup: Supervisor, id: string) => sup.whichChildren().find((c) => c.id === id);

test('windows :: one history slot a second, the rate of the 5 whole seconds before, the last minute\'s calls and errors', async () => {
  await withCollector([], async ({ pool, collector, clock }) => {
    const t0 = clock.now;
    const at = (second: number, calls: number, errors = 0): void => {
      clock.now = t0 + second * 1_000 + 100;
      for (let i = 0; i < calls; i++) emitQuery(pool, 10 + i, i < errors ? 'error' : 'ok');
    };
    at(0, 2); at(1, 3, 1); at(2, 5, 3); at(3, 1);
    clock.now = t0 + 3_600;
    const now = server(collector);
    assert.equal(now.history.slice(-4), [2, 3, 5, 1]);
    assert.is(now.history.length, HISTORY_SECONDS);
    // Seconds 0..2 are whole, second 3 is still filling: (2 + 3 + 5) / 5.
    assert.is(now.rate, 2);
    assert.equal(now.lastMinute, { calls: 11, errors: 4 });
    // 90 s on, the first calls left the minute but are still on the 3-minute chart.
    at(93, 2);
    const later = server(collector);
    assert.equal(later.lastMinute, { calls: 2, errors: 0 });
    assert.is(sum(later.history), 13);
    // Ten minutes without a call (a quiet night): the chart keeps 180 slots, a new call in the newest.
    at(700, 1);
    const idle = server(collector);
    assert.is(idle.history.length, HISTORY_SECONDS);
    assert.is(idle.history.at(-1), 1);
    assert.is(sum(idle.history), 1);
    at(701, 2);
    const next = server(collector);
    assert.equal(next.history.slice(-3), [0, 1, 2]);
    assert.is(next.history.length, HISTORY_SECONDS);
  });
});

test('counters :: by outcome, bucket bounds inclusive (le), sum in seconds; the writer\'s sends a type of their own', async () => {
  await withCollector([], async ({ pool, collector }) => {
    for (const [ms, outcome] of [[1, 'error'], [2.5, 'ok'], [30, 'error'], [20_000, 'ok'], [7, 'ok']] as const) emitQuery(pool, ms, outcome);
    const server = pool.stats().servers[0]!.server;
    pool.events.emit('writer:batch', { pool: 'P', table: 't', rows: 3, attempt: 1, server, durationMs: 4, outcome: 'ok', error: undefined });
    const select = collector.queryCounters().find((c) => c.type === 'select');
    const writer = collector.queryCounters().find((c) => c.type === 'writer');
    assert.equal([...select!.outcomes].sort(), [['error', 2], ['ok', 3]]);
    // 1 ms sits on the first bound (0.001); 20 s is past the last (10) and only in +Inf.
    assert.equal(select!.buckets, [1, 2, 2, 3, 3, 4, 4, 4, 4, 4, 4, 4, 4, 5]);
    assert.ok(Math.abs(select!.sum - 20.0405) < 1e-9, String(select!.sum));
    assert.equal([...writer!.outcomes], [['ok', 1]]);
  });
});

test('tree :: restarts with reason and time, a give-up, a nested supervisor\'s restarts, the pool\'s name, a terminated child', async () => {
  // `inner` gives up at its child's first crash; the root then restarts `inner`.
  const extra = [crashy('w'), supervisor({ id: 'inner', intensity: 0, children: [crashy('x')] }), crashy('t')];
  await withCollector(extra, async ({ app, collector, clock }) => {
    clock.now = 1_000_000_500;
    child(app, 'w')!.actor!.send({ type: 'crash', why: 'boom-w' });
    await until('w restarted', () => child(app, 'w')?.restarts === 1);
    clock.now = 1_000_002_000;
    supervisorOf(child(app, 'inner')!.actor!)!.whichChildren()[0]!.actor!.send({ type: 'crash', why: 'boom-x' });
    await until('inner restarted', () => child(app, 'inner')?.restarts === 1 && child(app, 'inner')!.running);
    await app.terminateChild('t');
    const state = collector.snapshot();
    const w = state.restarts.find((r) => r.child === 'w');
    assert.equal({ ...w!, lastReason: undefined }, { supervisor: 'root', child: 'w', count: 1, gaveUp: 0, lastReason: undefined, at: 1_000_000_500 });
    assert.match(w!.lastReason, /boom-w/);
    const x = state.restarts.find((r) => r.supervisor === 'inner' && r.child === 'x');
    assert.equal([x?.count, x?.gaveUp], [0, 1]);
    assert.match(x!.lastReason, /boom-x/);
    const node = (id: string) => state.tree.children.find((c) => c.id === id);
    assert.equal([node('inner')?.type, node('inner')?.restarts], ['supervisor', 1]);
    assert.is(node('w')?.restarts, 1);
    assert.is(node('t')?.state, 'stopped');
    assert.is(node('P')?.pool, 'P');
    assert.is(node('w')?.pool, undefined);
  });
});

test('close :: no listener left on the pool, and the tree\'s restarts no longer counted', async () => {
  await withCollector([crashy('w')], async ({ pool, app, collector }) => {
    assert.equal([pool.events.listenerCount('query'), pool.events.listenerCount('writer:batch')], [1, 1]);
    collector.close();
    assert.equal([pool.events.listenerCount('query'), pool.events.listenerCount('writer:batch')], [0, 0]);
    child(app, 'w')!.actor!.send({ type: 'crash', why: 'after close' });
    await until('w restarted', () => child(app, 'w')?.restarts === 1);
    assert.equal(collector.snapshot().restarts, []);
  });
});

test('samples :: kept within bounds while nobody reads them (400,000 calls, no snapshot)', async () => {
  await withCollector([], async ({ pool, collector, clock }) => {
    emitQuery(pool, 5);
    const before = heldBytes();
    // 4 s of calls, all within the minute: only the newest 20,000 (25,000 at most) are kept.
    for (let i = 0; i < 400_000; i++) {
      clock.now += 0.01;
      emitQuery(pool, 5);
    }
    const grown = (heldBytes() - before) / 1e6;
    assert.ok(grown < 10, `${grown.toFixed(1)} MB held after 400,000 calls`);
    assert.is(server(collector).lastMinute.calls, 20_000);
  });
});

test.run();
