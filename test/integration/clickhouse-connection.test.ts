// connect() and perform() against a real ClickHouse 18.16 server of the local cluster:
// refusals, credentials, timeouts, aborts, socket reuse, settings and query ids.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { visibleText } from '../secrets.js';
import { Client } from 'undici';
import {
  connect, parseConnectionString, perform, prepare, type Connection,
  AbortError, ClickHouseError, ColonnadeError, TimeoutError, TransportError,
} from '../../src/protocol.js';
import { PASSWORD, clusterInfo, serverUrls, TEST_ENGINE } from './cluster.js';
import { assertNoPassword, pause, sql, until } from './helpers.js';
import { startFaultProxy } from '../support/fault-proxy.js';

const test = suite('clickhouse-connection');
const table = `ch_conn_${process.pid}_${Date.now()}`;
const errors: unknown[] = [];
let conn: Connection;

async function failure(p: Promise<unknown>): Promise<ColonnadeError> {
  const err = await p.then(() => assert.unreachable('should reject'), (e: unknown) => e);
  errors.push(err);
  assert.instance(err, ColonnadeError);
  return err as ColonnadeError;
}

test.before(() => {
  conn = connect(serverUrls({ user: 'colonnade' })[0] as string, { timeout: 10_000 });
});
test.after(async () => {
  await conn.query(`DROP TABLE IF EXISTS ${table}`);
  await conn.close();
});

test('issue example :: select, insert, insertToTable, query, ping as the password user', async () => {
  assert.ok(conn.server.redacted.includes('colonnade:***@'));
  await conn.query(`CREATE TABLE ${table} (user_id UInt32, event String, at DateTime DEFAULT now()) ENGINE = MergeTree ORDER BY user_id`);
  await conn.insert(`INSERT INTO ${table} (user_id, event) VALUES ({user_id}, {event})`, { user_id: 42, event: 'login' });
  await conn.insertToTable(table, [{ user_id: 1, event: "it's" }, { user_id: 2, event: 'b\\' }]);
  const rows = await conn.select(`SELECT user_id, event FROM ${table} WHERE event != {skip} ORDER BY user_id`, { skip: 'none' });
  assert.equal(rows, [{ user_id: 1, event: "it's" }, { user_id: 2, event: 'b\\' }, { user_id: 42, event: 'login' }]);
  assert.is(await conn.query(`SELECT count() FROM ${table}`), '3\n');
  await conn.ping();
});

test('refusals :: a missing table is ClickHouseError 60', async () => {
  const err = await failure(conn.select('SELECT * FROM no_such_table_here'));
  assert.instance(err, ClickHouseError);
  assert.is((err as ClickHouseError).serverCode, 60);
  assert.match((err as ClickHouseError).serverMessage, /no_such_table_here/);
});

test('refusals :: a syntax error and an exception mid-stream in a 200 body', async () => {
  assert.is(((await failure(conn.query('SELEC 1'))) as ClickHouseError).serverCode, 62);
  const streamed = await failure(conn.select('SELECT number, throwIf(number = 300000) AS boom FROM system.numbers LIMIT 400000', {}, { settings: { max_block_size: 1000 } }));
  assert.instance(streamed, ClickHouseError);
  assert.is((streamed as ClickHouseError).serverCode, 395);
  assert.is((streamed as ClickHouseError).status, 200);
});

test('credentials :: a wrong password is refused and neither password shows', async () => {
  const url = serverUrls({ user: 'colonnade' })[0]?.replace(encodeURIComponent(PASSWORD), 'not-the-pass%21') as string;
  const bad = connect(url);
  try {
    const err = await failure(bad.select('SELECT 1'));
    assert.is((err as ClickHouseError).serverCode, TEST_ENGINE === 'modern' ? 516 : 193, 'WRONG_PASSWORD on 18.16, AUTHENTICATION_FAILED on 26.x');
    assert.not.ok(visibleText(err).includes('not-the-pass'), 'the wrong password shows nowhere in the error or its causes');
  } finally {
    await bad.close();
  }
});

test('settings and query id :: reach the server', async () => {
  const [row] = await conn.select("SELECT value FROM system.settings WHERE name = 'max_threads'", {}, { settings: { max_threads: 3 } });
  assert.equal(row, { value: '3' });
  const queryId = `colonnade-${process.pid}-${Date.now()}`;
  // The running query sees itself in system.processes under the id it was sent with.
  const [echo] = await conn.select('SELECT query_id AS id FROM system.processes WHERE query_id = {q}', { q: queryId }, { queryId });
  assert.equal(echo, { id: queryId });
});

