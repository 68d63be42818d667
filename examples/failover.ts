// Failover, watched from the pool's side: a steady load of selects over the local 3-server
// cluster while server 1 is killed (kill -9) and later started again. Every second it prints
// what stats() says about each server, and at the end every error any select saw.
// Run: npx tsx examples/failover.ts   (starts the local cluster if needed; ends by itself)
import { killServer, start, startServer, status, stop } from '../scripts/cluster.mjs';
import { definePool, startSupervisor, type PoolStats } from '../src/index.js';

const VICTIM = 1;
const KILL_AT_MS = 3_000;
const RESTART_AT_MS = 7_000;
const RUN_MS = 14_000;
const WORKERS = 8;
const PAUSE_MS = 10;

const before = await status();
const cluster = await start();
const pool = definePool({ connectionStrings: cluster.urls, name: 'failover', poolSize: 6, timeout: 2_000, backoff: { initial: 100, max: 1_000 } });
const app = await startSupervisor([pool]);

const t0 = Date.now();
const at = (): string => `${((Date.now() - t0) / 1000).toFixed(1).padStart(5)}s`;
let ok = 0;
const errors = new Map<string, number>();
let running = true;

async function worker(id: number): Promise<void> {
  for (let i = 0; running && i < 100_000; i++) {
    try {
      const [row] = await pool.select('SELECT {n} AS n', { n: id * 100_000 + i });
      if (row?.n !== id * 100_000 + i) throw new Error(`wrong answer ${JSON.stringify(row)}`);
      ok++;
    } catch (error) {
      const key = error instanceof Error ? `${(error as { code?: string }).code ?? error.name}: ${error.message}` : String(error);
      errors.set(key, (errors.get(key) ?? 0) + 1);
    }
    await new Promise((resolve) => setTimeout(resolve, PAUSE_MS));
  }
}

let last: PoolStats = pool.stats();
function report(event = ''): void {
  const now = pool.stats();
  const servers = now.servers.map((s, i) => {
    const delta = s.queries - (last.servers[i]?.queries ?? 0);
    const errs = s.errors - (last.servers[i]?.errors ?? 0);
    return `s${i} ${s.up ? 'up  ' : 'DOWN'} ${String(delta).padStart(4)} q${errs > 0 ? ` ${String(errs).padStart(2)} err` : '       '}`;
  });
  const failed = [...errors.values()].reduce((a, b) => a + b, 0);
  console.log(`${at()}  ${servers.join(' | ')} | ok ${String(ok).padStart(5)}, failed ${failed}${event ? `   <- ${event}` : ''}`);
  last = now;
}

console.log(`${WORKERS} callers running selects over ${cluster.urls.length} servers; per second, from stats(): up/down, queries sent, network errors (calls and probes)`);
const load = Promise.all(Array.from({ length: WORKERS }, (_, id) => worker(id)));
const events: string[] = [];
let final: PoolStats = last;
const ticker = setInterval(() => report(events.splice(0).join(', ')), 1_000);
try {
  await new Promise((resolve) => setTimeout(resolve, KILL_AT_MS));
  await killServer(VICTIM);
  events.push(`server ${VICTIM} killed (kill -9)`);
  await new Promise((resolve) => setTimeout(resolve, RESTART_AT_MS - (Date.now() - t0)));
  events.push(`starting server ${VICTIM}`);
  await startServer(VICTIM);
  events.push(`server ${VICTIM} answers /ping again`);
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, RUN_MS - (Date.now() - t0))));
} finally {
  running = false;
  await load;
  clearInterval(ticker);
  report(events.join(', '));
  final = pool.stats();
  await app.stop();
  if ((await status()).servers[VICTIM]?.alive === false) await startServer(VICTIM);
  if (!before.running && !before.partial) await stop();
}

const failed = [...errors.values()].reduce((a, b) => a + b, 0);
console.log(`\n${ok} selects answered, ${failed} failed; queries per server: ${final.servers.map((s, i) => `s${i} ${s.queries}`).join(', ')}`);
if (errors.size === 0) console.log(`no select saw an error: reads that failed on server ${VICTIM} were retried on the others, and none went to it while it was down`);
for (const [message, n] of errors) console.log(`  ${n} x ${message}`);
