// The modern engine of the local cluster: N standalone servers of a current ClickHouse
// (clickhouse-local from npm's @chdb/lib-linux-x64-gnu serving HTTP, see chdb.mjs), each
// with its own port, data folder and the same users as the 18.16 cluster. No ZooKeeper and
// no replication: clickhouse-local has no interserver HTTP. Plain ESM over node builtins.
// Module: start, acquire, stop, status, clean, killServer, freezeServer, resumeServer,
// stopServer, startServer. CLI: `node scripts/cluster.mjs <command> --engine modern`.
// Configured by env: COLONNADE_MODERN_DIR, COLONNADE_MODERN_PORT, COLONNADE_MODERN_SIZE,
// COLONNADE_CHDB_CACHE.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PASSWORD, UNICODE_PASSWORD, UNICODE_USER } from './config.mjs';
import {
  withLock, markLogs, spawnDetached, terminate, resumePid, isAlive, isOurs, waitFor,
  waitPortsClosed, assertPortsFree, leaseCluster, serverStatus, killRecorded, signalRecorded,
} from './host.mjs';
import { CHDB_PACKAGE, CHDB_VERSION, ensureEngine, serverArgs, writeServerConfig } from './chdb.mjs';

export { PASSWORD, UNICODE_PASSWORD, UNICODE_USER, CHDB_PACKAGE, CHDB_VERSION, ensureEngine };

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Settings derived from the environment on every call, so several clusters can coexist. */
export function settings(layout) {
  const env = process.env;
  const dir = resolve(env.COLONNADE_MODERN_DIR || join(root, '.cluster-modern'));
  const saved = layout ?? readLayout(dir);
  const base = Number(layout?.base ?? (env.COLONNADE_MODERN_PORT || saved.base || 19123));
  const size = Number(layout?.size ?? (env.COLONNADE_MODERN_SIZE || saved.size || 3));
  if (!Number.isInteger(size) || size < 1 || size > 9) {
    throw new Error(`COLONNADE_MODERN_SIZE must be an integer in 1..9, got ${env.COLONNADE_MODERN_SIZE}`);
  }
  if (!Number.isInteger(base) || base < 1024 || base + size > 65535) {
    throw new Error(`COLONNADE_MODERN_PORT must be an integer in 1024..${65535 - size}, got ${env.COLONNADE_MODERN_PORT}`);
  }
  const servers = Array.from({ length: size }, (_, index) => {
    const httpPort = base + index;
    const home = join(dir, `server-${index}`);
    return {
      index, httpPort, url: `http://127.0.0.1:${httpPort}/default`, home,
      config: join(home, 'config.xml'), users: join(home, 'users.xml'),
      fifo: join(home, 'user_files', 'release.fifo'),
      log: join(home, 'log', 'server.log'), errLog: join(home, 'log', 'server.err.log'),
      out: join(home, 'log', 'stdout.log'),
    };
  });
  return { dir, base, size, servers, stateFile: join(dir, 'state.json') };
}

function readLayout(dir) {
  try {
    const { base, size } = JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8'));
    return { base, size };
  } catch {
    return {};
  }
}

// ---------------------------------------------------------------- public API

/** Installs the engine if needed, starts whatever is not running and waits for it. Idempotent. */
export async function start() {
  const s = settings();
  const engine = await ensureEngine();
  return withLock(s, () => startLocked(s, engine));
}

// A start from nothing that fails takes down what it spawned; the logs stay for reading.
async function startLocked(s, engine) {
  const before = statusOf(s);
  try {
    return await startAll(s, engine);
  } catch (err) {
    if (!before.running && !before.partial) await stopLocked(s).catch(() => undefined);
    throw err;
  }
}

/**
 * For test runs: starts the servers if needed and holds a lease on them. `release()` stops
 * them only when a lease holder started them and no other live holder remains.
 */
export async function acquire() {
  const engine = await ensureEngine();
  return leaseCluster(settings(), { statusOf, startLocked: (s) => startLocked(s, engine), stopLocked });
}

