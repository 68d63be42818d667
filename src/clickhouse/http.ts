import { Readable } from 'node:stream';
import { constants as zlibConstants, createGzip, gunzipSync, gzipSync } from 'node:zlib';
import type { Dispatcher } from 'undici';
import {
  AbortError, ClickHouseError, ColonnadeError, ConfigError, MAX_RESULT_BYTES, ProtocolError, ResultTooLargeError, TimeoutError, TransportError, findExceptionBlock,
} from './errors.js';
import type { ServerConfig, Transport } from './types.js';
import { ChunkQueue } from './chunk-queue.js';

/**
 * One HTTP exchange as `send` describes it.
 *
 * @example
 * const options: SendOptions = { method: 'POST', path: '/?database=default', body: 'SELECT 1', timeout: 5_000 };
 */
export interface SendOptions {
  readonly method: 'GET' | 'POST';
  /** Path and query string, e.g. `/?database=default`. */
  readonly path: string;
  /**
   * The request body: text, or chunks produced as the request is written (a streamed
   * insert); each chunk restarts the timeout, so a long body is bounded per chunk.
   */
  readonly body?: string | Buffer | readonly Buffer[] | AsyncIterable<Buffer>;
  /** The body's `Content-Type` (default `text/plain; charset=utf-8`), e.g. a multipart form's. */
  readonly contentType?: string;
  readonly timeout: number;
  readonly signal?: AbortSignal;
  /** Most bytes of response body to read (default and ceiling: `MAX_RESULT_BYTES`). */
  readonly maxBytes?: number;
  /**
   * gzip: `request` compresses the body (`Content-Encoding: gzip`), `response` asks for a
   * compressed answer (`Accept-Encoding: gzip` and `enable_http_compression=1` added to the
   * path) and inflates it. Off by default.
   */
  readonly compression?: Compression;
  /** Called when the client gives up on a request it sent (timeout, abort, too large): the server may still be running it. */
  readonly onAbandon?: () => void;
  /**
   * The body is binary (`RowBinary...`): a 200 response keeps it whole in `bytes`, and its
   * `body` text is only its last 16.5 KiB (where an exception block would be).
   */
  readonly binary?: boolean;
  /**
   * Takes a 200, uncompressed response's body as it arrives (each chunk once, in order)
   * instead of holding it: the response's `body` text is then only its last 16.5 KiB, and
   * `streamed` is true. Any other response is held whole as usual.
   */
  readonly onBody?: (chunk: Buffer) => void;
}

/**
 * HTTP compression of a call (gzip, node:zlib): of the request body, of the response, or both.
 *
 * @example
 * const compression: Compression = { response: true, request: true };
 */
export interface Compression {
  readonly request?: boolean;
  readonly response?: boolean;
}

// Bodies shorter than this go as they are: gzip's header and CPU cost more than they save.
const COMPRESS_FROM = 1_024;

/**
 * A compressed error body, inflated as far as it goes (a cut one still shows its start).
 *
 * @example
 * const text = inflatedOrAsIs(Buffer.concat(chunks)).toString('utf8');
 */
export function inflatedOrAsIs(bytes: Buffer): Buffer {
  try {
    return gunzipSync(bytes, { finishFlush: zlibConstants.Z_SYNC_FLUSH });
  } catch {
    return bytes;
  }
}

/**
 * Hands one request to undici: credentials in headers, the body (compressed when asked),
 * undici's header timeout a minute past ours and its body timeout as given (0: none). Throws
 * when undici refuses the request outright.
 *
 * @example
 * dispatchRequest(transport, server, { method: 'POST', path, body: 'SELECT 1', timeout: 5_000 }, handler, 65_000);
 */
export function dispatchRequest(
  transport: Transport, server: ServerConfig, options: SendOptions, handler: Dispatcher.DispatchHandler, bodyTimeout: number, rearm?: () => void,
): void {
  const { headers, body } = requestParts(server, options, rearm);
  // A compressed answer is the server's setting as much as the header's.
  const path = options.compression?.response ? `${options.path}${options.path.includes('?') ? '&' : '?'}enable_http_compression=1` : options.path;
  transport.dispatch({
    origin: server.origin, path, method: options.method, headers, body, headersTimeout: options.timeout + 60_000, bodyTimeout,
  }, handler);
}

