import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createActor } from 'xstate';
import { createTestClock } from '../../src/otp/clock.js';
import type { WriterUnit } from '../../src/pool/writer-mailbox.js';
import { writerMachine, type WriterPort } from '../../src/pool/writer.machine.js';

const test = suite('writer.machine');

const settle = async (): Promise<void> => {
  for (let i = 0; i < 4; i++) await new Promise((r) => setImmediate(r));
};

const unit = (seq: number): WriterUnit => ({
  seq, table: 't', rows: [{ seq }], encoded: [], start: 0, openedAt: 0,
  request: undefined, pending: undefined, attempts: 0, failures: 0, evicted: false,
  toJSON: () => ({ seq, table: 't', rows: 1, attempts: 0 }),
});

/** A port over a plain array; `outcomes` decides each send. */
function fakePort() {
  const queue: WriterUnit[] = [];
  const log: string[] = [];
  let due: number | undefined;
  const outcomes: (number | 'dead' | 'ok')[] = [];
  const port: WriterPort = {
    next: () => queue[0],
    dueIn: () => due,
    sleep: () => { log.push('sleep'); },
    send: async (u) => {
      log.push(`send ${u.seq}`);
      const o = outcomes.shift() ?? 'ok';
      if (o !== 'ok') throw Object.assign(new Error('down'), { retryIn: o === 'dead' ? undefined : o });
    },
    done: (u) => { log.push(`done ${u.seq}`); queue.shift(); },
    failed: (u, e) => {
      const retryIn = (e as { retryIn?: number }).retryIn;
      log.push(`failed ${u.seq}`);
      if (retryIn === undefined) queue.shift();
      return retryIn;
    },
  };
  return { port, queue, log, outcomes, setDue: (ms: number | undefined) => { due = ms; } };
}

test('states :: idle with nothing queued, sending on WAKE, idle again', async () => {
  const clock = createTestClock();
  const f = fakePort();
  const actor = createActor(writerMachine, { input: f.port, clock }).start();
  assert.is(actor.getSnapshot().value, 'idle');
  f.queue.push(unit(1), unit(2));
  actor.send({ type: 'WAKE' });
  assert.is(actor.getSnapshot().value, 'sending');
  await settle();
  assert.equal(f.log, ['sleep', 'send 1', 'done 1', 'send 2', 'done 2', 'sleep']);
  assert.is(actor.getSnapshot().value, 'idle');
});

test('states :: waiting re-checks when the open batch is due', () => {
  const clock = createTestClock();
  const f = fakePort();
  f.setDue(500);
  const actor = createActor(writerMachine, { input: f.port, clock }).start();
  assert.is(actor.getSnapshot().value, 'waiting');
  f.queue.push(unit(1));
  clock.advance(499);
  assert.is(actor.getSnapshot().value, 'waiting');
  clock.advance(1);
  assert.is(actor.getSnapshot().value, 'sending');
});

test('states :: a failure with a delay backs off, then sends the same unit again', async () => {
  const clock = createTestClock();
  const f = fakePort();
  f.outcomes.push(200, 400);
  f.queue.push(unit(7));
  const actor = createActor(writerMachine, { input: f.port, clock }).start();
  await settle();
  assert.is(actor.getSnapshot().value, 'backoff');
  clock.advance(199);
  assert.is(actor.getSnapshot().value, 'backoff');
  clock.advance(1);
  await settle();
  clock.advance(400);
  await settle();
  assert.equal(f.log, ['send 7', 'failed 7', 'send 7', 'failed 7', 'send 7', 'done 7', 'sleep']);
});

test('states :: a dead-lettered unit does not back off; the next is sent at once', async () => {
  const clock = createTestClock();
  const f = fakePort();
  f.outcomes.push('dead');
  f.queue.push(unit(1), unit(2));
  createActor(writerMachine, { input: f.port, clock }).start();
  await settle();
  assert.equal(f.log, ['send 1', 'failed 1', 'send 2', 'done 2', 'sleep']);
});

test.run();
