// Starting and stopping one child: what counts as a failed start, an exit, and how shutdown
// times are kept, on the simulated clock.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createActor, fromPromise, setup } from 'xstate';
import { resolveSpec } from '../../src/otp/child-spec.js';
import { startInstance, stopInstance } from '../../src/otp/child.js';
import { createTestClock, realClock, type TestClock } from '../../src/otp/clock.js';
import { OtpError } from '../../src/otp/errors.js';
import { startSupervisor } from '../../src/otp/supervisor.logic.js';
import type { ChildActor, ChildSpec, Shutdown } from '../../src/otp/types.js';
import { flush, status, workerMachine } from './helpers.js';

const test = suite('child');

const noInspect = (clock: TestClock) => ({ clock, inspect: undefined });

/** A spec whose graceful stop takes `takes` ms on the clock; records what happened. */
function slowStopper(shutdown: Shutdown, takes: number, clock: TestClock) {
  const log: string[] = [];
  const spec: ChildSpec = {
    id: 'writer',
    shutdown,
    start: () => createActor(workerMachine),
    stop: (actor: ChildActor) => new Promise<void>((resolve) => {
      log.push(`drain:${(actor.getSnapshot() as { status: string }).status}`);
      clock.setTimeout(() => { log.push('drained'); resolve(); }, takes);
    }),
  };
  return { spec, log };
}

/** Starts a slow stopper and begins stopping it; `done()` says whether the stop has finished. */
async function stopping(shutdown: Shutdown, takes: number) {
  const clock = createTestClock();
  const { spec, log } = slowStopper(shutdown, takes, clock);
  const resolved = resolveSpec(spec);
  const instance = await startInstance(resolved, noInspect(clock));
  let done = false;
  void stopInstance(instance, resolved, clock).then(() => { done = true; });
  await flush();
  const advance = async (ms: number) => {
    clock.advance(ms);
    await flush();
  };
  return { clock, log, instance, done: () => done, advance };
}

test('shutdown :: graceful stop is awaited within shutdown ms, then the actor is stopped', async () => {
  const { clock, log, instance, done, advance } = await stopping(1_000, 300);
  assert.equal(log, ['drain:active']);
  await advance(299);
  assert.is(done(), false);
  await advance(1);
  assert.equal(log, ['drain:active', 'drained']);
  assert.is(done(), true);
  assert.is(status(instance.actor), 'stopped');
  assert.is(clock.pending(), 0);
});

test('shutdown :: a graceful stop that outlasts shutdown ms is cut off at the deadline', async () => {
  const { log, instance, done, advance } = await stopping(500, 10_000);
  await advance(499);
  assert.is(done(), false);
  await advance(1);
  assert.is(done(), true);
  assert.equal(log, ['drain:active']);
  assert.is(status(instance.actor), 'stopped');
});

test('shutdown :: brutal_kill stops the actor without the graceful step', async () => {
  const clock = createTestClock();
  const { spec, log } = slowStopper('brutal_kill', 10_000, clock);
  const instance = await startInstance(resolveSpec(spec), noInspect(clock));
  await stopInstance(instance, resolveSpec(spec), clock);
  assert.equal(log, []);
  assert.is(status(instance.actor), 'stopped');
});

test('shutdown :: infinity waits for the graceful stop however long it takes', async () => {
  const { log, done, advance } = await stopping('infinity', 3_600_000);
  await advance(3_599_999);
  assert.is(done(), false);
  await advance(1);
  assert.is(done(), true);
  assert.equal(log, ['drain:active', 'drained']);
});

test('shutdown :: the supervisor runs each child\'s graceful stop when it stops', async () => {
  const clock = createTestClock();
  const { spec, log } = slowStopper(5_000, 100, clock);
  const sup = await startSupervisor([spec], { clock });
  const stopping = sup.stop();
  await flush();
  clock.advance(100);
  await stopping;
  assert.equal(log, ['drain:active', 'drained']);
});

test('start :: a start function that throws or rejects is a failed start naming the child', async () => {
  const clock = createTestClock();
  for (const start of [() => { throw new Error('no'); }, () => Promise.reject(new Error('no'))]) {
    try {
      await startInstance(resolveSpec({ id: 'w', start }), noInspect(clock));
      assert.unreachable('should have failed');
    } catch (error) {
      assert.instance(error, OtpError);
      assert.is((error as OtpError).code, 'OTP_START_FAILED');
      assert.is((error as OtpError).childId, 'w');
      assert.match((error as OtpError).message, /'w'/);
    }
  }
});

