// Credentials as users write them, on the real cluster: in the query string (refused, never
// echoed), and passwords that are not Latin-1 (sent as UTF-8; a client-side failure never
// marks a server down).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { connect, definePool, startSupervisor } from '../../src/index.js';
import { assertNoSecret } from '../secrets.js';
import { clusterInfo, serverUrls, UNICODE_PASSWORD, TEST_ENGINE } from './cluster.js';

const test = suite('clickhouse-credentials');
const port = () => clusterInfo().servers[0]!.httpPort;

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}

test('query string :: ?password= in any letter case is refused by connect() and definePool, and never echoed', () => {
  const secret = 'hunter2-qs';
  for (const qs of [`password=${secret}`, `PASSWORD=${secret}`, `user=colonnade&password=${secret}`, `User=colonnade&PassWord=${secret}`]) {
    const url = `http://127.0.0.1:${port()}/default?${qs}`;
    const viaConnect = thrown(() => connect(url)) as { code?: string; message?: string };
    assert.is(viaConnect.code, 'CONFIG', qs);
    assert.match(viaConnect.message ?? '', /query-string key \w+ is not allowed/);
    assertNoSecret(viaConnect, [secret], `connect() error for ${qs}`);
    const viaPool = thrown(() => definePool({ connectionStrings: [serverUrls()[1]!, url] })) as { code?: string; message?: string };
    assert.is(viaPool.code, 'CONFIG');
    assert.match(viaPool.message ?? '', 'connectionStrings[1]');
    assertNoSecret(viaPool, [secret], `definePool error for ${qs}`);
  }
});

test('query string :: a secret-looking setting is masked in every text the pool shows', async () => {
  const url = `http://127.0.0.1:${port()}/default?max_threads=2&api_token=tok3n-secret`;
  const pool = definePool({ connectionStrings: [url], poolSize: 1 });
  await pool.start();
  try {
    await pool.select('SELECT 1').catch(() => undefined);
    assertNoSecret(pool.stats(), ['tok3n-secret'], 'stats()');
    assert.match(pool.stats().servers[0]!.server, 'api_token=***');
  } finally {
    await pool.stop();
  }
});

test('utf-8 :: a password that is not Latin-1 works through connect() and through the pool', async () => {
  const url = serverUrls({ user: 'unicode' })[0]!;
  const conn = connect(url);
  try {
    assert.equal(await conn.select('SELECT 41 + 1 AS x'), [{ x: 42 }]);
  } finally {
    await conn.close();
  }
  const pool = definePool({ connectionStrings: serverUrls({ user: 'unicode' }), poolSize: 3 });
  const app = await startSupervisor([pool]);
  try {
    const rows = await Promise.all([1, 2, 3].map((n) => pool.select('SELECT {n} AS n', { n })));
    assert.equal(rows, [[{ n: 1 }], [{ n: 2 }], [{ n: 3 }]]);
    assertNoSecret(pool.stats(), [UNICODE_PASSWORD, encodeURIComponent(UNICODE_PASSWORD)], 'stats()');
  } finally {
    await app.stop();
  }
});

test('utf-8 :: a wrong non-Latin-1 password is the server refusing, not a server down', async () => {
  const urls = clusterInfo().servers.map((s) => `http://unicode:${encodeURIComponent('неверно')}@127.0.0.1:${s.httpPort}/default`);
  const pool = definePool({ connectionStrings: urls, poolSize: 3 });
  const app = await startSupervisor([pool]);
  try {
    for (let i = 0; i < 6; i++) {
      const err = (await pool.select('SELECT 1').catch((e: unknown) => e)) as { code?: string; serverCode?: number };
      assert.is(err.code, 'CLICKHOUSE');
      assert.is(err.serverCode, TEST_ENGINE === 'modern' ? 516 : 193, 'wrong password');
    }
    const stats = pool.stats();
    assert.equal(stats.servers.map((s) => s.up), [true, true, true], 'no server marked down');
    assert.equal(stats.servers.map((s) => s.errors), [0, 0, 0]);
  } finally {
    await app.stop();
  }
});

test.run();