/** The body, headers and compression of one request as undici takes them. */
function requestParts(server: ServerConfig, options: SendOptions, rearm?: () => void): { headers: Record<string, string>; body: Buffer | Readable | null } {
  const base = options.contentType === undefined ? headersOf(server, options.body !== undefined) : { ...headersOf(server, false), 'content-type': options.contentType };
  const { compression } = options;
  let headers = compression?.response ? { ...base, 'accept-encoding': 'gzip' } : base;
  // One chunk is sent as a buffer; chunks to be compressed are joined first (gzip needs them whole).
  const given = options.body;
  const body = Array.isArray(given) && (given.length === 1 || compression?.request) ? (given.length === 1 ? given[0] as Buffer : Buffer.concat(given)) : given;
  if (body === undefined) return { headers, body: null };
  if (typeof body === 'string' || Buffer.isBuffer(body)) {
    const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
    if (!compression?.request || bytes.length < COMPRESS_FROM) return { headers, body: bytes };
    headers = { ...headers, 'content-encoding': 'gzip' };
    return { headers, body: gzipSync(bytes, { level: 1 }) };
  }
  if (Array.isArray(body)) {
    // Chunks already made (an array's rows) go with their length, not chunked: a server that
    // reads a cut chunked body as ended (18.16 does) would store the rows before the cut.
    // They are bounded by the call's time as a whole.
    const length = (body as readonly Buffer[]).reduce((sum, chunk) => sum + chunk.length, 0);
    return { headers: { ...headers, 'content-length': String(length) }, body: Readable.from(body, { objectMode: false }) };
  }
  // Chunks made as they are sent (a source's rows, on servers that refuse a cut chunked
  // body) each restart the call's time.
  const chunks = Readable.from(rearm ? rearming(body as AsyncIterable<Buffer>, rearm) : body, { objectMode: false });
  if (!compression?.request) return { headers, body: chunks };
  return { headers: { ...headers, 'content-encoding': 'gzip' }, body: Readable.from(gzipped(chunks), { objectMode: false }) };
}

// `chunks` as one gzip stream, each chunk flushed as it comes (else a slow source's rows wait
// in zlib and the server times the request out), a failure of the source or zlib the body's.
async function* gzipped(chunks: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  const gzip = createGzip({ level: 1 });
  const out: Buffer[] = [];
  let failed: Error | undefined;
  gzip.on('data', (chunk: Buffer) => out.push(chunk)).on('error', (err) => { failed ??= err; });
  // One step of zlib's, over when it calls back or fails (its listener removed: one per chunk would pile up).
  const step = (run: (done: () => void) => void): Promise<void> => new Promise<void>((resolve) => {
    gzip.once('error', resolve);
    run(() => { gzip.off('error', resolve); resolve(); });
  });
  try {
    for await (const chunk of chunks) {
      gzip.write(chunk);
      await step((done) => gzip.flush(zlibConstants.Z_SYNC_FLUSH, done));
      if (failed) throw failed;
      if (out.length > 0) yield Buffer.concat(out.splice(0));
    }
    await step((done) => { gzip.once('end', done); gzip.end(); });
    if (failed) throw failed;
    if (out.length > 0) yield Buffer.concat(out.splice(0));
  } finally {
    gzip.destroy();
  }
}

/**
 * A complete response: status, lower-cased headers, the body as UTF-8 text.
 *
 * @example
 * const { status, headers, body }: RawResponse = await send(client, server, options);
 */
export interface RawResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
  /** For a `binary` request answered 200: the whole body (unless `streamed`). */
  readonly bytes?: Buffer;
  /** The body went to `onBody` as it arrived; `body` is its end. */
  readonly streamed?: boolean;
}

// How much of a binary body's end is kept as text: an exception block is at most 16 KiB.
const BINARY_TAIL = 16_896;

// Errors raised before a byte of the request could reach the server.
const NOT_SENT = new Set([
  'ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL',
  'UND_ERR_CONNECT_TIMEOUT',
]);

/**
 * An undici dispatch handler with the request-sent hook undici calls but does not type.
 *
 * @example
 * const handler: LegacyHandler = { onRequestSent() { sent = true; }, onError() {} };
 */
export interface LegacyHandler extends Dispatcher.DispatchHandler {
  // undici calls it once the request's bytes are handed to the socket; not in its types.
  onRequestSent(): void;
}

