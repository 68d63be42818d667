// Values that break objects or days (issue 11, item 9): a column named `__proto__` or
// `constructor` round-trips as an own property, and a JS Date given for a Date column is
// stored as its UTC day, sync and async. On the real local cluster (18.16: no Date32 or
// DateTime64 here; their encoding is covered by the unit tests).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { connect, definePool, type Connection } from '../../src/index.js';
import { serverUrls } from './cluster.js';

const test = suite('awkward-values');
const stamp = `${Date.now().toString(36)}_${process.pid}`;
const names = `awk_names_${stamp}`;
const days = `awk_days_${stamp}`;
let conn: Connection;

test.before(async () => {
  conn = connect(serverUrls()[0] as string, { timeout: 10_000 });
  await conn.query(`CREATE TABLE ${names} (id UInt32, \`__proto__\` String, \`constructor\` String, toString UInt8) ENGINE = MergeTree ORDER BY id`);
  await conn.query(`CREATE TABLE ${days} (
    id UInt32, day Date, at DateTime, days Array(Date), maybe Nullable(Date), price Decimal(9, 2) DEFAULT 0
  ) ENGINE = MergeTree ORDER BY id`);
});

test.after(async () => {
  await conn.query(`DROP TABLE IF EXISTS ${names}`);
  await conn.query(`DROP TABLE IF EXISTS ${days}`);
  await conn.close();
});

test('names :: __proto__ and constructor columns come back as own properties', async () => {
  const row = JSON.parse('{"id":1,"__proto__":"not a prototype","constructor":"not a function","toString":7}') as Record<string, unknown>;
  await conn.insertToTable(names, row);
  const [back] = await conn.select(`SELECT * FROM ${names}`);
  assert.ok(back);
  assert.ok(Object.prototype.hasOwnProperty.call(back, '__proto__'), 'an own __proto__ property');
  assert.is(Object.getPrototypeOf(back), Object.prototype, 'the row keeps the ordinary prototype');
  assert.equal(Object.keys(back), ['id', '__proto__', 'constructor', 'toString']);
  assert.is(Object.getOwnPropertyDescriptor(back, '__proto__')?.value, 'not a prototype');
  assert.is(back.constructor, 'not a function');
  assert.is(back.toString, 7);
  assert.equal(JSON.parse(JSON.stringify(back)), row);
});

test('dates :: a Date for a Date column is stored as its UTC day (also in Array and Nullable)', async () => {
  const late = new Date('2020-02-29T23:30:00Z'); // already 1 March east of UTC
  const early = new Date('2020-03-01T00:30:00+02:00'); // still 29 February in UTC
  await conn.insertToTable(days, [
    { id: 1, day: late, at: late, days: [late, new Date(0)], maybe: early },
    { id: 2, day: early, at: early, days: [], maybe: null },
  ]);
  const rows = await conn.select(`SELECT id, day, at, days, maybe FROM ${days} WHERE id <= 2 ORDER BY id`);
  assert.equal(rows, [
    { id: 1, day: '2020-02-29', at: late, days: ['2020-02-29', '1970-01-01'], maybe: '2020-02-29' },
    { id: 2, day: '2020-02-29', at: new Date('2020-02-29T22:30:00Z'), days: [], maybe: null },
  ]);
});

test('dates :: a Date next to a Decimal and through the async writer is stored as its UTC day', async () => {
  const pool = definePool({ connectionStrings: serverUrls().slice(0, 1), poolSize: 1, asyncFlushInterval: 50 });
  await pool.start();
  try {
    await pool.insertToTable(days, { id: 3, day: new Date('1999-12-31T23:59:59.999Z'), at: new Date(86_400_000), days: [], price: '1.25' });
    pool.asyncInsertToTable(days, { id: 4, day: new Date('2038-01-19T03:14:08Z'), at: new Date(0), days: [new Date('2105-12-31T12:00:00Z')] });
    await pool.flush();
    assert.is(pool.stats().writer.failed, 0);
  } finally {
    await pool.stop();
  }
  assert.equal(await conn.select(`SELECT id, day, days, price FROM ${days} WHERE id >= 3 ORDER BY id`), [
    { id: 3, day: '1999-12-31', days: [], price: '1.25' },
    { id: 4, day: '2038-01-19', days: ['2105-12-31'], price: '0.00' },
  ]);
});

test.run();
