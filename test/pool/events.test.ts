// The pool's typed events against fake servers (the ConnectionIO seam) and a simulated clock:
// each event's payload, servers named by their redacted URL, nothing built with no listener.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ClickHouseError, TransportError } from '../../src/clickhouse/errors.js';
import { openTransport } from '../../src/clickhouse/transport.js';
import type { PreparedRequest, ServerConfig } from '../../src/clickhouse/types.js';
import { createTestClock, startSupervisor, supervisorOf } from '../../src/otp/index.js';
import { definePoolWith } from '../../src/pool/define-pool.js';
import type { PoolEvents } from '../../src/pool/events.js';
import type { PoolOptions } from '../../src/pool/options.js';
import { assertNoSecret } from '../secrets.js';

const PASSWORD = 'hunter2:s@cret';
const urls = [1, 2, 3].map((i) => `http://alice:${encodeURIComponent(PASSWORD)}@10.0.0.${i}:8123/db`);
const redacted = (i: number) => `http://alice:***@10.0.0.${i + 1}:8123/db`;
const flush = async (n = 8) => {
  for (let i = 0; i < n; i++) await new Promise((resolve) => setImmediate(resolve));
};
const refused = () => new TransportError('connect ECONNREFUSED', false);
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let seq = 0;
async function started(options: Partial<PoolOptions> = {}) {
  const behaviour: Array<(r: PreparedRequest) => Promise<unknown>> = [0, 1, 2].map(() => async (req) => (req.type === 'select' ? [{ x: 1 }, { x: 2 }] : undefined));
  const probeOk = [true, true, true];
  const index = (server: ServerConfig) => Number(server.host.split('.').pop()) - 1;
  const io = {
    open: (server: ServerConfig) => openTransport(server),
    perform: (_t: unknown, server: ServerConfig, request: PreparedRequest) => behaviour[index(server)]!(request),
    probe: async (_t: unknown, server: ServerConfig) => {
      if (!probeOk[index(server)]) throw refused();
    },
    outcome: async () => {
      if (lookupMs > 0) await pause(lookupMs);
      return outcome;
    },
  };
  let outcome: 'absent' | 'finished' = 'absent';
  let lookupMs = 0;
  const clock = createTestClock();
  const pool = definePoolWith({ connectionStrings: urls, name: `events-${++seq}`, poolSize: 3, balance: 'in_order', ...options }, io);
  const seen: Array<{ name: keyof PoolEvents; payload: unknown }> = [];
  const listen = (...names: Array<keyof PoolEvents>) => {
    for (const name of names) pool.events.on(name, (payload: unknown) => void seen.push({ name, payload }));
  };
  const app = await startSupervisor([pool], { clock });
  const of = (name: keyof PoolEvents) => seen.filter((e) => e.name === name).map((e) => e.payload as Record<string, unknown>);
  /** What the lookup of a lost answer finds, and how long (real time) it takes. */
  const lookups = (answer: typeof outcome, ms = 0) => {
    outcome = answer;
    lookupMs = ms;
  };
  return { pool, app, clock, behaviour, probeOk, seen, listen, of, lookups };
}

const test = suite('pool events');

test('query :: one event per call: type, redacted server, rows, outcome, error code, retries', async () => {
  const { pool, app, behaviour, listen, of, seen } = await started();
  listen('query');
  await pool.select('SELECT x');
  behaviour[0] = async () => { throw refused(); };
  await pool.select('SELECT x');
  behaviour[1] = async () => { throw new ClickHouseError({ serverCode: 60, serverMessage: 'no table' }, 404); };
  await pool.select('SELECT * FROM missing').catch(() => undefined);
  const [ok, retried, failed] = of('query');
  assert.equal({ ...ok, durationMs: 0 }, { pool: pool.name, type: 'select', server: redacted(0), durationMs: 0, rows: 2, outcome: 'ok', error: undefined, retries: 0 });
  assert.is(retried!.server, redacted(1));
  assert.is(retried!.retries, 1);
  assert.is(failed!.outcome, 'error');
  assert.is(failed!.error, 'CLICKHOUSE');
  assert.ok(typeof ok!.durationMs === 'number' && ok!.durationMs >= 0);
  assertNoSecret(seen, [PASSWORD, encodeURIComponent(PASSWORD)], 'query events');
  await app.stop();
});

