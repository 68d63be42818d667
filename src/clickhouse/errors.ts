/**
 * Error classes of the protocol layer. Every class has a stable `code` string: match on
 * `err.code` (or `instanceof`), never on the message words.
 */
import { constants } from 'node:buffer';

/**
 * The stable codes of the errors this layer throws.
 *
 * @example
 * if ((err as ColonnadeError).code === ('TIMEOUT' satisfies ErrorCode)) retry();
 */
export type ErrorCode =
  | 'CLICKHOUSE'
  | 'TRANSPORT'
  | 'TIMEOUT'
  | 'ABORTED'
  | 'CONFIG'
  | 'QUERY_PARAM'
  | 'PROTOCOL'
  | 'CLOSED'
  | 'RESULT_TOO_LARGE';

/**
 * The base of every colonnade error.
 *
 * @example
 * try { await conn.select('SELECT 1'); } catch (err) {
 *   if (err instanceof ColonnadeError) console.log(err.code);
 * }
 */
export class ColonnadeError extends Error {
  /** A stable machine-readable code, e.g. `'TIMEOUT'`. */
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/**
 * What the server said when it refused a query.
 *
 * @example
 * const info: ServerErrorInfo = { serverCode: 60, serverName: 'UNKNOWN_TABLE', serverMessage: 'Table default.x does not exist.' };
 */
export interface ServerErrorInfo {
  /** ClickHouse's numeric error code, e.g. 60 for a missing table. */
  readonly serverCode: number;
  /** The symbolic name when the server gives it (`UNKNOWN_TABLE`), newer servers only. */
  readonly serverName?: string;
  /** The exception text without the `Code: N` prefix and the version suffix. */
  readonly serverMessage: string;
}

/**
 * The server refused the query (bad SQL, missing table, wrong password, ...).
 *
 * @example
 * try { await conn.select('SELECT * FROM missing'); } catch (err) {
 *   if (err instanceof ClickHouseError && err.serverCode === 60) console.log('no such table');
 * }
 */
export class ClickHouseError extends ColonnadeError implements ServerErrorInfo {
  readonly serverCode: number;
  readonly serverName?: string;
  readonly serverMessage: string;
  /** The HTTP status of the response (200 when the error arrived inside a streamed body). */
  readonly status: number;

  constructor(info: ServerErrorInfo, status: number) {
    const name = info.serverName ? ` (${info.serverName})` : '';
    super('CLICKHOUSE', `ClickHouse error ${info.serverCode}${name}: ${info.serverMessage}`);
    this.serverCode = info.serverCode;
    if (info.serverName !== undefined) this.serverName = info.serverName;
    this.serverMessage = info.serverMessage;
    this.status = status;
  }
}

/**
 * The network failed: connection refused, reset, DNS, a socket closed mid-response.
 * `requestSent` is `false` only when the request provably never reached the server, so a
 * write may be retried elsewhere without risk of running twice.
 *
 * @example
 * catch (err) { if (err instanceof TransportError && !err.requestSent) retryOnAnotherServer(); }
 */
export class TransportError extends ColonnadeError {
  readonly requestSent: boolean;

  constructor(message: string, requestSent: boolean, options?: { cause?: unknown }) {
    super('TRANSPORT', message, options);
    this.requestSent = requestSent;
  }
}

/**
 * The request took longer than its `timeout`; its socket was destroyed, never reused.
 *
 * @example
 * await conn.select('SELECT sleep(3)', {}, { timeout: 100 }).catch((e) => e.code === 'TIMEOUT');
 */
export class TimeoutError extends ColonnadeError {
  readonly timeout: number;
  /** Whether the request had been written to a socket when it timed out. */
  readonly requestSent: boolean;

  constructor(timeout: number, requestSent: boolean) {
    super('TIMEOUT', `request timed out after ${timeout} ms`);
    this.timeout = timeout;
    this.requestSent = requestSent;
  }
}

/**
 * The caller's `AbortSignal` fired; `cause` holds the signal's reason.
 *
 * @example
 * const ac = new AbortController(); const p = conn.select('SELECT sleep(2)', {}, { signal: ac.signal });
 * ac.abort(); await p.catch((e) => e.code === 'ABORTED');
 */
export class AbortError extends ColonnadeError {
  readonly requestSent: boolean;

