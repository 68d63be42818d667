// definePool against fake servers (the ConnectionIO seam) and a simulated clock: routing,
// retries, fail-fast, crash isolation, exhaustion, inspection. The real cluster runs the
// same behaviours in test/integration/pool-*.test.ts.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { assertNoSecret } from '../secrets.js';
import { heldBytes } from '../gc.js';
import type { InspectionEvent } from 'xstate';
import { ClickHouseError, TransportError } from '../../src/clickhouse/errors.js';
import type { PreparedRequest, Row, ServerConfig } from '../../src/clickhouse/types.js';
import { createTestClock, startSupervisor, whereis } from '../../src/otp/index.js';
import { definePoolWith } from '../../src/pool/define-pool.js';
import { openTransport } from '../../src/clickhouse/transport.js';
import { fakeServers } from './fake-servers.js';
import type { PoolOptions } from '../../src/pool/options.js';

const PASSWORD = 'hunter2:secret';
const urls = [1, 2, 3].map((i) => `http://alice:${encodeURIComponent(PASSWORD)}@10.0.0.${i}:8123/db`);
const flush = async (n = 5) => {
  for (let i = 0; i < n; i++) await new Promise((resolve) => setImmediate(resolve));
};
const codeOf = (e: unknown) => (e as { code?: string }).code;

let seq = 0;
async function started(options: Partial<PoolOptions> = {}, inspect?: (e: InspectionEvent) => void) {
  const fake = fakeServers();
  const clock = createTestClock();
  const pool = definePoolWith({ connectionStrings: urls, name: `unit-${++seq}`, poolSize: 3, ...options }, fake.io);
  const app = await startSupervisor([pool], { clock, ...(inspect ? { inspect } : {}) });
  return { ...fake, pool, app, clock };
}

const test = suite('define-pool');

test('lifecycle :: calls before start and after stop reject with POOL_NOT_STARTED', async () => {
  const fake = fakeServers();
  const pool = definePoolWith({ connectionStrings: urls, name: 'unit-life' }, fake.io);
  assert.is(codeOf(await pool.select('SELECT 1').catch((e) => e)), 'POOL_NOT_STARTED');
  assert.throws(() => pool.asyncInsertToTable('t', { a: 1 }), (e: unknown) => codeOf(e) === 'POOL_NOT_STARTED');
  await pool.start();
  assert.equal(await pool.select('SELECT 1'), [{ x: 1 }]);
  await pool.stop();
  await pool.stop();
  assert.is(codeOf(await pool.select('SELECT 1').catch((e) => e)), 'POOL_NOT_STARTED');
});

test('async :: a bad column name throws in the caller and queues nothing; rows accepted before it are written', async () => {
  const { pool, app, sent } = await started();
  pool.asyncInsertToTable('events', { id: 1 });
  for (const name of ['', 'bad\nname', 'tab\there', '\ud800']) {
    assert.throws(
      () => pool.asyncInsertToTable('events', [{ id: 2 }, { id: 3, [name]: 1 }]),
      (e: unknown) => codeOf(e) === 'QUERY_PARAM' && (e as { param?: string }).param === `rows[1].${name}`,
      JSON.stringify(name),
    );
  }
  await pool.flush();
  assert.equal(sent.map((s) => s.body), ['INSERT INTO `events` (`id`) FORMAT JSONEachRow\n{"id":1}\n']);
  assert.equal([pool.stats().writer.written, pool.stats().writer.failed, pool.stats().writer.dropped], [1, 0, 0]);
  await app.stop();
});

test('async :: the writer\'s own lookup (does the table deduplicate?) is not told as one of the application\'s queries', async () => {
  const fake = fakeServers();
  // The insert's answer is lost, and its server cannot say whether it was stored.
  fake.io.outcome = async () => { throw new TransportError('connect ECONNREFUSED', false); };
  fake.behaviour[0] = fake.behaviour[1] = fake.behaviour[2] = async (req) => {
    if (req.type === 'select') return [{ engine: 'MergeTree' }];
    throw new TransportError('socket hang up', true);
  };
  const lost: unknown[] = [];
  const pool = definePoolWith({ connectionStrings: urls, name: `unit-${++seq}`, poolSize: 3, asyncRetries: 0, onError: (e) => lost.push(e) }, fake.io);
  const app = await startSupervisor([pool], { clock: createTestClock() });
  const told: string[] = [];
  pool.events.on('query', (e) => told.push(e.type));
  pool.asyncInsertToTable('events', { id: 1 });
  await pool.flush();
  assert.ok(fake.sent.some((s) => s.body.includes('system.tables')), 'the writer asked the table\'s engine');
  assert.equal(told, [], 'no query event: the application made no call');
  assert.equal(lost.map(codeOf), ['WRITE_OUTCOME_UNKNOWN']);
  await app.stop();
});

