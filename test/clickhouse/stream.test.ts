// Streaming selects without a server of their own: the chunked decoders against the whole-body
// ones, the row stream's backpressure and early exit, and `connect().stream` against a fake
// server that sends a large body slowly, fails mid-way, or is left by its reader.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { decodeRowBinary } from '../../src/clickhouse/decode-binary.js';
import { decodeTsvRows } from '../../src/clickhouse/decode.js';
import { RowBinaryStream, TsvStream } from '../../src/clickhouse/stream-decode.js';
import { createRowStream } from '../../src/clickhouse/stream.js';
import { connect } from '../../src/clickhouse/connection.js';
import { ClickHouseError, QueryParamError } from '../../src/clickhouse/errors.js';
import type { Row } from '../../src/clickhouse/types.js';
import { isRowSource, prepare } from '../../src/clickhouse/prepare.js';
import { Readable } from 'node:stream';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { fakeServer } from './fake-http.js';
import { heldBytes } from '../gc.js';
import { createServer as createHttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { constants as zlibConstants, gzipSync } from 'node:zlib';
import { randomBytes } from 'node:crypto';
import { Client } from 'undici';
import { openStream } from '../../src/clickhouse/http-stream.js';
import { parseConnectionString } from '../../src/clickhouse/connection-string.js';
import type { ServerResponse } from 'node:http';
import { le, str, varint } from './row-binary-bytes.js';

const test = suite('stream');
const codeOf = (e: unknown) => (e as { code?: string }).code;

/** Splits `body` into chunks of the given sizes, cycling. */
function chunked(body: Buffer, sizes: readonly number[]): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0, i = 0; at < body.length; i++) {
    const n = sizes[i % sizes.length] as number;
    out.push(body.subarray(at, at + n));
    at += n;
  }
  return out;
}

// One String, one UInt32, one Array(UInt8) column: a header, then rows of varying length.
function binaryBody(rows: number): Buffer {
  const parts: Buffer[] = [Buffer.from([3, 1, 0x73, 1, 0x6e, 1, 0x61, 6, ...Buffer.from('String'), 6, ...Buffer.from('UInt32'), 12, ...Buffer.from('Array(UInt8)')])];
  for (let i = 0; i < rows; i++) {
    const s = Buffer.from(`row ${i} ${'é'.repeat(i % 7)}`);
    const n = Buffer.alloc(4);
    n.writeUInt32LE(i * 7);
    parts.push(Buffer.from([s.length]), s, n, Buffer.from([i % 4, ...Array.from({ length: i % 4 }, (_, k) => k)]));
  }
  return Buffer.concat(parts);
}

test('decoders :: RowBinary in chunks of any size gives the rows of the whole body', () => {
  const body = binaryBody(500);
  const whole = decodeRowBinary(body, { int64: 'auto' });
  for (const sizes of [[1], [2, 3], [7], [64, 1], [4096]]) {
    const decoder = new RowBinaryStream({ int64: 'auto' });
    const rows = chunked(body, sizes).flatMap((c) => decoder.push(c));
    rows.push(...decoder.end());
    assert.equal(rows, whole, `chunks of ${sizes.join(',')}`);
  }
});

test('decoders :: a RowBinary body that ends inside a row is an error at its end', () => {
  const body = binaryBody(3);
  const decoder = new RowBinaryStream({ int64: 'auto' });
  decoder.push(body.subarray(0, body.length - 2));
  assert.throws(() => decoder.end(), /ends inside a row/);
});

