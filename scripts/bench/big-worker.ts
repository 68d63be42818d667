// One cell of the big-work benchmark (issue 13) in a process of its own, so that its CPU time
// and its peak RSS are its alone: a select of N rows into an array, a stream of N rows, or an
// insert of N rows, by one contender. Forked by scripts/bench-big.ts with the task as JSON in
// BENCH_TASK; sends one report and exits.
import { createClient } from '@clickhouse/client';
import { Pool } from 'undici';
import type { Row } from '../../src/index.js';
import { loadColonnade } from './bundle.js';
import { headersOf, target } from './clients.js';

/** What to do. */
export interface BigTask {
  readonly op: 'select' | 'stream' | 'insert' | 'async-insert';
  readonly contender: BigContender;
  readonly url: string;
  readonly table: string;
  readonly rows: number;
  readonly colonnade: string;
}

export type BigContender =
  | 'colonnade connect()' | 'colonnade pool' | 'colonnade connect() async iterable' | 'colonnade pool async iterable' | 'colonnade connect() gzip'
  | '@clickhouse/client json()' | '@clickhouse/client stream()' | '@clickhouse/client insert' | 'raw undici';

/** What one cell measured. */
export interface BigReport {
  readonly seconds: number;
  readonly cpuSeconds: number;
  readonly peakRssMb: number;
  /** For reads: count, sum of u64, total length of s: the same for every contender. */
  readonly checksum: string;
  readonly error?: string;
}

export const BIG_COLUMNS = 'u64 UInt64, i32 Int32, f64 Float64, s String, dt DateTime, ns Nullable(String), arr Array(UInt32), e Enum8(\'a\' = 1, \'b\' = 2, \'c\' = 3)';
const SELECT = (table: string, rows: number): string => `SELECT u64, i32, f64, s, dt, ns, arr, e FROM ${table} ORDER BY u64 LIMIT ${rows}`;
const ENUM = ['a', 'b', 'c'];

/** Row `i` of the insert, as colonnade takes it (a Date for the DateTime). */
export const bigRow = (i: number): Row => ({
  u64: i, i32: (i % 100_000) - 50_000, f64: i / 3, s: `name-${i}`, dt: new Date((1_600_000_000 + i) * 1000),
  ns: i % 5 === 0 ? null : String(i % 1000), arr: [i % 10, i % 7], e: ENUM[i % 3],
});
// The same row with the DateTime as unix seconds, for clients that send JSON as it is.
const plainRow = (i: number): Row => ({ ...bigRow(i), dt: 1_600_000_000 + i });

class Sum {
  count = 0;
  u64 = 0n;
  chars = 0;
  add(u64: unknown, s: unknown): void {
    this.count++;
    this.u64 += BigInt(u64 as number | string | bigint);
    this.chars += String(s).length;
  }
  toString(): string {
    return `${this.count}/${this.u64}/${this.chars}`;
  }
}

async function selectArray(task: BigTask): Promise<string> {
  const sum = new Sum();
  const sql = SELECT(task.table, task.rows);
  let rows: readonly Row[];
  switch (task.contender) {
    case 'colonnade connect()': {
      const { connect } = await loadColonnade(task.colonnade);
      const conn = connect(task.url, { timeout: 300_000, maxResultBytes: 536_870_888 });
      rows = await timed(() => conn.select(sql));
      await conn.close();
      break;
    }
    case 'colonnade pool': {
      const { definePool } = await loadColonnade(task.colonnade);
      const pool = definePool({ connectionStrings: [task.url], name: 'bench-big', poolSize: 1, timeout: 300_000, maxResultBytes: 536_870_888 });
      await pool.start();
      rows = await timed(() => pool.select(sql));
      await pool.stop();
      break;
    }
    case '@clickhouse/client json()': {
      const t = target(task.url);
      const client = createClient({ url: t.origin, database: t.database, username: t.username, password: t.password, request_timeout: 300_000 });
      rows = await timed(async () => (await client.query({ query: sql, format: 'JSONEachRow' })).json<Row>());
      await client.close();
      break;
    }
    case 'raw undici': {
      const t = target(task.url);
      const pool = new Pool(t.origin, { connections: 1 });
      rows = await timed(async () => {
        const res = await pool.request({ method: 'POST', path: `/?database=${encodeURIComponent(t.database)}`, headers: headersOf(t), body: `${sql} FORMAT JSONEachRow`, bodyTimeout: 300_000, headersTimeout: 300_000 });
        const text = await res.body.text();
        const out: Row[] = [];
        for (let at = 0; at < text.length;) {
          let end = text.indexOf('\n', at);
          if (end < 0) end = text.length;
          if (end > at) out.push(JSON.parse(text.slice(at, end)) as Row);
          at = end + 1;
        }
        return out;
      });
      await pool.close();
      break;
    }
    default: throw new Error(`no select for ${task.contender}`);
  }
  for (const row of rows) sum.add(row.u64, row.s);
  return sum.toString();
}

