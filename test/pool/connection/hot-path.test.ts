import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createActor, fromCallback, fromPromise } from 'xstate';
import { AbortError, ClickHouseError, TimeoutError, TransportError } from '../../../src/clickhouse/errors.js';
import type { PreparedRequest } from '../../../src/clickhouse/types.js';
import { createTestClock } from '../../../src/otp/clock.js';
import { withHotPath } from '../../../src/pool/connection/hot-path.js';
import { connectionMachine, type ConnectionEvent } from '../../../src/pool/connection/connection.machine.js';
import { seeded } from '../../seeded.js';

const flush = () => new Promise((resolve) => setImmediate(resolve));
const request = (n: number): PreparedRequest => ({ type: 'select', body: `SELECT ${n}`, options: {}, readOnly: true });

type Step =
  | { readonly kind: 'send'; readonly event: ConnectionEvent }
  | { readonly kind: 'probe-ok' }
  | { readonly kind: 'probe-fail' }
  | { readonly kind: 'tick'; readonly ms: number };

const describeError = (e: unknown): string => (e instanceof Error ? `${(e as { code?: string }).code ?? e.name}` : String(e));

/**
 * One connection actor whose I/O is recorded, not performed: the test answers requests,
 * resets and probes itself. `hot` wraps the machine with the hot path; `transitions` counts
 * the steps the machine itself took.
 */
function harness(hot: boolean, seed: number) {
  const clock = createTestClock();
  const log: string[] = [];
  const probes: Array<{ resolve(): void; reject(e: unknown): void }> = [];
  const machine = connectionMachine.provide({
    actions: {
      perform: ({ event }) => {
        if (event.type === 'run') log.push(`perform ${event.request.body}`);
      },
    },
    actors: {
      transport: fromCallback<{ readonly type: 'reset' }>(({ receive }) => receive((command) => log.push(`transport ${command.type}`))),
      probe: fromPromise<void, void>(() => new Promise<void>((resolve, reject) => probes.push({ resolve, reject }))),
    },
  });
  let transitions = 0;
  const counted: typeof machine = Object.create(machine, {
    transition: {
      value: (...args: Parameters<typeof machine.transition>) => {
        transitions++;
        return machine.transition(...args);
      },
    },
  });
  const actor = createActor(hot ? withHotPath(counted) : counted, {
    input: { id: 'conn-0', server: 0, label: 'http://u:***@h:1/db', overflow: false, backoff: { initial: 100, max: 1_000 }, random: seeded(seed) },
    clock,
  });
  actor.on('*', (e) => {
    const { type, ...rest } = e as { type: string; error?: unknown; output?: unknown };
    log.push(`emit ${type} ${JSON.stringify({ ...rest, error: rest.error === undefined ? undefined : describeError(rest.error) })}`);
  });
  actor.subscribe({
    next: (s) => {
      const { random: _random, ...context } = s.context;
      log.push(`${s.status} ${String(s.value)} ${JSON.stringify(context)} [${Object.keys(s.children).join(',')}]`);
    },
    error: (e) => log.push(`crashed ${describeError(e)}`),
  });
  actor.start();
  return {
    actor,
    log,
    transitions: () => transitions,
    async apply(step: Step): Promise<void> {
      if (step.kind === 'send') actor.send(step.event);
      else if (step.kind === 'tick') clock.advance(step.ms);
      else {
        const probe = probes.shift();
        if (step.kind === 'probe-ok') probe?.resolve();
        else probe?.reject(new TransportError('ECONNREFUSED', false));
      }
      await flush();
    },
  };
}

