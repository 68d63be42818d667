/**
 * `stream`: a select whose rows are decoded as the response arrives and handed to a
 * `for await` loop, with backpressure all the way to the server's socket. The reader's
 * side is `createRowStream`; the request's side is `performStream` (called by `perform`).
 */
import { AbortError, findExceptionBlock, findTrailingError, findUnframedError, ClickHouseError, ColonnadeError, ProtocolError, TransportError } from './errors.js';
import { RowBinaryStream, TsvStream } from './stream-decode.js';
import { ChunkQueue } from './chunk-queue.js';
import { checkStatus } from './response.js';
import { queryPath } from './query-path.js';
import { openStream, type BodyStream } from './http-stream.js';
import { paramRequest } from './param-layout.js';
import { killQuery, newQueryId } from './query-control.js';
import { joinSignals } from './signals.js';
import { knownServerInfo, serverInfoWithin } from './server-info.js';
import { BINARY_SETTINGS, UnsupportedBinaryType, binarySelectBody } from './decode-binary.js';
import type { PreparedRequest, RequestDefaults, Row, RowSink, RowStream, ServerConfig, Transport } from './types.js';

// Decoded rows waiting for the reader before the producer waits (and so the socket).
const HIGH_WATER_ROWS = 8_192;
// The end of a body kept back until the body ends: an exception the server writes after
// rows (an 18.16 plain text, a modern tagged block of at most 16 KiB) lies within it.
const HELD_TAIL = 65_536;
// A chunk is cut in two for that only when the front is worth decoding on its own.
const MIN_SPLIT = 16_384;

/**
 * A `RowStream` whose rows come from `produce`, started at the first `next()`. `produce`
 * pushes rows into its sink and settles when it is done; its rejection is the reader's
 * error (after the rows already pushed). When the reader leaves early, the sink's `gone`
 * aborts and `produce` is expected to end its request and resolve.
 *
 * @example
 * const rows = createRowStream(async (sink) => { await sink.push([{ x: 1 }]); });
 * for await (const row of rows) console.log(row.x);
 */
export function createRowStream(produce: (sink: RowSink) => Promise<unknown>): RowStream {
  const gone = new AbortController();
  const batches: Row[][] = [];
  let batch: Row[] = [];
  let index = 0;
  // Rows pushed and rows read: the difference is what waits unread.
  let delivered = 0;
  let read = 0;
  let done = false;
  let failure: unknown;
  // The reader was given the failure, or left: the iteration is over.
  let over = false;
  let started: Promise<void> | undefined;
  // The readers waiting for rows (a caller may ask for several at once), and the producer waiting for room.
  let readers: (() => void)[] = [];
  let room: ((more: boolean) => void) | undefined;

  const wake = (): void => {
    const waiting = readers;
    readers = [];
    for (const r of waiting) r();
  };
  const release = (more: boolean): void => {
    const r = room;
    room = undefined;
    r?.(more);
  };
  const sink: RowSink = {
    gone: gone.signal,
    get delivered() { return delivered; },
    push(rows) {
      if (gone.signal.aborted) return Promise.resolve(false);
      if (rows.length > 0) {
        batches.push(rows);
        delivered += rows.length;
        wake();
      }
      if (delivered - read < HIGH_WATER_ROWS) return Promise.resolve(true);
      return new Promise<boolean>((resolve) => {
        room = (more) => resolve(more && !gone.signal.aborted);
      });
    },
    fail(error) {
      if (gone.signal.aborted || failure !== undefined) return;
      // The reader gets `error` at its next step: the rows it has not read are dropped, and
      // the request ends now (as when the reader leaves), whatever the producer waits for.
      failure = error;
      batches.length = 0;
      batch = [];
      index = 0;
      gone.abort(error);
      release(false);
      wake();
    },
  };
  // Once the request has ended there is nothing left to end: the registry lets go of `stop`
  // (and so of the rows left unread) as soon as the reader drops the stream.
  const token = {};
  const start = (): Promise<void> => {
    started ??= produce(sink).then(
      () => { done = true; dropped.unregister(token); wake(); },
      (error: unknown) => {
        if (!over) failure ??= error;
        done = true;
        dropped.unregister(token);
        // Work the call left running (a pool call rejected under it) pushes no more, and its request ends.
        if (!gone.signal.aborted) gone.abort(error);
        wake();
      },
    );
    return started;
  };
  const freeRoom = (): void => {
    if (delivered - read < HIGH_WATER_ROWS / 2) release(true);
  };
  const stop = async (): Promise<void> => {
    // The reader left: whatever the call does now, the loop ends without error.
    over = true;
    if (!gone.signal.aborted) gone.abort(new ColonnadeError('ABORTED', 'the reader left the stream'));
    batches.length = 0;
    batch = [];
    release(false);
    // Waits for the request to end, so that its connection is free when the loop has left.
    if (started) await started;
  };
  const next = (): Promise<IteratorResult<Row>> => {
    // A row already decoded is handed over without an async function's own machinery.
    if (index < batch.length) {
      const row = batch[index++] as Row;
      read++;
      if ((index & 1023) === 0) freeRoom();
      return Promise.resolve({ value: row, done: false });
    }
    return wait();
  };
  async function wait(): Promise<IteratorResult<Row>> {
    void start();
    for (;;) {
      if (index < batch.length) {
        const row = batch[index++] as Row;
        read++;
        if ((index & 1023) === 0) freeRoom();
        return { value: row, done: false };
      }
      const next = batches.shift();
      if (next !== undefined) {
        batch = next;
        index = 0;
        freeRoom();
        continue;
      }
      freeRoom();
      if (done || over || gone.signal.aborted || failure !== undefined) {
        // A failure is set only by `fail` or the call's rejection, never after the reader left.
        if (failure !== undefined) {
          const error = failure;
          failure = undefined;
          over = true;
          throw error;
        }
        return { value: undefined, done: true };
      }
      await new Promise<void>((resolve) => { readers.push(resolve); });
    }
  }
  return handle(next, stop, () => read, token);
}

