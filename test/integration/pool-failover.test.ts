// The two faults a pool must survive, on the real cluster: `kill -9` (connections refused)
// and `kill -STOP` (a server that hangs with its sockets open). Every loop is bounded in
// count and in time; the cluster is put back in `after` whatever happened.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { definePool, startSupervisor, type ClickHousePool } from '../../src/index.js';
import type { Supervisor } from '../../src/otp.js';
import { engines, type Engine } from './engines.js';
import { pause, until } from './helpers.js';

const TIMEOUT = 1_500;
const POOL_TIMEOUT = 5_000;
let pool: ClickHousePool;
let app: Supervisor;
let WHO = '';

const codeOf = (e: unknown) => (e as { code?: string }).code ?? String(e);

/** Runs selects with `concurrency` workers until `count` are done or `ms` passed. */
async function load(opts: { count: number; ms: number; concurrency: number; onEach?: (done: number, results: readonly { ok: boolean; replica?: string }[]) => Promise<void> | void }) {
  const deadline = Date.now() + opts.ms;
  const results: Array<{ ok: boolean; code?: string; replica?: string; ms: number }> = [];
  let started = 0;
  const worker = async () => {
    while (started < opts.count && Date.now() < deadline) {
      started++;
      const t0 = Date.now();
      try {
        const rows = await pool.select(WHO);
        results.push({ ok: true, replica: String(rows[0]!.replica), ms: Date.now() - t0 });
      } catch (e) {
        results.push({ ok: false, code: codeOf(e), ms: Date.now() - t0 });
      }
      await opts.onEach?.(results.length, results);
    }
  };
  await Promise.all(Array.from({ length: opts.concurrency }, worker));
  return results;
}

/**
 * Keeps a light load running until `server` is marked up and has answered queries again,
 * or `ms` passed. A restarted server comes back only when one of its connections' probes
 * succeeds, after a jittered backoff: so wait for that, not for a number of selects.
 */
async function untilUsed(server: number, ms: number): Promise<boolean> {
  const before = pool.stats().servers[server]!.queries;
  const deadline = Date.now() + ms;
  for (let round = 0; round < 2_000 && Date.now() < deadline; round++) {
    const s = pool.stats().servers[server]!;
    if (s.up && s.queries > before) return true;
    await load({ count: 6, ms: Math.max(1, deadline - Date.now()), concurrency: 2 });
    await pause(20);
  }
  const s = pool.stats().servers[server]!;
  return s.up && s.queries > before;
}

