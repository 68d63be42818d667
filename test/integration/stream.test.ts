// Big work on the real servers (issue 13): `stream()` of ten million rows with a bounded heap,
// leaving the loop early kills the query on the server, an exception in the middle of a
// stream, a stream that fails over before its first row, and `insertToTable` from an async
// generator with mixed column sets and DEFAULTs, from a source with a bad row, and from a big
// array (encoded as it is sent, checked whole before).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Readable } from 'node:stream';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { ClickHouseError, QueryParamError, connect, definePool, startSupervisor, type Row } from '../../src/index.js';
import { startFaultProxy } from '../support/fault-proxy.js';
import { TEST_ENGINE, serverUrls } from './cluster.js';
import { sql, until } from './helpers.js';

const test = suite(`stream [${TEST_ENGINE}]`);
const suffix = `${Date.now().toString(36)}_${process.pid}`;
const tables: string[] = [];

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const MiB = 1024 * 1024;

test.after(async () => {
  for (const t of tables) await sql(0, `DROP TABLE IF EXISTS ${t}`).catch(() => undefined);
});

test('stream :: ten million rows through the pool with the heap bounded, every row once, in order', async () => {
  const pool = definePool({ connectionStrings: serverUrls(), name: `it-stream-big-${process.pid}`, poolSize: 2, timeout: 30_000 });
  const app = await startSupervisor([pool]);
  try {
    gc();
    const base = process.memoryUsage().heapUsed;
    let peak = 0;
    let count = 0;
    let sum = 0;
    let inOrder = true;
    const total = 10_000_000;
    for await (const row of pool.stream(`SELECT number AS n, toString(number) AS s FROM system.numbers LIMIT ${total}`)) {
      const n = row.n as number;
      if (n !== count || row.s !== String(n)) inOrder = false;
      sum += n;
      count++;
      // What the heap holds (after a collection): garbage not yet collected is no sign of
      // buffering, and how much of it piles up depends on what ran before in this process.
      if ((count & 0x3ffff) === 0) {
        gc();
        peak = Math.max(peak, process.memoryUsage().heapUsed - base);
      }
    }
    assert.is(count, total);
    assert.is(sum, (total * (total - 1)) / 2);
    assert.ok(inOrder, 'rows in order, each as select decodes it');
    // Holding the rows would take over a gigabyte of heap; a stream holds a few thousand.
    assert.ok(peak < 150 * MiB, `heap grew by ${(peak / MiB).toFixed(0)} MiB while streaming`);
    assert.is(pool.stats().servers.reduce((n, s) => n + s.connections.busy, 0), 0, 'its connection is back in the pool');
  } finally {
    await app.stop();
  }
});

test('stream :: leaving the loop early ends the request and the query stops on the server', async () => {
  const conn = connect(serverUrls()[0] as string);
  const queryId = `it-stream-break-${suffix}`;
  try {
    let seen = 0;
    for await (const row of conn.stream('SELECT number AS n FROM system.numbers', {}, { queryId })) {
      assert.is(row.n, seen);
      if (++seen === 50_000) break;
    }
    // An endless query: only the client's kill (or the broken socket) stops it.
    await until('the query is gone from system.processes', async () => (await sql(1 % serverUrls().length, 'SELECT 1')).trim() === '1'
      && (await sql(0, `SELECT count() FROM system.processes WHERE query_id = '${queryId}'`)).trim() === '0', 10_000, 100);
    assert.equal(await conn.select('SELECT 1 AS one'), [{ one: 1 }], 'the connection works after');
  } finally {
    await conn.close();
  }
});

test('stream :: an exception the server writes after rows rejects the loop after every one of those rows', async () => {
  const conn = connect(serverUrls()[0] as string);
  try {
    let seen = 0;
    let error: unknown;
    try {
      for await (const row of conn.stream('SELECT throwIf(number = 300000) AS x, number AS n FROM system.numbers LIMIT 1000000', {}, { settings: { max_block_size: 100, max_threads: 1 } })) {
        assert.is(row.n, seen++);
      }
    } catch (e) {
      error = e;
    }
    assert.instance(error, ClickHouseError);
    assert.is((error as ClickHouseError).serverCode, 395);
    // Every row the server sent before its exception: 18.16 sends every block before the
    // failing one; 26.x may drop the last few blocks it had not sent yet (100 rows each). The
    // client used to lose the last 64 KiB (7,282 of these 9-byte rows), held back to look for the exception.
    assert.ok(seen <= 300_000 && seen >= (TEST_ENGINE === 'modern' ? 299_000 : 300_000), `${seen} rows came before the exception`);
  } finally {
    await conn.close();
  }
});

