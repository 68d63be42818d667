/**
 * What the async writer does about a failure, and its own errors. A failure is sorted by
 * what sending the same bytes again can achieve: nothing (refused), something once a
 * server is back (unavailable), or maybe (other, within a retry budget).
 */
import { ClickHouseError, ColonnadeError } from '../clickhouse/errors.js';
import type { BackoffOptions } from './connection.machine.js';
import type { OverflowPolicy } from './writer-mailbox.js';

/**
 * Stable codes of the writer's own errors.
 *
 * @example
 * onError: (err) => { if ((err as { code?: string }).code === ('WRITER_MAILBOX_FULL' satisfies WriterErrorCode)) shed(); }
 */
export type WriterErrorCode = 'WRITER_MAILBOX_FULL' | 'WRITER_STOPPED';

/**
 * The mailbox was full; `count` rows were dropped by the overflow policy.
 *
 * @example
 * onError: (err, rows) => { if (err instanceof MailboxFullError) metrics.dropped += rows.length; }
 */
export class MailboxFullError extends ColonnadeError {
  declare readonly code: WriterErrorCode;
  readonly count: number;
  constructor(count: number, capacity: number, policy: OverflowPolicy) {
    super('WRITER_MAILBOX_FULL', `async writer mailbox full (${capacity} rows): ${count} row(s) dropped (${policy})`);
    this.count = count;
  }
}

/**
 * The writer stopped before these rows were written: left over when the shutdown time ran
 * out (an insert in flight at that moment may still land), or enqueued after stop.
 *
 * @example
 * onError: (err, rows) => { if (err.code === 'WRITER_STOPPED') spool(rows); }
 */
export class WriterStoppedError extends ColonnadeError {
  declare readonly code: WriterErrorCode;
  constructor(reason: string) {
    super('WRITER_STOPPED', `async writer stopped: ${reason}`);
  }
}

/**
 * Server codes meaning the request itself is wrong (bad data, SQL, types): sending the same
 * bytes again cannot succeed, so the batch is dead-lettered at once.
 */
const REFUSED = new Set([
  6, 8, 10, 16, 20, 25, 26, 27, 32, 33, 36, 38, 41, 42, 43, 44, 46, 47, 53, 57, 62, 69, 70, 72, 73, 117, 131, 321, 349,
]);

/**
 * How a failed attempt is treated: retried without limit, dead-lettered at once, or retried
 * within the `retries` budget.
 *
 * @example
 * const kind: WriteFailureKind = classifyWriteFailure(error);
 */
export type WriteFailureKind = 'unavailable' | 'refused' | 'other';

/**
 * Sorts a failure: `unavailable` (no server reached: retried while the mailbox holds it),
 * `refused` (bad data or SQL: dead-lettered at once), `other` (retried `retries` times).
 *
 * @example
 * classifyWriteFailure(new TimeoutError(5000, true)); // 'unavailable'
 */
export function classifyWriteFailure(error: unknown): WriteFailureKind {
  if (error instanceof ClickHouseError) return REFUSED.has(error.serverCode) ? 'refused' : 'other';
  const code = (error as { code?: unknown } | null)?.code;
  switch (code) {
    case 'TRANSPORT':
    case 'TIMEOUT':
    case 'POOL_NO_SERVER':
    case 'POOL_TIMEOUT':
    case 'POOL_NOT_STARTED':
    case 'POOL_STOPPED':
    case 'CLOSED':
      return 'unavailable';
    case 'QUERY_PARAM':
    case 'CONFIG':
      return 'refused';
    default:
      return 'other';
  }
}

/**
 * Capped exponential backoff with "equal jitter": never below half the cap, so a pool that
 * fails fast while every server is down does not spin.
 *
 * @example
 * retryDelay(3, { initial: 100, max: 10_000 }, () => 0.5); // 300
 */
export function retryDelay(attempt: number, backoff: BackoffOptions, random: () => number): number {
  const cap = Math.min(backoff.max, backoff.initial * 2 ** Math.max(0, attempt - 1));
  return Math.round(cap / 2 + (random() * cap) / 2);
}

/**
 * True when the pool itself is down, not the servers: its broker crashed or stopped, so the
 * supervisor is restarting it and stops the writer with it (rest_for_one). A drain cannot
 * make progress then, and the queue is kept for the restarted writer.
 *
 * @example
 * isPoolGone(new PoolNotStartedError('MyClickHouse')); // true
 */
export function isPoolGone(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'POOL_NOT_STARTED' || code === 'POOL_STOPPED';
}
