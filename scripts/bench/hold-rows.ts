// What holding a million rows costs by itself, whatever the client: the same 8-column rows
// as bench-big.ts, made and dropped, then made and kept in an array, then the same kept with
// the DateTime as its seconds instead of a Date (what the Dates alone cost to hold), then made
// by JSON.parse and kept (as @clickhouse/client's json() does, the DateTime as text), then made
// and kept as copies (what asyncInsertToTable must keep of rows a caller may reuse: its own
// object, Date and array, `captureRow`), the floor of the one-row asyncInsertToTable line. Each in a process of its own, so that one's
// heap does not weigh on the next; wall and CPU (the garbage collector's threads included).
// With --gc, each mode's collections as `--trace-gc` tells them: young-generation
// (scavenge) and full (mark-compact) collections, count and main-thread milliseconds.
// Run: node --import tsx scripts/bench/hold-rows.ts [rows=1000000] [--gc]
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { captureRow } from '../../src/pool/writer/mailbox.js';
import { bigRow } from './big-worker.js';

const MODES = ['made and dropped', 'made and held', 'held, DateTime a number', 'JSON.parse and held', 'made, copied and held'] as const;
type Mode = (typeof MODES)[number];

function run(mode: Mode, rows: number): { ms: number; cpuMs: number; rssMb: number; held: number } {
  const held: unknown[] = [];
  const text = mode === 'JSON.parse and held' ? Array.from({ length: rows }, (_, i) => JSON.stringify({ ...bigRow(i), dt: String(1_600_000_000 + i) })) : [];
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  for (let i = 0; i < rows; i++) {
    const row = mode === 'JSON.parse and held' ? JSON.parse(text[i] as string) as unknown
      : mode === 'held, DateTime a number' ? { ...bigRow(i), dt: 1_600_000_000 + i } : mode === 'made, copied and held' ? captureRow(bigRow(i)) : bigRow(i);
    if (mode !== 'made and dropped') held.push(row);
  }
  const c = process.cpuUsage(c0);
  const ms = performance.now() - t0;
  return { ms, cpuMs: (c.user + c.system) / 1000, rssMb: process.resourceUsage().maxRSS / 1024, held: held.length };
}

if (process.env.HOLD_MODE !== undefined) {
  process.send?.(run(process.env.HOLD_MODE as Mode, Number(process.env.HOLD_ROWS)), () => process.exit(0));
} else {
  const args = process.argv.slice(2);
  const traceGc = args.includes('--gc');
  const rows = Number(args.find((a) => !a.startsWith('--')) ?? 1_000_000);
  console.log(`${rows.toLocaleString('en-US')} rows of 8 columns (a Date, an array, three strings), node ${process.version}`);
  for (const mode of MODES) {
    let trace = '';
    const result = await new Promise<{ ms: number; cpuMs: number; rssMb: number }>((resolve, reject) => {
      const child = fork(fileURLToPath(import.meta.url), [], {
        execArgv: ['--import', 'tsx', '--max-old-space-size=8192', ...(traceGc ? ['--trace-gc'] : [])],
        env: { ...process.env, HOLD_MODE: mode, HOLD_ROWS: String(rows) }, stdio: traceGc ? ['ignore', 'pipe', 'inherit', 'ipc'] : 'inherit',
      });
      child.stdout?.on('data', (chunk: Buffer) => { trace += chunk.toString('utf8'); });
      child.once('message', (m) => resolve(m as { ms: number; cpuMs: number; rssMb: number }));
      child.once('error', reject);
    });
    console.log(`${mode.padEnd(24)} wall ${result.ms.toFixed(0).padStart(6)} ms   CPU ${result.cpuMs.toFixed(0).padStart(6)} ms   peak RSS ${result.rssMb.toFixed(0)} MB${traceGc ? `   ${gcTotals(trace)}` : ''}`);
  }
}

/** Count and main-thread ms of scavenges and mark-compacts in a `--trace-gc` log (the loading of modules included). */
function gcTotals(log: string): string {
  const totals = { Scavenge: [0, 0], 'Mark-Compact': [0, 0] } as Record<string, [number, number]>;
  for (const m of log.matchAll(/(Scavenge|Mark-Compact)\b[^,]*, ([\d.]+) \/ [\d.]+ ms/g)) {
    const t = totals[m[1] as string] as [number, number];
    t[0]++;
    t[1] += Number(m[2]);
  }
  const [s, sMs] = totals.Scavenge as [number, number];
  const [mc, mcMs] = totals['Mark-Compact'] as [number, number];
  return `GC: ${s} scavenges ${sMs.toFixed(0)} ms, ${mc} mark-compacts ${mcMs.toFixed(0)} ms`;
}
