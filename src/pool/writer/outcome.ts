/**
 * A write whose answer was lost may or may not be stored. Before the writer sends it again
 * it finds out: it asks the server the send went to what became of the send's `query_id`
 * (see `queryOutcome` in the protocol layer), and when that server cannot tell, a table
 * that deduplicates identical blocks (`Replicated*MergeTree`) still makes a repeat safe.
 * Otherwise the outcome is unknown and the rows go to onError, never sent blindly again.
 */
import {
  AbortError, QueryParamError, TRACEABLE, TimeoutError, TransportError, allRefused, insertStopOf, newQueryId, withOptions, withRequestSent, type PreparedRequest, type QueryOutcome, type Row,
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
  /** Set by whoever watches a send that failed: called by the writer with the error that stands once it is judged (undefined: the send was found stored). */
  told?: (error: unknown) => void;
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
 * Decides a send that may have landed, by the query id of the statement sent last:
 * `'stored'` (do not send it again), `'not-stored'` (it failed or never started: sending it
 * again cannot store it twice), `'repeat'` (unknown, but the table drops a repeat of a
 * stored block: the whole request may go again, as it was); throws
 * `WriteOutcomeUnknownError` when none can be known.
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
}): Promise<'stored' | 'not-stored' | 'repeat'> {
  const { error, server, queryId, table, outcomes } = args;
  if (!outcomes) throw new WriteOutcomeUnknownError(queryId, `server ${server}`, error, 'no way to ask');
  let asked: unknown;
  try {
    return (await outcomes.outcome(server, queryId)) === 'finished' ? 'stored' : 'not-stored';
  } catch (failure) {
    asked = failure;
  }
  if (table !== undefined && (await outcomes.deduplicates(table).catch(() => false))) return 'repeat';
  const why = `its server could not say whether it was stored (${asked instanceof Error ? asked.message : String(asked)})` +
    (table === undefined ? '' : `, and table ${table} does not deduplicate`);
  throw new WriteOutcomeUnknownError(queryId, outcomes.label(server), error, why);
}

/**
 * What a failed send leaves to do. `done`: everything is stored, nothing more to send.
 * Otherwise `error` goes on (retried or reported as the writer decides). `keep`, when set:
 * part of the request is settled (the statements before the one that failed are stored; the
 * one whose answer was lost may be stored, or its outcome unknown): the unit keeps only
 * `keep` and sends it as a request of its own; `lost` are rows to report now, whose outcome
 * cannot be known. Rows of several column sets can be a statement per set (18.16), sent
 * in order; the statement looked up is the one sent last.
 *
 * @example
 * const verdict = await judgeFailure({ error, trace, queryId, statements: 1, table: 'events', outcomes });
 * if (verdict.keep) unit.keep(verdict.keep);
 * if (!verdict.done) throw verdict.error;
 */
export async function judgeFailure(args: {
  readonly error: unknown;
  readonly trace: SendTrace;
  readonly queryId: string;
  /** The column sets of the request: when more than one and `error` says nothing of where it stopped, the first statement's outcome tells nothing of the rest. */
  readonly statements: number;
  readonly table: string | undefined;
  readonly outcomes: WriteOutcomes | undefined;
}): Promise<{ readonly done: boolean; readonly error?: unknown; readonly keep?: readonly Row[]; readonly lost?: { readonly error: Error; readonly rows: readonly Row[] }; readonly repeat?: boolean }> {
  const { error, trace } = args;
  const stop = insertStopOf(error);
  // The statements before the one sent last are stored; its rows and those after it may not be.
  const unsure = stop !== undefined && stop.index > 0 ? [...stop.inFlight, ...stop.after] : undefined;
  if (!mayHaveLanded(error, trace)) return { done: false, error, keep: unsure };
  let verdict: 'stored' | 'not-stored' | 'repeat';
  try {
    verdict = await settleUnknown({ ...args, server: trace.server, queryId: stop?.queryId ?? args.queryId });
  } catch (unknown) {
    // The rows never sent go again (nothing of them can be stored twice); only the lost
    // statement's rows are reported, under its query id.
    if (stop !== undefined && stop.after.length > 0) return { done: false, error: neverSent(error), keep: stop.after, lost: { error: unknown as Error, rows: stop.inFlight } };
    return { done: false, error: unknown, keep: unsure };
  }
  // Unknown, but the table drops a repeated block: all of it again, the same bytes.
  if (verdict === 'repeat') return { done: false, error, repeat: true };
  if (verdict === 'not-stored') return { done: false, error, keep: unsure };
  // Stored: the rows after it were never sent, and go again as such.
  if (stop !== undefined) return stop.after.length === 0 ? { done: true } : { done: false, error: neverSent(error), keep: stop.after };
  // The connection ended under the call: where a request of several statements stopped is
  // not known, so its first statement's outcome settles nothing.
  if (args.statements > 1) {
    if (args.table !== undefined && args.outcomes !== undefined && (await args.outcomes.deduplicates(args.table).catch(() => false))) return { done: false, error };
    const why = `it was sent as ${args.statements} statements (a column set each) and the first was stored, but where the rest stopped is not known`;
    return { done: false, error: new WriteOutcomeUnknownError(args.queryId, args.outcomes?.label(trace.server) ?? `server ${trace.server}`, error, why) };
  }
  return { done: true };
}

/** `error`, for rows that never left: a retry cannot store them twice. */
function neverSent(error: unknown): unknown {
  return withRequestSent(error, false);
}

/**
 * A batch refused for some of its rows (values only the table's description refuses, a
 * `Date` past 2106 for a `DateTime` column say, found as the batch was encoded, before its
 * statement was sent): those rows, each alone (`lost`, as the writer reports them) with its error named by its column alone (its place
 * in the batch means nothing to the caller), and the batch's other `unsettled` rows, which go
 * again as a batch of their own (none: every unsettled row was refused). Undefined for any other failure.
 *
 * @example
 * const refused = refusedRows(error, unit.request, unitRows(unit));
 * if (refused) { for (const l of refused.lost) report(l.error, l.rows); send(refused.rest); }
 */
export function refusedRows(error: unknown, request: PreparedRequest, unsettled: readonly Row[]): { readonly lost: readonly { readonly error: Error; readonly rows: readonly Row[] }[]; readonly rest: readonly Row[] } | undefined {
  if (!(error instanceof QueryParamError) || error.row === undefined) return undefined;
  const given = request.insert?.rows;
  const open = new Set(unsettled);
  const out = new Set<Row>();
  const lost: { error: Error; rows: Row[] }[] = [];
  for (const refusal of allRefused(error)) {
    const row = refusal.row === undefined ? undefined : given?.[refusal.row];
    if (row === undefined) return undefined;
    out.add(row);
    if (!open.has(row)) continue;
    const reason = refusal.message.slice(`parameter ${refusal.param}: `.length);
    lost.push({ error: new QueryParamError(refusal.param.replace(/^rows\[\d+\]\.?/, '') || 'row', reason, { cause: refusal }), rows: [row] });
  }
  return lost.length === 0 ? undefined : { lost, rest: unsettled.filter((r) => !out.has(r)) };
}
