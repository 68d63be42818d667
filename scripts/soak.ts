// Soak: N minutes of mixed load through one definePool over the local 3-replica cluster
// while seeded random faults hit it (kill -9 and restart, SIGSTOP/SIGCONT, and a fault
// proxy in front of one server switching modes), then an honest count on every replica.
// Run: node --import tsx scripts/soak.ts [--minutes=3] [--seed=N] [--keep]
// Prints one table on stdout (fault events go to stderr as they happen); exits 0 when the
// targets hold, 1 otherwise, naming the target that failed. Not part of `npm test`.
import { request } from 'node:http';
import * as cluster from './cluster.mjs';
import { definePool, startSupervisor, type PoolStats } from '../src/index.js';
import { seeded } from '../test/seeded.js';
import { startFaultProxy, type FaultMode } from '../test/support/fault-proxy.js';
import { Ledger, printReport, type Replica } from './soak/report.js';

const args = new Map(process.argv.slice(2).map((a) => {
  const m = /^--([a-z]+)(?:=(.*))?$/.exec(a);
  if (!m) throw new Error(`soak: unknown argument ${a} (use --minutes=N --seed=N --keep)`);
  return [m[1]!, m[2] ?? 'true'] as const;
}));
for (const key of args.keys()) if (!['minutes', 'seed', 'keep'].includes(key)) throw new Error(`soak: unknown option --${key}`);
const minutes = Number(args.get('minutes') ?? 3);
const seed = Number(args.get('seed') ?? Date.now() % 2 ** 31);
if (!(minutes > 0 && minutes <= 60)) throw new Error(`soak: --minutes must be in (0, 60], got ${args.get('minutes')}`);
if (!Number.isInteger(seed) || seed < 0) throw new Error(`soak: --seed must be an integer >= 0, got ${args.get('seed')}`);

const random = seeded(seed);
const between = (lo: number, hi: number) => lo + Math.floor(random() * (hi - lo + 1));
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
// A server error is told apart by ClickHouse's own number: `CLICKHOUSE 242` (table is read-only), ...
const codeOf = (e: unknown) => {
  const { code, serverCode } = e as { code?: string; serverCode?: number };
  return code === undefined ? (e instanceof Error ? e.name : String(e)) : serverCode === undefined ? code : `${code} ${serverCode}`;
};
const log = (line: string) => process.stderr.write(`${((Date.now() - t0) / 1000).toFixed(1).padStart(6)}s  ${line}\n`);
const within = <T>(p: Promise<T>, ms: number, what: string): Promise<T> => {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([p, new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`${what}: no end after ${ms} ms`)), ms); })])
    .finally(() => clearTimeout(timer));
};

// ------------------------------------------------------------------ setup

const resourcesAtStart = resourceCounts();
const heapAtStart = process.memoryUsage().heapUsed;
const before = await cluster.status();
const info = await cluster.start();
const startedHere = !before.running && !before.partial;
const servers = info.servers.map((s) => s.index);
const table = `soak_${seed}_${Date.now().toString(36)}`;
const proxied = pick(servers);

/** One statement on server i over a fresh socket (no keep-alive, so nothing lingers). */
function sql(i: number, text: string, timeoutMs = 60_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: info.servers[i]!.httpPort, method: 'POST', path: '/', agent: false, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => { body += c; });
      res.on('end', () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`server ${i}: HTTP ${res.statusCode}: ${body.slice(0, 300)}`))));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`server ${i}: no answer in ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(text);
  });
}

for (const i of servers) {
  await sql(i, `CREATE TABLE IF NOT EXISTS ${table} (id UInt32, kind String, note String) ` +
    `ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/${table}', '{replica}') ORDER BY id`);
}

const proxy = await startFaultProxy({ target: info.urls[proxied]! });
const ledger = new Ledger();
const pool = definePool({
  connectionStrings: info.urls.map((u, i) => (i === proxied ? proxy.url() : u)),
  name: 'soak',
  poolSize: 9,
  timeout: 3_000,
  hedgeAfter: 1_000,
  poolTimeout: 5_000,
  backoff: { initial: 100, max: 1_000 },
  asyncBatchSize: 500,
  asyncFlushInterval: 200,
  onError: (error, rows) => ledger.reported(codeOf(error), rows),
});
const app = await startSupervisor([pool]);

