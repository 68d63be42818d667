// The pool as a user writes it: one module defines it, the app starts it under a supervisor,
// and every call below is spread over the servers. `npm run demo` runs it against the local
// 3-replica cluster; against your own servers:
//   COLONNADE_URLS=http://user:password@host-1:8123/db,http://user:password@host-2:8123/db npx tsx examples/quickstart.ts
// (with more than one URL the tables are created ON CLUSTER colonnade, the local cluster's name;
// set COLONNADE_CLUSTER to yours).
import { inspect } from 'node:util';
import { definePool, startSupervisor, type PoolStats } from '../src/index.js';

const urls = (process.env.COLONNADE_URLS ?? 'http://127.0.0.1:18123/default,http://127.0.0.1:18124/default,http://127.0.0.1:18125/default')
  .split(',').map((url) => url.trim()).filter((url) => url !== '');
const replicated = urls.length > 1;
const onCluster = replicated ? ` ON CLUSTER ${process.env.COLONNADE_CLUSTER ?? 'colonnade'}` : '';

export const MyClickHouse = definePool({
  connectionStrings: urls,
  name: 'MyClickHouse',
  poolSize: 6,             // default 10, spread evenly over the servers
  poolTimeout: 5_000,      // ms to wait for a connection
  timeout: 5_000,          // ms per query; a call's options.timeout overrides
  // Every insert waits until each replica has it, so a read sees it on whichever server it lands.
  settings: replicated ? { insert_quorum: urls.length, select_sequential_consistency: 1 } : {},
  onError: (error, rows) => console.error(`  dead letter: ${rows.length} rows: ${error.message}`),
});

const show = (value: unknown): string => inspect(value, { breakLength: Infinity, depth: 4 });
const engine = (name: string): string => (replicated
  ? `ReplicatedMergeTree('/clickhouse/tables/{shard}/colonnade_quickstart_${name}', '{replica}')`
  : 'MergeTree');

function printStats(stats: PoolStats): void {
  console.log(`stats(): ${stats.idle} idle, ${stats.inUse} in use, ${stats.waiters} waiting, ${stats.overflow} overflow; ` +
    `writer: ${stats.writer.written} rows written, ${stats.writer.dropped} dropped, ${stats.writer.queued} queued`);
  const width = Math.max(...stats.servers.map((s) => s.server.length));
  for (const s of stats.servers) {
    console.log(`  ${s.server.padEnd(width)} ${s.up ? 'up  ' : 'down'} ${String(s.queries).padStart(3)} queries, ${s.errors} errors, ` +
      `connections ${s.connections.idle} idle / ${s.connections.busy} busy`);
  }
}

console.log(`MyClickHouse over ${urls.length} server(s): ${urls.map((url) => url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@')).join(', ')}`);
const app = await startSupervisor([MyClickHouse]);
try {
  for (const table of ['users', 'events', 'logs']) await MyClickHouse.query(`DROP TABLE IF EXISTS demo_${table}${onCluster}`);
  await MyClickHouse.query(`CREATE TABLE demo_users${onCluster} (id UInt64, name String, age UInt8 DEFAULT 30) ENGINE = ${engine('users')} ORDER BY id`);
  await MyClickHouse.query(`CREATE TABLE demo_events${onCluster} (user_id UInt64, event String) ENGINE = ${engine('events')} ORDER BY user_id`);
  await MyClickHouse.query(`CREATE TABLE demo_logs${onCluster} (event String, user_id UInt64, timestamp DateTime) ENGINE = ${engine('logs')} ORDER BY timestamp`);
  console.log(`query: created demo_users, demo_events, demo_logs${replicated ? ` on ${urls.length} replicas` : ''}`);

  await MyClickHouse.insertToTable('demo_users', { id: 456, name: 'John Doe' });
  await MyClickHouse.insertToTable('demo_users', [{ id: 1, name: 'Young', age: 18 }, { id: 2, name: "O'Neil", age: 60 }]);
  console.log('insertToTable: 3 users (one alone, two in one batch; age defaults to 30)');

  await MyClickHouse.insert('INSERT INTO demo_events (user_id, event) VALUES ({user_id}, {event})', { user_id: 123, event: 'login' });
  console.log("insert: VALUES ({user_id}, {event}) with { user_id: 123, event: 'login' }");

  const adults = await MyClickHouse.select('SELECT id, name, age FROM demo_users WHERE age > {min_age} ORDER BY id', { min_age: 21 });
  console.log(`select: age > {min_age} with { min_age: 21 } -> ${show(adults)}`);

  const text = await MyClickHouse.query('SELECT name, age FROM demo_users ORDER BY id FORMAT CSV');
  console.log(`query: any statement, the answer as text -> ${JSON.stringify(text)}`);

  MyClickHouse.asyncInsert('INSERT INTO demo_events (user_id, event) VALUES ({user_id}, {event})', { user_id: 124, event: 'logout' });
  for (let i = 0; i < 1_000; i++) {
    MyClickHouse.asyncInsertToTable('demo_logs', { event: 'page_view', user_id: 100 + (i % 3), timestamp: new Date() });
  }
  MyClickHouse.asyncQuery('INSERT INTO demo_events (user_id, event) SELECT id, {event} FROM demo_users WHERE age < {max_age}', { event: 'welcome', max_age: 21 });
  const { queued, inFlight } = MyClickHouse.stats().writer;
  console.log(`asyncInsert, 1,000 x asyncInsertToTable, asyncQuery: returned at once (${queued + inFlight} rows and statements in the writer)`);
  await MyClickHouse.flush();
  console.log('flush: everything queued so far is written');

  const counts = await MyClickHouse.send({
    type: 'select',
    sql: 'SELECT event, count() AS n FROM demo_events GROUP BY event ORDER BY event',
    options: { timeout: 30_000 },
  });
  const logs = await MyClickHouse.send({ type: 'select', sql: 'SELECT count() AS n, uniqExact(user_id) AS users FROM demo_logs' });
  console.log(`send({ type: 'select' }): events ${show(counts)}, logs ${show(logs)}`);

  printStats(MyClickHouse.stats());
  for (const table of ['users', 'events', 'logs']) await MyClickHouse.query(`DROP TABLE demo_${table}${onCluster}`);
} finally {
  await app.stop();
  console.log('app.stop(): writer drained, connections closed');
}
