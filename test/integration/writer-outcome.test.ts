// A write whose outcome is unknown is never silently repeated (issue 11, item 1), on the
// real cluster: an insert whose answer always comes after its timeout, a server frozen while
// it holds an insert (plain MergeTree: reported as unknown; ReplicatedMergeTree: repeated
// elsewhere and deduplicated), and a statement whose answer is lost.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { definePool, startSupervisor, type ClickHousePool, type PoolOptions, type Row } from '../../src/index.js';
import { startFaultProxy } from '../support/fault-proxy.js';
import { freezeServer, resumeServer, serverUrls, needsReplication, TEST_ENGINE } from './cluster.js';
import { allServers, sql, until } from './helpers.js';

const test = suite('writer-outcome');
const suffix = `${Date.now().toString(36)}_${process.pid}`;
const tables: string[] = [];

async function plainTable(name: string): Promise<void> {
  tables.push(name);
  await sql(0, `CREATE TABLE ${name} (id UInt32) ENGINE = MergeTree ORDER BY id`);
}

async function replicatedTable(name: string): Promise<void> {
  tables.push(name);
  for (const i of allServers()) {
    await sql(i, `CREATE TABLE ${name} (id UInt32) ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/${name}', '{replica}') ORDER BY id`);
  }
}

/** How many times server `i` started an INSERT into `table` (query_log, QueryStart). */
async function sends(i: number, table: string): Promise<number> {
  await sql(i, 'SYSTEM FLUSH LOGS');
  return Number(await sql(i, `SELECT count() FROM system.query_log WHERE type = 1 AND query LIKE 'INSERT INTO \`${table}\`%'`));
}

const counts = async (i: number, table: string): Promise<string> =>
  (await sql(i, `SELECT count(), uniqExact(id) FROM ${table} FORMAT TSV`)).trim();

interface Dead {
  code: string;
  rows: readonly Row[];
  message: string;
}

/** A started pool whose onError collects into `dead`. */
async function started(options: Omit<PoolOptions, 'onError'>) {
  const dead: Dead[] = [];
  const pool = definePool({ ...options, onError: (e, rows) => dead.push({ code: (e as { code?: string }).code ?? '', rows, message: e.message }) });
  const app = await startSupervisor([pool]);
  return { pool, app, dead };
}

