// The pool layer's barrel: what src/index.ts re-exports.
export { definePool } from './define-pool.js';
export type { ClickHousePool, PoolMessage, AsyncMessage, PoolResults } from './pool-api.js';
export type { PoolOptions, AsyncOverflowPolicy, OnErrorHook } from './options.js';
export type { PoolStats, ServerStats } from './stats.js';
export type { BalanceStrategy } from './broker/balancer.js';
export type { ConnectionState } from './connection/connection.machine.js';
export {
  PoolError, PoolTimeoutError, NoServerAvailableError, PoolNotStartedError, PoolStoppedError, ConnectionCrashedError,
} from './errors.js';
export type { PoolErrorCode } from './errors.js';
export { MailboxFullError, WriterStoppedError } from './writer/errors.js';
export type { WriterErrorCode } from './writer/errors.js';
export type { WriterStats } from './writer/writer.js';
// For the observer (src/observer), which walks a tree and finds its pools; not re-exported by src/index.ts.
export { poolOf, reasonText } from './events.js';
export type {
  PoolEvents, PoolEventEmitter, QueryEvent, ServerEvent, ConnectionEvent, CheckoutTimeoutEvent, WriterBatchEvent,
  WriterLossEvent, SupervisorRestartEvent,
} from './events.js';
