// The fault proxy, each mode seen from the client's side: first against a local node http
// server (exact bytes, who saw what), then against a real ClickHouse server of the cluster
// through colonnade's connect(). Timings are lower bounds only, never tight upper ones.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect as netConnect, type AddressInfo, type Socket } from 'node:net';
import { connect } from '../../src/index.js';
import { serverUrls } from '../integration/cluster.js';
import { startFaultProxy, type FaultProxy } from './fault-proxy.js';

const test = suite('fault-proxy');
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
const codeOf = (e: unknown) => (e as { code?: string }).code ?? String(e);
const causeCode = (e: unknown) => codeOf((e as { cause?: unknown }).cause);

interface Origin { port: number; requests: string[]; connections: number; sockets: Set<Socket>; close(): Promise<void> }

/** A local server: `/big` (or the body `big`) answers 10 000 bytes, `/close` a body ended by closing, anything else echoes. */
async function origin(): Promise<Origin> {
  const o = { requests: [] as string[], connections: 0, sockets: new Set<Socket>() };
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => {
      o.requests.push(`${req.method} ${req.url} ${body}`);
      if (req.url === '/big' || body === 'big') {
        res.writeHead(200, { 'content-length': '10000' }).end('x'.repeat(10_000));
      } else if (req.url === '/close') {
        res.writeHead(200, { connection: 'close' });
        res.end('closing');
      } else {
        res.writeHead(200, { 'content-type': 'text/plain' }).end(`echo:${body}`);
      }
    });
  });
  server.on('connection', (s) => { o.connections++; o.sockets.add(s); s.on('close', () => o.sockets.delete(s)); });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    ...o,
    get requests() { return o.requests; },
    get connections() { return o.connections; },
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}

/** One request on a fresh socket (no agent): the answer, or the error it ended with. */
function fetchRaw(port: number, path: string, body = '', timeoutMs = 5_000): Promise<{ status?: number; body: string; error?: string; ms: number }> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    let got = '';
    const done = (r: { status?: number; error?: string }) => resolve({ ...r, body: got, ms: Date.now() - t0 });
    const req = request({ host: '127.0.0.1', port, path, method: body ? 'POST' : 'GET', agent: false, timeout: timeoutMs }, (res) => {
      res.on('data', (c) => { got += c; });
      res.on('end', () => done({ status: res.statusCode ?? 0 }));
      res.on('error', (e) => done({ status: res.statusCode ?? 0, error: codeOf(e) }));
      res.on('aborted', () => done({ status: res.statusCode ?? 0, error: 'ABORTED' }));
    });
    req.on('timeout', () => { req.destroy(); done({ error: 'TIMEOUT' }); });
    req.on('error', (e) => done({ error: codeOf(e) }));
    req.end(body);
  });
}

/** A raw socket through `port`: writes `text`, then records bytes, `end` and errors until it closes. */
function rawExchange(port: number, text: string, waitMs = 5_000) {
  const t0 = Date.now();
  return new Promise<{ bytes: number; firstByteMs?: number; endMs?: number; error?: string }>((resolve) => {
    const r: { bytes: number; firstByteMs?: number; endMs?: number; error?: string } = { bytes: 0 };
    const s = netConnect({ host: '127.0.0.1', port });
    const timer = setTimeout(() => s.destroy(), waitMs);
    s.on('connect', () => { if (text) s.write(text); });
    s.on('data', (c) => { r.firstByteMs ??= Date.now() - t0; r.bytes += c.length; });
    s.on('end', () => { r.endMs = Date.now() - t0; s.end(); });
    s.on('error', (e) => { r.error = codeOf(e); });
    s.on('close', () => { clearTimeout(timer); resolve(r); });
  });
}

let local: Origin;
const proxies: FaultProxy[] = [];
async function proxyTo(target: string | { host: string; port: number }): Promise<FaultProxy> {
  const p = await startFaultProxy({ target });
  proxies.push(p);
  return p;
}

test.before.each(async () => { local = await origin(); });
test.after.each(async () => {
  await Promise.all(proxies.splice(0).map((p) => p.close()));
  await local.close();
});

// ------------------------------------------------------------- against a local http server

