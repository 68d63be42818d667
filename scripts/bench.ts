// The benchmark of issue 4, in one run against the local 3-server cluster:
//  - `SELECT 1` at concurrency 1, 16 and 64: queries/s and client CPU per query for raw undici
//    (one Pool per server, round robin), @clickhouse/client (one client per server, round
//    robin) and colonnade's pool, every one capped at the same sockets per server;
//  - 1,000,000 rows into a MergeTree table: raw undici POSTs of JSONEachRow batches (the
//    reference), `insertToTable` in batches, and `asyncInsertToTable` one row per call.
// Each client lives in a child process of its own, so its CPU time is its alone and no client
// inherits another's heap, JIT state or sockets; only one of them runs at a time. Cells are
// interleaved and repeated in rounds with the order of the clients rotated; the table shows
// each cell's median.
// Run: npm run bench [-- --rounds=7 --cell-ms=1500 --rows=1000000 --per-server=22 --profile=colonnade,undici
//                       --clients=undici,colonnade,perform --concurrency=1,16,64 --inserts=no --engine=modern]
// It starts the local cluster if it is not running, and then stops it again at the end.
// --engine=modern runs it against the standalone 26.x servers (scripts/cluster/modern.mjs) instead.
import { cpus, loadavg, totalmem } from 'node:os';
import { benchSession, joinFlags } from './bench/session.js';
import { runChild, startResident, type Resident } from './bench/child.js';
import { CLIENTS, EXTRA_CLIENTS, type ClientName } from './bench/clients.js';
import {
  INSERT_MODES, type InsertMode, type InsertReport, type InsertTask, type SelectCell, type SelectReply, type SelectRequest, type SelectTask,
} from './bench/tasks.js';

interface Args {
  rounds: number;
  cellMs: number;
  warmupMs: number;
  cellWarmupMs: number;
  rows: number;
  batch: number;
  perServer: number;
  concurrencies: number[];
  clients: ClientName[];
  inserts: boolean;
  profile: string[];
  engine: '18.16' | 'modern';
}

function parseArgs(argv: readonly string[]): Args {
  const args: Args = { rounds: 7, cellMs: 1_500, warmupMs: 2_000, cellWarmupMs: 300, rows: 1_000_000, batch: 10_000, perServer: 22, concurrencies: [1, 16, 64], clients: [...CLIENTS], inserts: true, profile: [], engine: '18.16' };
  // `--engine modern` as well as `--engine=modern`.
  const joined = joinFlags(argv);
  for (const arg of joined) {
    const m = /^--([a-z-]+)=(.*)$/.exec(arg);
    if (!m) throw new Error(`bench: unknown argument ${arg} (flags look like --rounds=3 or --rounds 3)`);
    const [, key, value] = m as unknown as [string, string, string];
    const n = Number(value);
    const int = (lo: number, hi: number): number => {
      if (!Number.isInteger(n) || n < lo || n > hi) throw new Error(`bench: --${key} must be an integer in ${lo}..${hi}, got ${value}`);
      return n;
    };
    switch (key) {
      case 'rounds': args.rounds = int(1, 20); break;
      case 'cell-ms': args.cellMs = int(100, 60_000); break;
      case 'warmup-ms': args.warmupMs = int(0, 60_000); break;
      case 'cell-warmup-ms': args.cellWarmupMs = int(0, 60_000); break;
      case 'rows': args.rows = int(1, 10_000_000); break;
      case 'batch': args.batch = int(1, 1_000_000); break;
      case 'per-server': args.perServer = int(1, 256); break;
      case 'concurrency': args.concurrencies = value.split(',').map((v) => { const c = Number(v); if (!Number.isInteger(c) || c < 1 || c > 1024) throw new Error(`bench: bad --concurrency ${value}`); return c; }); break;
      case 'inserts':
        if (value !== 'yes' && value !== 'no') throw new Error(`bench: --inserts takes yes or no, got ${value}`);
        args.inserts = value === 'yes';
        break;
      case 'profile': args.profile = value.split(',').filter(Boolean); break;
      case 'clients': {
        const known: readonly string[] = [...CLIENTS, ...EXTRA_CLIENTS];
        const names = value.split(',').filter(Boolean);
        const bad = names.filter((n) => !known.includes(n));
        if (bad.length > 0 || !names.includes('undici')) throw new Error(`bench: --clients takes undici and any of ${known.join(', ')}, got ${value}`);
        args.clients = names as ClientName[];
        break;
      }
      case 'engine':
        if (value !== '18.16' && value !== 'modern') throw new Error(`bench: --engine takes 18.16 or modern, got ${value}`);
        args.engine = value;
        break;
      default: throw new Error(`bench: unknown flag --${key}`);
    }
  }
  return args;
}