test('lifecycle :: the name is registered, so two running pools need two names', async () => {
  const a = definePoolWith({ connectionStrings: urls, name: 'unit-same' }, fakeServers().io);
  const b = definePoolWith({ connectionStrings: urls, name: 'unit-same' }, fakeServers().io);
  await a.start();
  assert.is(whereis('unit-same'), a, 'whereis(name) finds the pool');
  const err = await b.start().then(() => undefined, (e: unknown) => e);
  const chain: unknown[] = [];
  for (let e: unknown = err; e; e = (e as { cause?: unknown }).cause) chain.push(e);
  assert.ok(chain.some((e) => codeOf(e) === 'OTP_NAME_TAKEN'), `the second start fails because the name is taken: ${String(err)}`);
  assert.match(String((chain.find((e) => codeOf(e) === 'OTP_NAME_TAKEN') as Error).message), 'unit-same');
  await a.stop();
  await b.start();
  await b.stop();
});

test('send :: the methods are messages; each goes to the server the balancer picks', async () => {
  const { pool, app, sent } = await started();
  await pool.select('SELECT {n} AS x', { n: 1 });
  await pool.send({ type: 'select', sql: 'SELECT 2' });
  await pool.query('SELECT 3');
  await pool.insert('INSERT INTO t VALUES ({a})', { a: 4 });
  await pool.insertToTable('t', [{ a: 5 }]);
  assert.equal(sent.map((s) => s.server), [0, 1, 2, 0, 1], 'round robin, per query');
  assert.match(sent[0]!.body, 'SELECT 1 AS x');
  assert.match(sent[4]!.body, /^INSERT INTO `t`.*FORMAT JSONEachRow\n\{"a":5\}/);
  assert.is(pool.stats().servers.map((s) => s.queries).join(), '2,2,1');
  await app.stop();
});

test('failover :: a read failing on the network is retried on another server', async () => {
  const { pool, app, sent, behaviour } = await started();
  behaviour[0] = async () => { throw new TransportError('socket hang up', true); };
  assert.equal(await pool.select('SELECT 1'), [{ x: 1 }]);
  assert.equal(sent.map((s) => s.server), [0, 1]);
  await app.stop();
});

test('failover :: a retry gets what is left of the call\'s timeout, and none is made once it ran out', async () => {
  const { pool, app, behaviour } = await started();
  const given: number[] = [];
  // Each server holds the read 150 ms, then drops it.
  for (const i of [0, 1, 2]) {
    behaviour[i] = async (req) => {
      given.push(req.options.timeout ?? -1);
      await new Promise((resolve) => setTimeout(resolve, 150));
      throw new TransportError('other side closed', true);
    };
  }
  const t0 = Date.now();
  assert.is(codeOf(await pool.select('SELECT 1', {}, { timeout: 250 }).catch((e) => e)), 'TRANSPORT');
  // Before: three attempts of 250 ms each (the call took 3 times its timeout, and more with each wait for a connection).
  assert.is(given.length, 2, `attempts: ${given.join(', ')}`);
  assert.is(given[0], 250);
  assert.ok((given[1] as number) <= 100 && (given[1] as number) > 0, `the retry's timeout: ${given[1]}`);
  assert.ok(Date.now() - t0 < 450, `the call took ${Date.now() - t0} ms`);
  await app.stop();
});

test('failover :: a write is retried only when it provably never reached the server', async () => {
  const { pool, app, sent, behaviour } = await started({ poolSize: 6 });
  behaviour[0] = async () => { throw new TransportError('other side closed', true); };
  assert.is(codeOf(await pool.insert('INSERT INTO t VALUES (1)').catch((e) => e)), 'TRANSPORT');
  assert.is(sent.length, 1, 'sent once, not retried');
  behaviour[1] = async () => { throw new TransportError('connect ECONNREFUSED', false); };
  await pool.insert('INSERT INTO t VALUES (2)');
  assert.equal(sent.slice(1).map((s) => s.server), [1, 2]);
  await app.stop();
});

test('failover :: a server error is the caller\'s answer, not retried, server stays up', async () => {
  const { pool, app, sent, behaviour } = await started();
  behaviour[0] = async () => { throw new ClickHouseError({ serverCode: 60, serverMessage: 'no table' }, 404); };
  assert.is(codeOf(await pool.select('SELECT * FROM missing').catch((e) => e)), 'CLICKHOUSE');
  assert.is(sent.length, 1);
  assert.ok(pool.stats().servers[0]!.up);
  await app.stop();
});

