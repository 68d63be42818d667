#!/usr/bin/env node
// `npm run demo`: start the local ClickHouse cluster (left running) and run the demo
// example against it, passing the servers as COLONNADE_URLS (comma-separated).
import { spawn, execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const candidates = ['examples/quickstart.ts', 'examples/direct.ts'];
const example = candidates.find((f) => existsSync(join(root, f)));
if (!example) {
  console.error(`demo: no example to run yet (looked for ${candidates.join(', ')})`);
  process.exit(1);
}

if (!existsSync(join(root, 'node_modules', 'tsx'))) {
  console.log('== npm ci (node_modules is missing)');
  execFileSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: root, stdio: 'inherit' });
}

const cluster = await import('./cluster.mjs');
console.log('== starting the local ClickHouse cluster');
let info;
try {
  info = await cluster.start();
} catch (err) {
  console.error(`demo: the local cluster did not start: ${err?.message ?? err}`);
  process.exit(1);
}
for (const s of info.servers) console.log(`  server ${s.index}: ${s.url}`);
console.log('(it stays up for more runs; stop it with `npm run cluster stop`)');

console.log(`\n== ${example}`);
const child = spawn(process.execPath, ['--import', 'tsx', example], {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, COLONNADE_URLS: info.urls.join(','), COLONNADE_CLUSTER_DIR: info.dir },
});
child.on('close', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