const TABLE = 'colonnade_bench_events';
const LABELS: Record<ClientName, string> = { undici: 'raw undici', 'clickhouse-js': 'clickhouse-js', colonnade: 'colonnade', perform: 'perform (no pool)' };
const PROFILE_DIR = '/tmp/colonnade-bench-profiles';

async function sql(url: string, body: string): Promise<string> {
  const u = new URL(url);
  const res = await fetch(`${u.origin}/?database=${encodeURIComponent(u.pathname.slice(1) || 'default')}`, {
    method: 'POST', body, signal: AbortSignal.timeout(30_000),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${u.origin}: ${text.trim()}`);
  return text;
}

const fmt = (n: number, digits = 0): string => n.toLocaleString('en', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const ratio = (n: number, base: number): string => (Number.isFinite(n / base) ? `${(n / base).toFixed(2)}x` : 'n/a');
const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};
const row = (cells: readonly (string | number)[], widths: readonly number[]): string =>
  cells.map((c, i) => (i === 0 ? String(c).padEnd(widths[i]!) : String(c).padStart(widths[i]!))).join('  ');

function profileArgv(args: Args, name: string): string[] {
  // Inserts are profiled with --cpu-prof, one folder per path: the tsx loader thread writes a
  // profile of its own beside the main thread's (*.0.001.cpuprofile).
  return args.profile.includes(name) ? ['--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}/${name}`] : [];
}

async function selects(args: Args, urls: readonly string[], colonnade: string): Promise<Map<ClientName, SelectCell[][]>> {
  const byClient = new Map<ClientName, SelectCell[][]>(args.clients.map((c) => [c, []]));
  const workers = new Map<ClientName, Resident<SelectRequest, SelectReply>>();
  const deadlineMs = Math.max(args.warmupMs, args.cellMs + args.cellWarmupMs) + 60_000;
  try {
    for (const client of args.clients) {
      const task: SelectTask = {
        client, urls, colonnade, perServer: args.perServer, warmupMs: args.warmupMs, warmupConcurrency: Math.max(...args.concurrencies),
        ...(args.profile.includes(client) ? { profileDir: PROFILE_DIR } : {}),
      };
      workers.set(client, await startResident<SelectRequest, SelectReply>('./select-worker.ts', task, { deadlineMs }));
    }
    // Cells interleave: within a round each concurrency runs every client back to back, in an
    // order that rotates, so a change in the machine's load falls on all three alike.
    for (let round = 0; round < args.rounds; round++) {
      const cells = new Map<ClientName, SelectCell[]>(args.clients.map((c) => [c, []]));
      for (const [ci, concurrency] of args.concurrencies.entries()) {
        for (let k = 0; k < args.clients.length; k++) {
          const client = args.clients[(k + round + ci) % args.clients.length]!;
          const answer = await workers.get(client)!.ask({ type: 'cell', concurrency, ms: args.cellMs, warmupMs: args.cellWarmupMs });
          if (answer.type !== 'cell') throw new Error(`${client}: ${answer.type === 'failed' ? answer.error : answer.type}`);
          cells.get(client)!.push(answer.cell);
        }
      }
      for (const client of args.clients) {
        const mine = cells.get(client)!;
        byClient.get(client)!.push(mine);
        console.log(`  round ${round + 1} ${client.padEnd(13)} ${mine.map((c) => `c=${c.concurrency}: ${fmt(c.qps)}/s ${c.cpuUs.toFixed(0)} µs${c.errors ? ` (${c.errors} errors: ${c.firstError})` : ''}`).join(' | ')}`);
      }
    }
  } finally {
    for (const worker of workers.values()) await worker.close({ type: 'close' }).catch(() => undefined);
  }
  return byClient;
}

interface Summary { qps: number; cpuUs: number; spread: number; errors: number }

function summarize(rounds: readonly SelectCell[][], concurrency: number): Summary | undefined {
  const cells = rounds.map((r) => r.find((c) => c.concurrency === concurrency)).filter((c): c is SelectCell => c !== undefined);
  if (cells.length === 0) return undefined;
  const qps = median(cells.map((c) => c.qps));
  const spread = (Math.max(...cells.map((c) => c.qps)) - Math.min(...cells.map((c) => c.qps))) / qps;
  return { qps, cpuUs: median(cells.map((c) => c.cpuUs)), spread, errors: cells.reduce((n, c) => n + c.errors, 0) };
}

async function inserts(args: Args, urls: readonly string[], colonnade: string): Promise<Map<InsertMode, { result?: InsertReport; count: number }>> {
  const out = new Map<InsertMode, { result?: InsertReport; count: number }>();
  for (const mode of INSERT_MODES) {
    for (const url of urls) {
      await sql(url, `DROP TABLE IF EXISTS ${TABLE}`);
      await sql(url, `CREATE TABLE ${TABLE} (id UInt64, event String, user_id UInt32, ts DateTime) ENGINE = MergeTree ORDER BY id`);
    }
    const task: InsertTask = { mode, colonnade, urls, table: TABLE, rows: args.rows, batch: args.batch, yieldEvery: 1_000 };
    const report = await runChild<InsertReport>('./insert-worker.ts', task, { deadlineMs: 600_000, execArgv: ['--expose-gc', ...profileArgv(args, mode)] });
    let count = 0;
    for (const url of urls) count += Number((await sql(url, `SELECT count() FROM ${TABLE}`)).trim());
    out.set(mode, { result: report, count });
    const line = report.ok
      ? `${fmt(args.rows / report.result.seconds)} rows/s${report.result.callSeconds !== undefined ? `, calls ${fmt(args.rows / report.result.callSeconds)}/s` : ''}`
      : `FAILED: ${report.error.split('\n')[0]}`;
    console.log(`  ${mode.padEnd(19)} ${line}, ${fmt(count)} rows in the table`);
  }
  for (const url of urls) await sql(url, `DROP TABLE IF EXISTS ${TABLE}`);
  return out;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  await benchSession(args.engine, async ({ urls, colonnade, startedHere }) => {
    const version = (await sql(urls[0]!, 'SELECT version()')).trim();
    const cpu = cpus();
    const load = (): string => loadavg().map((x) => x.toFixed(1)).join(' ');
    const header = [
      `machine: ${cpu.length} cores (${cpu[0]?.model.trim() ?? 'unknown'}), ${fmt(totalmem() / 2 ** 30, 1)} GiB, node ${process.version}, ${process.platform}/${process.arch}`,
      `ClickHouse ${version} (${args.engine === 'modern' ? 'standalone modern servers' : 'the 18.16 replicas'}), ${urls.length} servers on the same machine${startedHere ? ' (started for this run)' : ''}`,
      `load average at the start: ${load()} (1/5/15 min; everything else running on the machine counts)`,
    ];
    console.log(header.join('\n'));
    console.log(`SELECT 1: ${args.rounds} rounds of ${args.cellMs} ms cells (each after ${args.cellWarmupMs} ms unmeasured at the same concurrency), ` +
      `clients interleaved, each in its own process warmed up for ${args.warmupMs} ms; every client at most ${args.perServer} sockets per server; ` +
      'colonnade bundled from src/ as build.mjs builds dist/\n');

    const selected = await selects(args, urls, colonnade);
    if (args.inserts) console.log('\nrunning inserts ...');
    const inserted = args.inserts ? await inserts(args, urls, colonnade) : undefined;

    const lines: string[] = [...header, `load average at the end: ${load()}`, ''];
    const w = [17, 5, 11, 8, 12, 8, 7, 7];
    lines.push(`SELECT 1 (median of ${args.rounds} rounds, ${args.cellMs / 1000} s each; spread = (max-min)/median of queries/s)`);
    lines.push(row(['client', 'conc', 'queries/s', 'vs raw', 'CPU µs/query', 'vs raw', 'spread', 'errors'], w));
    const misses: string[] = [];
    for (const [ci, c] of args.concurrencies.entries()) {
      if (ci > 0) lines.push('');
      const base = summarize(selected.get('undici')!, c);
      for (const client of args.clients) {
        const s = summarize(selected.get(client)!, c);
        if (!s) { lines.push(row([client, c, 'failed', '', '', '', '', ''], w)); continue; }
        lines.push(row([LABELS[client], c, fmt(s.qps), base ? ratio(s.qps, base.qps) : 'n/a',
          s.cpuUs.toFixed(1), base ? ratio(s.cpuUs, base.cpuUs) : 'n/a', `${(s.spread * 100).toFixed(0)}%`, s.errors], w));
        if (client === 'colonnade' && base) {
          if (s.qps < 0.9 * base.qps) misses.push(`throughput at c=${c}: ${ratio(s.qps, base.qps)} < 0.90x`);
          if (s.cpuUs > 1.3 * base.cpuUs) misses.push(`CPU per query at c=${c}: ${ratio(s.cpuUs, base.cpuUs)} > 1.30x`);
          if (s.errors > 0) misses.push(`${s.errors} failed selects at c=${c}`);
        }
      }
    }
    lines.push("each query: raw undici POSTs 'SELECT 1' and reads the body as text; clickhouse-js query({ format: 'JSONEachRow' }).json();");
    lines.push(`colonnade pool.select('SELECT 1') (${args.engine === 'modern' ? 'RowBinaryWithNamesAndTypes' : 'TabSeparatedWithNamesAndTypes'}, decoded to [{ 1: 1 }]). CPU = the client process's user+system time / queries`);
    lines.push('');
    if (inserted) {
      const wi = [42, 11, 8, 10, 12, 8, 9];
      lines.push(`INSERT ${fmt(args.rows)} rows (id UInt64, event String, user_id UInt32, ts DateTime) into MergeTree, round robin over the servers`);
      lines.push(row(['path', 'rows/s', 'vs raw', 'CPU µs/row', 'rows stored', 'dropped', 'heap MB'], wi));
      const reference = inserted.get('undici-batches')?.result;
      const baseRate = reference?.ok ? args.rows / reference.result.seconds : NaN;
      const labels: Record<InsertMode, string> = {
        'undici-batches': `raw undici, JSONEachRow, ${fmt(args.batch)} rows/POST`,
        insertToTable: `insertToTable, ${fmt(args.batch)} rows/call`,
        asyncInsertToTable: 'asyncInsertToTable, 1 row/call, to flush()',
      };
      for (const mode of INSERT_MODES) {
        const entry = inserted.get(mode);
        const r = entry?.result;
        if (!entry || !r || !r.ok) { lines.push(row([labels[mode], 'failed', '', '', fmt(entry?.count ?? 0), '', ''], wi)); misses.push(`${mode} failed`); continue; }
        const rate = args.rows / r.result.seconds;
        lines.push(row([labels[mode], fmt(rate), ratio(rate, baseRate), r.result.cpuUsPerRow.toFixed(2), fmt(entry.count), fmt(r.result.dropped), fmt(r.result.heapMb)], wi));
        if (entry.count !== args.rows) misses.push(`${mode}: ${fmt(entry.count)} rows stored of ${fmt(args.rows)}`);
        if (r.result.callSeconds !== undefined) {
          const calls = args.rows / r.result.callSeconds;
          lines.push(row(['  caller side: the calls returned at', `${fmt(calls)}/s`, '', '', '', '', ''], wi));
          if (calls < 100_000) misses.push(`asyncInsertToTable calls: ${fmt(calls)}/s < 100,000/s`);
          if (rate < 100_000) misses.push(`asyncInsertToTable rows written: ${fmt(rate)}/s < 100,000/s`);
        }
      }
      lines.push('heap MB: the client process\'s live heap after a full GC once every row is written, its client still open');
      lines.push('');
    }
    lines.push('targets: colonnade >= 0.90x raw undici queries/s and <= 1.30x its CPU per query at every concurrency; async one-row calls >= 100,000 rows/s');
    lines.push(misses.length === 0 ? 'result: every target met' : `result: ${misses.length} target(s) missed:`);
    for (const miss of misses) lines.push(`  - ${miss}`);
    console.log(`\n${lines.join('\n')}`);
    if (args.profile.length > 0) console.log(`\nCPU profiles in ${PROFILE_DIR}`);
  });
}

main().catch((error: unknown) => {
  console.error(`bench: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
