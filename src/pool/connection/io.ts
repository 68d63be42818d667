/**
 * The default I/O of a pooled connection: how it opens its socket, sends a prepared
 * request with the pool's defaults, and probes its server. Tests replace it (see
 * `definePoolWith` in define-pool.ts).
 */
import {
  forgetServerInfo, learnServerInfo, openTransport, perform, ping, queryOutcome, type PreparedRequest, type QueryOutcome, type RequestDefaults, type ServerConfig, type Transport,
} from '../../clickhouse/index.js';

/**
 * How a connection reaches its server.
 *
 * @example
 * const io: ConnectionIO = { open: (server) => openTransport(server), perform: (t, s, r) => perform(t, s, r, defaults), probe: (t, s) => ping(t, s) };
 */
export interface ConnectionIO {
  /** Opens the connection's one-socket dispatcher. */
  readonly open: (server: ServerConfig) => Transport;
  /** Sends one prepared request. */
  readonly perform: (transport: Transport, server: ServerConfig, request: PreparedRequest) => Promise<unknown>;
  /** `GET /ping`. */
  readonly probe: (transport: Transport, server: ServerConfig) => Promise<void>;
  /** What became of a send whose answer was lost, asked by its query id (see `queryOutcome`); absent: it cannot be known. */
  readonly outcome?: (server: ServerConfig, queryId: string) => Promise<QueryOutcome>;
  /** Reads the server's version (see `learnServerInfo`) when the pool starts and when the server comes back up; `forget` drops it when the server goes down. Absent: nothing is read. */
  readonly info?: { readonly learn: (server: ServerConfig) => Promise<unknown>; readonly forget: (server: ServerConfig) => void };
}

/**
 * The I/O the pool uses: one socket per connection, the pool's defaults under each call's
 * options, probes bounded by the query timeout (at most 2 s).
 *
 * @example
 * const io = defaultIO({ timeout: 5_000, int64: 'auto', settings: {} });
 */
export function defaultIO(defaults: RequestDefaults): ConnectionIO {
  const probeTimeout = Math.min(defaults.timeout, 2_000);
  return {
    open: (server) => openTransport(server, { connections: 1 }),
    perform: (transport, server, request) => perform(transport, server, request, defaults),
    probe: (transport, server) => ping(transport, server, { timeout: probeTimeout }),
    // Background questions, each bounded: twice the call timeout, between 2 and 10 s.
    outcome: (server, queryId) => queryOutcome(server, queryId, { timeout: Math.min(Math.max(2 * defaults.timeout, 2_000), 10_000), wait: 1_000 }),
    // In the background, not bounded by any call: a slow server's version is still worth knowing.
    info: { learn: (server) => learnServerInfo(server, { timeout: 10_000 }), forget: forgetServerInfo },
  };
}