// A stream its reader dropped unfinished (no `return()`, no `cancel()`) is ended when collected: its connection and query are not held for ever.
const dropped = new FinalizationRegistry<() => Promise<void>>((stop) => void stop());

// The reader's side, made outside `createRowStream`'s scope: nothing the producer holds
// leads back to it, so that it can be collected while a request waits on it.
function handle(next: () => Promise<IteratorResult<Row>>, stop: () => Promise<void>, read: () => number, token: object): RowStream {
  const iterator: AsyncIterator<Row> = {
    // A closure of this scope, as every method here is: whichever the reader keeps (`next`
    // taken off the iterator, say) keeps `iterator`, which the registry watches, alive.
    next: () => next(),
    async return(): Promise<IteratorResult<Row>> {
      await stop();
      return { value: undefined, done: true };
    },
  };
  dropped.register(iterator, stop, token);
  return {
    [Symbol.asyncIterator]: () => iterator,
    cancel: stop,
    get rows() { return read(); },
  };
}

/**
 * Runs a prepared `stream` request and pushes its rows into `request.sink` as they are
 * decoded: `RowBinaryWithNamesAndTypes` on a 22.1+ server, text on older ones. Resolves
 * when the body ended or the reader left (the request then ends and the query is killed);
 * rejects with the request's failure, or with `ClickHouseError` when the server wrote an
 * exception after the rows (those rows were pushed first). The call's `timeout` bounds each
 * wait for the server, not the whole stream (a slow reader is never timed out).
 *
 * @example
 * await performStream(transport, server, { ...prepare({ type: 'stream', sql }), sink }, defaults);
 */
export async function performStream(
  transport: Transport,
  server: ServerConfig,
  request: PreparedRequest<'stream'>,
  defaults: RequestDefaults,
): Promise<void> {
  const { options, sink } = request;
  if (sink === undefined) throw new ProtocolError('a stream request needs a sink', 0);
  if (sink.gone.aborted) return;
  const joined = options.signal === undefined ? undefined : joinSignals(options.signal, sink.gone);
  const signal = joined?.signal ?? sink.gone;
  // The caller's abort ends the stream at once, even while the producer waits for a reader that paused.
  const onAbort = (): void => sink.fail(new AbortError(options.signal?.reason, true));
  options.signal?.addEventListener('abort', onAbort, { once: true });
  const queryId = request.options.queryId ?? newQueryId();
  try {
    await streamRows(transport, server, request, defaults, sink, signal, queryId, false);
  } catch (error) {
    // A column type the binary reader cannot read (an aggregate state): the stream is asked
    // again as text before its first row, as `select` is, so that both give the same rows.
    if (!(error instanceof UnsupportedBinaryType) || sink.delivered > 0 || sink.gone.aborted) throw error;
    await streamRows(transport, server, request, defaults, sink, signal, `${queryId}-text`, true);
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
    joined?.release();
  }
  // Ended by the caller's signal (not by the reader leaving): the call failed, as its reader was told.
  if (sink.gone.reason instanceof AbortError) throw sink.gone.reason;
}

