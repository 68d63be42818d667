#!/usr/bin/env node
// A local ClickHouse cluster shaped the way production runs one: N replicas of one shard
// (Debian's clickhouse-server 18.16) coordinated by a standalone ZooKeeper (Debian's
// zookeeper 3.8). Plain ESM over node builtins so it runs before `npm ci`.
// Module: start, acquire, stop, status, clean, killServer, freezeServer, resumeServer,
// stopServer, startServer. CLI: `node scripts/cluster.mjs start|stop|status|clean|kill N|
// freeze N|resume N|stop-server N|start-server N [--engine 18.16|modern]`; the modern engine
// (standalone 26.x servers, no replication) lives in scripts/cluster/modern.mjs.
// Configured by env: COLONNADE_CLUSTER_DIR, COLONNADE_CLUSTER_PORT, COLONNADE_CLUSTER_SIZE.
import { existsSync, mkdirSync, readFileSync, writeFileSync, renameSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CLUSTER_NAME, PASSWORD, UNICODE_PASSWORD, UNICODE_USER, writeConfigs } from './cluster/config.mjs';
import {
  ZK_CLASSPATH, withLock, markLogs, spawnDetached, terminate, resumePid, isAlive, isOurs, waitFor,
  waitPortsClosed, assertPortsFree, zkOk, findClickHouse, findJava, ensureInstalled, leaseCluster,
  serverStatus, killRecorded, signalRecorded,
} from './cluster/host.mjs';

