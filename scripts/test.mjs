#!/usr/bin/env node
// The one test command (`npm test`): typecheck, build, check the package (attw, publint), start the local ClickHouse
// cluster, run every uvu suite under test/ (unit and integration), stop the cluster
// if this run started it, and end with one line `N passed, N failed[, N skipped]`.
// It also starts the modern servers (scripts/cluster/modern.mjs), hands them to the tests
// as COLONNADE_MODERN_DIR, and runs the integration suites a second time against them
// (COLONNADE_TEST_ENGINE=modern; NOT_ON_MODERN below says which do not, and why).
// COLONNADE_TEST_MODERN=0 leaves them out (suites that need them then say by name that
// they skipped).
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
if (!existsSync(join(root, 'node_modules', 'uvu'))) {
  console.log('== npm ci (node_modules is missing)');
  execFileSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: root, stdio: 'inherit' });
}
const require = createRequire(import.meta.url);
const filter = process.argv[2]; // optional regex on test file paths, e.g. `npm test -- otp`

let passed = 0;
let failed = 0;
let skipped = 0;

const running = new Set();

// How long uvu may stay alive after it printed its summary: a timer, socket or server a test
// left open keeps the process running, which would hang the whole run without a word.
const EXIT_GRACE_MS = 60_000;
// How long one uvu run may take in all (each takes a few minutes): a test that never ends
// (a loop that spins, a promise awaited while a server keeps the process alive) is stopped
// and counted as a failure, so that the whole run ends well within CI's 90 minutes.
const RUN_LIMIT_MS = 30 * 60_000;

function run(cmd, args, env = {}, limitMs = undefined) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, {
      cwd: root,
      env: { ...process.env, FORCE_COLOR: '0', NO_COLOR: '1', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let lingering;
    let hung = false;
    let overran = false;
    // SIGTERM, then SIGKILL; the pipes are let go too, so that a grandchild holding them open
    // does not keep the run waiting for their close.
    const stop = () => {
      child.kill('SIGTERM');
      setTimeout(() => {
        child.kill('SIGKILL');
        child.stdout.destroy();
        child.stderr.destroy();
      }, 10_000).unref();
    };
    const limit = limitMs === undefined ? undefined : setTimeout(() => { overran = true; stop(); }, limitMs);
    child.stdout.on('data', (d) => {
      out += d;
      process.stdout.write(d);
      if (lingering === undefined && /Duration:\s/.test(out)) {
        lingering = setTimeout(() => { hung = true; stop(); }, EXIT_GRACE_MS);
      }
    });
    child.stderr.on('data', (d) => { process.stderr.write(d); });
    running.add(child);
    child.on('close', (code, signal) => {
      clearTimeout(lingering);
      clearTimeout(limit);
      running.delete(child);
      resolve({ code: code ?? 1, signal, out, hung, overran });
    });
  });
}

async function check(name, cmd, args) {
  console.log(`\n== ${name}`);
  const { code } = await run(cmd, args);
  if (code === 0) passed++;
  else { failed++; console.log(`== ${name}: FAILED (exit ${code})`); }
  return code === 0;
}

// The script a dev dependency declares as its command `name` (publint's `exports` hides its package.json).
function bin(pkg, name) {
  const dir = join(root, 'node_modules', pkg);
  const { bin: bins } = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  return join(dir, typeof bins === 'string' ? bins : bins[name]);
}

const tsc = require.resolve('typescript/bin/tsc');
await check('typecheck (tsc --noEmit)', process.execPath, [tsc, '--noEmit']);
if (await check('build (node build.mjs)', process.execPath, ['build.mjs'])) {
  // Both pack the package locally (npm pack) and read nothing from the network.
  await check('types of every entry (attw --pack .)', process.execPath, [bin('@arethetypeswrong/cli', 'attw'), '--pack', '.']);
  await check('package.json (publint --strict)', process.execPath, [bin('publint', 'publint'), '--strict']);
}

const cluster = await import('./cluster.mjs');
let lease = null;
let modernLease = null;
let clusterEnv = {};
// A cluster the developer left running is theirs, and overlapping runs share one: the
// lease stops the cluster at the end only if a run started it and no other run holds it.
// The test process may be hurting a server right now: let it end before the lease goes.
let interrupted = null;
const exitCode = (signal) => (signal === 'SIGINT' ? 130 : 143);
const releaseOnSignal = async (signal) => {
  interrupted = signal;
  const children = [...running];
  await Promise.all(children.map((child) => new Promise((done) => {
    child.once('close', done);
    child.kill(signal);
  })));
  await (lease ? lease.release() : Promise.resolve()).catch(() => undefined);
  await (modernLease ? modernLease.release() : Promise.resolve()).catch(() => undefined);
  process.exit(exitCode(signal));
};
process.once('SIGINT', releaseOnSignal);
process.once('SIGTERM', releaseOnSignal);
try {
  console.log('\n== local ClickHouse cluster');
  lease = await cluster.acquire();
  const info = lease.cluster;
  clusterEnv = {
    COLONNADE_CLUSTER_DIR: info.dir,
    COLONNADE_CLUSTER_PORT: String(info.base),
    COLONNADE_CLUSTER_SIZE: String(info.size),
  };
  console.log(`cluster up${lease.startedHere ? '' : ' (already running)'}: ${info.urls.join(' ')}`);
} catch (err) {
  failed++;
  console.error(`== cluster failed to start: ${err?.message ?? err}`);
}
if (process.env.COLONNADE_TEST_MODERN !== '0' && clusterEnv.COLONNADE_CLUSTER_DIR) {
  try {
    console.log('\n== local modern ClickHouse servers');
    const modern = await import('./cluster/modern.mjs');
    modernLease = await modern.acquire();
    const info = modernLease.cluster;
    clusterEnv.COLONNADE_MODERN_DIR = info.dir;
    clusterEnv.COLONNADE_MODERN_PORT = String(info.base);
    clusterEnv.COLONNADE_MODERN_SIZE = String(info.size);
    console.log(`modern servers up${modernLease.startedHere ? '' : ' (already running)'}: ${info.urls.join(' ')}`);
  } catch (err) {
    failed++;
    console.error(`== modern servers failed to start: ${err?.message ?? err}`);
  }
}