test('stream :: the caller\'s abort while the loop is paused ends the stream at once: no more rows, the connection free, the query gone', async () => {
  const pool = definePool({ connectionStrings: serverUrls().slice(0, 1), name: `it-stream-pause-${process.pid}`, poolSize: 1, poolTimeout: 2_000, timeout: 10_000 });
  const app = await startSupervisor([pool]);
  const queryId = `it-stream-pause-${suffix}`;
  const told: { type: string; outcome: string; error?: string }[] = [];
  pool.events.on('query', ({ type, outcome, error }) => told.push({ type, outcome, ...(error === undefined ? {} : { error }) }));
  try {
    const abort = new AbortController();
    const rows = pool.stream('SELECT number AS n FROM system.numbers', {}, { queryId, signal: abort.signal })[Symbol.asyncIterator]();
    assert.equal((await rows.next()).value, { n: 0 });
    // The loop pauses (thousands of rows wait decoded), and the caller gives up.
    await new Promise((resolve) => setTimeout(resolve, 300));
    abort.abort();
    const next = await rows.next().then((r) => `row ${JSON.stringify(r.value)}`, (e: Error & { code?: string }) => e.code);
    assert.is(next, 'ABORTED', 'the next step rejects: no row decoded before the abort is handed over');
    assert.equal(await pool.select('SELECT 1 AS one'), [{ one: 1 }], 'the one connection is free again');
    await until('the query is gone from system.processes', async () => (await sql(0, `SELECT count() FROM system.processes WHERE query_id = '${queryId}'`)).trim() === '0', 10_000, 100);
    // Two steps asked at once both get their rows.
    const twice = pool.stream('SELECT number AS n FROM numbers(3)')[Symbol.asyncIterator]();
    assert.equal((await Promise.all([twice.next(), twice.next()])).map((r) => r.value), [{ n: 0 }, { n: 1 }]);
    await twice.return?.();
    // The aborted stream failed (it was told as a success, and the observer counted it so); the one its reader left did not.
    assert.equal(told.filter((e) => e.type === 'stream'), [{ type: 'stream', outcome: 'error', error: 'ABORTED' }, { type: 'stream', outcome: 'ok' }]);
  } finally {
    await app.stop();
  }
});

test('stream :: a stream dropped unfinished (no return(), no cancel()) frees its connection once collected, and its query ends', async () => {
  const pool = definePool({ connectionStrings: serverUrls().slice(0, 1), name: `it-stream-dropped-${process.pid}`, poolSize: 1, poolTimeout: 1_000, timeout: 10_000 });
  const app = await startSupervisor([pool]);
  const queryId = `it-stream-dropped-${suffix}`;
  try {
    await (async () => {
      const rows = pool.stream('SELECT number AS n FROM system.numbers', {}, { queryId })[Symbol.asyncIterator]();
      assert.equal((await rows.next()).value, { n: 0 });
    })();
    // Before: the one connection stayed busy until the process ended (POOL_TIMEOUT for every call after).
    let answer = '';
    for (let i = 0; i < 10 && answer !== '[{"one":1}]'; i++) {
      gc();
      await new Promise((resolve) => setTimeout(resolve, 50));
      answer = await pool.select('SELECT 1 AS one').then((r) => JSON.stringify(r), (e: Error & { code?: string }) => String(e.code));
    }
    assert.is(answer, '[{"one":1}]', 'the one connection is free again');
    await until('the query is gone from system.processes', async () => (await sql(0, `SELECT count() FROM system.processes WHERE query_id = '${queryId}'`)).trim() === '0', 10_000, 100);
  } finally {
    await app.stop();
  }
});

