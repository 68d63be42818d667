// `colonnade/protocol`: the protocol layer (src/clickhouse) for code that brings its own
// pooling: connection strings, {param} rendering, row encoding, TSV decoding, one request
// over an undici dispatcher, server error parsing. Explicit named exports only, no logic.

export {
  connect, parseConnectionString, renderQuery, formatTypedParam, formatLiteral, quoteString, quoteIdentifier, encodeRow, encodeRows,
  parseColumnType, decodeTsv, prepare, perform, ping, parseServerError, insertStopOf,
} from './clickhouse/index.js';
export {
  ColonnadeError, ClickHouseError, TransportError, TimeoutError, AbortError, ConfigError, QueryParamError,
  ProtocolError, ClosedError, ResultTooLargeError,
} from './clickhouse/index.js';
export type {
  Connection, ConnectOptions, CallOptions, Command, CommandResults, Int64Mode, PreparedRequest, QueryParams,
  RequestDefaults, Row, RowStream, RowSink, RowSource, InsertResult, Progress, Compression, ServerConfig, Settings, Transport, ColumnType, DecodeContext, ErrorCode, ServerErrorInfo,
  ColumnEncoding, ColumnEncodings, InsertStop,
} from './clickhouse/index.js';