test('health :: all servers down fails fast with POOL_NO_SERVER; a probe brings one back', async () => {
  const { pool, app, clock, behaviour, probeOk } = await started({ backoff: { initial: 100, max: 100 } });
  for (let i = 0; i < 3; i++) {
    behaviour[i] = async () => { throw new TransportError('connect ECONNREFUSED', false); };
    probeOk[i] = false;
  }
  assert.is(codeOf(await pool.select('SELECT 1').catch((e) => e)), 'TRANSPORT', 'three servers tried, the last error surfaces');
  behaviour[0] = async () => [{ x: 0 }];
  probeOk[0] = true;
  clock.advance(100);
  await flush();
  behaviour[0] = async () => { throw new TransportError('connect ECONNREFUSED', false); };
  probeOk[0] = false;
  const retried = (await pool.select('SELECT 1').catch((e) => e)) as { code: string; cause?: { code?: string } };
  assert.is(retried.code, 'POOL_NO_SERVER', 'the retry found every server down');
  assert.is(retried.cause?.code, 'TRANSPORT', 'and carries the failure that led there');
  assert.equal(pool.stats().servers.map((s) => s.up), [false, false, false]);
  assert.is(codeOf(await pool.select('SELECT 1').catch((e) => e)), 'POOL_NO_SERVER');
  behaviour[2] = async () => [{ x: 3 }];
  probeOk[2] = true;
  clock.advance(100);
  await flush();
  assert.equal(pool.stats().servers.map((s) => s.up), [false, false, true]);
  assert.equal(await pool.select('SELECT 1'), [{ x: 3 }]);
  await app.stop();
});

test('health :: a server whose only connection was an overflow one still gets probed back up', async () => {
  const { pool, app, clock, behaviour, probeOk, sent } = await started({ poolSize: 1, maxOverflow: 2, backoff: { initial: 100, max: 100 } });
  let open!: () => void;
  behaviour[0] = () => new Promise((resolve) => (open = () => resolve([{ x: 0 }])));
  behaviour[1] = async () => { throw new TransportError('connect ECONNREFUSED', false); };
  probeOk[1] = false;
  const first = pool.select('SELECT 1');
  await flush();
  assert.equal(await pool.select('SELECT 1'), [{ x: 1 }], 'retried on server 2 through a second overflow connection');
  assert.equal(sent.map((x) => x.server), [0, 1, 2]);
  assert.not.ok(pool.stats().servers[1]!.up);
  probeOk[1] = true;
  behaviour[1] = async () => [{ x: 1 }];
  clock.advance(100);
  await flush();
  assert.ok(pool.stats().servers[1]!.up, 'the overflow connection kept probing and brought server 1 back');
  open();
  await first;
  await app.stop();
});

test('health :: a call that ends after its server was marked down leaves no slot lent; the connection probes', async () => {
  const { pool, app, behaviour, probeOk } = await started({ poolSize: 6, balance: 'in_order' });
  let open!: () => void;
  let calls = 0;
  behaviour[0] = () => (++calls === 1 ? new Promise((resolve) => (open = () => resolve([{ x: 0 }]))) : Promise.reject(new TransportError('connect ECONNREFUSED', false)));
  probeOk[0] = false;
  const first = pool.select('SELECT 1');
  await flush();
  assert.equal(await pool.select('SELECT 1'), [{ x: 1 }], 'the refused call was retried on server 1');
  assert.not.ok(pool.stats().servers[0]!.up);
  open();
  assert.equal(await first, [{ x: 0 }]);
  await flush();
  const s0 = pool.stats().servers[0]!;
  assert.is(pool.stats().inUse, 0, 'nothing stays lent');
  assert.is(s0.connections.idle, 0, 'no connection of the down server waits to be lent');
  assert.is(s0.connections.probing + s0.connections.backoff, 2);
  await app.stop();
});

test('crash :: a bug in one connection crashes that actor only; its caller gets an error, others do not', async () => {
  const { pool, app, behaviour } = await started({ poolSize: 3 });
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  behaviour[1] = async (req) => {
    if (req.body.includes('bug')) throw new TypeError("Cannot read properties of undefined (reading 'x')");
    await gate;
    return [{ x: 2 }];
  };
  const slow = pool.select('SELECT 1');
  const crashed = pool.select('SELECT bug').catch((e) => e);
  const other = pool.select('SELECT 1');
  assert.is(codeOf(await crashed), 'POOL_CONNECTION_CRASHED');
  release();
  assert.equal(await slow, [{ x: 1 }]);
  assert.equal(await other, [{ x: 1 }]);
  await flush();
  const stats = pool.stats();
  assert.is(stats.idle, 3, 'the crashed connection was restarted and is idle again');
  assert.is(app.status, 'running');
  await app.stop();
});

test('crash :: when the connections supervisor itself gives up, the pool restarts it and no queued async row is lost', async () => {
  const dead: unknown[] = [];
  // No overflow: nothing else notices that the connections are gone.
  const { pool, app, clock, behaviour, sent } = await started({ poolSize: 3, maxOverflow: 0, asyncFlushInterval: 1_000, onError: (e) => dead.push(e) });
  pool.asyncInsertToTable('events', [{ id: 1 }, { id: 2 }]);
  const bug = async (): Promise<never> => {
    throw new TypeError("Cannot read properties of undefined (reading 'x')");
  };
  for (let i = 0; i < 3; i++) behaviour[i] = bug;
  // Four crashes within the period exceed the connections supervisor's intensity (3).
  for (let i = 0; i < 4; i++) {
    assert.is(codeOf(await pool.select('SELECT 1').catch((e) => e)), 'POOL_CONNECTION_CRASHED');
    await flush();
  }
  for (let i = 0; i < 3; i++) behaviour[i] = async () => undefined;
  // Give any drain its whole shutdown time: a drain that could not write would dead-letter here.
  for (let i = 0; i < 20; i++) {
    clock.advance(500);
    await flush();
  }
  await pool.flush();
  assert.is(app.status, 'running');
  assert.equal(dead, []);
  assert.equal([...new Set(sent.filter((s) => s.body.startsWith('INSERT')).map((s) => s.body))], ['INSERT INTO `events` (`id`) FORMAT JSONEachRow\n{"id":1}\n{"id":2}\n']);
  assert.is(pool.stats().writer.written, 2);
  assert.is(pool.stats().idle, 3);
  await app.stop();
});

