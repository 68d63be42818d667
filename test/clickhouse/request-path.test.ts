// The request path as a user meets it: what is sent, what is not, and what the error says.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createServer } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { gunzipSync, gzipSync } from 'node:zlib';
import { Client } from 'undici';
import { AbortError, ClosedError, ConfigError, ProtocolError, ResultTooLargeError, TimeoutError, TransportError } from '../../src/clickhouse/errors.js';
import { ping, send } from '../../src/clickhouse/http.js';
import { connect } from '../../src/clickhouse/connection.js';
import { parseConnectionString } from '../../src/clickhouse/connection-string.js';
import { forgetServerInfo, serverInfo } from '../../src/clickhouse/server-info.js';
import { fakeServer, withFakeServer } from './fake-http.js';
import type { Row } from '../../src/clickhouse/types.js';

const test = suite('request-path');

test('send :: a request that times out while it waits for the only socket is never written, says requestSent false and is not abandoned (no KILL QUERY for it)', async () => {
  let release: () => void = () => undefined;
  const arrived = new Promise<void>((resolve) => { release = resolve; });
  let answerFirst: () => void = () => undefined;
  await withFakeServer((req, res) => {
    if (req.body === 'first') {
      answerFirst = () => res.end('first answer');
      release();
    } else res.end(`answer to ${req.body}`);
  }, async (_client, server, fake) => {
    // One socket, no pipelining: the second request waits in undici's queue behind the first.
    const client = new Client(server.origin, { pipelining: 1 });
    try {
      const first = send(client, server, { method: 'POST', path: '/', body: 'first', timeout: 5_000 });
      let abandoned = 0;
      const queued = await send(client, server, { method: 'POST', path: '/', body: 'queued', timeout: 100, onAbandon: () => { abandoned++; } })
        .catch((e: unknown) => e);
      await arrived;
      answerFirst();
      assert.is((await first).body, 'first answer');
      assert.instance(queued, TimeoutError);
      assert.is((queued as TimeoutError).requestSent, false);
      assert.is(abandoned, 0, 'a request that never left is not reported as abandoned');
      // The socket is free again: the next request is written, the cancelled one never is.
      assert.is((await send(client, server, { method: 'POST', path: '/', body: 'next', timeout: 2_000 })).body, 'answer to next');
      assert.equal(fake.seen.map((s) => s.body), ['first', 'next']);
    } finally {
      await client.close();
    }
  });
});

test('send :: an abort after the server has the request says requestSent true and reports the request abandoned (a write must not be sent again)', async () => {
  let arrivedNow: () => void = () => undefined;
  const arrived = new Promise<void>((resolve) => { arrivedNow = resolve; });
  await withFakeServer((_req, res) => {
    arrivedNow();
    setTimeout(() => res.end('late'), 500);
  }, async (client, server, fake) => {
    const ac = new AbortController();
    let abandoned = 0;
    const pending = send(client, server, { method: 'POST', path: '/', body: 'INSERT INTO t VALUES (1)', timeout: 5_000, signal: ac.signal, onAbandon: () => { abandoned++; } })
      .catch((e: unknown) => e);
    await arrived;
    ac.abort(new Error('user gave up'));
    const err = await pending;
    assert.instance(err, AbortError);
    assert.is((err as AbortError).requestSent, true);
    assert.is(abandoned, 1);
    assert.is(fake.seen.length, 1);
  });
});

