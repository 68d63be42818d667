import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { TransportError } from '../../../src/clickhouse/errors.js';
import { PoolStoppedError } from '../../../src/pool/errors.js';
import { judgeFailure, type WriteOutcomes } from '../../../src/pool/writer/outcome.js';

const test = suite('writer outcome');

/** Outcomes that answer 'finished' for anything, and note every question. */
function asking(): { asked: string[]; outcomes: WriteOutcomes } {
  const asked: string[] = [];
  return {
    asked,
    outcomes: {
      label: (server) => `server ${server}`,
      outcome: async (server, queryId) => (asked.push(`${server}:${queryId}`), 'finished'),
      deduplicates: async (table) => (asked.push(`engine:${table}`), false),
    },
  };
}

test('judgeFailure :: a send no connection took (server -1) cannot have landed, whatever it failed with: nothing is asked, it is not taken for stored', async () => {
  for (const error of [new PoolStoppedError('p'), Object.assign(new Error('crashed'), { code: 'POOL_CONNECTION_CRASHED' }), new TransportError('socket hang up', true)]) {
    const { asked, outcomes } = asking();
    const verdict = await judgeFailure({ error, trace: { server: -1 }, queryId: 'q-1', statements: 1, table: 't', outcomes });
    assert.is(verdict.done, false, `${error.message}: not stored`);
    assert.is(verdict.error, error, 'the error goes on as it is');
    assert.equal(asked, [], 'no server was asked');
  }
});

test('judgeFailure :: the same errors on a send a connection took are looked up on that server', async () => {
  for (const server of [0, 2]) {
    const { asked, outcomes } = asking();
    const verdict = await judgeFailure({ error: new PoolStoppedError('p'), trace: { server }, queryId: 'q-1', statements: 1, table: 't', outcomes });
    assert.is(verdict.done, true);
    assert.equal(asked, [`${server}:q-1`]);
  }
});

test.run();
