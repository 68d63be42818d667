// The protocol layer's barrel: what src/pool and src/index.ts import.
export * from './types.js';
export * from './errors.js';
export { parseConnectionString } from './connection-string.js';
export { renderQuery, formatLiteral, quoteString, quoteIdentifier } from './params.js';
