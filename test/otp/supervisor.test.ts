// The rules of OTP's supervisor, one test each, driven by the simulated clock.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createTestClock } from '../../src/otp/clock.js';
import { OtpError } from '../../src/otp/errors.js';
import { startSupervisor, supervisor, supervisorOf } from '../../src/otp/supervisor.logic.js';
import type { ChildSpec, StartContext, Supervisor, SupervisorNotice, SupervisorOptions } from '../../src/otp/types.js';
import { deferred, flush, held, rows, status, worker, type Journal, type WorkerOptions } from './helpers.js';

const test = suite('supervisor');

async function tree(ids: string[], options: SupervisorOptions = {}, each: (id: string) => WorkerOptions = () => ({})) {
  const journal: Journal = [];
  const clock = createTestClock();
  const workers = Object.fromEntries(ids.map((id) => [id, worker(id, { journal, ...each(id) })]));
  const sup = await startSupervisor(ids.map((id) => workers[id]!.spec), { clock, ...options });
  journal.length = 0;
  return { sup, workers, journal, clock };
}

/** A tree of `ids` just after `victim` crashed and the supervisor handled the exit. */
async function afterCrash(victim: string, ids: string[], options: SupervisorOptions = {}) {
  const started = await tree(ids, options);
  started.workers[victim]!.crash();
  await flush();
  return started;
}

const codeOf = async (work: Promise<unknown>): Promise<string> => {
  try {
    await work;
  } catch (error) {
    return error instanceof OtpError ? error.code : `not an OtpError: ${String(error)}`;
  }
  return 'resolved';
};

test('one_for_one :: restarts only the crashed child', async () => {
  const { sup, workers, journal } = await afterCrash('b', ['a', 'b', 'c']);
  assert.equal(journal, ['crash:b', 'start:b']);
  assert.equal([workers.a!.starts(), workers.b!.starts(), workers.c!.starts()], [1, 2, 1]);
  assert.equal(rows(sup.whichChildren()), ['a:up', 'b:up', 'c:up']);
  await sup.stop();
});

test('one_for_all :: restarts all in order after terminating the others in reverse', async () => {
  const { sup, journal } = await afterCrash('b', ['a', 'b', 'c', 'd'], { strategy: 'one_for_all' });
  assert.equal(journal, ['crash:b', 'stop:d', 'stop:c', 'stop:a', 'start:a', 'start:b', 'start:c', 'start:d']);
  assert.equal(rows(sup.whichChildren()), ['a:up', 'b:up', 'c:up', 'd:up']);
  await sup.stop();
});

test('one_for_all :: a child stopped by terminateChild starts again with the others', async () => {
  const { sup, workers, journal } = await tree(['a', 'b', 'c'], { strategy: 'one_for_all' });
  await sup.terminateChild('c');
  workers.a!.crash();
  await flush();
  assert.equal(journal, ['stop:c', 'crash:a', 'stop:b', 'start:a', 'start:b', 'start:c']);
  assert.equal(rows(sup.whichChildren()), ['a:up', 'b:up', 'c:up']);
  await sup.stop();
});

test('rest_for_one :: restarts the crashed child and those started after it, in order', async () => {
  const { sup, workers, journal } = await afterCrash('b', ['a', 'b', 'c', 'd'], { strategy: 'rest_for_one' });
  assert.equal(journal, ['crash:b', 'stop:d', 'stop:c', 'start:b', 'start:c', 'start:d']);
  assert.equal(workers.a!.starts(), 1);
  await sup.stop();
});

test('intensity :: more than intensity restarts in period takes the supervisor down', async () => {
  const { sup, workers, journal, clock } = await tree(['a', 'b', 'c'], { intensity: 3, period: 5_000 });
  for (let i = 0; i < 3; i++) {
    clock.advance(1_000);
    workers.b!.crash();
    await flush();
  }
  assert.is(sup.status, 'running');
  journal.length = 0;
  workers.b!.crash();
  await flush();
  assert.is(sup.status, 'failed');
  assert.equal(journal, ['crash:b', 'stop:c', 'stop:a']);
  const reason = await sup.stopped;
  assert.ok(typeof reason === 'object' && reason.error instanceof OtpError && reason.error.code === 'OTP_MAX_RESTARTS');
  assert.equal(rows(sup.whichChildren()), ['a:down', 'b:down', 'c:down']);
});

