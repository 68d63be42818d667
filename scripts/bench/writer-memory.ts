// Does the async writer let go of rows once they are written? One-row asyncInsertToTable
// calls into a MergeTree table on each server, then flush() and stop(): prints the live heap
// (after a full GC) and how many of a sample of the rows are still reachable.
// Run: node --expose-gc --import tsx scripts/bench/writer-memory.ts [rows=300000]
//      (COLONNADE_URLS as for the examples; default the local cluster's three servers)
import { setImmediate as tick } from 'node:timers/promises';
import { definePool } from '../../src/index.js';

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) {
  console.error('writer-memory: run with node --expose-gc');
  process.exit(2);
}
const rows = Number(process.argv[2] ?? 300_000);
const urls = (process.env.COLONNADE_URLS ?? 'http://127.0.0.1:18123/default,http://127.0.0.1:18124/default,http://127.0.0.1:18125/default')
  .split(',').map((url) => url.trim()).filter((url) => url !== '');
const TABLE = 'colonnade_writer_memory';

async function onEach(sql: string): Promise<void> {
  for (const url of urls) {
    const u = new URL(url);
    const res = await fetch(`${u.origin}/?database=${u.pathname.slice(1) || 'default'}`, { method: 'POST', body: sql });
    if (!res.ok) throw new Error(`${u.origin}: ${await res.text()}`);
  }
}
const heap = (): string => {
  gc();
  gc();
  return `${(process.memoryUsage().heapUsed / 2 ** 20).toFixed(0)} MB`;
};

await onEach(`CREATE TABLE IF NOT EXISTS ${TABLE} (id UInt64, event String, user_id UInt32, ts DateTime) ENGINE = MergeTree ORDER BY id`);
const pool = definePool({ connectionStrings: urls, name: 'writer-memory', poolSize: urls.length * 2 });
await pool.start();
console.log(`started: heap ${heap()}`);
const sample: WeakRef<object>[] = [];
const cpu0 = process.cpuUsage();
for (let i = 0; i < rows; i++) {
  const row = { id: i, event: 'page_view', user_id: i % 1000, ts: new Date(Date.UTC(2024, 0, 1) + i * 1000) };
  if (i % 10_000 === 0) sample.push(new WeakRef(row));
  pool.asyncInsertToTable(TABLE, row);
  if (i % 1000 === 999) await tick();
}
await pool.flush();
const cpu = process.cpuUsage(cpu0);
const alive = (): string => `${sample.filter((r) => r.deref() !== undefined).length} of ${sample.length} sampled rows still reachable`;
console.log(`flushed ${rows.toLocaleString('en')} rows (${((cpu.user + cpu.system) / rows).toFixed(2)} µs CPU/row): heap ${heap()}, ${alive()}; writer ${JSON.stringify(pool.stats().writer)}`);
await pool.stop();
console.log(`stopped: heap ${heap()}, ${alive()}`);
await onEach(`DROP TABLE ${TABLE}`);