/** Runs the uvu suites matching `pattern` with `env`, adding their counts to the totals. */
async function suites(pattern, env) {
  const uvu = join(root, 'node_modules', 'uvu', 'bin.js');
  const { code, out, hung, overran } = await run(process.execPath, ['--import', 'tsx', uvu, 'test', pattern], env, RUN_LIMIT_MS);
  if (overran) {
    failed++;
    console.error(`== uvu was still running after ${RUN_LIMIT_MS / 60_000} minutes (a test that never ends): stopped it`);
  }
  if (hung && !overran) {
    failed++;
    console.error(`== uvu printed its summary but was still running ${EXIT_GRACE_MS / 1000} s later (a timer, socket or server a test left open): stopped it`);
  }
  const num = (label) => Number((out.match(new RegExp(`${label}:\\s+(\\d+)`)) ?? [])[1] ?? NaN);
  const total = num('Total');
  const ok = num('Passed');
  const skip = num('Skipped');
  if (Number.isNaN(total) || Number.isNaN(ok)) {
    if (!overran) failed++;
    console.error(`== uvu ended without a summary (exit ${code})`);
  } else {
    passed += ok;
    skipped += Number.isNaN(skip) ? 0 : skip;
    // uvu's Total counts the tests that ran; skipped ones are outside it.
    failed += total - ok;
    if (code !== 0 && total - ok === 0 && !hung && !overran) {
      failed++;
      console.error(`== uvu exited ${code} although every counted test passed`);
    }
  }
}

// The integration suites that run a second time on the modern servers, and why the others do not.
const NOT_ON_MODERN = {
  'cluster.test.ts': 'it tests the 18.16 cluster script itself (ZooKeeper, replicas)',
  'pool-failover.test.ts': 'it runs on each engine by itself (test/integration/engines.ts)',
  'writer-engines.test.ts': 'it runs on each engine by itself (test/integration/engines.ts)',
  'typed-params.test.ts': 'it runs on each engine by itself (the refusal on 18.16, the round trips on the modern servers)',
  'modern-engine.test.ts': 'it is the modern servers\' own suite, run in the first pass',
  'modern-types.test.ts': 'it is the modern servers\' own suite (types both ways), run in the first pass',
};

try {
  if (clusterEnv.COLONNADE_CLUSTER_DIR) {
    console.log('\n== uvu suites (test/**/*.test.ts), integration on the 18.16 cluster');
    await suites(filter ? `${filter}.*\\.test\\.ts$` : '\\.test\\.ts$', clusterEnv);
  }
  if (clusterEnv.COLONNADE_MODERN_DIR) {
    console.log('\n== integration suites again, on the modern servers (COLONNADE_TEST_ENGINE=modern)');
    for (const [file, why] of Object.entries(NOT_ON_MODERN)) console.log(`${file} :: not in this pass: ${why}`);
    const others = Object.keys(NOT_ON_MODERN).map((f) => f.replace(/\./g, '\\.')).join('|');
    const pattern = `integration/(?!${others})${filter ? `.*${filter}` : ''}.*\\.test\\.ts$`;
    const matching = readdirSync(join(root, 'test', 'integration')).filter((f) => new RegExp(pattern).test(`test/integration/${f}`));
    if (matching.length > 0) await suites(pattern, { ...clusterEnv, COLONNADE_TEST_ENGINE: 'modern' });
    else console.log(`no integration suite matches ${filter}: nothing to run on the modern servers`);
  }
} finally {
  if (lease) {
    const stopped = await lease.release().catch((err) => {
      console.error(`cluster stop: ${err?.message ?? err}`);
      return false;
    });
    console.log(stopped ? '\n== local cluster stopped' : '\n== local cluster left running');
  }
  if (modernLease) {
    const stopped = await modernLease.release().catch((err) => {
      console.error(`modern servers stop: ${err?.message ?? err}`);
      return false;
    });
    console.log(stopped ? '== modern servers stopped' : '== modern servers left running');
  }
}

console.log(`\n${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
if (interrupted) process.exit(exitCode(interrupted));
process.exit(failed === 0 && passed > 0 ? 0 : 1);
