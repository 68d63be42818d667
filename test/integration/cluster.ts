// Helper for integration tests: where the local ClickHouse cluster is, and how to hurt it.
// scripts/test.mjs starts the cluster and sets COLONNADE_CLUSTER_DIR; tests only read it.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as cluster from '../../scripts/cluster.mjs';
import type { ClusterInfo, ClusterServer } from '../../scripts/cluster.mjs';

export type { ClusterInfo, ClusterServer };

/** Password of the `colonnade` user on every local server. */
export const PASSWORD: string = cluster.PASSWORD;
/** Password of the `unicode` user: not Latin-1. */
export const UNICODE_PASSWORD: string = cluster.UNICODE_PASSWORD;
/** Name of the cluster in each server's `remote_servers`. */
export const CLUSTER_NAME: string = cluster.CLUSTER_NAME;

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
    return JSON.parse(readFileSync(file, 'utf8')) as ClusterInfo;
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
export const startServer: (index: number) => Promise<ClusterServer> = cluster.startServer;
