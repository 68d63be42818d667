import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parseConnectionString } from '../../src/clickhouse/connection-string.js';
import { createServer, type Socket } from 'node:net';
import { createServer as createHttpServer } from 'node:http';
import { createGunzip } from 'node:zlib';
import type { AddressInfo } from 'node:net';
import { Client } from 'undici';
import {
  AbortError, ClickHouseError, ConfigError, MAX_RESULT_BYTES, ProtocolError, ResultTooLargeError, TimeoutError, TransportError,
} from '../../src/clickhouse/errors.js';
import { ping, send } from '../../src/clickhouse/http.js';
import { queryPath } from '../../src/clickhouse/query-path.js';
import { withFakeServer } from './fake-http.js';

const test = suite('http');

test('queryPath :: layers merge over the server\'s settings; with nothing added, the server\'s own path', () => {
  const server = parseConnectionString('http://u:p@127.0.0.1:8123/my%20db?max_threads=3');
  assert.is(queryPath(server, []), '/?database=my+db&max_threads=3');
  assert.is(queryPath(server, [{}, undefined]), '/?database=my+db&max_threads=3');
  assert.is(queryPath(server, [{ max_threads: 5 }, { log_queries: true }]), '/?database=my+db&max_threads=5&log_queries=1');
  assert.is(queryPath(server, [{}], 'q 1'), '/?database=my+db&max_threads=3&query_id=q+1');
  assert.is(queryPath(server, []), '/?database=my+db&max_threads=3');
});

test('send :: credentials travel in headers, database and settings in the query string', async () => {
  await withFakeServer((_req, res) => res.end('ok'), async (client, server, fake) => {
    const res = await send(client, server, { method: 'POST', path: queryPath(server, [{ max_threads: 5, log_queries: true }], 'q-1'), body: 'SELECT 1', timeout: 2_000 });
    assert.is(res.status, 200);
    assert.is(res.body, 'ok');
    const [req] = fake.seen;
    assert.is(req?.headers['x-clickhouse-user'], 'colonnade');
    assert.is(req?.headers['x-clickhouse-key'], 's3cret:p@ss');
    assert.is(req?.headers.authorization, undefined);
    assert.is(req?.url, '/?database=analytics&max_threads=5&log_queries=1&query_id=q-1');
    assert.not.ok(req?.url.includes('s3cret'));
    assert.is(req?.body, 'SELECT 1');
  });
});

test('send :: credentials that are not printable ASCII go as HTTP Basic over their UTF-8 bytes', async () => {
  await withFakeServer((_req, res) => res.end('ok'), async (_client, _server, fake) => {
    const server = parseConnectionString(`http://${encodeURIComponent('юзер')}:${encodeURIComponent('пароль-ü')}@${new URL(fake.url).host}/db`);
    const { Client } = await import('undici');
    const client = new Client(server.origin);
    try {
      await send(client, server, { method: 'POST', path: '/', body: 'SELECT 1', timeout: 2_000 });
    } finally {
      await client.close();
    }
    const req = fake.seen.at(-1)!;
    assert.is(req.headers['x-clickhouse-key'], undefined);
    assert.is(Buffer.from(String(req.headers.authorization).replace(/^Basic /, ''), 'base64').toString('utf8'), 'юзер:пароль-ü');
  });
});

test("send :: a request undici refuses to build is a ConfigError (the caller's fault, not the server's), without the words undici used", async () => {
  const server = parseConnectionString('http://u:p@127.0.0.1:9/db');
  const refusing = { dispatch() { throw Object.assign(new Error('invalid x-clickhouse-key header p'), { code: 'UND_ERR_INVALID_ARG' }); } };
  const err = await send(refusing as never, server, { method: 'POST', path: '/', body: 'x', timeout: 1_000 }).catch((e: unknown) => e);
  assert.instance(err, ConfigError);
  assert.not.match((err as Error).message, 'header p');
});

test('send :: a timed-out request destroys its socket; the next one on the same Client gets its own answer', async () => {
  await withFakeServer((req, res) => {
    if (req.body === 'slow') setTimeout(() => res.end('slow answer'), 300);
    else res.end(`answer to ${req.body}`);
  }, async (client, server, fake) => {
    const err = await send(client, server, { method: 'POST', path: '/', body: 'slow', timeout: 50 }).catch((e: unknown) => e);
    assert.instance(err, TimeoutError);
    assert.is((err as TimeoutError).code, 'TIMEOUT');
    assert.is((err as TimeoutError).requestSent, true);
    const next = await send(client, server, { method: 'POST', path: '/', body: 'fast', timeout: 2_000 });
    assert.is(next.body, 'answer to fast');
    assert.is(fake.sockets.size, 2, 'the second request needed a new socket');
  });
});