test('connect :: the database, the query id and the settings reach the server; the call\'s settings win over the connection\'s, which win over the connection string\'s', async () => {
  const fake = await fakeServer((_req, res) => res.end('1\n'));
  // The fake's connection string names database analytics and max_threads=3.
  const conn = connect(fake.url, { settings: { max_threads: 4, log_queries: 1 } });
  try {
    assert.is(await conn.query('SELECT 1', undefined, { queryId: 'my-query-1', settings: { max_threads: 5 } }), '1\n');
    assert.is(await conn.query('SELECT 2'), '1\n');
  } finally {
    await conn.close();
    await fake.close();
  }
  const [first, second] = fake.seen.map((s) => new URL(s.url, 'http://x').searchParams);
  assert.is(first?.get('database'), 'analytics');
  assert.is(first?.get('query_id'), 'my-query-1');
  assert.is(first?.get('max_threads'), '5');
  assert.is(first?.get('log_queries'), '1');
  assert.is(second?.get('max_threads'), '4');
  assert.is(second?.get('log_queries'), '1');
  assert.ok((second?.get('query_id') ?? '') !== '' && second?.get('query_id') !== 'my-query-1', 'every request has a query id of its own');
  assert.equal(fake.seen.map((s) => s.body), ['SELECT 1', 'SELECT 2']);
});

test('connect :: with compression, a long body goes gzipped, the answer is asked gzipped and read inflated; an answer that inflates past maxResultBytes is refused', async () => {
  const got: { url: string; encoding: string | undefined; accept: string | undefined; text: string }[] = [];
  const answer = 'word\n'.repeat(10_000);
  const http = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(parts);
      const encoding = req.headers['content-encoding'];
      got.push({ url: req.url ?? '', encoding, accept: req.headers['accept-encoding'], text: (encoding === 'gzip' ? gunzipSync(raw) : raw).toString('utf8') });
      res.setHeader('Content-Encoding', 'gzip');
      res.end(gzipSync(answer));
    });
  });
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  const { port } = http.address() as AddressInfo;
  const conn = connect(`http://127.0.0.1:${port}/default`, { compression: { request: true, response: true }, maxResultBytes: 100_000 });
  try {
    const sql = `SELECT '${'x'.repeat(2_000)}'`;
    assert.is(await conn.query(sql), answer);
    assert.is(got[0]?.encoding, 'gzip', 'a body past 1 KiB is compressed');
    assert.is(got[0]?.text, sql);
    assert.is(got[0]?.accept, 'gzip');
    assert.is(new URL(got[0]?.url ?? '', 'http://x').searchParams.get('enable_http_compression'), '1');
    // 50 KB inflated from a few hundred bytes: the limit is on what the answer inflates to.
    const small = connect(`http://127.0.0.1:${port}/default`, { compression: { response: true }, maxResultBytes: 20_000 });
    try {
      const err = await small.query('SELECT 1').catch((e: unknown) => e);
      assert.instance(err, ResultTooLargeError);
    } finally {
      await small.close();
    }
  } finally {
    await conn.close();
    await new Promise<void>((r) => { http.closeAllConnections(); http.close(() => r()); });
  }
});

test('serverInfo :: concurrent first calls share one question; a failed question is not kept, the next call asks again', async () => {
  let answers = ['', '26.7.2.1\tEurope/Berlin\n'];
  await withFakeServer((req, res) => {
    const answer = answers.shift();
    if (answer === '') res.socket?.destroy();
    else res.end(answer);
  }, async (client, server, fake) => {
    const failed = await Promise.all([serverInfo(client, server, { timeout: 2_000 }), serverInfo(client, server, { timeout: 2_000 })]).catch((e: unknown) => e);
    assert.instance(failed, TransportError);
    assert.is(fake.seen.length, 1, 'two callers, one question');
    const [a, b] = await Promise.all([serverInfo(client, server, { timeout: 2_000 }), serverInfo(client, server, { timeout: 2_000 })]);
    assert.is(a.version, '26.7.2.1');
    assert.is(b.timeZone, 'Europe/Berlin');
    assert.is(fake.seen.length, 2, 'asked again after the failure, once for both callers');
    assert.is((await serverInfo(client, server, { timeout: 2_000 })).version, '26.7.2.1');
    assert.is(fake.seen.length, 2, 'then kept');
    // Another user of the same origin may be shown another server (a proxy): asked on its own.
    answers = ['18.16.1\tUTC\n'];
    const other = parseConnectionString(fake.url.replace('colonnade:', 'reader:'));
    try {
      assert.is((await serverInfo(client, other, { timeout: 2_000 })).version, '18.16.1');
    } finally {
      forgetServerInfo(other);
    }
  });
});

