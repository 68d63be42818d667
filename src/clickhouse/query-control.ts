/**
 * Control of a query already sent, by its `query_id`, over a short-lived connection of its
 * own: stop it (`KILL QUERY`), or find out what became of it (`system.processes`,
 * `system.query_log`). ClickHouse keeps running a query whose client went away, and a
 * write whose answer was lost may or may not have been stored: these are how a client
 * finds out instead of guessing.
 */
import { randomUUID } from 'node:crypto';
import { ClickHouseError, QueryParamError } from './errors.js';
import { send } from './http.js';
import { queryPath } from './query-path.js';
import { checkResponse } from './response.js';
import { openTransport } from './transport.js';
import { type ServerInfo, knownServerInfo, serverInfo } from './server-info.js';
import { type TableSchema, cachedTableSchema, forgetTableSchema, schemaKey, tableSchemaOf } from './table-schema.js';
import type { ServerConfig, Settings, Transport } from './types.js';

// How long `describedWithin` waits for a description, bounds asking for one, and remembers a failure.
const SOON_MS = 1_000;
const SOON_LIMIT_MS = 5_000;
const FAILED_MS = 30_000;
// When `describedWithin` last failed to describe a table (by `schemaKey`).
const failures = new Map<string, number>();
const PREFIX = `colonnade-${randomUUID().slice(0, 8)}`;
let counter = 0;

/**
 * A `query_id` unique to this process and call: every request colonnade sends carries one,
 * so a timed-out or aborted query can be stopped and a write's outcome looked up.
 *
 * @example
 * newQueryId(); // 'colonnade-1a2b3c4d-17'
 */
export function newQueryId(): string {
  return `${PREFIX}-${++counter}`;
}

/**
 * Control connections open now, with the config of whoever opened them (a pool's server, a
 * `connect()`'s: each parses its own, so one's end does not cut another's to the same
 * server), a signal `endControls` aborts, and a promise of their end.
 */
const controls = new Map<Transport, { readonly server: ServerConfig; readonly ended: AbortController; readonly done: Promise<void> }>();

/** Runs `use` over a connection of its own to `server`, closed (and forgotten) afterwards; `ended` aborts when its owner ends it. */
async function withControl<T>(server: ServerConfig, use: (transport: Transport, ended: AbortSignal) => Promise<T>): Promise<T> {
  const transport = openTransport(server, { connections: 1 });
  let release!: () => void;
  const ended = new AbortController();
  controls.set(transport, { server, ended, done: new Promise<void>((resolve) => (release = resolve)) });
  try {
    return await use(transport, ended.signal);
  } finally {
    await transport.close().catch(() => transport.destroy().catch(() => undefined));
    controls.delete(transport);
    release();
  }
}

/**
 * The table `quotedTable` described afresh (its cached description dropped), on a connection
 * of its own: the caller's may be busy with the very insert that asks (a pooled connection
 * takes one request at a time).
 *
 * @example
 * const schema = await describeAfresh(server, '`events`', () => 5_000);
 */
export function describeAfresh(server: ServerConfig, quotedTable: string, timeout: () => number, signal?: AbortSignal): Promise<TableSchema> {
  forgetTableSchema(server, quotedTable);
  return withControl(server, (transport) => tableSchemaOf(transport, server, quotedTable, timeout, signal));
}

/**
 * The table's description when it is cached or comes soon (within 1 s, and a quarter of
 * `timeout()`, of when it was first asked; on a connection of its own, left to finish and be
 * cached when it comes later, bounded by 5 s), else `undefined`; one that failed is not
 * asked again for 30 s. For what only may use it, so that a slow server, or a user who may
 * not describe the table, delays an insert a little at most. `afresh` drops what is cached.
 *
 * @example
 * const schema = await describedWithin(server, '`events`', () => 5_000);
 */