test('exhaustion :: excess callers get POOL_TIMEOUT; afterwards poolSize idle and no overflow', async () => {
  const { pool, app, clock, behaviour } = await started({ poolSize: 2, maxOverflow: 1, poolTimeout: 100, overflowLinger: 50 });
  const gates: Array<() => void> = [];
  for (let i = 0; i < 3; i++) behaviour[i] = () => new Promise((resolve) => gates.push(() => resolve([{ x: 1 }])));
  const calls = Array.from({ length: 10 }, () => pool.select('SELECT sleep(1)').then(() => 'ok', (e) => codeOf(e)));
  await flush();
  assert.is(pool.stats().waiters, 7);
  assert.is(pool.stats().overflow, 1);
  assert.is(pool.stats().overflowInUse, 1);
  clock.advance(100);
  for (const open of gates) open();
  const results = await Promise.all(calls);
  assert.is(results.filter((r) => r === 'ok').length, 3);
  assert.is(results.filter((r) => r === 'POOL_TIMEOUT').length, 7);
  clock.advance(50);
  // The linger ran out: the overflow connection leaves stats() at once, though its actor is still ending.
  const idleActors = (st: ReturnType<typeof pool.stats>) => st.servers.reduce((n, s) => n + s.connections.idle, 0);
  assert.equal([pool.stats().overflow, pool.stats().idle, idleActors(pool.stats())], [0, 2, 2]);
  await flush();
  assert.is(idleActors(pool.stats()), 2);
  const stats = pool.stats();
  assert.is(stats.overflow, 0);
  assert.is(stats.idle, 2);
  assert.is(stats.waiters, 0);
  await app.stop();
});

test('abort :: a caller that gives up while waiting in line leaves it; the call rejects with ABORTED', async () => {
  const { pool, app, behaviour } = await started({ poolSize: 1, maxOverflow: 0 });
  let open!: () => void;
  behaviour[0] = () => new Promise((resolve) => (open = () => resolve([{ x: 1 }])));
  const busy = pool.select('SELECT 1');
  const ac = new AbortController();
  const waiting = pool.select('SELECT 2', {}, { signal: ac.signal }).catch((e) => e);
  await flush();
  assert.is(pool.stats().waiters, 1);
  ac.abort();
  assert.is(codeOf(await waiting), 'ABORTED');
  assert.is(pool.stats().waiters, 0);
  open();
  await busy;
  await app.stop();
});

test('abort :: one long-lived signal given to many streams and hedged reads is not made to hold on to each of them', async () => {
  // Node 20's AbortSignal.any, which joined the caller's signal with the stream's own, left
  // about 135 bytes on the caller's signal for every call, for as long as that signal lived.
  const { pool, app } = await started({ hedgeAfter: 1_000 });
  const shared = new AbortController();
  const calls = async (n: number): Promise<void> => {
    for (let i = 0; i < n; i++) {
      for await (const row of pool.stream('SELECT 1', {}, { signal: shared.signal })) assert.ok(row);
      await pool.select('SELECT 1', {}, { signal: shared.signal });
    }
  };
  await calls(500);
  const before = heldBytes();
  await calls(5_000);
  const grown = heldBytes() - before;
  // Held before: 37 MB here (the same calls without a signal: 1.4 MB of warm-up and noise).
  assert.ok(grown < 6_000_000, `${grown} bytes held after 5,000 streams and 5,000 hedged reads`);
  await app.stop();
});

test('failover :: a stream its server drops after rows were read is not sent again: the loop rejects, no row comes twice', async () => {
  const { pool, app, sent, behaviour } = await started({ readRetries: 2 });
  // Each server streams rows 0..; the first drops the request after three of them.
  for (const i of [0, 1, 2]) {
    behaviour[i] = async (req) => {
      await req.sink!.push([{ n: 0 }, { n: 1 }, { n: 2 }]);
      if (i === 0) throw new TransportError('other side closed', true);
      await req.sink!.push([{ n: 3 }]);
      return undefined;
    };
  }
  const seen: unknown[] = [];
  const error = await (async () => {
    for await (const row of pool.stream('SELECT number AS n FROM numbers(4)')) seen.push(row.n);
  })().catch((e: unknown) => e);
  // Before: the stream started over on the next server, and the reader got rows 0, 1, 2 twice.
  assert.is(codeOf(error), 'TRANSPORT');
  assert.equal(seen, [0, 1, 2]);
  assert.equal(sent.map((s) => s.server), [0]);
  await app.stop();
});

