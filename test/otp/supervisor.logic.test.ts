// The supervisor as an actor: starting a tree, nesting, escalation, naming, inspection.
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createActor, fromPromise, type InspectionEvent } from 'xstate';
import { createTestClock } from '../../src/otp/clock.js';
import { OtpError } from '../../src/otp/errors.js';
import { whereis } from '../../src/otp/registry.js';
import { startSupervisor, supervisor, supervisorOf } from '../../src/otp/supervisor.logic.js';
import type { ChildActor, ChildSpec, Supervisor } from '../../src/otp/types.js';
import { flush, rows, status, worker, type Journal } from './helpers.js';

const test = suite('supervisor.logic');
const here = dirname(fileURLToPath(import.meta.url));

test('start :: children start in order; a failed start stops the started ones in reverse and rejects naming the child', async () => {
  const journal: Journal = [];
  const specs = [worker('a', { journal }), worker('b', { journal }), worker('c', { journal, failOn: [1] }), worker('d', { journal })];
  try {
    await startSupervisor(specs.map((w) => w.spec), { clock: createTestClock() });
    assert.unreachable('should have rejected');
  } catch (error) {
    assert.instance(error, OtpError);
    assert.is((error as OtpError).code, 'OTP_START_FAILED');
    assert.is((error as OtpError).childId, 'c');
    assert.match((error as OtpError).message, /child 'c'/);
    assert.match((error as OtpError).message, /start 1 of c refused/);
  }
  assert.equal(journal, ['start:a', 'start:b', 'fail:c', 'stop:b', 'stop:a']);
  assert.is(specs[3]!.starts(), 0);
});

test('start :: an async start is awaited before the next child starts', async () => {
  const order: string[] = [];
  const slow: ChildSpec = { id: 'slow', start: async () => { await flush(); order.push('slow'); return createActor(fromPromise(() => new Promise(() => undefined))); } };
  const fast: ChildSpec = { id: 'fast', start: () => { order.push('fast'); return createActor(fromPromise(() => new Promise(() => undefined))); } };
  const sup = await startSupervisor([slow, fast], { clock: createTestClock() });
  assert.equal(order, ['slow', 'fast']);
  await sup.stop();
});

test('start :: two children with one id are refused with OTP_DUPLICATE_CHILD', async () => {
  try {
    await startSupervisor([worker('a').spec, worker('a').spec]);
    assert.unreachable('should have rejected');
  } catch (error) {
    assert.is((error as OtpError).code, 'OTP_DUPLICATE_CHILD');
  }
});

test('childSpec :: anything with childSpec() is a child, as in Elixir', async () => {
  const inner = worker('MyModule');
  const MyModule = { childSpec: () => inner.spec };
  const sup = await startSupervisor([MyModule], { clock: createTestClock() });
  assert.equal(rows(sup.whichChildren()), ['MyModule:up']);
  await sup.stop();
});

test('nested :: a nested supervisor that exceeds its intensity is a crash its parent restarts', async () => {
  const w = worker('w');
  const sup = await startSupervisor([supervisor({ id: 'mid', intensity: 0, children: [w.spec] })], { clock: createTestClock() });
  const first = supervisorOf(sup.whichChildren()[0]!.actor!)!;
  w.crash();
  await flush();
  assert.is(first.status, 'failed');
  const second = supervisorOf(sup.whichChildren()[0]!.actor!)!;
  assert.is.not(second, first);
  assert.is(second.status, 'running');
  assert.is(w.starts(), 2);
  assert.equal(sup.countChildren(), { specs: 1, active: 1, supervisors: 1, workers: 0 });
  await sup.stop();
});

test('nested :: stopping the tree stops the nested children in reverse, then the nested supervisor', async () => {
  const journal: Journal = [];
  const sup = await startSupervisor([
    worker('a', { journal }).spec,
    supervisor({ id: 'mid', children: [worker('b', { journal }).spec, worker('c', { journal }).spec] }),
    worker('d', { journal }).spec,
  ], { clock: createTestClock() });
  const mid = supervisorOf(sup.whichChildren()[1]!.actor!)!;
  await sup.stop();
  assert.equal(journal, ['start:a', 'start:b', 'start:c', 'start:d', 'stop:d', 'stop:c', 'stop:b', 'stop:a']);
  assert.is(await mid.stopped, 'shutdown');
});