test('start :: an actor that errors while starting is a failed start', async () => {
  const broken = setup({ actions: { boom: () => { throw new Error('entry failed'); } } }).createMachine({ entry: 'boom' });
  try {
    await startInstance(resolveSpec({ id: 'b', start: () => createActor(broken) }), noInspect(createTestClock()));
    assert.unreachable('should have failed');
  } catch (error) {
    assert.is((error as OtpError).code, 'OTP_START_FAILED');
  }
});

test('start :: an object that only looks like an actor (no xstate system) is a failed start', async () => {
  const lookalike: ChildActor = {
    id: 'fake', sessionId: 'x:0',
    send: () => undefined, getSnapshot: () => ({ status: 'active' }), subscribe: () => ({ unsubscribe: () => undefined }),
    start: () => undefined, stop: () => undefined,
  };
  try {
    await startInstance(resolveSpec({ id: 'fake', start: () => lookalike }), noInspect(createTestClock()));
    assert.unreachable('should have failed');
  } catch (error) {
    assert.is((error as OtpError).code, 'OTP_START_FAILED');
    assert.is((error as OtpError).childId, 'fake');
  }
});

test('start :: start receives the tree clock, so machine delays run on it', async () => {
  const clock = createTestClock();
  const timed = setup({}).createMachine({ initial: 'wait', states: { wait: { after: { 1_000: 'done' } }, done: { type: 'final' } } });
  const instance = await startInstance(resolveSpec({ id: 't', start: (ctx) => createActor(timed, { clock: ctx!.clock }) }), noInspect(clock));
  clock.advance(1_000);
  assert.is(await instance.exited, 'normal');
});

test('exit :: reaching a final state is a normal exit, an error snapshot a crash', async () => {
  const clock = createTestClock();
  const spec = resolveSpec({ id: 'w', start: () => createActor(workerMachine) });
  const a = await startInstance(spec, noInspect(clock));
  a.actor.send({ type: 'EXIT' });
  assert.is(await a.exited, 'normal');
  const b = await startInstance(spec, noInspect(clock));
  b.actor.send({ type: 'CRASH' });
  const reason = await b.exited;
  assert.ok(typeof reason === 'object' && (reason.error as Error).message === 'worker crashed on purpose');
  const c = await startInstance(resolveSpec({ id: 'p', start: () => createActor(fromPromise(() => Promise.reject(new Error('later')))) }), noInspect(clock));
  assert.ok(typeof (await c.exited) === 'object');
});

test('exit :: an actor stopped from outside its supervisor is a crash (OTP_KILLED)', async () => {
  const instance = await startInstance(resolveSpec({ id: 'w', start: () => createActor(workerMachine) }), noInspect(createTestClock()));
  instance.actor.stop();
  const reason = await instance.exited;
  assert.ok(typeof reason === 'object' && reason.error instanceof OtpError && reason.error.code === 'OTP_KILLED');
});

test('shutdown :: a child that ends by itself during its graceful stop ends the wait, without waiting for the deadline', async () => {
  for (const shutdown of [5_000, 'infinity'] as const) {
    const clock = createTestClock();
    // The stop asks the actor to finish and never settles itself (a drain whose promise is lost).
    const spec = resolveSpec({
      id: 'w', shutdown, start: () => createActor(workerMachine),
      stop: (actor: ChildActor) => { actor.send({ type: 'EXIT' }); return new Promise<void>(() => undefined); },
    });
    const instance = await startInstance(spec, noInspect(clock));
    let done = false;
    void stopInstance(instance, spec, clock).then(() => { done = true; });
    await flush();
    assert.is(done, true, `shutdown ${shutdown}: stopped without the clock moving`);
    assert.is(await instance.exited, 'normal');
    assert.is(clock.pending(), 0, 'no deadline timer left behind');
  }
});

test('shutdown :: infinity on the real clock waits for a graceful stop that takes real time', async () => {
  const log: string[] = [];
  const spec = resolveSpec({
    id: 'w', shutdown: 'infinity', start: () => createActor(workerMachine),
    stop: (actor: ChildActor) => new Promise<void>((resolve) => {
      setTimeout(() => { log.push(`drained:${status(actor)}`); resolve(); }, 20);
    }),
  });
  const instance = await startInstance(spec, { clock: realClock, inspect: undefined });
  await stopInstance(instance, spec, realClock);
  assert.equal(log, ['drained:active'], 'the drain ran to its end before the actor was stopped');
  assert.is(status(instance.actor), 'stopped');
});

test.run();
