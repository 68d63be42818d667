// A response that reaches the client in thousands of tiny chunks (a slow link, a proxy that
// flushes every few bytes) is read in time linear in its size. The chunk queues of the
// streamed and the whole-body paths were arrays whose shift() moved every waiting chunk:
// a 5 MB stream in 7-byte chunks whose reader paused now and then took 50 s (1.5 s now). A dispatcher around undici's client cuts every
// chunk the real socket gives into 7-byte pieces before the client's handler sees them.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Client, Dispatcher } from 'undici';
import { perform } from '../../src/clickhouse/perform.js';
import { prepare } from '../../src/clickhouse/prepare.js';
import { createRowStream } from '../../src/clickhouse/stream.js';
import { ChunkQueue } from '../../src/clickhouse/chunk-queue.js';
import { parseConnectionString } from '../../src/clickhouse/connection-string.js';
import type { Row } from '../../src/clickhouse/types.js';
import { fakeServer, type FakeServer } from './fake-http.js';

const test = suite('tiny-chunks');
const PIECE = 7;
const ROWS = 300_000;

/** Hands the client's handler every chunk of the response in pieces of `PIECE` bytes. */
class Splitting extends Dispatcher {
  pieces = 0;
  constructor(private readonly inner: Client) {
    super();
  }
  override dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    const target = handler as Dispatcher.DispatchHandler & { onData(chunk: Buffer): boolean };
    const split = Object.create(target) as typeof target;
    split.onData = (chunk: Buffer): boolean => {
      let more = true;
      for (let at = 0; at < chunk.length; at += PIECE) {
        this.pieces++;
        more = target.onData(chunk.subarray(at, at + PIECE)) && more;
      }
      return more;
    };
    return this.inner.dispatch(options, split);
  }
  override close(): Promise<void> {
    return this.inner.close();
  }
}

async function withServer(work: (server: FakeServer, transport: Splitting) => Promise<void>): Promise<void> {
  // An 18.16 text result: a header, then ROWS lines (about 5 MB).
  const body = `n\ts\nUInt32\tString\n${Array.from({ length: ROWS }, (_, i) => `${i}\trow ${i}\n`).join('')}`;
  const server = await fakeServer((req, res) => res.end(req.body.startsWith('SELECT version()') ? '18.16.1\tUTC\n' : body), (port) => `http://127.0.0.1:${port}/default`);
  const transport = new Splitting(new Client(new URL(server.url).origin));
  try {
    await work(server, transport);
  } finally {
    await transport.close();
    await server.close();
  }
}

const defaults = { timeout: 60_000, int64: 'auto', settings: {} } as const;

function check(rows: readonly Row[]): void {
  assert.is(rows.length, ROWS);
  assert.equal(rows[0], { n: 0, s: 'row 0' });
  assert.equal(rows[ROWS - 1], { n: ROWS - 1, s: `row ${ROWS - 1}` });
}

test('select :: a 5 MB result in 7-byte chunks gives every row, in seconds', async () => {
  await withServer(async (server, transport) => {
    const t0 = performance.now();
    const rows = await perform(transport, parseConnectionString(server.url), prepare({ type: 'select', sql: 'SELECT n, s FROM t' }), defaults);
    const ms = performance.now() - t0;
    check(rows);
    assert.ok(transport.pieces > 600_000, `${transport.pieces} pieces`);
    assert.ok(ms < 15_000, `${ms.toFixed(0)} ms`);
  });
});

test('stream :: a 5 MB result in 7-byte chunks, read by a loop that pauses, is streamed in seconds (was 50 s)', async () => {
  await withServer(async (server, transport) => {
    const request = prepare({ type: 'stream', sql: 'SELECT n, s FROM t' });
    const rows: Row[] = [];
    const t0 = performance.now();
    const stream = createRowStream((sink) => perform(transport, parseConnectionString(server.url), { ...request, sink }, defaults));
    for await (const row of stream) {
      rows.push(row);
      // A loop that yields now and then lets the queue of waiting chunks grow long.
      if (rows.length % 10_000 === 0) await new Promise((r) => setTimeout(r, 5));
    }
    const ms = performance.now() - t0;
    check(rows);
    assert.ok(transport.pieces > 600_000, `${transport.pieces} pieces`);
    assert.ok(ms < 15_000, `${ms.toFixed(0)} ms`);
  });
});

test('queue :: chunks come out in order with their byte count, whole or cut', () => {
  const queue = new ChunkQueue();
  for (let i = 0; i < 5_000; i++) queue.push(Buffer.from(`${i},`));
  assert.is(queue.length, 5_000);
  let text = '';
  for (let i = 0; i < 3_000; i++) text += (queue.shift() as Buffer).toString();
  assert.is(text, Array.from({ length: 3_000 }, (_, i) => `${i},`).join(''));
  assert.is(queue.first()?.toString(), '3000,');
  assert.is(queue.take(2)?.toString(), '30', 'the front of the oldest chunk');
  assert.is(queue.first()?.toString(), '00,');
  assert.is(queue.take(10)?.toString(), '00,', 'all of it when it is shorter');
  const rest = Array.from({ length: 1_999 }, (_, i) => `${3_001 + i},`).join('');
  assert.is(queue.bytes, Buffer.byteLength(rest));
  assert.is(queue.concat().toString(), rest);
  assert.is(queue.toArray().length, 1_999);
  while (queue.shift() !== undefined);
  assert.is(queue.bytes, 0);
  assert.is(queue.length, 0);
  assert.is(queue.shift(), undefined);
  assert.is(queue.concat().length, 0);
});

test.run();
