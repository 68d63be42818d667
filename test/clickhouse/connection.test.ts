import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { connect } from '../../src/clickhouse/connection.js';
import { ClosedError, ConfigError, QueryParamError } from '../../src/clickhouse/errors.js';

const test = suite('connection');

test('connect :: validates options, naming the key', () => {
  const bad: [unknown, RegExp][] = [
    [{ timeout: -1 }, /timeout/],
    [{ connections: 1.5 }, /connections/],
    [{ int64: 'big' }, /int64/],
    [{ settings: { 'a b': 1 } }, /settings\.a b/],
    [{ maxResultBytes: -1 }, /maxResultBytes/],
    [{ poolSize: 3 }, /poolSize: unknown/],
  ];
  for (const [options, why] of bad) {
    assert.throws(() => connect('http://127.0.0.1:1/', options as never), (e: unknown) => e instanceof ConfigError && why.test(e.message), String(why));
  }
});

test('connect :: a bad connection string throws ConfigError without the password', () => {
  try {
    connect('gopher://u:topsecret@h/db');
    assert.unreachable();
  } catch (err) {
    assert.instance(err, ConfigError);
    assert.not.ok((err as Error).message.includes('topsecret'));
  }
});

test('connect :: select through a fake server, then close twice and get CLOSED', async () => {
  const http = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.end('x\tname\nUInt8\tString\n1\tAnn\n'));
  });
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  const conn = connect(`http://127.0.0.1:${(http.address() as AddressInfo).port}/default`, { timeout: 1_000 });
  try {
    assert.equal(await conn.select('SELECT {x} AS x, {n} AS name', { x: 1, n: 'Ann' }), [{ x: 1, name: 'Ann' }]);
    assert.equal(await conn.send({ type: 'select', sql: 'SELECT 1' }), [{ x: 1, name: 'Ann' }]);
  } finally {
    await Promise.all([conn.close(), conn.close()]);
    await conn.close();
    await new Promise<void>((r) => { http.closeAllConnections(); http.close(() => r()); });
  }
  const err = await conn.select('SELECT 1').catch((e: unknown) => e);
  assert.instance(err, ClosedError);
  assert.is((err as ClosedError).code, 'CLOSED');
  assert.instance(await conn.ping().catch((e: unknown) => e), ClosedError);
});

test('connect :: close() ends a table description still asked on a socket of its own (the process is not kept up by it)', async () => {
  const held: Array<() => void> = [];
  const http = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => {
      // The server never answers the table's DESCRIBE (asked for rows of numbers alone, which wait a second at most for it).
      if (body.startsWith('DESCRIBE')) held.push(() => res.end());
      else res.end(body.includes('version()') ? '18.16.1\n' : '');
    });
  });
  const sockets = new Set<import('node:net').Socket>();
  http.on('connection', (socket) => sockets.add(socket));
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  const conn = connect(`http://127.0.0.1:${(http.address() as AddressInfo).port}/default`, { timeout: 8_000 });
  try {
    await conn.insertToTable('t', [{ a: 1, b: 2.5 }]);
    assert.is(held.length, 1, 'the description was asked, and left unanswered');
    // Another connection to the same server: its close() neither waits for nor cuts this one's question.
    const other = connect(`http://127.0.0.1:${(http.address() as AddressInfo).port}/default`);
    const t0 = Date.now();
    await other.close();
    assert.ok(Date.now() - t0 < 500, `the other closed in ${Date.now() - t0} ms`);
    assert.ok([...sockets].some((s) => !s.destroyed), 'the description\'s socket is still open');
    const started = Date.now();
    await conn.close();
    await new Promise((r) => setTimeout(r, 50));
    // Before: its socket stayed open until the DESCRIBE's own bound (5 s).
    assert.equal([...sockets].filter((s) => !s.destroyed).length, 0, 'no socket left open');
    assert.ok(Date.now() - started < 2_000, `closed in ${Date.now() - started} ms`);
  } finally {
    for (const answer of held) answer();
    await new Promise<void>((r) => { http.closeAllConnections(); http.close(() => r()); });
  }
});

test('connect :: an insert waiting on a table description another connection asked is not failed by that connection\'s close(): it asks again', async () => {
  let describes = 0;
  const held: Array<() => void> = [];
  const inserted: string[] = [];
  const http = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => {
      // The first DESCRIBE is never answered; the next is.
      if (body.startsWith('DESCRIBE')) {
        if (++describes === 1) held.push(() => res.end());
        else res.end('id\tUInt32\t\t\nname\tString\t\t\n');
      } else {
        if (body.startsWith('INSERT')) inserted.push(body);
        res.end(body.includes('version()') ? '18.16.1\n' : '');
      }
    });
  });
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}/default`;
  const a = connect(url, { timeout: 8_000 });
  const b = connect(url, { timeout: 8_000 });
  try {
    // a's rows of numbers alone ask the description on a socket of a's, wait a second for it, and go unchecked.
    await a.insertToTable('t', [{ id: 1 }]);
    // b's row with text needs the description: it waits on the one a asked.
    const waiting = b.insertToTable('t', [{ id: 2, name: 'x' }]);
    await new Promise((r) => setTimeout(r, 100));
    await a.close();
    // Before: b's insert failed with the socket a's close() destroyed.
    assert.equal(await waiting, { rows: 1 });
    assert.is(describes, 2);
    assert.ok(inserted.some((body) => body.includes('{"id":2,"name":"x"}')));
  } finally {
    for (const answer of held) answer();
    await b.close();
    await new Promise<void>((r) => { http.closeAllConnections(); http.close(() => r()); });
  }
});

test('connect :: bad params reject before anything is sent', async () => {
  const conn = connect('http://127.0.0.1:1/default');
  try {
    const err = await conn.select('SELECT {x}', { x: NaN }).catch((e: unknown) => e);
    assert.is((err as { code?: string }).code, 'QUERY_PARAM');
    // Params of the wrong kind are named as such (before: 0 was dropped and {x} had "no value").
    for (const params of [0, 'x', [1]]) {
      const wrong = await conn.select('SELECT {x}', params as never).catch((e: unknown) => e);
      assert.match((wrong as Error).message, /parameter params: expected a plain object/, String(params));
    }
    assert.is((await conn.select('SELECT {x}', null as never).catch((e: unknown) => e) as Error).message, 'parameter x: the query has a {x} placeholder but no value was given');
    // A message that is no object, or of no known type, is refused as such (not a TypeError).
    for (const message of [null, undefined, 'SELECT 1', { type: 'bogus', sql: 'SELECT 1' }]) {
      const refused = await conn.send(message as never).catch((e: unknown) => e);
      assert.instance(refused, QueryParamError, String(message));
    }
  } finally {
    await conn.close();
  }
});

test.run();
