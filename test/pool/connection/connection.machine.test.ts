import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createActor, fromPromise } from 'xstate';
import { AbortError, ClickHouseError, TimeoutError, TransportError } from '../../../src/clickhouse/errors.js';
import { fullJitter } from '../../../src/pool/backoff.js';
import type { PreparedRequest } from '../../../src/clickhouse/types.js';
import { connectionMachine, performAction, transportLogic } from '../../../src/pool/connection/connection.machine.js';
import { manualClock } from '../fake-clock.js';

const request: PreparedRequest = { type: 'select', body: 'SELECT 1', options: {}, readOnly: true };
const flush = () => new Promise((resolve) => setImmediate(resolve));

function start(opts: { perform: (req: PreparedRequest) => Promise<unknown>; probe?: () => Promise<void>; random?: () => number; reset?: () => Promise<void> }) {
  const clock = manualClock();
  const resets: number[] = [];
  const probes: number[] = [];
  const logic = connectionMachine.provide({
    actions: { perform: performAction((request) => opts.perform(request)) },
    actors: {
      transport: transportLogic(async () => {
        resets.push(clock.now());
        await opts.reset?.();
      }),
      probe: fromPromise(async () => {
        probes.push(clock.now());
        await (opts.probe ?? (async () => undefined))();
      }),
    },
  });
  const actor = createActor(logic, {
    input: { id: 'conn-0', server: 0, label: 'http://u:***@h:1/db', overflow: false, backoff: { initial: 100, max: 1000 }, random: opts.random ?? (() => 0.5) },
    clock,
  });
  const emitted: string[] = [];
  actor.on('*', (e) => {
    // A `settled` with `ready: true` stands for a `ready` event (one emit per query).
    if (e.type === 'settled') {
      if (e.ready) emitted.push('ready');
    } else emitted.push(e.type === 'failure' ? `failure:${e.kind}` : e.type);
  });
  actor.start();
  const run = () => {
    const out: { value?: unknown; error?: unknown } = {};
    const off = actor.on('settled', (e) => {
      off.unsubscribe();
      if (e.ok) out.value = e.output;
      else out.error = e.error;
    });
    actor.send({ type: 'run', request });
    return out;
  };
  const state = () => actor.getSnapshot().value;
  return { actor, clock, run, state, emitted, resets, probes };
}

const test = suite('connection.machine');

test('run :: a successful call is settled with its output and the connection is ready again', async () => {
  const c = start({ perform: async () => [{ x: 1 }] });
  const out = c.run();
  assert.is(c.state(), 'busy');
  await flush();
  assert.equal(out.value, [{ x: 1 }]);
  assert.is(c.state(), 'idle');
  assert.equal(c.emitted, ['ready']);
});

test('run :: without a provided perform action the machine refuses to run (no hidden default I/O)', () => {
  const actor = createActor(connectionMachine.provide({ actors: { transport: transportLogic(async () => undefined), probe: fromPromise<void, void>(async () => undefined) } }), {
    input: { id: 'conn-0', server: 0, label: 'x', overflow: false, backoff: { initial: 100, max: 1000 } },
  });
  const errors: unknown[] = [];
  actor.subscribe({ error: (e) => errors.push(e) });
  actor.start();
  actor.send({ type: 'run', request });
  assert.match(String(errors[0]), 'provide a perform action');
});

test('run :: a server error settles the call without counting against the server', async () => {
  const c = start({ perform: async () => { throw new ClickHouseError({ serverCode: 60, serverMessage: 'no table' }, 500); } });
  const out = c.run();
  await flush();
  assert.is((out.error as { code: string }).code, 'CLICKHOUSE');
  assert.is(c.state(), 'idle');
  assert.equal(c.emitted, ['ready']);
});

test('failure :: a refused connection goes failed, backs off, probes and comes back', async () => {
  const c = start({ perform: async () => { throw new TransportError('connect ECONNREFUSED', false); } });
  const out = c.run();
  await flush();
  assert.is((out.error as { code: string }).code, 'TRANSPORT');
  assert.is(c.state(), 'backoff');
  assert.equal(c.emitted, ['unavailable', 'failure:hard']);
  assert.equal(c.resets, [0], 'the broken Client was replaced');
  c.clock.advance(49);
  assert.is(c.state(), 'backoff');
  c.clock.advance(1);
  assert.is(c.state(), 'probing');
  await flush();
  assert.is(c.state(), 'idle');
  assert.equal(c.emitted, ['unavailable', 'failure:hard', 'probed', 'ready']);
});

