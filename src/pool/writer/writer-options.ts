/** The async writer's options, its dead-letter hook and its counters. */
import type { Row } from '../../clickhouse/index.js';
import type { BackoffOptions } from '../backoff.js';
import type { AsyncOverflowPolicy } from './mailbox.js';

/**
 * The dead letter: rows the writer could not write, and why.
 *
 * @example
 * const onError: OnErrorHook = (error, rows) => console.warn(`${rows.length} rows not written: ${error.message}`);
 * definePool({ connectionStrings, onError });
 */
export type OnErrorHook = (error: Error, rows: readonly Row[]) => void;

/**
 * The writer's share of the pool options (see the option table in the README).
 *
 * @example
 * const options: WriterOptions = { mailbox: 100_000, batchSize: 10_000, flushInterval: 1000, overflow: 'drop_newest',
 *   retries: 5, backoff: { initial: 100, max: 10_000 }, onError: (err, rows) => console.warn(err.message, rows.length) };
 */
export interface WriterOptions {
  /** Most rows (and SQL entries) held at once, including the batch being sent. */
  readonly mailbox: number;
  /** Rows per insert for one table; a batch is sent when it reaches this many rows. */
  readonly batchSize: number;
  /** Milliseconds: a non-empty batch is sent at the latest this long after its first row. */
  readonly flushInterval: number;
  readonly overflow: AsyncOverflowPolicy;
  /** Retries of one batch on errors other than "no server reachable" (those wait forever). */
  readonly retries: number;
  /** Delay before retry n is random in [c/2, c], c = min(max, initial * 2^(n-1)). */
  readonly backoff: BackoffOptions;
  /** The dead letter: rows that were refused, ran out of retries, or were dropped. */
  readonly onError: OnErrorHook;
  /** Batches use the server's own async inserts (`async_insert=1, wait_for_async_insert=1`) instead of `async_insert=0`, where the server has them. */
  readonly serverAsyncInsert: boolean;
}

/**
 * A snapshot of the writer's counters, in rows (a SQL request counts as one).
 *
 * @example
 * const { queued, inFlight, dropped } = MyClickHouse.stats().writer;
 */
export interface WriterStats {
  /** Waiting in the mailbox, not yet being sent. */
  readonly queued: number;
  /** In the batch being sent or waiting to be retried. */
  readonly inFlight: number;
  readonly written: number;
  /** Refused by the overflow policy, or enqueued after the writer stopped. */
  readonly dropped: number;
  /** Dead-lettered: refused by the server, out of retries, or left over at shutdown. */
  readonly failed: number;
  /** Failed attempts that were (or will be) sent again, in requests, not rows. */
  readonly retried: number;
}
