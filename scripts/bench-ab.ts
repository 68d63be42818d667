// One line of the big-work benchmark for several commits side by side, in one run: each commit
// is checked out into a worktree of its own under .bench/, bundled there as bench-big bundles
// it, and its cells (scripts/bench/big-worker.ts of this checkout, in a child process each)
// interleaved over the rounds with @clickhouse/client's; medians printed, every cell's
// checksum checked. For what a change did to one line, on a machine too noisy to compare runs.
// Run: npm run bench:ab -- --commits=aeedf1e,HEAD [--op=insert|select|stream --rounds=5 --engine=modern]
// It starts the local cluster if it is not running, and stops it again at the end.
import { execFileSync } from 'node:child_process';
import { existsSync, rmSync, symlinkSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { benchSession, joinFlags } from './bench/session.js';
import { runChild } from './bench/child.js';
import { BIG_COLUMNS, type BigContender, type BigReport, type BigTask } from './bench/big-worker.js';

const flags = new Map(joinFlags(process.argv.slice(2)).map((a) => {
  const m = /^--([a-z]+)=(.+)$/.exec(a);
  if (!m || !['commits', 'op', 'rounds', 'engine'].includes(m[1]!)) throw new Error(`bench-ab: unknown argument ${a} (flags: --commits=a,b --op=insert --rounds=5 --engine=modern)`);
  return [m[1]!, m[2]!] as const;
}));
const commits = (flags.get('commits') ?? '').split(',').filter((c) => c !== '');
if (commits.length === 0) throw new Error('bench-ab: --commits=<commit>,<commit>... is required');
const op = (flags.get('op') ?? 'insert') as 'insert' | 'select' | 'stream';
if (!['insert', 'select', 'stream'].includes(op)) throw new Error(`bench-ab: --op takes insert, select or stream, got ${op}`);
const rounds = Number(flags.get('rounds') ?? 5);
if (!Number.isInteger(rounds) || rounds < 1 || rounds > 15) throw new Error(`bench-ab: --rounds must be an integer in 1..15, got ${flags.get('rounds')}`);
const engine = flags.get('engine') ?? '18.16';
if (engine !== '18.16' && engine !== 'modern') throw new Error(`bench-ab: --engine takes 18.16 or modern, got ${engine}`);

const root = fileURLToPath(new URL('../', import.meta.url));
const git = (...args: string[]): string => execFileSync('git', args, { cwd: root, encoding: 'utf8' }).trim();
const ROWS = 1_000_000;
const other: Record<typeof op, BigContender> = { insert: '@clickhouse/client insert', select: '@clickhouse/client json()', stream: '@clickhouse/client stream()' };

// Each commit's bundle, built in a worktree of its own (removed at the end).
const trees: string[] = [];
const bundles = commits.map((commit) => {
  const sha = git('rev-parse', '--short', commit);
  const tree = `${root}.bench/ab-${sha}`;
  if (existsSync(tree)) git('worktree', 'remove', '--force', tree);
  git('worktree', 'add', '--detach', tree, sha);
  trees.push(tree);
  symlinkSync(`${root}node_modules`, `${tree}/node_modules`);
  const url = execFileSync(process.execPath, ['--import', 'tsx', '-e', "import('./scripts/bench/bundle.ts').then(async (m) => console.log(await m.bundleColonnade()))"], { cwd: tree, encoding: 'utf8' }).trim();
  return { name: commit === sha ? sha : `${commit} (${sha})`, url };
});

try {
  await benchSession(engine, async ({ urls, colonnade }) => {
    const url = urls[0]!;
    const origin = new URL(url).origin;
    const sql = async (text: string): Promise<string> => {
      const res = await fetch(`${origin}/`, { method: 'POST', body: text });
      const body = await res.text();
      if (!res.ok) throw new Error(`${text.slice(0, 60)}: HTTP ${res.status} ${body.slice(0, 300)}`);
      return body;
    };
    const table = `bench_ab_${process.pid}`;
    await sql(`CREATE TABLE ${table} (${BIG_COLUMNS}) ENGINE = MergeTree ORDER BY u64`);
    try {
      if (op !== 'insert') {
        await sql(`INSERT INTO ${table} SELECT number, toInt32(number % 100000) - 50000, number / 3, concat('name-', toString(number)), toDateTime(1600000000 + number),
          if(number % 5 = 0, NULL, toString(number % 1000)), [toUInt32(number % 10), toUInt32(number % 7)], CAST(['a', 'b', 'c'][number % 3 + 1] AS Enum8('a' = 1, 'b' = 2, 'c' = 3)) FROM numbers(${ROWS})`);
      }
      const cells = [...bundles.map((b) => ({ name: b.name, contender: 'colonnade connect()' as BigContender, colonnade: b.url })), { name: other[op], contender: other[op], colonnade }];
      const seen = new Map<string, { seconds: number[]; cpu: number[] }>(cells.map((c) => [c.name, { seconds: [], cpu: [] }]));
      const checksums = new Set<string>();
      for (let round = 0; round < rounds; round++) {
        console.log(`round ${round + 1} of ${rounds} ...`);
        for (let k = 0; k < cells.length; k++) {
          const cell = cells[(k + round) % cells.length]!;
          const task: BigTask = { op, contender: cell.contender, url, table, rows: ROWS, colonnade: cell.colonnade };
          const report = await runChild<BigReport>('./big-worker.ts', task, { deadlineMs: 600_000, execArgv: ['--max-old-space-size=8192'] });
          if (report.error !== undefined) throw new Error(`${cell.name}: ${report.error}`);
          if (op === 'insert') {
            checksums.add((await sql(`SELECT count(), sum(u64), sum(length(s)) FROM ${table} FORMAT TSV`)).trim().replace(/\t/g, '/'));
            await sql(`TRUNCATE TABLE ${table}`);
          } else checksums.add(report.checksum);
          seen.get(cell.name)!.seconds.push(report.seconds);
          seen.get(cell.name)!.cpu.push(report.cpuSeconds);
        }
      }
      if (checksums.size !== 1) throw new Error(`the cells read or stored different rows: ${[...checksums].join(' ')}`);
      const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
      const theirs = seen.get(other[op])!;
      console.log(`\n${op} of ${ROWS.toLocaleString('en-US')} rows, ClickHouse ${(await sql('SELECT version()')).trim()}, medians of ${rounds} interleaved rounds, checksum ${[...checksums][0]}\n`);
      console.log(`| build | wall s | client CPU s | ${op === 'insert' ? 'rows/s against' : 'CPU of'} ${other[op]} |`);
      console.log('|---|---|---|---|');
      for (const [name, m] of seen) {
        const ratio = op === 'insert' ? median(theirs.seconds) / median(m.seconds) : median(m.cpu) / median(theirs.cpu);
        console.log(`| ${name} | ${median(m.seconds).toFixed(2)} | ${median(m.cpu).toFixed(2)} | ${ratio.toFixed(2)}× |`);
      }
    } finally {
      await sql(`DROP TABLE IF EXISTS ${table}`);
    }
  });
} finally {
  for (const tree of trees) {
    git('worktree', 'remove', '--force', tree);
    rmSync(tree, { recursive: true, force: true });
  }
  git('worktree', 'prune');
}
