// The soak's bookkeeping (what happened to every id it made) and its one printed table.
import type { Row, WriterStats } from '../../src/index.js';

const SYNC_OK = 1;
const ASYNC = 2;
const REPORTED = 4;
const SYNC_FAILED = 8;

/** What one replica holds after `SYSTEM SYNC REPLICA`: id → how many times it is stored. */
export interface Replica {
  index: number;
  count: number;
  unique: number;
  ids: Map<number, number>;
}

type Tally = Map<string, { calls: number; rows: number }>;
const bump = (t: Tally, code: string, rows: number) => {
  const e = t.get(code) ?? { calls: 0, rows: 0 };
  e.calls++;
  e.rows += rows;
  t.set(code, e);
};

/**
 * Every id the soak made, with what the client was told about it, plus call counters.
 *
 * @example
 * const ledger = new Ledger();
 * const row = { id: ledger.nextId() };
 * ledger.asyncAccepted(row);
 */
export class Ledger {
  #status = new Uint8Array(1 << 16);
  #last = 0;
  readonly sync = { calls: 0, rows: 0, failed: new Map() as Tally };
  readonly async = { rows: 0, refused: new Map() as Tally };
  readonly onError = new Map() as Tally;
  readonly selects = { ok: 0, failed: new Map() as Tally, failedWhileHealthy: new Map() as Tally };
  readonly faults = new Map<string, number>();
  readonly latencies = new Map<string, number[]>();