test('stream :: close() awaited inside the loop ends the stream with CLOSED (it used to wait for the loop, forever); a pool stopped under a stream leaves no query behind', async () => {
  const conn = connect(serverUrls()[0] as string);
  let seen = 0;
  const ended = await (async () => {
    for await (const _ of conn.stream('SELECT number AS n FROM system.numbers')) {
      if (++seen === 1_000) await conn.close();
    }
    return 'the loop ended without error';
  })().catch((e: Error & { code?: string }) => e.code);
  assert.is(ended, 'CLOSED');
  assert.is(seen, 1_000, 'no row after close()');
  const queryId = `it-stream-stopped-${suffix}`;
  const pool = definePool({ connectionStrings: serverUrls().slice(0, 1), name: `it-stream-stop-${process.pid}`, poolSize: 1 });
  const app = await startSupervisor([pool]);
  const rows = pool.stream('SELECT number AS n FROM system.numbers', {}, { queryId })[Symbol.asyncIterator]();
  await rows.next();
  // The loop pauses; the pool stops under it (the connection waits for the call, then is stopped).
  await app.stop();
  // The rows decoded before the stop (a few thousand at most) come first.
  let after = 0;
  let code: string | undefined;
  while (code === undefined && after < 100_000) {
    code = await rows.next().then((r) => (r.done === true ? 'done' : (after++, undefined)), (e: Error & { code?: string }) => e.code);
  }
  assert.is(code, 'POOL_STOPPED');
  assert.ok(after <= 20_000, `${after} rows after the stop`);
  await until('the query is gone from system.processes', async () => (await sql(0, `SELECT count() FROM system.processes WHERE query_id = '${queryId}'`)).trim() === '0', 10_000, 100);
});

test('stream :: a stream whose server drops the request before any row fails over; no stream is lost', async () => {
  const proxy = await startFaultProxy({ target: serverUrls()[0] as string, mode: { mode: 'reset-after-request' } });
  const pool = definePool({ connectionStrings: [proxy.url(), serverUrls()[1] as string], name: `it-stream-failover-${process.pid}`, poolSize: 2, timeout: 5_000, readRetries: 2 });
  const app = await startSupervisor([pool]);
  try {
    for (let i = 0; i < 6; i++) {
      const rows: Row[] = [];
      for await (const row of pool.stream('SELECT number AS n FROM system.numbers LIMIT 1000')) rows.push(row);
      assert.is(rows.length, 1000, `stream ${i}`);
      assert.is(rows[999]?.n, 999);
    }
    assert.ok(proxy.stats().reset > 0, 'some stream went to the failing server first');
  } finally {
    await app.stop();
    await proxy.close();
  }
});

async function defaultsTable(name: string): Promise<void> {
  tables.push(name);
  await sql(0, `CREATE TABLE ${name} (id UInt32, name String DEFAULT concat('n', toString(id)), score Float64 DEFAULT 7) ENGINE = MergeTree ORDER BY id`);
}

test('insert :: insertToTable from an async generator: mixed column sets get their DEFAULTs, rows written is reported', async () => {
  const table = `it_stream_insert_${suffix}`;
  await defaultsTable(table);
  const pool = definePool({ connectionStrings: serverUrls().slice(0, 1), name: `it-stream-insert-${process.pid}`, poolSize: 2, timeout: 30_000 });
  const app = await startSupervisor([pool]);
  const total = 300_000;
  // One row object, changed and given again: the rows are read as they come.
  async function* rows(): AsyncGenerator<Row> {
    for (let id = 0; id < total; id++) {
      const row: Row = { id };
      if (id % 3 === 1) row.name = `x${id}`;
      if (id % 3 === 2) row.score = id;
      yield row;
    }
  }
  try {
    assert.throws(() => pool.asyncInsertToTable(table, rows() as unknown as Row), /a generator or stream of rows goes to insertToTable/);
    const result = await pool.insertToTable(table, rows());
    assert.equal(result, { rows: total });
    const [counts] = await pool.select(`SELECT count() AS c, uniqExact(id) AS u, countIf(name = concat('n', toString(id))) AS named_by_default,
      countIf(score = 7) AS scored_by_default, countIf(name = concat('x', toString(id))) AS named FROM ${table}`);
    assert.equal(counts, { c: total, u: total, named_by_default: total / 3 * 2, scored_by_default: total / 3 * 2, named: total / 3 });
    const readable = await pool.insertToTable(table, Readable.from([{ id: total }, { id: total + 1, name: 'r' }]));
    assert.equal(readable, { rows: 2 });
  } finally {
    await app.stop();
  }
});

