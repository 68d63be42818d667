// Helper for integration tests: where the local ClickHouse cluster is, and how to hurt it.
// scripts/test.mjs starts the cluster and sets COLONNADE_CLUSTER_DIR; tests only read it.
// With COLONNADE_TEST_ENGINE=modern (the second pass of `npm test`) every helper here points
// at the standalone modern servers instead (COLONNADE_MODERN_DIR), so that a suite runs
// unchanged on both engines.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as legacy from '../../scripts/cluster.mjs';
import * as modern from '../../scripts/cluster/modern.mjs';
import type { ClusterInfo, ClusterServer } from '../../scripts/cluster.mjs';
import type { Test } from 'uvu';

/**
 * The engine this test process runs against: `'18.16'` (the replicated cluster) or
 * `'modern'` (standalone 26.x servers).
 *
 * @example
 * if (TEST_ENGINE === 'modern') assert.is(err.serverCode, 516);
 */
export const TEST_ENGINE: '18.16' | 'modern' = process.env.COLONNADE_TEST_ENGINE === 'modern' ? 'modern' : '18.16';
const cluster = TEST_ENGINE === 'modern' ? modern : legacy;

/**
 * A select whose one row's `replica` names the server that ran it (`r0`, `r1`, ...): the
 * replica macro on 18.16, the HTTP port on the modern servers (they have no macros).
 *
 * @example
 * const [{ replica }] = await pool.select(WHO); // 'r1'
 */
export function whoQuery(): string {
  return TEST_ENGINE === 'modern'
    ? `SELECT concat('r', toString(getServerPort('http_port') - ${clusterInfo().base})) AS replica`
    : "SELECT substitution AS replica FROM system.macros WHERE macro = 'replica'";
}

/**
 * Which servers run and which are frozen, on this process's engine.
 *
 * @example
 * for (const s of (await clusterStatus()).servers) if (s.frozen) await resumeServer(s.index);
 */
export function clusterStatus(): Promise<{ servers: Array<{ index: number; alive: boolean; frozen: boolean }> }> {
  return cluster.status();
}

export type { ClusterInfo, ClusterServer };

/** Password of the `colonnade` user on every local server. */
export const PASSWORD: string = cluster.PASSWORD;
/** Password of the `unicode` user: not Latin-1. */
export const UNICODE_PASSWORD: string = cluster.UNICODE_PASSWORD;
/** Name of the cluster in each server's `remote_servers`. */
export const CLUSTER_NAME: string = legacy.CLUSTER_NAME;

/**
 * The running cluster as recorded in `<COLONNADE_CLUSTER_DIR>/state.json`.
 * Throws with a hint when no cluster was started.
 *
 * @example
 * const { urls, servers } = clusterInfo();
 * await fetch(`http://127.0.0.1:${servers[0].httpPort}/ping`);
 */
export function clusterInfo(): ClusterInfo {
  const file = join(cluster.settings().dir, 'state.json');
  try {
    const info = JSON.parse(readFileSync(file, 'utf8')) as ClusterInfo;
    if (TEST_ENGINE !== 'modern') return info;
    // Standalone servers: no TCP or interserver port, no ZooKeeper.
    return {
      ...info, cluster: '', zookeeper: { port: 0, pid: null },
      servers: info.servers.map((srv) => ({ ...srv, tcpPort: 0, interserverPort: 0 })),
    };
  } catch {
    throw new Error(`no local ClickHouse cluster recorded in ${file}: run \`npm run cluster start\` or \`npm test\``);
  }
}

/**
 * Connection strings, one per server, for the given user (`default`: no password;
 * `colonnade`: password percent-encoded as a URL needs it).
 *
 * @example
 * serverUrls({ user: 'colonnade' });
 * // ['http://colonnade:s3cret%3Ap%40ss@127.0.0.1:18123/default', ...]
 */
export function serverUrls(opts: { user?: 'default' | 'colonnade' | 'unicode' } = {}): string[] {
  const user = opts.user ?? 'default';
  const password = user === 'unicode' ? UNICODE_PASSWORD : PASSWORD;
  return clusterInfo().servers.map((s) => {
    const auth = user === 'default' ? '' : `${user}:${encodeURIComponent(password)}@`;
    return `http://${auth}127.0.0.1:${s.httpPort}/default`;
  });
}

/**
 * SIGKILL server `index`: it vanishes, connections are refused. Resolves once its ports
 * refuse connections.
 *
 * @example
 * await killServer(1); await startServer(1);
 */
export const killServer: (index: number) => Promise<void> = cluster.killServer;

/**
 * SIGSTOP server `index`: it hangs with its sockets open. Always pair with `resumeServer`.
 *
 * @example
 * await freezeServer(2); try { ... } finally { await resumeServer(2); }
 */
export const freezeServer: (index: number) => Promise<void> = cluster.freezeServer;

/**
 * SIGCONT server `index` after `freezeServer`.
 *
 * @example
 * await resumeServer(2);
 */
export const resumeServer: (index: number) => Promise<void> = cluster.resumeServer;

/**
 * Graceful stop of server `index` (SIGTERM, SIGKILL after a grace period).
 *
 * @example
 * await stopServer(0); await startServer(0);
 */
export const stopServer: (index: number) => Promise<void> = cluster.stopServer;

/**
 * Starts server `index` again with its config and data and waits for `/ping`
 * (a no-op beyond resuming it if it runs). It takes inserts at once; its
 * `/replicas_status` says `Ok.` about 10 s later (the ZooKeeper session timeout).
 *
 * @example
 * await killServer(1); await startServer(1);
 */
export const startServer: (index: number) => Promise<ClusterServer> = cluster.startServer as (index: number) => Promise<ClusterServer>;

/**
 * Registers a test that needs replication (ReplicatedMergeTree, ZooKeeper): on 18.16 it
 * runs; on the modern servers (standalone) it is skipped and says so by name.
 *
 * @example
 * const replicatedTest = needsReplication(test);
 * replicatedTest('kill :: every row once on every replica', async () => { ... });
 */
export function needsReplication(test: Test): (name: string, fn: () => Promise<void> | void) => void {
  return (name, fn) => {
    if (TEST_ENGINE !== 'modern') return test(name, fn);
    console.log(`${name} :: SKIPPED on the modern servers: it needs replication (they are standalone)`);
    test.skip(name, fn);
  };
}
