/** The async writer's own errors, each with a stable code. */
import { ColonnadeError } from '../../clickhouse/index.js';
import type { AsyncOverflowPolicy } from './mailbox.js';

/**
 * Stable codes of the writer's own errors.
 *
 * @example
 * onError: (err) => { if ((err as { code?: string }).code === ('WRITER_MAILBOX_FULL' satisfies WriterErrorCode)) shed(); }
 */
export type WriterErrorCode = 'WRITER_MAILBOX_FULL' | 'WRITER_STOPPED' | 'WRITE_OUTCOME_UNKNOWN';

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

/**
 * A batch or statement was sent and its answer lost (a timeout, a broken connection, a
 * connection stopped under it), and its server could not say whether it was stored
 * (`system.processes` / `system.query_log` by its `queryId`), nor does the table
 * deduplicate a repeat: sending it again could store it twice, so it is not sent again.
 * The rows go to onError with this error; `cause` is the failure of the send.
 *
 * @example
 * onError: (err, rows) => { if (err.code === 'WRITE_OUTCOME_UNKNOWN') reconcileLater(rows, (err as WriteOutcomeUnknownError).queryId); }
 */
export class WriteOutcomeUnknownError extends ColonnadeError {
  declare readonly code: WriterErrorCode;
  /** The `query_id` the lost send carried; look it up in the server's `system.query_log`. */
  readonly queryId: string;
  /** The redacted connection string of the server it was sent to. */
  readonly server: string;
  constructor(queryId: string, server: string, cause: unknown, why: string) {
    super('WRITE_OUTCOME_UNKNOWN', `async write ${queryId} to ${server}: sent, its answer lost, and ${why}; not sent again, so it cannot be stored twice`, { cause });
    this.queryId = queryId;
    this.server = server;
  }
}