test('insert :: a big array is sent as it is encoded, in column sets with their DEFAULTs; a bad row in it is refused before a byte is sent', async () => {
  const table = `it_stream_array_${suffix}`;
  await defaultsTable(table);
  const total = 120_000;
  // Two column sets, the bigger one past the size that is encoded as it is sent.
  const rows: Row[] = Array.from({ length: total }, (_, id) => (id % 4 === 3 ? { id, name: `x${id}` } : { id }));
  const proxy = await startFaultProxy({ target: serverUrls()[0] as string });
  const conn = connect(proxy.url(), { timeout: 60_000 });
  try {
    assert.equal(await conn.insertToTable(table, rows), { rows: total });
    const [counts] = await conn.select(`SELECT count() AS c, uniqExact(id) AS u, countIf(name = concat('n', toString(id))) AS by_default, countIf(name = concat('x', toString(id))) AS named FROM ${table}`);
    assert.equal(counts, { c: total, u: total, by_default: total / 4 * 3, named: total / 4 });

    const before = proxy.stats().bytesToTarget;
    const bad: Row[] = rows.map((row) => ({ ...row, id: (row.id as number) + total }));
    bad[total - 1] = { id: 2 * total, name: 'a\uD800b' };
    let error: unknown;
    await conn.insertToTable(table, bad).catch((e: unknown) => { error = e; });
    assert.instance(error, QueryParamError);
    assert.is((error as QueryParamError).param, `rows[${total - 1}].name`, 'the row is named by its place in the array');
    assert.match((error as Error).message, /lone UTF-16 surrogate/);
    assert.is(proxy.stats().bytesToTarget, before, 'not a byte of the insert was sent');
    assert.is((await sql(0, `SELECT count() FROM ${table}`)).trim(), String(total), 'nothing of it is stored');
  } finally {
    await conn.close();
    await proxy.close();
  }
});

test('stream :: a large result with a column RowBinary cannot read (an aggregate state), through a pool of one connection: asked again as text, every row comes', async () => {
  const pool = definePool({ connectionStrings: [serverUrls()[0] as string], name: `it-stream-state-${process.pid}`, poolSize: 1, maxOverflow: 0, timeout: 10_000 });
  const app = await startSupervisor([pool]);
  try {
    const total = 1_000_000;
    let count = 0;
    let inOrder = true;
    for await (const row of pool.stream(`SELECT number AS n, arrayReduce('uniqState', [number]) AS s FROM numbers(${total})`)) {
      if (row.n !== count) inOrder = false;
      count++;
    }
    // Before (26.7): the binary answer, not read past its header, was left paused in front of the text one on the same socket: TIMEOUT.
    assert.is(count, total);
    assert.ok(inOrder, 'each row once, in order');
    assert.is(pool.stats().inUse, 0, 'its connection is back in the pool');
  } finally {
    await app.stop();
  }
});

test('insert :: a row of a big array that stops encoding while the array is sent makes the server refuse the insert: nothing of it is stored', async () => {
  const table = `it_stream_changed_${suffix}`;
  await defaultsTable(table);
  const rows: Row[] = Array.from({ length: 30_000 }, (_, id) => ({ id, name: `ok${id}` }));
  const proxy = await startFaultProxy({ target: serverUrls()[0] as string });
  const conn = connect(proxy.url(), { timeout: 30_000 });
  try {
    await conn.select('SELECT 1');
    const before = proxy.stats().bytesToTarget;
    let error: unknown;
    const call = conn.insertToTable(table, rows).catch((e: unknown) => { error = e; });
    // Checked by the call; changed by the caller before the insert is sent.
    (rows[29_999] as Row).name = 'a\uD800b';
    await call;
    assert.instance(error, QueryParamError);
    assert.match((error as Error).message, /lone UTF-16 surrogate/);
    // As text (18.16), the rows before it went, and the line after them makes the server refuse
    // them all. In binary (26.7) the request is aborted: the chunks written by then may never
    // leave the socket.
    if (TEST_ENGINE === '18.16') assert.ok(proxy.stats().bytesToTarget - before > 300_000, 'the rows before it were sent');
    assert.is((await sql(0, `SELECT count() FROM ${table}`)).trim(), '0', 'and none of them is stored');
    assert.equal(await conn.insertToTable(table, [{ id: 1 }]), { rows: 1 }, 'the connection works after');
  } finally {
    await conn.close();
    await proxy.close();
  }
});

