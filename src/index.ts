// The public API: what an application writes with. Explicit named exports only, no logic.
// The protocol layer and the actor runtime have their own entries (src/protocol.ts →
// `colonnade/protocol`, src/otp.ts → `colonnade/otp`).

export { definePool } from './pool/index.js';
export { startSupervisor, supervisor } from './otp/index.js';
export { observer } from './observer/index.js';
export { connect } from './clickhouse/index.js';

export {
  ColonnadeError, ClickHouseError, TransportError, TimeoutError, AbortError, ConfigError, QueryParamError,
  ProtocolError, ClosedError,
} from './clickhouse/index.js';
export {
  PoolError, PoolTimeoutError, NoServerAvailableError, PoolNotStartedError, PoolStoppedError,
  ConnectionCrashedError, MailboxFullError, WriterStoppedError,
} from './pool/index.js';
export { OtpError } from './otp/index.js';

export type {
  PoolOptions, ClickHousePool, PoolMessage, PoolResults, PoolStats, ServerStats, WriterStats, PoolEvents,
} from './pool/index.js';
export type {
  Connection, ConnectOptions, CallOptions, QueryParams, Row, RowStream, Progress, Settings,
} from './clickhouse/index.js';
