// The async writer on both engines: an outage of every server while rows keep coming (all
// rows land exactly once when the servers return), and what a modern server is told about
// each batch: async_insert=0 (or its own async inserts when the pool asks), and a
// deduplication token that makes a repeated block a no-op even when its bytes differ.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { connect, definePool, startSupervisor, type ClickHousePool, type Connection } from '../../src/index.js';
import type { Supervisor } from '../../src/otp.js';
import { engines, type Engine } from './engines.js';
import { pause } from './helpers.js';

const suffix = `${process.pid}_${Date.now().toString(36)}`;
const { available, missing } = engines();
for (const m of missing) console.log(`writer-engines [${m.name}] :: SKIPPED, did not run: ${m.why}`);

async function each(engine: Engine, text: string): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < engine.size; i++) out.push((await engine.sql(i, text)).trim());
  return out;
}

/** A table on every server: replicated on 18.16; on the modern standalone servers a MergeTree that remembers the last 1000 blocks. */
async function createTable(engine: Engine, name: string): Promise<void> {
  const ddl = engine.replicated
    ? `CREATE TABLE ${name} (id UInt32, note String) ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/${name}', '{replica}') ORDER BY id`
    : `CREATE TABLE ${name} (id UInt32, note String) ENGINE = MergeTree ORDER BY id SETTINGS non_replicated_deduplication_window = 1000`;
  await each(engine, ddl);
}

/** count, uniqExact, min and max of ids: per replica on 18.16 (each holds all rows), over all servers on modern (each holds its share). */
async function stored(engine: Engine, name: string): Promise<string[]> {
  if (engine.replicated) {
    await each(engine, `SYSTEM SYNC REPLICA ${name}`);
    return each(engine, `SELECT count(), uniqExact(id), min(id), max(id) FROM ${name} FORMAT TSV`);
  }
  const ids: number[] = [];
  for (const text of await each(engine, `SELECT id FROM ${name} FORMAT TSV`)) if (text) ids.push(...text.split('\n').map(Number));
  return [`${ids.length}\t${new Set(ids).size}\t${Math.min(...ids)}\t${Math.max(...ids)}`];
}

