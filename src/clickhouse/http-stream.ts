/**
 * One request whose response body is handed over chunk by chunk, with backpressure to the
 * socket: what `stream()` reads. The request side (credentials, compression) is `send`'s.
 */
import { createGunzip, type Gunzip } from 'node:zlib';
import { AbortError, ColonnadeError, ProtocolError, TimeoutError } from './errors.js';
import { type LegacyHandler, type SendOptions, dispatchRequest, inflatedOrAsIs, toTransportError } from './http.js';
import type { ServerConfig, Transport } from './types.js';
import { ChunkQueue } from './chunk-queue.js';

/**
 * A response whose body is read chunk by chunk (see `openStream`).
 *
 * @example
 * const res: BodyStream = await openStream(transport, server, options);
 * for (let chunk = await res.read(); chunk !== null; chunk = await res.read()) handle(chunk);
 */
export interface BodyStream {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  /** The next chunk, `null` at the end; rejects with the request's failure. */
  read(): Promise<Buffer | null>;
  /** Ends the request and its socket (the server's next write fails); idempotent. */
  cancel(error: Error): void;
}

// Bytes received and not yet read before the socket is paused.
const STREAM_HIGH_WATER = 1024 * 1024;

/**
 * Sends one request like `send`, but hands over the body as it comes: at most about 1 MiB
 * is held unread, past that the socket is paused until the reader catches up (TCP then
 * stops the server). `timeout` bounds each wait for the server: for the headers, and for
 * each chunk while the reader waits for one; a reader slow to ask is never timed out. A
 * status other than 200 is read whole and resolves like any response, for the caller to
 * turn into an error. Abort, timeout and `cancel` destroy the socket and call `onAbandon`
 * once the request was sent.
 *
 * @example
 * const res = await openStream(transport, server, { method: 'POST', path: queryPath(server, []), body: 'SELECT 1', timeout: 5_000 });
 * const first = await res.read();
 */
