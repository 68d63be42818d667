import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parseConnectionString } from '../../src/clickhouse/connection-string.js';
import type { ServerConfig } from '../../src/clickhouse/types.js';
import { poolWriteOutcomes } from '../../src/pool/write-outcomes.js';

const test = suite('write-outcomes');

/** A fake `select` over system.tables: the engine by table name, and every SQL it was asked. */
function tables(engines: Record<string, string>) {
  const asked: string[] = [];
  const fail = new Set<string>();
  const select = async (sql: string): Promise<Record<string, unknown>[]> => {
    asked.push(sql);
    const name = /name = '([^']*)'/.exec(sql)?.[1] ?? '';
    if (fail.has(name)) throw new Error('server busy');
    return name in engines ? [{ engine: engines[name] }] : [];
  };
  return { asked, fail, outcomes: poolWriteOutcomes([], undefined, select) };
}

test('deduplicates :: only a Replicated*MergeTree drops a repeated block; a plain MergeTree stores it twice', async () => {
  const { outcomes } = tables({
    plain: 'MergeTree', replacing: 'ReplacingMergeTree', log: 'Log', repl: 'ReplicatedMergeTree', rr: 'ReplicatedReplacingMergeTree',
  });
  const got = await Promise.all(['plain', 'replacing', 'log', 'repl', 'rr', 'missing'].map((t) => outcomes.deduplicates(t)));
  assert.equal(got, [false, false, false, true, true, false]);
});

test('deduplicates :: a table without a database is looked up in the pool\'s current database; db.t in db', async () => {
  const { asked, outcomes } = tables({ t: 'ReplicatedMergeTree' });
  assert.is(await outcomes.deduplicates('t'), true);
  await outcomes.deduplicates('analytics.t');
  assert.equal(asked, [
    "SELECT engine FROM system.tables WHERE database = currentDatabase() AND name = 't'",
    "SELECT engine FROM system.tables WHERE database = 'analytics' AND name = 't'",
  ]);
});

test('deduplicates :: an engine is asked once per table; a lookup that failed is asked again next time', async () => {
  const { asked, fail, outcomes } = tables({ t: 'ReplicatedMergeTree' });
  await outcomes.deduplicates('t');
  await outcomes.deduplicates('t');
  assert.is(asked.length, 1, 'kept');
  fail.add('u');
  const first = await outcomes.deduplicates('u').then(() => 'answered', (e: Error) => e.message);
  assert.is(first, 'server busy');
  fail.delete('u');
  assert.is(await outcomes.deduplicates('u'), false);
  assert.is(asked.length, 3, 'the failure was not kept for the life of the pool');
});

test('label :: a server is named by its redacted connection string, never its password; an unknown index by number', () => {
  const servers: ServerConfig[] = [parseConnectionString('http://u:hunter2@h:8123/db')];
  const { label } = poolWriteOutcomes(servers, undefined, async () => []);
  assert.is(label(0), 'http://u:***@h:8123/db');
  assert.is(label(99), 'server 99');
});

test('outcome :: without a way to ask a server, the lookup rejects (the writer reports the batch as unknown)', async () => {
  const { outcomes } = tables({});
  const got = await outcomes.outcome(0, 'q-1').then(String, (e: Error) => e.message);
  assert.is(got, 'this pool has no way to ask');
});

test('outcome :: the server the send went to is the one asked, by the send\'s query id', async () => {
  const servers: ServerConfig[] = ['http://h1:8123/db', 'http://h2:8123/db', 'http://h3:8123/db'].map(parseConnectionString);
  const asked: string[] = [];
  const { outcome } = poolWriteOutcomes(servers, async (server, queryId) => (asked.push(`${server.host}:${queryId}`), 'finished'), async () => []);
  assert.is(await outcome(1, 'q-1'), 'finished');
  await outcome(2, 'q-2');
  assert.equal(asked, ['h2:q-1', 'h3:q-2']);
});

test('deduplicates :: the engines of many tables stay known: a table asked again is not looked up again', async () => {
  const { asked, outcomes } = tables({ a: 'ReplicatedMergeTree', b: 'MergeTree', c: 'Log' });
  for (const t of ['a', 'b', 'c', 'a', 'b', 'c']) await outcomes.deduplicates(t);
  assert.is(asked.length, 3);
});

test('deduplicates :: the engines known are bounded (1000 tables): past that they are forgotten and looked up again', async () => {
  const { asked, outcomes } = tables({});
  for (let i = 0; i <= 1000; i++) await outcomes.deduplicates(`t${i}`);
  assert.is(asked.length, 1001);
  await outcomes.deduplicates('t1000');
  assert.is(asked.length, 1001, 'the newest is kept');
  await outcomes.deduplicates('t0');
  assert.is(asked.length, 1002, 'the oldest was forgotten');
});

test.run();