test('send :: a body past maxBytes stops the reading at once and destroys the socket; the next request gets its own answer', async () => {
  let wrote = 0;
  await withFakeServer((req, res) => {
    if (req.body !== 'big') return res.end(`answer to ${req.body}`);
    // Streams without end: only the reader's limit stops it (bounded by the write loop's count).
    const chunk = 'x'.repeat(64 * 1024);
    const more = (): void => {
      while (wrote < 1_000 && !res.destroyed) {
        wrote++;
        if (!res.write(chunk)) return void res.once('drain', more);
      }
    };
    res.on('error', () => {});
    more();
  }, async (client, server, fake) => {
    const err = await send(client, server, { method: 'POST', path: '/', body: 'big', timeout: 10_000, maxBytes: 200_000 }).catch((e: unknown) => e);
    assert.instance(err, ResultTooLargeError);
    assert.is((err as ResultTooLargeError).code, 'RESULT_TOO_LARGE');
    assert.is((err as ResultTooLargeError).limit, 200_000);
    assert.ok((err as ResultTooLargeError).received > 200_000);
    assert.ok(wrote < 1_000, `the server was stopped early (${wrote} chunks)`);
    const next = await send(client, server, { method: 'POST', path: '/', body: 'fast', timeout: 2_000, maxBytes: 200_000 });
    assert.is(next.body, 'answer to fast');
    assert.is(fake.sockets.size, 2, 'the second request needed a new socket');
  });
});

test('send :: a Content-Length past maxBytes fails before any body is read; maxBytes is capped at MAX_RESULT_BYTES', async () => {
  await withFakeServer((_req, res) => res.end('y'.repeat(1_000)), async (client, server) => {
    const err = await send(client, server, { method: 'POST', path: '/', body: 'q', timeout: 2_000, maxBytes: 999 }).catch((e: unknown) => e);
    assert.instance(err, ResultTooLargeError);
    assert.is((err as ResultTooLargeError).received, 1_000);
    assert.match((err as Error).message, /LIMIT/);
    const ok = await send(client, server, { method: 'POST', path: '/', body: 'q', timeout: 2_000, maxBytes: 1_000 });
    assert.is(ok.body.length, 1_000, 'exactly the limit is fine');
    const capped = await send(client, server, { method: 'POST', path: '/', body: 'q', timeout: 2_000, maxBytes: MAX_RESULT_BYTES * 4 });
    assert.is(capped.body.length, 1_000);
  });
});

test('send :: an abort signal cancels; an already aborted one sends nothing', async () => {
  await withFakeServer((_req, res) => setTimeout(() => res.end('late'), 300), async (client, server, fake) => {
    const ac = new AbortController();
    const pending = send(client, server, { method: 'POST', path: '/', body: 'x', timeout: 2_000, signal: ac.signal });
    setTimeout(() => ac.abort(new Error('user gave up')), 30);
    const err = await pending.catch((e: unknown) => e);
    assert.instance(err, AbortError);
    assert.is((err as AbortError).code, 'ABORTED');
    assert.is(((err as AbortError).cause as Error).message, 'user gave up');
    const before = fake.seen.length;
    const again = await send(client, server, { method: 'POST', path: '/', body: 'y', timeout: 2_000, signal: ac.signal }).catch((e: unknown) => e);
    assert.instance(again, AbortError);
    assert.is((again as AbortError).requestSent, false);
    assert.is(fake.seen.length, before);
  });
});

test('send :: connection refused is a TransportError with requestSent false', async () => {
  await withFakeServer((_req, res) => res.end(), async (client, server, fake) => {
    await fake.close(); // nobody listens on the port any more
    const err = await send(client, server, { method: 'POST', path: '/', body: 'x', timeout: 2_000 }).catch((e: unknown) => e);
    assert.instance(err, TransportError);
    assert.is((err as TransportError).code, 'TRANSPORT');
    assert.is((err as TransportError).requestSent, false);
    assert.match((err as Error).message, /ECONNREFUSED/);
    assert.not.ok((err as Error).message.includes('s3cret'));
  });
});