test('insert :: a row that stops encoding while the rows are sent, into a table of one-byte rows: the insert is refused and nothing of it is stored', async () => {
  // Rows of one byte: anything appended to a binary body after the rows (a text line, say) reads as more rows.
  const table = `it_stream_fixed_${suffix}`;
  tables.push(table);
  await sql(0, `CREATE TABLE ${table} (id UInt8) ENGINE = MergeTree ORDER BY tuple()`);
  const conn = connect(serverUrls()[0] as string, { timeout: 30_000 });
  try {
    const rows: Row[] = Array.from({ length: 20_000 }, (_, id) => ({ id: id % 200 }));
    // The last row reads well while it is checked, and fails once the body that carries it is
    // being encoded (as a getter may, or a row the caller changed meanwhile). It throws only
    // inside the encoder's rowParts: a rename there makes this test fail, not pass unseen.
    const last: Row = {};
    Object.defineProperty(last, 'id', { enumerable: true, get: () => {
      if (new Error().stack?.includes('rowParts')) throw new Error('this row no longer encodes');
      return 1;
    } });
    rows.push(last);
    const error = await conn.insertToTable(table, rows).then(() => undefined, (e: unknown) => e);
    assert.ok(error instanceof Error, 'the call rejects');
    // Before (26.7, binary): the insert was ended with a text line, which the server read as 59 more rows of one byte, and stored 20,059.
    assert.is((await sql(0, `SELECT count() FROM ${table}`)).trim(), '0');
  } finally {
    await conn.close();
  }
});

test('insert :: a source with a bad row is refused naming the row, and nothing of it is stored', async () => {
  const table = `it_stream_bad_${suffix}`;
  await defaultsTable(table);
  const conn = connect(serverUrls()[0] as string);
  function* rows(): Generator<Row> {
    for (let id = 0; id < 20_000; id++) yield id === 12_345 ? { id, name: 'a\uD800b' } : { id, name: `ok${id}` };
  }
  try {
    let error: unknown;
    await conn.insertToTable(table, rows()).catch((e: unknown) => { error = e; });
    assert.instance(error, QueryParamError);
    assert.match((error as Error).message, /rows\[12345\]\.name/);
    assert.match((error as Error).message, /lone UTF-16 surrogate/);
    assert.is((await sql(0, `SELECT count() FROM ${table}`)).trim(), '0');
    assert.equal(await conn.insertToTable(table, [{ id: 1 }]), { rows: 1 }, 'the connection works after');
  } finally {
    await conn.close();
  }
});