/** Resolves after `ms` ms of real time (hedging times its second attempt by the real clock). */
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

test('hedge :: when the only other healthy connection is on the first attempt\'s own server, it is handed back, not kept lent', async () => {
  const { pool, app, behaviour, probeOk } = await started({ poolSize: 6, maxOverflow: 0, hedgeAfter: 20 });
  for (const i of [1, 2]) {
    behaviour[i] = async () => { throw new TransportError('connect ECONNREFUSED', false); };
    probeOk[i] = false;
  }
  for (let i = 0; i < 20 && pool.stats().servers.some((s, n) => n > 0 && s.up); i++) await pool.select('SELECT 1', {}, { timeout: 5_000 }).catch(() => undefined);
  assert.equal(pool.stats().servers.map((s) => s.up), [true, false, false]);
  behaviour[0] = async () => {
    await sleep(100);
    return [{ x: 0 }];
  };
  for (let i = 0; i < 4; i++) {
    let timer: NodeJS.Timeout | undefined;
    const read = pool.select('SELECT 1', {}, { timeout: 5_000 }).then((rows) => ({ rows }));
    const outcome = await Promise.race([read, new Promise<'still waiting'>((resolve) => (timer = setTimeout(resolve, 5_000, 'still waiting')))]);
    clearTimeout(timer);
    assert.equal(outcome, { rows: [{ x: 0 }] }, `read ${i + 1}`);
  }
  await flush();
  // Before: each hedge kept a second connection of server 0 lent for good, and the pool ran dry.
  assert.equal([pool.stats().inUse, pool.stats().waiters], [0, 0]);
  await app.stop();
});

test('hedge :: a read answered while its hedge still waits for a connection resolves at once, not when one frees up', async () => {
  const { pool, app, behaviour } = await started({ poolSize: 3, maxOverflow: 0, hedgeAfter: 20, poolTimeout: 60_000 });
  const gates: Array<() => void> = [];
  const gated = () => new Promise((resolve) => gates.push(() => resolve([{ x: 'held' }])));
  for (const i of [0, 1, 2]) {
    behaviour[i] = async (req) => {
      if (req.type === 'insert' || req.body.includes('held')) return gated();
      await sleep(100);
      return [{ x: i }];
    };
  }
  // A read that holds two connections (its own and its hedge's), then the read under test on the
  // third, and a write waiting in line ahead of that read's hedge.
  const held: Array<Promise<unknown>> = [pool.select('SELECT held')];
  for (let i = 0; i < 100 && pool.stats().inUse < 2; i++) await sleep(10);
  assert.is(pool.stats().inUse, 2);
  const read = pool.select('SELECT 1').then((rows) => ({ rows }));
  held.push(pool.insert('INSERT INTO t VALUES (1)'));
  await flush();
  assert.is(pool.stats().waiters, 1);
  let timer: NodeJS.Timeout | undefined;
  const outcome = await Promise.race([read, new Promise<'still waiting'>((resolve) => (timer = setTimeout(resolve, 5_000, 'still waiting')))]);
  clearTimeout(timer);
  // Before: the call waited for the hedge's connection after its first attempt had answered.
  assert.equal(outcome, { rows: [{ x: 2 }] });
  for (const open of gates) open();
  for (let i = 0; i < 100 && gates.length < 3; i++) await sleep(10);
  for (const open of gates) open();
  await Promise.all(held);
  await app.stop();
});

test('hedge :: a first attempt that fails after the hedge started does not win over the hedge that answers', async () => {
  const { pool, app, behaviour } = await started({ poolSize: 3, hedgeAfter: 30, readRetries: 0, balance: 'in_order' });
  behaviour[0] = async () => {
    await sleep(100);
    throw new TransportError('other side closed', true);
  };
  behaviour[1] = async () => {
    await sleep(150);
    return [{ x: 1 }];
  };
  // Before: the first attempt's failure was the call's answer.
  assert.equal(await pool.select('SELECT 1', {}, { timeout: 5_000 }), [{ x: 1 }]);
  await app.stop();
});

test('lifecycle :: stop() refuses a pool another supervisor runs (POOL_SUPERVISED)', async () => {
  const { pool, app } = await started();
  assert.is(codeOf(await pool.stop().catch((e) => e)), 'POOL_SUPERVISED');
  await app.stop();
  await pool.stop();
});