test('select :: a version question that fails in the network leaves the select unsent: requestSent false, so a read may go elsewhere', async () => {
  await withFakeServer((req, res) => {
    if (req.body.startsWith('SELECT version()')) res.socket?.destroy();
    else res.end('x\nUInt8\n1\n');
  }, async (_client, _server, fake) => {
    const conn = connect(fake.url);
    try {
      const err = await conn.select('SELECT 1 AS x').catch((e: unknown) => e);
      assert.instance(err, TransportError);
      assert.is((err as TransportError).requestSent, false);
      assert.equal(fake.seen.map((s) => s.body.slice(0, 16)), ['SELECT version()'], 'the select itself never left');
    } finally {
      await conn.close();
    }
  });
});

test('send :: a printable user with a password that is not ASCII goes as HTTP Basic (a header could not carry it)', async () => {
  await withFakeServer((_req, res) => res.end('ok'), async (_client, _server, fake) => {
    const server = parseConnectionString(`http://colonnade:${encodeURIComponent('пароль')}@${new URL(fake.url).host}/db`);
    const client = new Client(server.origin);
    try {
      assert.is((await send(client, server, { method: 'POST', path: '/', body: 'SELECT 1', timeout: 2_000 })).body, 'ok');
    } finally {
      await client.close();
    }
    const req = fake.seen.at(-1);
    assert.is(req?.headers['x-clickhouse-key'], undefined);
    assert.is(Buffer.from(String(req?.headers.authorization).replace(/^Basic /, ''), 'base64').toString('utf8'), 'colonnade:пароль');
  });
});

test('send :: each chunk of a streamed body restarts the timeout: a source slower than the timeout as a whole, but not per chunk, is sent whole', async () => {
  await withFakeServer((req, res) => res.end(`got ${req.body.length}`), async (client, server) => {
    async function* slowRows(): AsyncGenerator<Buffer> {
      for (let i = 0; i < 8; i++) {
        await new Promise((r) => setTimeout(r, 100));
        yield Buffer.from('row\n');
      }
    }
    // 8 chunks 100 ms apart: about 800 ms in all, against a timeout of 400 ms.
    const res = await send(client, server, { method: 'POST', path: '/', body: slowRows(), timeout: 400 });
    assert.is(res.body, 'got 32');
  });
});

test('ping :: an error status is refused even when its body says Ok.', async () => {
  await withFakeServer((_req, res) => { res.statusCode = 503; res.end('Ok.\n'); }, async (client, server) => {
    const err = await ping(client, server, { timeout: 1_000 }).catch((e: unknown) => e);
    assert.instance(err, ProtocolError);
    assert.is((err as ProtocolError).status, 503);
  });
});

test('send :: an answered request leaves no timer behind (a script that got its answer is not kept alive for the timeout)', async () => {
  await withFakeServer((_req, res) => res.end('ok'), async (client, server) => {
    const timers = (): number => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    await send(client, server, { method: 'POST', path: '/', body: 'warm-up', timeout: 60_000 });
    const before = timers();
    for (let i = 0; i < 5; i++) await send(client, server, { method: 'POST', path: '/', body: 'SELECT 1', timeout: 60_000 });
    assert.ok(timers() <= before, `${timers() - before} more timers after 5 answered requests`);
  });
});

test('query :: a 500 page that is no ClickHouse error is a ProtocolError (only a gateway\'s 502-504 is the network\'s)', async () => {
  await withFakeServer((_req, res) => { res.statusCode = 500; res.end('<html>Internal Server Error</html>'); }, async (_client, _server, fake) => {
    const conn = connect(fake.url);
    try {
      const err = await conn.query('INSERT INTO t VALUES (1)').catch((e: unknown) => e);
      assert.instance(err, ProtocolError);
      assert.is((err as ProtocolError).status, 500);
    } finally {
      await conn.close();
    }
  });
});