test('compression :: gzip both ways: select, stream, inserts from an array and a generator, and an exception after rows', async () => {
  const table = `it_stream_gzip_${suffix}`;
  await defaultsTable(table);
  const pool = definePool({ connectionStrings: serverUrls().slice(0, 1), name: `it-stream-gzip-${process.pid}`, poolSize: 2, timeout: 30_000, compression: { request: true, response: true } });
  const app = await startSupervisor([pool]);
  try {
    const rows = await pool.select('SELECT number AS n, toString(number) AS s FROM system.numbers LIMIT 100000');
    assert.is(rows.length, 100_000);
    assert.equal(rows[99_999], { n: 99_999, s: '99999' });
    let streamed = 0;
    for await (const row of pool.stream('SELECT number AS n FROM system.numbers LIMIT 300000')) assert.is(row.n, streamed++);
    assert.is(streamed, 300_000);
    assert.equal(await pool.insertToTable(table, Array.from({ length: 5_000 }, (_, id) => ({ id, name: `a${id}` }))), { rows: 5_000 });
    assert.equal(await pool.insertToTable(table, (function* () { for (let id = 5_000; id < 10_000; id++) yield id % 2 ? { id } : { id, name: 'b' }; })()), { rows: 5_000 });
    assert.equal(await pool.select(`SELECT count() AS c, countIf(name = concat('n', toString(id))) AS d FROM ${table}`), [{ c: 10_000, d: 2_500 }]);
    // A source that fails is the call's failure, compressed too (26.7 ended the process with an unhandled 'error').
    const failed = await pool.insertToTable(table, (function* () { for (let id = 0; id < 20; id++) { if (id === 10) throw new Error('source broke'); yield { id }; } })())
      .then(() => 'resolved', (e: Error & { code?: string }) => `${e.code}: ${e.message}`);
    assert.match(failed, /^QUERY_PARAM: parameter rows\[10\]: the row source failed .*source broke/);
    assert.equal(await pool.select(`SELECT count() AS c FROM ${table}`), [{ c: 10_000 }]);
    let error: unknown;
    let seen = 0;
    try {
      for await (const _ of pool.stream('SELECT throwIf(number = 200000) AS x FROM system.numbers LIMIT 1000000', {}, { settings: { max_block_size: 1000 } })) seen++;
    } catch (e) {
      error = e;
    }
    assert.instance(error, ClickHouseError);
    assert.is((error as ClickHouseError).serverCode, 395);
    assert.ok(seen <= 200_000, `${seen} rows before the exception`);
    // A value that reads like an exception at the very end (a logged one, selected) is data:
    // on 26.7 compressed it was taken for the server's (ClickHouseError 60).
    const logged = 'Code: 60. DB::Exception: Unknown table expression identifier \'nope\'. (UNKNOWN_TABLE) (version 26.7.2.1)';
    const sql = 'SELECT number AS n, if(number = 1, {e}, \'ok\') AS exception FROM numbers(2)';
    const want = [{ n: 0, exception: 'ok' }, { n: 1, exception: logged }];
    assert.equal(await pool.select(sql, { e: logged }), want);
    const back: Row[] = [];
    for await (const row of pool.stream(sql, { e: logged })) back.push(row);
    assert.equal(back, want);
    // A 26.7 server writes its tagged exception block compressed too: text before the form is data.
    const prefixed = [{ s: `logged: ${logged}` }];
    assert.equal(await pool.select('SELECT {s} AS s', prefixed[0]), prefixed);
    for await (const row of pool.stream('SELECT {s} AS s', prefixed[0])) assert.equal(row, prefixed[0]);
  } finally {
    await app.stop();
  }
});

test('progress :: onProgress is called while a long query runs, with rows read growing', async () => {
  const conn = connect(serverUrls()[0] as string, { timeout: 30_000 });
  try {
    const seen: number[] = [];
    const rows = await conn.select('SELECT count() AS c FROM (SELECT number FROM system.numbers LIMIT 1500) WHERE sleepEachRow(0.001) = 0', {}, {
      settings: { max_block_size: 50 }, onProgress: (p) => seen.push(p.readRows),
    });
    assert.equal(rows, [{ c: 1500 }]);
    assert.ok(seen.length >= 2, `${seen.length} progress calls in a query of over a second`);
    assert.ok(seen.every((n, i) => n > 0 && (i === 0 || n >= (seen[i - 1] as number))), `rows read: ${seen.join(', ')}`);
    // A callback that throws, or is async and rejects, is not the query's failure (the rejection ended the process).
    let calls = 0;
    const again = await conn.select('SELECT count() AS c FROM (SELECT number FROM system.numbers LIMIT 600) WHERE sleepEachRow(0.001) = 0', {}, {
      settings: { max_block_size: 50 }, onProgress: async () => { calls++; await Promise.resolve(); throw new Error('the progress sink broke'); },
    });
    assert.equal(again, [{ c: 600 }]);
    assert.ok(calls >= 1, 'the callback was called');
    // And for a streamed insert, through the same option.
    const table = `it_stream_progress_${suffix}`;
    tables.push(table);
    await sql(0, `CREATE TABLE ${table} (id UInt32) ENGINE = MergeTree ORDER BY id`);
    const sent: number[] = [];
    async function* slow(): AsyncGenerator<Row> {
      for (let id = 0; id < 4_000; id++) {
        if (id % 1_000 === 0) await new Promise((r) => setTimeout(r, 1_100));
        yield { id };
      }
    }
    assert.equal(await conn.insertToTable(table, slow(), { onProgress: (p) => sent.push(p.sentRows) }), { rows: 4_000 });
    assert.ok(sent.length >= 3 && sent.at(-1) === 4_000, `rows sent as the source gave them: ${sent.join(', ')}`);
    assert.ok(sent.every((n, i) => i === 0 || n >= (sent[i - 1] as number)));
  } finally {
    await conn.close();
  }
});

test.run();
