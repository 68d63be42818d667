// A pooled connection's own bookkeeping around close(), stop and a doubled run: what the
// pool relies on so that a stopped pool leaves no socket open and no call hangs.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parseConnectionString } from '../../../src/clickhouse/connection-string.js';
import { TransportError } from '../../../src/clickhouse/errors.js';
import type { PreparedRequest, Transport } from '../../../src/clickhouse/types.js';
import { createTestClock } from '../../../src/otp/index.js';
import { PooledConnection, type ConnectionOwner } from '../../../src/pool/connection/pooled-connection.js';

const config = parseConnectionString('http://bob:pa55word@127.0.0.1:9/db');
const request: PreparedRequest = { type: 'select', body: 'SELECT 1', options: {}, readOnly: true };
const flush = async () => {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
};
const codeOf = (e: unknown) => (e as { code?: string }).code;

/** What became of a promise within a few turns of the event loop (never waits longer). */
async function soon(p: Promise<unknown>): Promise<{ value: unknown } | { error: unknown } | 'pending'> {
  return Promise.race([p.then((value) => ({ value }), (error: unknown) => ({ error })), flush().then(() => 'pending' as const)]);
}

/** A fake Client: records close/destroy; `close()` ends when the test says (in-flight request first). */
interface FakeClient {
  readonly transport: Transport;
  closeCalls: number;
  destroyCalls: number;
  finishClose(): void;
}

function fakeClient(): FakeClient {
  let finish!: () => void;
  const closing = new Promise<void>((resolve) => (finish = resolve));
  const fake: FakeClient = {
    closeCalls: 0,
    destroyCalls: 0,
    finishClose: () => finish(),
    transport: {
      close: () => {
        fake.closeCalls++;
        return closing;
      },
      destroy: async () => {
        fake.destroyCalls++;
      },
    } as unknown as Transport,
  };
  return fake;
}

function make() {
  const clients: FakeClient[] = [];
  const gates: Array<{ ok(value: unknown): void; fail(error: unknown): void }> = [];
  const probed: Transport[] = [];
  const log: string[] = [];
  const owner: ConnectionOwner = {
    checkin() {},
    health() {},
    joined: () => log.push('joined'),
    left: () => log.push('left'),
    changed: (_c, state) => log.push(state),
  };
  const conn = new PooledConnection({
    id: 'conn-3', server: 0, config, overflow: false, backoff: { initial: 10, max: 10 },
    io: {
      open: () => {
        const client = fakeClient();
        clients.push(client);
        return client.transport;
      },
      perform: () => new Promise((ok, fail) => gates.push({ ok, fail })),
      probe: async (transport) => {
        probed.push(transport);
      },
    },
    owner,
  });
  return { conn, clients, gates, probed, log };
}

const test = suite('connection-lifecycle');

test('run :: a second run while a call is in flight is refused at once; the first call still gets its own answer', async () => {
  const { conn, gates } = make();
  const actor = await conn.spec().start({ clock: createTestClock() });
  actor.start();
  const first = conn.run(request);
  const second = await soon(conn.run(request));
  assert.ok(second !== 'pending' && 'error' in second, 'the second run is refused, not left waiting');
  assert.is(codeOf((second as { error: unknown }).error), 'POOL_CONNECTION_CRASHED');
  assert.is(gates.length, 1, 'only one request was sent');
  gates[0]!.ok([{ x: 1 }]);
  assert.equal(await soon(first), { value: [{ x: 1 }] }, 'the first caller is answered, not left hanging');
  actor.stop();
});

test('close :: resolves only once the Client has closed gracefully', async () => {
  const { conn, clients } = make();
  const actor = await conn.spec().start({ clock: createTestClock() });
  actor.start();
  let closed = false;
  const closing = conn.close().then(() => (closed = true));
  await flush();
  assert.is(clients[0]!.closeCalls, 1);
  assert.not.ok(closed, 'close() waits for the Client');
  clients[0]!.finishClose();
  await closing;
  assert.ok(closed);
  actor.stop();
});

test('close :: a call that fails on the network after close() leaves no new Client behind', async () => {
  const { conn, clients, gates } = make();
  const actor = await conn.spec().start({ clock: createTestClock() });
  actor.start();
  const call = conn.run(request).catch((e: unknown) => e);
  await flush();
  clients[0]!.finishClose();
  await conn.close();
  gates[0]!.fail(new TransportError('connect ECONNREFUSED', false));
  assert.is(codeOf(await call), 'TRANSPORT');
  await flush();
  assert.is(conn.state(), 'backoff');
  assert.is(clients.length, 1, 'the reset after close() opened no Client');
  actor.stop();
});

test('close :: a probe ordered after close() opens no Client and sends nothing', async () => {
  const { conn, clients, probed } = make();
  const actor = await conn.spec().start({ clock: createTestClock() });
  actor.start();
  clients[0]!.finishClose();
  await conn.close();
  conn.probe();
  await flush();
  assert.is(clients.length, 1, 'no Client was opened for the probe');
  assert.is(probed.length, 0, 'nothing was sent');
  assert.is(conn.state(), 'backoff');
  actor.stop();
});

test('stop :: a connection stopped under a call destroys the Client close() was waiting on; the caller gets POOL_STOPPED', async () => {
  const { conn, clients } = make();
  const actor = await conn.spec().start({ clock: createTestClock() });
  actor.start();
  const call = conn.run(request).catch((e: unknown) => e);
  await flush();
  const closing = conn.close();
  await flush();
  assert.is(clients[0]!.destroyCalls, 0, 'close() is graceful first');
  actor.stop();
  assert.is(codeOf(await call), 'POOL_STOPPED');
  await flush();
  assert.is(clients[0]!.destroyCalls, 1, 'the socket held by the call was destroyed');
  clients[0]!.finishClose();
  await closing;
});

test('events :: the owner hears each change of state once; an order the state ignores is no change', async () => {
  const { conn, gates, log } = make();
  const actor = await conn.spec().start({ clock: createTestClock() });
  actor.start();
  const call = conn.run(request);
  conn.probe();
  await flush();
  gates[0]!.ok([{ x: 1 }]);
  await call;
  conn.probe();
  await flush();
  actor.stop();
  assert.equal(log, ['joined', 'idle', 'busy', 'idle', 'probing', 'idle', 'left', 'stopped']);
});

test('restart :: a start over a running actor destroys the old Client; the old actor\'s end leaves the new one serving', async () => {
  const { conn, clients, gates, log } = make();
  const clock = createTestClock();
  const first = await conn.spec().start({ clock });
  first.start();
  const second = await conn.spec().start({ clock });
  second.start();
  await flush();
  assert.is(clients[0]!.destroyCalls, 1, 'the replaced actor\'s Client was destroyed, not left open');
  log.length = 0;
  first.stop();
  assert.equal(log, [], 'the pool is not told the connection left');
  assert.is(conn.state(), 'idle');
  const call = conn.run(request);
  await flush();
  gates[0]!.ok([{ x: 2 }]);
  assert.equal(await soon(call), { value: [{ x: 2 }] });
  second.stop();
});

test.run();