test('decoders :: TSV in chunks (split lines, split UTF-8 characters, empty strings) gives the rows of the whole body', () => {
  const lines = ['s\tn', 'String\tUInt32'];
  for (let i = 0; i < 300; i++) lines.push(`${i % 5 === 0 ? '' : `v ${'ü'.repeat(i % 3)}\\t${i}`}\t${i}`);
  const body = Buffer.from(`${lines.join('\n')}\n`);
  const whole = decodeTsvRows(body.toString(), { int64: 'auto', serverTimeZone: 'UTC' });
  assert.is(whole.length, 300);
  for (const sizes of [[1], [3, 5], [17], [1000]]) {
    const decoder = new TsvStream({ int64: 'auto', serverTimeZone: 'UTC' });
    const rows = chunked(body, sizes).flatMap((c) => decoder.push(c));
    rows.push(...decoder.end());
    assert.equal(rows, whole, `chunks of ${sizes.join(',')}`);
  }
  // One String column: an empty value is an empty line. Also a last line without its newline.
  const single = ['s', 'String', '', 'a', '', '', 'ü'.repeat(20), ''].join('\n');
  for (const text of [`${single}\n`, `${single}\nlast`]) {
    const expected = decodeTsvRows(text, { int64: 'auto', serverTimeZone: 'UTC' });
    assert.is(expected.length, text.endsWith('last') ? 7 : 6);
    for (const sizes of [[1], [2, 3], [1000]]) {
      const decoder = new TsvStream({ int64: 'auto', serverTimeZone: 'UTC' });
      const rows = chunked(Buffer.from(text), sizes).flatMap((c) => decoder.push(c));
      rows.push(...decoder.end());
      assert.equal(rows, expected, `${JSON.stringify(text.slice(-6))} in chunks of ${sizes.join(',')}`);
    }
  }
});

test('row stream :: the producer waits while the reader does not read (bounded queue), and a break ends it', async () => {
  let pushed = 0;
  let ended = false;
  const rows = createRowStream(async (sink) => {
    for (let i = 0; i < 1_000; i++) {
      const batch: Row[] = Array.from({ length: 100 }, (_, k) => ({ n: i * 100 + k }));
      pushed += batch.length;
      if (!(await sink.push(batch))) break;
    }
    ended = true;
  });
  const it = rows[Symbol.asyncIterator]();
  assert.equal((await it.next()).value, { n: 0 });
  await new Promise((r) => setTimeout(r, 50));
  // Before: nothing held the producer back; here it waits once ~8k rows are unread.
  assert.ok(pushed < 20_000, `${pushed} rows pushed while the reader read one`);
  let read = 1;
  for await (const row of { [Symbol.asyncIterator]: () => it }) {
    assert.is(row.n, read++);
    if (read === 30_000) break;
  }
  assert.ok(ended, 'the producer ended when the reader left');
  assert.ok(pushed < 50_000, `${pushed} rows produced for 30000 read`);
  assert.is(rows.rows, 30_000);
});