test('timeout :: a call that times out is the caller\'s error; an answered /ping puts the connection back, nothing counted', async () => {
  const c = start({ perform: async () => { throw new TimeoutError(10, true); } });
  const out = c.run();
  await flush();
  assert.is((out.error as { code: string }).code, 'TIMEOUT');
  assert.is(c.state(), 'idle');
  assert.equal(c.emitted, ['unavailable', 'ready'], 'no failure, no probed: the server keeps its health');
  assert.equal(c.resets, [0], 'the timed-out Client was replaced');
  assert.is(c.probes.length, 1, 'one /ping decided');
});

test('timeout :: when /ping is not answered either, the server is blamed and the connection backs off', async () => {
  const c = start({
    perform: async () => { throw new TimeoutError(10, true); },
    probe: async () => { throw new TimeoutError(10, true); },
  });
  c.run();
  await flush();
  assert.is(c.state(), 'backoff');
  assert.equal(c.emitted, ['unavailable', 'failure:soft']);
});

test('failure :: failed probes back off exponentially with full jitter, capped; after a good probe, the next outage starts from the first delay again', async () => {
  let fail = true;
  const c = start({
    perform: async () => { throw new TransportError('socket hang up', true); },
    probe: async () => { if (fail) throw new TransportError('connect ECONNREFUSED', false); },
    random: () => 0.999,
  });
  c.run();
  await flush();
  assert.ok(c.emitted.includes('failure:soft'), 'a broken connection is a soft failure');
  const gaps: number[] = [];
  for (let i = 0; i < 6; i++) {
    gaps.push(c.clock.runNext());
    await flush();
  }
  assert.equal(gaps, [99, 199, 399, 799, 999, 999]);
  assert.is(c.probes.length, 6);
  fail = false;
  c.clock.runNext();
  await flush();
  assert.is(c.state(), 'idle');
  assert.is(fullJitter(0, { initial: 100, max: 1000 }, () => 0.999), 99, 'the exponent was reset');
  fail = true;
  c.run();
  await flush();
  assert.is(c.state(), 'backoff');
  // Before: the machine kept the exponent, and a server that failed once more waited 999 ms at once.
  assert.is(c.clock.runNext(), 99, 'the next outage backs off from the first delay again');
});

/** A call its caller gave up (ABORTED after sending): the Client is replaced once and the connection is lendable again. */
async function abortedCall(reset?: () => Promise<void>): Promise<void> {
  const c = start({ perform: async () => { throw new AbortError('bye', true); }, ...(reset ? { reset } : {}) });
  const out = c.run();
  await flush();
  await flush();
  assert.is((out.error as { code: string }).code, 'ABORTED');
  assert.equal(c.resets.length, 1);
  assert.is(c.state(), 'idle');
  assert.equal(c.emitted, ['unavailable', 'ready']);
}

test('abort :: a caller that gave up leaves a fresh Client, not a half-read socket', () => abortedCall());

test('abort :: a Client that fails to be replaced still leaves the connection lendable (no hang in resetting)', () =>
  abortedCall(async () => { throw new Error('destroy failed'); }));

test('failure :: a reset that fails still backs off and probes the server back (no hang in failed)', async () => {
  const c = start({
    perform: async () => { throw new TransportError('connect ECONNREFUSED', false); },
    reset: async () => { throw new Error('destroy failed'); },
  });
  c.run();
  await flush();
  assert.is(c.state(), 'backoff');
  c.clock.runNext();
  await flush();
  assert.is(c.state(), 'idle');
  assert.equal(c.emitted, ['unavailable', 'failure:hard', 'probed', 'ready']);
});

test('context :: a busy connection keeps no call in its context (inspection shows plain data)', async () => {
  let open!: () => void;
  const c = start({ perform: () => new Promise((resolve) => (open = () => resolve(1))) });
  c.run();
  assert.is(c.state(), 'busy');
  const { random, ...rest } = c.actor.getSnapshot().context;
  assert.type(random, 'function');
  assert.not.match(JSON.stringify(rest), 'SELECT 1');
  for (const v of Object.values(rest)) assert.not.type(v, 'function');
  open();
  await flush();
});

test('crash :: a non-colonnade error from perform is a bug that crashes the actor', async () => {
  const c = start({ perform: async () => { throw new TypeError('cannot read x of undefined'); } });
  const errors: unknown[] = [];
  c.actor.subscribe({ error: (e) => errors.push(e) });
  c.run();
  await flush();
  assert.is(c.actor.getSnapshot().status, 'error');
  assert.instance(errors[0], TypeError);
});

test.run();
