import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createActor } from 'xstate';
import { brokerMachine } from '../../../src/pool/broker/broker.machine.js';

const test = suite('broker.machine');

test('mode :: mirrors what the broker reports', () => {
  const actor = createActor(brokerMachine, { input: { pool: 'P' } }).start();
  const seen: unknown[] = [actor.getSnapshot().value];
  actor.subscribe((s) => seen.push(s.value));
  actor.send({ type: 'waiting' });
  actor.send({ type: 'no_server' });
  actor.send({ type: 'serving' });
  assert.equal(seen, ['serving', 'waiting', 'no_server', 'serving']);
  assert.is(actor.getSnapshot().context.pool, 'P');
  actor.stop();
});

test.run();