test('intensity :: restarts older than period no longer count', async () => {
  const { sup, workers, clock } = await tree(['a'], { intensity: 2, period: 5_000 });
  workers.a!.crash();
  await flush();
  workers.a!.crash();
  await flush();
  clock.advance(5_001);
  workers.a!.crash();
  await flush();
  assert.is(sup.status, 'running');
  assert.is(workers.a!.starts(), 4);
  await sup.stop();
});

test('intensity :: a restart exactly period ms old still counts, as in OTP', async () => {
  const { sup, workers, clock } = await tree(['a'], { intensity: 1, period: 5_000 });
  workers.a!.crash();
  await flush();
  clock.advance(5_000);
  workers.a!.crash();
  await flush();
  assert.is(sup.status, 'failed');
});

test('intensity :: intensity 0 means the first crash takes the supervisor down', async () => {
  const { sup, workers } = await afterCrash('b', ['a', 'b'], { intensity: 0 });
  assert.is(sup.status, 'failed');
  assert.is(workers.b!.starts(), 1);
});

test('restart types :: permanent is restarted after a normal exit too', async () => {
  const { sup, workers } = await tree(['a']);
  workers.a!.exit();
  await flush();
  assert.is(workers.a!.starts(), 2);
  assert.equal(rows(sup.whichChildren()), ['a:up']);
  await sup.stop();
});

test('restart types :: transient is restarted after a crash, not after a normal exit', async () => {
  const { sup, workers } = await tree(['t'], {}, () => ({ restart: 'transient' }));
  workers.t!.crash();
  await flush();
  assert.is(workers.t!.starts(), 2);
  workers.t!.exit();
  await flush();
  assert.is(workers.t!.starts(), 2);
  assert.equal(rows(sup.whichChildren()), ['t:down']);
  await sup.stop();
});

test('restart types :: a normal exit that is not restarted does not count toward intensity', async () => {
  const { sup, workers } = await tree(['t', 'u'], { intensity: 0 }, () => ({ restart: 'transient' }));
  workers.t!.exit();
  await flush();
  assert.is(sup.status, 'running');
  await sup.stop();
});

test('restart types :: temporary is never restarted and is removed when it exits', async () => {
  const { sup, workers } = await tree(['a', 'tmp'], { intensity: 0 }, (id) => (id === 'tmp' ? { restart: 'temporary' } : {}));
  workers.tmp!.crash();
  await flush();
  assert.is(sup.status, 'running');
  assert.is(workers.tmp!.starts(), 1);
  assert.equal(rows(sup.whichChildren()), ['a:up']);
  await sup.stop();
});

test("restart types :: temporary is removed when a sibling's crash stops it", async () => {
  const { sup, workers, journal } = await tree(['a', 'tmp', 'c'], { strategy: 'one_for_all' }, (id) => (id === 'tmp' ? { restart: 'temporary' } : {}));
  workers.a!.crash();
  await flush();
  assert.equal(journal, ['crash:a', 'stop:c', 'stop:tmp', 'start:a', 'start:c']);
  assert.equal(rows(sup.whichChildren()), ['a:up', 'c:up']);
  await sup.stop();
});