export async function describedWithin(server: ServerConfig, quotedTable: string, timeout: () => number, afresh = false): Promise<TableSchema | undefined> {
  const key = schemaKey(server, quotedTable);
  const now = Date.now();
  if (!afresh && now < (failures.get(key) ?? -Infinity) + FAILED_MS) return undefined;
  if (afresh) forgetTableSchema(server, quotedTable);
  const cached = cachedTableSchema(server, quotedTable);
  // Come already: no wait to arm (every insert of numbers alone asks).
  if (cached?.value !== undefined) return cached.value;
  const since = cached?.asked ?? now;
  // Not the caller's signal: another insert may be waiting for the same description.
  const described = cached?.columns ?? withControl(server, (transport) => tableSchemaOf(transport, server, quotedTable, () => Math.min(timeout(), SOON_LIMIT_MS)));
  if (cached === undefined) described.then(() => failures.delete(key), () => failures.set(key, Date.now()));
  const asked = described.catch(() => undefined);
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<undefined>((resolve) => (timer = setTimeout(resolve, Math.max(0, since + Math.min(SOON_MS, timeout() / 4) - now), undefined)));
  try {
    return await Promise.race([asked, late]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Checks by the table's description (`describedWithin`) with `check`, which throws
 * `QueryParamError` for a row it refuses (a key the table lacks, a value out of its column's
 * range): that is checked again once by a description asked afresh (a column added or
 * widened since), whose refusal stands. No description in time: nothing is refused.
 *
 * @example
 * await checkedWithin(server, '`events`', () => 5_000, (schema) => refuseRows(rows, groups, schema));
 */
export async function checkedWithin(server: ServerConfig, quotedTable: string, timeout: () => number, check: (schema: TableSchema) => void): Promise<void> {
  for (let afresh = false; ; afresh = true) {
    const schema = await describedWithin(server, quotedTable, timeout, afresh);
    if (schema === undefined) return;
    try {
      check(schema);
      return;
    } catch (err) {
      if (afresh || !(err instanceof QueryParamError)) throw err;
    }
  }
}

/**
 * Asks `server` to stop the query `queryId` (`KILL QUERY ... ASYNC`), on a connection of its
 * own that is closed afterwards; best effort, bounded by `timeout` (default 1 s), never
 * rejects. The pool calls it when a caller's timeout or abort gives up on a query the
 * server is still running.
 *
 * @example
 * await killQuery(server, 'report-1', { timeout: 1_000 });
 */
export function killQuery(server: ServerConfig, queryId: string, options: { timeout?: number } = {}): Promise<void> {
  const sql = `KILL QUERY WHERE query_id = ${quote(queryId)} ASYNC FORMAT TabSeparated`;
  return withControl(server, async (transport) => {
    checkResponse(await send(transport, server, { method: 'POST', path: queryPath(server, []), body: sql, timeout: options.timeout ?? 1_000 }));
  }).catch(() => undefined);
}

/**
 * Reads `server`'s version, time zone and features (`serverInfo`) on a connection of its
 * own, closed afterwards, unless they are known already; never rejects (an unreachable
 * server resolves `undefined`, and is asked again next time). The pool calls it when it
 * starts and whenever a server comes back up.
 *
 * @example
 * const info = await learnServerInfo(server, { timeout: 2_000 }); // info?.version: '26.7.2.1'
 */
export function learnServerInfo(server: ServerConfig, options: { timeout: number }): Promise<ServerInfo | undefined> {
  const known = knownServerInfo(server);
  if (known !== undefined) return Promise.resolve(known);
  return withControl(server, (transport) => serverInfo(transport, server, options)).catch(() => undefined);
}

/**
 * How far a running query got, as its server's `system.processes` tells it.
 *
 * @example
 * const onProgress = (p: Progress) => console.log(`${p.readRows} / ${p.totalRowsToRead} rows, ${p.elapsedMs} ms`);
 */
export interface Progress {
  /** Rows and bytes read so far. */
  readonly readRows: number;
  readonly readBytes: number;
  /** The server's estimate of all rows it will read (0 when it has none). */
  readonly totalRowsToRead: number;
  /** Rows and bytes written so far (inserts). */
  readonly writtenRows: number;
  readonly writtenBytes: number;
  /** Milliseconds since the server started the query. */
  readonly elapsedMs: number;
  /** For an insert from a row source: rows the client has sent so far (0 otherwise). */
  readonly sentRows: number;
}

/**
 * A running watch of a query's progress (see `watchProgress`).
 *
 * @example
 * const watch = watchProgress(server, queryId, onProgress);
 * watch.sent(50_000);
 * watch.stop();
 */
export interface ProgressWatch {
  /** Reports rows the client has sent (an insert from a source); calls `onProgress` at once. */
  sent(rows: number): void;
  /** Ends the watch. */
  stop(): void;
}

const PROGRESS_COLUMNS = 'read_rows, read_bytes, total_rows_approx, written_rows, written_bytes, elapsed';

/**
 * Watches the query `queryId` on `server` while it runs: every `every` ms its row in
 * `system.processes` is read, on a connection of its own, and handed to `onProgress`
 * (its `elapsed` moves, so every read while it runs is news). Returns the stop; the connection closes after the question in flight. Never
 * throws (a callback's throw is dropped, a failed question is asked again next time).
 *
 * @example
 * const stop = watchProgress(server, queryId, (p) => bar.update(p.readRows / p.totalRowsToRead));
 * try { await perform(...); } finally { stop(); }
 */
export function watchProgress(server: ServerConfig, queryId: string, onProgress: (progress: Progress) => void, every = 200): ProgressWatch {
  let stopped = false;
  let state: Progress = { readRows: 0, readBytes: 0, totalRowsToRead: 0, writtenRows: 0, writtenBytes: 0, elapsedMs: 0, sentRows: 0 };
  const tell = (next: Progress): void => {
    state = next;
    try {
      // The caller's callback is not the query's failure, nor is its promise's rejection.
      const told: unknown = onProgress(next);
      if (told instanceof Promise) told.catch(() => undefined);
    } catch {
      // As above.
    }
  };
  let wake: (() => void) | undefined;
  const sleep = (): Promise<void> => new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, every);
    wake = () => {
      clearTimeout(timer);
      resolve();
    };
  });
  // The query and the statements it was split into (`<id>-1`, `<id>-2` ... of a multi-statement insert).
  const like = quote(`${queryId.replace(/[\\%_]/g, '\\$&')}-%`);
  const sql = `SELECT ${PROGRESS_COLUMNS} FROM system.processes WHERE query_id = ${quote(queryId)} OR query_id LIKE ${like} ORDER BY elapsed LIMIT 1 FORMAT TabSeparated`;
  void withControl(server, async (transport, ended) => {
    // Ended with its owner (a pool stopped, a connection closed) as when stopped.
    ended.addEventListener('abort', () => wake?.(), { once: true });
    while (!stopped && !ended.aborted) {
      await sleep();
      if (stopped || ended.aborted) break;
      const line = await send(transport, server, { method: 'POST', path: queryPath(server, []), body: sql, timeout: Math.max(every * 5, 1_000) })
        .then((res) => checkResponse(res).split('\n')[0] ?? '', () => '');
      if (stopped || line === '') continue;
      const [readRows, readBytes, total, writtenRows, writtenBytes, elapsed] = line.split('\t').map(Number);
      tell({
        readRows: readRows ?? 0, readBytes: readBytes ?? 0, totalRowsToRead: total ?? 0,
        writtenRows: writtenRows ?? 0, writtenBytes: writtenBytes ?? 0, elapsedMs: Math.round((elapsed ?? 0) * 1000), sentRows: state.sentRows,
      });
    }
  }).catch(() => undefined);
  return {
    sent: (rows) => {
      if (!stopped) tell({ ...state, sentRows: rows });
    },
    stop: () => {
      stopped = true;
      wake?.();
    },
  };
}