  constructor(reason: unknown, requestSent: boolean) {
    super('ABORTED', 'request aborted', { cause: reason });
    this.requestSent = requestSent;
  }
}

/**
 * `err` as it would read had its request been sent (`true`) or not (`false`): a transport,
 * timeout or abort error made again with that `requestSent`; anything else as it is.
 *
 * @example
 * throw withRequestSent(err, true); // a later statement's failure: the insert as a whole was sent
 */
export function withRequestSent(err: unknown, sent: boolean): unknown {
  if (err instanceof TransportError && err.requestSent !== sent) return new TransportError(err.message, sent, { cause: err.cause });
  if (err instanceof TimeoutError && err.requestSent !== sent) return new TimeoutError(err.timeout, sent);
  if (err instanceof AbortError && err.requestSent !== sent) return new AbortError(err.cause, sent);
  return err;
}

/**
 * A connection string or an option is invalid. The message names the key and never holds
 * a password.
 *
 * @example
 * try { connect('ftp://host'); } catch (err) { console.log((err as ConfigError).code); } // 'CONFIG'
 */
export class ConfigError extends ColonnadeError {
  constructor(message: string) {
    super('CONFIG', message);
  }
}

/**
 * A `{name}` parameter or an inserted value cannot be sent; nothing was sent.
 *
 * @example
 * try { renderQuery('SELECT {x}', { x: NaN }); } catch (err) { console.log((err as QueryParamError).param); } // 'x'
 */
export class QueryParamError extends ColonnadeError {
  /** The parameter (or `column`, `column[2]` ...) that was refused. */
  readonly param: string;
  /** For a row refused among several rows of an insert: its index among them (`param` starts `rows[index]`). */
  readonly row?: number;

  constructor(param: string, reason: string, options?: { cause?: unknown; row?: number }) {
    super('QUERY_PARAM', `parameter ${param}: ${reason}`, options?.cause === undefined ? undefined : { cause: options.cause });
    this.param = param;
    if (options?.row !== undefined) this.row = options.row;
  }
}

/**
 * Why a row that is not an object is refused (`QueryParamError` with the param `row`); a
 * refusal of the row itself starts with it.
 *
 * @example
 * throw new QueryParamError('row', NOT_A_ROW);
 */
export const NOT_A_ROW = 'expected a plain object keyed by column name';

/**
 * A row's refusal named by its place among the rows given: `rows[2].name` for a value,
 * `rows[2]` for the row itself. A row whose reading threw (a getter's or a proxy's own
 * error, not this client's) is refused as `rows[2]`, that error its cause. This client's
 * other errors come back as they are.
 *
 * @example
 * rowRefused(new QueryParamError('name', 'a symbol cannot be inserted'), 2).message; // 'parameter rows[2].name: a symbol cannot be inserted'
 */
export function rowRefused(err: unknown, index: number, note = ''): unknown {
  if (!(err instanceof ColonnadeError)) {
    return new QueryParamError(`rows[${index}]`, `reading the row threw: ${err instanceof Error ? err.message : String(err)}${note}`, { cause: err, row: index });
  }
  if (!(err instanceof QueryParamError)) return err;
  const reason = err.message.slice(`parameter ${err.param}: `.length);
  // A column may be called `row` too: the row itself is meant only when it is no object.
  const place = err.param === 'row' && reason.startsWith(NOT_A_ROW) ? `rows[${index}]` : `rows[${index}].${err.param}`;
  return new QueryParamError(place, `${reason}${note}`, { cause: err, row: index });
}

/**
 * The server answered something this client cannot read (a proxy's HTML page, a cut body).
 *
 * @example
 * catch (err) { if ((err as ColonnadeError).code === 'PROTOCOL') console.log(err.message); }
 */
export class ProtocolError extends ColonnadeError {
  readonly status: number;

  constructor(message: string, status: number) {
    super('PROTOCOL', message);
    this.status = status;
  }
}

/**
 * The response was larger than the call's `maxResultBytes` (or than one JavaScript string
 * can hold): reading stopped as soon as the limit was crossed and the socket was destroyed,
 * which also ends the query on the server. Asking again, here or on another server, gets
 * the same answer; select less (`LIMIT`, fewer columns, a `WHERE`) or allow more.
 *
 * @example
 * await conn.select('SELECT * FROM events', {}, { maxResultBytes: 1e6 }).catch((e) => e.code === 'RESULT_TOO_LARGE');
 */
export class ResultTooLargeError extends ColonnadeError {
  /** The limit that was crossed, in bytes. */
  readonly limit: number;
  /** How big the response was known to be when reading stopped: more than `limit`, in bytes. */
  readonly received: number;