test('inspect :: broker, every connection and the writer show their state changes; no event carries the password', async () => {
  const events: InspectionEvent[] = [];
  const { pool, app, behaviour } = await started({ poolSize: 3 }, (e) => events.push(e));
  behaviour[0] = async () => { throw new TransportError('connect ECONNREFUSED', false); };
  await pool.select('SELECT 1');
  pool.asyncInsertToTable('t', { a: 1 });
  await pool.flush();
  await app.stop();
  const states = new Map<string, Set<string>>();
  for (const e of events) {
    if (e.type !== '@xstate.snapshot') continue;
    const snap = e.snapshot as { value?: unknown; context?: { id?: string; pool?: string } };
    const who = snap.context?.pool ? 'broker' : snap.context?.id;
    if (typeof who !== 'string' || typeof snap.value !== 'string') continue;
    if (!states.has(who)) states.set(who, new Set());
    states.get(who)!.add(snap.value);
  }
  for (const id of ['conn-0', 'conn-1', 'conn-2']) assert.ok(states.has(id), `${id} is in the stream`);
  assert.ok(states.get('conn-0')!.has('busy') && states.get('conn-0')!.has('backoff'), 'conn-0 went busy then backoff');
  assert.ok(states.has('broker'), 'the broker is in the stream');
  const machineOf = (e: InspectionEvent) => (e.actorRef.getSnapshot() as { machine?: { id?: string } } | undefined)?.machine?.id;
  assert.ok(events.some((e) => e.type === '@xstate.snapshot' && machineOf(e) === 'writer'), 'the writer is in the stream');
  assert.ok(events.length > 10, 'the stream was recorded');
  // What an inspector shows and serializes: each event's snapshot and event, hidden fields included.
  for (const e of events) {
    const shown = { type: e.type, snapshot: (e as { snapshot?: unknown }).snapshot, event: (e as { event?: unknown }).event };
    assertNoSecret(shown, [PASSWORD, encodeURIComponent(PASSWORD), 'hunter2'], `inspection event ${e.type}`);
  }
});

test('lifecycle :: start() on a pool a supervisor already runs leaves it as it is; concurrent starts share one start', async () => {
  const { pool, app, sent } = await started();
  await pool.start();
  assert.is(whereis(pool.name), pool, 'still the one running pool under its name');
  assert.equal(await pool.select('SELECT 1'), [{ x: 1 }]);
  await app.stop();
  assert.is(codeOf(await pool.select('SELECT 1').catch((e) => e)), 'POOL_NOT_STARTED', 'start() had not started a second tree');
  const again = await Promise.all([pool.start(), pool.start()]).then(() => 'ok', (e: unknown) => e);
  assert.is(again, 'ok', 'two concurrent start() calls both resolve');
  assert.equal(await pool.select('SELECT 1'), [{ x: 1 }]);
  await pool.stop();
  assert.is(codeOf(await pool.select('SELECT 1').catch((e) => e)), 'POOL_NOT_STARTED', 'one stop() stops it');
  assert.is(sent.length, 2);
});

test('lifecycle :: flush() before start() rejects; a stopped pool starts again; a stop() during start() leaves it stopped', async () => {
  const pool = definePoolWith({ connectionStrings: urls, name: `unit-${++seq}`, poolSize: 3 }, fakeServers().io);
  const early = await Promise.race([pool.flush().then(() => 'flushed', (e: unknown) => e), flush().then(() => 'still waiting')]);
  assert.is(codeOf(early), 'POOL_NOT_STARTED', 'flush() before start() rejects at once');
  for (let round = 0; round < 2; round++) {
    await pool.start();
    assert.ok(pool.stats().started, `round ${round}: started`);
    assert.equal(await pool.select('SELECT 1'), [{ x: 1 }]);
    await pool.stop();
    assert.not.ok(pool.stats().started, `round ${round}: stopped`);
  }
  // A stop() called while the start is still under way waits for it, then stops the pool.
  const starting = pool.start();
  await pool.stop();
  await starting;
  assert.not.ok(pool.stats().started, 'stop() during start() leaves the pool stopped');
  assert.is(codeOf(await pool.select('SELECT 1').catch((e) => e)), 'POOL_NOT_STARTED');
});

test('async :: asyncInsertToTable refuses a generator of rows in the caller (it belongs to insertToTable) and queues nothing', async () => {
  const { pool, app, sent } = await started();
  function* rows(): Generator<Row> {
    yield { id: 1 };
  }
  const err = (() => {
    try {
      pool.asyncInsertToTable('events', rows() as unknown as Row);
    } catch (e) {
      return e;
    }
    return undefined;
  })();
  assert.is(codeOf(err), 'QUERY_PARAM');
  assert.match(String((err as Error).message), 'insertToTable', 'the error points to insertToTable');
  await pool.flush();
  assert.equal(sent, [], 'nothing was written');
  assert.is(pool.stats().writer.queued, 0);
  await app.stop();
});