async function stream(task: BigTask): Promise<string> {
  const sum = new Sum();
  const sql = SELECT(task.table, task.rows);
  switch (task.contender) {
    case 'colonnade connect()': case 'colonnade connect() gzip': {
      const { connect } = await loadColonnade(task.colonnade);
      const conn = connect(task.url, { timeout: 300_000, ...(task.contender.endsWith('gzip') ? { compression: { response: true } } : {}) });
      await timed(async () => {
        for await (const row of conn.stream(sql)) sum.add(row.u64, row.s);
      });
      await conn.close();
      break;
    }
    case 'colonnade pool': {
      const { definePool } = await loadColonnade(task.colonnade);
      const pool = definePool({ connectionStrings: [task.url], name: 'bench-big', poolSize: 1, timeout: 300_000 });
      await pool.start();
      await timed(async () => {
        for await (const row of pool.stream(sql)) sum.add(row.u64, row.s);
      });
      await pool.stop();
      break;
    }
    case '@clickhouse/client stream()': {
      const t = target(task.url);
      const client = createClient({ url: t.origin, database: t.database, username: t.username, password: t.password, request_timeout: 300_000 });
      await timed(async () => {
        const rs = await client.query({ query: sql, format: 'JSONEachRow' });
        for await (const rows of rs.stream<Row>()) {
          for (const r of rows) {
            const row = r.json();
            sum.add(row.u64, row.s);
          }
        }
      });
      await client.close();
      break;
    }
    default: throw new Error(`no stream for ${task.contender}`);
  }
  return sum.toString();
}

async function* generated(rows: number): AsyncGenerator<Row> {
  for (let i = 0; i < rows; i++) yield bigRow(i);
}

async function insert(task: BigTask): Promise<string> {
  const lazy = task.contender.endsWith('async iterable');
  // Arrays are built before the clock starts: every contender gets the same rows in memory.
  const rows = lazy || task.contender === 'raw undici' ? [] : Array.from({ length: task.rows }, (_, i) => (task.contender.startsWith('colonnade') ? bigRow(i) : plainRow(i)));
  const body = task.contender === 'raw undici' ? `INSERT INTO ${task.table} FORMAT JSONEachRow\n${Array.from({ length: task.rows }, (_, i) => JSON.stringify(plainRow(i))).join('\n')}\n` : '';
  switch (task.contender) {
    case 'colonnade connect()': case 'colonnade connect() async iterable': case 'colonnade connect() gzip': {
      const { connect } = await loadColonnade(task.colonnade);
      const conn = connect(task.url, { timeout: 300_000, ...(task.contender.endsWith('gzip') ? { compression: { request: true } } : {}) });
      await timed(() => conn.insertToTable(task.table, lazy ? generated(task.rows) : rows));
      await conn.close();
      break;
    }
    case 'colonnade pool': case 'colonnade pool async iterable': {
      const { definePool } = await loadColonnade(task.colonnade);
      const pool = definePool({ connectionStrings: [task.url], name: 'bench-big', poolSize: 1, timeout: 300_000 });
      await pool.start();
      await timed(() => pool.insertToTable(task.table, lazy ? generated(task.rows) : rows));
      await pool.stop();
      break;
    }
    case '@clickhouse/client insert': {
      const t = target(task.url);
      const client = createClient({ url: t.origin, database: t.database, username: t.username, password: t.password, request_timeout: 300_000 });
      await timed(() => client.insert({ table: task.table, values: rows, format: 'JSONEachRow' }));
      await client.close();
      break;
    }
    case 'raw undici': {
      const t = target(task.url);
      const pool = new Pool(t.origin, { connections: 1 });
      await timed(async () => {
        const res = await pool.request({ method: 'POST', path: `/?database=${encodeURIComponent(t.database)}`, headers: headersOf(t), body, bodyTimeout: 300_000, headersTimeout: 300_000 });
        const text = await res.body.text();
        if (res.statusCode !== 200) throw new Error(`HTTP ${res.statusCode}: ${text.slice(0, 300)}`);
      });
      await pool.close();
      break;
    }
    default: throw new Error(`no insert for ${task.contender}`);
  }
  return '';
}

async function asyncInsert(task: BigTask): Promise<string> {
  const { definePool } = await loadColonnade(task.colonnade);
  const pool = definePool({ connectionStrings: [task.url], name: 'bench-big', poolSize: 2, timeout: 300_000, asyncBatchSize: 50_000, asyncMailbox: task.rows + 1 });
  await pool.start();
  await timed(async () => {
    for (let i = 0; i < task.rows; i++) pool.asyncInsertToTable(task.table, bigRow(i));
    await pool.flush();
  });
  await pool.stop();
  return '';
}

// The measured part of a cell: the operation alone. Clients are made (a pool started) before
// it and closed after it; rows handed to an insert are made before it.
let measured: { seconds: number; cpuSeconds: number } | undefined;
async function timed<T>(work: () => Promise<T>): Promise<T> {
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const out = await work();
  const c = process.cpuUsage(c0);
  measured = { seconds: (performance.now() - t0) / 1000, cpuSeconds: (c.user + c.system) / 1e6 };
  return out;
}

async function main(): Promise<void> {
  const task = JSON.parse(process.env.BENCH_TASK ?? '{}') as BigTask;
  // Every contender's code is loaded before the clock starts (@clickhouse/client and undici
  // by the imports above): the cell measures the work, not the loading of modules.
  if (task.contender.startsWith('colonnade')) await loadColonnade(task.colonnade);
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  let checksum = '';
  let error: string | undefined;
  try {
    checksum = task.op === 'select' ? await selectArray(task) : task.op === 'stream' ? await stream(task) : task.op === 'insert' ? await insert(task) : await asyncInsert(task);
  } catch (e) {
    error = e instanceof Error ? `${e.name}: ${e.message}`.slice(0, 300) : String(e);
  }
  const c = process.cpuUsage(c0);
  const report: BigReport = {
    seconds: measured?.seconds ?? (performance.now() - t0) / 1000,
    cpuSeconds: measured?.cpuSeconds ?? (c.user + c.system) / 1e6,
    peakRssMb: process.resourceUsage().maxRSS / 1024,
    checksum,
    ...(error === undefined ? {} : { error }),
  };
  process.send?.(report);
}

// Imported by bench-big.ts for its names: runs only as a forked worker, with its task.
if (process.env.BENCH_TASK !== undefined) void main();