test('server :: down with its reason, and up when a probe answers', async () => {
  const { pool, app, clock, behaviour, probeOk, listen, of } = await started({ backoff: { initial: 100, max: 100 } });
  listen('server:down', 'server:up');
  behaviour[0] = async () => { throw refused(); };
  probeOk[0] = false;
  await pool.select('SELECT 1');
  assert.equal(of('server:down'), [{ pool: pool.name, server: redacted(0), reason: 'hard failure' }]);
  behaviour[0] = async () => [{ x: 0 }];
  probeOk[0] = true;
  clock.advance(100);
  await flush();
  assert.equal(of('server:up'), [{ pool: pool.name, server: redacted(0), reason: 'probe answered' }]);
  await app.stop();
});

test('connection :: state changes of each connection, stopped at the end', async () => {
  const { pool, app, listen, of } = await started();
  listen('connection');
  await pool.select('SELECT 1');
  const states = of('connection').filter((e) => e.id === 'conn-0').map((e) => e.state);
  assert.equal(states.slice(0, 2), ['busy', 'idle']);
  assert.is(of('connection')[0]!.server, redacted(0));
  await app.stop();
  assert.ok(of('connection').some((e) => e.id === 'conn-0' && e.state === 'stopped'));
});

test('checkout:timeout :: a call that waited poolTimeout for a connection', async () => {
  const { pool, app, clock, behaviour, listen, of } = await started({ maxOverflow: 0, poolTimeout: 50 });
  listen('checkout:timeout', 'query');
  const hold: Array<() => void> = [];
  for (let i = 0; i < 3; i++) behaviour[i] = () => new Promise((resolve) => hold.push(() => resolve([])));
  const busy = [1, 2, 3].map(() => pool.select('SELECT sleep(1)'));
  await flush();
  const late = pool.select('SELECT 1').catch((e: unknown) => e);
  await flush();
  clock.advance(50);
  assert.is((await late as { code: string }).code, 'POOL_TIMEOUT');
  assert.equal(of('checkout:timeout').map((e) => [e.type, e.waiters]), [['select', 0]]);
  assert.is(of('query').at(-1)!.server, undefined, 'no connection was lent');
  for (const release of hold) release();
  await Promise.all(busy);
  await app.stop();
});

test('writer :: a batch per send; dead-lettered and dropped rows counted', async () => {
  const { pool, app, clock, behaviour, listen, of } = await started({ asyncMailbox: 2, asyncBatchSize: 10, asyncFlushInterval: 10 });
  listen('writer:batch', 'writer:dead_letter', 'writer:dropped');
  pool.asyncInsertToTable('t', [{ a: 1 }, { a: 2 }]);
  pool.asyncInsertToTable('t', { a: 3 });
  await flush();
  assert.equal(of('writer:dropped'), [{ pool: pool.name, rows: 1, error: 'WRITER_MAILBOX_FULL' }]);
  clock.advance(10);
  await pool.flush();
  const [batch] = of('writer:batch');
  assert.equal([batch!.table, batch!.rows, batch!.attempt, batch!.outcome, batch!.server], ['t', 2, 1, 'ok', redacted(0)]);
  for (let i = 0; i < 3; i++) behaviour[i] = async () => { throw new ClickHouseError({ serverCode: 27, serverMessage: 'cannot parse' }, 500); };
  pool.asyncInsertToTable('t', { a: 4 });
  clock.advance(10);
  await pool.flush();
  assert.equal(of('writer:dead_letter'), [{ pool: pool.name, rows: 1, error: 'CLICKHOUSE' }]);
  assert.equal(of('writer:batch').at(-1)!.outcome, 'error');
  await app.stop();
});