/** Waits for `flush()`, failing the test when it does not settle within `ms`. */
async function flushed(pool: { flush(): Promise<void> }, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`flush() did not settle in ${ms / 1000} s`)), ms)));
  try {
    await Promise.race([pool.flush(), late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Resolves once server `i` answers plain SQL again (after a resume). */
const answers = (i: number) => until(`server ${i} answers again`, async () => (await sql(i, 'SELECT 1').catch(() => '')).trim() === '1', 15_000, 100);

/**
 * Freezes server 0 (SIGSTOP), hands the writer 20 rows for `table` and waits for `flush()`
 * to settle while it is frozen; returns the resume, which `finally` must call.
 */
async function insertWhileFrozen(pool: ClickHousePool, table: string, ms: number): Promise<() => Promise<void>> {
  await pool.select('SELECT 1');
  await freezeServer(0);
  let frozen = true;
  const resume = async (): Promise<void> => {
    if (!frozen) return;
    frozen = false;
    await resumeServer(0);
    await answers(0);
  };
  try {
    for (let id = 0; id < 20; id++) pool.asyncInsertToTable(table, { id });
    await flushed(pool, ms);
  } catch (error) {
    await resume();
    throw error;
  }
  return resume;
}

test.after(async () => {
  for (const t of tables) for (const i of allServers()) await sql(i, `DROP TABLE IF EXISTS ${t}`).catch(() => undefined);
});

test('unknown :: an insert whose answer always comes after its timeout is stored once, sent once, and reported as written', async () => {
  const table = `it_outcome_late_${suffix}`;
  await plainTable(table);
  // The server stores at once; its answers (every one, also to the questions after) come 1.2 s late.
  const proxy = await startFaultProxy({ target: serverUrls()[0] as string, mode: { mode: 'latency', ms: 1_200, firstByteOnly: true } });
  const { pool, app, dead } = await started({
    connectionStrings: [proxy.url()], name: `it-outcome-late-${process.pid}`, poolSize: 2, timeout: 800, asyncRetries: 2,
    asyncFlushInterval: 50,
  });
  try {
    for (let id = 0; id < 20; id++) pool.asyncInsertToTable(table, { id });
    const t0 = Date.now();
    await flushed(pool, 30_000);
    assert.ok(Date.now() - t0 < 30_000);
    assert.equal(dead, [], 'nothing reported: the server said it finished');
    assert.is(pool.stats().writer.written, 20);
    // Before: re-sent on every timeout, without limit, each copy stored.
    assert.is(await counts(0, table), '20\t20', 'every row stored once');
    assert.is(await sends(0, table), 1, 'sent once');
  } finally {
    await app.stop();
    await proxy.close();
  }
});

test('unknown :: a server frozen while it holds an insert into a plain MergeTree: rows reported as WRITE_OUTCOME_UNKNOWN, never sent again', async () => {
  const table = `it_outcome_frozen_${suffix}`;
  await plainTable(table);
  const { pool, app, dead } = await started({
    connectionStrings: serverUrls().slice(0, 1), name: `it-outcome-frozen-${process.pid}`, poolSize: 2, timeout: 500, asyncRetries: 2,
    asyncFlushInterval: 50,
  });
  let resume = async (): Promise<void> => undefined;
  try {
    // Before: timed out, re-sent without limit while frozen; flush() waited for the resume.
    resume = await insertWhileFrozen(pool, table, 30_000);
    assert.equal(dead.map((d) => [d.code, d.rows.length]), [['WRITE_OUTCOME_UNKNOWN', 20]]);
    assert.match(dead[0]!.message, /could not say whether it was stored/);
    assert.is(pool.stats().writer.retried, 0, 'the client sent it once and never again');
    // The held insert may land now; it is the only copy there will ever be. A loaded server
    // can answer new requests before it reads the held one, so its log is given a moment.
    await resume();
    let started = 0;
    await until('the resumed server ran the held insert', async () => (started = await sends(0, table)) >= 1, 5_000, 250).catch(() => undefined);
    assert.ok(started <= 1, `the server started the insert at most once, not ${started} times`);
    if (started === 1) await until('the held insert finished', async () => (await sql(0, `SELECT count() FROM system.processes WHERE query LIKE 'INSERT INTO \`${table}\`%'`)).trim() === '0', 10_000, 100);
    const [count, unique] = (await counts(0, table)).split('\t').map(Number);
    assert.ok(count === unique && (count === 0 || count === 20), `stored at most once: ${count} rows, ${unique} distinct`);
    if (count === 20) assert.is(started, 1, 'rows stored come from the one send');
  } finally {
    await resume();
    await app.stop();
  }
});

needsReplication(test)('unknown :: frozen with an insert into a ReplicatedMergeTree: repeated on another replica, stored exactly once', async () => {
  const table = `it_outcome_repl_${suffix}`;
  await replicatedTable(table);
  const { pool, app, dead } = await started({
    connectionStrings: serverUrls().slice(0, 2), name: `it-outcome-repl-${process.pid}`, poolSize: 2, timeout: 500, asyncRetries: 4,
    balance: 'in_order', backoff: { initial: 100, max: 500 },
    asyncFlushInterval: 50,
  });
  let resume = async (): Promise<void> => undefined;
  try {
    resume = await insertWhileFrozen(pool, table, 45_000);
    assert.equal(dead, [], 'nothing reported: the table drops a repeated block');
    assert.is(pool.stats().writer.written, 20);
    await resume();
    for (const i of [0, 1]) {
      await sql(i, `SYSTEM SYNC REPLICA ${table}`);
      assert.is(await counts(i, table), '20\t20', `replica ${i}: every row once, the held copy deduplicated`);
    }
  } finally {
    await resume();
    await app.stop();
  }
});

test('unknown :: a batch of two column sets whose first answer is lost: both sets stored once, DEFAULTs kept', async () => {
  const table = `it_outcome_sets_${suffix}`;
  tables.push(table);
  await sql(0, `CREATE TABLE ${table} (id UInt32, note String DEFAULT 'dflt') ENGINE = MergeTree ORDER BY id`);
  const proxy = await startFaultProxy({ target: serverUrls()[0] as string, mode: { mode: 'pass' } });
  const { pool, app, dead } = await started({
    connectionStrings: [proxy.url()], name: `it-outcome-sets-${process.pid}`, poolSize: 1, timeout: 800, asyncRetries: 3,
    asyncFlushInterval: 50,
  });
  // The first lost answer ends the fault: what is sent after it gets its answer.
  const sends: string[] = [];
  pool.events.on('writer:batch', (e) => {
    sends.push(`${e.rows} ${e.outcome}`);
    if (e.rows === 20) proxy.setMode({ mode: 'pass' });
  });
  try {
    // Known by now: the server's version (so no question goes before the insert).
    pool.asyncInsertToTable(table, [{ id: 100 }, { id: 101, note: 'warm' }]);
    await flushed(pool, 15_000);
    // Answers 1.2 s late, a timeout of 0.8 s. Rows of two column sets are a statement per
    // set on 18.16: the first set's statement is stored, its answer lost.
    proxy.setMode({ mode: 'latency', ms: 1_200, firstByteOnly: true });
    for (let id = 0; id < 10; id++) pool.asyncInsertToTable(table, { id });
    for (let id = 10; id < 20; id++) pool.asyncInsertToTable(table, { id, note: 'given' });
    await flushed(pool, 45_000);
    assert.equal(dead.map((d) => d.message), [], 'nothing reported');
    // Before: the first statement's id was looked up; it had finished, so the batch counted
    // as stored and the second set was never sent.
    assert.is(await counts(0, table), '22\t22', 'every row stored once');
    assert.is((await sql(0, `SELECT note, count() FROM ${table} GROUP BY note ORDER BY note FORMAT TSV`)).trim(), 'dflt\t11\ngiven\t10\nwarm\t1');
    assert.is(pool.stats().writer.written, 22);
    // 18.16: the first set's statement was found stored, the second's rows go again (an error
    // for this send); 20.1+: one statement, found stored, so the send is told as ok (before: error).
    assert.is(sends[1], TEST_ENGINE === 'modern' ? '20 ok' : '20 error', `the batch lost its answer once: ${sends.join(', ')}`);
  } finally {
    await app.stop();
    await proxy.close();
  }
});

test('refused :: a batch whose second column set the client refuses: only the refused row is reported, as given; the other is stored', async () => {
  const table = `it_outcome_refused_${suffix}`;
  tables.push(table);
  await sql(0, `CREATE TABLE ${table} (id UInt32, d Decimal(9, 2) DEFAULT 1, n Nested(a UInt8, b String)) ENGINE = MergeTree ORDER BY id`);
  const { pool, app, dead } = await started({
    connectionStrings: serverUrls().slice(0, 1), name: `it-outcome-refused-${process.pid}`, poolSize: 1, asyncFlushInterval: 50,
  });
  try {
    await pool.select('SELECT 1');
    // Two column sets: two statements on 18.16 (the first stored before the second is
    // encoded); one on 20.1+, refused before anything is sent. Either way the refused row
    // goes to onError alone and the other is stored.
    pool.asyncInsertToTable(table, [{ id: 1, n: { a: [1], b: ['x'] } }, { id: 2, d: 'not a decimal', n: { a: [2], b: ['y'] } }]);
    await flushed(pool, 15_000);
    assert.is((await counts(0, table)).split('\t')[0], '1');
    assert.equal(dead.map((d) => d.code), ['QUERY_PARAM']);
    assert.match(dead[0]?.message ?? '', /^parameter d: "not a decimal"/, 'the refusal names the column (the row\'s place in the batch means nothing to the caller)');
    // Before: on 18.16 both rows were reported although the first was stored; on 20.1+ both were reported and neither stored.
    assert.equal(dead[0]?.rows, [{ id: 2, d: 'not a decimal', n: { a: [2], b: ['y'] } }], 'only the refused row, as given, not flattened');
    assert.equal([pool.stats().writer.written, pool.stats().writer.failed], [1, 1]);
  } finally {
    await app.stop();
  }
});

test('unknown :: an asyncQuery statement whose answer is lost is looked up, not repeated', async () => {
  const table = `it_outcome_stmt_${suffix}`;
  await plainTable(table);
  const proxy = await startFaultProxy({ target: serverUrls()[0] as string, mode: { mode: 'latency', ms: 1_200, firstByteOnly: true } });
  const { pool, app, dead } = await started({
    connectionStrings: [proxy.url()], name: `it-outcome-stmt-${process.pid}`, poolSize: 1, timeout: 800, asyncRetries: 3,
  });
  try {
    pool.asyncQuery(`INSERT INTO \`${table}\` SELECT number FROM system.numbers LIMIT 5`);
    await flushed(pool, 30_000);
    assert.equal(dead, []);
    assert.is(await counts(0, table), '5\t5', 'run once');
    assert.is(await sends(0, table), 1);
  } finally {
    await app.stop();
    await proxy.close();
  }
});

test.run();
