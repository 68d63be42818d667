import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parseConnectionString } from '../../../src/clickhouse/connection-string.js';
import { TransportError } from '../../../src/clickhouse/errors.js';
import type { PreparedRequest } from '../../../src/clickhouse/types.js';
import { createTestClock } from '../../../src/otp/index.js';
import { openTransport } from '../../../src/clickhouse/transport.js';
import { PooledConnection, type ConnectionOwner } from '../../../src/pool/connection/pooled-connection.js';

const config = parseConnectionString('http://bob:pa55word@127.0.0.1:9/db');
const request: PreparedRequest = { type: 'select', body: 'SELECT 1', options: {}, readOnly: true };
const flush = async () => {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
};

function make(perform: (req: PreparedRequest) => Promise<unknown>, probe: () => Promise<void> = async () => undefined) {
  const log: string[] = [];
  const owner: ConnectionOwner = {
    checkin: (_c, outcome) => log.push(outcome),
    health: (_c, report) => log.push(report === 'probed' ? 'probed' : `failure:${report}`),
    joined: () => log.push('started'),
    left: () => log.push('gone'),
  };
  const conn = new PooledConnection({
    id: 'conn-7', server: 2, config, overflow: false, backoff: { initial: 10, max: 10 },
    io: {
      open: (server) => openTransport(server),
      perform: (transport, _s, req) => {
        lastTransport = transport as { readonly destroyed?: boolean };
        return perform(req);
      },
      probe: async () => probe(),
    },
    owner,
  });
  return { conn, log };
}

let lastTransport: { readonly destroyed?: boolean } | undefined;

const test = suite('connection');

test('spec :: a permanent child whose start runs a fresh actor each time', async () => {
  const { conn, log } = make(async () => [{ x: 1 }]);
  const spec = conn.spec();
  assert.is(spec.id, 'conn-7');
  assert.is(spec.restart, 'permanent');
  const actor = await spec.start({ clock: createTestClock() });
  assert.equal(log, ['started']);
  actor.start();
  assert.is(conn.state(), 'idle');
  assert.equal(await conn.run(request), [{ x: 1 }]);
  assert.equal(log, ['started', 'ready']);
  actor.stop();
  assert.is(conn.state(), 'stopped');
  assert.equal(log, ['started', 'ready', 'gone']);
  await conn.close();
});

test('run :: a network failure reaches the caller and the pool hears of it', async () => {
  const clock = createTestClock();
  const { conn, log } = make(async () => { throw new TransportError('connect ECONNREFUSED', false); });
  const actor = await conn.spec().start({ clock });
  actor.start();
  const err = (await conn.run(request).catch((e: unknown) => e)) as { code: string; cause?: unknown };
  assert.is(err.code, 'TRANSPORT');
  await flush();
  assert.is(conn.state(), 'backoff');
  assert.equal(log, ['started', 'unavailable', 'failure:hard']);
  clock.advance(10);
  await flush();
  assert.is(conn.state(), 'idle');
  assert.equal(log.slice(3), ['probed', 'ready']);
  actor.stop();
  await conn.close();
});

test('crash :: the caller being served gets POOL_CONNECTION_CRASHED and the pool hears the actor is gone', async () => {
  const { conn, log } = make(async () => { throw new RangeError('bug in decoding'); });
  const actor = await conn.spec().start({ clock: createTestClock() });
  actor.subscribe({ error: () => undefined });
  actor.start();
  const err = (await conn.run(request).catch((e: unknown) => e)) as { code: string; cause?: unknown };
  assert.is(err.code, 'POOL_CONNECTION_CRASHED');
  assert.instance(err.cause, RangeError);
  assert.equal(log, ['started', 'gone']);
  assert.is(conn.state(), 'stopped');
  await flush();
  assert.ok(lastTransport?.destroyed, "the crashed actor's Client was destroyed");
  await conn.close();
});

test('overflow :: an overflow connection is a temporary child', () => {
  const conn = new PooledConnection({
    id: 'overflow-1', server: 0, config, overflow: true, backoff: { initial: 1, max: 1 },
    io: { open: (server) => openTransport(server), perform: async () => undefined, probe: async () => undefined },
    owner: { checkin() {}, health() {}, joined() {}, left() {} },
  });
  assert.is(conn.spec().restart, 'temporary');
});

test.run();
