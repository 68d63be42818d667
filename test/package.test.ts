// The built package (dist/, made by `node build.mjs`, which scripts/test.mjs runs first)
// loads both ways a user loads it, ESM `import` and CommonJS `require`, and `connect`
// from each reaches a server of the local cluster.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { serverUrls } from './integration/cluster.js';

const run = promisify(execFile);
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const test = suite('package');

function script(load: string): string {
  return `${load}
const conn = connect(process.env.URL, { timeout: 5000 });
conn.ping()
  .then(() => conn.select('SELECT {n} + 1 AS x, {s} AS s', { n: 41, s: "it's" }))
  .then((rows) => { console.log(JSON.stringify({ rows, connect: typeof connect, error: new ClickHouseError({ serverCode: 60, serverMessage: 'x' }, 404).code })); return conn.close(); })
  .catch((err) => { console.error(err); process.exit(1); });`;
}

test('package :: dist/ exists (scripts/test.mjs builds it before the tests)', () => {
  for (const file of ['dist/index.js', 'dist/index.cjs', 'dist/index.d.ts']) assert.ok(existsSync(join(root, file)), file);
});

test('package :: ESM import of the package gives a working connect', async () => {
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script("import { connect, ClickHouseError } from 'colonnade';")], {
    cwd: root, env: { ...process.env, URL: serverUrls({ user: 'colonnade' })[0] }, timeout: 20_000,
  });
  assert.equal(JSON.parse(stdout), { rows: [{ x: 42, s: "it's" }], connect: 'function', error: 'CLICKHOUSE' });
});

test('package :: CommonJS require of the package gives a working connect', async () => {
  const { stdout } = await run(process.execPath, ['-e', script(`const { connect, ClickHouseError } = require(${JSON.stringify(root)});`)], {
    cwd: '/', env: { ...process.env, URL: serverUrls()[0] }, timeout: 20_000,
  });
  assert.equal(JSON.parse(stdout), { rows: [{ x: 42, s: "it's" }], connect: 'function', error: 'CLICKHOUSE' });
});

test.run();