/**
 * Sends one HTTP request through an undici dispatcher with the server's credentials in the
 * `X-ClickHouse-User`/`X-ClickHouse-Key` headers and reads the whole response. On timeout
 * or abort the request is cancelled through undici's abort hook, which destroys its socket,
 * so a half-read response is never left on a connection that gets reused. A body that
 * grows past `maxBytes` is cancelled the same way as soon as it does, with
 * `ResultTooLargeError`: never buffered whole, and the server, whose next write fails,
 * stops the query.
 *
 * @example
 * const res = await send(new Client(server.origin), server, { method: 'GET', path: '/ping', timeout: 1_000 });
 * res.body; // 'Ok.\n'
 */
export function send(transport: Transport, server: ServerConfig, options: SendOptions): Promise<RawResponse> {
  const { signal, timeout } = options;
  const maxBytes = Math.min(options.maxBytes ?? MAX_RESULT_BYTES, MAX_RESULT_BYTES);
  if (signal?.aborted) return Promise.reject(new AbortError(signal.reason, false));
  return new Promise<RawResponse>((resolve, reject) => {
    let settled = false;
    let sent = false;
    let cancelSocket: ((err: Error) => void) | undefined;
    let status = 0;
    const headers: Record<string, string> = {};
    // The body's chunks; when they go to `onBody`, only those that hold its last BINARY_TAIL bytes.
    const chunks = new ChunkQueue();
    let received = 0;
    let streamed = false;

    const settle = (err: Error | undefined, value?: RawResponse): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      if (err) reject(err);
      else resolve(value as RawResponse);
    };
    const cancel = (err: Error): void => {
      if (settled) return;
      settle(err);
      cancelSocket?.(err);
      if (sent) options.onAbandon?.();
    };
    const onAbort = (): void => cancel(new AbortError(signal?.reason, sent));
    let timer = setTimeout(() => cancel(new TimeoutError(timeout, sent)), timeout);
    const rearm = (): void => {
      if (settled) return;
      clearTimeout(timer);
      timer = setTimeout(() => cancel(new TimeoutError(timeout, sent)), timeout);
    };
    signal?.addEventListener('abort', onAbort, { once: true });

    const handler: LegacyHandler = {
      onConnect(abort) {
        // A request cancelled while it waited for a socket must not be written at all.
        if (settled) abort(new ColonnadeError('ABORTED', 'request cancelled before it was sent'));
        else cancelSocket = abort;
      },
      onRequestSent() {
        sent = true;
      },
      onHeaders(statusCode, raw) {
        status = statusCode;
        for (let i = 0; i + 1 < raw.length; i += 2) {
          headers[String(raw[i]).toLowerCase()] = String(raw[i + 1]);
        }
        const length = Number(headers['content-length']);
        if (length > maxBytes) {
          cancel(new ResultTooLargeError(maxBytes, length));
          return false;
        }
        streamed = options.onBody !== undefined && status === 200 && headers['content-encoding'] !== 'gzip';
        return true;
      },
      onData(chunk) {
        received += chunk.length;
        if (received > maxBytes) {
          chunks.clear();
          cancel(new ResultTooLargeError(maxBytes, received));
          return false;
        }
        chunks.push(chunk);
        if (streamed) {
          try {
            (options.onBody as (chunk: Buffer) => void)(chunk);
          } catch (err) {
            cancel(err instanceof Error ? err : new Error(String(err)));
            return false;
          }
          while (chunks.bytes - (chunks.first() as Buffer).length >= BINARY_TAIL) chunks.shift();
        }
        return true;
      },
      onComplete() {
        let whole = chunks.concat();
        if (streamed) {
          settle(undefined, { status, headers, body: whole.toString('utf8', Math.max(0, whole.length - BINARY_TAIL)), streamed });
          return;
        }
        if (headers['content-encoding'] === 'gzip') {
          try {
            whole = gunzipSync(whole, { maxOutputLength: maxBytes });
          } catch (err) {
            settle((err as { code?: unknown }).code === 'ERR_BUFFER_TOO_LARGE'
              ? new ResultTooLargeError(maxBytes, maxBytes + 1)
              : new ProtocolError(`${server.redacted}: a gzip response that does not inflate (${(err as Error).message})`, status));
            return;
          }
        }
        if (options.binary && status === 200) {
          settle(undefined, { status, headers, body: whole.toString('utf8', Math.max(0, whole.length - BINARY_TAIL)), bytes: whole });
        } else settle(undefined, { status, headers, body: whole.toString('utf8') });
      },
      onError(err) {
        const read = headers['content-encoding'] === 'gzip' && chunks.length > 0 ? [inflatedOrAsIs(chunks.concat())] : chunks.toArray();
        settle(brokenByServer(status, headers, read) ?? toTransportError(err, sent, server));
      },
    };
    try {
      // Our own timer governs; undici's must not fire first on a long query.
      dispatchRequest(transport, server, options, handler, timeout + 60_000, rearm);
    } catch (err) {
      settle(toTransportError(err, false, server));
    }
  });
}