test('select :: the call\'s timeout bounds the whole call: time spent asking the server\'s version is taken from it', async () => {
  await withFakeServer((req, res) => {
    // The version comes after 500 ms; the select itself is never answered.
    if (req.body.startsWith('SELECT version()')) setTimeout(() => res.end('26.7.2.1\tUTC\n'), 500);
  }, async (_client, _server, fake) => {
    const conn = connect(fake.url);
    try {
      const t0 = Date.now();
      const err = await conn.select('SELECT 1 AS x', undefined, { timeout: 700 }).catch((e: unknown) => e);
      const took = Date.now() - t0;
      assert.instance(err, TimeoutError);
      assert.is(fake.seen.length, 2, 'the select was sent after the version came');
      // Before the fix it would be 500 + 700 ms.
      assert.ok(took < 1_050, `the call of 700 ms took ${took} ms`);
    } finally {
      await conn.close();
    }
  });
});

test('query :: the call\'s abort signal stops the request the server is running, with requestSent true, and the server is asked to kill that query', async () => {
  let arrivedNow: () => void = () => undefined;
  const arrived = new Promise<void>((resolve) => { arrivedNow = resolve; });
  let killedNow: (body: string) => void = () => undefined;
  let giveUp: NodeJS.Timeout | undefined;
  const killed = new Promise<string>((resolve) => { killedNow = resolve; giveUp = setTimeout(() => resolve('no KILL QUERY came'), 3_000); });
  await withFakeServer((req, res) => {
    // The query is never answered; the kill is.
    if (req.body.startsWith('KILL')) {
      killedNow(req.body);
      res.end('');
    } else arrivedNow();
  }, async (_client, _server, fake) => {
    const conn = connect(fake.url);
    try {
      const ac = new AbortController();
      const pending = conn.query('SELECT sleep(3)', undefined, { timeout: 3_000, signal: ac.signal, queryId: 'report-7' }).catch((e: unknown) => e);
      await arrived;
      const t0 = Date.now();
      ac.abort(new Error('user gave up'));
      const err = await pending;
      assert.instance(err, AbortError);
      assert.is((err as AbortError).requestSent, true);
      assert.ok(Date.now() - t0 < 1_000, 'at once, not at the timeout');
      const kill = await killed;
      clearTimeout(giveUp);
      assert.match(kill, /^KILL QUERY WHERE query_id = 'report-7'/);
      assert.is(fake.seen[0]?.body, 'SELECT sleep(3)');
    } finally {
      await conn.close();
    }
  });
});

// A fake 26.7 that records the settings of every statement but the version question and a table's description.
async function withModern(fn: (conn: ReturnType<typeof connect>, statements: URLSearchParams[], bodies: string[]) => Promise<void>, reply: (body: string) => string = () => ''): Promise<void> {
  const statements: URLSearchParams[] = [];
  const bodies: string[] = [];
  await withFakeServer((req, res) => {
    if (req.body.startsWith('SELECT version()')) return void res.end('26.7.2.1\tUTC\n');
    if (!req.body.startsWith('DESCRIBE')) {
      statements.push(new URL(req.url, 'http://x').searchParams);
      bodies.push(req.body);
    }
    res.end(reply(req.body));
  }, async (_client, _server, fake) => {
    const conn = connect(fake.url);
    try {
      await fn(conn, statements, bodies);
    } finally {
      await conn.close();
    }
  });
}

test('insert :: an async insert with a deduplication token asks the server to deduplicate it (26.x skips that for async inserts by default)', async () => {
  await withModern(async (conn, statements) => {
    await conn.insert('INSERT INTO t VALUES (1)', undefined, { asyncInsert: true, deduplicationToken: 'batch-9' });
    await conn.insert('INSERT INTO t VALUES (2)', undefined, { asyncInsert: true });
    const [withToken, without] = statements;
    assert.is(withToken?.get('async_insert'), '1');
    assert.is(withToken?.get('wait_for_async_insert'), '1');
    assert.is(withToken?.get('async_insert_deduplicate'), '1');
    assert.is(withToken?.get('insert_deduplication_token'), 'batch-9');
    assert.is(without?.get('async_insert'), '1');
    assert.is(without?.get('async_insert_deduplicate'), null);
  });
});

