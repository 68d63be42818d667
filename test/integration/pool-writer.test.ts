// The async writer's limits seen from outside, on the real cluster: the mailbox bound and
// the overflow policy while the servers cannot take writes (frozen, or unreachable), the
// drain deadline of app.stop(), and the default dead letter (a warning line).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { definePool, startSupervisor, type PoolOptions, type Row } from '../../src/index.js';
import { clusterStatus, freezeServer, resumeServer, serverUrls } from './cluster.js';
import { allServers, assertNoPassword, sql, until } from './helpers.js';

const test = suite('pool-writer');
const table = `pool_writer_${process.pid}_${Date.now().toString(36)}`;
let seq = 0;
const name = () => `it-writer-${process.pid}-${++seq}`;
/** Rejects when `p` has not settled within `ms`: a stop that never returns fails the test instead of hanging it. */
const within = <T,>(p: Promise<T>, ms: number, what: string): Promise<T> => Promise.race([
  p, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${what}: not done after ${ms} ms`)), ms).unref()),
]);
const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);
/** Connection strings of ports nobody listens on: every server "killed". */
const unreachable = ['http://colonnade:pw@127.0.0.1:1/default', 'http://colonnade:pw@127.0.0.1:2/default'];

interface Dead { code: string; ids: number[] }
const deadLetter = () => {
  const dead: Dead[] = [];
  const onError: PoolOptions['onError'] = (error, rows: readonly Row[]) => {
    dead.push({ code: (error as { code?: string }).code ?? error.message, ids: rows.map((r) => Number(r.id)) });
  };
  return { dead, onError, ids: (code: string) => dead.filter((d) => d.code === code).flatMap((d) => d.ids).sort((a, b) => a - b) };
};

/** Ids stored over all servers (a plain MergeTree table on each: an insert lands on one). */
async function stored(t: string, policy: string): Promise<number[]> {
  const ids: number[] = [];
  for (const i of allServers()) {
    const text = (await sql(i, `SELECT id FROM ${t} WHERE policy = '${policy}' FORMAT TSV`)).trim();
    if (text) ids.push(...text.split('\n').map(Number));
  }
  return ids.sort((a, b) => a - b);
}

test.before(async () => {
  for (const i of allServers()) await sql(i, `CREATE TABLE ${table} (id UInt32, policy String) ENGINE = MergeTree ORDER BY id`);
});

test.after(async () => {
  const st = await clusterStatus();
  for (const s of st.servers) if (s.frozen) await resumeServer(s.index);
  for (const i of allServers()) await sql(i, `DROP TABLE IF EXISTS ${table}`).catch(() => undefined);
});

async function freezeAll(): Promise<void> {
  for (const i of allServers()) await freezeServer(i);
}
async function resumeAll(): Promise<void> {
  for (const i of allServers()) await resumeServer(i);
}

for (const policy of ['drop_newest', 'drop_oldest'] as const) {
  test(`overflow :: ${policy}: a frozen cluster holds asyncMailbox rows; the ${policy === 'drop_newest' ? 'newest' : 'oldest unsent'} go to onError, the rest are stored`, async () => {
    const { dead, onError, ids } = deadLetter();
    const pool = definePool({
      connectionStrings: serverUrls({ user: 'colonnade' }), name: name(), poolSize: 3,
      timeout: 60_000, asyncMailbox: 30, asyncBatchSize: 5, asyncFlushInterval: 50, asyncOverflow: policy, onError,
    });
    const app = await startSupervisor([pool]);
    try {
      await freezeAll();
      try {
        // Rows 0..4 make a batch that is sent at once and hangs on a frozen server: in flight.
        for (const id of range(0, 5)) pool.asyncInsertToTable(table, { id, policy });
        await until('the first batch is in flight', () => pool.stats().writer.inFlight === 5);
        // The writer waits for that batch: 5..29 queue up to the bound, 30..44 do not fit.
        for (const id of range(5, 45)) pool.asyncInsertToTable(table, { id, policy });
        await until('the 15 rows that did not fit reached onError', () => dead.reduce((n, d) => n + d.ids.length, 0) >= 15);
        const w = pool.stats().writer;
        assert.is(w.queued + w.inFlight, 30, `the mailbox holds asyncMailbox rows: ${JSON.stringify(w)}`);
        assert.is(w.dropped, 15);
        assert.equal(dead.map((d) => d.code).filter((c) => c !== 'WRITER_MAILBOX_FULL'), [], 'every drop is WRITER_MAILBOX_FULL');
        // The batch already sent is never evicted, whatever the policy.
        assert.equal(ids('WRITER_MAILBOX_FULL'), policy === 'drop_newest' ? range(30, 45) : range(5, 20));
      } finally {
        await resumeAll();
      }
      await pool.flush();
      assert.equal(pool.stats().writer.failed, 0, 'nothing else was dead-lettered');
      assert.equal(await stored(table, policy), policy === 'drop_newest' ? range(0, 30) : [...range(0, 5), ...range(20, 45)], 'exactly the kept rows were stored');
    } finally {
      await app.stop();
    }
  });
}

test('mailbox :: with every server unreachable the writer holds asyncMailbox rows and reports each one it cannot hold', async () => {
  const { dead, onError, ids } = deadLetter();
  const pool = definePool({
    connectionStrings: unreachable, name: name(), poolSize: 2, asyncMailbox: 20, asyncBatchSize: 4, asyncFlushInterval: 20,
    backoff: { initial: 20, max: 200 }, onError,
  });
  const app = await startSupervisor([pool]);
  let stopped = false;
  try {
    for (const id of range(0, 50)) pool.asyncInsertToTable(table, { id: 1000 + id, policy: 'unreachable' });
    await until('30 rows reported as dropped', () => dead.reduce((n, d) => n + d.ids.length, 0) >= 30);
    const w = pool.stats().writer;
    assert.is(w.queued + w.inFlight, 20, `held: ${JSON.stringify(w)}`);
    assert.is(w.dropped, 30);
    assert.equal(ids('WRITER_MAILBOX_FULL'), range(1020, 1050));
    assert.ok(pool.stats().servers.every((s) => !s.up), 'both servers are marked down');
    // Unreachable is not a reason to give rows up: they stay queued, retried, not dead-lettered.
    await until('the writer retried while the servers are down', () => pool.stats().writer.retried >= 3);
    assert.is(pool.stats().writer.failed, 0);
    const t0 = Date.now();
    await within(app.stop(), 30_000, 'app.stop()');
    stopped = true;
    assert.ok(Date.now() - t0 < 15_000, `stop ended within the writer's shutdown time, not never (${Date.now() - t0} ms)`);
    assert.equal(ids('WRITER_STOPPED'), range(1000, 1020), 'what it held went to onError when stop ran out of time');
  } finally {
    if (!stopped) await within(app.stop(), 30_000, 'app.stop() in finally').catch(() => undefined);
  }
});

