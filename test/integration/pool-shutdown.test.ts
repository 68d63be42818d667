// Shutdown and a pool that is gone (issue 11, item 8): after stop() resolves the process
// holds no socket to any server, also while calls time out during the stop and reconnect
// backoffs fire; when the pool's supervisor gives up, queued async rows are reported and
// flush() settles.
import { readFileSync } from 'node:fs';
import { Socket } from 'node:net';
import { suite } from 'uvu';
import type { AnyActorRef, InspectionEvent } from 'xstate';
import * as assert from 'uvu/assert';
import { definePool, startSupervisor, type Row } from '../../src/index.js';
import { startFaultProxy } from '../support/fault-proxy.js';
import { serverUrls } from './cluster.js';
import { pause, sql, until } from './helpers.js';

const test = suite('pool-shutdown');

/** Open sockets of this process to any of `ports` on loopback, as `port:localPort` (empty: none). */
function socketsTo(ports: readonly number[]): string[] {
  const handles = (process as unknown as { _getActiveHandles(): unknown[] })._getActiveHandles();
  return handles.filter((h): h is Socket => h instanceof Socket && !h.destroyed && ports.includes(h.remotePort ?? -1))
    .map((h) => `${h.remotePort}:${h.localPort}`);
}

/** Connections of any process on loopback to `port` in state ESTABLISHED (from /proc/net/tcp; a closed one is in FIN_WAIT). */
function establishedTo(port: number): number {
  const hex = port.toString(16).toUpperCase().padStart(4, '0');
  return readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)
    .filter((line) => { const f = line.trim().split(/\s+/); return f[2] === `0100007F:${hex}` && f[3] === '01'; }).length;
}

const refuse = (proxy: { setMode(mode: 'reset-connect'): void }): void => proxy.setMode('reset-connect');

const SLOW = 'SELECT sleepEachRow(0.5) AS s FROM numbers(20) SETTINGS max_block_size = 1, max_execution_time = 15';

test('stop :: no socket left to any server, with calls timing out and reconnects backing off during the stop', async () => {
  // Server 0 behind a proxy whose answers come 600 ms late (so the KILL of a timed-out call
  // is still out when stop() begins); server 1 behind one that refuses every connection (so
  // its connections back off 30-60 ms and probe again, over and over).
  const late = await startFaultProxy({ target: serverUrls()[0] as string, mode: { mode: 'latency', ms: 600, firstByteOnly: true } });
  const refusing = await startFaultProxy({ target: serverUrls()[1] as string, mode: { mode: 'reset-connect' } });
  // The pool talks to the proxies only (their own sockets to the servers are theirs).
  const ports = [late.port, refusing.port];
  const pool = definePool({
    connectionStrings: [late.url(), refusing.url()], name: `it-shutdown-${process.pid}`, poolSize: 4, maxOverflow: 2,
    timeout: 400, backoff: { initial: 30, max: 60 }, onError: () => undefined,
  });
  const app = await startSupervisor([pool]);
  try {
    // The pool reads each server's version when it starts; a select waits for it (it picks
    // the result format by it), so let the late server's be known: the selects are then sent.
    await until('the late server\'s version is known', () => pool.stats().servers[0]!.version !== undefined, 5_000);
    const calls = Array.from({ length: 4 }, () => pool.select(SLOW).then(() => 'answered', (e: { code?: string }) => e.code ?? String(e)));
    for (let i = 0; i < 20; i++) pool.asyncInsertToTable('system.one_does_not_exist', { dummy: i });
    // The first timeout fires a KILL through the late proxy: stop while it is out.
    await Promise.race(calls);
    assert.ok(socketsTo(ports).length > 0, 'the pool holds sockets while it runs');
    await app.stop();
    assert.equal(socketsTo(ports), [], `no socket right after stop() resolved (late ${late.port}, refusing ${refusing.port})`);
    // Idle keep-alive sockets are unref'd, hidden from socketsTo: the proxies count what is open.
    await until('the proxies saw every connection of the pool closed', () => late.stats().open + refusing.stats().open === 0, 500, 10);
    assert.ok((await Promise.all(calls)).every((c) => c !== 'answered'));
    // Timers that would fire after the stop (backoffs, linger, kills) open nothing.
    for (let i = 0; i < 10; i++) {
      await pause(50);
      assert.equal(socketsTo(ports), [], `no socket ${50 * (i + 1)} ms after stop()`);
    }
  } finally {
    await app.stop();
    await late.close();
    await refusing.close();
  }
});