// ------------------------------------------------------------------ health timeline

/** Per server, the intervals during which it was hurt (killed, frozen, or behind a bad proxy mode). */
const hurt = servers.map(() => [] as Array<{ from: number; to: number }>);
const HARMLESS: ReadonlySet<FaultMode['mode']> = new Set(['pass', 'latency', 'slow-close']);
function hurtFrom(i: number): () => void {
  const span = { from: Date.now(), to: Infinity };
  hurt[i]!.push(span);
  return () => { span.to = Date.now(); };
}
/** Whether some server was healthy during the whole of [from, to]. */
const someHealthy = (from: number, to: number) => hurt.some((spans) => spans.every((s) => s.to < from || s.from > to));

// ------------------------------------------------------------------ load

const t0 = Date.now();
const deadline = t0 + minutes * 60_000;
let interrupted = false;
const live = () => Date.now() < deadline && !interrupted;
process.once('SIGINT', () => { interrupted = true; log('SIGINT: winding down (a second one kills)'); process.once('SIGINT', () => process.exit(130)); });
const MAX_ITERATIONS = 1_000_000;

async function selectWorker(w: number): Promise<void> {
  for (let n = 0; n < MAX_ITERATIONS && live(); n++) {
    const start = Date.now();
    try {
      const k = w * MAX_ITERATIONS + n;
      const rows = n % 4 === 0 ? await pool.select(`SELECT count() AS c FROM ${table}`) : await pool.select('SELECT {k} AS k', { k });
      if (n % 4 !== 0 && rows[0]?.k !== k) throw new Error(`wrong answer ${JSON.stringify(rows[0])} for ${k}`);
      ledger.latency('select', Date.now() - start);
      ledger.selectOk();
    } catch (error) {
      const end = Date.now();
      ledger.latency('select', end - start);
      ledger.selectFailed(codeOf(error), someHealthy(start, end));
    }
    await pause(between(5, 25));
  }
}

async function insertWorker(): Promise<void> {
  for (let n = 0; n < MAX_ITERATIONS && live(); n++) {
    const rows = Array.from({ length: between(1, 50) }, () => ({ id: ledger.nextId(), kind: 'sync', note: `n${n}` }));
    const start = Date.now();
    try {
      await pool.insertToTable(table, rows);
      ledger.syncResolved(rows);
    } catch (error) {
      ledger.syncFailed(codeOf(error), rows);
    }
    ledger.latency('insertToTable', Date.now() - start);
    await pause(between(10, 40));
  }
}

async function asyncProducer(): Promise<void> {
  for (let n = 0; n < MAX_ITERATIONS && live(); n++) {
    for (let k = between(1, 8); k > 0; k--) {
      const row = { id: ledger.nextId(), kind: 'async', note: `a${n}` };
      const start = process.hrtime.bigint();
      try {
        pool.asyncInsertToTable(table, row);
        ledger.asyncAccepted(row);
      } catch (error) {
        ledger.asyncRefused(codeOf(error));
      }
      ledger.latency('asyncInsertToTable', Number(process.hrtime.bigint() - start) / 1e6);
    }
    await pause(between(5, 15));
  }
}

// ------------------------------------------------------------------ faults

/** kill -9 then restart, or SIGSTOP then SIGCONT: one server at a time, bounded. */
async function serverFaults(): Promise<void> {
  for (let n = 0; n < 1_000 && live(); n++) {
    await pause(between(3_000, 9_000));
    if (!live() || deadline - Date.now() < 6_000) return;
    const i = pick(servers);
    const kind = pick(['kill', 'freeze'] as const);
    const hold = between(1_000, 4_000);
    const healed = hurtFrom(i);
    ledger.fault(kind);
    try {
      if (kind === 'kill') {
        log(`kill -9 server ${i}, restart in ${hold} ms`);
        await cluster.killServer(i);
        await pause(hold);
        await cluster.startServer(i);
        log(`server ${i} answers /ping again`);
      } else {
        log(`SIGSTOP server ${i} for ${hold} ms`);
        await cluster.freezeServer(i);
        await pause(hold);
        await cluster.resumeServer(i);
        log(`SIGCONT server ${i}`);
      }
    } finally {
      healed();
    }
  }
}