test('insert_to_table :: statements of one call that go apart get tokens of their own (else the server drops the second as a repeat of the first)', async () => {
  await withModern(async (conn, statements, bodies) => {
    // The caller's own setting keeps the column sets apart: a statement each.
    await conn.insertToTable('t', [{ a: 1 }, { b: 2 }], { deduplicationToken: 'tok', settings: { input_format_defaults_for_omitted_fields: 0 } });
    assert.is(bodies.length, 2);
    assert.equal(statements.map((p) => p.get('insert_deduplication_token')), ['tok', 'tok.1']);
    assert.is(new Set(statements.map((p) => p.get('query_id'))).size, 2, 'and query ids of their own');
  });
});

test('query :: a read (a SELECT, a WITH ... SELECT) asked again to be sure of its end goes under a query id of its own (the first may still be listed as running)', async () => {
  const value = 'Code: 158, e.displayText() = DB::Exception: Limit for rows to read exceeded, e.what() = DB::Exception';
  for (const [sql, id] of [['SELECT s FROM t FORMAT TSV', 'read-1'], ['WITH 1 AS x SELECT s FROM t FORMAT TSV', 'with-1']]) {
    // A value that ends like an exception is asked again to be sure, not thrown.
    await withModern(async (conn, statements) => {
      assert.is(await conn.query(sql as string, undefined, { queryId: id }), `${value}\n`);
      assert.equal(statements.map((p) => [p.get('query_id'), p.get('wait_end_of_query')]), [[id, null], [`${id}-confirm`, '1']]);
    }, () => `${value}\n`);
  }
});

test('serverInfo :: an answer without a time zone is a ProtocolError, and is not kept', async () => {
  let answer = '26.7.2.1\n';
  await withFakeServer((_req, res) => res.end(answer), async (client, server) => {
    const err = await serverInfo(client, server, { timeout: 2_000 }).catch((e: unknown) => e);
    assert.instance(err, ProtocolError);
    answer = '26.7.2.1\tUTC\n';
    assert.is((await serverInfo(client, server, { timeout: 2_000 })).timeZone, 'UTC');
  });
});

test('connect :: by default several calls run at once, each on a socket of its own', async () => {
  const waiting: (() => void)[] = [];
  await withFakeServer((req, res) => {
    // Nothing is answered until three queries are running at the same time.
    waiting.push(() => res.end(`${req.body}\n`));
    if (waiting.length === 3) for (const answer of waiting) answer();
  }, async (_client, _server, fake) => {
    const conn = connect(fake.url, { timeout: 2_000 });
    try {
      const answers = await Promise.all(['SELECT 1', 'SELECT 2', 'SELECT 3'].map((sql) => conn.query(sql)));
      assert.equal(answers, ['SELECT 1\n', 'SELECT 2\n', 'SELECT 3\n']);
      assert.is(fake.sockets.size, 3);
    } finally {
      await conn.close();
    }
  });
});

test('connect :: a stream made before close() and read after it fails with CLOSED and sends nothing', async () => {
  await withFakeServer((_req, res) => res.end('x\nUInt8\n1\n'), async (_client, _server, fake) => {
    const conn = connect(fake.url);
    const rows = conn.stream('SELECT 1 AS x');
    await conn.close();
    let error: unknown;
    try {
      for await (const row of rows) assert.unreachable(`a row came: ${JSON.stringify(row)}`);
    } catch (err) {
      error = err;
    }
    assert.instance(error, ClosedError);
    assert.is(fake.seen.length, 0);
  });
});

