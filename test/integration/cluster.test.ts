// The local cluster is shaped as production: replicas of one shard over ZooKeeper, with
// deduplicated inserts, and the two faults a pool must survive (a hang and a crash).
// Plain fetch against the HTTP interface on purpose: this checks the servers, not our client.
import { connect, createServer } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  clusterInfo, serverUrls, PASSWORD, CLUSTER_NAME,
  killServer, freezeServer, resumeServer, startServer,
} from './cluster.js';
import * as cluster from '../../scripts/cluster.mjs';

const test = suite('cluster');
const table = `cluster_test_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;

function port(i: number): number {
  return clusterInfo().servers[i].httpPort;
}

async function sql(i: number, text: string, timeoutMs = 60_000, headers: Record<string, string> = {}): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port(i)}/`, {
    method: 'POST', body: text, headers, signal: AbortSignal.timeout(timeoutMs),
  });
  const body = await res.text();
  if (res.status !== 200) throw new Error(`server ${i}: HTTP ${res.status}: ${body}`);
  return body;
}

async function count(i: number): Promise<number> {
  await sql(i, `SYSTEM SYNC REPLICA ${table}`);
  return Number(await sql(i, `SELECT count() FROM ${table}`));
}

// A fresh socket, not fetch: its pool may hold a socket to the old process.
function connectError(p: number): Promise<string> {
  return new Promise((done) => {
    const sock = connect({ host: '127.0.0.1', port: p });
    sock.once('connect', () => { sock.destroy(); done('connected'); });
    sock.once('error', (e: NodeJS.ErrnoException) => done(e.code ?? e.message));
  });
}

const all = (): number[] => clusterInfo().servers.map((s) => s.index);

test.before(async () => {
  const st = await cluster.status();
  assert.ok(st.running, `the local cluster must be running (npm test starts it): ${JSON.stringify(st)}`);
  for (const i of all()) {
    await sql(i, `CREATE TABLE ${table} (id UInt32, note String) ` +
      `ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/${table}', '{replica}') ORDER BY id`);
  }
});

test.after(async () => {
  // Put back whatever a failed test left frozen or down, then drop the table everywhere.
  const st = await cluster.status();
  for (const s of st.servers) {
    if (s.frozen) await resumeServer(s.index);
    if (!s.alive) await startServer(s.index);
  }
  for (const i of all()) await sql(i, `DROP TABLE IF EXISTS ${table}`).catch(() => undefined);
});

test('cluster :: every server answers /ping with Ok.', async () => {
  const { urls, servers } = clusterInfo();
  assert.ok(servers.length >= 2, 'a cluster has at least two replicas');
  assert.is(urls.length, servers.length);
  for (const s of servers) {
    const res = await fetch(`http://127.0.0.1:${s.httpPort}/ping`, { signal: AbortSignal.timeout(5_000) });
    assert.is(await res.text(), 'Ok.\n');
    assert.is(s.url, `http://127.0.0.1:${s.httpPort}/default`);
  }
});

test('cluster :: each server has its own macros and all name one cluster', async () => {
  const n = all().length;
  for (const i of all()) {
    const macros = await sql(i, 'SELECT macro, substitution FROM system.macros ORDER BY macro');
    assert.ok(macros.includes('shard\t01\n'), macros);
    assert.ok(macros.includes(`replica\tr${i}\n`), macros);
    const replicas = await sql(i, `SELECT count() FROM system.clusters WHERE cluster = '${CLUSTER_NAME}'`);
    assert.is(Number(replicas), n);
  }
});

test('cluster :: the colonnade user logs in with its password and not without', async () => {
  assert.is(await sql(0, 'SELECT 1', 5_000, { 'X-ClickHouse-User': 'colonnade', 'X-ClickHouse-Key': PASSWORD }), '1\n');
  const err = await sql(0, 'SELECT 1', 5_000, { 'X-ClickHouse-User': 'colonnade', 'X-ClickHouse-Key': 'nope' })
    .then(() => '', (e: Error) => e.message);
  assert.match(err, /Code: 193/);
  const urls = serverUrls({ user: 'colonnade' });
  assert.is(new URL(urls[0]).password, encodeURIComponent(PASSWORD));
  assert.is(decodeURIComponent(new URL(urls[0]).password), PASSWORD);
});

test('replication :: a row inserted on server 0 shows on every replica', async () => {
  await sql(0, `INSERT INTO ${table} VALUES (1, 'first')`);
  for (const i of all()) {
    assert.is(await count(i), 1, `server ${i}`);
    assert.is(await sql(i, `SELECT note FROM ${table} WHERE id = 1`), 'first\n');
  }
});

test('replication :: the very same block inserted twice is stored once', async () => {
  const block = `INSERT INTO ${table} VALUES (2, 'twice'), (3, 'twice')`;
  await sql(0, block);
  await sql(0, block);
  await sql(1, block);
  for (const i of all()) assert.is(await count(i), 3, `server ${i}`);
  // A different block is not mistaken for a duplicate.
  await sql(1, `INSERT INTO ${table} VALUES (4, 'other')`);
  assert.is(await count(0), 4);
});