export function openStream(transport: Transport, server: ServerConfig, options: SendOptions): Promise<BodyStream> {
  const { signal, timeout } = options;
  if (signal?.aborted) return Promise.reject(new AbortError(signal.reason, false));
  return new Promise<BodyStream>((resolveHead, rejectHead) => {
    let headDone = false;
    let ended = false;
    let failure: Error | undefined;
    let sent = false;
    let cancelSocket: ((err: Error) => void) | undefined;
    let resumeSocket: (() => void) | undefined;
    let paused = false;
    let status = 0;
    const headers: Record<string, string> = {};
    const queue = new ChunkQueue();
    let waiting: { resolve: (chunk: Buffer | null) => void; reject: (err: Error) => void } | undefined;
    let timer: NodeJS.Timeout | undefined;
    // An error status is read whole (bounded) and handed over as a complete response.
    let errorBody: ChunkQueue | undefined;
    let gunzip: Gunzip | undefined;

    const arm = (): void => {
      clearTimeout(timer);
      timer = setTimeout(() => cancel(new TimeoutError(timeout, sent)), timeout);
    };
    const disarm = (): void => {
      clearTimeout(timer);
      timer = undefined;
    };
    const finish = (): void => {
      disarm();
      signal?.removeEventListener('abort', onAbort);
    };
    const fail = (err: Error): void => {
      if (ended) return;
      ended = true;
      failure = err;
      finish();
      if (!headDone) {
        headDone = true;
        rejectHead(err);
      }
      if (waiting) {
        const w = waiting;
        waiting = undefined;
        w.reject(err);
      }
    };
    const cancel = (err: Error): void => {
      if (ended) return;
      fail(err);
      cancelSocket?.(err);
      if (sent) options.onAbandon?.();
    };
    const onAbort = (): void => cancel(new AbortError(signal?.reason, sent));
    signal?.addEventListener('abort', onAbort, { once: true });
    arm();

    const stream: BodyStream = {
      get status() { return status; },
      headers,
      read(): Promise<Buffer | null> {
        const chunk = queue.shift();
        if (chunk !== undefined) {
          if (paused && queue.bytes < STREAM_HIGH_WATER / 2) resumeAll();
          return Promise.resolve(chunk);
        }
        if (failure) return Promise.reject(failure);
        if (ended) return Promise.resolve(null);
        return new Promise((resolve, reject) => {
          waiting = { resolve, reject };
        });
      },
      cancel,
    };

    const handler: LegacyHandler = {
      onConnect(abort) {
        if (ended) abort(new ColonnadeError('ABORTED', 'request cancelled before it was sent'));
        else cancelSocket = abort;
      },
      onRequestSent() {
        sent = true;
      },
      onHeaders(statusCode, raw, resume) {
        status = statusCode;
        resumeSocket = resume;
        for (let i = 0; i + 1 < raw.length; i += 2) headers[String(raw[i]).toLowerCase()] = String(raw[i + 1]);
        if (status !== 200) {
          errorBody = new ChunkQueue();
          return true;
        }
        if (headers['content-encoding'] === 'gzip') {
          const g = createGunzip();
          gunzip = g;
          // Inflated bytes wait in zlib (which then takes no more, and so the socket) while the reader is behind.
          g.on('data', (chunk: Buffer) => { if (!deliver(chunk)) g.pause(); });
          g.on('drain', () => { if (!ended && queue.bytes < STREAM_HIGH_WATER / 2) resumeAll(); });
          g.on('error', (err) => fail(new ProtocolError(`${server.redacted}: a gzip response that does not inflate (${err.message})`, status)));
        }
        headDone = true;
        arm();
        resolveHead(stream);
        return true;
      },
      onData(chunk) {
        if (errorBody) {
          if (errorBody.bytes < 1024 * 1024) errorBody.push(chunk);
          return true;
        }
        if (gunzip) {
          // Its output comes later: the socket waits while zlib holds a lot it has not inflated
          // (not at its own 16 KiB mark: pausing for each chunk cost 18.16's text streams 2.5x the CPU).
          gunzip.write(chunk);
          if (gunzip.writableLength < STREAM_HIGH_WATER && !paused) {
            arm();
            return true;
          }
          paused = true;
          disarm();
          return false;
        }
        return deliver(chunk);
      },
      onComplete() {
        if (gunzip && !errorBody) {
          // The inflated rest comes after the last compressed byte; the end after it.
          const g = gunzip;
          g.once('end', complete);
          g.end();
          return;
        }
        complete();
      },
      onError(err) {
        const failure = toTransportError(err, sent, server);
        if (gunzip && !errorBody) {
          // What inflates before the cut (a server's exception block, say) is read first.
          const g = gunzip;
          const after = (): void => fail(failure);
          g.once('end', after);
          g.once('error', after);
          g.end();
          return;
        }
        fail(failure);
      },
    };
    function resumeAll(): void {
      paused = false;
      arm();
      gunzip?.resume();
      resumeSocket?.();
    }
    // Hands one (inflated) chunk to the reader or the queue; false once the queue is full.
    function deliver(chunk: Buffer): boolean {
      if (ended) return false;
      if (waiting) {
        const w = waiting;
        waiting = undefined;
        arm();
        w.resolve(chunk);
        return true;
      }
      queue.push(chunk);
      if (queue.bytes >= STREAM_HIGH_WATER) {
        // Paused until the reader drains: no timer runs while the reader is the slow side.
        paused = true;
        disarm();
        return false;
      }
      arm();
      return true;
    }
    function complete(): void {
      if (errorBody) {
        let bytes: Buffer = errorBody.concat();
        if (headers['content-encoding'] === 'gzip') bytes = inflatedOrAsIs(bytes);
        ended = true;
        finish();
        headDone = true;
        let given = false;
        const read = (): Promise<Buffer | null> => Promise.resolve(given ? null : ((given = true), bytes));
        resolveHead({ status, headers, read, cancel: () => undefined });
        return;
      }
      ended = true;
      finish();
      if (waiting) {
        const w = waiting;
        waiting = undefined;
        w.resolve(null);
      }
    }
    try {
      // Our own timer governs; undici's must not fire while the reader is slow.
      dispatchRequest(transport, server, options, handler, 0);
    } catch (err) {
      fail(toTransportError(err, false, server));
    }
  });
}