/**
 * Ends the control connections (`killQuery`, `queryOutcome`, a table's `DESCRIBE`, a
 * progress watch) opened with any of `servers` (these very configs: another pool's or
 * connection's to the same server are not touched): waits up to `grace` ms for them to
 * finish, then destroys what is left (a question cut short this way rejects). A stopping
 * pool and a closing connection call it last, so that they leave no socket behind.
 *
 * @example
 * await endControls(pool.servers, 1_000);
 */
export async function endControls(servers: readonly ServerConfig[], grace: number): Promise<void> {
  const owners = new Set(servers);
  const mine = [...controls].filter(([, c]) => owners.has(c.server));
  if (mine.length === 0) return;
  for (const [, c] of mine) c.ended.abort();
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([Promise.all(mine.map(([, c]) => c.done)), new Promise<void>((resolve) => (timer = setTimeout(resolve, grace)))]);
  clearTimeout(timer);
  await Promise.all(mine.map(async ([transport, c]) => {
    if (!controls.has(transport)) return;
    await transport.destroy().catch(() => undefined);
    await c.done;
  }));
}

/**
 * What became of a query, as its server tells it:
 * - `finished`: it ran to its end (a write is stored);
 * - `failed`: it ended with an error, or was killed (a single-block write is not stored);
 * - `absent`: the server has no trace of it in its query log (it never started a query with this id).
 *
 * @example
 * const outcome: QueryOutcome = await queryOutcome(server, 'colonnade-1a2b3c4d-17');
 */
