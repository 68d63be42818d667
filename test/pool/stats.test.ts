import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { assertNoSecret } from '../secrets.js';
import { parseConnectionString } from '../../src/clickhouse/connection-string.js';
import { forgetServerInfo, serverInfo } from '../../src/clickhouse/server-info.js';
import { withFakeServer } from '../clickhouse/fake-http.js';
import type { PooledConnection } from '../../src/pool/connection/pooled-connection.js';
import { Health } from '../../src/pool/broker/health.js';
import { collectStats } from '../../src/pool/stats.js';
import type { WriterStats } from '../../src/pool/writer/writer.js';

const servers = ['http://u:secret@h1:8123/db', 'http://u:secret@h2:8123/db'].map(parseConnectionString);
const conn = (server: number, state: string) => ({ server, state: () => state }) as unknown as PooledConnection;
const writer: WriterStats = { queued: 3, inFlight: 1, written: 10, dropped: 2, failed: 0, retried: 0 };

const test = suite('stats');

test('stats :: per server health, connection states, in flight, counters; passwords redacted', () => {
  const health = new Health(2, { now: () => 0 });
  health.fail(1, 'hard');
  const stats = collectStats({
    name: 'p',
    started: true,
    servers,
    connections: [conn(0, 'idle'), conn(0, 'busy'), conn(1, 'backoff'), conn(1, 'stopped')],
    broker: { waiters: 4, overflow: 1, overflowInUse: 1, servers: [{ idle: 1, lent: 1, recovering: 0 }, { idle: 0, lent: 0, recovering: 1 }] },
    health,
    queries: [7, 3],
    errors: [0, 2],
    writer,
  });
  assert.equal(stats.servers.map((s) => s.up), [true, false]);
  assert.is(stats.servers[0]!.connections.idle, 1);
  assert.is(stats.servers[0]!.connections.busy, 1);
  assert.is(stats.servers[1]!.connections.backoff, 1);
  assert.equal(stats.servers.map((s) => s.inFlight), [1, 0]);
  assert.equal(stats.servers.map((s) => s.queries), [7, 3]);
  assert.equal(stats.servers.map((s) => s.errors), [0, 2]);
  assert.is(stats.waiters, 4);
  assert.is(stats.overflow, 1);
  assert.is(stats.overflowInUse, 1);
  assert.is(stats.idle, 1);
  assert.is(stats.inUse, 1);
  assert.is(stats.writer.queued, 3);
  assertNoSecret(stats, ['secret'], 'stats()');
});

test('stats :: a pool not started shows every server down and nothing in use', () => {
  const stats = collectStats({ name: 'p', started: false, servers, connections: [], broker: undefined, health: undefined, queries: [0, 0], errors: [0, 0], writer });
  assert.is(stats.started, false);
  assert.equal(stats.servers.map((s) => s.up), [false, false]);
  assert.is(stats.inUse, 0);
});


test('stats :: each number from its own source: in flight is what is lent (not idle), overflow alive apart from overflow lent, penalty from health', () => {
  const health = new Health(2, { now: () => 0 });
  health.fail(1, 'soft');
  const stats = collectStats({
    name: 'p',
    started: true,
    servers,
    connections: [conn(0, 'idle'), conn(0, 'idle'), conn(0, 'busy'), conn(1, 'busy'), conn(1, 'busy'), conn(1, 'busy')],
    broker: { waiters: 0, overflow: 3, overflowInUse: 1, servers: [{ idle: 2, lent: 1, recovering: 0 }, { idle: 0, lent: 3, recovering: 0 }] },
    health,
    queries: [0, 0],
    errors: [0, 1],
    writer,
  });
  assert.equal(stats.servers.map((s) => s.inFlight), [1, 3]);
  assert.equal([stats.idle, stats.inUse], [2, 4]);
  assert.equal([stats.overflow, stats.overflowInUse], [3, 1]);
  assert.is(stats.servers[0]!.penalty, 0);
  assert.is(stats.servers[1]!.penalty, health.snapshot(1).penalty);
  assert.ok(stats.servers[1]!.penalty > 0, 'a failure shows as a penalty');
  assert.equal(stats.servers.map((s) => s.up), [true, true], 'one soft failure does not mark a server down');
});

test('stats :: a server\'s version, once read, shows in stats(); forgotten, it is undefined again', async () => {
  await withFakeServer((_req, res) => res.end('26.7.2.1\tUTC\n'), async (client, server) => {
    try {
      await serverInfo(client, server, { timeout: 2_000 });
      const seen = () => collectStats({ name: 'p', started: true, servers: [server], connections: [], broker: undefined, health: undefined, queries: [0], errors: [0], writer }).servers[0]!.version;
      assert.is(seen(), '26.7.2.1');
      forgetServerInfo(server);
      assert.is(seen(), undefined);
    } finally {
      forgetServerInfo(server);
    }
  });
});

test.run();
