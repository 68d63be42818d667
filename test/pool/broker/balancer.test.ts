import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createBalancer, inOrder, leastBusy, pickRandom, roundRobin, type Candidate } from '../../../src/pool/broker/balancer.js';

const test = suite('balancer');
const three: Candidate[] = [0, 1, 2].map((server) => ({ server, inFlight: 0 }));

test('round_robin :: rotates over every candidate', () => {
  const pick = createBalancer('round_robin');
  assert.equal([0, 1, 2, 3, 4, 5].map(() => pick(three)), [0, 1, 2, 0, 1, 2]);
});

test('round_robin :: skips servers that are not candidates', () => {
  const pick = createBalancer('round_robin');
  const some = [three[0]!, three[2]!];
  assert.equal([pick(some), pick(some), pick(some)], [0, 2, 0]);
  assert.is(roundRobin(some, 1), 2);
});

test('random :: follows the injected random source', () => {
  assert.is(pickRandom(three, () => 0), 0);
  assert.is(pickRandom(three, () => 0.5), 1);
  assert.is(pickRandom(three, () => 0.9999), 2);
  const pick = createBalancer('random', () => 0.7);
  assert.is(pick(three), 2);
});

test('in_order :: the first healthy server is the primary', () => {
  assert.is(inOrder(three), 0);
  assert.is(inOrder([three[1]!, three[2]!]), 1);
  const pick = createBalancer('in_order');
  assert.equal([pick(three), pick(three)], [0, 0]);
});

test('least_busy :: fewest calls in flight wins; ties rotate', () => {
  assert.is(leastBusy([{ server: 0, inFlight: 3 }, { server: 1, inFlight: 1 }, { server: 2, inFlight: 2 }], 0), 1);
  const pick = createBalancer('least_busy');
  assert.equal([pick(three), pick(three), pick(three)], [0, 1, 2]);
});

test.run();