test('row stream :: a stream its reader dropped unfinished (no return(), no cancel()) ends its request when collected', async () => {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  let ended: unknown;
  const done = new Promise<void>((resolve) => {
    void (async () => {
      const rows = createRowStream(async (sink) => {
        // Waits for room (the reader stopped after one row) until the reader's side is gone.
        for (let i = 0; i < 1_000 && !sink.gone.aborted; i++) await sink.push(Array.from({ length: 100 }, (_, k) => ({ n: i * 100 + k })));
        ended = sink.gone.reason;
        resolve();
      });
      const it = rows[Symbol.asyncIterator]();
      assert.equal((await it.next()).value, { n: 0 });
    })();
  });
  // Before: the producer waited for room for ever, holding its request (and in the pool, its connection).
  for (let i = 0; i < 50 && ended === undefined; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.ok(ended !== undefined, 'the producer still waits for a reader that is gone');
  await done;
  assert.match(String((ended as Error).message), /the reader left the stream/);
});

test('row stream :: a stream read to its end and dropped lets go of its rows at the next collection, not after a finalizer ran', async () => {
  const before = heldBytes();
  for (let i = 0; i < 20; i++) {
    // One batch of 20,000 rows (about 1 MB): the last batch read stays in the stream's scope.
    const rows = createRowStream(async (sink) => { await sink.push(Array.from({ length: 20_000 }, (_, n) => ({ n, s: `row ${n}` }))); });
    let seen = 0;
    for await (const row of rows) seen += row.n === seen ? 1 : 0;
    assert.is(seen, 20_000);
  }
  // Before: each ended stream stayed registered with the collector's registry, which held it whole until its clean-up ran.
  const held = heldBytes() - before;
  assert.ok(held < 5_000_000, `${held} bytes held by 20 ended streams`);
});

test('connect :: one long-lived signal given to many streams is not made to hold on to each of them', async () => {
  const server = await fakeServer((req, res) => res.end(req.body.startsWith('SELECT version()') ? '18.16.1\tUTC\n' : 'n\nUInt8\n1\n'), (port) => `http://127.0.0.1:${port}/default`);
  const conn = connect(server.url);
  const shared = new AbortController();
  const streams = async (n: number): Promise<void> => {
    for (let i = 0; i < n; i++) for await (const row of conn.stream('SELECT 1 AS n', {}, { signal: shared.signal })) assert.is(row.n, 1);
    server.seen.length = 0;
  };
  try {
    await streams(300);
    const before = heldBytes();
    await streams(2_000);
    // Node 20's AbortSignal.any, which joined it with the stream's own, held 7.6 MB here (no signal at all: 0.3-0.7 MB).
    const held = heldBytes() - before;
    assert.ok(held < 3_000_000, `${held} bytes held after 2,000 streams`);
  } finally {
    await conn.close();
    await server.close();
  }
});

test('row stream :: a stream still read through its next() alone (taken off the iterator) is not ended by the collector', async () => {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  // Only next() is kept: neither the stream nor its iterator.
  const nextOnly = (): (() => Promise<IteratorResult<Row>>) => createRowStream(async (sink) => {
    for (let i = 0; i < 300; i++) if (!(await sink.push(Array.from({ length: 100 }, (_, k) => ({ n: i * 100 + k }))))) return;
  })[Symbol.asyncIterator]().next;
  const next = nextOnly();
  let read = 0;
  // Before: the iterator object was collected while its next() was in use, and the stream ended early, as if complete.
  for (let r = await next(); r.done !== true; r = await next()) {
    if (++read % 5_000 === 0) {
      gc();
      // The registry's callbacks run as tasks of their own.
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }
  assert.is(read, 30_000);
});

test('row stream :: a failure comes after the rows before it', async () => {
  const rows = createRowStream(async (sink) => {
    await sink.push([{ n: 1 }, { n: 2 }]);
    throw new Error('broken');
  });
  const seen: unknown[] = [];
  try {
    for await (const row of rows) seen.push(row.n);
    assert.unreachable('the loop should throw');
  } catch (error) {
    assert.match((error as Error).message, /broken/);
  }
  assert.equal(seen, [1, 2]);
});

test('row stream :: a failure the producer reports (the caller\'s abort) reaches the reader at its next step: the rows it has not read are dropped', async () => {
  let fail!: () => void;
  const go = new Promise<void>((resolve) => { fail = resolve; });
  const rows = createRowStream(async (sink) => {
    await sink.push([{ n: 1 }, { n: 2 }, { n: 3 }]);
    await go;
    sink.fail(new Error('aborted by the caller'));
  });
  const it = rows[Symbol.asyncIterator]();
  assert.equal(await it.next(), { value: { n: 1 }, done: false });
  fail();
  await new Promise((r) => setImmediate(r));
  const next = await it.next().then((r) => r, (e: unknown) => e);
  assert.instance(next, Error, `rows still came after the failure: ${JSON.stringify(next)}`);
  assert.match((next as Error).message, /aborted by the caller/);
  assert.equal(await it.next(), { value: undefined, done: true });
});

test('connect :: an 18.16 exception longer than 4 KiB appended after the rows rejects after them, none of it read as a row', async () => {
  const total = 20_000;
  const long = 'x'.repeat(12_000);
  const server = await fakeServer((req, res) => {
    if (req.body.startsWith('SELECT version()')) return void res.end('18.16.1\tUTC\n');
    const lines = Array.from({ length: total }, (_, k) => `${k}\n`).join('');
    res.end(`n\nString\n${lines}Code: 241, e.displayText() = DB::Exception: Memory limit (for query) exceeded: ${long}, e.what() = DB::Exception\n`);
  }, (port) => `http://127.0.0.1:${port}/default`);
  const conn = connect(server.url);
  try {
    const seen: unknown[] = [];
    const error = await (async () => {
      for await (const row of conn.stream('SELECT toString(number) AS n FROM numbers(20000)')) seen.push(row.n);
    })().then(() => undefined, (e: unknown) => e);
    assert.instance(error, ClickHouseError, String(error));
    assert.is((error as ClickHouseError).serverCode, 241);
    assert.is(seen.length, total, 'every row before the exception, and no more');
    assert.is(seen[total - 1], String(total - 1));
  } finally {
    await conn.close();
    await server.close();
  }
});

test('connect :: bad input throws at the call, before anything is sent', async () => {
  const server = await fakeServer((_req, res) => res.end(''));
  const conn = connect(server.url);
  try {
    assert.throws(() => conn.stream('SELECT {n} AS n'), (e: unknown) => e instanceof QueryParamError && /n/.test((e as Error).message));
    assert.throws(() => conn.stream('SELECT 1 FORMAT JSON'), /stream sets the output format itself/);
    assert.is(server.seen.length, 0);
  } finally {
    await conn.close();
    await server.close();
  }
});

test('connect :: rows arrive before the body ends; an appended 18.16 exception rejects after them', async () => {
  const total = 40_000;
  let firstRow!: () => void;
  const seenFirst = new Promise<void>((resolve) => { firstRow = resolve; });
  let restSent = false;
  const server = await fakeServer((req, res) => {
    if (req.body.startsWith('SELECT version()')) {
      res.end('18.16.1\tUTC\n');
      return;
    }
    const lines = (from: number, to: number): string => Array.from({ length: to - from }, (_, k) => `${from + k}\n`).join('');
    // Over 64 KiB of rows, then the rest only once the reader has a row (or after 5 s).
    res.write(`n\nUInt32\n${lines(0, 20_000)}`);
    void Promise.race([seenFirst, new Promise((r) => setTimeout(r, 5_000))]).then(() => {
      restSent = true;
      res.end(`${lines(20_000, total)}Code: 241, e.displayText() = DB::Exception: Memory limit (for query) exceeded, e.what() = DB::Exception\n`);
    });
  }, (port) => `http://127.0.0.1:${port}/default`);
  const conn = connect(server.url);
  try {
    let seen = 0;
    let beforeTheRest: boolean | undefined;
    try {
      for await (const row of conn.stream('SELECT number AS n FROM numbers(40000)')) {
        if (seen === 0) {
          beforeTheRest = !restSent;
          firstRow();
        }
        assert.is(row.n, seen++);
      }
      assert.unreachable('the appended exception should reject the loop');
    } catch (error) {
      assert.instance(error, ClickHouseError, String(error));
      assert.is((error as ClickHouseError).serverCode, 241);
    }
    assert.is(seen, total, 'every row before the exception');
    assert.ok(beforeTheRest, 'the first row came while the server still held the rest back');
  } finally {
    await conn.close();
    await server.close();
  }
});

test('openStream :: a compressed body is inflated only as fast as it is read: a reader that waits holds a few MiB, not the whole body', async () => {
  // 64 MiB of one byte compresses to about 64 KiB: it all arrives at once, and inflated it would all be held.
  const whole = 64 * 1024 * 1024;
  const gz = gzipSync(Buffer.alloc(whole, 0x61), { level: 9 });
  const server = createHttpServer((_req, res) => {
    res.writeHead(200, { 'content-encoding': 'gzip' });
    res.end(gz);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const config = parseConnectionString(`http://127.0.0.1:${(server.address() as AddressInfo).port}/default`);
  const client = new Client(config.origin);
  try {
    const res = await openStream(client, config, { method: 'POST', path: '/', body: 'x', timeout: 5_000 });
    let read = (await res.read())?.length ?? 0;
    await new Promise((resolve) => setTimeout(resolve, 500));
    // What waits inflated is what the reader gets at once, before a turn of the event loop.
    let held = 0;
    for (;;) {
      const next = res.read();
      const chunk = await Promise.race([next, new Promise<'later'>((resolve) => setImmediate(resolve, 'later'))]);
      if (chunk === 'later') {
        read += (await next)?.length ?? 0;
        break;
      }
      if (chunk === null) break;
      held += chunk.length;
    }
    read += held;
    // Before: the whole 64 MiB were inflated into the queue while the reader waited.
    assert.ok(held < 16 * 1024 * 1024, `${(held / 1048576).toFixed(1)} MiB held while the reader waited`);
    for (let chunk = await res.read(); chunk !== null; chunk = await res.read()) read += chunk.length;
    assert.is(read, whole, 'every byte, once read');
  } finally {
    await client.close().catch(() => undefined);
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

/** Runs `fn` with a Client to a local server that answers with `reply`; closes both afterwards. */
async function withRawServer(reply: (res: ServerResponse) => void, fn: (client: Client, config: ReturnType<typeof parseConnectionString>, requested: Promise<void>) => Promise<void>): Promise<void> {
  let requested!: () => void;
  const seen = new Promise<void>((resolve) => { requested = resolve; });
  const server = createHttpServer((req, res) => {
    req.resume();
    req.on('end', () => {
      requested();
      reply(res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const config = parseConnectionString(`http://127.0.0.1:${(server.address() as AddressInfo).port}/default`);
  const client = new Client(config.origin);
  try {
    await fn(client, config, seen);
  } finally {
    await client.destroy().catch(() => undefined);
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
}

/** `promise`'s outcome, or 'still waiting' after `ms`. */
const within = <T>(promise: Promise<T>, ms: number): Promise<{ value: T } | { error: unknown } | 'still waiting'> => {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise.then((value) => ({ value }), (error: unknown) => ({ error })),
    new Promise<'still waiting'>((resolve) => (timer = setTimeout(resolve, ms, 'still waiting'))),
  ]).finally(() => clearTimeout(timer));
};

test('openStream :: a connection reset while the reader waits for the next chunk rejects that read with TRANSPORT', async () => {
  let reset!: () => void;
  await withRawServer((res) => {
    res.writeHead(200);
    res.write(Buffer.alloc(1_000, 0x61));
    reset = () => res.socket?.destroy();
  }, async (client, config) => {
    const res = await openStream(client, config, { method: 'POST', path: '/', body: 'x', timeout: 30_000 });
    assert.is((await res.read())?.length, 1_000);
    const pending = res.read();
    reset();
    // Before: the read was never settled, and the loop reading the stream hung for good.
    const outcome = await within(pending, 5_000);
    assert.ok(outcome !== 'still waiting' && 'error' in outcome, `the pending read: ${JSON.stringify(outcome)}`);
    assert.is(codeOf((outcome as { error: unknown }).error), 'TRANSPORT');
  });
});

test('openStream :: a server that never answers the request is given up at the timeout (TIMEOUT), not waited for for ever', async () => {
  await withRawServer(() => undefined, async (client, config) => {
    const opened = openStream(client, config, { method: 'POST', path: '/', body: 'x', timeout: 300 });
    // Before: nothing timed the wait for the headers: stream() on a frozen server never ended.
    const outcome = await within(opened, 5_000);
    assert.ok(outcome !== 'still waiting' && 'error' in outcome, `the stream: ${outcome === 'still waiting' ? outcome : 'opened'}`);
    assert.is(codeOf((outcome as { error: unknown }).error), 'TIMEOUT');
  });
});

test('openStream :: a request aborted after it was sent, before any answer, is abandoned (its query gets killed)', async () => {
  await withRawServer(() => undefined, async (client, config, requested) => {
    const ac = new AbortController();
    let abandoned = 0;
    const opened = openStream(client, config, { method: 'POST', path: '/', body: 'x', timeout: 30_000, signal: ac.signal, onAbandon: () => abandoned++ });
    await requested;
    ac.abort();
    assert.is(codeOf(await opened.catch((e: unknown) => e)), 'ABORTED');
    // Before: only a stream that had rows called it: a long query aborted before its first row ran on.
    assert.is(abandoned, 1, 'onAbandon, which kills the query on its server');
  });
});

test('openStream :: a reader that stops reading for longer than the timeout still gets every byte (a slow reader is never timed out)', async () => {
  const whole = 8 * 1024 * 1024;
  await withRawServer((res) => {
    res.writeHead(200);
    res.end(Buffer.alloc(whole, 0x62));
  }, async (client, config) => {
    const res = await openStream(client, config, { method: 'POST', path: '/', body: 'x', timeout: 300 });
    let read = (await res.read())?.length ?? 0;
    // Long enough for the queue to fill and the socket to pause, and several timeouts over.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    // Before: the timer ran on while the socket was paused for the reader, and the stream failed with TIMEOUT.
    for (let chunk = await res.read(); chunk !== null; chunk = await res.read()) read += chunk.length;
    assert.is(read, whole);
  });
});

test('openStream :: a compressed body that does not shrink (random bytes) is taken from the socket only as fast as it is inflated and read', async () => {
  const whole = 48 * 1024 * 1024;
  const gz = gzipSync(randomBytes(whole), { level: zlibConstants.Z_NO_COMPRESSION });
  await withRawServer((res) => {
    res.writeHead(200, { 'content-encoding': 'gzip' });
    res.end(gz);
  }, async (client, config) => {
    const before = heldBytes();
    const res = await openStream(client, config, { method: 'POST', path: '/', body: 'x', timeout: 5_000 });
    let read = (await res.read())?.length ?? 0;
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const grown = heldBytes() - before;
    // Before: the socket was never paused for zlib's backlog, and what the socket took in waited in it (34 MiB here).
    assert.ok(grown < 16 * 1024 * 1024, `${(grown / 1048576).toFixed(1)} MiB taken in while the reader waited`);
    for (let chunk = await res.read(); chunk !== null; chunk = await res.read()) read += chunk.length;
    assert.is(read, whole, 'every byte, once read');
  });
});

test('row stream :: leaving the loop early returns once the request has ended, so that its connection is free at once', async () => {
  let requestEnded = false;
  const rows = createRowStream(async (sink) => {
    for (let i = 0; i < 100 && !sink.gone.aborted; i++) await sink.push(Array.from({ length: 10_000 }, (_, k) => ({ n: i * 10_000 + k })));
    // The request takes a moment to end after the reader left (its socket closing, say).
    await new Promise((resolve) => setTimeout(resolve, 100));
    requestEnded = true;
  });
  for await (const row of rows) if (row.n === 5) break;
  // Before: the loop left first; a pool then still counted the connection busy.
  assert.ok(requestEnded, 'the request had ended when the loop left');
});

test('connect :: a binary stream whose last row is large (an array of many strings, megabytes) gives that row too', async () => {
  // A row of an array of strings says only its next value's size: the decoder asks for twice
  // what it holds, so the body's last row most often comes out of the decoder only at its end.
  const strings = (width: number): Buffer => Buffer.concat([Buffer.from(varint(width)), Buffer.from(Array.from({ length: width }, (_, x) => `${String.fromCharCode(String(x).length)}${x}`).join(''), 'latin1')]);
  const bodyOf = (widths: readonly number[]): Buffer => Buffer.concat([
    Buffer.from([...varint(2), ...str('n'), ...str('a'), ...str('UInt64'), ...str('Array(String)')]),
    ...widths.flatMap((width, n) => [Buffer.from(le(BigInt(n), 8)), strings(width)]),
  ]);
  const shapes = [[10, 300_000], [5, 20, 450_000], [400_000]];
  let body: Buffer = Buffer.alloc(0);
  const server = await fakeServer((req, res) => {
    if (req.body.startsWith('SELECT version()')) return void res.end('26.7.2.1\tUTC\n');
    res.end(body);
  }, (port) => `http://127.0.0.1:${port}/default`);
  const conn = connect(server.url);
  try {
    for (const widths of shapes) {
      body = bodyOf(widths);
      const seen: Array<[unknown, number, unknown]> = [];
      for await (const row of conn.stream('SELECT n, a FROM wide')) {
        const a = row.a as string[];
        seen.push([row.n, a.length, a[a.length - 1]]);
      }
      // Before: the last row, which the decoder gave only at the body's end, was dropped.
      assert.equal(seen, widths.map((width, n) => [n, width, String(width - 1)]), `rows of ${widths.join(', ')} strings`);
    }
    assert.ok(server.seen.some((s) => s.url.includes('RowBinaryWithNamesAndTypes') || s.body.includes('RowBinaryWithNamesAndTypes')), 'read as RowBinary');
  } finally {
    await conn.close();
    await server.close();
  }
});

test('connect :: a binary stream whose Dynamic value has a type the reader cannot read after rows were given fails there: it is not asked again as text (the rows would come twice)', async () => {
  const good = 20_000;
  // Rows of a Dynamic String (0x15), then one whose type code no reader knows.
  const head = Buffer.from([...varint(1), ...str('d'), ...str('Dynamic')]);
  const rows = Buffer.from(Array.from({ length: good }, (_, n) => [0x15, ...str(`v${n}`)]).flat());
  const server = await fakeServer((req, res) => {
    if (req.body.startsWith('SELECT version()')) return void res.end('26.7.2.1\tUTC\n');
    res.write(Buffer.concat([head, rows]));
    setTimeout(() => res.end(Buffer.from([0xee, 0x01, 0x02])), 50);
  }, (port) => `http://127.0.0.1:${port}/default`);
  const conn = connect(server.url);
  try {
    let seen = 0;
    const error = await (async () => {
      for await (const row of conn.stream('SELECT d FROM dyn')) {
        assert.is(row.d, `v${seen}`);
        seen++;
      }
    })().then(() => undefined, (e: unknown) => e);
    assert.instance(error, Error, String(error));
    assert.ok(seen > 0 && seen <= good, `rows given before the failure, none twice (${seen})`);
    assert.is(server.seen.filter((x) => !x.body.startsWith('SELECT version()')).length, 1, 'the select was asked once');
  } finally {
    await conn.close();
    await server.close();
  }
});

test('prepare :: a generator, an async generator, a Readable or a Set is a row source; an array or a row is not', () => {
  assert.ok(isRowSource((function* () { yield { id: 1 }; })()));
  assert.ok(isRowSource((async function* () { yield { id: 1 }; })()));
  assert.ok(isRowSource(Readable.from([{ id: 1 }])));
  assert.ok(isRowSource(new Set([{ id: 1 }])));
  assert.not.ok(isRowSource([{ id: 1 }]));
  assert.not.ok(isRowSource({ id: 1 }));
  assert.not.ok(isRowSource(Object.assign(Object.create(null) as object, { id: 1 })));
  assert.not.ok(isRowSource('rows'));
  const request = prepare({ type: 'insert_to_table', table: 'db.t', rows: new Set([{ id: 1 }]) });
  assert.is(request.body, '', 'nothing is encoded before the rows are read');
  assert.is(request.insert?.table, '`db`.`t`');
});

test('options :: onProgress must be a function, checked before anything is sent', () => {
  assert.throws(() => prepare({ type: 'select', sql: 'SELECT 1', options: { onProgress: 'yes' as unknown as () => void } }), /options\.onProgress: expected a function, got string/);
  assert.not.throws(() => prepare({ type: 'select', sql: 'SELECT 1', options: { onProgress: () => undefined } }));
});

test.run();
