// The modern engine of the local cluster: npm's @chdb/lib-linux-x64-gnu, whose libchdb.so is
// clickhouse-local of a current ClickHouse release, installed into a cache folder outside the
// package's dependencies, and run by a tiny C launcher (chdb-launcher.c) as a process of its
// own. Also writes the config.xml and users.xml of one server. Knows nothing of the cluster.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { usersXml } from './config.mjs';
import { withLock, which } from './host.mjs';

export const CHDB_PACKAGE = '@chdb/lib-linux-x64-gnu';
// Pinned: the engine's version is what the tests are about (26.7.3-stable.1 runs 26.7.2.1).
export const CHDB_VERSION = '26.7.3-stable.1';
const LAUNCHER_SOURCE = join(dirname(fileURLToPath(import.meta.url)), 'chdb-launcher.c');
const INSTALL_TIMEOUT_MS = 10 * 60_000;

/** `COLONNADE_CHDB_CACHE`, else `$XDG_CACHE_HOME/colonnade/chdb`, else `~/.cache/colonnade/chdb`. */
export function cacheDir() {
  const env = process.env;
  if (env.COLONNADE_CHDB_CACHE) return resolve(env.COLONNADE_CHDB_CACHE);
  return join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'colonnade', 'chdb');
}

function paths() {
  const home = join(cacheDir(), CHDB_VERSION);
  const pkg = join(home, 'node_modules', ...CHDB_PACKAGE.split('/'));
  return { home, pkg, lib: join(pkg, 'libchdb.so'), launcher: join(home, 'chdb-launcher') };
}

function installedVersion(pkg) {
  try {
    return JSON.parse(readFileSync(join(pkg, 'package.json'), 'utf8')).version;
  } catch {
    return null;
  }
}

function launcherFresh(p) {
  return existsSync(p.launcher) && statSync(p.launcher).mtimeMs >= statSync(LAUNCHER_SOURCE).mtimeMs;
}

/**
 * Installs the engine package into the cache (npm) and builds the launcher (cc) when missing;
 * a no-op once both are there. Safe to call from several processes at once.
 * Resolves to `{ lib, launcher, version }`.
 */
export async function ensureEngine() {
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    throw new Error(`the modern engine (${CHDB_PACKAGE}) runs on linux x64 only, not ${process.platform} ${process.arch}`);
  }
  const p = paths();
  const ready = () => installedVersion(p.pkg) === CHDB_VERSION && existsSync(p.lib) && launcherFresh(p);
  if (!ready()) {
    mkdirSync(cacheDir(), { recursive: true });
    await withLock({ dir: cacheDir() }, () => {
      if (installedVersion(p.pkg) !== CHDB_VERSION || !existsSync(p.lib)) install(p);
      if (!launcherFresh(p)) buildLauncher(p);
    });
  }
  return { lib: p.lib, launcher: p.launcher, version: CHDB_VERSION };
}

// Into a fresh folder renamed into place once complete: a cut-off install is never taken for one.
function install(p) {
  const tmp = `${p.home}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  console.log(`cluster: installing ${CHDB_PACKAGE}@${CHDB_VERSION} (about 180 MB) into ${p.home}`);
  const t0 = Date.now();
  try {
    execFileSync('npm', [
      'install', '--prefix', tmp, '--no-save', '--no-package-lock', '--no-audit', '--no-fund',
      '--ignore-scripts', '--loglevel=error', `${CHDB_PACKAGE}@${CHDB_VERSION}`,
    ], { cwd: tmp, stdio: ['ignore', 'inherit', 'inherit'], timeout: INSTALL_TIMEOUT_MS });
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    throw new Error(`could not install ${CHDB_PACKAGE}@${CHDB_VERSION} with npm: ${err.message}`);
  }
  const pkg = join(tmp, 'node_modules', ...CHDB_PACKAGE.split('/'));
  if (installedVersion(pkg) !== CHDB_VERSION || !existsSync(join(pkg, 'libchdb.so'))) {
    rmSync(tmp, { recursive: true, force: true });
    throw new Error(`npm installed ${CHDB_PACKAGE} into ${tmp} without libchdb.so ${CHDB_VERSION}`);
  }
  rmSync(p.home, { recursive: true, force: true });
  renameSync(tmp, p.home);
  console.log(`cluster: ${CHDB_PACKAGE} installed in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}

