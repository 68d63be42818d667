// The seed's example (DESIGN.md, "Public API") run as written against the local cluster, in
// a database of its own so the table names can be the seed's: users, events, logs.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { definePool, startSupervisor } from '../../src/index.js';
import { clusterInfo, PASSWORD, needsReplication, TEST_ENGINE } from './cluster.js';

const test = suite('pool-examples');
const db = `pool_examples_${Date.now().toString(36)}`;
const servers = () => clusterInfo().servers;

async function sql(i: number, text: string): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${servers()[i]!.httpPort}/`, { method: 'POST', body: text, signal: AbortSignal.timeout(60_000) });
  const body = await res.text();
  if (res.status !== 200) throw new Error(`server ${i}: HTTP ${res.status}: ${body}`);
  return body;
}

const replicated = (table: string, columns: string, order: string) =>
  `CREATE TABLE ${db}.${table} (${columns}) ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/${db}_${table}', '{replica}') ORDER BY ${order}`;

test.before(async () => {
  if (TEST_ENGINE === 'modern') return;
  for (let i = 0; i < servers().length; i++) {
    await sql(i, `CREATE DATABASE ${db}`);
    await sql(i, replicated('users', 'id UInt64, name String, age UInt8 DEFAULT 30', 'id'));
    await sql(i, replicated('events', 'user_id UInt64, event String', 'user_id'));
    await sql(i, replicated('logs', 'event String, user_id UInt64, timestamp DateTime', 'user_id'));
  }
});

test.after(async () => {
  if (TEST_ENGINE === 'modern') return;
  for (let i = 0; i < servers().length; i++) await sql(i, `DROP DATABASE IF EXISTS ${db}`).catch(() => undefined);
});

// It reads on one server what it wrote on another, as the README's seed does on a replicated cluster.
needsReplication(test)('examples :: the seed module works as written', async () => {
  const [a, b, c] = servers().map((s) => `http://colonnade:${encodeURIComponent(PASSWORD)}@127.0.0.1:${s.httpPort}/${db}`);

  const MyClickHouse = definePool({
    connectionStrings: [a!, b!, c!],
    name: `MyClickHouse-${process.pid}-${Date.now().toString(36)}`, // unique: a failure here must not hold a name later suites use
    poolSize: 15,            // default 10
    poolTimeout: 5_000,      // ms to wait for a connection, default 5000
    timeout: 5_000,          // default query timeout in ms, default 5000
    maxOverflow: 5,          // default Math.ceil(poolSize * 0.3)
  });

  const app = await startSupervisor([MyClickHouse]);
  let stopped = false;
  try {
    await MyClickHouse.insertToTable('users', { id: 456, name: 'John Doe' });
    await MyClickHouse.insertToTable('users', [{ id: 1, name: 'Young', age: 18 }, { id: 2, name: 'Old', age: 60 }]);
    for (let i = 0; i < servers().length; i++) await sql(i, `SYSTEM SYNC REPLICA ${db}.users`);
    const users = await MyClickHouse.select('SELECT * FROM users WHERE age > {min_age} ORDER BY id', { min_age: 21 });
    assert.equal(users, [{ id: 2, name: 'Old', age: 60 }, { id: 456, name: 'John Doe', age: 30 }]);
    await MyClickHouse.insert('INSERT INTO events (user_id, event) VALUES ({user_id}, {event})', { user_id: 123, event: 'login' });
    await MyClickHouse.query('CREATE TABLE scratch (x UInt8) ENGINE = Memory');
    const sql2 = 'INSERT INTO events (user_id, event) VALUES ({user_id}, {event})';
    MyClickHouse.asyncInsert(sql2, { user_id: 124, event: 'logout' });
    MyClickHouse.asyncInsertToTable('logs', { event: 'page_view', user_id: 123, timestamp: new Date() });
    const sent = await MyClickHouse.send({ type: 'select', sql: 'SELECT count() AS n FROM users WHERE age > {min_age}', params: { min_age: 21 }, options: { timeout: 30_000 } });
    assert.equal(sent, [{ n: 2 }]);
    await app.stop();                                              // graceful: drains the writer
    stopped = true;
  } finally {
    if (!stopped) await app.stop();
  }

  for (let i = 0; i < servers().length; i++) {
    await sql(i, `SYSTEM SYNC REPLICA ${db}.events`);
    await sql(i, `SYSTEM SYNC REPLICA ${db}.logs`);
    assert.is((await sql(i, `SELECT user_id, event FROM ${db}.events ORDER BY user_id FORMAT TSV`)).trim(), '123\tlogin\n124\tlogout');
    assert.is((await sql(i, `SELECT event, user_id FROM ${db}.logs FORMAT TSV`)).trim(), 'page_view\t123');
  }
  const created = await Promise.all(servers().map((_, i) => sql(i, `EXISTS TABLE ${db}.scratch`)));
  assert.is(created.filter((x) => x.trim() === '1').length, 1, 'query() ran the DDL on one server');
});

test.run();
