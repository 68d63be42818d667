// The pool's default I/O (defaultIO) against local servers that misbehave: one that never
// answers, one that never takes a connection. What a pool meets when a server hangs.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { type AddressInfo, type Socket, connect as tcpConnect } from 'node:net';
import { parseConnectionString } from '../../../src/clickhouse/connection-string.js';
import { TimeoutError, TransportError } from '../../../src/clickhouse/errors.js';
import { prepare } from '../../../src/clickhouse/prepare.js';
import { defaultIO } from '../../../src/pool/connection/io.js';

const test = suite('connection-io');

// Settles `p` with its value or error, or with `undefined` once `ms` passed: a test's bound, not a wait.
const within = <T>(p: Promise<T>, ms: number): Promise<T | unknown> => {
  let bound: NodeJS.Timeout | undefined;
  return Promise.race([
    p.catch((e: unknown) => e),
    new Promise<undefined>((resolve) => { bound = setTimeout(() => resolve(undefined), ms); }),
  ]).finally(() => clearTimeout(bound));
};

test('probe :: a server that takes the /ping but never answers is given up on after 2 s, even when the query timeout is a minute', async () => {
  const held: Socket[] = [];
  const http = createServer((req) => { held.push(req.socket); });
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  const server = parseConnectionString(`http://127.0.0.1:${(http.address() as AddressInfo).port}/default`);
  const io = defaultIO({ timeout: 60_000, int64: 'auto' });
  const transport = io.open(server);
  try {
    const t0 = Date.now();
    const err = await within(io.probe(transport, server), 4_000);
    assert.ok(err !== undefined, 'the probe was still waiting after 4 s');
    assert.instance(err, TimeoutError);
    assert.is((err as TimeoutError).timeout, 2_000);
    assert.ok(Date.now() - t0 < 3_500, `gave up after ${Date.now() - t0} ms`);
    assert.is(held.length, 1, 'the probe reached the server');
  } finally {
    await transport.destroy();
    await new Promise<void>((r) => { http.closeAllConnections(); http.close(() => r()); });
  }
});

test('open :: a server that takes no connection fails a call as never sent after 2 s (the connect timeout), well before the call\'s own timeout', async () => {
  // A listener whose process never accepts: once its queue (backlog 1) is full, the system
  // answers no further connection, so a connect waits until the client gives up. The child
  // ends itself after 10 s whatever happens here.
  const child = spawn(process.execPath, ['-e', `
    const s = require('node:net').createServer();
    s.listen({ port: 0, host: '127.0.0.1', backlog: 1 }, () => {
      process.stdout.write(s.address().port + '\\n');
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10000);
      process.exit(0);
    });`], { stdio: ['ignore', 'pipe', 'ignore'] });
  const fillers: Socket[] = [];
  try {
    const port = await new Promise<number>((resolve, reject) => {
      child.stdout.once('data', (d: Buffer) => resolve(Number(String(d).trim())));
      child.once('exit', () => reject(new Error('the listener ended before it said its port')));
    });
    // Fill the queue: connections are taken until one is left waiting.
    for (let i = 0; i < 10; i++) {
      const socket = tcpConnect(port, '127.0.0.1');
      socket.on('error', () => undefined);
      fillers.push(socket);
      const taken = await new Promise<boolean>((resolve) => {
        const t = setTimeout(() => resolve(false), 300);
        socket.once('connect', () => { clearTimeout(t); resolve(true); });
      });
      if (!taken) break;
    }
    const server = parseConnectionString(`http://127.0.0.1:${port}/default`);
    const io = defaultIO({ timeout: 5_000, int64: 'auto' });
    const transport = io.open(server);
    try {
      const t0 = Date.now();
      const err = await within(io.perform(transport, server, prepare({ type: 'query', sql: 'SELECT 1' })), 6_000);
      const took = Date.now() - t0;
      assert.instance(err, TransportError, `expected a connect failure, got ${String(err)} after ${took} ms`);
      assert.is((err as TransportError).requestSent, false, 'never sent: a write may go to another server');
      assert.match((err as TransportError).message, 'UND_ERR_CONNECT_TIMEOUT');
      assert.ok(took < 4_000, `gave up after ${took} ms`);
    } finally {
      await transport.destroy();
    }
  } finally {
    for (const socket of fillers) socket.destroy();
    child.kill();
  }
});

test.run();