function randomStep(next: () => number, i: number): Step {
  const r = next();
  if (r < 0.3) return { kind: 'send', event: { type: 'run', request: request(i) } };
  if (r < 0.6) return { kind: 'send', event: { type: 'transport.done', output: [{ n: i }] } };
  if (r < 0.65) return { kind: 'send', event: { type: 'transport.error', error: new ClickHouseError({ serverCode: 60, serverMessage: 'no table' }, 404) } };
  if (r < 0.68) return { kind: 'send', event: { type: 'transport.error', error: new AbortError(new Error('gave up'), true) } };
  if (r < 0.71) return { kind: 'send', event: { type: 'transport.error', error: new TimeoutError(100, true) } };
  if (r < 0.74) return { kind: 'send', event: { type: 'transport.error', error: new TransportError('ECONNREFUSED', false) } };
  if (r < 0.745) return { kind: 'send', event: { type: 'transport.error', error: new Error('a bug') } };
  if (r < 0.8) return { kind: 'send', event: { type: 'transport.reset' } };
  if (r < 0.83) return { kind: 'send', event: { type: 'probe' } };
  if (r < 0.88) return { kind: 'probe-ok' };
  if (r < 0.91) return { kind: 'probe-fail' };
  return { kind: 'tick', ms: Math.floor(next() * 1_500) };
}

const test = suite('connection.hot-path');

test('model :: 300 seeded sequences give the same states, contexts, emits and I/O with and without the hot path', async () => {
  let saved = 0;
  for (let seed = 1; seed <= 300; seed++) {
    const next = seeded(seed);
    const plain = harness(false, seed);
    const hot = harness(true, seed);
    for (let i = 0; i < 60; i++) {
      const step = randomStep(next, i);
      await plain.apply(step);
      await hot.apply(step);
      if (hot.log.length !== plain.log.length || hot.log.at(-1) !== plain.log.at(-1)) {
        assert.equal(hot.log, plain.log, `seed ${seed}, step ${i} (${JSON.stringify(step, (_k, v) => (v instanceof Error ? describeError(v) : v))})`);
      }
    }
    assert.equal(hot.log, plain.log, `seed ${seed}`);
    saved += plain.transitions() - hot.transitions();
    plain.actor.stop();
    hot.actor.stop();
  }
  // The comparison is only worth something if the hot path was taken.
  assert.ok(saved > 1_000, `the hot path answered only ${saved} events`);
});

test('hot :: after one call, a successful call is answered without a machine step', async () => {
  const hot = harness(true, 7);
  await hot.apply({ kind: 'send', event: { type: 'run', request: request(0) } });
  await hot.apply({ kind: 'send', event: { type: 'transport.done', output: [] } });
  const before = hot.transitions();
  for (let i = 1; i <= 100; i++) {
    await hot.apply({ kind: 'send', event: { type: 'run', request: request(i) } });
    assert.is(hot.actor.getSnapshot().value, 'busy');
    await hot.apply({ kind: 'send', event: { type: 'transport.done', output: [{ n: i }] } });
    assert.is(hot.actor.getSnapshot().value, 'idle');
  }
  assert.is(hot.transitions(), before);
  assert.ok(hot.log.includes('perform SELECT 100'));
  assert.ok(hot.log.includes('emit settled {"ok":true,"output":[{"n":100}],"ready":true}'));
  hot.actor.stop();
});

test('hot :: a failure in between changes the context, and the machine takes the next call itself', async () => {
  const hot = harness(true, 8);
  const cycle = async (n: number) => {
    await hot.apply({ kind: 'send', event: { type: 'run', request: request(n) } });
    await hot.apply({ kind: 'send', event: { type: 'transport.done', output: [] } });
  };
  await cycle(0);
  await hot.apply({ kind: 'send', event: { type: 'run', request: request(1) } });
  await hot.apply({ kind: 'send', event: { type: 'transport.error', error: new TransportError('socket hang up', true) } });
  await hot.apply({ kind: 'send', event: { type: 'transport.reset' } });
  await hot.apply({ kind: 'tick', ms: 1_000 });
  await hot.apply({ kind: 'probe-ok' });
  assert.is(hot.actor.getSnapshot().value, 'idle');
  assert.is(hot.actor.getSnapshot().context.failures, 1);
  const before = hot.transitions();
  await cycle(2);
  // The new context's idle snapshot came from the machine; its busy one does not exist yet.
  assert.is(hot.transitions(), before + 1, 'the first run after recovery goes through the machine');
  await cycle(3);
  assert.is(hot.transitions(), before + 1, 'and the next call does not');
  assert.is(hot.actor.getSnapshot().context.failures, 1);
  hot.actor.stop();
});

test.run();
