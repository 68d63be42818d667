// The operating-system side of scripts/cluster.mjs: processes we spawn and watch by pid,
// a lock between processes, probes of loopback ports, and installing the Debian packages.
// Knows nothing of the cluster's layout.
import { spawn, execFileSync } from 'node:child_process';
import { connect } from 'node:net';
import { existsSync, mkdirSync, openSync, closeSync, readFileSync, readdirSync, writeFileSync, rmSync, statSync } from 'node:fs';
import { join, delimiter } from 'node:path';

export const ZK_JAR = '/usr/share/java/zookeeper.jar';
// zookeeper.jar's manifest names its dependencies; slf4j-simple gives it a log to tail.
export const ZK_CLASSPATH = [ZK_JAR, '/usr/share/java/slf4j-simple.jar'].join(':');
export const START_DEADLINE_MS = 90_000;
const STOP_GRACE_MS = 15_000;

// One writer of a cluster folder at a time, across processes (overlapping test runs).
export async function withLock(s, fn) {
  mkdirSync(s.dir, { recursive: true });
  const file = join(s.dir, 'lock');
  const until = Date.now() + 2 * START_DEADLINE_MS;
  for (;;) {
    try {
      writeFileSync(file, String(process.pid), { flag: 'wx' });
      break;
    } catch (err) {
      if (err.code !== 'EEXIST') throw err;
    }
    let holder = NaN;
    try { holder = Number(readFileSync(file, 'utf8')); } catch { continue; }
    if (holder !== process.pid && !isAlive(holder)) { rmSync(file, { force: true }); continue; }
    if (Date.now() > until) throw new Error(`${s.dir} stays locked by pid ${holder} (remove ${file} if that is wrong)`);
    await sleep(100);
  }
  try {
    return await fn();
  } finally {
    rmSync(file, { force: true });
  }
}

// Where each log ended when we last spawned its process: a failure shows only what that run wrote.
const logMarks = new Map();

export function markLogs(files) {
  for (const f of files) logMarks.set(f, existsSync(f) ? statSync(f).size : 0);
}

export function spawnDetached(cmd, args, outFile, cwd) {
  const fd = openSync(outFile, 'a');
  try {
    const child = spawn(cmd, args, { cwd, detached: true, stdio: ['ignore', fd, fd] });
    child.unref();
    return child.pid;
  } finally {
    closeSync(fd);
  }
}

export async function terminate(pid, marker) {
  if (!isOurs(pid, marker)) return;
  resumePid(pid);
  try { process.kill(pid, 'SIGTERM'); } catch { return; }
  if (await waitGone(pid, STOP_GRACE_MS)) return;
  try { process.kill(pid, 'SIGKILL'); } catch { return; }
  await waitGone(pid, 5_000);
}

export function resumePid(pid) {
  try { process.kill(pid, 'SIGCONT'); } catch { /* already gone */ }
}

export function procState(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  } catch {
    return null;
  }
}

export function isAlive(pid) {
  const st = pid ? procState(pid) : null;
  return st !== null && st !== 'Z' && st !== 'X';
}

// A recorded pid counts only if that process still runs our config: pids get reused.
export function isOurs(pid, marker) {
  if (!isAlive(pid)) return false;
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').some((a) => a.includes(marker));
  } catch {
    return false;
  }
}

// Signals are delivered asynchronously: wait until the kernel shows the new state.
export async function waitState(pid, ok, what) {
  const until = Date.now() + 5_000;
  while (!ok(procState(pid))) {
    if (Date.now() > until) throw new Error(`process ${pid} was not ${what} within 5 s`);
    await sleep(10);
  }
}

export async function waitGone(pid, ms) {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (!isAlive(pid)) return true;
    await sleep(100);
  }
  return !isAlive(pid);
}

export async function waitFor(check, alive, what, logs) {
  const until = Date.now() + START_DEADLINE_MS;
  while (Date.now() < until) {
    if (await check()) return;
    if (!alive()) {
      throw Object.assign(new Error(`${what} did not come up: the process exited.\n${tails(logs)}`), { exited: true });
    }
    await sleep(200);
  }
  throw new Error(`${what} did not come up within ${START_DEADLINE_MS / 1000} s.\n${tails(logs)}`);
}

export function tails(files, lines = 15) {
  return files.map((f) => {
    if (!existsSync(f)) return '';
    const buf = readFileSync(f);
    const text = buf.subarray(Math.min(logMarks.get(f) ?? 0, buf.length)).toString('utf8').trimEnd();
    if (!text) return '';
    const tail = text.split('\n').slice(-lines).map((l) => (l.length > 300 ? `${l.slice(0, 300)}...` : l));
    return `--- tail of ${f}\n${tail.join('\n')}`;
  }).filter(Boolean).join('\n') || '(no log output)';
}

// A killed leader thread turns zombie before its other threads let go of the sockets.
export async function waitPortsClosed(ports) {
  const until = Date.now() + 5_000;
  for (const port of ports) {
    while (await tcpOpen(port)) {
      if (Date.now() > until) throw new Error(`127.0.0.1:${port} still accepts connections 5 s after the server stopped`);
      await sleep(20);
    }
  }
}

