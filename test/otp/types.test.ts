// ChildActor, the public type of a child's actor: every kind of xstate actor fits it
// without a cast, and what it hands back is `unknown`, never `any`. The type-level
// assertions below fail `tsc --noEmit` (which covers test/); the runtime ones fail uvu.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { assign, createActor, fromCallback, fromPromise, setup, type SnapshotFrom } from 'xstate';
import { createTestClock, realClock } from '../../src/otp/clock.js';
import { startSupervisor, supervisor, supervisorOf, type SupervisorSnapshot } from '../../src/otp/supervisor.logic.js';
import type { ChildActor, ChildInfo, ChildSpec, Supervisor } from '../../src/otp/types.js';
import { flush, status } from './helpers.js';

const test = suite('types');

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false;
type Expect<T extends true> = T;

// What a user reads through the public types is `unknown`, which `Equal` tells from `any`.
export type PublicTypesHoldNoAny = [
  Expect<Equal<ReturnType<ChildActor['getSnapshot']>, unknown>>,
  Expect<Equal<Supervisor['actor'], ChildActor>>,
  Expect<Equal<ChildInfo['actor'], ChildActor | undefined>>,
  Expect<Equal<Awaited<ReturnType<Supervisor['startChild']>>, ChildActor>>,
  Expect<Equal<Awaited<ReturnType<Supervisor['restartChild']>>, ChildActor>>,
  Expect<Equal<Awaited<ReturnType<ChildSpec['start']>>, ChildActor>>,
  Expect<Equal<Parameters<NonNullable<ChildSpec['stop']>>[0], ChildActor>>,
];

/** A machine whose `send` takes only its own two events, one with a payload. */
const counter = setup({
  types: { context: {} as { count: number }, events: {} as { type: 'ADD'; by: number } | { type: 'RESET' } },
}).createMachine({
  context: { count: 0 },
  on: {
    ADD: { actions: assign({ count: ({ context, event }) => context.count + event.by }) },
    RESET: { actions: assign({ count: 0 }) },
  },
});

test('ChildActor :: a machine, fromPromise, fromCallback and a supervisor actor fit without a cast', async () => {
  const forever = fromPromise(() => new Promise<never>(() => undefined));
  const specs: ChildSpec[] = [
    { id: 'counter', start: (ctx) => createActor(counter, { clock: ctx?.clock ?? realClock }) },
    { id: 'promise', start: () => createActor(forever) },
    { id: 'callback', start: () => createActor(fromCallback(() => () => undefined)) },
    supervisor({ id: 'nested', children: [{ id: 'inner', start: () => createActor(forever) }] }),
  ];
  const app = await startSupervisor(specs, { clock: createTestClock() });
  const actors = app.whichChildren().map((c) => c.actor);
  assert.equal(actors.map((a) => (a === undefined ? 'none' : status(a))), ['active', 'active', 'active', 'active']);
  const nested: ChildActor = actors[3]!;
  assert.is((nested.getSnapshot() as SupervisorSnapshot).context.id, 'nested');
  assert.equal(supervisorOf(nested)?.whichChildren().map((c) => c.id), ['inner']);
  await app.stop();
  // A supervisor's own actor ends `done` (output 'shutdown'); the workers are stopped.
  assert.equal(actors.map((a) => (a === undefined ? 'none' : status(a))), ['stopped', 'stopped', 'stopped', 'done']);
});

test('ChildActor :: a started actor (createActor(logic).start()) is one too', async () => {
  const running: ChildActor = createActor(counter).start();
  running.send({ type: 'ADD', by: 2 });
  assert.is((running.getSnapshot() as SnapshotFrom<typeof counter>).context.count, 2);
  running.stop();
  assert.is(status(running), 'stopped');
});

test('ChildActor :: send takes an event with a payload; the snapshot must be narrowed to be read', async () => {
  const app = await startSupervisor([{ id: 'counter', start: () => createActor(counter) }], { clock: createTestClock() });
  const actor = app.whichChildren()[0]!.actor!;
  actor.send({ type: 'ADD', by: 5 });
  actor.send({ type: 'ADD', by: 2 });
  // @ts-expect-error a snapshot is `unknown` until narrowed (with `any` this line would compile)
  const unread: number = actor.getSnapshot().context.count;
  void unread;
  assert.is((actor.getSnapshot() as SnapshotFrom<typeof counter>).context.count, 7);
  const seen: unknown[] = [];
  const subscription = actor.subscribe((snapshot) => seen.push((snapshot as SnapshotFrom<typeof counter>).context.count));
  actor.send({ type: 'RESET' });
  subscription.unsubscribe();
  actor.send({ type: 'ADD', by: 1 });
  assert.equal(seen, [0]);
  await app.stop();
});

test('ChildActor :: startChild and restartChild hand back the new actor, a new session each life', async () => {
  const app = await startSupervisor([], { clock: createTestClock() });
  const first = await app.startChild({ id: 'counter', start: () => createActor(counter) });
  assert.is(app.whichChildren()[0]!.actor, first);
  await app.terminateChild('counter');
  const second = await app.restartChild('counter');
  assert.is(status(first), 'stopped');
  assert.is(status(second), 'active');
  assert.is.not(second.sessionId, first.sessionId);
  await app.stop();
  await flush();
});

test.run();
