// The server closes an idle keep-alive socket after 10 s; a client that reuses it at that
// instant gets ECONNRESET. Our connections retire idle sockets ~2 s before the server's
// `Keep-Alive: timeout=` hint, so a burst after a long idle period sees no error.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { openTransport, parseConnectionString, perform, prepare } from '../../src/clickhouse/index.js';
import { startSupervisor } from '../../src/otp/index.js';
import { definePool } from '../../src/pool/define-pool.js';
import { clusterInfo, serverUrls } from './cluster.js';

const test = suite('pool-keepalive');

test('keep-alive :: the server announces its idle timeout', async () => {
  const res = await fetch(`http://127.0.0.1:${clusterInfo().servers[0]!.httpPort}/ping`);
  await res.text();
  assert.match(res.headers.get('keep-alive') ?? '', /timeout=10/);
});

test('keep-alive :: a pooled Client retires idle sockets 2 s before the server does', async () => {
  const server = parseConnectionString(serverUrls()[0]!);
  const client = openTransport(server);
  try {
    await perform(client, server, prepare({ type: 'select', sql: 'SELECT 1' }), { timeout: 5_000, int64: 'auto' });
    // undici keeps the value it derived from the response's Keep-Alive hint under this symbol.
    const symbol = Object.getOwnPropertySymbols(client).find((s) => s.description === 'keep alive timeout');
    assert.ok(symbol, 'undici exposes its keep-alive value');
    assert.is((client as unknown as Record<symbol, number>)[symbol!], 8_000);
  } finally {
    await client.close();
  }
});

test('keep-alive :: idle longer than the server keep-alive, then a burst: no errors', async () => {
  const pool = definePool({ connectionStrings: serverUrls({ user: 'colonnade' }), name: `it-keepalive-${process.pid}`, poolSize: 6 });
  const app = await startSupervisor([pool]);
  try {
    const burst = () => Promise.allSettled(Array.from({ length: 30 }, () => pool.select('SELECT 1 AS x')));
    const first = await burst();
    assert.ok(first.every((r) => r.status === 'fulfilled'));
    await new Promise((r) => setTimeout(r, 11_000));
    const second = await burst();
    const failed = second.filter((r) => r.status === 'rejected');
    assert.equal(failed.map((r) => String((r as PromiseRejectedResult).reason)), []);
    const stats = pool.stats();
    assert.equal(stats.servers.map((s) => s.errors), [0, 0, 0], 'no network failure, not even a retried one');
    assert.equal(stats.servers.map((s) => s.up), [true, true, true]);
  } finally {
    await app.stop();
  }
});

test.run();
