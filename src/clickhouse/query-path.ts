/**
 * The path and query string of a ClickHouse query request: its database, settings in layers
 * and query id. Knows nothing of the request itself.
 */
import type { ServerConfig, Settings } from './types.js';

/**
 * The path and query string of a query request: database, settings (later ones win),
 * `query_id`. Credentials are never part of it.
 *
 * @example
 * queryPath(server, [{ max_threads: 2 }], 'q-1'); // '/?database=default&max_threads=2&query_id=q-1'
 */
export function queryPath(server: ServerConfig, layers: readonly (Settings | undefined)[], queryId?: string): string {
  if (layers.every(isEmpty)) {
    // The common call adds nothing to the server's own path but its query id: build that once per server.
    let path = serverPaths.get(server);
    if (path === undefined) {
      path = buildPath(server, []);
      serverPaths.set(server, path);
    }
    if (queryId === undefined) return path;
    return PLAIN_ID.test(queryId) ? `${path}&query_id=${queryId}` : `${path}&${new URLSearchParams({ query_id: queryId }).toString()}`;
  }
  return buildPath(server, layers, queryId);
}

const serverPaths = new WeakMap<ServerConfig, string>();
const PLAIN_ID = /^[\w.-]+$/;

function isEmpty(settings: Settings | undefined): boolean {
  for (const _ in settings) return false;
  return true;
}

function buildPath(server: ServerConfig, layers: readonly (Settings | undefined)[], queryId?: string): string {
  const merged: Record<string, string> = {};
  for (const layer of [server.settings, ...layers]) {
    if (!layer) continue;
    for (const [key, value] of Object.entries(layer)) merged[key] = typeof value === 'boolean' ? (value ? '1' : '0') : String(value);
  }
  const params = new URLSearchParams({ database: server.database, ...merged });
  if (queryId !== undefined) params.set('query_id', queryId);
  return `/?${params.toString()}`;
}