async function streamRows(transport: Transport, server: ServerConfig, request: PreparedRequest<'stream'>, defaults: RequestDefaults, sink: RowSink, signal: AbortSignal,
  queryId: string, asText: boolean): Promise<void> {
  const { options } = request;
  const timeout = options.timeout ?? defaults.timeout;
  const info = knownServerInfo(server) ?? await serverInfoWithin(transport, server, timeout, signal);
  const binaryBody = !asText && info.features.rowBinaryWithNamesAndTypes ? binarySelectBody(request.body) : undefined;
  const binary = binaryBody !== undefined;
  const body = binaryBody ?? request.body;
  const path = queryPath(server, binary ? [defaults.settings, options.settings, BINARY_SETTINGS] : [defaults.settings, options.settings], queryId);
  const typed = request.typedParams === undefined ? undefined : paramRequest(path, body, request.typedParams);
  let res: BodyStream;
  try {
    res = await openStream(transport, server, {
      method: 'POST', path: typed?.path ?? path, body: typed?.body ?? body, contentType: typed?.contentType, timeout, signal,
      ...(defaults.compression ? { compression: defaults.compression } : {}),
      onAbandon: () => void killQuery(server, queryId),
    });
  } catch (error) {
    if (sink.gone.aborted) return;
    throw error;
  }
  if (res.status !== 200) {
    const text = (await res.read())?.toString('utf8') ?? '';
    checkStatus({ status: res.status, headers: res.headers, body: text });
  }
  try {
    const int64 = options.int64 ?? defaults.int64;
    await decodeRows(res, binary ? new RowBinaryStream({ int64 }) : new TsvStream({ int64, serverTimeZone: info.timeZone }), sink);
  } catch (error) {
    // The query is not read further: its request ends (and the server's query is killed).
    if (error instanceof UnsupportedBinaryType) res.cancel(new ColonnadeError('ABORTED', 'a column cannot be read in RowBinary'));
    throw error;
  }
}

// The body's rows into `sink`, by `decoder` (see `performStream` for the body's end).
async function decodeRows(res: BodyStream, decoder: RowBinaryStream | TsvStream, sink: RowSink): Promise<void> {
  const tag = res.headers['x-clickhouse-exception-tag'];
  // The body's last HELD_TAIL bytes, decoded only once the body ended without an exception in them.
  const held = new ChunkQueue();
  for (;;) {
    let chunk: Buffer | null;
    try {
      chunk = await res.read();
    } catch (error) {
      if (sink.gone.aborted) return;
      // A modern server that fails after the rows started writes its exception, then breaks the stream.
      if (error instanceof TransportError) await rowsBeforeBlock(held.concat(), tag, decoder, sink);
      throw error;
    }
    if (chunk === null) break;
    held.push(chunk);
    // Everything before the last HELD_TAIL bytes is decoded now: whole chunks, or the front
    // of one large chunk (the decoders take any split).
    for (;;) {
      const excess = held.bytes - HELD_TAIL;
      if (excess <= 0) break;
      if ((held.first() as Buffer).length > excess && excess < MIN_SPLIT) break;
      const part = held.take(excess) as Buffer;
      const rows = decoder.push(part);
      if (rows.length > 0 && !(await sink.push(rows))) {
        res.cancel(new ColonnadeError('ABORTED', 'the reader left the stream'));
        return;
      }
    }
  }
  const tail = held.concat();
  const text = tail.toString('utf8');
  if (tag !== undefined) await rowsBeforeBlock(tail, tag, decoder, sink, text);
  // Compressed, a binary server that tags no exception block may append its exception bare, with no line break before it (a tagged one writes its block).
  if (tag === undefined) {
    const unframed = decoder instanceof RowBinaryStream && res.headers['content-encoding'] === 'gzip' ? findUnframedError(text) : undefined;
    const trailing = unframed ?? findTrailingError(text);
    // Text that only looks like an exception at the very end of a result (a String value
    // ending a one-column text result, or a binary one from a server that tags no exception
    // blocks) is taken as the server's: a stream cannot ask again.
    if (trailing !== undefined) {
      const rows = decoder.push(tail.subarray(0, Buffer.byteLength(text.slice(0, trailing.offset), 'utf8')));
      if (rows.length > 0) await sink.push(rows);
      throw new ClickHouseError(trailing, 200);
    }
  }
  const rows = decoder.push(tail);
  const last = decoder.end();
  if (rows.length + last.length > 0) await sink.push(last.length === 0 ? rows : rows.concat(last));
}

/**
 * When `tail`, the end of a body, ends in a modern server's exception block: the rows of the
 * bytes before it go to the reader, then the block's `ClickHouseError` is thrown. Returns
 * when there is no block.
 */
async function rowsBeforeBlock(tail: Buffer, tag: string | undefined, decoder: RowBinaryStream | TsvStream, sink: RowSink, text = tail.toString('utf8')): Promise<void> {
  const block = findExceptionBlock(text, tag);
  if (block === undefined) return;
  // The rows' bytes are those before the block: found as bytes (the text's offsets are not
  // byte offsets where the rows, or the server's message, hold bytes that are not UTF-8).
  const open = tag === undefined ? -1 : tail.lastIndexOf(`\r\n__exception__\r\n${tag}\r\n`);
  const end = open >= 0 ? open : tail.length - Buffer.byteLength(text.slice(block.offset), 'utf8');
  const rows = decoder.push(tail.subarray(0, end));
  if (rows.length > 0) await sink.push(rows);
  throw new ClickHouseError(block, 200);
}