async function* rearming(body: AsyncIterable<Buffer>, rearm: () => void): AsyncGenerator<Buffer> {
  for await (const chunk of body) {
    rearm();
    yield chunk;
  }
}

/**
 * `GET /ping`, which a healthy server answers `Ok.`.
 *
 * @example
 * await ping(client, server, { timeout: 1_000 });
 */
export async function ping(
  transport: Transport,
  server: ServerConfig,
  options: { timeout?: number; signal?: AbortSignal } = {},
): Promise<void> {
  const req: SendOptions = { method: 'GET', path: '/ping', timeout: options.timeout ?? 5_000 };
  const res = await send(transport, server, options.signal ? { ...req, signal: options.signal } : req);
  if (res.status !== 200 || res.body.trim() !== 'Ok.') {
    throw new ProtocolError(`${server.redacted}: /ping answered ${res.status} ${JSON.stringify(res.body.slice(0, 100))}, expected Ok.`, res.status);
  }
}

// Credentials that are printable ASCII travel in ClickHouse's own headers; others (a password
// like `пароль`) cannot be a header value at all, so they go as HTTP Basic over their UTF-8
// bytes, which ClickHouse reads as well. Built once per server.
const headerCache = new WeakMap<ServerConfig, { readonly bare: Record<string, string>; readonly text: Record<string, string> }>();
const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;

function headersOf(server: ServerConfig, hasBody: boolean): Record<string, string> {
  let cached = headerCache.get(server);
  if (cached === undefined) {
    const bare: Record<string, string> = {};
    if (PRINTABLE_ASCII.test(server.username) && PRINTABLE_ASCII.test(server.password)) {
      bare['x-clickhouse-user'] = server.username;
      if (server.password !== '') bare['x-clickhouse-key'] = server.password;
    } else {
      bare.authorization = `Basic ${Buffer.from(`${server.username}:${server.password}`, 'utf8').toString('base64')}`;
    }
    cached = { bare, text: { ...bare, 'content-type': 'text/plain; charset=utf-8' } };
    headerCache.set(server, cached);
  }
  return hasBody ? cached.text : cached.bare;
}

/**
 * A modern server that fails after the response started writes an exception block and then
 * breaks the stream on purpose (no last chunk): that is the server's refusal, not a network
 * failure.
 */
function brokenByServer(status: number, headers: Readonly<Record<string, string>>, chunks: readonly Buffer[]): ClickHouseError | undefined {
  if (status === 0 || chunks.length === 0) return undefined;
  // The block is at most 16 KiB: only the last chunks that hold that much are read.
  let from = chunks.length;
  for (let bytes = 0; from > 0 && bytes < 16_500; ) bytes += (chunks[--from] as Buffer).length;
  const tail = Buffer.concat(chunks.slice(from)).toString('utf8');
  const block = findExceptionBlock(tail, headers['x-clickhouse-exception-tag']);
  if (block === undefined) return undefined;
  const code = headers['x-clickhouse-exception-code'];
  return new ClickHouseError(code !== undefined && /^\d+$/.test(code) ? { ...block, serverCode: Number(code) } : block, status);
}

/**
 * A failure of the request as the caller sees it: ours as is, undici's as a `TransportError` that says whether the request was sent.
 *
 * @example
 * settle(toTransportError(err, sent, server));
 */
export function toTransportError(err: unknown, sent: boolean, server: ServerConfig): ColonnadeError {
  if (err instanceof ColonnadeError) return err;
  // undici refused to build the request: our fault, not the server's (and its words may
  // quote a header, so they are not repeated).
  if ((err as { code?: unknown } | null)?.code === 'UND_ERR_INVALID_ARG') {
    return new ConfigError(`${server.redacted}: the request could not be built (undici: invalid argument)`);
  }
  const code = typeof (err as { code?: unknown })?.code === 'string' ? (err as { code: string }).code : 'UNKNOWN';
  const message = err instanceof Error ? err.message : String(err);
  const requestSent = sent && !NOT_SENT.has(code);
  return new TransportError(`${server.redacted}: ${code}: ${message}`, requestSent, { cause: err });
}