test('send :: a server that dies after reading the request gives requestSent true', async () => {
  await withFakeServer((_req, res) => res.socket?.destroy(), async (client, server, fake) => {
    const err = await send(client, server, { method: 'POST', path: '/', body: 'INSERT', timeout: 2_000 }).catch((e: unknown) => e);
    assert.instance(err, TransportError);
    assert.is((err as TransportError).requestSent, true);
  });
});

// What a modern server sends when a query fails after rows went out, byte for byte: the rows
// in one chunk, the exception block in the next, and then no last chunk (the server breaks
// the stream on purpose) before it closes the socket.
async function brokenStream(extraHeaders: string, chunks: readonly string[]): Promise<unknown> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.once('data', () => {
      let out = `HTTP/1.1 200 OK\r\nContent-Type: text/tab-separated-values; charset=UTF-8\r\nTransfer-Encoding: chunked\r\n${extraHeaders}Connection: close\r\n\r\n`;
      for (const chunk of chunks) out += `${Buffer.byteLength(chunk).toString(16)}\r\n${chunk}\r\n`;
      socket.end(out);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const cfg = parseConnectionString(`http://127.0.0.1:${(server.address() as AddressInfo).port}/default`);
  const client = new Client(cfg.origin);
  try {
    return await send(client, cfg, { method: 'POST', path: '/', body: 'SELECT 1', timeout: 2_000 }).catch((e: unknown) => e);
  } finally {
    await client.close();
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  }
}

test('send :: with onBody a 200 body goes to it chunk by chunk as it arrives and only its end is kept; another status is held whole', async () => {
  const pieces = Array.from({ length: 6 }, (_, i) => `${String(i).repeat(10_000)}\n`);
  await withFakeServer(async (req, res) => {
    if (req.body === 'fail') return void res.writeHead(500).end('Code: 60. DB::Exception: no table');
    res.writeHead(200);
    for (const piece of pieces) {
      res.write(piece);
      await new Promise((r) => setTimeout(r, 15));
    }
    res.end();
  }, async (client, server) => {
    const got: Buffer[] = [];
    const pending = send(client, server, { method: 'POST', path: '/', body: 'SELECT 1', timeout: 2_000, onBody: (chunk) => got.push(chunk) });
    await new Promise((r) => setTimeout(r, 40));
    assert.ok(got.length > 0 && got.length < pieces.length, `${got.length} chunks had come while the body was still being written`);
    const res = await pending;
    assert.is(Buffer.concat(got).toString(), pieces.join(''), 'every byte, once, in order');
    assert.is(res.streamed, true);
    assert.is(res.bytes, undefined);
    assert.is(res.body, pieces.join('').slice(-16_896), 'the text kept is the end only');
    // The byte limit holds while the body goes to onBody: it stops the reading as soon as it is crossed.
    let given = 0;
    const tooLarge = await send(client, server, { method: 'POST', path: '/', body: 'SELECT 1', timeout: 2_000, maxBytes: 25_000, onBody: (chunk) => { given += chunk.length; } })
      .catch((e: unknown) => e);
    assert.instance(tooLarge, ResultTooLargeError);
    assert.ok(given <= 25_000, `${given} bytes given past the limit`);
    const refused = await send(client, server, { method: 'POST', path: '/', body: 'fail', timeout: 2_000, onBody: () => assert.unreachable('a refusal is not a body') });
    assert.is(refused.status, 500);
    assert.is(refused.streamed, undefined);
    assert.match(refused.body, /no table/);
  });
});

test('send :: a stream the server broke after its tagged exception block is a ClickHouseError, not a network failure', async () => {
  const tag = 'dmrdfnujjqvszhav';
  const message = "Code: 395. DB::Exception: Value passed to 'throwIf' function is non-zero: while executing 'FUNCTION throwIf(equals(__table1.number, 2_UInt8) :: 1) -> throwIf(equals(__table1.number, 2_UInt8)) UInt8 : 0'. (FUNCTION_THROW_IF_VALUE_IS_NON_ZERO) (version 25.11.1.1)\n";
  assert.is(Buffer.byteLength(message), 262); // the length the server wrote in the documented example
  const err = await brokenStream(`X-ClickHouse-Exception-Tag: ${tag}\r\n`, [
    'n\tboom\nUInt64\tUInt8\n0\t0\n1\t0\n',
    `\r\n__exception__\r\n${tag}\r\n${message}262 ${tag}\r\n__exception__\r\n`,
  ]);
  assert.instance(err, ClickHouseError);
  assert.is((err as ClickHouseError).serverCode, 395);
  assert.is((err as ClickHouseError).serverName, 'FUNCTION_THROW_IF_VALUE_IS_NON_ZERO');
  assert.is((err as ClickHouseError).status, 200);
  assert.match((err as ClickHouseError).serverMessage, /^Value passed to 'throwIf' function is non-zero: while executing/);
});

test('send :: the untagged block of 24.x releases, in a broken stream, is a ClickHouseError', async () => {
  const err = await brokenStream('', ['0\n1\n', '__exception__\r\nCode: 241. DB::Exception: Memory limit (for query) exceeded. (MEMORY_LIMIT_EXCEEDED) (version 24.12.1.1)\n']);
  assert.instance(err, ClickHouseError);
  assert.is((err as ClickHouseError).serverCode, 241);
  assert.is((err as ClickHouseError).serverName, 'MEMORY_LIMIT_EXCEEDED');
});

test('send :: an untagged block split over several chunks of a broken stream is still a ClickHouseError', async () => {
  const err = await brokenStream('', ['0\n1\n', '__exception__\r\nCode: 241. DB::Exception: Memory li', 'mit (for query) exceeded. (MEMORY_LIMIT_EXCEEDED) (version 24.12.1.1)\n']);
  assert.instance(err, ClickHouseError);
  assert.is((err as ClickHouseError).serverCode, 241);
});

test('send :: a stream broken without an exception block stays a TransportError', async () => {
  const err = await brokenStream('X-ClickHouse-Exception-Tag: abcdefghijklmnop\r\n', ['0\n1\n', 'Code: 241. DB::Exception: in the data\n']);
  assert.instance(err, TransportError);
  assert.is((err as TransportError).requestSent, true);
});

test('ping :: Ok. passes, anything else is a ProtocolError', async () => {
  let answer = 'Ok.\n';
  await withFakeServer((req, res) => { assert.is(req.url, '/ping'); res.end(answer); }, async (client, server, fake) => {
    await ping(client, server, { timeout: 1_000 });
    answer = 'nope';
    const err = await ping(client, server, { timeout: 1_000 }).catch((e: unknown) => e);
    assert.instance(err, ProtocolError);
  });
});


test('send :: a compressed streamed body reaches the server chunk by chunk, and a failing source fails the request with its own error', async () => {
  let seen = '';
  let heard: () => void = () => undefined;
  const server = createHttpServer((req, res) => {
    const inflate = createGunzip();
    req.pipe(inflate);
    inflate.on('data', (c: Buffer) => { seen += c.toString('utf8'); if (seen.includes('first')) heard(); });
    inflate.on('error', () => undefined);
    inflate.on('end', () => res.end('done'));
    req.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const config = parseConnectionString(`http://127.0.0.1:${(server.address() as AddressInfo).port}/default`);
  const client = new Client(config.origin);
  try {
    // The source waits until the server has its first chunk: before, gzip held it back (the server saw nothing of a slow source and timed out after 30 s).
    async function* slow(): AsyncGenerator<Buffer> {
      yield Buffer.from('first\n');
      const got = await new Promise<boolean>((resolve) => { heard = () => resolve(true); setTimeout(() => resolve(false), 3_000); });
      yield Buffer.from(got ? 'second\n' : 'the server heard nothing\n');
    }
    const res = await send(client, config, { method: 'POST', path: '/', body: slow(), timeout: 5_000, compression: { request: true } });
    assert.is(res.body, 'done');
    assert.is(seen, 'first\nsecond\n');
    // Before: the source's error went nowhere (an unhandled 'error' that ended the process), or the request hung to its timeout.
    async function* broken(): AsyncGenerator<Buffer> {
      yield Buffer.from('row\n');
      throw new Error('source broke');
    }
    const t0 = Date.now();
    const failed = await send(client, config, { method: 'POST', path: '/', body: broken(), timeout: 5_000, compression: { request: true } }).then(() => 'sent', (e: Error) => e.message);
    assert.match(failed, /source broke/);
    assert.ok(Date.now() - t0 < 2_000, `failed after ${Date.now() - t0} ms`);
  } finally {
    await client.close().catch(() => undefined);
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

test.run();