export type QueryOutcome = 'finished' | 'failed' | 'absent';

/**
 * Settings that make a query findable by `queryOutcome` afterwards: it is written to
 * `system.query_log`.
 *
 * @example
 * prepare({ type: 'insert', sql: 'INSERT INTO t VALUES (1)', options: { settings: TRACEABLE, queryId: newQueryId() } });
 */
export const TRACEABLE: Settings = Object.freeze({ log_queries: 1 });

/**
 * Finds out what became of the query `queryId` sent to `server` with `TRACEABLE` settings:
 * while it still runs it waits up to `wait` ms for it, then kills it (`SYNC`); then it
 * flushes the server's logs and reads `system.query_log`. Rejects (a `TransportError`,
 * `TimeoutError` or `ClickHouseError`) when the server cannot tell: then the outcome is
 * unknown. Each request is bounded by `timeout`; a connection of its own, closed after.
 *
 * @example
 * const outcome = await queryOutcome(server, queryId, { timeout: 2_000, wait: 1_000 });
 * if (outcome === 'finished') console.log('stored');
 */
export async function queryOutcome(
  server: ServerConfig,
  queryId: string,
  options: { timeout?: number; wait?: number } = {},
): Promise<QueryOutcome> {
  const timeout = options.timeout ?? 2_000;
  const id = quote(queryId);
  return withControl(server, async (transport) => {
    const ask = async (sql: string): Promise<string> => checkResponse(await send(transport, server, {
      method: 'POST', path: queryPath(server, []), body: sql, timeout,
    }));
    const until = Date.now() + (options.wait ?? 0);
    for (let polls = 0; ; polls++) {
      const running = await ask(`SELECT count() FROM system.processes WHERE query_id = ${id} FORMAT TabSeparated`);
      if (running.trim() === '0') break;
      if (Date.now() >= until || polls >= 50) {
        await ask(`KILL QUERY WHERE query_id = ${id} SYNC FORMAT TabSeparated`);
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    let types = '';
    // A query leaves system.processes a moment before its end is in the log queue: an entry
    // that shows it started but not how it ended is read again, twice, before it counts.
    for (let read = 0; read < 3; read++) {
      if (read > 0) await new Promise((resolve) => setTimeout(resolve, 300));
      await ask('SYSTEM FLUSH LOGS');
      try {
        // type: 1 started, 2 finished, 3 failed before it started, 4 failed while running.
        types = await ask(`SELECT groupUniqArray(toUInt8(type)) FROM system.query_log WHERE query_id = ${id} FORMAT TabSeparated`);
      } catch (error) {
        // No system.query_log after a flush: either no logged query ever ran there, or the
        // server keeps no query log at all (a modern server without one configured). The two
        // look alike, so the server cannot tell.
        if (error instanceof ClickHouseError && error.serverCode === 60) {
          throw new ClickHouseError({ serverCode: 60, serverMessage: `${server.redacted} keeps no system.query_log: the outcome of ${queryId} cannot be looked up` }, error.status);
        }
        throw error;
      }
      if (/\b[234]\b/.test(types)) break;
    }
    if (/\b[34]\b/.test(types)) return 'failed';
    if (/\b2\b/.test(types)) return 'finished';
    // Started, never ended, no longer running: only a server restart does that; it wrote nothing it confirmed.
    return /\b1\b/.test(types) ? 'failed' : 'absent';
  });
}


function quote(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}
