// What a listener on the pool's `query` event costs: `SELECT 1` through one pool against the
// local cluster, in alternating cells with no listener and with one listener (that keeps a
// count and a sum, as a metrics hook would), each cell `cell-ms` long at a fixed concurrency.
// Prints the median queries/s and client CPU per query of each side, and the difference.
// Run: node --import tsx scripts/bench-events.ts [--rounds=7] [--cell-ms=1500] [--concurrency=16]
// (with the cluster started: `npm run cluster start`; COLONNADE_URLS overrides the servers)
import { status } from './cluster.mjs';
import { definePool, type PoolEvents } from '../src/index.js';

type QueryEvent = PoolEvents['query'][0];

const arg = (name: string, fallback: number): number => {
  const found = process.argv.find((a) => a.startsWith(`--${name}=`));
  const n = found === undefined ? fallback : Number(found.slice(name.length + 3));
  if (!Number.isInteger(n) || n < 1 || n > 600_000) throw new Error(`bench-events: --${name} must be a positive integer`);
  return n;
};
const rounds = Math.min(arg('rounds', 7), 30);
const cellMs = arg('cell-ms', 1_500);
const concurrency = Math.min(arg('concurrency', 16), 256);

const urls = process.env.COLONNADE_URLS?.split(',') ?? (await status()).servers.map((s: { url: string }) => s.url);
const pool = definePool({ connectionStrings: urls, name: 'bench', poolSize: concurrency, maxOverflow: 0 });
await pool.start();

let seen = 0;
let totalMs = 0;
const listener = (e: QueryEvent): void => {
  seen++;
  totalMs += e.durationMs;
};

async function cell(ms: number): Promise<{ qps: number; cpuUs: number }> {
  let done = 0;
  const deadline = performance.now() + ms;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (performance.now() < deadline) {
      await pool.select('SELECT 1');
      done++;
    }
  }));
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  return { qps: done / seconds, cpuUs: (cpu.user + cpu.system) / done };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
await cell(1_000); // warm-up
const off: Array<{ qps: number; cpuUs: number }> = [];
const on: Array<{ qps: number; cpuUs: number }> = [];
for (let r = 0; r < rounds; r++) {
  // The order alternates so neither side always runs first.
  for (const listening of r % 2 === 0 ? [false, true] : [true, false]) {
    if (listening) pool.events.on('query', listener);
    (listening ? on : off).push(await cell(cellMs));
    pool.events.off('query', listener);
  }
}
await pool.stop();
const q0 = median(off.map((c) => c.qps));
const q1 = median(on.map((c) => c.qps));
const c0 = median(off.map((c) => c.cpuUs));
const c1 = median(on.map((c) => c.cpuUs));
console.log(`SELECT 1, concurrency ${concurrency}, ${rounds} rounds of ${cellMs} ms per side (medians)`);
console.log(`  no listener:        ${q0.toFixed(0).padStart(7)} queries/s, ${c0.toFixed(1).padStart(6)} µs client CPU/query`);
console.log(`  one 'query' listener:${q1.toFixed(0).padStart(6)} queries/s, ${c1.toFixed(1).padStart(6)} µs client CPU/query (${seen} events, mean ${(totalMs / Math.max(1, seen)).toFixed(2)} ms)`);
console.log(`  difference:         ${(((q1 - q0) / q0) * 100).toFixed(1)}% queries/s, ${(c1 - c0).toFixed(1)} µs CPU/query`);