  get lastId(): number { return this.#last; }

  nextId(): number {
    this.#last++;
    if (this.#last >= this.#status.length) {
      const grown = new Uint8Array(this.#status.length * 2);
      grown.set(this.#status);
      this.#status = grown;
    }
    return this.#last;
  }

  status(id: number): number { return this.#status[id] ?? 0; }

  syncResolved(rows: readonly Row[]): void {
    this.sync.calls++;
    this.sync.rows += rows.length;
    this.#mark(rows, SYNC_OK);
  }

  syncFailed(code: string, rows: readonly Row[]): void {
    bump(this.sync.failed, code, rows.length);
    this.#mark(rows, SYNC_FAILED);
  }

  asyncAccepted(row: Row): void {
    this.async.rows++;
    this.#mark([row], ASYNC);
  }

  asyncRefused(code: string): void { bump(this.async.refused, code, 1); }

  reported(code: string, rows: readonly Row[]): void {
    bump(this.onError, code, rows.length);
    this.#mark(rows, REPORTED);
  }

  selectOk(): void { this.selects.ok++; }

  selectFailed(code: string, someServerHealthy: boolean): void {
    bump(this.selects.failed, code, 1);
    if (someServerHealthy) bump(this.selects.failedWhileHealthy, code, 1);
  }

  latency(kind: string, ms: number): void {
    const list = this.latencies.get(kind) ?? [];
    list.push(ms);
    this.latencies.set(kind, list);
  }

  fault(kind: string): void { this.faults.set(kind, (this.faults.get(kind) ?? 0) + 1); }

  #mark(rows: readonly Row[], bit: number): void {
    for (const row of rows) {
      const id = Number(row.id);
      if (Number.isInteger(id) && id > 0 && id <= this.#last) this.#status[id]! |= bit;
    }
  }
}

/** What the report needs besides the ledger. */
export interface ReportInput {
  minutes: number;
  seed: number;
  table: string;
  proxied: number;
  loadMs: number;
  elapsedMs: number;
  ledger: Ledger;
  replicas: Replica[];
  notes: string[];
  writer: WriterStats;
  resources: { start: Record<string, number>; end: Record<string, number> };
  heap: { start: number; end: number };
}

/**
 * Prints the one table and returns whether every target held.
 *
 * @example
 * const ok = printReport(input); process.exit(ok ? 0 : 1);
 */
export function printReport(r: ReportInput): boolean {
  const { ledger } = r;
  const rows: Array<[string, string, string]> = [];
  const failures: string[] = [];
  const add = (metric: string, value: string | number, target = '') => rows.push([metric, String(value), target]);
  const check = (metric: string, value: number, what: string) => {
    add(metric, value, value === 0 ? 'target 0: ok' : 'target 0: FAILED');
    if (value !== 0) failures.push(`${what}: ${value}`);
  };
  const tally = (t: Tally, unit: 'calls' | 'rows') =>
    [...t].sort((a, b) => b[1][unit] - a[1][unit]).map(([code, e]) => `${code} ${e[unit]}`).join(', ') || '-';
  const total = (t: Tally, unit: 'calls' | 'rows') => [...t.values()].reduce((n, e) => n + e[unit], 0);

  add('run', `load ${(r.loadMs / 60_000).toFixed(1)} min (asked ${r.minutes}), wall ${(r.elapsedMs / 60_000).toFixed(1)} min, seed ${r.seed}`);
  add('table', `${r.table} (ReplicatedMergeTree, 3 replicas)`);
  add('faults', [...ledger.faults].map(([k, n]) => `${k} ${n}`).join(', ') || 'none');
  add('', `server ${r.proxied} reached through the fault proxy`);
  add('rows sent (sync resolved + async accepted)', ledger.sync.rows + ledger.async.rows);
  add('  insertToTable calls resolved / their rows', `${ledger.sync.calls} / ${ledger.sync.rows}`);
  add('  asyncInsertToTable rows accepted', ledger.async.rows);
  add('  asyncInsertToTable rows refused (threw)', `${total(ledger.async.refused, 'rows')} (${tally(ledger.async.refused, 'rows')})`);
  add('insertToTable calls failed (by code)', `${total(ledger.sync.failed, 'calls')} (${tally(ledger.sync.failed, 'calls')})`);
  add('  rows in those calls', total(ledger.sync.failed, 'rows'));
  add('rows reported to onError (by code)', `${total(ledger.onError, 'rows')} (${tally(ledger.onError, 'rows')})`);
  add('writer stats at end', `written ${r.writer.written}, retried ${r.writer.retried}, dropped ${r.writer.dropped}, failed ${r.writer.failed}, queued ${r.writer.queued}`);

  for (const rep of r.replicas) {
    let lost = 0;
    let dupUnreported = 0;
    let landedAfterFailure = 0;
    let landedAfterReport = 0;
    let unknown = 0;
    for (let id = 1; id <= ledger.lastId; id++) {
      const s = ledger.status(id);
      const stored = rep.ids.get(id) ?? 0;
      if ((s & (SYNC_OK | ASYNC)) && !(s & REPORTED) && stored === 0) lost++;
      if (stored > 1 && !(s & REPORTED)) dupUnreported += stored - 1;
      if (stored > 0 && (s & SYNC_FAILED)) landedAfterFailure++;
      if (stored > 0 && (s & REPORTED)) landedAfterReport++;
    }
    for (const id of rep.ids.keys()) if (id < 1 || id > ledger.lastId) unknown++;
    add(`replica ${rep.index}: rows stored (distinct ids)`, rep.unique);
    add(`replica ${rep.index}: rows duplicated (count - uniqExact)`, rep.count - rep.unique);
    check(`replica ${rep.index}: rows lost, not reported to onError`, lost, `replica ${rep.index} lost rows that onError did not report`);
    check(`replica ${rep.index}: duplicates not reported to onError`, dupUnreported, `replica ${rep.index} stored unreported duplicates`);
    add(`replica ${rep.index}: stored although insertToTable failed`, landedAfterFailure);
    add(`replica ${rep.index}: stored although reported to onError`, landedAfterReport);
    if (unknown > 0) check(`replica ${rep.index}: ids the soak never made`, unknown, `replica ${rep.index} holds unknown ids`);
  }
  check('replicas that could not be counted', 3 - r.replicas.length, 'replicas that could not be counted');

  add('selects ok', ledger.selects.ok);
  add('selects failed (by code)', `${total(ledger.selects.failed, 'calls')} (${tally(ledger.selects.failed, 'calls')})`);
  check('selects failed while a server was healthy', total(ledger.selects.failedWhileHealthy, 'calls'), 'selects failed while at least one server was healthy');
  add('  their codes', tally(ledger.selects.failedWhileHealthy, 'calls'));
  add('  failed while no server was healthy', total(ledger.selects.failed, 'calls') - total(ledger.selects.failedWhileHealthy, 'calls'));

  for (const [kind, list] of ledger.latencies) {
    const sorted = [...list].sort((a, b) => a - b);
    const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
    const f = (ms: number) => (ms < 1 ? ms.toFixed(3) : ms < 10 ? ms.toFixed(1) : ms.toFixed(0));
    add(`latency ${kind} (ms)`, `max ${f(at(1))}, p99 ${f(at(0.99))}, p50 ${f(at(0.5))}, n ${sorted.length}`);
  }
  const res = (o: Record<string, number>) => Object.entries(o).sort().map(([k, n]) => `${k} ${n}`).join(', ') || 'none';
  add('active resources at start', res(r.resources.start));
  add('active resources after stop', res(r.resources.end));
  add('heap used start -> end (MB)', `${(r.heap.start / 2 ** 20).toFixed(1)} -> ${(r.heap.end / 2 ** 20).toFixed(1)}`);
  for (const note of r.notes) add('wind-down problem', note, 'FAILED');
  if (r.notes.length > 0) failures.push(`wind-down: ${r.notes.join('; ')}`);

  const w0 = Math.max(...rows.map((x) => x[0].length));
  const w1 = Math.min(70, Math.max(...rows.map((x) => x[1].length)));
  const rule = '-'.repeat(w0 + w1 + 24);
  const lines = [rule, `${'metric'.padEnd(w0)}  ${'value'.padEnd(w1)}  target`, rule,
    ...rows.map(([m, v, t]) => `${m.padEnd(w0)}  ${v.padEnd(w1)}  ${t}`.trimEnd()), rule];
  lines.push(failures.length === 0 ? 'RESULT: every target held' : `RESULT: FAILED\n${failures.map((f) => `  - ${f}`).join('\n')}`);
  console.log(lines.join('\n'));
  return failures.length === 0;
}