async function startAll(s, engine) {
  const state = readState(s);
  const was = readLayout(s.dir);
  if (was.base !== undefined && (was.base !== s.base || was.size !== s.size)) {
    const old = statusOf(settings(was));
    if (old.running || old.partial) {
      throw new Error(`the modern cluster in ${s.dir} runs with COLONNADE_MODERN_PORT=${was.base} and ` +
        `COLONNADE_MODERN_SIZE=${was.size}; stop it before starting it with ${s.base} and ${s.size}`);
    }
  }
  mkdirSync(s.dir, { recursive: true });
  const down = s.servers.filter((srv) => !isOurs(state.servers[srv.index]?.pid, srv.config));
  // Check every port before spawning anything, so a clash does not leave half a cluster.
  for (const srv of down) await assertPortsFree([srv.httpPort], `modern ClickHouse server ${srv.index}`, 'COLONNADE_MODERN_PORT');
  await Promise.all(s.servers.map((srv) => {
    if (down.includes(srv)) return bootServer(s, state, srv, engine);
    resumePid(state.servers[srv.index].pid);
    return waitServer(srv, state.servers[srv.index].pid);
  }));
  writeState(s, state);
  return info(s, state);
}

/** Stops every server this cluster recorded. Data is kept. */
export async function stop() {
  const s = settings();
  if (!existsSync(s.dir)) return;
  await withLock(s, () => stopLocked(s));
}

async function stopLocked(s) {
  const state = readState(s);
  await Promise.all(s.servers.map((srv) => terminate(state.servers[srv.index]?.pid, srv.config)));
  rmSync(s.stateFile, { force: true });
  rmSync(join(s.dir, 'auto-stop'), { force: true });
}

/** Stops the servers and deletes their folder (data, logs, configs). The engine cache stays. */
export async function clean() {
  await stop();
  rmSync(settings().dir, { recursive: true, force: true });
}

/** What is running: `running` when every server is up, `partial` when some are. */
export async function status() {
  return statusOf(settings());
}

function statusOf(s) {
  const state = readState(s);
  const servers = s.servers.map((srv) => {
    return serverStatus(publicServer(srv), state.servers[srv.index]?.pid ?? null, srv.config);
  });
  const up = servers.filter((p) => p.alive).length;
  return { engine: engineInfo(), dir: s.dir, running: up === servers.length, partial: up > 0 && up < servers.length, servers };
}

/** SIGKILL server i: it vanishes, connections are refused. */
export async function killServer(i) {
  const { srv, pid } = recorded(i);
  await killRecorded(pid, srv.config, [srv.httpPort]);
}

/** SIGSTOP server i: it hangs with its sockets open. */
export async function freezeServer(i) {
  const { srv, pid } = recorded(i);
  await signalRecorded(pid, srv.config, 'freeze', `modern ClickHouse server ${i}`);
}

/** SIGCONT server i after freezeServer. */
export async function resumeServer(i) {
  const { srv, pid } = recorded(i);
  await signalRecorded(pid, srv.config, 'resume', `modern ClickHouse server ${i}`);
}

/** Graceful stop of server i (SIGTERM, SIGKILL after a grace period). */
export async function stopServer(i) {
  const { s, srv, pid } = recorded(i);
  await withLock(s, () => terminate(pid, srv.config));
  await waitPortsClosed([srv.httpPort]);
}

/** Starts server i again with the same config and data; waits for /ping. */
export async function startServer(i) {
  const { s } = recorded(i);
  const engine = await ensureEngine();
  return withLock(s, async () => {
    const { state, srv, pid } = recorded(i);
    if (isOurs(pid, srv.config)) {
      resumePid(pid);
    } else {
      await assertPortsFree([srv.httpPort], `modern ClickHouse server ${i}`, 'COLONNADE_MODERN_PORT');
      await bootServer(s, state, srv, engine);
    }
    await waitServer(srv, state.servers[i].pid);
    return { ...publicServer(srv), pid: state.servers[i].pid };
  });
}

// ---------------------------------------------------------------- processes

async function bootServer(s, state, srv, engine) {
  writeServerConfig(srv);
  makeFifo(srv.fifo);
  markLogs([srv.out, srv.errLog, srv.log]);
  const pid = spawnDetached(engine.launcher, serverArgs(engine, srv), srv.out, srv.home);
  state.servers[srv.index] = { ...publicServer(srv), pid };
  writeState(s, state);
  await waitServer(srv, pid);
}

// The server blocks reading this FIFO: it holds no data, so it survives restarts as it is.
function makeFifo(path) {
  if (existsSync(path) && statSync(path).isFIFO()) return;
  rmSync(path, { force: true });
  execFileSync('mkfifo', ['-m', '600', path], { timeout: 10_000 });
}

async function waitServer(srv, pid) {
  await waitFor(() => ping(srv), () => isAlive(pid), `modern ClickHouse server ${srv.index} (${srv.url}, /ping)`,
    [srv.out, srv.errLog]);
}

