// The modern engine (standalone 26.x servers from scripts/cluster/modern.mjs) as our client
// sees it: connect() with the password user, a refused password, a table that outlives a
// kill -9, and the pool's select / insertToTable / asyncInsertToTable + flush over the
// servers. It needs a modern cluster (COLONNADE_MODERN_DIR) and skips by name without one.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { connect, definePool, startSupervisor, ClickHouseError, type Connection } from '../../src/index.js';
import { modernCluster, modernUrls, killServer, startServer, type ModernInfo } from './modern.js';

const test = suite('modern-engine');
const found = modernCluster();
const table = `modern_engine_${process.pid}_${Date.now().toString(36)}`;
const opened: Connection[] = [];

function open(url: string): Connection {
  const conn = connect(url, { timeout: 10_000 });
  opened.push(conn);
  return conn;
}

async function count(info: ModernInfo, name: string): Promise<number> {
  let total = 0;
  for (const url of modernUrls(info, { user: 'colonnade' })) {
    total += Number(await open(url).query(`SELECT count() FROM ${name}`));
  }
  return total;
}

const checks: Array<[string, (info: ModernInfo) => Promise<void>]> = [
  ['modern :: connect() as colonnade runs SELECT version() and SELECT 1 on every server', async (info) => {
    assert.ok(info.servers.length >= 1);
    for (const url of modernUrls(info, { user: 'colonnade' })) {
      const conn = open(url);
      const [row] = await conn.select('SELECT version() AS v, currentUser() AS u');
      assert.match(String(row?.['v']), /^2[56]\./, `a 25.x or 26.x server at ${conn.server.redacted}`);
      assert.is(row?.['u'], 'colonnade');
      assert.equal(await conn.select('SELECT 1 AS x'), [{ x: 1 }]);
    }
  }],

  ['modern :: a wrong password is a ClickHouseError (AUTHENTICATION_FAILED)', async (info) => {
    const conn = open(modernUrls(info, { user: 'colonnade', password: 'not-the-password' })[0]!);
    const err = await conn.select('SELECT 1').then(() => assert.unreachable('should reject'), (e: unknown) => e);
    assert.instance(err, ClickHouseError);
    assert.is((err as ClickHouseError).serverCode, 516);
  }],

  ['modern :: kill -9 then restart keeps a MergeTree table\'s rows', async (info) => {
    const i = info.servers.length - 1;
    const url = modernUrls(info, { user: 'colonnade' })[i]!;
    const before = open(url);
    await before.query(`CREATE TABLE ${table}_kill (id UInt32) ENGINE = MergeTree ORDER BY id`);
    await before.query(`INSERT INTO ${table}_kill SELECT number FROM numbers(1000)`);
    await killServer(i);
    await startServer(i);
    const after = open(url);
    assert.is(await after.query(`SELECT count() FROM ${table}_kill`), '1000\n');
    await after.query(`DROP TABLE ${table}_kill`);
  }],

  ['modern :: definePool: select, insertToTable, asyncInsertToTable + flush over the servers', async (info) => {
    const name = `${table}_pool`;
    for (const url of modernUrls(info, { user: 'colonnade' })) {
      await open(url).query(`CREATE TABLE ${name} (id UInt32, note String) ENGINE = MergeTree ORDER BY id`);
    }
    const pool = definePool({
      connectionStrings: modernUrls(info, { user: 'colonnade' }),
      name: `ModernEngine-${process.pid}-${Date.now().toString(36)}`,
      poolSize: 4,
    });
    const app = await startSupervisor([pool]);
    try {
      assert.equal(await pool.select('SELECT {n} + 1 AS x', { n: 41 }), [{ x: 42 }]);
      await pool.insertToTable(name, [{ id: 1, note: 'sync' }, { id: 2, note: "it's" }]);
      assert.is(await count(info, name), 2, 'insertToTable rows are visible at once');
      for (let id = 10; id < 60; id++) pool.asyncInsertToTable(name, { id, note: 'async' });
      await pool.flush();
      assert.is(await count(info, name), 52, 'asyncInsertToTable rows are visible after flush()');
    } finally {
      await app.stop();
      for (const url of modernUrls(info, { user: 'colonnade' })) await open(url).query(`DROP TABLE IF EXISTS ${name}`);
    }
  }],
];

if (found.info) {
  const info = found.info;
  for (const [name, fn] of checks) test(name, () => fn(info));
  test.after(async () => {
    await Promise.all(opened.map((c) => c.close()));
  });
} else {
  console.log(`modern-engine :: SKIPPED, did not run (${checks.length} tests): ${found.why}`);
  for (const [name] of checks) test.skip(name, () => undefined);
}

test.run();
