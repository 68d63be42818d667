/** The async writer's own errors, each with a stable code. */
import { ColonnadeError } from '../../clickhouse/index.js';
import type { AsyncOverflowPolicy } from './mailbox.js';

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
  constructor(count: number, capacity: number, policy: AsyncOverflowPolicy) {
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
