// Rows belong to the writer once the call returns: a caller that reuses or changes its row
// objects gets each row stored as it was at its call (on the real server, with a Decimal
// column, which makes the pool re-encode the batch against the table's schema).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { connect, definePool } from '../../src/index.js';
import { serverUrls } from './cluster.js';

const test = suite('writer-capture');
const table = `capture_${Date.now().toString(36)}_${process.pid}`;
const admin = () => connect(serverUrls()[0]!);

test.before(async () => {
  const c = admin();
  await c.query(`CREATE TABLE ${table} (id UInt32, price Decimal(18, 4), note String DEFAULT 'dflt', tag String) ENGINE = MergeTree ORDER BY id`);
  await c.close();
});

test.after(async () => {
  const c = admin();
  await c.query(`DROP TABLE IF EXISTS ${table}`);
  await c.close();
});

test('capture :: one object reused for 100 calls stores 100 different rows', async () => {
  const dead: unknown[] = [];
  const pool = definePool({ connectionStrings: serverUrls().slice(0, 1), poolSize: 2, asyncFlushInterval: 50, onError: (error) => dead.push(error) });
  await pool.start();
  try {
    const row: Record<string, unknown> = {};
    for (let i = 0; i < 100; i++) {
      row.id = i;
      row.price = `${i}.25`;
      row.tag = `t${i}`;
      if (i % 2 === 0) row.note = `n${i}`;
      else row.note = undefined; // left undefined in this call: the column's DEFAULT
      pool.asyncInsertToTable(table, row);
    }
    row.id = 999;
    delete row.tag;
    await pool.flush();
    assert.equal(pool.stats().writer.failed, 0, 'nothing dead-lettered');
  } finally {
    await pool.stop();
  }
  const c = admin();
  try {
    const rows = await c.select(`SELECT id, price, note, tag FROM ${table} ORDER BY id`);
    assert.is(rows.length, 100);
    assert.equal(rows[0], { id: 0, price: '0.2500', note: 'n0', tag: 't0' });
    assert.equal(rows[1], { id: 1, price: '1.2500', note: 'dflt', tag: 't1' });
    assert.equal(rows[99], { id: 99, price: '99.2500', note: 'dflt', tag: 't99' });
    assert.equal(rows.map((r) => r.id), Array.from({ length: 100 }, (_, i) => i));
  } finally {
    await c.close();
  }
  assert.equal(dead, []);
});

test('defaults :: a row given as {} is stored as a row of defaults, sync and async', async () => {
  const c = admin();
  const pool = definePool({ connectionStrings: serverUrls().slice(0, 1), poolSize: 1, asyncFlushInterval: 50 });
  await pool.start();
  try {
    const before = Number((await c.select(`SELECT count() AS n FROM ${table}`))[0]!.n);
    await pool.insertToTable(table, [{}, { id: 1000, price: 1, tag: 'x' }]);
    pool.asyncInsertToTable(table, {});
    await pool.flush();
    const after = Number((await c.select(`SELECT count() AS n FROM ${table}`))[0]!.n);
    assert.is(after - before, 3);
    assert.is(pool.stats().writer.failed, 0);
  } finally {
    await pool.stop();
    await c.close();
  }
});

test('capture :: a Date and an array changed in place after the call are stored as they were at the call', async () => {
  const dated = `${table}_dated`;
  const c = admin();
  await c.query(`CREATE TABLE ${dated} (id UInt32, day Date, tags Array(String)) ENGINE = MergeTree ORDER BY id`);
  const pool = definePool({ connectionStrings: serverUrls().slice(0, 1), poolSize: 1, asyncFlushInterval: 60_000 });
  await pool.start();
  try {
    const day = new Date(Date.UTC(2024, 1, 29));
    const tags = ['a'];
    for (let id = 0; id < 3; id++) {
      pool.asyncInsertToTable(dated, { id, day, tags });
      // The caller moves its Date and grows its array in place for the next row.
      day.setUTCDate(day.getUTCDate() + 1);
      tags.push(String.fromCharCode(98 + id));
    }
    await pool.flush();
    assert.is(pool.stats().writer.failed, 0);
    const rows = await c.select(`SELECT id, toString(day) AS day, tags FROM ${dated} ORDER BY id`);
    assert.equal(rows, [
      { id: 0, day: '2024-02-29', tags: ['a'] },
      { id: 1, day: '2024-03-01', tags: ['a', 'b'] },
      { id: 2, day: '2024-03-02', tags: ['a', 'b', 'c'] },
    ]);
  } finally {
    await pool.stop();
    await c.query(`DROP TABLE IF EXISTS ${dated}`);
    await c.close();
  }
});

test.run();