test('fault-proxy :: binds 127.0.0.1 on a free port; url() is the target connection string with the proxy address', async () => {
  const p = await proxyTo(`http://colonnade:s3cret%3Ap%40ss@127.0.0.1:${local.port}/analytics?max_threads=3`);
  assert.ok(p.port > 0 && p.port !== local.port);
  assert.is(p.url(), `http://colonnade:s3cret%3Ap%40ss@127.0.0.1:${p.port}/analytics?max_threads=3`);
  assert.is(p.url({ user: 'u', password: 'p:w', database: 'db' }), `http://u:p%3Aw@127.0.0.1:${p.port}/db?max_threads=3`);
  const bare = await proxyTo({ host: '127.0.0.1', port: local.port });
  assert.is(bare.url(), `http://default@127.0.0.1:${bare.port}/default`);
});

test('fault-proxy :: pass: the client gets the server answer unchanged, and connections and bytes are counted', async () => {
  const p = await proxyTo({ host: '127.0.0.1', port: local.port });
  const r = await fetchRaw(p.port, '/hello', 'ping');
  assert.is(r.error, undefined);
  assert.is(r.body, 'echo:ping');
  assert.equal(local.requests, ['POST /hello ping']);
  const s = p.stats();
  assert.is(s.accepted, 1);
  assert.is(s.reset, 0);
  assert.ok(s.bytesFromClients > 0 && s.bytesToTarget === s.bytesFromClients);
  assert.ok(s.bytesFromTarget > 0 && s.bytesToClients === s.bytesFromTarget);
});

test('fault-proxy :: latency: a round trip takes at least the delay twice (request and response each wait)', async () => {
  const p = await proxyTo({ host: '127.0.0.1', port: local.port });
  p.setMode({ mode: 'latency', ms: 300 });
  const r = await fetchRaw(p.port, '/slow', 'x');
  assert.is(r.body, 'echo:x');
  assert.ok(r.ms >= 590, `round trip ${r.ms} ms`);
});

test('fault-proxy :: latency firstByteOnly: the request goes through at once, the answer waits once', async () => {
  const p = await proxyTo({ host: '127.0.0.1', port: local.port });
  p.setMode({ mode: 'latency', ms: 1_500, firstByteOnly: true });
  const t0 = Date.now();
  const answer = fetchRaw(p.port, '/first', 'y');
  for (let i = 0; i < 100 && local.requests.length === 0; i++) await pause(10);
  assert.ok(local.requests.length === 1 && Date.now() - t0 < 1_500, 'the server had the request before the delay ran out');
  const r = await answer;
  assert.is(r.body, 'echo:y');
  assert.ok(r.ms >= 1_490, `answer after ${r.ms} ms`);
});

test('fault-proxy :: blackhole: a client with a 500 ms timeout times out and the server never hears of it', async () => {
  const p = await proxyTo({ host: '127.0.0.1', port: local.port });
  p.setMode('blackhole');
  const r = await fetchRaw(p.port, '/void', 'hello', 500);
  assert.is(r.error, 'TIMEOUT');
  assert.ok(r.ms >= 490, `timed out after ${r.ms} ms`);
  assert.is(local.connections, 0);
  assert.ok(p.stats().bytesFromClients > 0, 'the proxy read the request');
  assert.is(p.stats().bytesToClients, 0);
});

test('fault-proxy :: reset-connect: a new connection gets ECONNRESET and never reaches the server', async () => {
  const p = await proxyTo({ host: '127.0.0.1', port: local.port });
  p.setMode('reset-connect');
  const r = await rawExchange(p.port, '');
  assert.is(r.error, 'ECONNRESET');
  assert.is(r.bytes, 0);
  const h = await fetchRaw(p.port, '/x', 'y');
  assert.is(h.error, 'ECONNRESET');
  assert.is(local.connections, 0);
  assert.is(p.stats().reset, 2);
});

test('fault-proxy :: reset-after-request: the server gets the request, the client gets ECONNRESET and no byte of the answer', async () => {
  const p = await proxyTo({ host: '127.0.0.1', port: local.port });
  p.setMode('reset-after-request');
  const r = await fetchRaw(p.port, '/write', 'row');
  assert.is(r.error, 'ECONNRESET');
  assert.is(r.status, undefined);
  assert.equal(local.requests, ['POST /write row']);
  assert.is(p.stats().bytesToClients, 0);
});