test('stop :: on a frozen cluster app.stop() gives up after its shutdown time; the queued rows go to onError (WRITER_STOPPED, or WRITE_OUTCOME_UNKNOWN for a send that timed out)', async () => {
  const { dead, onError, ids } = deadLetter();
  const pool = definePool({
    connectionStrings: serverUrls({ user: 'colonnade' }), name: name(), poolSize: 3, timeout: 1_000,
    asyncBatchSize: 10, asyncFlushInterval: 20, backoff: { initial: 50, max: 200 }, onError,
  });
  const app = await startSupervisor([pool]);
  let stopped = false;
  try {
    await freezeAll();
    try {
      for (const id of range(2000, 2040)) pool.asyncInsertToTable(table, { id, policy: 'frozen' });
      await until('a batch is in flight on a frozen server', () => pool.stats().writer.inFlight > 0);
      const t0 = Date.now();
      await within(app.stop(), 30_000, 'app.stop()');
      stopped = true;
      const took = Date.now() - t0;
      // The writer's shutdown time is 5 s: stop may not wait for the servers to come back.
      assert.ok(took < 15_000, `stop resolved while the cluster was still frozen (${took} ms)`);
      // A batch whose send timed out on a frozen server, before the stop ran out, is reported
      // as WRITE_OUTCOME_UNKNOWN (the frozen server cannot say whether it will store it).
      const reported = [...ids('WRITER_STOPPED'), ...ids('WRITE_OUTCOME_UNKNOWN')].sort((a, b) => a - b);
      assert.equal(reported, range(2000, 2040), `every queued row reached onError once: ${JSON.stringify(dead.map((d) => d.code))}`);
      assert.equal(dead.filter((d) => d.code !== 'WRITER_STOPPED' && d.code !== 'WRITE_OUTCOME_UNKNOWN'), []);
    } finally {
      await resumeAll();
    }
  } finally {
    if (!stopped) await within(app.stop(), 30_000, 'app.stop() in finally').catch(() => undefined);
  }
});

test('onError :: without a hook, dropped rows make one warning line on stderr naming the pool and the count, no password', async () => {
  const lines: string[] = [];
  const warn = console.warn;
  const poolName = name();
  const pool = definePool({
    connectionStrings: serverUrls({ user: 'colonnade' }), name: poolName, poolSize: 1,
    asyncMailbox: 2, asyncBatchSize: 100, asyncFlushInterval: 600_000,
  });
  const app = await startSupervisor([pool]);
  console.warn = (...args: unknown[]) => { lines.push(args.map(String).join(' ')); };
  try {
    for (const id of range(3000, 3005)) pool.asyncInsertToTable(table, { id, policy: 'default-hook' });
    await until('the warning was written', () => lines.length > 0);
    await new Promise((r) => setImmediate(r));
    assert.is(lines.length, 1, `one line for one overflow: ${lines.join(' | ')}`);
    assert.match(lines[0]!, `[colonnade ${poolName}]`);
    assert.match(lines[0]!, /\b3 row\(s\) not written\b/);
    assert.match(lines[0]!, 'WRITER_MAILBOX_FULL');
    assertNoPassword(lines, 'the default onError line');
  } finally {
    console.warn = warn;
    await app.stop();
  }
});

test.run();