test('stop :: the connections a pool opened to kill timed-out and aborted queries are closed, not left to keep-alive', async () => {
  // A proxy that passes everything: the pool's sockets are the only ones of this process to its port.
  const proxy = await startFaultProxy({ target: serverUrls()[0] as string });
  const tag = `shutdown-kill-${process.pid}-${Date.now().toString(36)}`;
  const pool = definePool({ connectionStrings: [proxy.url()], name: `it-shutdown-kill-${process.pid}`, poolSize: 3, maxOverflow: 0, onError: () => undefined });
  const app = await startSupervisor([pool]);
  try {
    const slow = SLOW.replace('AS s', `AS s, '${tag}' AS tag`);
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 300);
    // Each ended call sends KILL QUERY to its server over a connection of its own.
    const codes = await Promise.all([
      pool.select(slow, {}, { timeout: 300 }), pool.select(slow, {}, { timeout: 350 }), pool.select(slow, {}, { signal: ac.signal, timeout: 30_000 }),
    ].map((call) => call.then(() => 'answered', (e: { code?: string }) => e.code)));
    assert.equal(codes.sort(), ['ABORTED', 'TIMEOUT', 'TIMEOUT']);
    const running = async () => (await sql(0, `SELECT count() FROM system.processes WHERE query LIKE '%${tag}%' AND query NOT LIKE '%system.processes%' FORMAT TSV`)).trim();
    await until('the three queries were killed on the server', async () => (await running()) === '0', 10_000);
    // Let the KILL answers reach the client (the server drops the query before it answers).
    await pause(150);
    await app.stop();
    // Before: each KILL's connection stayed open, idle, until its keep-alive ran out (2 s and
    // more). An idle keep-alive socket is unref'd, which hides it from socketsTo: the proxy
    // counts the connections still open at its end.
    assert.equal(socketsTo([proxy.port]), [], 'no socket right after stop() resolved');
    await until('the proxy saw every connection of the pool closed', () => proxy.stats().open === 0, 500, 10);
  } finally {
    await app.stop();
    await proxy.close();
  }
});

test('stop :: a KILL QUERY still waiting for its answer when the pool stops is cut, not left open', async () => {
  // Answers come 3 s late: the KILL of the timed-out select is still out when stop() is called.
  const late = await startFaultProxy({ target: serverUrls()[0] as string, mode: { mode: 'latency', ms: 3_000, firstByteOnly: true } });
  const pool = definePool({ connectionStrings: [late.url()], name: `it-shutdown-kill-out-${process.pid}`, poolSize: 1, maxOverflow: 0, onError: () => undefined });
  const app = await startSupervisor([pool]);
  try {
    await until('the server\'s version is known', () => pool.stats().servers[0]!.version !== undefined, 10_000);
    const code = await pool.select(SLOW, {}, { timeout: 300 }).then(() => 'answered', (e: { code?: string }) => e.code);
    assert.is(code, 'TIMEOUT');
    await until('the KILL is out', () => late.stats().open > 0, 2_000, 10);
    await app.stop();
    // Before: stop() resolved with the KILL's connection still waiting for its late answer.
    // (The proxy's own count is no help here: it keeps its half of a link the client closed
    // until the late answer comes.)
    await until('no connection of the pool still established', () => establishedTo(late.port) === 0, 300, 10);
  } finally {
    await app.stop();
    await late.close();
  }
});

