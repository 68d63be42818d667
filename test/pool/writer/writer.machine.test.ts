import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createActor } from 'xstate';
import { createTestClock } from '../../../src/otp/clock.js';
import type { WriterUnit } from '../../../src/pool/writer/mailbox.js';
import { writerMachine, type WriterIO } from '../../../src/pool/writer/writer.machine.js';

const test = suite('writer.machine');

const settle = async (): Promise<void> => {
  for (let i = 0; i < 4; i++) await new Promise((r) => setImmediate(r));
};

const unit = (seq: number): WriterUnit => ({
  seq, table: 't', rows: [{ seq }], start: 0, openedAt: 0,
  request: undefined, pending: undefined, attempts: 0, failures: 0, evicted: false, uncertain: false,
  toJSON: () => ({ seq, table: 't', rows: 1, attempts: 0 }),
});

/** An I/O over a plain array, two units per wave; `outcomes` decides each unit's send: ok, a retry delay, or dead. */
function fakeIO() {
  const queue: WriterUnit[] = [];
  const log: string[] = [];
  let due: number | undefined;
  const outcomes: (number | 'dead' | 'ok')[] = [];
  const io: WriterIO = {
    next: () => queue.slice(0, 2),
    dueIn: () => due,
    sleep: () => { log.push('sleep'); },
    send: (wave) => {
      log.push(`send ${wave.map((u) => u.seq).join('+')}`);
      return Promise.allSettled(wave.map(async () => {
        const o = outcomes.shift() ?? 'ok';
        if (o !== 'ok') throw Object.assign(new Error('down'), { retryIn: o === 'dead' ? undefined : o });
      }));
    },
    settle: (wave, results) => {
      let delay: number | undefined;
      wave.forEach((u, i) => {
        const r = results[i] as PromiseSettledResult<void>;
        const retryIn = r.status === 'fulfilled' ? undefined : (r.reason as { retryIn?: number }).retryIn;
        if (retryIn === undefined) queue.splice(queue.indexOf(u), 1);
        else delay = Math.max(delay ?? 0, retryIn);
        log.push(`${r.status === 'fulfilled' ? 'done' : retryIn === undefined ? 'dead' : 'retry'} ${u.seq}`);
      });
      return delay;
    },
  };
  return { io, queue, log, outcomes, setDue: (ms: number | undefined) => { due = ms; } };
}

test('states :: idle with nothing queued, a wave on WAKE, idle again', async () => {
  const clock = createTestClock();
  const f = fakeIO();
  const actor = createActor(writerMachine, { input: f.io, clock }).start();
  assert.is(actor.getSnapshot().value, 'idle');
  f.queue.push(unit(1), unit(2), unit(3));
  actor.send({ type: 'wake' });
  assert.is(actor.getSnapshot().value, 'sending');
  await settle();
  assert.equal(f.log, ['sleep', 'send 1+2', 'done 1', 'done 2', 'send 3', 'done 3', 'sleep']);
  assert.is(actor.getSnapshot().value, 'idle');
});

test('states :: waiting re-checks when the open batch is due', () => {
  const clock = createTestClock();
  const f = fakeIO();
  f.setDue(500);
  const actor = createActor(writerMachine, { input: f.io, clock }).start();
  assert.is(actor.getSnapshot().value, 'waiting');
  f.queue.push(unit(1));
  clock.advance(499);
  assert.is(actor.getSnapshot().value, 'waiting');
  clock.advance(1);
  assert.is(actor.getSnapshot().value, 'sending');
});

test('states :: a wave with failures backs off for the longest delay, then sends again from the head', async () => {
  const clock = createTestClock();
  const f = fakeIO();
  f.outcomes.push(200, 'ok', 400);
  f.queue.push(unit(7), unit(8));
  const actor = createActor(writerMachine, { input: f.io, clock }).start();
  await settle();
  assert.is(actor.getSnapshot().value, 'backoff');
  clock.advance(199);
  assert.is(actor.getSnapshot().value, 'backoff');
  clock.advance(1);
  await settle();
  clock.advance(400);
  await settle();
  assert.equal(f.log, ['send 7+8', 'retry 7', 'done 8', 'send 7', 'retry 7', 'send 7', 'done 7', 'sleep']);
});

test('states :: HURRY ends a backoff at once', async () => {
  const clock = createTestClock();
  const f = fakeIO();
  f.outcomes.push(10_000);
  f.queue.push(unit(1));
  const actor = createActor(writerMachine, { input: f.io, clock }).start();
  await settle();
  assert.is(actor.getSnapshot().value, 'backoff');
  actor.send({ type: 'hurry' });
  await settle();
  assert.equal(f.log, ['send 1', 'retry 1', 'send 1', 'done 1', 'sleep']);
});

test('states :: a dead-lettered unit does not back off; the next wave is sent at once', async () => {
  const clock = createTestClock();
  const f = fakeIO();
  f.outcomes.push('dead', 'ok');
  f.queue.push(unit(1), unit(2), unit(3));
  createActor(writerMachine, { input: f.io, clock }).start();
  await settle();
  assert.equal(f.log, ['send 1+2', 'dead 1', 'done 2', 'send 3', 'done 3', 'sleep']);
});

test('crash :: an I/O that rejects (a bug) crashes the actor instead of being ignored', async () => {
  const clock = createTestClock();
  const f = fakeIO();
  f.io.send = () => Promise.reject(new Error('bug'));
  f.queue.push(unit(1));
  const actor = createActor(writerMachine, { input: f.io, clock });
  let crashed: unknown;
  actor.subscribe({ error: (e) => { crashed = e; } });
  actor.start();
  await settle();
  assert.is((crashed as Error | undefined)?.message, 'bug');
  assert.is(actor.getSnapshot().status, 'error');
});

test.run();
