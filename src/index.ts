// The public API: explicit named exports only, no logic.

// --- protocol layer (src/clickhouse) ---
export {
  connect, parseConnectionString, renderQuery, formatLiteral, quoteString, quoteIdentifier, encodeRow, encodeRows,
  parseColumnType, decodeTsv, prepare, perform, ping,
  ColonnadeError, ClickHouseError, TransportError, TimeoutError, AbortError, ConfigError, QueryParamError,
  ProtocolError, ClosedError, parseServerError,
} from './clickhouse/index.js';
export type {
  Connection, ConnectOptions, CallOptions, Command, CommandResults, Int64Mode, PreparedRequest, QueryParams,
  RequestDefaults, Row, ServerConfig, Settings, Transport, ColumnType, ErrorCode, ServerErrorInfo,
} from './clickhouse/index.js';

// --- actor runtime (src/otp) ---
export {
  startSupervisor, supervisor, supervisorOf,
  register, unregister, whereis, registered,
  realClock, createTestClock, OtpError,
} from './otp/index.js';
export type {
  ChildActor, ChildCounts, ChildInfo, ChildInput, ChildSpec, ChildSpecSource, Clock, ExitReason, NestedSupervisorOptions,
  OtpErrorCode, RestartType, Shutdown, StartContext, Strategy, Supervisor, SupervisorContext, SupervisorEvent,
  SupervisorOptions, SupervisorSnapshot, SupervisorStatus, TestClock,
} from './otp/index.js';

// --- pool (src/pool) ---
export {
  definePool, PoolError, PoolTimeoutError, NoServerAvailableError, PoolNotStartedError, PoolStoppedError,
  ConnectionCrashedError, MailboxFullError, WriterStoppedError,
} from './pool/index.js';
export type {
  ClickHousePool, PoolMessage, AsyncMessage, PoolResults, PoolOptions, AsyncOverflowPolicy, OnErrorHook, PoolStats,
  ServerStats, BalanceStrategy, ConnectionState, PoolErrorCode, WriterStats, WriterErrorCode,
} from './pool/index.js';
