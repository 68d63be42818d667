// The observer on the real cluster, looked at through headless Chromium (Debian's package,
// driven by playwright-core, with flags that keep it off every network but loopback): the
// page shows the tree and the three servers; a server killed with -9 under a small load shows
// down within 2 s and up after its restart; a supervisor's restart shows in its count.
// `/metrics` parses as strict Prometheus text and agrees with stats(); no form of the
// `colonnade` user's password (URL-special characters) appears in any event, page, metric
// or JSON. Every loop is bounded in count and time; servers are put back in `after`.
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { definePool, observer, startSupervisor, type ClickHousePool, type PoolEvents } from '../../src/index.js';
import type { Observer } from '../../src/observer/index.js';
import { supervisor, supervisorOf, type Supervisor } from '../../src/otp.js';
import { crashy, deadPool, emitQuery } from '../observer/fixtures.js';
import { parsePrometheus, sumOf, valueOf } from '../support/prometheus.js';
import { killServer, serverUrls, startServer, TEST_ENGINE } from './cluster.js';
import { allServers, assertNoPassword, pause, sql, until } from './helpers.js';

const CHROMIUM = '/usr/bin/chromium';
const SHOTS = join(process.cwd(), 'test-output');
const test = suite(`observer [${TEST_ENGINE}]`);

let pool: ClickHousePool;
let obs: Observer;
let app: Supervisor;
let browser: BrowserContext | undefined;
let page: Page;
let profile = '';
const seen: Array<{ name: string; payload: unknown }> = [];
const killed = new Set<number>();

async function get(path: string, headers: Record<string, string> = {}): Promise<{ status: number; text: string }> {
  const res = await fetch(`${obs.url}${path}`, { headers, signal: AbortSignal.timeout(10_000) });
  return { status: res.status, text: await res.text() };
}

/** Light load: `workers` callers doing selects until `ms` passed or `count` calls were made. */
async function load(ms: number, count: number, workers = 3): Promise<void> {
  const deadline = Date.now() + ms;
  let n = 0;
  await Promise.all(Array.from({ length: workers }, async () => {
    while (Date.now() < deadline && n++ < count) {
      await pool.select('SELECT 1 AS x').catch(() => undefined);
      await pause(10);
    }
  }));
}

/** Runs `fn` on a tab of its own, closed after (the suite's page stays on the main observer). */
async function inTab(fn: (tab: Page) => Promise<void>): Promise<void> {
  const tab = await browser!.newPage();
  try {
    await fn(tab);
  } finally {
    await tab.close();
  }
}

const serverRow = (i: number) => page.locator(`tr[data-server="${pool.stats().servers[i]!.server}"]`);

// uvu drops an error thrown in a before hook without a word: it is printed here first.
test.before(async () => {
  try {
    await setUp();
  } catch (error) {
    console.error('observer suite: setup failed:', error);
    throw error;
  }
});

