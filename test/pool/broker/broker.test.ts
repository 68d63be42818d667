import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Broker, type BrokerConnection } from '../../../src/pool/broker/broker.js';
import { type BalanceStrategy, createBalancer } from '../../../src/pool/broker/balancer.js';
import { Health } from '../../../src/pool/broker/health.js';
import { manualClock, seeded, type ManualClock } from '../fake-clock.js';

interface Conn extends BrokerConnection {
  probes: number;
}

const conns = new Map<string, Conn>();
function conn(id: string, server: number, overflow: boolean): Conn {
  const c: Conn = { id, server, overflow, probes: 0, probe() { c.probes++; } };
  conns.set(id, c);
  return c;
}
const byId = (id: string): Conn => conns.get(id)!;

function setup(opts: { servers?: number; base?: number; maxOverflow?: number; linger?: number; balance?: BalanceStrategy } = {}) {
  const clock = manualClock();
  const servers = opts.servers ?? 1;
  const health = new Health(servers, clock);
  const dismissed: string[] = [];
  const modes: string[] = [];
  let next = 0;
  const broker = new Broker<Conn>(
    {
      name: 'test',
      maxOverflow: opts.maxOverflow ?? 0,
      overflowLinger: opts.linger ?? 1000,
      clock,
      health,
      balancer: createBalancer(opts.balance ?? 'round_robin'),
      spawnOverflow: (server) => conn(`o${next++}`, server, true),
      dismiss: (conn) => dismissed.push(conn.id),
      onMode: (mode) => modes.push(mode),
    },
    servers,
  );
  const base: Conn[] = Array.from({ length: opts.base ?? 1 }, (_, i) => conn(`c${i}`, i % servers, false));
  for (const c of base) broker.add(c);
  return { clock, health, broker, base, dismissed, modes };
}

function take(broker: Broker<Conn>, timeout = 100) {
  const out: { conn?: Conn; error?: Error } = {};
  const cancel = broker.checkout({ timeout }, (error, conn) => Object.assign(out, { error, conn }));
  return Object.assign(out, { cancel });
}

const test = suite('broker');

test('checkout :: idle connections are reused LIFO', () => {
  const { broker } = setup({ base: 2 });
  const a = take(broker);
  const b = take(broker);
  broker.checkin(a.conn!, 'ready');
  broker.checkin(b.conn!, 'ready');
  assert.is(take(broker).conn!.id, b.conn!.id);
});

test('checkout :: waiters are served FIFO on check-in', () => {
  const { broker } = setup({ base: 1 });
  const held = take(broker);
  const w1 = take(broker);
  const w2 = take(broker);
  assert.is(broker.status().waiters, 2);
  broker.checkin(held.conn!, 'ready');
  assert.is(w1.conn?.id, 'c0');
  assert.is(w2.conn, undefined);
  broker.checkin(byId('c0'), 'ready');
  assert.is(w2.conn?.id, 'c0');
});

test('checkout :: overflow only when nothing is idle, at most maxOverflow', () => {
  const { broker } = setup({ base: 1, maxOverflow: 1 });
  assert.is(take(broker).conn!.overflow, false);
  assert.is(take(broker).conn!.overflow, true);
  const third = take(broker);
  assert.is(third.conn, undefined);
  assert.is(broker.status().overflow, 1);
});

test('checkout :: a waiter that times out leaves the line with POOL_TIMEOUT', () => {
  const { broker, clock } = setup({ base: 1 });
  const held = take(broker);
  const w = take(broker, 50);
  clock.advance(50);
  assert.is((w.error as { code?: string }).code, 'POOL_TIMEOUT');
  assert.is(broker.status().waiters, 0);
  broker.checkin(held.conn!, 'ready');
  assert.equal(broker.status().servers[0], { idle: 1, lent: 0, recovering: 0 });
});

test('lease :: with a signal, an idle connection is lent at once; an aborted signal lends nothing', async () => {
  const { broker } = setup({ base: 1 });
  const ac = new AbortController();
  const conn = await broker.lease({ timeout: 10 }, ac.signal);
  assert.is(conn.id, 'c0');
  broker.checkin(conn, 'ready');
  ac.abort(new Error('gone'));
  const err = await broker.lease({ timeout: 10 }, ac.signal).catch((e: Error) => e);
  assert.is((err as Error).message, 'gone');
  assert.equal(broker.status().servers[0], { idle: 1, lent: 0, recovering: 0 });
});

test('lease :: aborting while waiting withdraws the request', async () => {
  const { broker, clock } = setup({ base: 1 });
  take(broker);
  const ac = new AbortController();
  const waiting = broker.lease({ timeout: 50 }, ac.signal).catch((e: Error) => e.message);
  assert.is(broker.status().waiters, 1);
  ac.abort(new Error('bye'));
  assert.is(await waiting, 'bye');
  assert.is(broker.status().waiters, 0);
  assert.is(clock.pending(), 0);
});

test('checkout :: a withdrawn request leaves no waiter and no timer', () => {
  const { broker, clock } = setup({ base: 1 });
  take(broker);
  const w = take(broker, 50);
  w.cancel();
  assert.is(broker.status().waiters, 0);
  assert.is(clock.pending(), 0);
});

