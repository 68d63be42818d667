// Data that looks like a server error is data (issue 11, item 6): a String value in the very
// form ClickHouse 18.16 writes an exception in is returned as a row, while a real exception
// the server appends to a streamed 200 body is still thrown. On the real local cluster.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ClickHouseError, connect, type Connection, type Row } from '../../src/index.js';
import { serverUrls, TEST_ENGINE } from './cluster.js';

const test = suite('data-like-errors');
const table = `errlike_${Date.now().toString(36)}_${process.pid}`;
let conn: Connection;

// A quote, which TSV escapes: a value of this text can be told from the server's own line.
const OLD_QUOTED = "Code: 60, e.displayText() = DB::Exception: Table default.x doesn't exist., e.what() = DB::Exception";
// Nothing TSV escapes: the bytes of this value in a one-String-column result are the bytes of
// the exception the server appends when a read limit strikes mid-stream.
const OLD_PLAIN = 'Code: 158, e.displayText() = DB::Exception: Limit for rows to read exceeded: 1001000 rows read (or to read), maximum: 1000000, e.what() = DB::Exception';
const NEW_FORM = 'Code: 60. DB::Exception: Table default.x does not exist. (UNKNOWN_TABLE) (version 24.3.1.1)';

test.before(async () => {
  conn = connect(serverUrls()[0] as string, { timeout: 20_000 });
  await conn.query(`CREATE TABLE ${table} (id UInt32, msg String, rest String) ENGINE = MergeTree ORDER BY id`);
  await conn.insertToTable(table, [
    { id: 1, msg: OLD_QUOTED, rest: '' },
    { id: 2, msg: OLD_PLAIN, rest: '' },
    { id: 3, msg: NEW_FORM, rest: '' },
    { id: 4, msg: 'Code: 1, e.displayText() = DB::Exception: first', rest: 'second, e.what() = DB::Exception' },
  ]);
});

test.after(async () => {
  await conn.query(`DROP TABLE IF EXISTS ${table}`);
  await conn.close();
});

test('select :: a one-String-column row in the old form, with a quote, is data', async () => {
  assert.equal(await conn.select(`SELECT msg FROM ${table} WHERE id = 1`), [{ msg: OLD_QUOTED }]);
});

test('select :: a one-String-column row byte for byte like the server\'s exception is data', async () => {
  assert.equal(await conn.select(`SELECT msg FROM ${table} WHERE id = 2`), [{ msg: OLD_PLAIN }]);
  assert.equal(await conn.select(`SELECT msg FROM ${table} WHERE id <= 2 ORDER BY id`), [{ msg: OLD_QUOTED }, { msg: OLD_PLAIN }]);
});

test('select :: the new form (symbolic name and version) as the last row is data', async () => {
  assert.equal(await conn.select(`SELECT msg FROM ${table} WHERE id = 3`), [{ msg: NEW_FORM }]);
  assert.equal(await conn.select(`SELECT id, msg FROM ${table} WHERE id = 3`), [{ id: 3, msg: NEW_FORM }]);
});

test('select :: two String columns that together read like the old form are data', async () => {
  assert.equal(await conn.select(`SELECT msg, rest FROM ${table} WHERE id = 4`), [
    { msg: 'Code: 1, e.displayText() = DB::Exception: first', rest: 'second, e.what() = DB::Exception' },
  ]);
});

test('select :: system.query_log.exception of a failed query is data', async () => {
  const mark = `errlike_mark_${Date.now()}`;
  const err = await conn.select(`SELECT '${mark}' AS mark FROM no_such_table_${process.pid}`, {}, { settings: { log_queries: 1 } }).catch((e: unknown) => e);
  assert.instance(err, ClickHouseError);
  // A fresh 18.16 server may log the failed query a little after its first SYSTEM FLUSH LOGS: asked again, at most 20 times.
  let rows: Row[] = [];
  for (let i = 0; i < 20 && rows.length === 0; i++) {
    if (i > 0) await new Promise((resolve) => setTimeout(resolve, 250));
    await conn.query('SYSTEM FLUSH LOGS');
    rows = await conn.select(
      `SELECT exception FROM system.query_log WHERE type = 3 AND query LIKE {pattern} AND query NOT LIKE '%query_log%' LIMIT 1`,
      { pattern: `%${mark}%` },
    );
  }
  assert.is(rows.length, 1);
  assert.match(String(rows[0]?.exception), TEST_ENGINE === 'modern'
    ? /^Code: 60\. DB::Exception: Unknown table expression identifier 'no_such_table_\d+' .*\(UNKNOWN_TABLE\)/
    : /^Code: 60, e\.displayText\(\) = DB::Exception: Table default\.no_such_table_\d+ doesn't exist\., e\.what\(\) = DB::Exception$/);
});

test('query :: text output whose last line reads like an exception is returned', async () => {
  const text = await conn.query(`SELECT msg FROM ${table} WHERE id = 2 FORMAT TabSeparated`);
  assert.is(text, `${OLD_PLAIN}\n`);
});

test('select :: a real exception after streamed rows is still thrown, with or without a quote in it', async () => {
  const quoted = await conn.select(
    'SELECT toString(number) AS s FROM system.numbers WHERE NOT throwIf(number = 300000) LIMIT 400000', {}, { settings: { max_block_size: 1000 } },
  ).catch((e: unknown) => e);
  assert.instance(quoted, ClickHouseError);
  assert.is((quoted as ClickHouseError).serverCode, 395);
  // One String column and a message with nothing TSV escapes: the bytes alone cannot tell.
  const plain = await conn.select(
    'SELECT toString(number) AS s FROM system.numbers LIMIT 3000000', {}, { settings: { max_block_size: 1000, max_rows_to_read: 1_000_000 } },
  ).catch((e: unknown) => e);
  assert.instance(plain, ClickHouseError);
  assert.is((plain as ClickHouseError).serverCode, 158);
  const viaQuery = await conn.query(
    'SELECT toString(number) AS s FROM system.numbers LIMIT 3000000 FORMAT TabSeparated', {}, { settings: { max_block_size: 1000, max_rows_to_read: 1_000_000 } },
  ).catch((e: unknown) => e);
  assert.instance(viaQuery, ClickHouseError);
  assert.is((viaQuery as ClickHouseError).serverCode, 158);
});

test.run();