async function ping(srv) {
  try {
    const res = await fetch(`http://127.0.0.1:${srv.httpPort}/ping`, { signal: AbortSignal.timeout(2_000) });
    return (await res.text()) === 'Ok.\n';
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------- state

function readState(s) {
  try {
    const state = JSON.parse(readFileSync(s.stateFile, 'utf8'));
    return { servers: Array.isArray(state.servers) ? state.servers : [] };
  } catch {
    return { servers: [] };
  }
}

function writeState(s, state) {
  const tmp = `${s.stateFile}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(info(s, state), null, 2) + '\n');
  renameSync(tmp, s.stateFile);
}

function engineInfo() {
  return { name: 'modern', package: CHDB_PACKAGE, version: CHDB_VERSION };
}

function info(s, state) {
  const servers = s.servers.map((srv) => ({ ...publicServer(srv), pid: state.servers[srv.index]?.pid ?? null }));
  return { engine: engineInfo(), dir: s.dir, base: s.base, size: s.size, urls: servers.map((x) => x.url), servers };
}

function publicServer(srv) {
  const { index, httpPort, url } = srv;
  return { index, httpPort, url };
}

function recorded(i) {
  const s = settings();
  const srv = s.servers[i];
  if (!srv) throw new Error(`no modern ClickHouse server ${i}: the cluster has ${s.size} (0..${s.size - 1})`);
  const state = readState(s);
  return { s, state, srv, pid: state.servers[i]?.pid ?? null };
}

// ---------------------------------------------------------------- CLI

/** The CLI of the modern engine; scripts/cluster.mjs hands it the arguments after `--engine modern`. */
export async function main(argv) {
  const [cmd, arg] = argv;
  const index = () => {
    const i = Number(arg);
    if (arg === undefined || !Number.isInteger(i)) throw new Error(`usage: cluster.mjs ${cmd} <server index> --engine modern`);
    return i;
  };
  switch (cmd) {
    case 'start': {
      const t0 = Date.now();
      const c = await start();
      // Started by hand, it is the developer's: test runs must not stop it.
      rmSync(join(c.dir, 'auto-stop'), { force: true });
      console.log(`modern cluster (${CHDB_PACKAGE}@${CHDB_VERSION}) up in ${c.dir} after ${((Date.now() - t0) / 1000).toFixed(1)} s`);
      for (const srv of c.servers) console.log(`  server ${srv.index}: ${srv.url}  (pid ${srv.pid})`);
      console.log(`users: default (no password), colonnade (password ${JSON.stringify(PASSWORD)}), ` +
        `${UNICODE_USER} (password ${JSON.stringify(UNICODE_PASSWORD)})`);
      console.log('stop it with: node scripts/cluster.mjs stop --engine modern');
      return;
    }
    case 'stop': await stop(); console.log('modern cluster stopped (data kept; `clean` deletes it)'); return;
    case 'clean': await clean(); console.log(`modern cluster stopped and ${settings().dir} deleted`); return;
    case 'install': {
      const e = await ensureEngine();
      console.log(`${CHDB_PACKAGE}@${e.version}: ${e.lib}\nlauncher: ${e.launcher}`);
      return;
    }
    case 'status': {
      const st = await status();
      console.log(`modern cluster ${st.running ? 'running' : st.partial ? 'partly running' : 'stopped'} (${st.dir})`);
      for (const srv of st.servers) {
        const how = srv.frozen ? `frozen, pid ${srv.pid}` : srv.alive ? `pid ${srv.pid}` : 'down';
        console.log(`  server ${srv.index}: ${srv.url} ${how}`);
      }
      return;
    }
    case 'kill': await killServer(index()); console.log(`modern server ${arg} killed`); return;
    case 'freeze': await freezeServer(index()); console.log(`modern server ${arg} frozen`); return;
    case 'resume': await resumeServer(index()); console.log(`modern server ${arg} resumed`); return;
    case 'stop-server': await stopServer(index()); console.log(`modern server ${arg} stopped`); return;
    case 'start-server': { const srv = await startServer(index()); console.log(`modern server ${arg} up: ${srv.url}`); return; }
    default:
      console.error('usage: node scripts/cluster.mjs start|stop|status|clean|install|kill N|freeze N|resume N|' +
        'stop-server N|start-server N --engine modern');
      process.exitCode = 2;
  }
}