function engineSuite(engine: Engine): void {
  const test = suite(`writer-engines [${engine.name}]`);
  const tables: string[] = [];
  const opened: Connection[] = [];
  const table = (what: string): string => {
    const name = `writer_${what}_${engine.name === 'modern' ? 'm' : 'l'}_${suffix}`;
    tables.push(name);
    return name;
  };

  test.after(async () => {
    await engine.restore();
    for (const name of tables) await each(engine, `DROP TABLE IF EXISTS ${name}`).catch(() => undefined);
    await Promise.all(opened.map((c) => c.close()));
  });

  test('outage :: every server stopped while rows keep coming: all rows land exactly once when they return', async () => {
    const name = table('outage');
    await createTable(engine, name);
    const dead: string[] = [];
    const pool = definePool({
      connectionStrings: engine.urls({ user: 'colonnade' }), name: `writer-engines-${engine.name}-${suffix}`, poolSize: 3,
      asyncBatchSize: 250, asyncFlushInterval: 100, backoff: { initial: 50, max: 500 },
      onError: (error, rows) => dead.push(`${(error as { code?: string }).code ?? error.message}: ${rows.length}`),
    });
    const app = await startSupervisor([pool]);
    const burst = async (from: number, to: number, ms: number): Promise<void> => {
      const ticks = Math.max(1, Math.round(ms / 25));
      const perTick = Math.ceil((to - from) / ticks);
      for (let id = from; id < to;) {
        for (let k = 0; k < perTick && id < to; k++, id++) pool.asyncInsertToTable(name, { id, note: `row ${id}` });
        await pause(25);
      }
    };
    try {
      await burst(0, 1000, 500);
      await pool.flush();
      for (let i = 0; i < engine.size; i++) await engine.stopServer(i);
      await burst(1000, 2000, 1000);
      const w = pool.stats().writer;
      assert.ok(w.queued + w.inFlight >= 1000, `the rows sent during the outage wait in the mailbox (${JSON.stringify(w)})`);
      for (let i = 0; i < engine.size; i++) await engine.startServer(i);
      await burst(2000, 3000, 500);
      await pool.flush();
      assert.equal(dead, [], 'nothing was dead-lettered');
      assert.is(pool.stats().writer.written, 3000);
      const expected = '3000\t3000\t0\t2999';
      assert.equal(await stored(engine, name), engine.replicated ? Array(engine.size).fill(expected) : [expected]);
    } finally {
      await app.stop();
    }
  });

  if (engine.name !== 'modern') return void test.run();

  const open = (): Connection => {
    const conn = connect(engine.urls({ user: 'colonnade' })[0]!, { timeout: 10_000 });
    opened.push(conn);
    return conn;
  };

  /** The settings server 0 logged for the inserts into `name` (system.query_log). */
  // The log keeps only settings that differ from the server's defaults (async_insert=1 is 26.x's own).
  async function loggedSettings(name: string): Promise<Array<{ async: string; dedup: string; token: string }>> {
    await engine.sql(0, 'SYSTEM FLUSH LOGS');
    const text = await engine.sql(0, "SELECT Settings['async_insert'], Settings['async_insert_deduplicate'], Settings['insert_deduplication_token'] " +
      `FROM system.query_log WHERE type = 'QueryFinish' AND query_kind = 'Insert' AND has(tables, 'default.${name}') ORDER BY event_time_microseconds FORMAT TSV`);
    return text.split('\n').filter((line) => line !== '').map((line) => {
      const [async = '', dedup = '', token = ''] = line.split('\t');
      return { async, dedup, token };
    });
  }

  async function poolOnServer0(options: { serverAsyncInsert?: boolean }): Promise<{ pool: ClickHousePool; app: Supervisor }> {
    const pool = definePool({
      connectionStrings: [engine.urls({ user: 'colonnade' })[0]!], name: `writer-settings-${suffix}-${Math.random().toString(36).slice(2, 6)}`,
      poolSize: 2, asyncBatchSize: 10, asyncFlushInterval: 50, ...options,
    });
    return { pool, app: await startSupervisor([pool]) };
  }

  test('settings :: each writer batch is sent with async_insert=0 and a deduplication token of its own (26.x buffers inserts by default)', async () => {
    const name = table('settings');
    await createTable(engine, name);
    const { pool, app } = await poolOnServer0({});
    try {
      for (let id = 0; id < 30; id++) pool.asyncInsertToTable(name, { id, note: 'x' });
      await pool.flush();
    } finally {
      await app.stop();
    }
    const logged = await loggedSettings(name);
    assert.is(logged.length, 3, `three batches of 10: ${JSON.stringify(logged)}`);
    assert.ok(logged.every((l) => l.async === '0'), JSON.stringify(logged));
    assert.is(new Set(logged.map((l) => l.token)).size, 3, 'one token per batch');
    assert.ok(logged.every((l) => l.token.length > 0));
  });

  test('serverAsyncInsert :: with the option the batches use the server\'s own async inserts, and still land', async () => {
    const name = table('server_async');
    await createTable(engine, name);
    const { pool, app } = await poolOnServer0({ serverAsyncInsert: true });
    try {
      for (let id = 0; id < 20; id++) pool.asyncInsertToTable(name, { id, note: 'x' });
      await pool.flush();
    } finally {
      await app.stop();
    }
    assert.is((await engine.sql(0, `SELECT count() FROM ${name}`)).trim(), '20', 'written by the time flush() resolved (wait_for_async_insert=1)');
    const logged = await loggedSettings(name);
    // async_insert left at 26.x's default (1), and the deduplication that server-side async inserts skip unless asked.
    assert.ok(logged.length >= 1 && logged.every((l) => l.async === '' && l.dedup === '1' && l.token !== ''), JSON.stringify(logged));
  });

  test('deduplicationToken :: a block sent again with the same token is stored once, even when its bytes differ; other blocks are not', async () => {
    const name = table('token');
    await createTable(engine, name);
    const conn = open();
    await conn.insertToTable(name, [{ id: 1, note: 'first' }], { deduplicationToken: 'batch-1' });
    await conn.insertToTable(name, [{ id: 1, note: 'first, again' }], { deduplicationToken: 'batch-1' });
    assert.is((await engine.sql(0, `SELECT count() FROM ${name}`)).trim(), '1', 'the repeat with the same token was dropped');
    await conn.insertToTable(name, [{ id: 2, note: 'a' }], { asyncInsert: false });
    await conn.insertToTable(name, [{ id: 2, note: 'b' }], { asyncInsert: false });
    await conn.insertToTable(name, [{ id: 3, note: 'other token' }], { deduplicationToken: 'batch-2' });
    assert.is((await engine.sql(0, `SELECT count() FROM ${name}`)).trim(), '4', 'two different blocks without a token are two blocks; another token is another block');
  });

  test.run();
}

for (const engine of available) engineSuite(engine);