test('overflow :: dismissed after lingering idle, kept when reused in time', () => {
  const { broker, clock, dismissed } = setup({ base: 1, maxOverflow: 1, linger: 100 });
  take(broker);
  const o = take(broker).conn!;
  broker.checkin(o, 'ready');
  clock.advance(60);
  assert.is(take(broker).conn!.id, o.id, 'reused within the linger');
  broker.checkin(o, 'ready');
  assert.equal(broker.overflowConnections().map((c) => c.id), [o.id]);
  clock.advance(100);
  assert.equal(dismissed, [o.id]);
  assert.is(broker.status().overflow, 0);
  assert.equal(broker.overflowConnections(), [], 'a dismissed connection is no longer held');
});

test('balance :: least_busy counts only the calls still in flight, not those long returned', () => {
  const { broker } = setup({ servers: 2, base: 4, balance: 'least_busy' });
  // Ten calls one after another on server 0 (retries avoiding server 1, say), each back at once.
  for (let i = 0; i < 10; i++) {
    broker.checkout({ timeout: 100, avoid: new Set([1]) }, (_error, c) => broker.checkin(c!, 'ready'));
  }
  // Nothing is in flight: two calls at once go one to each server.
  const a = take(broker).conn!;
  const b = take(broker).conn!;
  // Before: every lend was counted for good, and server 0, busy long ago, got none of them.
  assert.equal([a.server, b.server].sort(), [0, 1]);
});

test('overflow :: a lingering overflow connection of a server since marked down, once dismissed, makes room for a waiter on a server that is up', () => {
  const { broker, clock, health, dismissed } = setup({ servers: 2, base: 2, maxOverflow: 1, linger: 100 });
  take(broker);
  take(broker);
  const o = take(broker).conn!;
  assert.ok(o.overflow);
  broker.checkin(o, 'ready');
  health.fail(o.server, 'hard');
  const w = take(broker, 1_000);
  assert.is(w.conn, undefined, 'waits: the idle overflow connection is on a server that is down, and no more overflow is allowed');
  clock.advance(100);
  assert.equal(dismissed, [o.id]);
  // Before: the room the dismissed connection left was not used, and the caller waited out poolTimeout.
  assert.ok(w.conn?.overflow, `the waiter was served: ${w.error?.message ?? 'not yet'}`);
  assert.is.not(w.conn!.server, o.server);
});

test('balance :: checkouts rotate over servers with idle connections', () => {
  const { broker } = setup({ servers: 3, base: 3 });
  const servers = [take(broker), take(broker), take(broker)].map((t) => t.conn!.server);
  assert.equal(servers, [0, 1, 2]);
});

test('health :: down servers are skipped; all down fails fast with POOL_NO_SERVER', () => {
  const { broker, health } = setup({ servers: 2, base: 2 });
  health.fail(0, 'hard');
  const a = take(broker);
  assert.is(a.conn!.server, 1);
  const w = take(broker);
  assert.is(w.conn, undefined);
  health.fail(1, 'hard');
  assert.is((w.error as { code?: string }).code, 'POOL_NO_SERVER', 'the waiter does not wait out poolTimeout');
  assert.is((take(broker).error as { code?: string }).code, 'POOL_NO_SERVER');
  health.probeSucceeded(0);
  assert.is(take(broker).conn!.server, 0);
});

test('health :: a server coming back serves the waiters with its idle connections', () => {
  const { broker, health } = setup({ servers: 2, base: 2 });
  health.fail(0, 'hard');
  take(broker);
  const w = take(broker);
  health.probeSucceeded(0);
  assert.is(w.conn?.server, 0);
});

test('stop :: waiters and later checkouts get POOL_STOPPED', () => {
  const { broker } = setup({ base: 1 });
  take(broker);
  const w = take(broker);
  broker.stop();
  broker.stop();
  assert.is((w.error as { code?: string }).code, 'POOL_STOPPED');
  assert.is((take(broker).error as { code?: string }).code, 'POOL_STOPPED');
});

test('checkout :: a retry avoids the server that failed when another is healthy', () => {
  const { broker } = setup({ servers: 2, base: 2 });
  const out: Conn[] = [];
  broker.checkout({ timeout: 10, avoid: new Set([0]) }, (_e, c) => out.push(c!));
  assert.is(out[0]!.server, 1);
});

test('mode :: derived from waiters and health, reported on change only', () => {
  const { broker, health, clock, modes } = setup({ servers: 1, base: 1 });
  take(broker);
  take(broker, 10);
  take(broker, 10);
  clock.advance(10);
  health.fail(0, 'hard');
  health.probeSucceeded(0);
  broker.stop();
  assert.equal(modes, ['waiting', 'serving', 'no_server', 'serving', 'stopped']);
  assert.is(broker.mode, 'stopped');
});

