// The three clients the benchmark compares, each spread over the same servers the same way
// (round robin per query) with the same cap on sockets per server.
import { createClient, type ClickHouseClient } from '@clickhouse/client';
import { Pool } from 'undici';
import type { Colonnade } from './bundle.js';

/** One client under test: a `SELECT 1`, and a way to let go of its sockets. */
export interface BenchClient {
  select(): Promise<unknown>;
  close(): Promise<void>;
}

/** The clients of the comparison, in the table's order. */
export const CLIENTS = ['undici', 'clickhouse-js', 'colonnade'] as const;
/** Diagnostic only (`--clients=`): colonnade's protocol layer (`perform`) on undici Pools, without the pool. */
export const EXTRA_CLIENTS = ['perform'] as const;
export type ClientName = (typeof CLIENTS)[number] | (typeof EXTRA_CLIENTS)[number];

/** What every client is given: the servers and how many sockets each may hold per server. */
export interface ClientSetup {
  readonly urls: readonly string[];
  readonly perServer: number;
  /** colonnade as it ships (see bundle.ts). */
  readonly colonnade: Colonnade;
}

interface Target {
  readonly origin: string;
  readonly database: string;
  readonly username: string;
  readonly password: string;
}

/**
 * The parts of a connection string the baselines need (colonnade parses its own).
 *
 * @example
 * target('http://colonnade:s3cret@127.0.0.1:18123/default').origin; // 'http://127.0.0.1:18123'
 */
export function target(url: string): Target {
  const u = new URL(url);
  return {
    origin: u.origin,
    database: u.pathname.replace(/^\//, '') || 'default',
    username: decodeURIComponent(u.username) || 'default',
    password: decodeURIComponent(u.password),
  };
}

/**
 * colonnade's headers, so the baseline does the same HTTP exchange.
 *
 * @example
 * headersOf(target(url)); // { 'x-clickhouse-user': 'default', 'content-type': 'text/plain; charset=utf-8' }
 */
export function headersOf(t: Target): Record<string, string> {
  const headers: Record<string, string> = { 'x-clickhouse-user': t.username, 'content-type': 'text/plain; charset=utf-8' };
  if (t.password !== '') headers['x-clickhouse-key'] = t.password;
  return headers;
}

function roundRobin<T>(items: readonly T[]): () => T {
  let next = 0;
  return () => {
    const item = items[next]!;
    next = (next + 1) % items.length;
    return item;
  };
}

async function undiciClient({ urls, perServer }: ClientSetup): Promise<BenchClient> {
  const servers = urls.map((url) => {
    const t = target(url);
    return { pool: new Pool(t.origin, { connections: perServer }), path: `/?database=${encodeURIComponent(t.database)}`, headers: headersOf(t) };
  });
  const pick = roundRobin(servers);
  return {
    async select() {
      const s = pick();
      const res = await s.pool.request({ method: 'POST', path: s.path, headers: s.headers, body: 'SELECT 1' });
      const text = await res.body.text();
      if (res.statusCode !== 200) throw new Error(`HTTP ${res.statusCode}: ${text.slice(0, 200)}`);
      return text;
    },
    async close() {
      await Promise.all(servers.map((s) => s.pool.close()));
    },
  };
}

async function clickhouseJsClient({ urls, perServer }: ClientSetup): Promise<BenchClient> {
  const clients: ClickHouseClient[] = urls.map((url) => {
    const t = target(url);
    return createClient({ url: t.origin, database: t.database, username: t.username, password: t.password, max_open_connections: perServer });
  });
  const pick = roundRobin(clients);
  return {
    async select() {
      const result = await pick().query({ query: 'SELECT 1', format: 'JSONEachRow' });
      return result.json();
    },
    async close() {
      await Promise.all(clients.map((c) => c.close()));
    },
  };
}

let pools = 0;

async function colonnadeClient({ urls, perServer, colonnade }: ClientSetup): Promise<BenchClient> {
  const pool = colonnade.definePool({
    connectionStrings: urls,
    name: `bench-${++pools}`,
    poolSize: perServer * urls.length,
    maxOverflow: 0,
  });
  await pool.start();
  return {
    select: () => pool.select('SELECT 1'),
    close: () => pool.stop(),
  };
}

async function performClient({ urls, perServer, colonnade }: ClientSetup): Promise<BenchClient> {
  const { parseConnectionString, perform, prepare } = colonnade;
  const servers = urls.map((url) => {
    const server = parseConnectionString(url);
    return { server, pool: new Pool(server.origin, { connections: perServer }) };
  });
  const pick = roundRobin(servers);
  const defaults = { timeout: 5_000, int64: 'auto', settings: {} } as const;
  return {
    select() {
      const s = pick();
      return perform(s.pool, s.server, prepare({ type: 'select', sql: 'SELECT 1' }), defaults);
    },
    async close() {
      await Promise.all(servers.map((s) => s.pool.close()));
    },
  };
}

/**
 * Opens one of the clients.
 *
 * @example
 * const client = await openClient('undici', { urls, perServer: 22, colonnade });
 * await client.select();
 * await client.close();
 */
export function openClient(name: ClientName, setup: ClientSetup): Promise<BenchClient> {
  switch (name) {
    case 'undici': return undiciClient(setup);
    case 'clickhouse-js': return clickhouseJsClient(setup);
    case 'colonnade': return colonnadeClient(setup);
    case 'perform': return performClient(setup);
  }
}
