// The big-work benchmark of issue 13, in one run against one local server: 8 columns (UInt64,
// Int32, Float64, String, DateTime, Nullable(String), Array(UInt32), Enum8), contenders side
// by side, each cell in a child process of its own (client CPU from process.cpuUsage, peak
// RSS from the child's own maxRSS), cells interleaved in rounds, the table shows medians.
//  - select N rows into an array: colonnade connect() / pool, @clickhouse/client json(), raw
//    undici (JSONEachRow parsed line by line);
//  - stream N rows: colonnade connect() / pool stream(), @clickhouse/client stream();
//  - stream 10 N rows: colonnade connect() (peak RSS);
//  - insertToTable N rows: colonnade from an array and from an async generator,
//    @clickhouse/client insert (JSONEachRow), raw undici POSTing the rows pre-serialized;
//  - N one-row asyncInsertToTable calls, then flush().
// Every contender reads or stores the same rows: the checksum column (count/sum(u64)/length of s).
// Run: npm run bench:big [-- --rows=1000000 --rounds=3 --engine=modern --only=select,stream,insert,async]
// It starts the local cluster if it is not running, and stops it again at the end.
import { cpus, loadavg, totalmem } from 'node:os';
import { benchSession, joinFlags } from './bench/session.js';
import { runChild } from './bench/child.js';
import { BIG_COLUMNS, type BigContender, type BigReport, type BigTask } from './bench/big-worker.js';

interface Args {
  rows: number;
  rounds: number;
  engine: '18.16' | 'modern';
  only: Set<string>;
}

function parseArgs(argv: readonly string[]): Args {
  const args: Args = { rows: 1_000_000, rounds: 3, engine: '18.16', only: new Set(['select', 'stream', 'insert', 'async']) };
  const joined = joinFlags(argv);
  for (const arg of joined) {
    const m = /^--([a-z-]+)=(.*)$/.exec(arg);
    if (!m) throw new Error(`bench-big: unknown argument ${arg} (flags look like --rows=100000 or --rows 100000)`);
    const [, key, value] = m as unknown as [string, string, string];
    const n = Number(value);
    if (key === 'rows' || key === 'rounds') {
      const [lo, hi] = key === 'rows' ? [1_000, 10_000_000] : [1, 9];
      if (!Number.isInteger(n) || n < lo || n > hi) throw new Error(`bench-big: --${key} must be an integer in ${lo}..${hi}, got ${value}`);
      args[key] = n;
    } else if (key === 'engine') {
      if (value !== '18.16' && value !== 'modern') throw new Error(`bench-big: --engine takes 18.16 or modern, got ${value}`);
      args.engine = value;
    } else if (key === 'only') {
      args.only = new Set(value.split(','));
    } else throw new Error(`bench-big: unknown flag --${key}`);
  }
  return args;
}

async function sql(url: string, text: string): Promise<string> {
  const u = new URL(url);
  const res = await fetch(`${u.origin}/?database=${encodeURIComponent(u.pathname.slice(1) || 'default')}`, {
    method: 'POST', body: text, headers: { 'x-clickhouse-user': decodeURIComponent(u.username) || 'default', ...(u.password ? { 'x-clickhouse-key': decodeURIComponent(u.password) } : {}) },
  });
  const body = await res.text();
  if (!res.ok) throw new Error(`${text.slice(0, 80)}: HTTP ${res.status} ${body.slice(0, 300)}`);
  return body;
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};
const fmt = (n: number, digits = 0): string => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

interface Line {
  readonly work: string;
  readonly op: BigTask['op'];
  readonly rows: number;
  readonly contenders: readonly BigContender[];
}