test('fault-proxy :: reset-mid-response: the client gets exactly N bytes, then ECONNRESET (a truncated answer)', async () => {
  const p = await proxyTo({ host: '127.0.0.1', port: local.port });
  p.setMode({ mode: 'reset-mid-response', bytes: 1_000 });
  const raw = await rawExchange(p.port, 'GET /big HTTP/1.1\r\nHost: x\r\n\r\n');
  assert.is(raw.error, 'ECONNRESET');
  assert.is(raw.bytes, 1_000);
  const viaHttp = await fetchRaw(p.port, '/big');
  assert.is(viaHttp.status, 200, 'the headers came through');
  assert.ok(viaHttp.error !== undefined && viaHttp.body.length < 10_000, `truncated body: ${viaHttp.body.length} bytes, ${viaHttp.error}`);
  const conn = connect(p.url());
  try {
    const e = await conn.query('big').then(() => undefined, (err: unknown) => err);
    assert.is(codeOf(e), 'TRANSPORT');
    assert.is((e as { requestSent?: boolean }).requestSent, true);
  } finally {
    await conn.close();
  }
});

test('fault-proxy :: slow-close: the answer arrives at once, the FIN only after the hold time', async () => {
  const p = await proxyTo({ host: '127.0.0.1', port: local.port });
  p.setMode({ mode: 'slow-close', ms: 800 });
  const r = await rawExchange(p.port, 'GET /close HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  assert.is(r.error, undefined);
  assert.ok(r.bytes > 0 && r.firstByteMs !== undefined && r.endMs !== undefined);
  assert.ok(r.endMs! - r.firstByteMs! >= 780, `FIN ${r.endMs! - r.firstByteMs!} ms after the answer`);
  p.setMode('pass');
  const quick = await rawExchange(p.port, 'GET /close HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  assert.ok(quick.endMs !== undefined && quick.error === undefined);
});

test('fault-proxy :: setMode on a live proxy: an open keep-alive connection goes silent under blackhole, and after pass a new one works', async () => {
  const p = await proxyTo({ host: '127.0.0.1', port: local.port });
  const conn = connect(p.url(), { connections: 1, timeout: 500 });
  try {
    assert.is(await conn.query('one'), 'echo:one');
    p.setMode('blackhole');
    const e = await conn.query('two').then(() => undefined, (err: unknown) => err);
    assert.is(codeOf(e), 'TIMEOUT');
    assert.equal(local.requests.map((r) => r.split(' ')[2]), ['one']);
    p.setMode('pass');
    assert.is(await conn.query('three'), 'echo:three');
    // 1 the first socket (dropped at the timeout), 2 the KILL of the timed-out query on a
    // connection of its own (swallowed by the black hole), 3 the new socket for 'three'.
    assert.is(p.stats().accepted, 3, 'the timed-out socket was dropped, a new one opened');
  } finally {
    await conn.close();
  }
});

test('fault-proxy :: close() closes every socket it holds, client and server side, and can be awaited twice', async () => {
  const p = await proxyTo({ host: '127.0.0.1', port: local.port });
  const held = netConnect({ host: '127.0.0.1', port: p.port });
  const closed = new Promise<void>((r) => held.on('close', () => r()));
  held.on('error', () => undefined);
  held.write('GET /x HTTP/1.1\r\nHost: x\r\n\r\n');
  p.setMode('blackhole');
  const silent = netConnect({ host: '127.0.0.1', port: p.port });
  const silentClosed = new Promise<void>((r) => silent.on('close', () => r()));
  silent.on('error', () => undefined);
  for (let i = 0; i < 100 && (p.stats().open < 2 || local.sockets.size < 1); i++) await pause(10);
  assert.is(p.stats().open, 2);
  await Promise.all([p.close(), p.close()]);
  await Promise.all([closed, silentClosed]);
  for (let i = 0; i < 100 && local.sockets.size > 0; i++) await pause(10);
  assert.is(local.sockets.size, 0, 'the server side sockets are closed too');
  assert.is(p.stats().open, 0);
  const refused = await rawExchange(p.port, '');
  assert.is(refused.error, 'ECONNREFUSED');
});

// ------------------------------------------------------------- against ClickHouse

const suffix = `${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 7)}`;

test('fault-proxy :: clickhouse pass: SELECT 1 through connect() works with the target credentials', async () => {
  const p = await proxyTo(serverUrls({ user: 'colonnade' })[0]!);
  const conn = connect(p.url());
  try {
    // The colonnade user has a password: a connection string that lost it would be refused.
    assert.equal(await conn.select('SELECT 1 AS x'), [{ x: 1 }]);
  } finally {
    await conn.close();
  }
});

test('fault-proxy :: clickhouse latency: SELECT 1 takes at least the added delay twice', async () => {
  const p = await proxyTo(serverUrls()[0]!);
  p.setMode({ mode: 'latency', ms: 250 });
  const conn = connect(p.url());
  try {
    const t0 = Date.now();
    assert.equal(await conn.select('SELECT 1 AS x'), [{ x: 1 }]);
    assert.ok(Date.now() - t0 >= 490, `took ${Date.now() - t0} ms`);
  } finally {
    await conn.close();
  }
});

test('fault-proxy :: clickhouse blackhole: connect() with a 500 ms timeout rejects with TIMEOUT', async () => {
  const p = await proxyTo(serverUrls()[0]!);
  p.setMode('blackhole');
  const conn = connect(p.url(), { timeout: 500 });
  try {
    const t0 = Date.now();
    const e = await conn.select('SELECT 1').then(() => undefined, (err: unknown) => err);
    assert.is(codeOf(e), 'TIMEOUT');
    assert.ok(Date.now() - t0 >= 490);
  } finally {
    await conn.close();
  }
});

test('fault-proxy :: clickhouse reset-connect: connect() rejects with TRANSPORT caused by ECONNRESET', async () => {
  const p = await proxyTo(serverUrls()[0]!);
  p.setMode('reset-connect');
  const conn = connect(p.url());
  try {
    const e = await conn.select('SELECT 1').then(() => undefined, (err: unknown) => err);
    assert.is(codeOf(e), 'TRANSPORT');
    assert.ok(/ECONNRESET|UND_ERR_SOCKET/.test(String((e as Error).message)), String(e));
  } finally {
    await conn.close();
  }
});

test('fault-proxy :: clickhouse reset-after-request: the INSERT lands on the server although the client got a reset', async () => {
  const direct = connect(serverUrls()[0]!);
  const table = `fault_proxy_${suffix}`;
  const p = await proxyTo(serverUrls()[0]!);
  const conn = connect(p.url());
  try {
    await direct.query(`CREATE TABLE ${table} (id UInt32) ENGINE = MergeTree ORDER BY id`);
    p.setMode('reset-after-request');
    const e = await conn.insert(`INSERT INTO ${table} VALUES (7)`).then(() => undefined, (err: unknown) => err);
    assert.is(codeOf(e), 'TRANSPORT');
    assert.is((e as { requestSent?: boolean }).requestSent, true, 'the client knows the request may have landed');
    let rows: unknown[] = [];
    for (let i = 0; i < 50 && rows.length === 0; i++) {
      rows = await direct.select(`SELECT id FROM ${table}`);
      if (rows.length === 0) await pause(100);
    }
    assert.equal(rows, [{ id: 7 }]);
  } finally {
    await direct.query(`DROP TABLE IF EXISTS ${table}`).catch(() => undefined);
    await Promise.all([conn.close(), direct.close()]);
  }
});

test('fault-proxy :: clickhouse reset-mid-response: a large SELECT fails with a TRANSPORT error, not a short result', async () => {
  const p = await proxyTo(serverUrls()[0]!);
  const conn = connect(p.url());
  try {
    // A connection's first select asks the server's version first (it picks the result format by it): done before the fault.
    await conn.select('SELECT 1');
    const before = p.stats().bytesToClients;
    p.setMode({ mode: 'reset-mid-response', bytes: 4_000 });
    const e = await conn.select('SELECT number FROM system.numbers LIMIT 100000').then((rows) => rows.length, (err: unknown) => err);
    assert.is(codeOf(e), 'TRANSPORT', `got ${String(e)}`);
    assert.is(p.stats().bytesToClients - before, 4_000);
  } finally {
    await conn.close();
  }
});

test('fault-proxy :: clickhouse slow-close: /ping answers at once, the socket stays open after the server closed it', async () => {
  const p = await proxyTo(serverUrls()[0]!);
  p.setMode({ mode: 'slow-close', ms: 700 });
  const r = await rawExchange(p.port, 'GET /ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  assert.is(r.error, undefined);
  assert.ok(r.bytes > 0 && r.endMs! - r.firstByteMs! >= 680, `FIN ${r.endMs! - r.firstByteMs!} ms after the answer`);
});

test.run();
