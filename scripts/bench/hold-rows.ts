// What holding a million rows costs by itself, whatever the client: the same 8-column rows
// as bench-big.ts, made and dropped, then made and kept in an array, then the same kept with
// the DateTime as its seconds instead of a Date (what the Dates alone cost to hold), then made
// by JSON.parse and kept (as @clickhouse/client's json() does, the DateTime as text), then made
// and kept as copies (what asyncInsertToTable must keep of rows a caller may reuse: its own
// object, Date and array, `captureRow`), the floor of the one-row asyncInsertToTable line. Each in a process of its own, so that one's
// heap does not weigh on the next; wall and CPU (the garbage collector's threads included).
// Run: node --import tsx scripts/bench/hold-rows.ts [rows=1000000]
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
  const rows = Number(process.argv[2] ?? 1_000_000);
  console.log(`${rows.toLocaleString('en-US')} rows of 8 columns (a Date, an array, three strings), node ${process.version}`);
  for (const mode of MODES) {
    const result = await new Promise<{ ms: number; cpuMs: number; rssMb: number }>((resolve, reject) => {
      const child = fork(fileURLToPath(import.meta.url), [], { execArgv: ['--import', 'tsx', '--max-old-space-size=8192'], env: { ...process.env, HOLD_MODE: mode, HOLD_ROWS: String(rows) } });
      child.once('message', (m) => resolve(m as { ms: number; cpuMs: number; rssMb: number }));
      child.once('error', reject);
    });
    console.log(`${mode.padEnd(24)} wall ${result.ms.toFixed(0).padStart(6)} ms   CPU ${result.cpuMs.toFixed(0).padStart(6)} ms   peak RSS ${result.rssMb.toFixed(0)} MB`);
  }
}