test('connect :: close() called while a stream is being read ends that stream with CLOSED at once (not at its timeout)', async () => {
  let arrivedNow: () => void = () => undefined;
  const arrived = new Promise<void>((resolve) => { arrivedNow = resolve; });
  await withFakeServer((req, res) => {
    if (req.body.startsWith('SELECT version()')) return void res.end('18.16.1\tUTC\n');
    if (req.body.startsWith('KILL')) return void res.end('');
    // The answer starts, and is then held open.
    res.write('x\nUInt8\n1\n');
    arrivedNow();
  }, async (_client, _server, fake) => {
    const conn = connect(fake.url, { timeout: 3_000 });
    const reading = (async () => {
      for await (const row of conn.stream('SELECT 1 AS x')) void row;
    })().then(() => 'ended', (err: unknown) => err);
    await arrived;
    const t0 = Date.now();
    await conn.close();
    const error = await reading;
    assert.instance(error, ClosedError);
    assert.ok(Date.now() - t0 < 2_000, `ended after ${Date.now() - t0} ms, not at the timeout`);
  });
});

test('connect :: ping\'s own timeout wins over the connection\'s', async () => {
  await withFakeServer(() => undefined, async (_client, _server, fake) => {
    const conn = connect(fake.url, { timeout: 3_000 });
    try {
      const t0 = Date.now();
      const err = await conn.ping({ timeout: 200 }).catch((e: unknown) => e);
      assert.instance(err, TimeoutError);
      assert.is((err as TimeoutError).timeout, 200);
      assert.ok(Date.now() - t0 < 2_000);
    } finally {
      await conn.close();
    }
  });
});

test('insert_to_table :: each request of an insert from a slow source gets the whole timeout: a source slower than the timeout as a whole, but not between rows, is stored', async () => {
  const statements: string[] = [];
  await withFakeServer((req, res) => {
    if (req.body.startsWith('SELECT version()')) return void res.end('18.16.1\tUTC\n');
    if (req.body.startsWith('DESCRIBE')) return void res.end('a\tUInt32\t\t\n');
    statements.push(req.body);
    // Answered soon, but not within a millisecond.
    setTimeout(() => res.end(''), 50);
  }, async (_client, _server, fake) => {
    const conn = connect(fake.url);
    try {
      // 18.16 takes a source in rounds: the round is sent once its rows waited a second,
      // by then longer than the call's timeout of 800 ms (each wait for a row is 300 ms).
      async function* slowRows(): AsyncGenerator<Row> {
        for (let a = 1; a <= 5; a++) {
          if (a > 1) await new Promise((r) => setTimeout(r, 300));
          yield { a };
        }
      }
      const t0 = Date.now();
      const result = await conn.insertToTable('t', slowRows(), { timeout: 800 });
      assert.ok(Date.now() - t0 > 800, 'the call as a whole took longer than its timeout');
      assert.is(result.rows, 5);
      assert.is(statements.length, 1);
      assert.match(statements[0] ?? '', /^INSERT INTO `t`/);
    } finally {
      await conn.close();
    }
  });
});

test('connect :: without a timeout option a call and a ping give up after 5 s (the documented default)', async () => {
  await withFakeServer((req, res) => {
    // Nothing is answered but the KILL QUERY that follows a timed-out call.
    if (req.body.startsWith('KILL')) res.end('');
  }, async (_client, _server, fake) => {
    const conn = connect(fake.url);
    try {
      // A bound for the test only: with a longer default the calls end here, as ABORTED.
      const signal = AbortSignal.timeout(6_500);
      const t0 = Date.now();
      const [call, pinged] = await Promise.all([
        conn.query('SELECT 1', undefined, { signal }).catch((e: unknown) => e),
        conn.ping({ signal }).catch((e: unknown) => e),
      ]);
      assert.instance(pinged, TimeoutError);
      assert.is((pinged as TimeoutError).timeout, 5_000);
      // A call's request gets what is left of its 5 s (a millisecond may have gone before it was sent).
      assert.instance(call, TimeoutError);
      const { timeout } = call as TimeoutError;
      assert.ok(timeout > 4_500 && timeout <= 5_000, `the call timed out by a ${timeout} ms bound`);
      assert.ok(Date.now() - t0 >= 4_900, `gave up after ${Date.now() - t0} ms`);
    } finally {
      await conn.close();
    }
  });
});

