// The async writer against the real replicated cluster: rows keep coming while one server
// is killed with SIGKILL mid-insert, and each row ends up exactly once
// on every replica (a retried batch is the same bytes, so ReplicatedMergeTree drops the copy).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Row } from '../../src/clickhouse/types.js';
import { startSupervisor } from '../../src/otp/index.js';
import type { Supervisor } from '../../src/otp/types.js';
import { TransportError } from '../../src/clickhouse/errors.js';
import { perform } from '../../src/clickhouse/perform.js';
import { defaultIO, type ConnectionIO } from '../../src/pool/connection/io.js';
import { definePoolWith } from '../../src/pool/define-pool.js';
import type { WriterStats } from '../../src/pool/writer/writer.js';
import { clusterInfo, killServer, needsReplication, serverUrls, startServer } from './cluster.js';

const test = suite('writer-replicated');
const replicatedTest = needsReplication(test);
const suffix = `${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 7)}`;
const tables: string[] = [];
const servers = () => clusterInfo().servers.map((_, i) => i);
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function sql(i: number, text: string, timeoutMs = 60_000): Promise<string> {
  const port = clusterInfo().servers[i]?.httpPort;
  const res = await fetch(`http://127.0.0.1:${port}/`, { method: 'POST', body: text, signal: AbortSignal.timeout(timeoutMs) });
  const body = await res.text();
  if (res.status !== 200) throw new Error(`server ${i}: HTTP ${res.status}: ${body}`);
  return body;
}

async function createTable(name: string): Promise<void> {
  tables.push(name);
  for (const i of servers()) {
    await sql(i, `CREATE TABLE ${name} (id UInt32, note String) ` +
      `ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/${name}', '{replica}') ORDER BY id`);
  }
}

/** count() and uniqExact(id) on each replica, after it caught up with the log. */
async function counts(name: string): Promise<string[]> {
  const out: string[] = [];
  for (const i of servers()) {
    await sql(i, `SYSTEM SYNC REPLICA ${name}`);
    out.push((await sql(i, `SELECT count(), uniqExact(id), min(id), max(id) FROM ${name} FORMAT TSV`)).trim());
  }
  return out;
}

interface Target {
  asyncInsertToTable(table: string, row: Row): void;
  flush(): Promise<void>;
  stats(): WriterStats;
  dead: { code: string; rows: number }[];
  stop(): Promise<void>;
}

/** A real pool over the three servers; its async calls go through the writer. */
async function target(batchSize = 250, io: Partial<ConnectionIO> = {}, flushInterval = 100): Promise<Target> {
  const dead: Target['dead'] = [];
  const pool = definePoolWith({
    connectionStrings: serverUrls(),
    name: `writer-it-${Math.random().toString(36).slice(2, 8)}`,
    poolSize: 3,
    asyncMailbox: 100_000,
    asyncBatchSize: batchSize,
    asyncFlushInterval: flushInterval,
    asyncRetries: 5,
    backoff: { initial: 50, max: 500 },
    onError: (error, rows) => dead.push({ code: (error as { code?: string }).code ?? error.message, rows: rows.length }),
  }, { ...defaultIO({ timeout: 5_000, int64: 'auto' }), ...io });
  const app: Supervisor = await startSupervisor([pool]);
  return {
    asyncInsertToTable: (table, row) => pool.asyncInsertToTable(table, row),
    flush: () => pool.flush(),
    stats: () => pool.stats().writer,
    dead,
    stop: () => app.stop(),
  };
}

/** Enqueues rows `from`..`to` (exclusive) over about `ms` milliseconds, in ticks of 25 ms. */
async function burst(t: Target, table: string, from: number, to: number, ms: number, pad = 0): Promise<void> {
  const ticks = Math.max(1, Math.round(ms / 25));
  const perTick = Math.ceil((to - from) / ticks);
  const filler = 'x'.repeat(pad);
  for (let id = from; id < to;) {
    for (let k = 0; k < perTick && id < to; k++, id++) t.asyncInsertToTable(table, { id, note: `row ${id}${filler}` });
    await pause(25);
  }
}

/** Polls server i until it is running an INSERT into `table`, then SIGKILLs it; false if none was seen in time. */
async function killMidInsert(i: number, table: string, deadline: number): Promise<boolean> {
  while (Date.now() < deadline) {
    const running = await sql(i, `SELECT count() FROM system.processes WHERE query LIKE 'INSERT INTO \`${table}\`%'`, 2_000).catch(() => '0');
    if (Number(running) > 0) {
      await killServer(i);
      return true;
    }
    await pause(2);
  }
  return false;
}