test('checkin :: a connection back ready to a server marked down probes it instead of being lent', () => {
  const { broker, health, base } = setup({ servers: 2, base: 2 });
  const lent = take(broker).conn!;
  health.fail(lent.server, 'hard');
  broker.checkin(lent, 'ready');
  assert.is(lent.probes, 1, 'told to probe');
  assert.is(broker.status().servers[lent.server]!.recovering, 1, 'not lendable meanwhile');
  const other = take(broker).conn!;
  assert.is.not(other.server, lent.server, 'the next checkout goes to the server that is up');
  health.probeSucceeded(lent.server);
  broker.checkin(lent, 'ready');
  assert.is(broker.status().servers[lent.server]!.idle, 1, 'idle again once the probe answered');
  assert.is(base.length, 2);
});

test('checkin :: a new connection to a server marked down probes at once', () => {
  const { broker, health } = setup({ servers: 2, base: 0 });
  health.fail(1, 'hard');
  const c = conn('late', 1, false);
  broker.add(c);
  assert.is(c.probes, 1);
  assert.is(broker.status().servers[1]!.recovering, 1);
});

// Model-based randomized test, after poolboy_eqc: random checkouts, check-ins, timeouts,
// crashes of busy connections and failures, checked against invariants after every step.
function modelRun(seed: number, steps: number) {
  const random = seeded(seed);
  const poolSize = 1 + Math.floor(random() * 4);
  const maxOverflow = Math.floor(random() * 3);
  const servers = 1 + Math.floor(random() * 3);
  const { broker, clock, base } = setup({ servers, base: poolSize, maxOverflow, linger: 30 });
  const held = new Map<string, Conn>();
  const recovering = new Set<string>();
  const pending = new Set<ReturnType<typeof take>>();
  const settled: Array<ReturnType<typeof take>> = [];

  const check = (step: number, op: string) => {
    const where = `seed ${seed} step ${step} (${op})`;
    for (const t of [...pending]) {
      if (t.conn || t.error) {
        pending.delete(t);
        settled.push(t);
        if (t.conn) {
          assert.not.ok(held.has(t.conn.id), `${where}: ${t.conn.id} lent twice`);
          held.set(t.conn.id, t.conn);
        }
      }
    }
    const status = broker.status();
    const idle = status.servers.reduce((n, s) => n + s.idle, 0);
    const lent = status.servers.reduce((n, s) => n + s.lent, 0);
    assert.is(lent, held.size, `${where}: broker lent count equals what callers hold`);
    assert.ok(idle + lent <= poolSize + maxOverflow, `${where}: in use + idle within poolSize + maxOverflow`);
    assert.ok(status.overflow <= maxOverflow, `${where}: overflow within maxOverflow`);
    assert.ok(status.overflowInUse <= Math.min(status.overflow, lent), `${where}: overflow in use is lent overflow`);
    assert.is(status.waiters, pending.size, `${where}: every waiter is either waiting or answered`);
    if (pending.size > 0) assert.is(idle, 0, `${where}: no idle connection while someone waits`);
  };

  // A random connection a caller holds, no longer held.
  const giveBack = () => {
    const conn = [...held.values()][Math.floor(random() * held.size)]!;
    held.delete(conn.id);
    return conn;
  };

  for (let step = 0; step < steps; step++) {
    const r = random();
    let op: string;
    if (r < 0.4) {
      op = 'checkout';
      pending.add(take(broker, 1 + Math.floor(random() * 40)));
    } else if (r < 0.7 && held.size > 0) {
      op = 'checkin';
      const conn = giveBack();
      broker.checkin(conn, 'ready');
    } else if (r < 0.8 && held.size > 0) {
      op = 'crash';
      const conn = giveBack();
      broker.remove(conn.id);
      if (!conn.overflow) broker.add(conn);
    } else if (r < 0.85 && held.size > 0) {
      op = 'network failure';
      const conn = giveBack();
      broker.checkin(conn, 'unavailable');
      recovering.add(conn.id);
    } else if (r < 0.9 && recovering.size > 0) {
      op = 'probe succeeded';
      const id = [...recovering][Math.floor(random() * recovering.size)]!;
      recovering.delete(id);
      broker.checkin(byId(id), 'ready');
    } else {
      op = 'time';
      clock.advance(1 + Math.floor(random() * 20));
    }
    check(step, op);
  }
  for (let round = 0; round < 100 && (held.size > 0 || pending.size > 0 || recovering.size > 0); round++) {
    const back = [...held.keys(), ...recovering];
    held.clear();
    recovering.clear();
    for (const id of back) broker.checkin(byId(id), 'ready');
    check(steps + round, 'drain');
    clock.advance(50);
    check(steps + round, 'drain');
  }
  clock.advance(1000);
  check(steps + 100, 'end');
  assert.is(pending.size, 0, `seed ${seed}: no waiter left pending`);
  for (const t of settled) assert.ok(t.conn || t.error, `seed ${seed}: every waiter answered`);
  const status = broker.status();
  assert.is(status.overflow, 0, `seed ${seed}: overflow dismissed after linger`);
  assert.is(status.servers.reduce((n, s) => n + s.idle, 0), base.length, `seed ${seed}: back to poolSize idle`);
}

test('model :: 200 seeded random runs keep every invariant', () => {
  for (let seed = 1; seed <= 200; seed++) modelRun(seed, 150);
});

test.run();