function failoverSuite(engine: Engine): void {
  const test = suite(`pool-failover [${engine.name}]`);
  test.before(() => {
    WHO = engine.who;
  });

  test.before.each(async () => {
    pool = definePool({
      connectionStrings: engine.urls({ user: 'colonnade' }),
      name: `it-failover-${engine.name}-${process.pid}`,
      poolSize: 6,
      timeout: TIMEOUT,
      poolTimeout: POOL_TIMEOUT,
      backoff: { initial: 100, max: 1_000 },
    });
    app = await startSupervisor([pool]);
    // Each server's version is read when the pool starts.
    await until('every server\'s version is known', () => pool.stats().servers.every((s) => s.version !== undefined), 5_000);
  });

  test.after.each(async () => {
    await engine.restore();
    await app.stop();
  });

  test('kill -9 :: no select fails, the dead server gets no more queries, restarted it gets them again', async () => {
    let killed = false;
    let deadFrom = -1;
    let queriesWhenDown = -1;
    let versionWhenDown: string | undefined = 'unset';
    const versionBefore = pool.stats().servers[1]!.version;
    const onEach = async (done: number, sofar: readonly unknown[]): Promise<void> => {
      if (!killed && done >= 60) {
        killed = true;
        await engine.killServer(1);
        deadFrom = sofar.length; // every answer recorded from here on came after its death
      }
      const s1 = pool.stats().servers[1]!;
      if (killed && !s1.up && queriesWhenDown < 0) {
        queriesWhenDown = s1.queries;
        versionWhenDown = s1.version;
      }
    };
    const results = await load({ count: 300, ms: 30_000, concurrency: 4, onEach });
    // On a loaded machine the other workers may finish every select while the kill is still
    // being made (a CI run once did: 300 of 300 before it returned): some more, all after it.
    results.push(...await load({ count: 40, ms: 10_000, concurrency: 4, onEach }));
    const failed = results.filter((r) => !r.ok);
    assert.equal(failed, [], 'no select failed');
    assert.ok(results.length >= 200, `a real load ran (${results.length} selects)`);
    assert.ok(queriesWhenDown >= 0, 'server 1 was marked down');
    assert.is(pool.stats().servers[1]!.queries, queriesWhenDown, 'no query went to the dead server once it was marked down');
    assert.ok(deadFrom > 0 && deadFrom < results.length, `selects ran after the kill (${deadFrom} of ${results.length})`);
    const afterKill = results.slice(deadFrom).map((r) => r.replica);
    assert.not.ok(afterKill.includes('r1'), 'r1 answered nothing after the kill');

    await engine.startServer(1);
    assert.ok(await untilUsed(1, 15_000), 'the restarted server is marked up and gets queries again');
    // Its version is known while it is up, forgotten while it is down, and read again once it is back.
    assert.match(String(versionBefore), engine.name === 'modern' ? /^2[56]\./ : /^18\.16\./);
    assert.is(versionWhenDown, undefined, 'stats() shows no version for a server marked down');
    await until('the restarted server\'s version is read again', () => pool.stats().servers[1]!.version === versionBefore, 5_000);
  });

  test('kill -STOP :: calls on the frozen server end by their timeout, traffic moves, resumed it is used again', async () => {
    await engine.freezeServer(2);
    let first: Awaited<ReturnType<typeof load>>;
    let later: Awaited<ReturnType<typeof load>>;
    let downWhileFrozen = false;
    try {
      first = await load({ count: 60, ms: 20_000, concurrency: 3 });
      later = await load({ count: 60, ms: 20_000, concurrency: 3 });
      // A timeout alone blames no server: the connections that timed out ask /ping, and
      // it is the unanswered pings (bounded by the timeout) that mark the server down.
      downWhileFrozen = await until('the frozen server is marked down', () => !pool.stats().servers[2]!.up, 4 * TIMEOUT + 5_000).then(() => true, () => false);
    } finally {
      await engine.resumeServer(2);
    }
    const failed = first.filter((r) => !r.ok);
    assert.ok(failed.length > 0, 'some calls were on the frozen server');
    assert.ok(failed.length <= 4, `only the calls already on it failed (${failed.length})`);
    for (const f of failed) {
      assert.is(f.code, 'TIMEOUT');
      // Not before its timeout; and it did end while the server was still frozen (the
      // loads above return only once every call settled, and the resume comes after).
      assert.ok(f.ms >= TIMEOUT - 50, `ended by its timeout, not earlier (${f.ms} ms)`);
    }
    assert.not.ok(first.some((r) => r.replica === 'r2'), 'the frozen server answered nothing');
    assert.ok(later.every((r) => r.ok && r.replica !== 'r2'), `traffic moved: ${JSON.stringify(later.map((r) => r.replica ?? r.code))}`);
    assert.ok(downWhileFrozen, 'the frozen server was marked down');
    assert.ok(await untilUsed(2, 15_000), 'after kill -CONT the server is used again');
  });

  test('all down :: with every server killed calls fail fast with POOL_NO_SERVER; restarted, they are served', async () => {
    for (let i = 0; i < engine.size; i++) await engine.killServer(i);
    const codes: string[] = [];
    const took: number[] = [];
    for (let i = 0; i < 10; i++) {
      const t0 = Date.now();
      codes.push(await pool.select(WHO).then(() => 'ok', (e) => codeOf(e)));
      took.push(Date.now() - t0);
    }
    assert.ok(codes.slice(1).every((c) => c === 'POOL_NO_SERVER'), codes.join());
    // Fail-fast means no call waits out poolTimeout; half of it is a margin a loaded machine keeps.
    for (const ms of took) assert.ok(ms < POOL_TIMEOUT / 2, `each call failed fast, not after poolTimeout (${took} ms)`);
    for (let i = 0; i < engine.size; i++) await engine.startServer(i);
    const deadline = Date.now() + 15_000;
    let answer = '';
    while (Date.now() < deadline && answer !== 'ok') {
      answer = await pool.select(WHO).then(() => 'ok', (e) => codeOf(e));
      if (answer !== 'ok') await new Promise((r) => setTimeout(r, 50));
    }
    assert.is(answer, 'ok', 'served again once the servers are back');
  });

  test.run();
}

const { available, missing } = engines();
for (const m of missing) console.log(`pool-failover [${m.name}] :: SKIPPED, did not run: ${m.why}`);
for (const engine of available) {
  if (engine.size < 3) console.log(`pool-failover [${engine.name}] :: SKIPPED, did not run: it needs 3 servers, this run has ${engine.size}`);
  else failoverSuite(engine);
}
