/**
 * One classifier for every failure the pool meets, typed against the error-code unions, so
 * a new code cannot be added without deciding here what it means. The connection machine
 * and the async writer each read the class their own way (see `connection.machine.ts` and
 * `writer/writer.ts`).
 */
import { ColonnadeError, TransportError, type ClickHouseError, type ErrorCode } from '../clickhouse/index.js';
import type { PoolErrorCode } from './errors.js';
import type { WriterErrorCode } from './writer/errors.js';

/**
 * What a failure says about the request and the server:
 * - `network`: the connection broke, or could not be made (counts against its health);
 * - `timeout`: the call's own time ran out; the caller's error, not the server's: the
 *   connection checks with `/ping` whether its server still answers before it counts;
 * - `unavailable`: the pool could not reach any server for it (nothing was sent);
 * - `refused`: the request itself is wrong (bad input, the server rejected its SQL or data, or
 *   its result is too large to hold); sending the same bytes again cannot succeed;
 * - `server`: the server answered with another error (may pass on a retry);
 * - `aborted`: the caller gave up;
 * - `bug`: something that is no colonnade error was thrown.
 *
 * @example
 * const kind: FailureClass = classifyFailure(error);
 */
export type FailureClass = 'network' | 'timeout' | 'unavailable' | 'refused' | 'server' | 'aborted' | 'bug';

/** How bad a network failure was: `hard` (the server refused the connection) marks it down at once. */
export type FailureKind = 'hard' | 'soft';

/**
 * Server codes meaning the request itself is wrong (bad data, SQL, types): sending the same
 * bytes again cannot succeed.
 */
/**
 * Server codes of an insert refused for the data of one of its rows (a value its column
 * cannot read, a Nested column's arrays of different lengths, a constraint, an unknown key).
 */
const ROW_REFUSALS = [6, 16, 25, 26, 27, 32, 33, 36, 38, 41, 53, 69, 70, 72, 117, 130, 131, 190, 349, 376, 469, 676, 677, 691];
const REFUSED_SERVER_CODES = new Set([...ROW_REFUSALS, 8, 10, 20, 42, 43, 44, 46, 47, 57, 62, 73, 321]);
// 18.16 reads an Enum's unknown element as a LOGICAL_ERROR (49), otherwise no refusal.
const ROW_DATA_CODES = new Set([...ROW_REFUSALS, 49]);

// What the server says of an input row it read: a value (`at row 2`, `the value of key id`), a Nested column's arrays.
const READ_ROW = /\bat row \d|\bvalue of key\b|of Nested data structure/i;
// A materialized view's query failed (the table itself stored the block before it), or a
// remote shard refused its part of a Distributed insert (the other shards may have stored theirs).
const FROM_VIEW = /pushing to view|Received from /i;

/**
 * True when the server refused an insert for the data of some row, as its input format or
 * the table's constraints read it (not a setting's value, not a materialized view's query,
 * which runs after the table stored the block, not a remote shard's refusal): the other rows of the batch are not at
 * fault, and an insert of a few thousand rows is one block, stored whole or not at all, so
 * they may go again without it. Sending the same row again cannot pass: the writer retries
 * none (all are `'refused'` but 18.16's code 49).
 *
 * @example
 * refusesRowData(new ClickHouseError({ serverCode: 27, serverMessage: 'Cannot parse input: expected \'"\' (at row 2)' }, 500)); // true
 */
export function refusesRowData(error: unknown): boolean {
  if (!(error instanceof ColonnadeError) || error.code !== 'CLICKHOUSE') return false;
  const { serverCode, serverMessage } = error as ClickHouseError;
  return ROW_DATA_CODES.has(serverCode) && READ_ROW.test(serverMessage) && !FROM_VIEW.test(serverMessage);
}

/**
 * Why a hedged read's slower attempt is aborted (`hedge.ts`): not the caller's giving up.
 *
 * @example
 * controller.abort(new HedgeLost());
 */
export class HedgeLost extends Error {
  constructor() {
    super('hedged read: another server answered first');
  }
}

/**
 * Sorts any error thrown while serving a call.
 *
 * @example
 * classifyFailure(new TimeoutError(100, true)); // 'timeout'
 * classifyFailure(new NoServerAvailableError(3)); // 'unavailable'
 */
export function classifyFailure(error: unknown): FailureClass {
  if (!(error instanceof ColonnadeError)) return 'bug';
  const code = error.code as ErrorCode | PoolErrorCode | WriterErrorCode;
  switch (code) {
    case 'TRANSPORT':
      return 'network';
    case 'TIMEOUT':
      return 'timeout';
    case 'ABORTED':
      // A hedged read's slower attempt, given up: its server is asked, as after a timeout.
      return error.cause instanceof HedgeLost ? 'timeout' : 'aborted';
    case 'CLICKHOUSE':
      return REFUSED_SERVER_CODES.has((error as ClickHouseError).serverCode) ? 'refused' : 'server';
    case 'QUERY_PARAM':
    case 'CONFIG':
    // Every server would send the same too-large answer; the socket it came on was destroyed
    // by the reader, and undici opens a new one for the next request.
    case 'RESULT_TOO_LARGE':
      return 'refused';
    case 'POOL_NO_SERVER':
    case 'POOL_TIMEOUT':
    case 'POOL_NOT_STARTED':
    case 'POOL_STOPPED':
    case 'CLOSED':
      return 'unavailable';
    case 'PROTOCOL':
    case 'POOL_SUPERVISED':
    case 'POOL_CONNECTION_CRASHED':
    case 'WRITER_MAILBOX_FULL':
    case 'WRITER_STOPPED':
    case 'WRITE_OUTCOME_UNKNOWN':
      return 'server';
    default:
      return code satisfies never;
  }
}

/**
 * `hard` when the server provably never got the request (refused): down at once.
 *
 * @example
 * failureKind(new TransportError('ECONNREFUSED', false)); // 'hard'
 */
export function failureKind(error: unknown): FailureKind {
  return error instanceof TransportError && !error.requestSent ? 'hard' : 'soft';
}

/**
 * True when the pool itself is down, not the servers: its broker crashed or stopped, so the
 * supervisor is restarting it (rest_for_one) and the writer with it.
 *
 * @example
 * isPoolGone(new PoolNotStartedError('MyClickHouse')); // true
 */
export function isPoolGone(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'POOL_NOT_STARTED' || code === 'POOL_STOPPED';
}
