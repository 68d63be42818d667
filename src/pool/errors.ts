/**
 * Errors raised by the pool itself (not by a server or the network). Each has a stable
 * `code`; tests and callers branch on the code, never on the words.
 */
import { ColonnadeError } from '../clickhouse/index.js';

/**
 * Codes of the pool's own errors.
 *
 * @example
 * const retryable: PoolErrorCode[] = ['POOL_TIMEOUT', 'POOL_NO_SERVER'];
 * try { await MyClickHouse.select('SELECT 1'); } catch (e) {
 *   if (e instanceof PoolError && retryable.includes(e.code)) scheduleRetry(); else throw e;
 * }
 */
export type PoolErrorCode =
  | 'POOL_TIMEOUT'
  | 'POOL_NO_SERVER'
  | 'POOL_NOT_STARTED'
  | 'POOL_STOPPED'
  | 'POOL_SUPERVISED'
  | 'POOL_CONNECTION_CRASHED';

/**
 * Base class of the pool's errors.
 *
 * @example
 * try { await pool.select('SELECT 1'); } catch (e) { if (e instanceof PoolError) console.log(e.code); }
 */
export class PoolError extends ColonnadeError {
  declare readonly code: PoolErrorCode;
  constructor(code: PoolErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/**
 * No connection became free within `poolTimeout`; the caller's place in line is gone.
 *
 * @example
 * catch (e) { if (e instanceof PoolTimeoutError) retryLater(); } // e.code === 'POOL_TIMEOUT'
 */
export class PoolTimeoutError extends PoolError {
  constructor(waitedMs: number) {
    super('POOL_TIMEOUT', `no connection became free within ${waitedMs} ms (poolTimeout)`);
  }
}

/**
 * Every server is marked down: the call fails at once instead of waiting out `poolTimeout`.
 *
 * @example
 * catch (e) { if (e instanceof NoServerAvailableError) alert('ClickHouse is down'); } // 'POOL_NO_SERVER'
 */
export class NoServerAvailableError extends PoolError {
  constructor(servers: number, options?: { cause?: unknown }) {
    super('POOL_NO_SERVER', `no ClickHouse server is available: all ${servers} marked down`, options);
  }
}

/**
 * The pool was used before `start()` (or `startSupervisor([pool])`) or after it stopped, or
 * while it restarts its connections (a call lent one that could not start).
 *
 * @example
 * await MyClickHouse.select('SELECT 1'); // rejects with code 'POOL_NOT_STARTED' before start()
 */
export class PoolNotStartedError extends PoolError {
  /** `why` replaces the advice to start the pool when it is running but its connections are not (`cause`: what refused them). */
  constructor(name: string, options?: { why: string; cause: unknown }) {
    super('POOL_NOT_STARTED', `pool "${name}" ${options?.why ?? 'is not started: call start() or startSupervisor([pool]) first'}`, options && { cause: options.cause });
  }
}

/**
 * The pool is stopping; calls still waiting for a connection are refused.
 *
 * @example
 * catch (e) { if (e.code === 'POOL_STOPPED') return; }
 */
export class PoolStoppedError extends PoolError {
  constructor(name: string) {
    super('POOL_STOPPED', `pool "${name}" stopped`);
  }
}

/**
 * The connection actor serving the call crashed (a bug, not a network failure); the
 * supervisor restarts it, the call is not retried.
 *
 * @example
 * catch (e) { if (e.code === 'POOL_CONNECTION_CRASHED') report(e.cause); }
 */
export class ConnectionCrashedError extends PoolError {
  constructor(connection: string, cause: unknown) {
    super('POOL_CONNECTION_CRASHED', `connection ${connection} crashed while serving the call`, { cause });
  }
}