test('timeout :: a slow query times out and the same Client then answers the next query with its own result', async () => {
  const server = parseConnectionString(serverUrls()[0] as string);
  const client = new Client(server.origin);
  const defaults = { timeout: 5_000, int64: 'auto' } as const;
  try {
    const err = await failure(perform(client, server, prepare({ type: 'select', sql: 'SELECT sleep(1) AS slept', options: { timeout: 150 } }), defaults));
    assert.instance(err, TimeoutError);
    assert.is(err.code, 'TIMEOUT');
    const next = await perform(client, server, prepare({ type: 'select', sql: 'SELECT 7 AS x' }), defaults);
    assert.equal(next, [{ x: 7 }]);
  } finally {
    await client.close();
  }
});

test('abort :: a signal cancels a running query; the connection keeps working', async () => {
  const ac = new AbortController();
  const pending = conn.select('SELECT sleep(1)', {}, { signal: ac.signal });
  setTimeout(() => ac.abort('user navigated away'), 50);
  const err = await failure(pending);
  assert.instance(err, AbortError);
  assert.is(err.code, 'ABORTED');
  assert.equal(await conn.select('SELECT 1 AS one'), [{ one: 1 }]);
});

test('close :: the connections connect() opened of its own (to kill queries, to describe a table) close with it', async () => {
  // A proxy that passes everything: it counts the connections still open at its end (an idle
  // keep-alive socket is unref'd, so the process's handles do not show it).
  const proxy = await startFaultProxy({ target: serverUrls()[0] as string });
  const tag = `conn-close-${process.pid}-${Date.now().toString(36)}`;
  const own = connect(proxy.url(), { timeout: 10_000 });
  const described = `${table}_described`;
  try {
    const slow = `SELECT sleepEachRow(0.5) AS s, '${tag}' AS tag FROM numbers(20) SETTINGS max_block_size = 1, max_execution_time = 15`;
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 300);
    const codes = await Promise.all([own.select(slow, {}, { timeout: 300 }), own.select(slow, {}, { signal: ac.signal })]
      .map((call) => call.then(() => 'answered', (e: { code?: string }) => e.code)));
    assert.equal(codes.sort(), ['ABORTED', 'TIMEOUT']);
    // Rows of numbers alone are checked by the table's description, asked on a connection of its own.
    await own.query(`CREATE TABLE ${described} (id UInt8) ENGINE = Memory`);
    await own.insertToTable(described, [{ id: 1 }]);
    const running = async () => (await sql(0, `SELECT count() FROM system.processes WHERE query LIKE '%${tag}%' AND query NOT LIKE '%system.processes%' FORMAT TSV`)).trim();
    await until('both queries were killed on the server', async () => (await running()) === '0', 10_000);
    await pause(150);
    await own.query(`DROP TABLE ${described}`);
    await own.close();
    // Before: each of those connections stayed open, idle, until its keep-alive ran out (2 s and more).
    await until('the proxy saw every connection closed', () => proxy.stats().open === 0, 500, 10);
  } finally {
    await own.close();
    await sql(0, `DROP TABLE IF EXISTS ${described}`);
    await proxy.close();
  }
});

test('transport :: a port nobody listens on gives TransportError with requestSent false', async () => {
  // Between the HTTP and TCP port ranges of the cluster layout: never bound.
  const unused = (clusterInfo().servers[0]?.httpPort ?? 18123) + 50;
  const dead = connect(`http://colonnade:${encodeURIComponent(PASSWORD)}@127.0.0.1:${unused}/default`, { timeout: 2_000 });
  try {
    const err = await failure(dead.insertToTable('t', { a: 1 }));
    assert.instance(err, TransportError);
    assert.is((err as TransportError).requestSent, false);
  } finally {
    await dead.close();
  }
});

test('credentials :: a bad connection string with the password refuses without showing it', () => {
  for (const url of [`http://colonnade:${encodeURIComponent(PASSWORD)}@127.0.0.1:99999/default`, `gopher://colonnade:${PASSWORD}@127.0.0.1/default`]) {
    try {
      connect(url);
      assert.unreachable('should throw');
    } catch (err) {
      errors.push(err);
      assert.is((err as ColonnadeError).code, 'CONFIG');
    }
  }
});

test('credentials :: no error raised in this suite shows the password, in any form', () => {
  assert.ok(errors.length >= 8, `only ${errors.length} errors collected`);
  // inspect with showHidden: an Error's message and a ServerConfig's password are not
  // enumerable, so JSON.stringify would never see them; every cause is checked too.
  for (const err of errors) assertNoPassword(err, `error ${String(err)}`);
});

test.run();
