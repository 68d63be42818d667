/**
 * A write whose answer was lost may or may not be stored. Before the writer sends it again
 * it finds out: it asks the server the send went to what became of the send's `query_id`
 * (see `queryOutcome` in the protocol layer), and when that server cannot tell, a table
 * that deduplicates identical blocks (`Replicated*MergeTree`) still makes a repeat safe.
 * Otherwise the outcome is unknown and the rows go to onError, never sent blindly again.
 */
import {
  AbortError, TRACEABLE, TimeoutError, TransportError, newQueryId, withOptions, type PreparedRequest, type QueryOutcome,
} from '../../clickhouse/index.js';
import { WriteOutcomeUnknownError } from './errors.js';

/**
 * Where a send went: the failover sets `server` when a connection took the request.
 *
 * @example
 * const trace: SendTrace = { server: -1 };
 * await runWithFailover(request, deps, trace); // trace.server: the index of the server that got it
 */
export interface SendTrace {
  server: number;
  /** Attempts of `runWithFailover` (set by it). */
  attempts?: number;
  /** What is sent, for the pool's `writer:batch` event: the table (undefined for a statement), its rows, which send of the batch this is. */
  readonly batch?: { readonly table: string | undefined; readonly rows: number; readonly attempt: number };
}

/**
 * How the writer learns what became of a send whose answer was lost.
 *
 * @example
 * const outcomes: WriteOutcomes = {
 *   label: (server) => servers[server].redacted,
 *   outcome: (server, queryId) => queryOutcome(servers[server], queryId),
 *   deduplicates: async (table) => (await engineOf(table)).startsWith('Replicated'),
 * };
 */
export interface WriteOutcomes {
  /** The redacted connection string of a server, for messages. */
  label(server: number): string;
  /** What `server` says of the send `queryId`; rejects when it cannot tell. */
  outcome(server: number, queryId: string): Promise<QueryOutcome>;
  /** True when `table` drops a block identical to one it stored (a Replicated*MergeTree). */
  deduplicates(table: string): Promise<boolean>;
}

/**
 * A batch as the writer sends it, every attempt the same: an insert carries a
 * deduplication token of its own (kept across retries, so that a repeat of a stored block
 * is dropped by the server, on servers that take tokens) and `asyncInsert: serverAsync`
 * (the writer already batches: server-side async inserts only when the pool asks for them).
 * What the caller set on a SQL insert is kept. Other requests are returned as they are.
 *
 * @example
 * unit.request = forWriter(unit.request, false); // options: { asyncInsert: false, deduplicationToken: '…' }
 */
export function forWriter(request: PreparedRequest, serverAsync: boolean): PreparedRequest {
  const { options } = request;
  // Stamped already (a retry), or both chosen by the caller: as it is.
  if ((request.type !== 'insert' && request.type !== 'insert_to_table') || (options.asyncInsert !== undefined && options.deduplicationToken !== undefined)) return request;
  return withOptions(request, { ...options, asyncInsert: options.asyncInsert ?? serverAsync, deduplicationToken: options.deduplicationToken ?? newQueryId() });
}

/**
 * The request of one attempt: its own `query_id` (after the caller's, when one was given)
 * and logged to `system.query_log`, so that its outcome can be looked up. Body unchanged.
 *
 * @example
 * const { request, queryId } = traced(unit.request);
 */
export function traced(request: PreparedRequest): { request: PreparedRequest; queryId: string } {
  const { options } = request;
  const queryId = options.queryId === undefined ? newQueryId() : `${options.queryId}-${newQueryId()}`;
  return { request: withOptions(request, { ...options, queryId, settings: { ...options.settings, ...TRACEABLE } }), queryId };
}

/**
 * True when a failed send may have been stored: a connection took it, and it failed after
 * the request (or part of it) could have reached the server.
 *
 * @example
 * if (mayHaveLanded(error, trace)) await settleUnknown(...);
 */
export function mayHaveLanded(error: unknown, trace: SendTrace): boolean {
  if (trace.server < 0) return false;
  if (error instanceof TransportError || error instanceof TimeoutError || error instanceof AbortError) return error.requestSent;
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'POOL_STOPPED' || code === 'POOL_CONNECTION_CRASHED';
}

/**
 * Decides a send that may have landed: `'stored'` (do not send again), `'repeat'` (not
 * stored, or stored in a table that drops the repeat: sending again cannot store it
 * twice); throws `WriteOutcomeUnknownError` when neither can be known.
 *
 * @example
 * const verdict = await settleUnknown({ error, server: trace.server, queryId, table: 'events', outcomes });
 */
export async function settleUnknown(args: {
  readonly error: unknown;
  readonly server: number;
  readonly queryId: string;
  readonly table: string | undefined;
  readonly outcomes: WriteOutcomes | undefined;
}): Promise<'stored' | 'repeat'> {
  const { error, server, queryId, table, outcomes } = args;
  if (!outcomes) throw new WriteOutcomeUnknownError(queryId, `server ${server}`, error, 'no way to ask');
  let asked: unknown;
  try {
    return (await outcomes.outcome(server, queryId)) === 'finished' ? 'stored' : 'repeat';
  } catch (failure) {
    asked = failure;
  }
  if (table !== undefined && (await outcomes.deduplicates(table).catch(() => false))) return 'repeat';
  const why = `its server could not say whether it was stored (${asked instanceof Error ? asked.message : String(asked)})` +
    (table === undefined ? '' : `, and table ${table} does not deduplicate`);
  throw new WriteOutcomeUnknownError(queryId, outcomes.label(server), error, why);
}
