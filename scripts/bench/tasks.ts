// What the parent (scripts/bench.ts) and its workers send each other.
import type { ClientName } from './clients.js';

/** What a resident select worker is started with. */
export interface SelectTask {
  readonly client: ClientName;
  readonly urls: readonly string[];
  readonly perServer: number;
  /** File URL of colonnade's bundle (bundle.ts). */
  readonly colonnade: string;
  /** Warm-up at start, at the highest concurrency. */
  readonly warmupMs: number;
  readonly warmupConcurrency: number;
  /** Where to write a CPU profile of everything after the start-up warm-up, if wanted. */
  readonly profileDir?: string;
}

/** Parent to worker: measure one cell (after a short unmeasured warm-up at the same concurrency), or finish. */
export type SelectRequest =
  | { readonly type: 'cell'; readonly concurrency: number; readonly ms: number; readonly warmupMs: number }
  | { readonly type: 'close' };

export interface SelectCell {
  readonly concurrency: number;
  readonly queries: number;
  readonly errors: number;
  readonly firstError?: string;
  readonly qps: number;
  /** CPU of the whole client process (user + system) per query, in microseconds. */
  readonly cpuUs: number;
}

/** Worker to parent: ready (after start), a cell, closed, or a failure. */
export type SelectReply =
  | { readonly type: 'ready' }
  | { readonly type: 'cell'; readonly cell: SelectCell }
  | { readonly type: 'closed' }
  | { readonly type: 'failed'; readonly error: string };

export const INSERT_MODES = ['undici-batches', 'insertToTable', 'asyncInsertToTable'] as const;
export type InsertMode = (typeof INSERT_MODES)[number];

export interface InsertTask {
  readonly mode: InsertMode;
  /** File URL of colonnade's bundle (bundle.ts). */
  readonly colonnade: string;
  readonly urls: readonly string[];
  readonly table: string;
  readonly rows: number;
  readonly batch: number;
  /** Async mode: the caller yields to the event loop after this many calls, as a real one would. */
  readonly yieldEvery: number;
}

export interface InsertResult {
  readonly seconds: number;
  /** Async mode: the time the calls themselves took (the caller-side rate). */
  readonly callSeconds?: number;
  readonly cpuUsPerRow: number;
  readonly dropped: number;
  readonly deadLettered: number;
  readonly requests?: number;
  /** Live heap after a full GC once every row is written (the client still open). */
  readonly heapMb: number;
}

export type InsertReport = { readonly ok: true; readonly result: InsertResult } | { readonly ok: false; readonly error: string };