test('restart :: a start that fails during a restart counts as a restart attempt', async () => {
  const failing = await tree(['a'], { intensity: 2 }, () => ({ failOn: [2, 3] }));
  failing.workers.a!.crash();
  await flush();
  // crash -> attempt 1 (start 2 fails) -> attempt 2 (start 3 fails) -> attempt 3 > intensity 2
  assert.is(failing.sup.status, 'failed');
  assert.is(failing.workers.a!.starts(), 3);

  const recovering = await tree(['a'], { intensity: 3 }, () => ({ failOn: [2, 3] }));
  recovering.workers.a!.crash();
  await flush();
  assert.is(recovering.sup.status, 'running');
  assert.is(recovering.workers.a!.starts(), 4);
  assert.equal(rows(recovering.sup.whichChildren()), ['a:up']);
  await recovering.sup.stop();
});

test('restart :: under rest_for_one a failed restart retries from the child that failed', async () => {
  const { sup, workers, journal } = await tree(['a', 'b', 'c'], { strategy: 'rest_for_one' }, (id) => (id === 'b' ? { failOn: [2] } : {}));
  workers.a!.crash();
  await flush();
  assert.equal(journal, ['crash:a', 'stop:c', 'stop:b', 'start:a', 'fail:b', 'start:b', 'start:c']);
  assert.equal([workers.a!.starts(), workers.b!.starts(), workers.c!.starts()], [2, 3, 2]);
  await sup.stop();
});

test('api :: terminateChild stops a child and keeps its spec; restartChild starts it in place', async () => {
  const { sup, workers, journal } = await tree(['a', 'b', 'c']);
  await sup.terminateChild('b');
  assert.equal(rows(sup.whichChildren()), ['a:up', 'b:down', 'c:up']);
  const actor = await sup.restartChild('b');
  assert.is(actor, workers.b!.actor());
  assert.equal(rows(sup.whichChildren()), ['a:up', 'b:up', 'c:up']);
  assert.equal(journal, ['stop:b', 'start:b']);
  await sup.stop();
});

test('api :: terminateChild forgets a temporary child', async () => {
  const { sup } = await tree(['a', 'tmp'], {}, (id) => (id === 'tmp' ? { restart: 'temporary' } : {}));
  await sup.terminateChild('tmp');
  assert.equal(rows(sup.whichChildren()), ['a:up']);
  await sup.stop();
});

test('api :: deleteChild refuses a running child and forgets a terminated one', async () => {
  const { sup } = await tree(['a', 'b']);
  assert.is(await codeOf(sup.deleteChild('a')), 'OTP_CHILD_RUNNING');
  await sup.terminateChild('a');
  await sup.deleteChild('a');
  assert.equal(rows(sup.whichChildren()), ['b:up']);
  await sup.stop();
});

test('api :: restartChild refuses a running child', async () => {
  const { sup } = await tree(['a']);
  assert.is(await codeOf(sup.restartChild('a')), 'OTP_CHILD_RUNNING');
  await sup.stop();
});

test('api :: unknown ids are refused with OTP_NO_CHILD', async () => {
  const { sup } = await tree(['a']);
  assert.is(await codeOf(sup.terminateChild('nope')), 'OTP_NO_CHILD');
  assert.is(await codeOf(sup.restartChild('nope')), 'OTP_NO_CHILD');
  assert.is(await codeOf(sup.deleteChild('nope')), 'OTP_NO_CHILD');
  await sup.stop();
});

test('api :: startChild appends, refuses a taken id and keeps no spec that failed to start', async () => {
  const { sup } = await tree(['a']);
  const late = worker('late');
  await sup.startChild(late.spec);
  assert.equal(rows(sup.whichChildren()), ['a:up', 'late:up']);
  assert.is(await codeOf(sup.startChild(worker('a').spec)), 'OTP_DUPLICATE_CHILD');
  assert.is(await codeOf(sup.startChild(worker('bad', { failOn: [1] }).spec)), 'OTP_START_FAILED');
  assert.equal(rows(sup.whichChildren()), ['a:up', 'late:up']);
  await sup.stop();
});

test('countChildren :: counts specs, active, supervisors and workers as OTP does', async () => {
  const { sup } = await tree(['a', 'b', 'c']);
  await sup.terminateChild('b');
  assert.equal(sup.countChildren(), { specs: 3, active: 2, supervisors: 0, workers: 3 });
  await sup.stop();
});