test('nested :: a spec stop on a nested supervisor runs first, then its children stop in reverse', async () => {
  const journal: Journal = [];
  const inner = supervisor({ id: 'pool', children: [worker('conn', { journal }).spec, worker('writer', { journal }).spec] });
  const sup = await startSupervisor([{ ...inner, stop: async () => { journal.push('drain'); } }], { clock: createTestClock() });
  journal.length = 0;
  await sup.stop();
  assert.equal(journal, ['drain', 'stop:writer', 'stop:conn']);
});

test('nested :: a nested supervisor that cannot start its children fails its parent\'s start, naming both', async () => {
  try {
    await startSupervisor([supervisor({ id: 'mid', children: [worker('x', { failOn: [1] }).spec] })], { clock: createTestClock() });
    assert.unreachable('should have rejected');
  } catch (error) {
    assert.is((error as OtpError).code, 'OTP_START_FAILED');
    assert.match((error as OtpError).message, /'mid'.*'x'/);
  }
});

test('start :: calls made while a nested supervisor was starting are refused once its start fails', async () => {
  let pending: Promise<unknown> | undefined;
  const inner = supervisor({ id: 'n', children: [worker('x', { failOn: [1] }).spec] });
  const spec: ChildSpec = { ...inner, start: async (ctx) => {
    const actor = await inner.start(ctx);
    pending = supervisorOf(actor)!.startChild(worker('y').spec);
    return actor;
  } };
  try {
    await startSupervisor([spec], { clock: createTestClock() });
    assert.unreachable('should have rejected');
  } catch (error) {
    assert.is((error as OtpError).code, 'OTP_START_FAILED');
  }
  try {
    await pending;
    assert.unreachable('the queued call should have been refused');
  } catch (error) {
    assert.is((error as OtpError).code, 'OTP_NOT_RUNNING');
  }
});

test('registry :: supervisor({ name }) registers the running handle and removes it when it exits', async () => {
  const sup = await startSupervisor([supervisor({ id: 'conns', name: 'test.conns', children: [] })], { clock: createTestClock() });
  const conns = whereis<Supervisor>('test.conns');
  assert.ok(conns !== undefined);
  assert.is(conns, supervisorOf(sup.whichChildren()[0]!.actor!));
  await conns.startChild(worker('overflow-1').spec);
  assert.equal(rows(conns.whichChildren()), ['overflow-1:up']);
  await sup.stop();
  assert.is(whereis('test.conns'), undefined);
});

test('registry :: a name taken by another supervisor fails the start with OTP_NAME_TAKEN as the cause', async () => {
  const first = await startSupervisor([], { name: 'test.taken', clock: createTestClock() });
  try {
    await startSupervisor([supervisor({ id: 's', name: 'test.taken', children: [] })], { clock: createTestClock() });
    assert.unreachable('should have rejected');
  } catch (error) {
    assert.is((error as OtpError).code, 'OTP_START_FAILED');
    assert.is(((error as OtpError).cause as OtpError).code, 'OTP_NAME_TAKEN');
  }
  await first.stop();
  assert.is(whereis('test.taken'), undefined);
});

test('supervisorOf :: gives the handle for a supervisor actor and undefined for a worker', async () => {
  const sup = await startSupervisor([worker('w').spec, supervisor({ id: 'n', children: [] })], { clock: createTestClock() });
  const [w, n] = sup.whichChildren();
  assert.is(supervisorOf(w!.actor!), undefined);
  assert.is(supervisorOf(n!.actor!)?.id, 'n');
  assert.is(supervisorOf(sup.actor), sup);
  await sup.stop();
});

