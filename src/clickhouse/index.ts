// The protocol layer's barrel: what src/pool and src/index.ts import.
export * from './types.js';
export * from './errors.js';
export { type CacheLimits, BoundedCache, ownCopy } from './bounded-cache.js';
export { parseConnectionString, redactUrl } from './connection-string.js';
export { renderQuery, formatLiteral, quoteString, quoteIdentifier, isWellFormed } from './params.js';
export { type ColumnEncodings, encodeRow, encodeRows } from './encode.js';
export { type ColumnType, type ColumnEncoding, parseColumnType, containsDecimal, columnEncoding } from './column-type.js';
export { type DecodeContext, decodeTsv, unescapeTsv } from './decode.js';
export { dateTimeFromText } from './time-zone.js';
export { prepare, insertRequest, insertHead, checkCallOptions } from './prepare.js';
export { isSettingName, checkSettings, checkInt64, checkMaxResultBytes, DEFAULT_MAX_RESULT_BYTES } from './checks.js';
export { type TransportOptions, openTransport } from './transport.js';
export { type SendOptions, type RawResponse, send, ping, queryPath } from './http.js';
export { perform } from './perform.js';
export { type Connection, type ConnectOptions, connect } from './connection.js';
export { type QueryOutcome, TRACEABLE, newQueryId, killQuery, endControls, queryOutcome, learnServerInfo } from './query-control.js';
export { type ServerFeatures, type ServerInfo, parseVersion, featuresOf, serverInfo, knownServerInfo, forgetServerInfo } from './server-info.js';
