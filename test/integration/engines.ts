// Both engines behind one shape, for suites that run on each: the replicated 18.16 cluster
// (scripts/cluster.mjs) and the standalone modern servers (scripts/cluster/modern.mjs).
// A suite loops over `engines()`; an engine this run does not have is reported by name.
import * as cluster from '../../scripts/cluster.mjs';
import * as modern from '../../scripts/cluster/modern.mjs';
import { clusterInfo, serverUrls } from './cluster.js';
import { modernCluster, modernUrls } from './modern.js';

/**
 * One engine's servers and faults, as a test sees them.
 *
 * @example
 * for (const engine of engines().available) console.log(engine.name, engine.urls({ user: 'colonnade' }));
 */
export interface Engine {
  /** `'18.16'` (three replicas) or `'modern'` (standalone 26.x servers). */
  readonly name: '18.16' | 'modern';
  /** True for the replicated cluster: an insert on one server shows on all. */
  readonly replicated: boolean;
  /** How many servers. */
  readonly size: number;
  urls(opts?: { user?: 'default' | 'colonnade' }): string[];
  /** A select whose one row's `replica` says which server ran it: `r0`, `r1`, ... */
  readonly who: string;
  /** Raw SQL on server `i` as the default user (no client code involved); rejects on a non-200 answer. */
  sql(i: number, text: string, timeoutMs?: number): Promise<string>;
  killServer(i: number): Promise<void>;
  freezeServer(i: number): Promise<void>;
  resumeServer(i: number): Promise<void>;
  stopServer(i: number): Promise<void>;
  startServer(i: number): Promise<unknown>;
  /** Resumes every frozen server and starts every dead one. */
  restore(): Promise<void>;
}

async function rawSql(port: number, i: number, text: string, timeoutMs = 60_000): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}/`, { method: 'POST', body: text, signal: AbortSignal.timeout(timeoutMs) });
  const body = await res.text();
  if (res.status !== 200) throw new Error(`server ${i}: HTTP ${res.status}: ${body}`);
  return body;
}

type Status = { servers: Array<{ index: number; alive: boolean; frozen: boolean }> };

async function restoreWith(status: () => Promise<Status>, resume: (i: number) => Promise<void>, start: (i: number) => Promise<unknown>): Promise<void> {
  const st = await status();
  for (const s of st.servers) {
    if (s.frozen) await resume(s.index);
    if (!s.alive) await start(s.index);
  }
}

function legacy(): Engine {
  const info = clusterInfo();
  const port = (i: number): number => info.servers[i]!.httpPort;
  return {
    name: '18.16',
    replicated: true,
    size: info.servers.length,
    urls: (opts = {}) => serverUrls({ user: opts.user ?? 'default' }),
    who: "SELECT substitution AS replica FROM system.macros WHERE macro = 'replica'",
    sql: (i, text, timeoutMs) => rawSql(port(i), i, text, timeoutMs),
    killServer: cluster.killServer,
    freezeServer: cluster.freezeServer,
    resumeServer: cluster.resumeServer,
    stopServer: cluster.stopServer,
    startServer: cluster.startServer,
    restore: () => restoreWith(cluster.status as () => Promise<Status>, cluster.resumeServer, cluster.startServer),
  };
}

function current(info: modern.ModernInfo): Engine {
  const port = (i: number): number => info.servers[i]!.httpPort;
  return {
    name: 'modern',
    replicated: false,
    size: info.servers.length,
    urls: (opts = {}) => modernUrls(info, { user: opts.user ?? 'default' }),
    // Standalone servers have no replica macro: the HTTP port tells them apart.
    who: `SELECT concat('r', toString(getServerPort('http_port') - ${info.base})) AS replica`,
    sql: (i, text, timeoutMs) => rawSql(port(i), i, text, timeoutMs),
    killServer: modern.killServer,
    freezeServer: modern.freezeServer,
    resumeServer: modern.resumeServer,
    stopServer: modern.stopServer,
    startServer: modern.startServer,
    restore: () => restoreWith(modern.status as () => Promise<Status>, modern.resumeServer, modern.startServer),
  };
}

/**
 * The engines this run has, and those it has not with the reason (a suite prints that
 * reason with its name instead of passing silently).
 *
 * @example
 * const { available, missing } = engines();
 * for (const m of missing) console.log(`my-suite [${m.name}] :: SKIPPED: ${m.why}`);
 */
export function engines(): { available: Engine[]; missing: Array<{ name: Engine['name']; why: string }> } {
  const available: Engine[] = [];
  const missing: Array<{ name: Engine['name']; why: string }> = [];
  try {
    available.push(legacy());
  } catch (err) {
    missing.push({ name: '18.16', why: (err as Error).message });
  }
  const found = modernCluster();
  if (found.info) available.push(current(found.info));
  else missing.push({ name: 'modern', why: found.why });
  return { available, missing };
}