test('crash storm :: a child crashing on every start escalates through two levels exactly as OTP, nothing left running', async () => {
  const clock = createTestClock();
  const actors: ChildActor[] = [];
  const mids: Supervisor[] = [];
  let stormStarts = 0;
  const track = (actor: ChildActor) => { actors.push(actor); return actor; };
  const storm: ChildSpec = { id: 'storm', start: () => { stormStarts += 1; return track(createActor(fromPromise(async () => { throw new Error('crash'); }))); } };
  const steady = worker('steady');
  const root = await startSupervisor([
    { ...steady.spec, start: (ctx) => track(steady.spec.start(ctx) as ChildActor), shutdown: 1_000, stop: async () => undefined },
    supervisor({ id: 'mid', children: [storm] }),
  ], { clock });
  mids.push(supervisorOf(root.whichChildren()[1]!.actor!)!);
  await flush();
  const reason = await root.stopped;
  // mid: 1 start + 3 restarts, the 4th crash exceeds 3 in 5 s; root restarts mid 3 times,
  // and the 4th failure of mid exceeds the root's intensity.
  assert.is(stormStarts, 16);
  assert.is(steady.starts(), 1);
  assert.is(root.status, 'failed');
  assert.ok(typeof reason === 'object' && reason.error instanceof OtpError && reason.error.code === 'OTP_MAX_RESTARTS');
  assert.is((reason as { error: OtpError }).error.childId, 'mid');
  assert.is(((reason as { error: OtpError }).error.cause as OtpError).code, 'OTP_MAX_RESTARTS');
  assert.is(mids[0]!.status, 'failed');
  assert.equal(actors.map(status).filter((s) => s === 'active'), []);
  assert.is(status(root.actor), 'error');
  assert.is(clock.pending(), 0);
});

test('crash storm :: on the real clock the process exits by itself afterwards', async () => {
  const script = join(here, 'fixtures', 'storm.ts');
  const result = await new Promise<{ code: number | null; out: string; timedOut: boolean }>((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script], { cwd: join(here, '..', '..'), stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { out += d; });
    const timer = setTimeout(() => { child.kill('SIGKILL'); resolve({ code: null, out, timedOut: true }); }, 20_000);
    child.on('exit', (code) => { clearTimeout(timer); resolve({ code, out, timedOut: false }); });
  });
  assert.is(result.timedOut, false, `the storm process did not exit by itself: ${result.out}`);
  assert.is(result.code, 0, result.out);
  assert.match(result.out, /"status":"failed","code":"OTP_MAX_RESTARTS"/);
});

test('crashes :: never reach Node as uncaught exceptions', async () => {
  const uncaught: unknown[] = [];
  const listener = (error: unknown) => { uncaught.push(error); };
  process.on('uncaughtException', listener);
  try {
    const root = await startSupervisor([supervisor({ id: 'mid', intensity: 1, children: [worker('w').spec] })], { intensity: 0, clock: createTestClock() });
    const w = supervisorOf(root.whichChildren()[0]!.actor!)!.whichChildren()[0]!.actor!;
    w.send({ type: 'CRASH' });
    await flush();
    supervisorOf(root.whichChildren()[0]!.actor!)!.whichChildren()[0]!.actor!.send({ type: 'CRASH' });
    await flush();
    assert.is(root.status, 'failed');
    // xstate reports an error nobody observed on Node's own timer queue, so only a real
    // macrotask can show that nothing was reported.
    await new Promise((resolve) => setTimeout(resolve, 20));
  } finally {
    process.off('uncaughtException', listener);
  }
  assert.equal(uncaught, []);
});

test('inspect :: the root observer receives the events of every actor in the tree', async () => {
  const events: InspectionEvent[] = [];
  const w = worker('w');
  const root = await startSupervisor([supervisor({ id: 'mid', children: [w.spec] })], { clock: createTestClock(), inspect: (e) => events.push(e) });
  const mid = root.whichChildren()[0]!.actor!;
  const first = w.actor();
  w.crash();
  await flush();
  const second = w.actor();
  const announced = events.filter((e) => e.type === '@xstate.actor').map((e) => e.actorRef);
  for (const actor of [root.actor, mid, first, second]) assert.ok(announced.includes(actor), 'every actor is announced');
  const snapshotsOf = (actor: ChildActor) => events.filter((e) => e.type === '@xstate.snapshot' && e.actorRef === actor);
  assert.ok(snapshotsOf(first).some((e) => (e as { snapshot: { status: string } }).snapshot.status === 'error'), 'the crash is seen');
  const midContext = snapshotsOf(mid).map((e) => (e as unknown as { snapshot: { context: unknown } }).snapshot.context).at(-1);
  assert.equal(midContext, { id: 'mid', strategy: 'one_for_one', children: [{ id: 'w', type: 'worker', running: true }] });
  await root.stop();
});

test('inspect :: an inspector that throws does not crash the tree', async () => {
  const w = worker('w');
  const root = await startSupervisor([w.spec], { clock: createTestClock(), inspect: () => { throw new Error('broken inspector'); } });
  await flush();
  assert.is(w.starts(), 1);
  assert.equal(rows(root.whichChildren()), ['w:up']);
  await root.stop();
});

test.run();