export async function assertPortsFree(ports, who, portVariable = 'COLONNADE_CLUSTER_PORT') {
  for (const port of ports) {
    if (await tcpOpen(port)) {
      throw new Error(`${who} cannot start: 127.0.0.1:${port} is already in use by a process this cluster ` +
        `did not record; stop it or choose another ${portVariable}`);
    }
  }
}

export function tcpOpen(port) {
  return new Promise((done) => {
    const sock = connect({ host: '127.0.0.1', port });
    sock.setTimeout(1_000);
    sock.once('connect', () => { sock.destroy(); done(true); });
    sock.once('timeout', () => { sock.destroy(); done(true); });
    sock.once('error', () => done(false));
  });
}

// `ruok` says imok while ZooKeeper still loads its snapshot and drops client handshakes;
// `srvr` names a mode only once it serves requests.
export function zkOk(port) {
  return new Promise((done) => {
    let reply = '';
    const sock = connect({ host: '127.0.0.1', port }, () => sock.end('srvr'));
    sock.setTimeout(2_000);
    sock.on('data', (d) => { reply += d; });
    sock.once('end', () => done(/^Mode: (standalone|leader|follower)$/m.test(reply)));
    sock.once('timeout', () => { sock.destroy(); done(false); });
    sock.once('error', () => done(false));
  });
}

export function which(name, extra = []) {
  const dirs = [...(process.env.PATH || '').split(delimiter), '/usr/sbin', '/usr/bin', '/sbin', ...extra];
  return dirs.map((d) => join(d, name)).find((p) => existsSync(p)) ?? null;
}

export function findClickHouse() {
  const bin = which('clickhouse-server');
  if (!bin) throw new Error('clickhouse-server not found (apt-get install clickhouse-server)');
  return bin;
}

export function findJava() {
  const bin = which('java');
  if (!bin) throw new Error('java not found (it comes with apt-get install zookeeper)');
  return bin;
}

export function ensureInstalled() {
  const missing = [];
  if (!which('clickhouse-server')) missing.push('clickhouse-server');
  if (!existsSync(ZK_JAR) || !which('java')) missing.push('zookeeper');
  if (!existsSync('/usr/share/java/slf4j-simple.jar')) missing.push('libslf4j-java');
  if (missing.length === 0) return;
  console.log(`cluster: installing ${missing.join(' ')} with apt-get`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  try {
    execFileSync('apt-get', ['update'], { stdio: 'inherit', env });
    execFileSync('apt-get', ['install', '-y', '--no-install-recommends', ...missing], { stdio: 'inherit', env });
  } catch (err) {
    throw new Error(`could not install ${missing.join(' ')} with apt-get (are you root?): ${err.message}`);
  }
}

export function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * A lease on a cluster for one process (a test run, the soak): starts it if needed, and on
 * `release()` stops it only when this process started it and no other live lease holder
 * remains. `statusOf`, `startLocked` and `stopLocked` are the engine's own, run under its lock.
 */
export async function leaseCluster(s, { statusOf, startLocked, stopLocked }) {
  const leases = join(s.dir, 'leases');
  const marker = join(s.dir, 'auto-stop');
  const mine = join(leases, String(process.pid));
  const started = await withLock(s, async () => {
    const before = statusOf(s);
    const cluster = await startLocked(s);
    const startedHere = !before.running && !before.partial;
    if (startedHere) writeFileSync(marker, `${process.pid}\n`);
    mkdirSync(leases, { recursive: true });
    writeFileSync(mine, '');
    return { cluster, startedHere };
  });
  let releasing = null;
  const release = () => (releasing ??= withLock(s, async () => {
    rmSync(mine, { force: true });
    const others = existsSync(leases) ? readdirSync(leases).filter((f) => {
      if (isAlive(Number(f))) return true;
      rmSync(join(leases, f), { force: true });
      return false;
    }) : [];
    if (others.length > 0 || !existsSync(marker)) return false;
    await stopLocked(s);
    return true;
  }));
  return { ...started, release };
}

/** A recorded server as `status()` shows it: alive (and ours), frozen. */
export function serverStatus(shown, pid, config) {
  const alive = isOurs(pid, config);
  return { ...shown, pid, alive, frozen: alive && procState(pid) === 'T' };
}

/** SIGKILL a recorded server of ours; waits until it and its ports are gone. */
export async function killRecorded(pid, config, ports) {
  if (!isOurs(pid, config)) return;
  process.kill(pid, 'SIGKILL');
  await waitGone(pid, 5_000);
  await waitPortsClosed(ports);
}

/** SIGSTOP (`freeze`) or SIGCONT (`resume`) a recorded server of ours; `what` names it in the error. */
export async function signalRecorded(pid, config, action, what) {
  if (!isOurs(pid, config)) throw new Error(`${what} is not running`);
  process.kill(pid, action === 'freeze' ? 'SIGSTOP' : 'SIGCONT');
  await waitState(pid, action === 'freeze' ? (st) => st === 'T' : (st) => st !== 'T', action === 'freeze' ? 'frozen' : 'resumed');
}
