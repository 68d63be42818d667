/**
 * `stats()`: a snapshot derived from the pool's parts (broker slots, server health,
 * connection states, writer counters); nothing here is stored beside the state it shows.
 */
import { knownServerInfo, type ServerConfig } from '../clickhouse/index.js';
import type { BrokerStatus } from './broker/broker.js';
import type { Health } from './broker/health.js';
import type { ConnectionState } from './connection/connection.machine.js';
import type { PooledConnection } from './connection/pooled-connection.js';
import type { WriterStats } from './writer/writer.js';

/**
 * One server as `stats()` shows it.
 *
 * @example
 * const down: ServerStats[] = MyClickHouse.stats().servers.filter((s) => !s.up);
 * for (const s of down) console.warn(`${s.server} is down (penalty ${s.penalty})`);
 */
export interface ServerStats {
  /** The connection string with the password replaced by `***`. */
  readonly server: string;
  readonly up: boolean;
  /** The server's version (`SELECT version()`), read when the pool starts and each time the server comes back up; `undefined` until then. */
  readonly version: string | undefined;
  /** Current decayed failure penalty (marked down at 1.5). */
  readonly penalty: number;
  /** Connections to this server by machine state. */
  readonly connections: Readonly<Record<ConnectionState, number>>;
  /** Calls lent a connection to this server right now. */
  readonly inFlight: number;
  /** Requests sent to this server since the pool was defined. */
  readonly queries: number;
  /** Network failures and timeouts (of calls and probes) counted against it. */
  readonly errors: number;
}

/**
 * A snapshot of a pool.
 *
 * @example
 * const { waiters, idle, inUse, overflow, writer }: PoolStats = MyClickHouse.stats();
 */
export interface PoolStats {
  readonly name: string;
  readonly started: boolean;
  readonly servers: readonly ServerStats[];
  /** Callers waiting for a connection. */
  readonly waiters: number;
  /** Overflow connections alive (lent, lingering before dismissal, or recovering). */
  readonly overflow: number;
  /** Overflow connections lent to callers right now. */
  readonly overflowInUse: number;
  /** Idle connections over all servers. */
  readonly idle: number;
  /** Connections lent to callers over all servers. */
  readonly inUse: number;
  readonly writer: WriterStats;
}

/** What `collectStats` reads. */
export interface StatsSources {
  readonly name: string;
  readonly started: boolean;
  readonly servers: readonly ServerConfig[];
  readonly connections: readonly PooledConnection[];
  readonly broker: BrokerStatus | undefined;
  readonly health: Health | undefined;
  readonly queries: readonly number[];
  readonly errors: readonly number[];
  readonly writer: WriterStats;
}

const STATES: readonly ConnectionState[] = ['idle', 'busy', 'resetting', 'verifying', 'checking', 'failed', 'backoff', 'probing'];

/**
 * Builds the snapshot.
 *
 * @example
 * const stats = collectStats({ name, started: true, servers, connections, broker: broker.status(), health, queries, errors, writer: writer.stats() });
 * stats.servers[0].up; // true
 */
export function collectStats(src: StatsSources): PoolStats {
  const counts = src.servers.map(() => Object.fromEntries(STATES.map((s) => [s, 0])) as Record<ConnectionState, number>);
  for (const conn of src.connections) {
    const state = conn.state();
    if (state !== 'stopped') counts[conn.server]![state]++;
  }
  const servers = src.servers.map((config, i): ServerStats => {
    const connections = counts[i]!;
    const health = src.health?.snapshot(i);
    return {
      server: config.redacted,
      up: health?.up ?? false,
      version: knownServerInfo(config)?.version,
      penalty: health?.penalty ?? 0,
      connections,
      inFlight: src.broker?.servers[i]?.lent ?? 0,
      queries: src.queries[i] ?? 0,
      errors: src.errors[i] ?? 0,
    };
  });
  const slots = src.broker?.servers ?? [];
  return {
    name: src.name,
    started: src.started,
    servers,
    waiters: src.broker?.waiters ?? 0,
    overflow: src.broker?.overflow ?? 0,
    overflowInUse: src.broker?.overflowInUse ?? 0,
    idle: slots.reduce((n, s) => n + s.idle, 0),
    inUse: slots.reduce((n, s) => n + s.lent, 0),
    writer: src.writer,
  };
}
