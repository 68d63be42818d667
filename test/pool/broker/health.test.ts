import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Health } from '../../../src/pool/broker/health.js';
import { manualClock } from '../fake-clock.js';

const test = suite('health');

test('health :: a refused connection marks the server down at once', () => {
  const health = new Health(3, manualClock());
  health.fail(1, 'hard');
  assert.equal(health.upServers(), [0, 2]);
  assert.not.ok(health.isUp(1));
});

test('health :: soft failures close together mark down, spread out they decay (half-life 10 s)', () => {
  const clock = manualClock();
  const health = new Health(2, clock);
  health.fail(0, 'soft');
  clock.advance(50_000);
  health.fail(0, 'soft');
  assert.ok(health.isUp(0), 'penalty decayed between the two failures');
  health.fail(0, 'soft');
  assert.not.ok(health.isUp(0));
  // The first failure has decayed to 1/32 of its weight; the last two count in full.
  assert.ok(Math.abs(health.snapshot(0).penalty - (2 + 1 / 32)) < 1e-9, String(health.snapshot(0).penalty));
});

test('health :: by default two soft failures within the half-life mark a server down', () => {
  const clock = manualClock();
  const health = new Health(1, clock);
  health.fail(0, 'soft');
  clock.advance(9_000);
  assert.ok(health.isUp(0));
  health.fail(0, 'soft');
  assert.not.ok(health.isUp(0));
});

test('health :: only a successful probe brings a server back', () => {
  const clock = manualClock();
  const health = new Health(2, clock);
  health.fail(0, 'hard');
  clock.advance(60_000);
  assert.not.ok(health.isUp(0), 'decay alone does not mark up');
  health.probeSucceeded(0);
  assert.ok(health.isUp(0));
  assert.is(health.snapshot(0).penalty, 0);
});

test('health :: listeners hear each change of side once', () => {
  const health = new Health(2, manualClock());
  const seen: string[] = [];
  health.onChange((server, up) => seen.push(`${server}:${up ? 'up' : 'down'}`));
  health.fail(1, 'hard');
  health.fail(1, 'hard');
  health.probeSucceeded(1);
  health.probeSucceeded(1);
  assert.equal(seen, ['1:down', '1:up']);
});

test('health :: the penalty stats() shows keeps decaying after the last failure (halved every 10 s)', () => {
  const clock = manualClock();
  const health = new Health(1, clock);
  health.fail(0, 'soft');
  assert.is(health.snapshot(0).penalty, 1);
  clock.advance(10_000);
  assert.ok(Math.abs(health.snapshot(0).penalty - 0.5) < 1e-9, `after one half-life: ${health.snapshot(0).penalty}`);
  clock.advance(20_000);
  assert.ok(Math.abs(health.snapshot(0).penalty - 0.125) < 1e-9, `after three: ${health.snapshot(0).penalty}`);
  assert.ok(health.snapshot(0).up);
});

test('health :: a listener removed by the function onChange returned hears no later change', () => {
  const health = new Health(2, manualClock());
  const kept: string[] = [];
  const gone: string[] = [];
  health.onChange((server, up) => kept.push(`${server}:${up ? 'up' : 'down'}`));
  const off = health.onChange((server, up) => gone.push(`${server}:${up ? 'up' : 'down'}`));
  health.fail(0, 'hard');
  off();
  health.probeSucceeded(0);
  health.fail(1, 'hard');
  assert.equal(kept, ['0:down', '0:up', '1:down']);
  assert.equal(gone, ['0:down'], 'nothing heard after it was removed');
});

test.run();
