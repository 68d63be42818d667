// A bug inside one connection actor on the real cluster: that actor crashes, the caller it
// served gets POOL_CONNECTION_CRASHED, its supervisor restarts it, every other call carries on.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { AnyActorRef, InspectionEvent } from 'xstate';
import { perform } from '../../src/clickhouse/index.js';
import { definePool, startSupervisor, type Row } from '../../src/index.js';
import { defaultIO } from '../../src/pool/connection/io.js';
import { definePoolWith } from '../../src/pool/define-pool.js';
import { serverUrls } from './cluster.js';
import { allServers, sql, until } from './helpers.js';

const test = suite('pool-crash');

test('crash :: one connection crashes and restarts; concurrent calls are undisturbed', async () => {
  const defaults = { timeout: 5_000, int64: 'auto' } as const;
  const pool = definePoolWith(
    { connectionStrings: serverUrls({ user: 'colonnade' }), name: `it-crash-${process.pid}`, poolSize: 6 },
    {
      ...defaultIO(defaults),
      // The seam stands for a bug in our code: a TypeError thrown while serving one query.
      perform: (transport, server, request) =>
        request.body.includes('crash_me') ? Promise.reject(new TypeError('undefined is not a function')) : perform(transport, server, request, defaults),
    },
  );
  const app = await startSupervisor([pool]);
  try {
    const others = Array.from({ length: 20 }, (_, i) => pool.select('SELECT {i} AS i, sleepEachRow(0.05) AS s', { i }));
    const crashed = await pool.select('SELECT 1 AS crash_me').catch((e: { code?: string; cause?: unknown }) => e);
    assert.is((crashed as { code?: string }).code, 'POOL_CONNECTION_CRASHED');
    assert.instance((crashed as { cause?: unknown }).cause, TypeError);
    const rows = await Promise.all(others);
    assert.equal(rows.map((r) => r[0]!.i), Array.from({ length: 20 }, (_, i) => i), 'every other call answered');
    let stats = pool.stats();
    for (let i = 0; i < 40 && stats.idle !== 6; i++) {
      await new Promise((r) => setTimeout(r, 25));
      stats = pool.stats();
    }
    assert.is(stats.idle, 6, 'the crashed connection was restarted: all six idle');
    assert.equal(stats.servers.map((s) => s.up), [true, true, true], 'a bug is not a server failure');
    assert.is(app.status, 'running');
    const again = await Promise.all(Array.from({ length: 12 }, () => pool.select('SELECT 1 AS x')));
    assert.is(again.length, 12);
  } finally {
    await app.stop();
  }
});

test('crash :: the broker crashes; the pool restarts it, serves again, and the queued async rows are written', async () => {
  const table = `pool_crash_${process.pid}_${Date.now().toString(36)}`;
  for (const i of allServers()) await sql(i, `CREATE TABLE ${table} (id UInt32) ENGINE = MergeTree ORDER BY id`);
  const brokers: AnyActorRef[] = [];
  const dead: { code?: string; rows: readonly Row[] }[] = [];
  const pool = definePool({
    connectionStrings: serverUrls({ user: 'colonnade' }), name: `it-crash-b-${process.pid}`, poolSize: 3,
    asyncBatchSize: 1_000, asyncFlushInterval: 600_000, // the rows stay queued until flush()
    onError: (error, rows) => dead.push({ code: (error as { code?: string }).code, rows }),
  });
  const isBroker = (e: InspectionEvent) => (e.actorRef.getSnapshot() as { machine?: { id?: string } } | undefined)?.machine?.id === 'broker';
  const app = await startSupervisor([pool], { inspect: (e) => { if (e.type === '@xstate.actor' && isBroker(e)) brokers.push(e.actorRef as AnyActorRef); } });
  try {
    assert.equal(await pool.select('SELECT 1 AS x'), [{ x: 1 }]);
    for (let id = 0; id < 10; id++) pool.asyncInsertToTable(table, { id });
    assert.is(pool.stats().writer.queued, 10);
    assert.is(brokers.length, 1, 'the inspector saw one broker');
    // Stopped from outside its supervisor: for OTP that is a crash (OTP_KILLED), and the
    // pool's rest_for_one supervisor restarts the broker, the connections and the writer.
    brokers[0]!.stop();
    await until('a new broker was started', () => brokers.length === 2);
    await until('the pool serves again', () => pool.select('SELECT 2 AS x').then((r) => r[0]?.x === 2, () => false));
    assert.is(app.status, 'running');
    assert.is(pool.stats().started, true);
    await pool.flush();
    const w = pool.stats().writer;
    assert.equal([w.written, w.failed, w.dropped], [10, 0, 0], `the queue survived the restart: ${JSON.stringify(w)}`);
    const ids: number[] = [];
    for (const i of allServers()) {
      const text = (await sql(i, `SELECT id FROM ${table} FORMAT TSV`)).trim();
      if (text) ids.push(...text.split('\n').map(Number));
    }
    assert.equal(ids.sort((a, b) => a - b), Array.from({ length: 10 }, (_, i) => i), 'every queued row written once');
    assert.equal(dead, [], 'nothing dead-lettered');
  } finally {
    await app.stop();
    for (const i of allServers()) await sql(i, `DROP TABLE IF EXISTS ${table}`).catch(() => undefined);
  }
});

test.run();