// A server that never closes an idle socket itself, and says so (`Keep-Alive: timeout=N`) or not (`hint` undefined); it counts the sockets it is given.
async function withKeepAlive(hint: number | undefined, fn: (url: string, sockets: Socket[]) => Promise<void>): Promise<void> {
  const sockets: Socket[] = [];
  const http = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      if (hint !== undefined) res.setHeader('Keep-Alive', `timeout=${hint}`);
      res.end('1\n');
    });
  });
  // No timer of its own, so no hint of its own either: what the client does is all there is.
  http.keepAliveTimeout = 0;
  http.on('connection', (socket: Socket) => sockets.push(socket));
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  try {
    await fn(`http://127.0.0.1:${(http.address() as AddressInfo).port}/default`, sockets);
  } finally {
    await new Promise<void>((r) => { http.closeAllConnections(); http.close(() => r()); });
  }
}

test('transport :: an idle socket is kept for the next call, but never up to the server\'s keep-alive: one of 2 s or less is not reused at all', async () => {
  // A hint of 10 s: kept (8 s), the next call goes on the same socket. A hint of 2 s: the
  // server may close it at any moment, so each call gets a fresh socket.
  for (const [hint, expected, why] of [[10, 1, 'one socket for both calls'], [2, 2, 'a socket the server may be closing is not reused']] as const) {
    await withKeepAlive(hint, async (url, sockets) => {
      const conn = connect(url, { connections: 1 });
      try {
        await conn.query('SELECT 1');
        await conn.query('SELECT 2');
        assert.is(sockets.length, expected, why);
      } finally {
        await conn.close();
      }
    });
  }
});

test('transport :: a server that gives no keep-alive hint has its idle socket closed by the client after about 4 s', async () => {
  await withKeepAlive(undefined, async (url, sockets) => {
    const conn = connect(url, { connections: 1 });
    try {
      await conn.query('SELECT 1');
      const idleFrom = Date.now();
      await conn.query('SELECT 2');
      assert.is(sockets.length, 1, 'kept for the next call');
      const socket = sockets[0] as Socket;
      // Bounded: a socket still open after 6 s is a failure, not a wait.
      const closedAfter = await new Promise<number | undefined>((resolve) => {
        const bound = setTimeout(() => resolve(undefined), 6_000);
        socket.once('close', () => { clearTimeout(bound); resolve(Date.now() - idleFrom); });
      });
      assert.ok(closedAfter !== undefined, 'the idle socket was still open after 6 s');
      assert.ok(closedAfter >= 2_500, `closed after ${closedAfter} ms: too soon to be of use`);
    } finally {
      await conn.close();
    }
  });
});

test('connect :: a call made while a stream is being read goes on a socket of its own, not in line behind the stream', async () => {
  let endStream: () => void = () => undefined;
  await withFakeServer((req, res) => {
    if (req.body.startsWith('SELECT version()')) return void res.end('18.16.1\tUTC\n');
    if (req.body.startsWith('KILL')) return void res.end('');
    if (req.body.startsWith('SELECT slow')) {
      // The answer starts (its end is held back by the reader, to tell an appended exception
      // from rows: enough rows that the first is handed over), and is held open until the test ends it.
      res.write(`x\nUInt32\n${Array.from({ length: 50_000 }, (_, i) => i + 1).join('\n')}\n`);
      endStream = () => res.end('50001\n');
      return;
    }
    res.end(`${req.body}\n`);
  }, async (_client, _server, fake) => {
    const conn = connect(fake.url, { timeout: 3_000 });
    try {
      const rows = conn.stream('SELECT slow')[Symbol.asyncIterator]();
      assert.equal((await rows.next()).value, { x: 1 });
      // The stream's answer has begun and is still coming: the next call must not wait for its end.
      const next = await conn.query('SELECT 2', undefined, { timeout: 1_500 }).catch((e: unknown) => e);
      assert.is(next, 'SELECT 2\n', `the second call got ${String(next)}`);
      endStream();
      let count = 1;
      while ((await rows.next()).done !== true) count++;
      assert.is(count, 50_001);
    } finally {
      await conn.close();
    }
  });
});

