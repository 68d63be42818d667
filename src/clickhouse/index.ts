// The protocol layer's barrel: what src/pool and src/index.ts import.
export * from './types.js';
export * from './errors.js';
export { parseConnectionString } from './connection-string.js';
export { renderQuery, formatLiteral, quoteString, quoteIdentifier, isWellFormed } from './params.js';
export { encodeRow, encodeRows } from './encode.js';
export { type ColumnType, parseColumnType, containsDecimal } from './column-type.js';
export { type DecodeContext, decodeTsv, unescapeTsv } from './decode.js';
export { dateTimeFromText } from './time-zone.js';
export { prepare, insertRequest, insertHead, groupRows, quoteColumn, checkCallOptions, checkSettings, SELECT_FORMAT } from './prepare.js';
export { type SendOptions, type RawResponse, send, ping, queryPath } from './http.js';
export { perform, timeZoneOf } from './perform.js';
export { type Connection, type ConnectOptions, connect } from './connection.js';