  constructor(limit: number, received: number) {
    super('RESULT_TOO_LARGE', `the result is larger than ${limit} bytes (maxResultBytes), at least ${received} bytes: `
      + 'reading stopped and the query was abandoned. Select less (LIMIT, fewer columns, a WHERE) or raise maxResultBytes '
      + `(at most ${MAX_RESULT_BYTES}, the longest string JavaScript can hold)`);
    this.limit = limit;
    this.received = received;
  }
}

/**
 * The most `maxResultBytes` can be: V8's longest string (about 512 MiB on Node 20), since a
 * result is read into one string.
 *
 * @example
 * connect(url, { maxResultBytes: MAX_RESULT_BYTES });
 */
export const MAX_RESULT_BYTES: number = constants.MAX_STRING_LENGTH;

/**
 * The connection was closed before the call.
 *
 * @example
 * await conn.close(); await conn.ping().catch((e) => e.code === 'CLOSED');
 */
export class ClosedError extends ColonnadeError {
  constructor() {
    super('CLOSED', 'connection is closed');
  }
}

// Read on trimmed text, so they end at `$` alone: a `\s*$` after the lazy message would scan
// every blank run inside it again from each of its positions.
const NEW_FORM = /^Code: (\d+)\. (?:DB::Exception: )?([\s\S]*?)(?: \(([A-Z][A-Z0-9_]*)\))?(?: \(version [^\n]*\))?\.?$/;
const OLD_FORM = /^Code: (\d+), e\.displayText\(\) = (?:DB::Exception: )?([\s\S]*?)(?:, e\.what\(\) = [\w:]+)?$/;

/**
 * Parses a ClickHouse exception text, old (`Code: 60, e.displayText() = DB::Exception: ...`)
 * or new (`Code: 60. DB::Exception: ... (UNKNOWN_TABLE) (version 24.3.1)`). `headerCode` is
 * the `X-ClickHouse-Exception-Code` header, which wins over the body's number.
 *
 * @example
 * parseServerError('Code: 60, e.displayText() = DB::Exception: Table default.x doesn\'t exist., e.what() = DB::Exception');
 * // { serverCode: 60, serverMessage: "Table default.x doesn't exist." }
 */
export function parseServerError(body: string, headerCode?: string): ServerErrorInfo | undefined {
  const text = body.trim();
  const fromHeader = headerCode !== undefined && /^\d+$/.test(headerCode) ? Number(headerCode) : undefined;
  const match = NEW_FORM.exec(text) ?? OLD_FORM.exec(text);
  if (match) {
    const info: ServerErrorInfo = { serverCode: fromHeader ?? Number(match[1]), serverMessage: (match[2] ?? '').trim() };
    return match[3] ? { ...info, serverName: match[3] } : info;
  }
  if (fromHeader !== undefined) {
    // Rows the server had ready before it failed come first (a compressed answer holds them back
    // and sends them with the error status): the exception is the text that ends the body.
    const late = findUnframedError(text);
    if (late !== undefined) return { serverCode: fromHeader, serverMessage: late.serverMessage, ...(late.serverName ? { serverName: late.serverName } : {}) };
    return { serverCode: fromHeader, serverMessage: text };
  }
  return undefined;
}

// How an appended exception ends (the body's end, blanks cut) and starts (a line of its own).
const TAIL_END = /(?:e\.what\(\) = [\w:]+|\(version [^\n]*\)\.?)$/;
const TAIL_START = /Code: \d+(?:\. |, e\.displayText\(\) = )/y;

/**
 * Finds text in the exact form of an exception the server appends to a 200 response after it
 * has started streaming rows: from the start of a line to the end of the body,
 * `Code: N, e.displayText() = ..., e.what() = ...` (18.16) or `Code: N. DB::Exception: ...
 * (version ...)` (newer servers before the `__exception__` marker). Only the form is checked:
 * a row of data can have it too, which is for the caller to rule out (see `tsvTail`).
 *
 * @example
 * findTrailingError('1\n2\nCode: 395, e.displayText() = DB::Exception: boom, e.what() = DB::Exception\n');
 * // { serverCode: 395, serverMessage: 'boom', offset: 4 }
 */
export function findTrailingError(body: string): (ServerErrorInfo & { readonly offset: number }) | undefined {
  const floor = Math.max(0, body.length - 65_536);
  // Searched within the tail only: lastIndexOf over the whole body would read all of a
  // large result that holds no error, on every select.
  // The end is checked once; then each line that starts like an exception, from the last
  // one back, is read from there to the end. (A regex over the tail from every such line,
  // as before, was cubic in the tail: ten minutes for 64 KiB of `Code: 1. ` lines.)
  const tail = body.slice(floor).trimEnd();
  if (!TAIL_END.test(tail)) return undefined;
  for (let at = tail.lastIndexOf('Code: '); at >= 0; at = at === 0 ? -1 : tail.lastIndexOf('Code: ', at - 1)) {
    const offset = floor + at;
    if (offset > 0 && body.charCodeAt(offset - 1) !== 10) continue;
    TAIL_START.lastIndex = at;
    if (!TAIL_START.test(tail)) continue;
    const info = parseServerError(tail.slice(at));
    if (info) return { ...info, offset };
  }
  return undefined;
}

/**
 * Finds an exception a server wrote right after binary rows, with no line break before it
 * (a 26.x server does so in a gzip-compressed response): `Code: N. DB::Exception: ...
 * (version ...)` ending the body. Searched within the last 16 KiB only.
 *
 * @example
 * findUnframedError('\u0000\u0001Code: 395. DB::Exception: boom. (FUNCTION_THROW_IF_VALUE_IS_NON_ZERO) (version 26.7.2.1)\n')?.serverCode; // 395
 */
export function findUnframedError(body: string): (ServerErrorInfo & { readonly offset: number }) | undefined {
  const floor = Math.max(0, body.length - 16_384);
  const tail = body.slice(floor);
  if (!/\(version [^\n]*\)\.?\s*$/.test(tail)) return undefined;
  for (let at = tail.lastIndexOf('Code: '); at >= 0; at = at === 0 ? -1 : tail.lastIndexOf('Code: ', at - 1)) {
    const info = /^Code: \d+\. DB::Exception: /.test(tail.slice(at, at + 64)) ? parseServerError(tail.slice(at)) : undefined;
    if (info) return { ...info, offset: floor + at };
  }
  return undefined;
}

const MARKER = '__exception__\r\n';

/**
 * Finds the exception block a modern server (24.11 and later) writes when a query fails
 * after the response started, and after which it breaks the HTTP stream on purpose:
 * `\r\n__exception__\r\n<tag>\r\n<message>\n<length> <tag>\r\n__exception__\r\n`, where `<tag>`
 * is the response's `X-ClickHouse-Exception-Tag` header (random, 16 characters; since
 * 25.11), or without a tag header `__exception__\r\n<message>\n` (earlier releases). With a
 * tag the block is unambiguous; without one the caller accepts it only from a stream the
 * server broke, since a complete body in a raw format could end in these bytes as data.
 *
 * @example
 * findExceptionBlock('0\n\r\n__exception__\r\nabcdefghijklmnop\r\nCode: 395. DB::Exception: boom. (FUNCTION_THROW_IF_VALUE_IS_NON_ZERO) (version 25.11.1.1)\n90 abcdefghijklmnop\r\n__exception__\r\n', 'abcdefghijklmnop');
 * // { serverCode: 395, serverName: 'FUNCTION_THROW_IF_VALUE_IS_NON_ZERO', serverMessage: 'boom.', offset: 2 }
 */
export function findExceptionBlock(body: string, tag?: string): (ServerErrorInfo & { readonly offset: number }) | undefined {
  if (tag !== undefined && tag !== '') {
    const end = ` ${tag}\r\n${MARKER}`;
    if (!body.endsWith(end)) return undefined;
    const open = `${MARKER}${tag}\r\n`;
    const start = body.lastIndexOf(open, body.length - end.length);
    const lengthAt = body.lastIndexOf('\n', body.length - end.length - 1);
    if (start < 0 || lengthAt < start + open.length) return undefined;
    if (!/^\d+$/.test(body.slice(lengthAt + 1, body.length - end.length))) return undefined;
    const info = parseServerError(body.slice(start + open.length, lengthAt + 1));
    // The block opens with \r\n, which belongs to it and not to the rows before.
    const offset = body.startsWith('\r\n', start - 2) ? start - 2 : start;
    return info ? { ...info, offset } : undefined;
  }
  // The block is at most 16 KiB: a body without it is not searched further back.
  const floor = Math.max(0, body.length - 16_384);
  const at = body.slice(floor).lastIndexOf(MARKER);
  if (at < 0) return undefined;
  const from = floor + at;
  const info = parseServerError(body.slice(from + MARKER.length));
  return info ? { ...info, offset: from } : undefined;
}