test('writer :: a send whose answer was lost, then found stored, is told once, as ok', async () => {
  const { pool, app, clock, behaviour, listen, of, lookups } = await started({ asyncFlushInterval: 10 });
  listen('writer:batch', 'writer:dead_letter');
  lookups('finished');
  behaviour[0] = async () => { throw new TransportError('socket hang up', true); };
  pool.asyncInsertToTable('t', [{ a: 1 }, { a: 2 }]);
  clock.advance(10);
  await pool.flush();
  // Before: told as an error while stats().writer counted the rows written.
  assert.equal(of('writer:batch').map((e) => [e.rows, e.attempt, e.outcome, e.error, e.server]), [[2, 1, 'ok', undefined, redacted(0)]]);
  assert.equal(of('writer:dead_letter'), []);
  assert.is(pool.stats().writer.written, 2);
  // Not stored: an error, then the send that stores it.
  lookups('absent');
  let answered = false;
  // Whichever server it goes to (the first is penalized by now).
  for (let i = 0; i < 3; i++) {
    behaviour[i] = async () => {
      if (answered) return undefined;
      answered = true;
      throw new TransportError('socket hang up', true);
    };
  }
  pool.asyncInsertToTable('t', { a: 3 });
  for (let i = 0; i < 20 && pool.stats().writer.written < 3; i++) {
    clock.advance(1_000);
    await flush();
  }
  await pool.flush();
  assert.equal(of('writer:batch').slice(1).map((e) => [e.attempt, e.outcome, e.error]), [[1, 'error', 'TRANSPORT'], [2, 'ok', undefined]]);
  await app.stop();
});

test('query :: durationMs is the wall time of the call (a send that takes 40 ms real time)', async () => {
  const { pool, app, behaviour, listen, of } = await started();
  listen('query');
  behaviour[0] = async () => {
    await pause(40);
    return [{ x: 1 }];
  };
  await pool.select('SELECT x');
  const [event] = of('query');
  assert.ok(Number(event!.durationMs) >= 30 && Number(event!.durationMs) < 60_000, String(event!.durationMs));
  await app.stop();
});

test('writer :: a send whose answer was lost is timed as the send alone, not with the lookup after it', async () => {
  const { pool, app, clock, behaviour, listen, of, lookups } = await started({ asyncFlushInterval: 10 });
  listen('writer:batch');
  // The lookup takes 400 ms of real time; the send itself fails at once.
  lookups('finished', 400);
  behaviour[0] = async () => { throw new TransportError('socket hang up', true); };
  pool.asyncInsertToTable('t', [{ a: 1 }]);
  clock.advance(10);
  await pool.flush();
  const batches = of('writer:batch');
  assert.equal(batches.map((e) => e.outcome), ['ok']);
  assert.ok(Number(batches[0]!.durationMs) < 400, String(batches[0]!.durationMs));
  await app.stop();
});

test('supervisor :: a connection restarted by the pool\'s connections supervisor', async () => {
  const { pool, app, listen, of } = await started();
  listen('supervisor:restart');
  const poolSup = supervisorOf(app.whichChildren()[0]!.actor!)!;
  const connections = supervisorOf(poolSup.whichChildren().find((c) => c.id === 'connections')!.actor!)!;
  connections.whichChildren()[1]!.actor!.stop();
  await flush();
  const [restart] = of('supervisor:restart');
  assert.equal([restart!.pool, restart!.supervisor, restart!.child], [pool.name, 'connections', 'conn-1']);
  assert.match(String(restart!.reason), /OTP_KILLED/);
  await app.stop();
});

test('no listener :: nothing is emitted, and a listener removed stops hearing', async () => {
  const { pool, app } = await started();
  let heard = 0;
  const listener = () => void heard++;
  pool.events.on('query', listener);
  await pool.select('SELECT 1');
  pool.events.off('query', listener);
  await pool.select('SELECT 1');
  assert.is(heard, 1);
  assert.is(pool.events.listenerCount('query'), 0);
  await app.stop();
});

test.run();