test('async :: asyncQuery sends its statement as a query: no insert deduplication token, no async_insert setting, in order with the rest', async () => {
  const fake = fakeServers();
  const got: PreparedRequest[] = [];
  const perform = fake.io.perform;
  fake.io.perform = (t: unknown, server: ServerConfig, request: PreparedRequest) => {
    got.push(request);
    return perform(t, server, request);
  };
  const pool = definePoolWith({ connectionStrings: urls, name: `unit-${++seq}`, poolSize: 3 }, fake.io);
  const app = await startSupervisor([pool], { clock: createTestClock() });
  pool.asyncQuery('OPTIMIZE TABLE events FINAL');
  pool.asyncInsert('INSERT INTO events VALUES ({id})', { id: 7 });
  await pool.flush();
  assert.equal(got.map((r) => r.body), ['OPTIMIZE TABLE events FINAL', 'INSERT INTO events VALUES (7)']);
  const [query, insert] = got;
  assert.is(query?.type, 'query');
  assert.is(query?.readOnly, false);
  // What the writer stamps on an insert (a token kept across retries) is not put on a query.
  assert.is(query?.options.deduplicationToken, undefined);
  assert.is(query?.options.asyncInsert, undefined);
  assert.is(insert?.type, 'insert');
  assert.type(insert?.options.deduplicationToken, 'string');
  assert.equal([pool.stats().writer.written, pool.stats().writer.failed], [2, 0]);
  await app.stop();
});

test('health :: a server\'s version is read at start, forgotten when it goes down and read again when it is back', async () => {
  const fake = fakeServers();
  const told: string[] = [];
  const index = (server: ServerConfig) => Number(server.host.split('.').pop()) - 1;
  const io = { ...fake.io, info: { learn: async (server: ServerConfig) => void told.push(`learn:${index(server)}`), forget: (server: ServerConfig) => void told.push(`forget:${index(server)}`) } };
  const clock = createTestClock();
  const pool = definePoolWith({ connectionStrings: urls, name: `unit-${++seq}`, poolSize: 3, balance: 'in_order', backoff: { initial: 100, max: 100 } }, io);
  const app = await startSupervisor([pool], { clock });
  assert.equal(told.sort(), ['learn:0', 'learn:1', 'learn:2']);
  told.length = 0;
  fake.behaviour[0] = async () => { throw new TransportError('connect ECONNREFUSED', false); };
  fake.probeOk[0] = false;
  assert.equal(await pool.select('SELECT 1'), [{ x: 1 }], 'failed over');
  assert.not.ok(pool.stats().servers[0]!.up);
  assert.equal(told, ['forget:0']);
  assert.equal(pool.stats().servers.map((s) => s.errors), [1, 0, 0], 'the refused call counts against server 0 in stats()');
  fake.behaviour[0] = async () => [{ x: 0 }];
  fake.probeOk[0] = true;
  clock.advance(100);
  await flush();
  assert.ok(pool.stats().servers[0]!.up, 'probed back up');
  assert.equal(told, ['forget:0', 'learn:0']);
  await app.stop();
});

test('stream :: send({ type: \'stream\' }) answers a row stream as stream() does; stream() before start throws POOL_NOT_STARTED at once', async () => {
  const fake = fakeServers();
  for (const i of [0, 1, 2]) {
    fake.behaviour[i] = async (req) => {
      if (req.type !== 'stream') return [{ x: 1 }];
      await req.sink!.push([{ n: 0 }, { n: 1 }]);
      return undefined;
    };
  }
  const pool = definePoolWith({ connectionStrings: urls, name: `unit-${++seq}`, poolSize: 3 }, fake.io);
  assert.throws(() => pool.stream('SELECT 1'), (e: unknown) => codeOf(e) === 'POOL_NOT_STARTED');
  await pool.start();
  const stream = await pool.send({ type: 'stream', sql: 'SELECT number AS n FROM numbers(2)' });
  const seen: unknown[] = [];
  for await (const row of stream) seen.push(row.n);
  assert.equal(seen, [0, 1]);
  assert.equal(fake.sent.length, 1);
  await pool.stop();
});

test('overflow :: an overflow connection idle past its linger is stopped and its Client closed', async () => {
  const fake = fakeServers();
  // undici's Client tells whether it was closed or destroyed.
  const opened: Array<{ readonly closed: boolean; readonly destroyed: boolean }> = [];
  const io = {
    ...fake.io,
    open: (server: ServerConfig) => {
      const t = openTransport(server);
      opened.push(t as unknown as { readonly closed: boolean; readonly destroyed: boolean });
      return t;
    },
  };
  const clock = createTestClock();
  const pool = definePoolWith({ connectionStrings: urls, name: `unit-${++seq}`, poolSize: 1, maxOverflow: 1, overflowLinger: 50 }, io);
  const app = await startSupervisor([pool], { clock });
  const states: string[] = [];
  pool.events.on('connection', (e) => { if (e.overflow) states.push(e.state); });
  const gates: Array<() => void> = [];
  for (let i = 0; i < 3; i++) fake.behaviour[i] = () => new Promise((resolve) => gates.push(() => resolve([{ x: 1 }])));
  const calls = [pool.select('SELECT 1'), pool.select('SELECT 2')];
  await flush();
  assert.is(pool.stats().overflowInUse, 1);
  assert.is(pool.stats().servers.reduce((n, s) => n + s.connections.busy, 0), 2, 'stats() counts the overflow connection among the busy ones');
  assert.is(opened.length, 2);
  for (const open of gates) open();
  await Promise.all(calls);
  clock.advance(50);
  await flush();
  assert.is(pool.stats().overflow, 0);
  assert.is(states.at(-1), 'stopped', 'the overflow connection was stopped');
  assert.ok(opened[1]!.closed || opened[1]!.destroyed, 'its Client was closed');
  assert.not.ok(opened[0]!.closed, 'the base connection keeps its Client');
  await app.stop();
});