export { CLUSTER_NAME, PASSWORD, UNICODE_PASSWORD, UNICODE_USER };

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Settings derived from the environment on every call, so several clusters can coexist. */
export function settings(layout) {
  const env = process.env;
  const dir = resolve(env.COLONNADE_CLUSTER_DIR || join(root, '.cluster'));
  // A process given only the folder (a test importing this module) finds the layout there.
  const saved = layout ?? readLayout(dir);
  const base = Number(layout?.base ?? (env.COLONNADE_CLUSTER_PORT || saved.base || 18123));
  const size = Number(layout?.size ?? (env.COLONNADE_CLUSTER_SIZE || saved.size || 3));
  if (!Number.isInteger(base) || base < 1024 || base + 300 > 65535) {
    throw new Error(`COLONNADE_CLUSTER_PORT must be an integer in 1024..65235, got ${env.COLONNADE_CLUSTER_PORT}`);
  }
  if (!Number.isInteger(size) || size < 1 || size > 9) {
    throw new Error(`COLONNADE_CLUSTER_SIZE must be an integer in 1..9, got ${env.COLONNADE_CLUSTER_SIZE}`);
  }
  const servers = Array.from({ length: size }, (_, index) => {
    const httpPort = base + index;
    const home = join(dir, `server-${index}`);
    return {
      index, httpPort, tcpPort: base + 100 + index, interserverPort: base + 200 + index,
      url: `http://127.0.0.1:${httpPort}/default`, home, config: join(home, 'config.xml'),
      log: join(home, 'log', 'server.log'), errLog: join(home, 'log', 'server.err.log'),
      out: join(home, 'log', 'stdout.log'),
    };
  });
  const zkHome = join(dir, 'zookeeper');
  const zookeeper = { port: base + 300, home: zkHome, config: join(zkHome, 'zoo.cfg'), out: join(zkHome, 'zookeeper.log') };
  return { dir, base, size, servers, zookeeper, stateFile: join(dir, 'state.json') };
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

/** Starts whatever is not running yet and waits for all of it. Idempotent. */
export async function start() {
  const s = settings();
  ensureInstalled();
  return withLock(s, () => startLocked(s));
}

// A start from nothing that fails takes down what it spawned; the logs stay for reading.
async function startLocked(s) {
  const before = statusOf(s);
  try {
    return await startAll(s);
  } catch (err) {
    if (!before.running && !before.partial) await stopLocked(s).catch(() => undefined);
    throw err;
  }
}

/**
 * For test runs: starts the cluster if needed and holds a lease on it. `release()` stops
 * the cluster only when a lease holder started it and no other live holder remains, so
 * overlapping runs share one cluster and a cluster a developer started is left alone.
 */
export async function acquire() {
  ensureInstalled();
  return leaseCluster(settings(), { statusOf, startLocked, stopLocked });
}

async function startAll(s) {
  const state = readState(s);
  const was = readLayout(s.dir);
  if (was.base !== undefined && (was.base !== s.base || was.size !== s.size)) {
    const old = statusOf(settings(was));
    if (old.running || old.partial) {
      throw new Error(`the cluster in ${s.dir} runs with COLONNADE_CLUSTER_PORT=${was.base} and ` +
        `COLONNADE_CLUSTER_SIZE=${was.size}; stop it before starting it with ${s.base} and ${s.size}`);
    }
  }
  mkdirSync(s.dir, { recursive: true });
  const zkUp = isOurs(state.zookeeper?.pid, s.zookeeper.config);
  const down = s.servers.filter((srv) => !isOurs(state.servers[srv.index]?.pid, srv.config));
  // Check every port before spawning anything, so a clash does not leave half a cluster.
  if (!zkUp) await assertPortsFree([s.zookeeper.port], 'ZooKeeper');
  for (const srv of down) await assertPortsFree(serverPorts(srv), `ClickHouse server ${srv.index}`);
  writeConfigs(s);

  if (!zkUp) {
    state.zookeeper = { port: s.zookeeper.port, pid: spawnZooKeeper(s) };
    writeState(s, state);
  }
  await waitFor(() => zkOk(s.zookeeper.port), () => isAlive(state.zookeeper.pid),
    `ZooKeeper on 127.0.0.1:${s.zookeeper.port}`, [s.zookeeper.out]);

  await Promise.all(s.servers.map((srv) => {
    if (down.includes(srv)) return bootServer(s, state, srv);
    resumePid(state.servers[srv.index].pid);
    return waitServer(srv, state.servers[srv.index].pid);
  }));
  // Replicated tables need each server's ZooKeeper session, not just ZooKeeper itself.
  await Promise.all(s.servers.map((srv) => waitFor(
    () => query(srv, "SELECT count() FROM system.zookeeper WHERE path = '/'").then(() => true, () => false),
    () => isAlive(state.servers[srv.index].pid),
    `ClickHouse server ${srv.index} talking to ZooKeeper`, [srv.errLog, srv.log])));
  writeState(s, state);
  return info(s, state);
}

/** Stops every process this cluster recorded (servers, then ZooKeeper). Data is kept. */
export async function stop() {
  const s = settings();
  if (!existsSync(s.dir)) return;
  await withLock(s, () => stopLocked(s));
}

async function stopLocked(s) {
  const state = readState(s);
  await Promise.all(s.servers.map((srv) => terminate(state.servers[srv.index]?.pid, srv.config)));
  await terminate(state.zookeeper?.pid, s.zookeeper.config);
  rmSync(s.stateFile, { force: true });
  rmSync(join(s.dir, 'auto-stop'), { force: true });
}

/** Stops the cluster and deletes its folder (data, logs, configs). */
export async function clean() {
  await stop();
  rmSync(settings().dir, { recursive: true, force: true });
}

/** What is running: `running` when ZooKeeper and every server are up, `partial` when some are. */
export async function status() {
  return statusOf(settings());
}

function statusOf(s) {
  const state = readState(s);
  const servers = s.servers.map((srv) => {
    return serverStatus(publicServer(srv), state.servers[srv.index]?.pid ?? null, srv.config);
  });
  const zkPid = state.zookeeper?.pid ?? null;
  const zookeeper = { port: s.zookeeper.port, pid: zkPid, alive: isOurs(zkPid, s.zookeeper.config) };
  const up = [zookeeper, ...servers].filter((p) => p.alive).length;
  return { dir: s.dir, running: up === servers.length + 1, partial: up > 0 && up <= servers.length, servers, zookeeper };
}

/** SIGKILL server i: it vanishes, connections are refused. */
export async function killServer(i) {
  const { srv, pid } = recorded(i);
  await killRecorded(pid, srv.config, serverPorts(srv));
}

/** SIGSTOP server i: it hangs with its sockets open. */
export async function freezeServer(i) {
  const { srv, pid } = recorded(i);
  await signalRecorded(pid, srv.config, 'freeze', `ClickHouse server ${i}`);
}

/** SIGCONT server i after freezeServer. */
export async function resumeServer(i) {
  const { srv, pid } = recorded(i);
  await signalRecorded(pid, srv.config, 'resume', `ClickHouse server ${i}`);
}

/** Graceful stop of server i (SIGTERM, SIGKILL after a grace period). */
export async function stopServer(i) {
  const { s, srv, pid } = recorded(i);
  await withLock(s, () => terminate(pid, srv.config));
  await waitPortsClosed(serverPorts(srv));
}

/** Starts server i again with the same config and data; waits for /ping. */
export async function startServer(i) {
  const { s } = recorded(i);
  return withLock(s, () => startServerLocked(i));
}

async function startServerLocked(i) {
  const { s, state, srv, pid } = recorded(i);
  if (isOurs(pid, srv.config)) {
    resumePid(pid);
  } else {
    await assertPortsFree(serverPorts(srv), `ClickHouse server ${i}`);
    await bootServer(s, state, srv);
  }
  await waitServer(srv, state.servers[i].pid);
  return { ...publicServer(srv), pid: state.servers[i].pid };
}

// ---------------------------------------------------------------- processes

function spawnZooKeeper(s) {
  mkdirSync(join(s.zookeeper.home, 'data'), { recursive: true });
  markLogs([s.zookeeper.out]);
  return spawnDetached(findJava(), [
    '-Xms16m', '-Xmx128m', '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1', '-Xss512k',
    '-Dzookeeper.admin.enableServer=false', '-Dorg.slf4j.simpleLogger.defaultLogLevel=info',
    '-Dorg.slf4j.simpleLogger.showDateTime=true', '-Dorg.slf4j.simpleLogger.dateTimeFormat=yyyy-MM-dd HH:mm:ss.SSS',
    '-cp', ZK_CLASSPATH,
    'org.apache.zookeeper.server.ZooKeeperServerMain', s.zookeeper.config,
  ], s.zookeeper.out, s.zookeeper.home);
}

// After a kill -9 in the middle of an insert, 18.16 may refuse to start ("local set of
// parts doesn't look like the set of parts in ZooKeeper"). The flag tells it to trust
// ZooKeeper and detach what it does not know, as an operator would after a crash; the
// server deletes the flag once it has used it.
function spawnServer(srv) {
  mkdirSync(join(srv.home, 'data', 'flags'), { recursive: true });
  writeFileSync(join(srv.home, 'data', 'flags', 'force_restore_data'), '');
  markLogs([srv.out, srv.errLog, srv.log]);
  return spawnDetached(findClickHouse(), [`--config-file=${srv.config}`], srv.out, srv.home);
}

// 18.16 exits when a replicated table's first ZooKeeper handshake fails while it loads
// metadata. Waiting for `srvr` removed the cause we saw (1 cold start in 12 failed, then
// 0 in 25); a retry covers what is left.
async function bootServer(s, state, srv, tries = 3) {
  for (let attempt = 1; ; attempt++) {
    state.servers[srv.index] = { ...publicServer(srv), pid: spawnServer(srv) };
    writeState(s, state);
    try {
      return await waitServer(srv, state.servers[srv.index].pid);
    } catch (err) {
      if (!err.exited || attempt >= tries) throw err;
    }
  }
}

async function waitServer(srv, pid) {
  await waitFor(() => ping(srv), () => isAlive(pid), `ClickHouse server ${srv.index} (${srv.url}, /ping)`,
    [srv.out, srv.errLog, srv.log]);
}

function serverPorts(srv) {
  return [srv.httpPort, srv.tcpPort, srv.interserverPort];
}

// ---------------------------------------------------------------- probes

async function ping(srv) {
  try {
    const res = await fetch(`http://127.0.0.1:${srv.httpPort}/ping`, { signal: AbortSignal.timeout(2_000) });
    return (await res.text()) === 'Ok.\n';
  } catch {
    return false;
  }
}

async function query(srv, sql) {
  const res = await fetch(`http://127.0.0.1:${srv.httpPort}/`, {
    method: 'POST', body: sql, signal: AbortSignal.timeout(5_000),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(text);
  return text;
}

// ---------------------------------------------------------------- state and config

function readState(s) {
  try {
    const state = JSON.parse(readFileSync(s.stateFile, 'utf8'));
    return { zookeeper: state.zookeeper ?? null, servers: Array.isArray(state.servers) ? state.servers : [] };
  } catch {
    return { zookeeper: null, servers: [] };
  }
}

function writeState(s, state) {
  const tmp = `${s.stateFile}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(info(s, state), null, 2) + '\n');
  renameSync(tmp, s.stateFile);
}

function info(s, state) {
  const servers = s.servers.map((srv) => ({ ...publicServer(srv), pid: state.servers[srv.index]?.pid ?? null }));
  return {
    dir: s.dir, base: s.base, size: s.size, cluster: CLUSTER_NAME, urls: servers.map((x) => x.url), servers,
    zookeeper: { port: s.zookeeper.port, pid: state.zookeeper?.pid ?? null },
  };
}

function publicServer(srv) {
  const { index, httpPort, tcpPort, interserverPort, url } = srv;
  return { index, httpPort, tcpPort, interserverPort, url };
}

function recorded(i) {
  const s = settings();
  const srv = s.servers[i];
  if (!srv) throw new Error(`no ClickHouse server ${i}: the cluster has ${s.size} (0..${s.size - 1})`);
  const state = readState(s);
  return { s, state, srv, pid: state.servers[i]?.pid ?? null };
}

// ---------------------------------------------------------------- CLI

async function main(argv) {
  const [cmd, arg] = argv;
  const index = () => {
    const i = Number(arg);
    if (arg === undefined || !Number.isInteger(i)) throw new Error(`usage: cluster.mjs ${cmd} <server index>`);
    return i;
  };
  switch (cmd) {
    case 'start': {
      const c = await start();
      // Started by hand, it is the developer's: test runs must not stop it.
      rmSync(join(c.dir, 'auto-stop'), { force: true });
      console.log(`cluster '${CLUSTER_NAME}' up in ${c.dir} (ZooKeeper 127.0.0.1:${c.zookeeper.port})`);
      for (const srv of c.servers) console.log(`  server ${srv.index}: ${srv.url}  (tcp ${srv.tcpPort}, pid ${srv.pid})`);
      console.log(`users: default (no password), colonnade (password ${JSON.stringify(PASSWORD)})`);
      console.log('stop it with: node scripts/cluster.mjs stop');
      return;
    }
    case 'stop': await stop(); console.log('cluster stopped (data kept; `clean` deletes it)'); return;
    case 'clean': await clean(); console.log(`cluster stopped and ${settings().dir} deleted`); return;
    case 'status': {
      const st = await status();
      console.log(`cluster ${st.running ? 'running' : st.partial ? 'partly running' : 'stopped'} (${st.dir})`);
      console.log(`  zookeeper: 127.0.0.1:${st.zookeeper.port} ${st.zookeeper.alive ? `pid ${st.zookeeper.pid}` : 'down'}`);
      for (const srv of st.servers) {
        const how = srv.frozen ? `frozen, pid ${srv.pid}` : srv.alive ? `pid ${srv.pid}` : 'down';
        console.log(`  server ${srv.index}: ${srv.url} ${how}`);
      }
      return;
    }
    case 'kill': await killServer(index()); console.log(`server ${arg} killed`); return;
    case 'freeze': await freezeServer(index()); console.log(`server ${arg} frozen`); return;
    case 'resume': await resumeServer(index()); console.log(`server ${arg} resumed`); return;
    case 'stop-server': await stopServer(index()); console.log(`server ${arg} stopped`); return;
    case 'start-server': { const srv = await startServer(index()); console.log(`server ${arg} up: ${srv.url}`); return; }
    default:
      console.error('usage: node scripts/cluster.mjs start|stop|status|clean|kill N|freeze N|resume N|stop-server N|start-server N');
      process.exitCode = 2;
  }
}

// `--engine modern` (or COLONNADE_ENGINE=modern) hands the command to scripts/cluster/modern.mjs.
function engineArg(argv) {
  let engine = process.env.COLONNADE_ENGINE || '18.16';
  const args = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--engine') engine = argv[++i];
    else if (argv[i].startsWith('--engine=')) engine = argv[i].slice('--engine='.length);
    else args.push(argv[i]);
  }
  if (engine !== 'modern' && engine !== '18.16') throw new Error(`--engine must be 18.16 or modern, got ${engine}`);
  return { engine, args };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  Promise.resolve().then(() => {
    const { engine, args } = engineArg(process.argv.slice(2));
    return engine === 'modern' ? import('./cluster/modern.mjs').then((m) => m.main(args)) : main(args);
  }).catch((err) => {
    console.error(`cluster: ${err.message}`);
    process.exitCode = 1;
  });
}