test('replication :: DDL ON CLUSTER colonnade reaches every server', async () => {
  const other = `${table}_on_cluster`;
  await sql(0, `CREATE TABLE ${other} ON CLUSTER ${CLUSTER_NAME} (x UInt8) ` +
    `ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/${other}', '{replica}') ORDER BY x`);
  try {
    for (const i of all()) assert.is(await sql(i, `EXISTS TABLE ${other}`), '1\n', `server ${i}`);
  } finally {
    await sql(1, `DROP TABLE IF EXISTS ${other} ON CLUSTER ${CLUSTER_NAME}`);
  }
  for (const i of all()) assert.is(await sql(i, `EXISTS TABLE ${other}`), '0\n', `server ${i}`);
});

test('replication :: /replicas_status answers Ok.', async () => {
  for (const i of all()) {
    const res = await fetch(`http://127.0.0.1:${port(i)}/replicas_status`, { signal: AbortSignal.timeout(5_000) });
    assert.is(res.status, 200);
    assert.is(await res.text(), 'Ok.\n');
  }
});

test('faults :: a frozen server hangs and answers again after resume', async () => {
  const victim = all().length - 1;
  await freezeServer(victim);
  try {
    assert.is((await cluster.status()).servers[victim].frozen, true);
    // No timing window: the frozen server's request is still unanswered after another
    // server answered one sent later, and ends only when the client gives up.
    const giveUp = new AbortController();
    let settled = false;
    const hung = fetch(`http://127.0.0.1:${port(victim)}/`, { method: 'POST', body: 'SELECT 1', signal: giveUp.signal })
      .then(() => null, (e: Error) => e)
      .finally(() => { settled = true; });
    assert.is(await sql(0, 'SELECT 1', 5_000), '1\n', 'the other servers still answer');
    await new Promise((r) => setTimeout(r, 300));
    assert.not.ok(settled, 'a request to a frozen server must not be answered');
    giveUp.abort();
    const err = await hung;
    assert.ok(err, 'it hung until the client gave up');
    assert.is(err?.name, 'AbortError');
  } finally {
    await resumeServer(victim);
  }
  assert.is(await sql(victim, 'SELECT 1', 10_000), '1\n');
});

test('faults :: a killed server refuses connections and comes back with its data', async () => {
  const victim = 1;
  const before = await count(victim);
  await killServer(victim);
  let back: Awaited<ReturnType<typeof startServer>>;
  try {
    assert.is(await connectError(port(victim)), 'ECONNREFUSED');
    assert.is((await cluster.status()).servers[victim].alive, false);
    await sql(0, `INSERT INTO ${table} VALUES (5, 'while down')`);
  } finally {
    back = await startServer(victim); // a failure above must not leave it dead for later suites
  }
  assert.is(back.index, victim);
  assert.is(Number(await sql(victim, `SELECT count() FROM ${table} WHERE id < 5`)), before, 'its own data survived');
  assert.is(await count(victim), before + 1, 'it caught up with the insert it missed');
});

// A throwaway cluster in its own folder and ports: start() must say what failed and why.
async function withScratchCluster<T>(env: Record<string, string>, fn: () => Promise<T>): Promise<T> {
  const keys = ['COLONNADE_CLUSTER_DIR', 'COLONNADE_CLUSTER_PORT', 'COLONNADE_CLUSTER_SIZE', 'PATH'];
  const saved = keys.map((k) => process.env[k]);
  const dir = mkdtempSync(join(tmpdir(), 'colonnade-scratch-'));
  Object.assign(process.env, {
    COLONNADE_CLUSTER_DIR: dir, COLONNADE_CLUSTER_PORT: String(clusterInfo().base + 500), COLONNADE_CLUSTER_SIZE: '1',
  }, env);
  try {
    return await fn();
  } finally {
    await cluster.stop().catch(() => undefined);
    keys.forEach((k, i) => { if (saved[i] === undefined) delete process.env[k]; else process.env[k] = saved[i]; });
    rmSync(dir, { recursive: true, force: true });
  }
}

test('start :: a server that exits fails start with its log and takes down what it started', async () => {
  const bin = mkdtempSync(join(tmpdir(), 'colonnade-fakebin-'));
  try {
    writeFileSync(join(bin, 'clickhouse-server'), '#!/bin/sh\necho "fake server: refusing to run" >&2\nexit 3\n', { mode: 0o755 });
    await withScratchCluster({ PATH: `${bin}:${process.env.PATH}` }, async () => {
      const err = await cluster.start().then(() => null, (e: Error) => e);
      assert.ok(err, 'start must fail');
      assert.match(err!.message, /ClickHouse server 0 .* did not come up: the process exited/);
      assert.match(err!.message, /fake server: refusing to run/);
      const st = await cluster.status();
      assert.is(st.running || st.partial, false, 'the ZooKeeper it started is stopped again');
    });
  } finally {
    rmSync(bin, { recursive: true, force: true });
  }
});

test('start :: a port held by a stranger fails start before anything is spawned', async () => {
  const stranger = createServer();
  const base = clusterInfo().base + 500;
  await new Promise<void>((done) => stranger.listen(base + 100, '127.0.0.1', done));
  try {
    await withScratchCluster({}, async () => {
      const err = await cluster.start().then(() => null, (e: Error) => e);
      assert.ok(err, 'start must fail');
      assert.match(err!.message, new RegExp(`127\\.0\\.0\\.1:${base + 100} is already in use`));
      const st = await cluster.status();
      assert.is(st.zookeeper.pid, null, 'ZooKeeper was not even spawned');
    });
  } finally {
    await new Promise((done) => stranger.close(done));
  }
});

test.run();
