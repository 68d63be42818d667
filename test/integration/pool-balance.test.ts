// The pool against the real 3-replica cluster: queries spread over the servers per query,
// per strategy. Each server says who it is through its macros, and stats() counts what was
// sent where; each strategy is shown doing what the others would not.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { definePool, startSupervisor, type ClickHousePool } from '../../src/index.js';
import { clusterStatus, killServer, serverUrls, startServer, whoQuery } from './cluster.js';
import { until } from './helpers.js';

const test = suite('pool-balance');
const WHO = whoQuery();
const SLOW = 'SELECT sleep(3) AS s';
let seq = 0;
const name = () => `it-balance-${process.pid}-${++seq}`;
const who = async (pool: ClickHousePool): Promise<string> => String((await pool.select(WHO))[0]!.replica);
const tally = (xs: readonly string[]) => ['r0', 'r1', 'r2'].map((r) => xs.filter((x) => x === r).length);

test.after.each(async () => {
  const st = await clusterStatus();
  for (const s of st.servers) if (!s.alive) await startServer(s.index);
});

test('balance :: round_robin sends sequential queries 1, 2, 3, 1, 2, 3 ...', async () => {
  const pool = definePool({ connectionStrings: serverUrls({ user: 'colonnade' }), name: name(), poolSize: 3 });
  const app = await startSupervisor([pool]);
  try {
    const seen: string[] = [];
    for (let i = 0; i < 30; i++) seen.push(await who(pool));
    assert.equal(tally(seen), [10, 10, 10]);
    assert.equal(pool.stats().servers.map((s) => s.queries), [10, 10, 10]);
    for (let i = 3; i < seen.length; i++) assert.is(seen[i], seen[i - 3], `a rotation: ${seen.join(' ')}`);
    assert.is(new Set(seen.slice(0, 3)).size, 3, 'each server once per round');
  } finally {
    await app.stop();
  }
});

test('balance :: concurrent load spreads over all servers too', async () => {
  const pool = definePool({ connectionStrings: serverUrls({ user: 'colonnade' }), name: name(), poolSize: 6 });
  const app = await startSupervisor([pool]);
  try {
    const rows = await Promise.all(Array.from({ length: 60 }, () => pool.select(WHO)));
    const replicas = new Set(rows.map((r) => String(r[0]!.replica)));
    assert.is(replicas.size, 3);
    // The first calls fill every connection, two per server; after that a queued call goes
    // to the first connection that frees, so a server slower at the moment gets fewer (CI
    // saw 9, then 4 of 60 on a loaded 26.7 server): each server takes at least the calls its
    // own connections started with, and the stats agree with what answered.
    const queries = pool.stats().servers.map((s) => s.queries);
    for (const [i, n] of queries.entries()) assert.ok(n >= 2, `server ${i}: ${n} queries of 60 (${queries.join(', ')})`);
    assert.equal(queries, tally(rows.map((r) => String(r[0]!.replica))), 'stats() counts what each server answered');
  } finally {
    await app.stop();
  }
});

test('balance :: least_busy sends new calls to the server with the fewest calls in flight', async () => {
  // Two connections per server, so a busy server still has an idle one: only the
  // strategy keeps calls away from it.
  const pool = definePool({ connectionStrings: serverUrls({ user: 'colonnade' }), name: name(), poolSize: 6, maxOverflow: 0, balance: 'least_busy' });
  const app = await startSupervisor([pool]);
  try {
    const inFlight = () => pool.stats().servers.map((s) => s.inFlight);
    const slowA = pool.select(SLOW);
    await until('the first slow call is in flight', () => inFlight().reduce((a, b) => a + b) === 1);
    const busyA = inFlight().indexOf(1);
    const slowB = pool.select(SLOW);
    await until('the second slow call is in flight', () => inFlight().reduce((a, b) => a + b) === 2);
    assert.is(inFlight()[busyA], 1, `the second slow call avoided the busy server: ${inFlight()}`);
    const busyB = inFlight().findIndex((n, i) => n === 1 && i !== busyA);
    const free = [0, 1, 2].find((i) => i !== busyA && i !== busyB)!;
    const seen: string[] = [];
    for (let i = 0; i < 6; i++) {
      seen.push(await who(pool));
      assert.equal(inFlight().filter((n) => n === 1).length, 2, 'both slow calls were still running (sleep(3))');
    }
    assert.equal(seen, Array.from({ length: 6 }, () => `r${free}`), `every quick call went to the idle server r${free}`);
    assert.equal(await Promise.all([slowA, slowB]), [[{ s: 0 }], [{ s: 0 }]]);
    const spread: string[] = [];
    for (let i = 0; i < 6; i++) spread.push(await who(pool));
    assert.equal(tally(spread), [2, 2, 2], 'with nothing in flight, ties rotate over every server');
  } finally {
    await app.stop();
  }
});

test('balance :: random spreads over every server, in no fixed order', async () => {
  const pool = definePool({ connectionStrings: serverUrls({ user: 'colonnade' }), name: name(), poolSize: 3, balance: 'random' });
  const app = await startSupervisor([pool]);
  try {
    const seen: string[] = [];
    for (let i = 0; i < 90; i++) seen.push(await who(pool));
    const counts = tally(seen);
    // Binomial(90, 1/3): mean 30, sd 4.5; 12..48 is four sd either side.
    for (const n of counts) assert.ok(n >= 12 && n <= 48, `spread: ${counts}`);
    assert.equal(pool.stats().servers.map((s) => s.queries), counts);
    // A rotation never repeats a server back to back; uniform picks do about a third of the time.
    const repeats = seen.filter((r, i) => i > 0 && r === seen[i - 1]).length;
    assert.ok(repeats >= 10, `${repeats} back-to-back repeats in 89 pairs: not a rotation (${seen.join(' ')})`);
    assert.ok(repeats <= 50, `${repeats} back-to-back repeats in 89 pairs: not pinned`);
  } finally {
    await app.stop();
  }
});

test('balance :: in_order loads the first healthy server, spills over to the next, fails over when it is killed', async () => {
  const pool = definePool({
    connectionStrings: serverUrls({ user: 'colonnade' }), name: name(), poolSize: 3, maxOverflow: 0, balance: 'in_order',
    backoff: { initial: 50, max: 500 },
  });
  const app = await startSupervisor([pool]);
  try {
    const seen: string[] = [];
    for (let i = 0; i < 10; i++) seen.push(await who(pool));
    assert.equal(tally(seen), [10, 0, 0], 'sequential calls all go to the primary');
    const slow = pool.select(SLOW);
    await until('the slow call holds the primary', () => pool.stats().servers[0]!.inFlight === 1);
    assert.is(await who(pool), 'r1', 'with the primary busy, the next server takes the spill-over');
    await slow;

    await killServer(0);
    const after: string[] = [];
    for (let i = 0; i < 10; i++) after.push(await who(pool));
    assert.equal(tally(after), [0, 10, 0], `with the primary dead, everything goes to the second: ${after}`);
    // Down at once when a request is refused; after one soft failure (a kept-alive socket reset
    // under a request), when its connection's /ping probe is refused, 50 ms later.
    await until('the primary is marked down', () => !pool.stats().servers[0]!.up, 5_000);

    await startServer(0);
    await until('the restarted primary is marked up', () => pool.stats().servers[0]!.up);
    const back: string[] = [];
    for (let i = 0; i < 5; i++) back.push(await who(pool));
    assert.equal(tally(back), [5, 0, 0], 'back up, the primary takes the load again');
  } finally {
    await app.stop();
  }
});

test.run();