test('gone :: when the pool\'s supervisor gives up, queued async rows go to onError and flush() settles', async () => {
  const dead: { code: string; rows: readonly Row[] }[] = [];
  const proxy = await startFaultProxy({ target: serverUrls()[0] as string });
  const pool = definePool({
    connectionStrings: [proxy.url()], name: `it-gone-${process.pid}`, poolSize: 1, maxOverflow: 0, backoff: { initial: 50, max: 100 },
    asyncFlushInterval: 600_000, onError: (e, rows) => dead.push({ code: (e as { code?: string }).code ?? '', rows }),
  });
  const brokers: AnyActorRef[] = [];
  const isBroker = (e: InspectionEvent) => (e.actorRef.getSnapshot() as { machine?: { id?: string } } | undefined)?.machine?.id === 'broker';
  // Intensity 0 at the root: once the pool's own supervisor gives up, nobody restarts it.
  const app = await startSupervisor([pool], {
    intensity: 0,
    inspect: (e) => { if (e.type === '@xstate.actor' && isBroker(e)) brokers.push(e.actorRef as AnyActorRef); },
  });
  try {
    assert.equal(await pool.select('SELECT 1 AS x'), [{ x: 1 }]);
    // The server becomes unreachable: the writer waits and retries, the rows stay queued.
    refuse(proxy);
    await pool.select('SELECT 1').catch(() => undefined);
    await until('the server is marked down', () => !pool.stats().servers[0]!.up, 10_000);
    for (let id = 0; id < 10; id++) pool.asyncInsertToTable('t_never_written', { id });
    const flushed = pool.flush().then(() => 'settled');
    await until('the writer met the unreachable server', () => pool.stats().writer.retried > 0, 10_000);
    // Each broker stopped from outside is a crash; the pool's supervisor restarts it (rest_for_one)
    // until it exceeds its intensity (3 in 5 s) and gives up.
    for (let crash = 0; crash < 6 && app.status === 'running'; crash++) {
      brokers[brokers.length - 1]!.stop();
      await until('the broker was restarted, or the tree gave up', () => brokers.length === crash + 2 || app.status !== 'running', 5_000);
    }
    await until('the tree gave up', () => app.status === 'failed' && !pool.stats().started, 5_000);
    // Before: the rows stayed queued in a writer nobody would restart, and flush() never settled.
    const outcome = await Promise.race([flushed, pause(10_000).then(() => 'pending after 10 s')]);
    assert.is(outcome, 'settled');
    // Each row reported once. WRITER_STOPPED, or WRITE_OUTCOME_UNKNOWN when a crash stopped a
    // send a connection had taken (the pool cannot tell then whether a byte of it left; seen
    // once in a loaded run: the batch went to onError as unknown, which loses nothing).
    const ids = dead.flatMap((d) => d.rows.map((r) => r.id));
    assert.equal(ids.sort((a, b) => Number(a) - Number(b)), Array.from({ length: 10 }, (_, id) => id), JSON.stringify(dead.map((d) => [d.code, d.rows.length])));
    assert.ok(dead.every((d) => d.code === 'WRITER_STOPPED' || d.code === 'WRITE_OUTCOME_UNKNOWN'), JSON.stringify(dead.map((d) => d.code)));
  } finally {
    await app.stop().catch(() => undefined);
    await proxy.close();
  }
});

test('crash :: a broker crash while a batch is in flight into a plain MergeTree does not store it twice unreported', async () => {
  const table = `it_crash_inflight_${process.pid}_${Date.now().toString(36)}`;
  await sql(0, `CREATE TABLE ${table} (id UInt32) ENGINE = MergeTree ORDER BY id`);
  // Answers come 800 ms late, so the batch is in flight when the broker is crashed.
  const late = await startFaultProxy({ target: serverUrls()[0] as string, mode: { mode: 'latency', ms: 800, firstByteOnly: true } });
  const dead: { code: string; rows: readonly Row[] }[] = [];
  const pool = definePool({
    connectionStrings: [late.url()], name: `it-crash-inflight-${process.pid}`, poolSize: 1, maxOverflow: 0, timeout: 10_000,
    asyncFlushInterval: 600_000, onError: (e, rows) => dead.push({ code: (e as { code?: string }).code ?? '', rows }),
  });
  const brokers: AnyActorRef[] = [];
  const isBroker = (e: InspectionEvent) => (e.actorRef.getSnapshot() as { machine?: { id?: string } } | undefined)?.machine?.id === 'broker';
  const app = await startSupervisor([pool], { inspect: (e) => { if (e.type === '@xstate.actor' && isBroker(e)) brokers.push(e.actorRef as AnyActorRef); } });
  try {
    for (let id = 0; id < 20; id++) pool.asyncInsertToTable(table, { id });
    const flushed = pool.flush();
    await until('the batch is in flight', () => pool.stats().servers[0]!.inFlight === 1, 5_000, 5);
    // A crash of the broker restarts the connections and the writer (rest_for_one) under the send.
    brokers[0]!.stop();
    await Promise.race([flushed, pause(30_000).then(() => assert.unreachable('flush() did not settle in 30 s'))]);
    const [count, unique] = (await sql(0, `SELECT count(), uniqExact(id) FROM ${table} FORMAT TSV`)).trim().split('\t').map(Number);
    const reported = dead.reduce((n, d) => n + d.rows.length, 0);
    // Before: the send's POOL_STOPPED counted as "nothing sent", the batch went again, 40 rows stored.
    assert.is(count, unique, `no row stored twice (${count} rows, ${unique} distinct)`);
    assert.ok(count === 20 || reported === 20, `stored once, or reported (${count} stored, ${reported} reported)`);
    assert.ok(dead.every((d) => d.code === 'WRITE_OUTCOME_UNKNOWN'), JSON.stringify(dead.map((d) => d.code)));
  } finally {
    await app.stop();
    await late.close();
    await sql(0, `DROP TABLE IF EXISTS ${table}`).catch(() => undefined);
  }
});

test.run();
