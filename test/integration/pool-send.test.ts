// send(): the one entry point, one message of each type against a real server, and what
// a caller sees before the pool starts and after it stops.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { definePool, startSupervisor, PoolNotStartedError } from '../../src/index.js';
import { serverUrls } from './cluster.js';
import { sql } from './helpers.js';

const test = suite('pool-send');
const table = `pool_send_${process.pid}_${Date.now().toString(36)}`;
let seq = 0;
const define = () => definePool({
  connectionStrings: serverUrls({ user: 'colonnade' }).slice(0, 1), name: `it-send-${process.pid}-${++seq}`, poolSize: 2,
  asyncFlushInterval: 600_000, // rows wait for flush()
});
const stored = async () => (await sql(0, `SELECT id, src FROM ${table} ORDER BY id FORMAT TSV`)).trim().split('\n').filter(Boolean);

test.before(async () => {
  await sql(0, `CREATE TABLE ${table} (id UInt32, src String) ENGINE = MergeTree ORDER BY id`);
});
test.after(async () => {
  await sql(0, `DROP TABLE IF EXISTS ${table}`).catch(() => undefined);
});

test('send :: before start every message type rejects with POOL_NOT_STARTED, and so after stop', async () => {
  const pool = define();
  const types = [
    { type: 'select', sql: 'SELECT 1' }, { type: 'query', sql: 'SELECT 1' }, { type: 'insert', sql: `INSERT INTO ${table} VALUES (1, 'x')` },
    { type: 'insert_to_table', table, rows: { id: 1, src: 'x' } }, { type: 'async_insert', sql: `INSERT INTO ${table} VALUES (1, 'x')` },
    { type: 'async_insert_to_table', table, rows: { id: 1, src: 'x' } }, { type: 'async_query', sql: 'SELECT 1' },
  ] as const;
  const codes = async () => Promise.all(types.map((m) => {
    const p = pool.send(m);
    assert.instance(p, Promise, `${m.type}: send returns a promise, even when it cannot run`);
    return p.then(() => 'resolved', (e: unknown) => (e instanceof PoolNotStartedError ? e.code : String(e)));
  }));
  assert.equal(await codes(), types.map(() => 'POOL_NOT_STARTED'));
  const app = await startSupervisor([pool]);
  assert.equal(await pool.send({ type: 'select', sql: 'SELECT 1 AS x' }), [{ x: 1 }], 'started, it serves');
  await app.stop();
  assert.equal(await codes(), types.map(() => 'POOL_NOT_STARTED'));
  assert.equal(await stored(), [], 'nothing reached the server');
});

test('send :: each message type does what its method does', async () => {
  const pool = define();
  const app = await startSupervisor([pool]);
  try {
    assert.is(await pool.send({ type: 'insert', sql: `INSERT INTO ${table} (id, src) VALUES ({id}, {src})`, params: { id: 1, src: 'insert' } }), undefined);
    assert.equal(await pool.send({ type: 'insert_to_table', table, rows: [{ id: 2, src: 'insert_to_table' }, { id: 3, src: 'insert_to_table' }] }), { rows: 2 });
    assert.is(await pool.send({ type: 'query', sql: `SELECT count() FROM ${table} WHERE id < {n} FORMAT TSV`, params: { n: 10 } }), '3\n');
    assert.equal(await pool.send({ type: 'select', sql: `SELECT id FROM ${table} WHERE src = {src} ORDER BY id`, params: { src: 'insert_to_table' }, options: { timeout: 30_000 } }), [{ id: 2 }, { id: 3 }]);

    // The async ones resolve once queued (SQL ones are sent at once, rows wait for their batch).
    assert.is(await pool.send({ type: 'async_insert', sql: `INSERT INTO ${table} (id, src) VALUES ({id}, {src})`, params: { id: 4, src: 'async_insert' } }), undefined);
    assert.is(await pool.send({ type: 'async_insert_to_table', table, rows: { id: 5, src: 'async_insert_to_table' } }), undefined);
    assert.is(await pool.send({ type: 'async_query', sql: `INSERT INTO ${table} (id, src) VALUES ({id}, {src})`, params: { id: 6, src: 'async_query' } }), undefined);
    const w = pool.stats().writer;
    assert.is(w.queued + w.inFlight + w.written, 3, `three async entries taken: ${JSON.stringify(w)}`);
    assert.ok(w.queued >= 1, 'the row waits for its batch (flush interval 10 min)');
    await pool.flush();
    assert.equal(await stored(), ['1\tinsert', '2\tinsert_to_table', '3\tinsert_to_table', '4\tasync_insert', '5\tasync_insert_to_table', '6\tasync_query']);
    assert.equal(pool.stats().writer.written, 3);

    // Bad input of an async message is the caller's rejection, not a dead letter.
    const bad = await pool.send({ type: 'async_insert_to_table', table, rows: { ['bad\ncolumn']: 1 } }).then(() => 'queued', (e: { code?: string }) => e.code);
    assert.is(bad, 'QUERY_PARAM');
    const sqlError = await pool.send({ type: 'select', sql: 'SELECT * FROM no_such_table_for_send' }).then(() => 'ok', (e: { code?: string }) => e.code);
    assert.is(sqlError, 'CLICKHOUSE');
  } finally {
    await app.stop();
  }
});

test.run();
