import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { equalJitter, fullJitter } from '../../src/pool/backoff.js';

const test = suite('backoff');
const b = { initial: 100, max: 1000 };

test('full jitter :: a pick in [0, cap], the cap doubling from initial up to max', () => {
  assert.equal([0, 1, 2, 3, 4, 9].map((n) => fullJitter(n, b, () => 0.999)), [99, 199, 399, 799, 999, 999]);
  assert.equal([0, 5].map((n) => fullJitter(n, b, () => 0)), [0, 0]);
});

test('equal jitter :: never below half the cap, so a writer failing fast does not spin', () => {
  assert.equal([0, 1, 2, 3, 4, 8].map((n) => equalJitter(n, b, () => 0)), [50, 100, 200, 400, 500, 500]);
  assert.equal([0, 1, 4].map((n) => equalJitter(n, b, () => 1)), [100, 200, 1000]);
});

test('both :: a huge attempt count neither overflows nor passes max', () => {
  assert.is(fullJitter(10_000, b, () => 0.999), 999);
  assert.is(equalJitter(10_000, b, () => 1), 1000);
});

test.run();