test('stop :: stops children in reverse start order, once, however often it is called', async () => {
  const { sup, journal } = await tree(['a', 'b', 'c']);
  await Promise.all([sup.stop(), sup.stop()]);
  await sup.stop();
  assert.equal(journal, ['stop:c', 'stop:b', 'stop:a']);
  assert.is(sup.status, 'stopped');
  assert.is(await sup.stopped, 'normal');
});

test('stop :: a stopped supervisor refuses calls with OTP_NOT_RUNNING', async () => {
  const { sup } = await tree(['a']);
  await sup.stop();
  assert.is(await codeOf(sup.startChild(worker('x').spec)), 'OTP_NOT_RUNNING');
  assert.is(await codeOf(sup.terminateChild('a')), 'OTP_NOT_RUNNING');
});

test('exits :: a crash that arrives while the supervisor is busy is handled after, in order', async () => {
  const { sup, workers, journal } = await tree(['a', 'b']);
  workers.a!.crash();
  workers.b!.crash();
  await flush();
  assert.equal(journal, ['crash:a', 'crash:b', 'start:a', 'start:b']);
  await sup.stop();
});

test('watch :: restarts below a supervisor reach its watchers and its ancestors\', and whichChildren counts them', async () => {
  const clock = createTestClock();
  const inner = worker('w');
  const app = await startSupervisor([supervisor({ id: 'mid', children: [inner.spec] })], { clock });
  const mid = supervisorOf(app.whichChildren()[0]!.actor!)!;
  const atRoot: SupervisorNotice[] = [];
  const atMid: SupervisorNotice[] = [];
  app.watch((n) => void atRoot.push(n));
  const unwatch = mid.watch((n) => void atMid.push(n));
  mid.watch(() => { throw new Error('a broken watcher'); });
  inner.crash();
  await flush();
  assert.equal(atRoot.map((n) => [n.type, n.supervisor, n.child]), [['restart', 'mid', 'w']]);
  assert.equal(atMid.map((n) => n.type), ['restart']);
  assert.ok(typeof atRoot[0]!.reason === 'object');
  assert.is(mid.whichChildren()[0]!.restarts, 1);
  assert.is(app.whichChildren()[0]!.restarts, 0);
  unwatch();
  inner.crash();
  await flush();
  assert.is(atMid.length, 1);
  assert.is(atRoot.length, 2);
  assert.is(mid.whichChildren()[0]!.restarts, 2);
  await app.stop();
});

test('watch :: a supervisor past its intensity tells give_up before it ends', async () => {
  const { sup, workers } = await tree(['a'], { intensity: 1 });
  const seen: string[] = [];
  sup.watch((n) => void seen.push(`${n.type}:${n.child}`));
  workers.a!.crash();
  await flush();
  workers.a!.crash();
  await flush();
  assert.equal(seen, ['restart:a', 'give_up:a']);
  assert.is(sup.status, 'failed');
});

test('start context :: a child is handed its supervisor and the root of its tree', async () => {
  const contexts: StartContext[] = [];
  const spy = (id: string) => {
    const w = worker(id);
    return { ...w.spec, start: (ctx?: StartContext) => { contexts.push(ctx!); return w.spec.start(ctx); } };
  };
  const app = await startSupervisor([spy('top'), supervisor({ id: 'mid', children: [spy('low')] })], { clock: createTestClock() });
  const mid = supervisorOf(app.whichChildren()[1]!.actor!)!;
  assert.is(contexts[0]!.supervisor, app);
  assert.is(contexts[0]!.root, app);
  assert.is(contexts[1]!.supervisor, mid);
  assert.is(contexts[1]!.root, app);
  await app.stop();
});