replicatedTest('kill :: SIGKILL of one server in the middle of an insert: every row exactly once on every replica', async () => {
  const table = `writer_kill_${suffix}`;
  await createTable(table);
  const t = await target(4000);
  let produced = 0;
  let producing = true;
  const filler = 'x'.repeat(300);
  const producer = (async () => {
    while (producing && produced < 200_000) {
      for (let k = 0; k < 250; k++, produced++) t.asyncInsertToTable(table, { id: produced, note: `row ${produced}${filler}` });
      await pause(25);
    }
  })();
  try {
    // An insert that completes just before the kill is not cut: try again, a bounded number of times.
    let kills = 0;
    for (let round = 0; round < 4 && t.stats().retried === 0; round++) {
      if (await killMidInsert(1, table, Date.now() + 8_000)) kills++;
      await pause(500);
      await startServer(1);
    }
    producing = false;
    await producer;
    await t.flush();
    assert.ok(kills >= 1, 'server 1 was killed while it was receiving an insert');
    assert.ok(t.stats().retried >= 1, 'an insert cut by the kill was sent again');
    assert.equal(t.dead, []);
    assert.is(t.stats().written, produced);
    const expected = `${produced}\t${produced}\t0\t${produced - 1}`;
    assert.equal(await counts(table), [expected, expected, expected]);
  } finally {
    // The producer must end before the pool does, or its next call throws POOL_NOT_STARTED
    // outside any test.
    producing = false;
    await producer;
    await t.stop();
  }
});

/** A perform whose first answer to each insert is "lost", as when a server dies right after writing. */
function losingFirstAnswers(answered: Set<string>): Partial<ConnectionIO> {
  return {
    perform: async (transport, server, request) => {
      const result = await perform(transport, server, request, { timeout: 5_000, int64: 'auto' });
      if (request.type === 'insert_to_table' && !answered.has(request.body)) {
        answered.add(request.body);
        throw new TransportError('socket closed before the response', true);
      }
      return result;
    },
  };
}

replicatedTest('dedup :: a batch that landed but whose answer was lost is looked up by its query id, found stored, not sent again', async () => {
  const table = `writer_lookup_${suffix}`;
  await createTable(table);
  const answered = new Set<string>();
  const t = await target(100, losingFirstAnswers(answered));
  try {
    await burst(t, table, 0, 1000, 300);
    await t.flush();
    assert.ok(answered.size >= 10, `every batch lost its first answer (${answered.size})`);
    assert.is(t.stats().retried, 0, 'nothing was sent twice: each server said it had finished');
    assert.equal(t.dead, []);
    assert.equal(await counts(table), ['1000\t1000\t0\t999', '1000\t1000\t0\t999', '1000\t1000\t0\t999']);
  } finally {
    await t.stop();
  }
});

replicatedTest('dedup :: when the server cannot say, a batch whose answer was lost is sent again and stored once', async () => {
  const table = `writer_dedup_${suffix}`;
  await createTable(table);
  const answered = new Set<string>();
  const t = await target(100, {
    ...losingFirstAnswers(answered),
    outcome: async () => {
      throw new TransportError('the server does not answer the question', true);
    },
  });
  try {
    await burst(t, table, 0, 1000, 300);
    await t.flush();
    assert.ok(t.stats().retried >= 10, `every batch was sent twice (${t.stats().retried} retries)`);
    assert.equal(t.dead, []);
    assert.equal(await counts(table), ['1000\t1000\t0\t999', '1000\t1000\t0\t999', '1000\t1000\t0\t999']);
  } finally {
    await t.stop();
  }
});

replicatedTest('stop :: app.stop() writes what is still queued before it returns', async () => {
  const table = `writer_stop_${suffix}`;
  await createTable(table);
  const t = await target(10_000, {}, 60_000);
  try {
    await burst(t, table, 0, 500, 100);
    await pause(200);
    assert.is(t.stats().queued, 500, 'the rows wait in an open batch');
    await t.stop();
    assert.equal(t.dead, []);
    assert.equal(await counts(table), ['500\t500\t0\t499', '500\t500\t0\t499', '500\t500\t0\t499']);
  } finally {
    await t.stop(); // idempotent
  }
});

test.after(async () => {
  for (const table of tables) {
    for (const i of servers()) await sql(i, `DROP TABLE IF EXISTS ${table}`).catch(() => undefined);
  }
});

test.run();