interface Cell {
  readonly seconds: number[];
  readonly cpu: number[];
  readonly rss: number[];
  readonly checksums: Set<string>;
  errors: string[];
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const source = `bench_big_src_${process.pid}`;
  const sink = `bench_big_dst_${process.pid}`;
  const drop = async (url: string): Promise<void> => {
    for (const t of [source, sink]) await sql(url, `DROP TABLE IF EXISTS ${t}`);
  };
  await benchSession(args.engine, async ({ urls, colonnade, startedHere }) => {
    const url = urls[0]!;
    const version = (await sql(url, 'SELECT version()')).trim();
    const cpu = cpus();
    const load = (): string => loadavg().map((x) => x.toFixed(1)).join(' ');
    const n = args.rows;
    const lines: Line[] = [];
    if (args.only.has('select')) lines.push({ work: `select ${fmt(n)} rows into an array`, op: 'select', rows: n, contenders: ['colonnade connect()', 'colonnade pool', '@clickhouse/client json()', 'raw undici'] });
    if (args.only.has('stream')) {
      lines.push({ work: `stream ${fmt(n)} rows`, op: 'stream', rows: n, contenders: ['colonnade connect()', 'colonnade pool', '@clickhouse/client stream()', 'colonnade connect() gzip'] });
      lines.push({ work: `stream ${fmt(10 * n)} rows`, op: 'stream', rows: 10 * n, contenders: ['colonnade connect()'] });
    }
    if (args.only.has('insert')) lines.push({ work: `insertToTable ${fmt(n)} rows`, op: 'insert', rows: n, contenders: ['colonnade connect()', 'colonnade pool', 'colonnade connect() async iterable', 'colonnade pool async iterable', '@clickhouse/client insert', 'raw undici', 'colonnade connect() gzip'] });
    if (args.only.has('async')) lines.push({ work: `${fmt(n)} one-row asyncInsertToTable calls, then flush()`, op: 'async-insert', rows: n, contenders: ['colonnade pool'] });

    console.log(`machine: ${cpu.length} cores (${cpu[0]?.model.trim() ?? 'unknown'}), ${fmt(totalmem() / 2 ** 30, 1)} GiB, node ${process.version}`);
    console.log(`ClickHouse ${version}, one server (${url.replace(/:[^:@/]*@/, ':***@')})${startedHere ? ', started for this run' : ''}; load average ${load()}`);
    const sourceRows = lines.reduce((m, l) => (l.op === 'select' || l.op === 'stream' ? Math.max(m, l.rows) : m), 0);
    if (sourceRows > 0) {
      console.log(`filling ${source} with ${fmt(sourceRows)} rows ...`);
      await sql(url, `DROP TABLE IF EXISTS ${source}`);
      await sql(url, `CREATE TABLE ${source} (${BIG_COLUMNS}) ENGINE = MergeTree ORDER BY u64`);
      await sql(url, `INSERT INTO ${source} SELECT number, toInt32(number % 100000) - 50000, number / 3, concat('name-', toString(number)), toDateTime(1600000000 + number),
        if(number % 5 = 0, NULL, toString(number % 1000)), [toUInt32(number % 10), toUInt32(number % 7)], CAST(['a', 'b', 'c'][number % 3 + 1] AS Enum8('a' = 1, 'b' = 2, 'c' = 3)) FROM numbers(${sourceRows})`);
    }
    await sql(url, `DROP TABLE IF EXISTS ${sink}`);
    await sql(url, `CREATE TABLE ${sink} (${BIG_COLUMNS}) ENGINE = MergeTree ORDER BY u64`);

    const cells = new Map<string, Cell>();
    const key = (line: Line, c: string): string => `${line.work}\u0000${c}`;
    for (let round = 0; round < args.rounds; round++) {
      console.log(`round ${round + 1} of ${args.rounds} ...`);
      for (const line of lines) {
        // The order of the contenders turns each round.
        const order = line.contenders.map((_, i) => line.contenders[(i + round) % line.contenders.length]!);
        for (const contender of order) {
          const task: BigTask = { op: line.op, contender, url, table: line.op === 'select' || line.op === 'stream' ? source : sink, rows: line.rows, colonnade };
          const report = await runChild<BigReport>('./big-worker.ts', task, { deadlineMs: 900_000, execArgv: ['--max-old-space-size=8192'] })
            .catch((e: unknown): BigReport => ({ seconds: 0, cpuSeconds: 0, peakRssMb: 0, checksum: '', error: e instanceof Error ? e.message : String(e) }));
          let cell = cells.get(key(line, contender));
          if (!cell) cells.set(key(line, contender), (cell = { seconds: [], cpu: [], rss: [], checksums: new Set(), errors: [] }));
          let checksum = report.checksum;
          if (line.op === 'insert' || line.op === 'async-insert') {
            checksum = (await sql(url, `SELECT count(), sum(u64), sum(length(s)) FROM ${sink} FORMAT TSV`)).trim().replace(/\t/g, '/');
            await sql(url, `TRUNCATE TABLE ${sink}`);
          }
          if (report.error !== undefined) cell.errors.push(report.error);
          else {
            cell.seconds.push(report.seconds);
            cell.cpu.push(report.cpuSeconds);
            cell.rss.push(report.peakRssMb);
            cell.checksums.add(checksum);
          }
        }
      }
    }

    const out: string[] = [`\nClickHouse ${version}, ${fmt(n)} rows of 8 columns, medians of ${args.rounds} interleaved rounds, load average at the end ${load()}`, ''];
    out.push('| work | contender | wall s | rows/s | client CPU s | peak RSS MB | checksum |');
    out.push('|---|---|---|---|---|---|---|');
    const medians = new Map<string, { seconds: number; cpu: number; rss: number }>();
    for (const line of lines) {
      for (const contender of line.contenders) {
        const cell = cells.get(key(line, contender))!;
        if (cell.seconds.length === 0) {
          out.push(`| ${line.work} | ${contender} | FAILED: ${cell.errors[0] ?? 'no report'} | | | | |`);
          continue;
        }
        const m = { seconds: median(cell.seconds), cpu: median(cell.cpu), rss: median(cell.rss) };
        medians.set(key(line, contender), m);
        out.push(`| ${line.work} | ${contender} | ${fmt(m.seconds, 2)} | ${fmt(line.rows / m.seconds)} | ${fmt(m.cpu, 2)} | ${fmt(m.rss)} | ${[...cell.checksums].join(' ')} |`);
      }
    }
    // The targets of issue 13, each as the ratio the run measured.
    const get = (work: string, c: string): { seconds: number; cpu: number; rss: number } | undefined => medians.get(`${work}\u0000${c}`);
    const checks: string[] = [];
    const check = (what: string, value: number | undefined, limit: number, atLeast = false): void => {
      if (value === undefined) return;
      const ok = atLeast ? value >= limit : value <= limit;
      checks.push(`${ok ? 'met   ' : 'MISSED'} ${what}: ${fmt(value, 2)} (${atLeast ? '>=' : '<='} ${fmt(limit, 2)})`);
    };
    const sel = `select ${fmt(n)} rows into an array`;
    const str = `stream ${fmt(n)} rows`;
    const ins = `insertToTable ${fmt(n)} rows`;
    const ratio = (a?: number, b?: number): number | undefined => (a === undefined || b === undefined ? undefined : a / b);
    check('select CPU, connect() / @clickhouse/client json()', ratio(get(sel, 'colonnade connect()')?.cpu, get(sel, '@clickhouse/client json()')?.cpu), 0.5);
    check('select peak RSS, connect() / raw undici', ratio(get(sel, 'colonnade connect()')?.rss, get(sel, 'raw undici')?.rss), 1.2);
    check('select CPU, pool / connect()', ratio(get(sel, 'colonnade pool')?.cpu, get(sel, 'colonnade connect()')?.cpu), 1.1);
    check('stream CPU, connect() / @clickhouse/client stream()', ratio(get(str, 'colonnade connect()')?.cpu, get(str, '@clickhouse/client stream()')?.cpu), 0.7);
    check('stream CPU, pool / connect()', ratio(get(str, 'colonnade pool')?.cpu, get(str, 'colonnade connect()')?.cpu), 1.1);
    check(`stream of ${fmt(10 * n)} rows, peak RSS MB`, get(`stream ${fmt(10 * n)} rows`, 'colonnade connect()')?.rss, 150);
    check('insert rows/s, connect() / @clickhouse/client', ratio(get(ins, '@clickhouse/client insert')?.seconds, get(ins, 'colonnade connect()')?.seconds), 2, true);
    check('insert rows/s, connect() / raw undici pre-serialized', ratio(get(ins, 'raw undici')?.seconds, get(ins, 'colonnade connect()')?.seconds), 0.5, true);
    check('insert from an async iterable, peak RSS MB', get(ins, 'colonnade connect() async iterable')?.rss, 300);
    check('insert wall, pool / connect()', ratio(get(ins, 'colonnade pool')?.seconds, get(ins, 'colonnade connect()')?.seconds), 1.1);
    const asyncLine = get(`${fmt(n)} one-row asyncInsertToTable calls, then flush()`, 'colonnade pool');
    check('one-row asyncInsertToTable calls, rows/s', asyncLine && n / asyncLine.seconds, 300_000, true);
    out.push('', ...checks);
    console.log(out.join('\n'));
    await drop(url);
  }, ({ urls }) => drop(urls[0]!));
}

main().catch((error: unknown) => {
  console.error(`bench-big: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
