// The async writer against the real replicated cluster: rows keep coming while every server
// is down, or while one is killed with SIGKILL mid-insert, and each row ends up exactly once
// on every replica (a retried batch is the same bytes, so ReplicatedMergeTree drops the copy).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Client } from 'undici';
import { encodeRow } from '../../src/clickhouse/encode.js';
import { TransportError } from '../../src/clickhouse/errors.js';
import { parseConnectionString } from '../../src/clickhouse/connection-string.js';
import { perform } from '../../src/clickhouse/perform.js';
import type { PreparedRequest, Row } from '../../src/clickhouse/types.js';
import { realClock } from '../../src/otp/clock.js';
import { startSupervisor } from '../../src/otp/index.js';
import type { Supervisor } from '../../src/otp/types.js';
import { NoServerAvailableError } from '../../src/pool/errors.js';
import { createWriter, type Writer } from '../../src/pool/writer.js';
import { clusterInfo, killServer, serverUrls, startServer, stopServer } from './cluster.js';

const test = suite('writer-replicated');
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
  stats(): ReturnType<Writer['stats']>;
  dead: { code: string; rows: number }[];
  stop(): Promise<void>;
}

/** The writer over `perform`, one undici Client per server, trying the next server when a request provably never left. */
async function target(batchSize = 250): Promise<Target> {
  const configs = serverUrls().map(parseConnectionString);
  const clients = configs.map((c) => new Client(c.origin, { keepAliveTimeout: 4_000 }));
  let cursor = 0;
  const run = async (request: PreparedRequest): Promise<void> => {
    for (let tried = 0; tried < configs.length; tried++) {
      const i = cursor++ % configs.length;
      try {
        await perform(clients[i] as Client, configs[i] as ReturnType<typeof parseConnectionString>, request, { timeout: 5_000, int64: 'auto' });
        return;
      } catch (error) {
        if (error instanceof TransportError && !error.requestSent) continue;
        throw error;
      }
    }
    throw new NoServerAvailableError(configs.length);
  };
  const dead: Target['dead'] = [];
  const writer = createWriter({
    id: 'writer',
    clock: realClock,
    run,
    options: {
      mailbox: 100_000, batchSize, flushInterval: 100, overflow: 'drop_newest', retries: 5,
      backoff: { initial: 50, max: 500 },
      onError: (error, rows) => dead.push({ code: (error as { code?: string }).code ?? error.message, rows: rows.length }),
    },
  });
  const app: Supervisor = await startSupervisor([writer.spec]);
  return {
    asyncInsertToTable: (table, row) => writer.enqueueRows(table, [row], [encodeRow(row)]),
    flush: () => writer.flush(),
    stats: () => writer.stats(),
    dead,
    stop: async () => {
      await app.stop();
      await Promise.all(clients.map((c) => c.close()));
    },
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

test('outage :: every server stopped while rows keep coming: all rows land once when they return', async () => {
  const table = `writer_outage_${suffix}`;
  await createTable(table);
  const t = await target();
  try {
    await burst(t, table, 0, 1000, 500);
    for (const i of servers()) await stopServer(i);
    await burst(t, table, 1000, 2000, 1000);
    const waiting = t.stats().queued + t.stats().inFlight;
    assert.ok(waiting >= 1000, `the rows sent during the outage wait in the mailbox (${waiting})`);
    for (const i of servers()) await startServer(i);
    await burst(t, table, 2000, 3000, 500);
    await t.flush();
    assert.equal(t.dead, []);
    assert.is(t.stats().written, 3000);
    assert.equal(await counts(table), ['3000\t3000\t0\t2999', '3000\t3000\t0\t2999', '3000\t3000\t0\t2999']);
  } finally {
    await t.stop();
  }
});

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

test('kill :: SIGKILL of one server in the middle of an insert: every row exactly once on every replica', async () => {
  const table = `writer_kill_${suffix}`;
  await createTable(table);
  const t = await target(4000);
  try {
    const total = 40_000;
    const rows = burst(t, table, 0, total, 4000, 300);
    const hit = await killMidInsert(1, table, Date.now() + 8_000);
    assert.ok(hit, 'server 1 was killed while it was receiving an insert');
    await pause(500);
    await startServer(1);
    await rows;
    await t.flush();
    assert.equal(t.dead, []);
    assert.is(t.stats().written, total);
    const expected = `${total}\t${total}\t0\t${total - 1}`;
    assert.equal(await counts(table), [expected, expected, expected]);
  } finally {
    await t.stop();
  }
});

test.after(async () => {
  for (const table of tables) {
    for (const i of servers()) await sql(i, `DROP TABLE IF EXISTS ${table}`).catch(() => undefined);
  }
});

test.run();
