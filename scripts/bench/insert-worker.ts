// Insert throughput in a process of its own: 1,000,000 rows (by default) into a MergeTree
// table on each server, through one of three paths. The parent creates the table before and
// counts the rows after. Forked by scripts/bench.ts with the task as JSON in BENCH_TASK.
import { setImmediate as tick } from 'node:timers/promises';
import { Pool } from 'undici';
import type { Row } from '../../src/index.js';
import { loadColonnade } from './bundle.js';
import { headersOf, target } from './clients.js';
import type { InsertReport, InsertResult, InsertTask } from './tasks.js';


const EPOCH = Date.UTC(2024, 0, 1);
const row = (i: number): Row => ({ id: i, event: i % 7 === 0 ? 'click' : 'page_view', user_id: i % 1000, ts: new Date(EPOCH + i * 1000) });

type Outcome = Omit<InsertResult, 'seconds' | 'cpuUsPerRow' | 'heapMb'>;

/** Marks the end of the measured work (before the clean-up that follows it). */
type Done = () => void;

async function viaUndici(task: InsertTask, done: Done): Promise<Outcome> {
  const servers = task.urls.map((url) => {
    const t = target(url);
    return { pool: new Pool(t.origin, { connections: 1 }), path: `/?database=${encodeURIComponent(t.database)}`, headers: headersOf(t) };
  });
  let requests = 0;
  try {
    for (let start = 0; start < task.rows; start += task.batch) {
      const lines: string[] = [];
      for (let i = start; i < Math.min(task.rows, start + task.batch); i++) {
        const r = row(i);
        lines.push(JSON.stringify({ ...r, ts: String(Math.floor((r.ts as Date).getTime() / 1000)).padStart(10, '0') }));
      }
      const s = servers[requests++ % servers.length]!;
      const res = await s.pool.request({
        method: 'POST', path: s.path, headers: s.headers,
        body: `INSERT INTO ${task.table} FORMAT JSONEachRow\n${lines.join('\n')}\n`,
      });
      const text = await res.body.text();
      if (res.statusCode !== 200) throw new Error(`HTTP ${res.statusCode}: ${text.slice(0, 300)}`);
    }
    done();
  } finally {
    await Promise.all(servers.map((s) => s.pool.close()));
  }
  return { dropped: 0, deadLettered: 0, requests };
}

async function viaColonnade(task: InsertTask, done: Done): Promise<Outcome> {
  let deadLettered = 0;
  let firstDeadLetter: string | undefined;
  const { definePool } = await loadColonnade(task.colonnade);
  const pool = definePool({
    connectionStrings: task.urls,
    name: 'bench-insert',
    poolSize: task.urls.length * 2,
    asyncBatchSize: task.batch,
    onError: (error, rows) => {
      deadLettered += rows.length;
      firstDeadLetter ??= `${error.name}: ${error.message}`;
    },
  });
  await pool.start();
  try {
    if (task.mode === 'insertToTable') {
      for (let start = 0; start < task.rows; start += task.batch) {
        const rows: Row[] = [];
        for (let i = start; i < Math.min(task.rows, start + task.batch); i++) rows.push(row(i));
        await pool.insertToTable(task.table, rows);
      }
      done();
      return { dropped: 0, deadLettered, requests: Math.ceil(task.rows / task.batch) };
    }
    const t0 = performance.now();
    for (let i = 0; i < task.rows; i++) {
      pool.asyncInsertToTable(task.table, row(i));
      if (i % task.yieldEvery === task.yieldEvery - 1) await tick();
    }
    const callSeconds = (performance.now() - t0) / 1000;
    await pool.flush();
    done();
    const { dropped } = pool.stats().writer;
    if (firstDeadLetter) console.error(`insert-worker: dead letter: ${firstDeadLetter}`);
    return { callSeconds, dropped, deadLettered };
  } finally {
    await pool.stop();
  }
}

async function main(task: InsertTask): Promise<InsertResult> {
  let seconds = NaN;
  let cpuUs = NaN;
  let heapMb = NaN;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const done: Done = () => {
    seconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    cpuUs = cpu.user + cpu.system;
    // What the client still holds once every row is written, its pool still running.
    const gc = (globalThis as { gc?: () => void }).gc;
    if (gc) {
      gc();
      heapMb = process.memoryUsage().heapUsed / 2 ** 20;
    }
  };
  const partial = task.mode === 'undici-batches' ? await viaUndici(task, done) : await viaColonnade(task, done);
  return { ...partial, seconds, cpuUsPerRow: cpuUs / task.rows, heapMb };
}

const task = JSON.parse(process.env.BENCH_TASK ?? 'null') as InsertTask | null;
if (task === null || typeof process.send !== 'function') {
  console.error('insert-worker: run by scripts/bench.ts (needs BENCH_TASK and an IPC channel)');
  process.exit(2);
}
const report = await main(task).then(
  (result): InsertReport => ({ ok: true, result }),
  (error: unknown): InsertReport => ({ ok: false, error: error instanceof Error ? error.stack ?? error.message : String(error) }),
);
process.send(report, () => process.exit(0));