test('lifecycle :: stop() answers a caller still waiting in line with POOL_STOPPED, not at its poolTimeout', async () => {
  const { pool, app, behaviour } = await started({ poolSize: 1, maxOverflow: 0 });
  behaviour[0] = () => new Promise(() => undefined);
  const busy = pool.select('SELECT 1').catch((e: unknown) => e);
  const waiting = pool.select('SELECT 2').catch((e: unknown) => e);
  await flush();
  assert.is(pool.stats().waiters, 1);
  await app.stop();
  const answer = await Promise.race([waiting, flush().then(() => 'still waiting')]);
  assert.is(codeOf(answer), 'POOL_STOPPED');
  assert.ok(codeOf(await Promise.race([busy, flush().then(() => 'still waiting')])), 'the call in flight is answered too');
});


// Mutation-run gaps (mut-wo): the writer's options reach the writer.

test('async :: asyncRetries is the writer\'s: a batch the server keeps failing is sent 1 + asyncRetries times, then reported', async () => {
  const fake = fakeServers();
  fake.behaviour[0] = fake.behaviour[1] = fake.behaviour[2] = async (req) => {
    if (req.type === 'insert_to_table') throw new ClickHouseError({ serverCode: 241, serverMessage: 'Memory limit (total) exceeded' }, 500);
    return req.type === 'select' ? [] : undefined;
  };
  const lost: { code: string | undefined; rows: number }[] = [];
  const clock = createTestClock();
  const pool = definePoolWith({
    connectionStrings: urls, name: `unit-${++seq}`, poolSize: 3, asyncRetries: 1, backoff: { initial: 10, max: 10 }, onError: (e, rows) => lost.push({ code: codeOf(e), rows: rows.length }),
  }, fake.io);
  const app = await startSupervisor([pool], { clock });
  pool.asyncInsertToTable('events', [{ id: 1 }, { id: 2 }]);
  const flushed = pool.flush();
  for (let i = 0; i < 40 && lost.length === 0; i++) {
    clock.advance(1000);
    await flush();
  }
  await flushed;
  assert.is(fake.sent.filter((s) => s.body.startsWith('INSERT')).length, 2, 'sent 1 + asyncRetries times');
  assert.equal(lost, [{ code: 'CLICKHOUSE', rows: 2 }]);
  assert.equal([pool.stats().writer.failed, pool.stats().writer.retried], [2, 1]);
  await app.stop();
});

test('async :: serverAsyncInsert and asyncOverflow are the writer\'s: batches ask for the server\'s async inserts; drop_oldest drops the oldest rows', async () => {
  const fake = fakeServers();
  const asked: unknown[] = [];
  fake.behaviour[0] = fake.behaviour[1] = fake.behaviour[2] = async (req) => {
    if (req.type === 'insert_to_table') asked.push(req.options.asyncInsert);
    return req.type === 'select' ? [] : undefined;
  };
  const lost: unknown[] = [];
  const pool = definePoolWith({
    connectionStrings: urls, name: `unit-${++seq}`, poolSize: 3, serverAsyncInsert: true, asyncOverflow: 'drop_oldest', asyncMailbox: 2, onError: (_e, rows) => lost.push(...rows),
  }, fake.io);
  await startSupervisor([pool], { clock: createTestClock() }).then(async (app) => {
    pool.asyncInsertToTable('events', [{ id: 1 }]);
    pool.asyncInsertToTable('events', [{ id: 2 }]);
    pool.asyncInsertToTable('events', [{ id: 3 }]);
    await pool.flush();
    assert.equal(lost, [{ id: 1 }], 'the oldest row was dropped');
    assert.equal(fake.sent.filter((s) => s.body.startsWith('INSERT')).map((s) => s.body), ['INSERT INTO `events` (`id`) FORMAT JSONEachRow\n{"id":2}\n{"id":3}\n']);
    assert.equal(asked, [true]);
    await app.stop();
  });
});

test('send :: a message of no known type, or no object at all, rejects with QUERY_PARAM and reaches no server', async () => {
  const { pool, app, sent } = await started();
  const before = sent.length;
  for (const message of [{ type: 'bogus', sql: 'SELECT 1' }, { sql: 'SELECT 1' }, 'SELECT 1', null, undefined]) {
    const err = await pool.send(message as never).then(() => undefined, (e: unknown) => e);
    assert.is(codeOf(err), 'QUERY_PARAM', JSON.stringify(message));
  }
  assert.is(sent.length, before, 'nothing sent');
  await app.stop();
});

test.run();