async function setUp(): Promise<void> {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get install chromium (.ci/run does)`);
  // Server 1 is reached as `colonnade`, whose password has ':' and '@'.
  const urls = serverUrls().map((url, i) => (i === 1 ? serverUrls({ user: 'colonnade' })[1]! : url));
  pool = definePool({ connectionStrings: urls, name: 'Observed', poolSize: 6, timeout: 3_000, backoff: { initial: 100, max: 500 }, asyncFlushInterval: 100 });
  const names: Array<keyof PoolEvents> = ['query', 'server:down', 'server:up', 'connection', 'checkout:timeout', 'writer:batch', 'writer:dead_letter', 'writer:dropped', 'supervisor:restart', 'supervisor:give_up'];
  for (const name of names) pool.events.on(name, (payload: unknown) => void seen.push({ name, payload }));
  obs = observer({ port: 0, interval: 250 });
  app = await startSupervisor([pool, obs]);
  profile = mkdtempSync(join(tmpdir(), 'colonnade-chromium-'));
  mkdirSync(SHOTS, { recursive: true });
  // A fresh profile each run (playwright passes it as --user-data-dir).
  browser = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1400, height: 900 },
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync',
    ],
  });
  page = browser.pages()[0] ?? await browser.newPage();
}

test.after(async () => {
  for (const i of killed) await startServer(i).catch(() => undefined);
  await browser?.close().catch(() => undefined);
  await app?.stop();
  if (profile) rmSync(profile, { recursive: true, force: true });
});

test('observer :: url from the running child; bound to 127.0.0.1; /, /metrics, /state.json answer', async () => {
  assert.match(obs.url ?? '', /^http:\/\/127\.0\.0\.1:\d+\/$/);
  for (const path of ['', 'metrics', 'state.json']) assert.is((await get(path)).status, 200, path);
  assert.is((await get('nowhere')).status, 404);
});

test('page :: shows the tree and the three servers, live', async () => {
  await page.goto(obs.url!);
  await page.locator('[data-node="root/Observed/connections/conn-0"]').waitFor({ timeout: 10_000 });
  for (const node of ['root', 'root/Observed', 'root/Observed/broker', 'root/Observed/connections', 'root/Observed/writer', 'root/observer']) {
    assert.is(await page.locator(`[data-node="${node}"]`).count(), 1, node);
  }
  await load(1_500, 300);
  await until('three servers shown up with queries', async () => {
    const rows = await page.locator('tr[data-server]').all();
    if (rows.length !== 3) return false;
    for (const row of rows) if ((await row.getAttribute('data-up')) !== '1') return false;
    return (await page.locator('[data-pool="Observed"] polyline').count()) === 3;
  }, 10_000, 100);
  assert.ok(await page.locator(`text=${TEST_ENGINE === 'modern' ? '26.7' : '18.16'}`).count() > 0, 'the servers\' version is shown');
  await page.screenshot({ path: join(SHOTS, 'observer.png'), fullPage: true });
});

test('metrics :: strict Prometheus text whose counters agree with stats()', async () => {
  // On every server (the modern ones have no cluster for ON CLUSTER): the writer's batch may go to any.
  for (const i of allServers()) await sql(i, 'CREATE TABLE IF NOT EXISTS colonnade_observer_rows (n UInt32) ENGINE = Memory');
  pool.asyncInsertToTable('colonnade_observer_rows', [{ n: 1 }, { n: 2 }]);
  await load(500, 60);
  await pool.flush();
  const stats = pool.stats();
  const families = parsePrometheus((await get('metrics')).text);
  stats.servers.forEach((s) => {
    assert.is(valueOf(families, 'colonnade_server_up', { pool: 'Observed', server: s.server }), s.up ? 1 : 0);
    // No call was retried or hedged here, so calls (the writer's sends included) by last server are the requests stats() counted.
    assert.is(sumOf(families, 'colonnade_queries_total', { pool: 'Observed', server: s.server }), s.queries, s.server);
    assert.is(valueOf(families, 'colonnade_server_requests_total', { pool: 'Observed', server: s.server }), s.queries);
    assert.is(sumOf(families, 'colonnade_connections', { pool: 'Observed', server: s.server }), Object.values(s.connections).reduce((a, b) => a + b, 0));
  });
  const calls = sumOf(families, 'colonnade_queries_total', { pool: 'Observed' });
  assert.is(sumOf(families, 'colonnade_query_duration_seconds_count', { pool: 'Observed' }), calls);
  assert.is(calls, seen.filter((e) => e.name === 'query' || e.name === 'writer:batch').length);
  assert.ok(sumOf(families, 'colonnade_queries_total', { pool: 'Observed', type: 'writer', outcome: 'ok' }) >= 1, 'the writer\'s send is counted');
  assert.ok(stats.writer.written >= 2);
  assert.is(valueOf(families, 'colonnade_writer_rows_total', { pool: 'Observed', outcome: 'written' }), stats.writer.written);
  assert.is(valueOf(families, 'colonnade_writer_rows_total', { pool: 'Observed', outcome: 'dead_letter' }), stats.writer.failed);
  assert.is(valueOf(families, 'colonnade_writer_queue_rows', { pool: 'Observed' }), stats.writer.queued);
  assert.is(valueOf(families, 'colonnade_waiters', { pool: 'Observed' }), 0);
  assert.ok(seen.some((e) => e.name === 'writer:batch'), 'the writer told its batch');
  for (const i of allServers()) await sql(i, 'DROP TABLE IF EXISTS colonnade_observer_rows');
});

test('page :: a server killed with -9 under load shows down within 2 s, then up after its restart', async () => {
  const target = 2;
  const row = serverRow(target);
  let stop = false;
  const background = (async () => {
    for (let n = 0; !stop && n < 5_000; n++) {
      await pool.select('SELECT 1 AS x').catch(() => undefined);
      await pause(20);
    }
  })();
  try {
    killed.add(target);
    await killServer(target);
    const t0 = Date.now();
    await row.and(page.locator('[data-up="0"]')).waitFor({ timeout: 10_000 });
    const shownIn = Date.now() - t0;
    assert.ok(shownIn <= 2_000, `the page showed the server down after ${shownIn} ms`);
    await page.screenshot({ path: join(SHOTS, 'observer-down.png'), fullPage: true });
    assert.ok(seen.some((e) => e.name === 'server:down'), 'server:down was emitted');
    await startServer(target);
    killed.delete(target);
    await row.and(page.locator('[data-up="1"]')).waitFor({ timeout: 30_000 });
    assert.ok(seen.some((e) => e.name === 'server:up'), 'server:up was emitted');
  } finally {
    stop = true;
    await background;
  }
});

test('page :: a supervisor restart shows in its count', async () => {
  const node = page.locator('[data-node="root/Observed/connections/conn-0"]');
  assert.is(await node.getAttribute('data-restarts'), '0');
  const poolSup = supervisorOf(app.whichChildren().find((c) => c.id === 'Observed')!.actor!)!;
  const connections = supervisorOf(poolSup.whichChildren().find((c) => c.id === 'connections')!.actor!)!;
  connections.whichChildren().find((c) => c.id === 'conn-0')!.actor!.stop();
  await until('conn-0 restarted', () => connections.whichChildren().find((c) => c.id === 'conn-0')?.restarts === 1, 5_000);
  await page.locator('[data-node="root/Observed/connections/conn-0"][data-restarts="1"]').waitFor({ timeout: 5_000 });
  const event = seen.find((e) => e.name === 'supervisor:restart')?.payload as { supervisor: string; child: string; reason: string } | undefined;
  assert.equal([event?.supervisor, event?.child], ['connections', 'conn-0']);
  const families = parsePrometheus((await get('metrics')).text);
  assert.is(valueOf(families, 'colonnade_supervisor_restarts_total', { supervisor: 'connections', child: 'conn-0' }), 1);
});

test('observer :: a crash restarts only the observer, on a new port when it had port 0', async () => {
  const pooled = app.whichChildren().find((c) => c.id === 'Observed')!.actor!.sessionId;
  const before = obs.url;
  const actor = app.whichChildren().find((c) => c.id === 'observer')!.actor!;
  actor.send({ type: 'crash', error: new Error('observer test crash') });
  await until('the observer restarted', () => {
    const now = app.whichChildren().find((c) => c.id === 'observer');
    return now?.restarts === 1 && now.running && obs.url !== undefined;
  }, 5_000);
  assert.is(app.whichChildren().find((c) => c.id === 'Observed')!.actor!.sessionId, pooled, 'the pool was not restarted');
  assert.is(app.status, 'running');
  assert.is((await get('state.json')).status, 200);
  assert.ok(before !== undefined && before !== obs.url, 'a new port');
  const old = await fetch(`${before}state.json`, { signal: AbortSignal.timeout(5_000) }).then(() => 'answered', () => 'refused');
  assert.is(old, 'refused', 'the crashed observer closed its server');
});

test('observer :: a bearer token is required when set', async () => {
  const guarded = observer({ port: 0, token: 'obs-token-42', id: 'guarded' });
  const sup = await startSupervisor([guarded]);
  try {
    for (const path of ['', 'metrics', 'state.json', 'events']) {
      const res = await fetch(`${guarded.url}${path}`, { signal: AbortSignal.timeout(5_000) });
      assert.is(res.status, 401, path);
    }
    const ok = await fetch(`${guarded.url}metrics`, { headers: { authorization: 'Bearer obs-token-42' } });
    assert.is(ok.status, 200);
    assert.is((await fetch(`${guarded.url}state.json`, { headers: { authorization: 'Bearer wrong-token!' } })).status, 401);
    // A browser cannot set the header: the page opened with ?token= passes it on to /events.
    await inTab(async (tab) => {
      await tab.goto(`${guarded.url}?token=obs-token-42`);
      await tab.locator('#status', { hasText: 'live' }).waitFor({ timeout: 10_000 });
      assert.is(await tab.locator('[data-node="root/guarded"]').count(), 1);
    });
  } finally {
    await sup.stop();
  }
  assert.is(guarded.url, undefined);
});

test('page :: a restart reason with HTML in it is shown as text, never parsed', async () => {
  const watched = observer({ port: 0, interval: 100, id: 'xss' });
  const sup = await startSupervisor([crashy('w'), watched], { intensity: 10 });
  try {
    const html = '<img src=x onerror="document.title=\'pwned\'"><b id=inj>bold</b>';
    sup.whichChildren().find((c) => c.id === 'w')!.actor!.send({ type: 'crash', why: html });
    await until('w restarted', () => sup.whichChildren().find((c) => c.id === 'w')?.restarts === 1, 5_000);
    await inTab(async (tab) => {
      await tab.goto(watched.url!);
      await tab.locator('#restarts td').first().waitFor({ timeout: 10_000 });
      assert.is(await tab.locator('#restarts img, #restarts #inj').count(), 0, 'no element made of the reason');
      assert.ok((await tab.locator('#restarts').innerText()).includes('<img src=x'), 'the reason is shown as text');
      assert.is.not(await tab.title(), 'pwned');
    });
  } finally {
    await sup.stop();
  }
});

test('page :: the numbers of the table: p50 and p99, the last minute\'s errors, the writer\'s queue; a give-up listed', async () => {
  // No ClickHouse here: the pool's server is at port 1 and its calls are told by hand; the
  // queued rows are lost at stop, quietly.
  const shown = deadPool('Shown', { asyncFlushInterval: 60_000, asyncBatchSize: 1_000, onError: () => undefined });
  const watched = observer({ port: 0, interval: 100, id: 'cells' });
  // `inner` gives up at its child's first crash (and is restarted by the root).
  const sup = await startSupervisor([shown, watched, supervisor({ id: 'inner', intensity: 0, children: [crashy('x')] })], { intensity: 10 });
  try {
    for (let ms = 1; ms <= 100; ms++) emitQuery(shown, ms, ms <= 3 ? 'error' : 'ok');
    shown.asyncInsertToTable('t', [1, 2, 3, 4, 5].map((a) => ({ a })));
    const inner = () => sup.whichChildren().find((c) => c.id === 'inner');
    supervisorOf(inner()!.actor!)!.whichChildren()[0]!.actor!.send({ type: 'crash', why: 'x failed' });
    await until('inner restarted, 5 rows queued', () => inner()?.restarts === 1 && inner()!.running && shown.stats().writer.queued === 5, 5_000);
    await inTab(async (tab) => {
      await tab.goto(watched.url!);
      await tab.locator('#restarts td').first().waitFor({ timeout: 10_000 });
      const cells = await tab.locator('tr[data-server] td').allInnerTexts();
      assert.equal([cells[7], cells[8]], ['50 ms', '99 ms'], 'p50, p99');
      assert.match(cells[6] ?? '', / \/ 3$/, 'errors in the last minute');
      assert.match(await tab.locator('[data-pool="Shown"] [data-writer]').innerText(), /queued 5 /);
      assert.match(await tab.locator('#restarts').innerText(), /inner\s+x\s+0 \(gave up\)/);
    });
  } finally {
    await sup.stop();
  }
});

test('observer :: bad options are refused at once, naming the key', () => {
  assert.throws(() => observer({ port: 70_000 }), /port/);
  assert.throws(() => observer({ prot: 1 } as never), /unknown key 'prot'/);
});

test('password :: in no event, page, metric or JSON', async () => {
  assert.ok(seen.length > 100, `events were seen (${seen.length})`);
  for (const name of new Set(seen.map((e) => e.name))) assertNoPassword(seen.filter((e) => e.name === name).map((e) => e.payload), `${name} events`);
  assertNoPassword(await page.content(), 'the page');
  assertNoPassword((await get('metrics')).text, '/metrics');
  const json = (await get('state.json')).text;
  assertNoPassword(json, '/state.json');
  assert.ok(json.includes('colonnade:***@'), 'the redacted URL is what is shown');
});

test.run();
