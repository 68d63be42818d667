/**
 * The pool's answer to the async writer's question "what became of this send?": the
 * server it went to is asked by `query_id` over a short-lived connection, and a table's
 * engine (does it deduplicate a repeated block?) is looked up once through the pool.
 */
import { quoteString, type QueryOutcome, type ServerConfig } from '../clickhouse/index.js';
import type { WriteOutcomes } from './writer/outcome.js';

// Engines that drop a block identical to one already stored (insert_deduplicate, on by default).
const DEDUPLICATING = /^Replicated\w*MergeTree$/;
const MAX_TABLES = 1_000;

/**
 * Builds the writer's `WriteOutcomes` for a pool of `servers`: `outcome` asks one server
 * (the pool's I/O; without it no outcome can be known), `select` runs a read through the pool.
 *
 * @example
 * const outcomes = poolWriteOutcomes(opts.servers, (server, id) => queryOutcome(server, id), (sql) => pool.select(sql));
 */
export function poolWriteOutcomes(
  servers: readonly ServerConfig[],
  outcome: ((server: ServerConfig, queryId: string) => Promise<QueryOutcome>) | undefined,
  select: (sql: string) => Promise<readonly Record<string, unknown>[]>,
): WriteOutcomes {
  const engines = new Map<string, Promise<boolean>>();
  return {
    label: (server) => servers[server]?.redacted ?? `server ${server}`,
    outcome: async (server, queryId) => {
      if (!outcome) throw new Error('this pool has no way to ask');
      return outcome(servers[server] as ServerConfig, queryId);
    },
    deduplicates(table) {
      let known = engines.get(table);
      if (known === undefined) {
        const dot = table.indexOf('.');
        const database = dot < 0 ? 'currentDatabase()' : quoteString(table.slice(0, dot));
        const name = quoteString(dot < 0 ? table : table.slice(dot + 1));
        known = select(`SELECT engine FROM system.tables WHERE database = ${database} AND name = ${name}`)
          .then((rows) => DEDUPLICATING.test(String(rows[0]?.engine ?? '')));
        if (engines.size >= MAX_TABLES) engines.clear();
        engines.set(table, known);
        known.catch(() => engines.delete(table));
      }
      return known;
    },
  };
}