function buildLauncher(p) {
  let cc = which('cc') ?? which('gcc');
  if (!cc && which('apt-get')) {
    console.log('cluster: installing gcc and libc6-dev with apt-get (to build the chdb launcher)');
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    try {
      execFileSync('apt-get', ['update'], { stdio: 'inherit', env, timeout: INSTALL_TIMEOUT_MS });
      execFileSync('apt-get', ['install', '-y', '--no-install-recommends', 'gcc', 'libc6-dev'],
        { stdio: 'inherit', env, timeout: INSTALL_TIMEOUT_MS });
    } catch (err) {
      throw new Error(`could not install gcc with apt-get (are you root?): ${err.message}`);
    }
    cc = which('cc') ?? which('gcc');
  }
  if (!cc) throw new Error('no C compiler (cc) to build the chdb launcher: apt-get install gcc libc6-dev');
  const tmp = `${p.launcher}.tmp-${process.pid}`;
  try {
    execFileSync(cc, ['-O2', '-o', tmp, LAUNCHER_SOURCE, '-ldl'], { stdio: ['ignore', 'inherit', 'inherit'], timeout: 60_000 });
  } catch (err) {
    rmSync(tmp, { force: true });
    throw new Error(`could not build the chdb launcher with ${cc}: ${err.message}`);
  }
  renameSync(tmp, p.launcher);
}

/**
 * The arguments that make the launcher a server: clickhouse-local opens the HTTP port of
 * its config, then blocks reading `fifo` until someone writes to it (or a signal ends it).
 */
export function serverArgs(engine, srv) {
  const release = srv.fifo.replaceAll('\\', '\\\\').replaceAll("'", "\\'");
  return [engine.lib, `--config-file=${srv.config}`, '--multiquery',
    `--query=SYSTEM START LISTEN HTTP; SELECT count() FROM file('${release}', 'LineAsString')`];
}

const xml = (v) => String(v).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** config.xml and users.xml of one modern server, rewritten on every start. */
export function writeServerConfig(srv) {
  for (const sub of ['data', 'tmp', 'user_files', 'log']) mkdirSync(join(srv.home, sub), { recursive: true });
  // clickhouse-local keeps the system database in memory but its log tables' data on disk:
  // left from the last run, that folder makes it refuse to create system.query_log again.
  rmSync(join(srv.home, 'data', 'data', 'system'), { recursive: true, force: true });
  const h = srv.home;
  writeFileSync(srv.config, `<?xml version="1.0"?>
<!-- Generated by scripts/cluster/modern.mjs; rewritten on every start. -->
<clickhouse>
  <logger>
    <level>information</level>
    <log>${xml(srv.log)}</log>
    <errorlog>${xml(srv.errLog)}</errorlog>
    <size>20M</size>
    <count>2</count>
  </logger>
  <listen_host>127.0.0.1</listen_host>
  <http_port>${srv.httpPort}</http_port>
  <!-- As the 18.16 servers (26.x's default is 30 s), so the keep-alive tests wait the same. -->
  <keep_alive_timeout>10</keep_alive_timeout>
  <path>${xml(h)}/data/</path>
  <tmp_path>${xml(h)}/tmp/</tmp_path>
  <user_files_path>${xml(h)}/user_files/</user_files_path>
  <users_config>${xml(srv.users)}</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <timezone>UTC</timezone>
  <!-- The writer looks up a send whose answer was lost in system.query_log. -->
  <query_log>
    <database>system</database>
    <table>query_log</table>
    <flush_interval_milliseconds>1000</flush_interval_milliseconds>
  </query_log>
</clickhouse>
`);
  writeFileSync(srv.users, usersXml({ root: 'clickhouse', generator: 'scripts/cluster/modern.mjs' }));
}
