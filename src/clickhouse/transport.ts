/**
 * The one place that opens undici dispatchers to a server, with the keep-alive policy
 * both `connect()` and the pool use: idle sockets are retired before the server's own
 * keep-alive timeout, so a socket is never reused at the instant the server closes it
 * (the ECONNRESET race).
 */
import { Client, Pool } from 'undici';
import type { ServerConfig, Transport } from './types.js';

// undici honours the server's `Keep-Alive: timeout=` hint (10 s on 18.16) minus this.
const KEEP_ALIVE_THRESHOLD_MS = 2_000;
// Used when a server sends no hint at all: short enough for any common server default.
const KEEP_ALIVE_DEFAULT_MS = 4_000;

/**
 * How many sockets, and how long to wait for one to connect.
 *
 * @example
 * const options: TransportOptions = { connections: 1, connectTimeout: 2_000 };
 */
export interface TransportOptions {
  /** 1 gives a single-socket `Client` (one pooled connection); more give an undici `Pool`. Default 1. */
  readonly connections?: number;
  /** Milliseconds to wait for a TCP connection. Default 2000. */
  readonly connectTimeout?: number;
}

/**
 * Opens the dispatcher for `server`: no pipelining, idle sockets retired before the server's.
 *
 * @example
 * const transport = openTransport(parseConnectionString('http://127.0.0.1:8123/default'), { connections: 10 });
 * await ping(transport, server);
 */
export function openTransport(server: ServerConfig, options: TransportOptions = {}): Transport {
  const common = {
    pipelining: 1,
    connectTimeout: options.connectTimeout ?? 2_000,
    keepAliveTimeout: KEEP_ALIVE_DEFAULT_MS,
    keepAliveTimeoutThreshold: KEEP_ALIVE_THRESHOLD_MS,
    keepAliveMaxTimeout: 600_000,
  };
  const connections = options.connections ?? 1;
  return connections === 1 ? new Client(server.origin, common) : new Pool(server.origin, { ...common, connections });
}
