/**
 * One call through the pool: check a connection out, run the prepared request on it, and
 * when the network failed, try again on another server if that cannot write twice (a read,
 * or a request that provably never left). The connection checks itself back in.
 */
import { AbortError, TransportError, withOptions, type PreparedRequest } from '../clickhouse/index.js';
import type { Broker, CheckoutRequest } from './broker/broker.js';
import type { PooledConnection } from './connection/pooled-connection.js';
import { NoServerAvailableError, PoolNotStartedError } from './errors.js';
import { runHedged, type HedgeDeps } from './hedge.js';
import type { ResolvedPoolOptions } from './options.js';

/**
 * What a call needs of its pool.
 *
 * @example
 * const deps: FailoverDeps = { name: 'p', servers: 3, lease: { timeout: 5_000 }, timeout: 30_000, readRetries: 2, broker: () => live?.broker, queries: [0, 0, 0] };
 */
export interface FailoverDeps {
  readonly name: string;
  readonly servers: number;
  /** The checkout of a first attempt: `{ timeout: poolTimeout }`, built once per pool. */
  readonly lease: CheckoutRequest;
  /** The pool's `timeout`, for a call that gives none. */
  readonly timeout: number;
  readonly readRetries: number;
  /** The running broker, undefined while the pool is not started (or restarting it). */
  readonly broker: () => Broker<PooledConnection> | undefined;
  /** Requests sent per server, counted here for `stats()`. */
  readonly queries: number[];
  /** Hedged reads, when the pool sets `hedgeAfter`. */
  readonly hedge?: HedgeDeps;
}

/**
 * Runs `request`, failing over as described above; rejects with the call's own error, or
 * `NoServerAvailableError` (caused by the last failure) when a retry finds every server down.
 * `trace.server` is set to the server of each attempt (the async writer asks it later what
 * became of a send whose answer was lost).
 *
 * @example
 * const rows = await runWithFailover(prepare({ type: 'select', sql: 'SELECT 1' }), deps);
 */
export async function runWithFailover(request: PreparedRequest, deps: FailoverDeps, trace?: { server: number; attempts?: number }): Promise<unknown> {
  const { signal } = request.options;
  // Servers that failed this request: allocated only on the first retry.
  let avoid: Set<number> | undefined;
  let last: unknown;
  // A retry, and its wait for a connection, get what is left of the call's time, counted from
  // its first attempt (a stream's timeout bounds each wait for the server instead).
  let started = 0;
  let attempt = request;
  for (let n = 0; ; n++) {
    const broker = deps.broker();
    if (!broker) throw new PoolNotStartedError(deps.name);
    let lease = avoid ? { timeout: deps.lease.timeout, avoid } : deps.lease;
    if (avoid && request.sink === undefined) {
      const left = started + (request.options.timeout ?? deps.timeout) - Date.now();
      if (left <= 0) throw last;
      lease = { timeout: Math.min(deps.lease.timeout, left), avoid };
      attempt = withOptions(request, { ...request.options, timeout: left });
    }
    let conn: PooledConnection;
    try {
      conn = await broker.lease(lease, signal);
    } catch (error) {
      if (signal?.aborted && error === signal.reason) throw new AbortError(error, false);
      if (last !== undefined && error instanceof NoServerAvailableError) throw new NoServerAvailableError(deps.servers, { cause: last });
      throw error;
    }
    deps.queries[conn.server]!++;
    if (trace) {
      trace.server = conn.server;
      trace.attempts = n + 1;
    }
    if (n === 0) started = Date.now();
    try {
      return await (deps.hedge && request.readOnly && request.sink === undefined && deps.servers > 1 ? runHedged(attempt, conn, deps.hedge, trace) : conn.run(attempt));
    } catch (error) {
      // A stream that handed rows over is never tried again: the reader has them.
      const fresh = request.sink === undefined || request.sink.delivered === 0;
      const retry = error instanceof TransportError && fresh && (request.readOnly || !error.requestSent) && n < deps.readRetries;
      if (!retry) throw error;
      last = error;
      (avoid ??= new Set()).add(conn.server);
    }
  }
}

/**
 * The failover deps of a pool, built once at `definePool`.
 *
 * @example
 * const deps = failoverDeps(opts, () => tree.live?.broker);
 */
export function failoverDeps(opts: ResolvedPoolOptions, broker: () => Broker<PooledConnection> | undefined): FailoverDeps {
  const queries = opts.servers.map(() => 0);
  const { hedgeAfter: after, timeout, poolTimeout } = opts;
  return {
    name: opts.name,
    servers: opts.servers.length,
    lease: { timeout: poolTimeout },
    timeout,
    readRetries: opts.readRetries,
    broker,
    queries,
    ...(after > 0 ? { hedge: { after, timeout, poolTimeout, broker, queries } } : {}),
  };
}