test('shutdown :: a nested supervisor whose own stop() rejects still stops its children gracefully (their stop() runs)', async () => {
  const journal: Journal = [];
  const child = (id: string) => worker(id, { journal, stop: async () => void journal.push(`stop():${id}`) }).spec;
  const nested = supervisor({ id: 'mid', children: [child('x'), child('y')] });
  const app = await startSupervisor([{ ...nested, stop: async () => { throw new Error('drain failed'); } }], { clock: createTestClock() });
  journal.length = 0;
  await app.stop();
  // Before: x and y were killed outright, their stop() never called.
  assert.equal(journal.filter((e) => e.startsWith('stop():')), ['stop():y', 'stop():x']);
});

test('kill :: a supervisor killed while a restart waits starts nothing more; its snapshot says no child runs', async () => {
  const journal: Journal = [];
  let release!: () => void;
  const slowStop = new Promise<void>((resolve) => (release = resolve));
  const { sup, workers } = await tree(['a', 'b'], { strategy: 'one_for_all' }, (id) => (id === 'b' ? { journal, stop: () => slowStop } : { journal }));
  workers.a!.crash();
  await flush();
  // one_for_all: b is being stopped (its stop waits), then a and b are to start again.
  sup.actor.stop();
  release();
  await flush();
  await flush();
  // Before: a's and b's start ran after the supervisor said it was stopped.
  assert.equal([workers.a!.starts(), workers.b!.starts()], [1, 1]);
  assert.is(sup.status, 'stopped');
  const snapshot = sup.actor.getSnapshot() as { context: { children: { running: boolean }[] } };
  assert.equal(snapshot.context.children.map((c) => c.running), [false, false], 'the snapshot is not the one from before the kill');
});

test('one_for_all :: two children crashing while the supervisor is busy cost one restart, and the dead one\'s stop() is not called', async () => {
  const stops: string[] = [];
  const { sup, workers } = await tree(['a', 'b'], { strategy: 'one_for_all', intensity: 1 }, (id) => ({ stop: async () => void stops.push(id) }));
  const gate = deferred();
  const x = worker('x');
  const added = sup.startChild(held(x.spec, [1], gate.promise)); // keeps the mailbox busy
  await flush();
  workers.a!.crash();
  workers.b!.crash();
  gate.resolve();
  await added;
  await flush();
  // a's exit restarts all three; b's exit, queued meanwhile, is of an instance already replaced.
  assert.is(sup.status, 'running');
  assert.equal([workers.a!.starts(), workers.b!.starts(), x.starts()], [2, 2, 2]);
  assert.equal(rows(sup.whichChildren()), ['a:up', 'b:up', 'x:up']);
  assert.equal(sup.whichChildren().map((c) => c.actor), [workers.a!.actor(), workers.b!.actor(), x.actor()]);
  assert.equal(stops, [], 'b had already crashed: no graceful stop for it');
  await sup.stop();
});

test('restart :: a queued retry is dropped once a restart of its group has superseded it (rest_for_one)', async () => {
  const gate = deferred();
  const a = worker('a', { failOn: [2] });
  const b = worker('b', { failOn: [2] });
  const sup = await startSupervisor([a.spec, held(b.spec, [2], gate.promise)], { clock: createTestClock(), strategy: 'rest_for_one', intensity: 10 });
  b.crash();
  await flush(); // b's restart waits on the gate
  a.crash(); // a's exit is queued behind it
  gate.resolve(); // b's start fails: a retry of b is queued behind a's exit
  await flush();
  // a's exit restarts a and b, but a's start fails; a's retry then starts a and b. b's own retry, superseded, is dropped.
  assert.equal([a.starts(), b.starts()], [3, 3]);
  assert.equal(rows(sup.whichChildren()), ['a:up', 'b:up']);
  assert.equal(sup.whichChildren().map((c) => c.restarts), [2, 2]);
  await sup.stop();
});

