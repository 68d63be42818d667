import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createActor, setup } from 'xstate';
import { createTestClock, realClock } from '../../src/otp/clock.js';

const test = suite('clock');

test('test clock :: timers fire in due order, each at its own instant', () => {
  const clock = createTestClock(100);
  const seen: string[] = [];
  clock.setTimeout(() => seen.push(`b@${clock.now()}`), 20);
  clock.setTimeout(() => seen.push(`a@${clock.now()}`), 10);
  clock.setTimeout(() => seen.push(`c@${clock.now()}`), 20);
  clock.advance(15);
  assert.equal(seen, ['a@110']);
  clock.advance(100);
  assert.equal(seen, ['a@110', 'b@120', 'c@120']);
  assert.is(clock.now(), 215);
  assert.is(clock.pending(), 0);
});

test('test clock :: a cleared timer never fires; a timer set while advancing fires if due', () => {
  const clock = createTestClock();
  const seen: number[] = [];
  const handle = clock.setTimeout(() => seen.push(-1), 5);
  clock.clearTimeout(handle);
  clock.setTimeout(() => clock.setTimeout(() => seen.push(clock.now()), 5), 5);
  clock.advance(10);
  assert.equal(seen, [10]);
  assert.throws(() => clock.advance(-1), RangeError);
});

test('test clock :: drives xstate delayed transitions when given as the clock option', () => {
  const clock = createTestClock();
  const machine = setup({}).createMachine({ initial: 'a', states: { a: { after: { 1_000: 'b' } }, b: {} } });
  const actor = createActor(machine, { clock }).start();
  clock.advance(999);
  assert.equal(actor.getSnapshot().value, 'a');
  clock.advance(1);
  assert.equal(actor.getSnapshot().value, 'b');
  actor.stop();
});

test('real clock :: monotonic (a wall clock stepped back an hour moves it not) and sets a timer that can be cleared', () => {
  const before = realClock.now();
  const wall = Date.now;
  Date.now = () => wall() - 3_600_000;
  try {
    // Before: it read Date.now, so a supervisor's restarts of the last hour lay in its future and were never forgotten.
    assert.ok(realClock.now() >= before);
  } finally {
    Date.now = wall;
  }
  const handle = realClock.setTimeout(() => assert.unreachable('cleared timer fired'), 1_000);
  realClock.clearTimeout(handle);
});

test('test clock :: a negative delay is a delay of 0: the timer fires at the current instant, time never goes back', () => {
  const clock = createTestClock(100);
  const seen: number[] = [];
  clock.setTimeout(() => seen.push(clock.now()), -50);
  clock.advance(0);
  assert.equal(seen, [100]);
  assert.is(clock.now(), 100);
});

test.run();