test('ping :: without a timeout of its own a ping waits up to 5 s: a server slow to say Ok. is not taken for down', async () => {
  await withFakeServer((_req, res) => void setTimeout(() => res.end('Ok.\n'), 800), async (client, server) => {
    await ping(client, server);
  });
});

test('send :: an array\'s rows in several chunks go with their Content-Length, never chunked (18.16 would store the rows of a cut chunked body)', async () => {
  await withFakeServer((req, res) => res.end(req.body.startsWith('SELECT version()') ? '18.16.1\tUTC\n' : ''), async (_client, _server, fake) => {
    const conn = connect(fake.url);
    try {
      // About 40 KB of rows: more than the first chunk the encoder fills.
      const rows = Array.from({ length: 200 }, (_, id) => ({ id, s: 'x'.repeat(200) }));
      await conn.insertToTable('t', rows);
      const insert = fake.seen.find((s) => s.body.startsWith('INSERT'));
      assert.ok(insert !== undefined);
      assert.ok((insert?.body.length ?? 0) > 32 * 1024);
      assert.is(insert?.headers['content-length'], String(Buffer.byteLength(insert?.body ?? '')));
      assert.is(insert?.headers['transfer-encoding'], undefined);
    } finally {
      await conn.close();
    }
  });
});

test('query :: a query id of 256 characters is taken; one of 257 is refused before anything is sent', async () => {
  await withFakeServer((_req, res) => res.end('1\n'), async (_client, _server, fake) => {
    const conn = connect(fake.url);
    try {
      const longest = 'q'.repeat(256);
      assert.is(await conn.query('SELECT 1', undefined, { queryId: longest }), '1\n');
      assert.is(new URL(fake.seen[0]?.url ?? '', 'http://x').searchParams.get('query_id'), longest);
      const err = await conn.query('SELECT 1', undefined, { queryId: `${longest}q` }).catch((e: unknown) => e);
      assert.instance(err, ConfigError);
      assert.match((err as ConfigError).message, 'options.queryId');
      assert.is(fake.seen.length, 1);
    } finally {
      await conn.close();
    }
  });
});

test('insert_to_table :: a backslash in a column name is escaped in the statement, so the name cannot end its quotes', async () => {
  await withModern(async (conn, _statements, bodies) => {
    await conn.insertToTable('t', [{ 'a\\b': 1, 'c\\': 2 }]);
    assert.is(bodies.length, 1);
    assert.match(bodies[0] ?? '', /^INSERT INTO `t` \(`a\\\\b`, `c\\\\`\) FORMAT JSONEachRow\n/);
  });
});

test('select :: a call is not held past its own timeout by a version question another call asked with a longer one', async () => {
  await withFakeServer((req, res) => {
    // The version is never told; the KILL that follows a timed-out call is answered.
    if (req.body.startsWith('KILL')) res.end('');
  }, async (_client, _server, fake) => {
    const conn = connect(fake.url);
    try {
      const ac = new AbortController();
      const first = conn.select('SELECT 1 AS x', undefined, { timeout: 4_000, signal: ac.signal }).catch((e: unknown) => e);
      // The second call shares the question the first one asked.
      const t0 = Date.now();
      const err = await conn.select('SELECT 2 AS x', undefined, { timeout: 300 }).catch((e: unknown) => e);
      const took = Date.now() - t0;
      ac.abort(new Error('done with it'));
      assert.instance(err, TimeoutError);
      assert.ok((err as TimeoutError).timeout <= 300, `timed out by a ${(err as TimeoutError).timeout} ms bound`);
      assert.is((err as TimeoutError).requestSent, false);
      assert.ok(took < 2_000, `the call of 300 ms took ${took} ms`);
      assert.instance(await first, AbortError);
      assert.equal(fake.seen.filter((s) => !s.body.startsWith('KILL')).map((s) => s.body.slice(0, 16)), ['SELECT version()'], 'one question, and no select sent');
    } finally {
      await conn.close();
    }
  });
});

test.run();
