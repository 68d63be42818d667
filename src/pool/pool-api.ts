/**
 * The pool's public shape: the messages `send` accepts, what each resolves with, and the
 * `ClickHousePool` interface that `definePool` returns (built in define-pool.ts).
 */
import type { CallOptions, Command, CommandResults, InsertResult, QueryParams, Row, RowSource, RowStream } from '../clickhouse/index.js';
import type { ChildSpec, ChildSpecSource, SupervisorOptions } from '../otp/index.js';
import type { PoolEventEmitter } from './events.js';
import type { PoolStats } from './stats.js';

/**
 * Fire-and-forget messages, handed to the writer.
 *
 * @example
 * const message: AsyncMessage = { type: 'async_insert_to_table', table: 'logs', rows: { event: 'view' } };
 * await MyClickHouse.send(message); // resolves once queued
 */
export type AsyncMessage =
  | { readonly type: 'async_insert'; readonly sql: string; readonly params?: QueryParams }
  | { readonly type: 'async_insert_to_table'; readonly table: string; readonly rows: Row | readonly Row[] }
  | { readonly type: 'async_query'; readonly sql: string; readonly params?: QueryParams };

/**
 * Everything `send` accepts.
 *
 * @example
 * const message: PoolMessage = { type: 'select', sql: 'SELECT * FROM users WHERE id = {id}', params: { id: 1 }, options: { timeout: 30_000 } };
 * await MyClickHouse.send(message);
 */
export type PoolMessage = Command | AsyncMessage;

/**
 * What each message resolves with; async ones resolve once queued.
 *
 * @example
 * const rows: PoolResults['select'] = await MyClickHouse.send({ type: 'select', sql: 'SELECT 1' });
 */
export interface PoolResults extends CommandResults {
  async_insert: void;
  async_insert_to_table: void;
  async_query: void;
}

/**
 * A pool defined by `definePool`: a child spec source plus the query API.
 *
 * @example
 * const Analytics: ClickHousePool = definePool({ connectionStrings: ['http://user:password@127.0.0.1:8123/db'], name: 'Analytics' });
 * await Analytics.start();
 * await Analytics.insertToTable('users', [{ id: 1, name: 'Ann' }]);
 * await Analytics.stop();
 */
export interface ClickHousePool extends ChildSpecSource {
  readonly name: string;
  /** Typed events (eventemitter3): `query`, `server:down`/`server:up`, `connection`, `checkout:timeout`, `writer:*`, `supervisor:*`; see `PoolEvents`. */
  readonly events: PoolEventEmitter;
  /** The pool's supervisor spec, for `startSupervisor([pool])`. */
  childSpec(): ChildSpec;
  /** Starts the pool under its own root supervisor (instead of `startSupervisor([pool])`). */
  start(options?: Pick<SupervisorOptions, 'inspect' | 'clock'>): Promise<void>;
  /** Stops a pool started with `start()`, draining the writer. Idempotent. */
  stop(): Promise<void>;
  /** The one entry point: every method below is `send` with a message. */
  send<M extends PoolMessage>(message: M): Promise<PoolResults[M['type']]>;
  select(sql: string, params?: QueryParams, options?: CallOptions): Promise<Row[]>;
  /**
   * The rows of a query as they arrive (see `RowStream`). The request holds one of the
   * pool's connections from the loop's first step until its end; before the first row it
   * fails over like `select`, after it never. Bad input throws here.
   */
  stream(sql: string, params?: QueryParams, options?: CallOptions): RowStream;
  insert(sql: string, params?: QueryParams, options?: CallOptions): Promise<void>;
  /** Rows as an array (checked in the call, read again as sent: leave them unchanged until it settles), or a generator / async generator / object-mode `Readable` sent as it is read (see `Connection.insertToTable`). */
  insertToTable(table: string, rows: Row | readonly Row[] | RowSource, options?: CallOptions): Promise<InsertResult>;
  query(sql: string, params?: QueryParams, options?: CallOptions): Promise<string>;
  /** Queues an insert statement; returns at once, throws here on bad input. */
  asyncInsert(sql: string, params?: QueryParams): void;
  /** Queues rows, batched per table; returns at once, throws here on bad input. */
  asyncInsertToTable(table: string, rows: Row | readonly Row[]): void;
  /** Queues any statement; returns at once. */
  asyncQuery(sql: string, params?: QueryParams): void;
  /** Resolves when everything queued so far is written (or dead-lettered). */
  flush(): Promise<void>;
  stats(): PoolStats;
}