test('kill :: a supervisor killed while its children are still starting rejects its start with OTP_KILLED at once', async () => {
  const gate = deferred();
  const a = worker('a');
  const b = worker('b');
  let root: Supervisor | undefined;
  const spy: ChildSpec = { ...a.spec, start: (ctx) => { root = ctx?.supervisor; return a.spec.start(ctx); } };
  let outcome = 'pending';
  void startSupervisor([spy, held(b.spec, [1], gate.promise)], { clock: createTestClock() }).then(
    () => { outcome = 'started'; },
    (error: unknown) => { outcome = error instanceof OtpError ? error.code : String(error); },
  );
  await flush(); // b's start waits on the gate
  root!.actor.stop();
  await flush();
  assert.is(outcome, 'OTP_KILLED', 'the start settled without waiting for b');
  assert.is(status(a.actor()), 'stopped');
  gate.resolve();
  await flush();
  assert.is(b.starts(), 1);
  assert.is(status(b.actor()), 'stopped', 'b, started late, was stopped');
});

test('api :: terminateChild on a child whose restart failed cancels the queued retry', async () => {
  const gate = deferred();
  const a = worker('a', { failOn: [2] });
  const sup = await startSupervisor([held(a.spec, [2], gate.promise)], { clock: createTestClock() });
  a.crash();
  await flush(); // the restart's start waits on the gate
  const terminated = sup.terminateChild('a'); // queued behind the restart
  gate.resolve(); // that start fails: a retry is queued behind terminateChild
  await terminated;
  await flush();
  assert.is(a.starts(), 2, 'the retry was not run');
  assert.equal(rows(sup.whichChildren()), ['a:down']);
  assert.is(sup.status, 'running');
  await sup.stop();
});

test('start :: a child that crashes while a later sibling is still starting is restarted once the supervisor is up', async () => {
  const gate = deferred();
  const a = worker('a');
  const b = worker('b');
  const starting = startSupervisor([a.spec, held(b.spec, [1], gate.promise)], { clock: createTestClock() });
  await flush();
  a.crash();
  await flush();
  gate.resolve();
  const sup = await starting;
  await flush();
  assert.equal([a.starts(), b.starts()], [2, 1]);
  assert.equal(rows(sup.whichChildren()), ['a:up', 'b:up']);
  await sup.stop();
});

test('stop :: stop() called while the supervisor is giving up resolves once it has failed', async () => {
  const gate = deferred();
  const { sup, workers } = await tree(['a', 'b'], { intensity: 0 }, (id) => (id === 'b' ? { stop: () => gate.promise } : {}));
  workers.a!.crash();
  await flush(); // past its intensity, it is stopping b, whose stop() waits on the gate
  let stopped = false;
  void sup.stop().then(() => { stopped = true; });
  await flush();
  assert.is(stopped, false);
  gate.resolve();
  await flush();
  assert.is(stopped, true, 'stop() did not hang');
  assert.is(sup.status, 'failed');
  const reason = await sup.stopped;
  assert.ok(typeof reason === 'object' && reason.error instanceof OtpError && reason.error.code === 'OTP_MAX_RESTARTS');
});

test('kill :: a killed supervisor stops its running children at once, last started first', async () => {
  const { sup, journal } = await tree(['a', 'b', 'c']);
  sup.actor.stop();
  await flush();
  assert.equal(journal, ['stop:c', 'stop:b', 'stop:a']);
  assert.equal(rows(sup.whichChildren()), ['a:down', 'b:down', 'c:down']);
  assert.is(await sup.stopped, 'shutdown');
});

test('kill :: a child whose start finishes after its supervisor was killed is stopped, not left running', async () => {
  const gate = deferred();
  const a = worker('a');
  const sup = await startSupervisor([held(a.spec, [2], gate.promise)], { clock: createTestClock() });
  const first = a.actor();
  a.crash();
  await flush(); // the restart's start waits on the gate
  sup.actor.stop();
  gate.resolve();
  await flush();
  assert.is(a.starts(), 2);
  assert.is.not(a.actor(), first);
  assert.is(status(a.actor()), 'stopped', 'the late actor was stopped');
  assert.equal(rows(sup.whichChildren()), ['a:down']);
  assert.is(sup.status, 'stopped');
});

test.run();