const PROXY_FAULTS: ReadonlyArray<() => FaultMode> = [
  () => ({ mode: 'latency', ms: between(20, 300) }),
  () => ({ mode: 'latency', ms: between(200, 1_500), firstByteOnly: true }),
  () => ({ mode: 'blackhole' }),
  () => ({ mode: 'reset-connect' }),
  () => ({ mode: 'reset-after-request' }),
  () => ({ mode: 'reset-mid-response', bytes: between(0, 400) }),
  () => ({ mode: 'slow-close', ms: between(200, 3_000) }),
];

async function proxyFaults(): Promise<void> {
  for (let n = 0; n < 1_000 && live(); n++) {
    await pause(between(2_000, 7_000));
    if (!live()) return;
    const mode = pick(PROXY_FAULTS)();
    const hold = between(1_000, 5_000);
    const healed = HARMLESS.has(mode.mode) ? () => undefined : hurtFrom(proxied);
    ledger.fault(`proxy ${mode.mode}`);
    log(`proxy (server ${proxied}) -> ${JSON.stringify(mode)} for ${hold} ms`);
    proxy.setMode(mode);
    await pause(Math.min(hold, Math.max(0, deadline - Date.now())));
    proxy.setMode('pass');
    healed();
  }
}

log(`soak: ${minutes} min, seed ${seed}, table ${table}, server ${proxied} behind the fault proxy`);
await Promise.all([
  ...[0, 1, 2].map(selectWorker), insertWorker(), insertWorker(), asyncProducer(), serverFaults(), proxyFaults(),
]);

// ------------------------------------------------------------------ wind down, then count

const loadMs = Date.now() - t0;
const notes: string[] = [];
proxy.setMode('pass');
for (const s of (await cluster.status()).servers) {
  if (s.frozen) { log(`resuming server ${s.index}`); await cluster.resumeServer(s.index); }
  if (!s.alive) { log(`starting server ${s.index}`); await cluster.startServer(s.index); }
}
const flushStart = Date.now();
await within(pool.flush(), 120_000, 'flush()').catch((e: Error) => notes.push(e.message));
ledger.latency('flush', Date.now() - flushStart);
const statsAtEnd: PoolStats = pool.stats();
await within(app.stop(), 60_000, 'app.stop()').catch((e: Error) => notes.push(e.message));
await proxy.close();
await pause(1_000);
const resourcesAtEnd = resourceCounts();
const heapAtEnd = process.memoryUsage().heapUsed;

const replicas: Replica[] = [];
for (const i of servers) {
  try {
    await sql(i, `SYSTEM SYNC REPLICA ${table}`, 180_000);
    const [count, unique] = (await sql(i, `SELECT count(), uniqExact(id) FROM ${table} FORMAT TSV`)).trim().split('\t').map(Number);
    const ids = new Map<number, number>();
    for (const line of (await sql(i, `SELECT id, count() FROM ${table} GROUP BY id FORMAT TSV`)).split('\n')) {
      if (line) { const [id, c] = line.split('\t').map(Number); ids.set(id!, c!); }
    }
    replicas.push({ index: i, count: count!, unique: unique!, ids });
  } catch (error) {
    notes.push(`replica ${i}: ${(error as Error).message}`);
  }
}
if (args.get('keep') !== 'true') {
  for (const i of servers) await sql(i, `DROP TABLE IF EXISTS ${table}`).catch((e: Error) => notes.push(`drop on ${i}: ${e.message}`));
}
if (startedHere) await cluster.stop();

const ok = printReport({
  minutes, seed, table, proxied, loadMs, elapsedMs: Date.now() - t0, ledger, replicas, notes, writer: statsAtEnd.writer,
  resources: { start: resourcesAtStart, end: resourcesAtEnd }, heap: { start: heapAtStart, end: heapAtEnd },
});
process.exit(ok ? 0 : 1);

function resourceCounts(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of process.getActiveResourcesInfo()) out[r] = (out[r] ?? 0) + 1;
  return out;
}

