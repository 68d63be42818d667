/**
 * `definePool`: the pool's public API. Every message goes through one dispatcher: it is
 * prepared once (bad input throws before anything is sent), then run through the broker
 * with failover, or handed to the async writer. The tree of actors lives in pool-tree.ts.
 */
import { QueryParamError, createRowStream, isRowSource, prepare, withEitherSignal, type CallOptions, type InsertResult, type PreparedRequest, type QueryParams, type Row, type RowSource, type RowStream } from '../clickhouse/index.js';
import { realClock, startSupervisor, type ChildSpec, type Supervisor, type SupervisorOptions } from '../otp/index.js';
import { defaultIO, type ConnectionIO } from './connection/io.js';
import { observedBatch, observedCall, observedSpec, reportingLoss, type EmitContext } from './emit.js';
import { PoolError, PoolNotStartedError } from './errors.js';
import { createPoolEvents, type PoolEventEmitter } from './events.js';
import { failoverDeps, runWithFailover, type FailoverDeps } from './failover.js';
import { resolvePoolOptions, type PoolOptions, type ResolvedPoolOptions } from './options.js';
import type { ClickHousePool, PoolMessage, PoolResults } from './pool-api.js';
import { PoolTree } from './pool-tree.js';
import { collectStats, type PoolStats } from './stats.js';
import { poolWriteOutcomes } from './write-outcomes.js';
import { createWriter, type Writer } from './writer/writer.js';

/**
 * Defines a pool. Options are validated at once (`ConfigError` naming each bad key);
 * nothing connects until the pool is started.
 *
 * @example
 * export const MyClickHouse = definePool({
 *   connectionStrings: ['http://user:password@clickhouse-1:8123/db', 'http://user:password@clickhouse-2:8123/db'],
 *   name: 'MyClickHouse',
 *   poolSize: 15,
 * });
 * const app = await startSupervisor([MyClickHouse]);
 * const rows = await MyClickHouse.select('SELECT * FROM users WHERE age > {min_age}', { min_age: 21 });
 */
export function definePool(options: PoolOptions): ClickHousePool {
  const opts = resolvePoolOptions(options);
  const { timeout, int64, settings, maxResultBytes, compression } = opts;
  return new Pool(opts, defaultIO({ timeout, int64, settings, maxResultBytes, ...(compression ? { compression } : {}) }));
}

/**
 * `definePool` with the connections' I/O replaced: the test seam (not exported by the package).
 *
 * @example
 * const pool = definePoolWith({ connectionStrings: ['http://127.0.0.1:8123/default'] }, { ...defaultIO(defaults), probe: async () => {} });
 */
export function definePoolWith(options: PoolOptions, io: ConnectionIO): ClickHousePool {
  return new Pool(resolvePoolOptions(options), io);
}

class Pool implements ClickHousePool {
  readonly name: string;
  readonly events: PoolEventEmitter = createPoolEvents();
  readonly #emit: EmitContext;
  readonly #opts: ResolvedPoolOptions;
  readonly #writer: Writer;
  readonly #tree: PoolTree;
  readonly #failover: FailoverDeps;
  readonly #errors: number[];
  #app: Supervisor | undefined;
  #starting: Promise<void> | undefined;

  constructor(opts: ResolvedPoolOptions, io: ConnectionIO) {
    this.#opts = opts;
    this.name = opts.name;
    this.#errors = opts.servers.map(() => 0);
    this.#emit = { pool: opts.name, events: this.events, servers: opts.servers };
    const options = {
      mailbox: opts.asyncMailbox, batchSize: opts.asyncBatchSize, flushInterval: opts.asyncFlushInterval, overflow: opts.asyncOverflow, retries: opts.asyncRetries,
      backoff: opts.backoff, onError: reportingLoss(this.#emit, opts.onError, () => this.#writer.stats().dropped), serverAsyncInsert: opts.serverAsyncInsert,
    };
    this.#writer = createWriter({
      id: 'writer', clock: realClock, options, outcomes: poolWriteOutcomes(opts.servers, io.outcome, (sql) => runWithFailover(prepare({ type: 'select', sql }), this.#failover) as Promise<Row[]>),
      run: (request, trace) => observedBatch(this.#emit, trace, () => runWithFailover(request, this.#failover, trace)),
    });
    this.#tree = new PoolTree({ opts, io, writer: this.#writer, errors: this.#errors, registrant: this, events: this.events });
    this.#failover = failoverDeps(opts, () => this.#tree.live?.broker);
  }

  childSpec(): ChildSpec {
    return observedSpec(this.#tree.childSpec(), this);
  }

  // Concurrent calls share one start; a pool already running (here or under a supervisor) is left as it is.
  start(options: Pick<SupervisorOptions, 'inspect' | 'clock'> = {}): Promise<void> {
    if (this.#app || this.#tree.live) return Promise.resolve();
    this.#starting ??= startSupervisor([this], { ...options, id: `${this.name}-root` }).then(
      (app) => {
        this.#app = app;
        this.#starting = undefined;
      },
      (error: unknown) => {
        this.#starting = undefined;
        throw error;
      },
    );
    return this.#starting;
  }

  async stop(): Promise<void> {
    await this.#starting?.catch(() => undefined);
    const app = this.#app;
    if (!app) {
      if (this.#tree.live) {
        throw new PoolError('POOL_SUPERVISED', `pool "${this.name}" runs under startSupervisor: stop that supervisor instead`);
      }
      return;
    }
    await app.stop();
    if (this.#app === app) this.#app = undefined;
  }

  send<M extends PoolMessage>(message: M): Promise<PoolResults[M['type']]> {
    try {
      return (message === null || typeof message !== 'object' ? prepare(message) : this.#dispatch(message)) as Promise<PoolResults[M['type']]>;
    } catch (error) {
      return Promise.reject(error);
    }
  }

  // One message object per call; `prepare` reads an undefined field as absent, a JS caller's `null` is dropped.
  select(sql: string, params?: QueryParams, options?: CallOptions): Promise<Row[]> {
    return this.send({ type: 'select', sql, params: params ?? undefined, options: options ?? undefined });
  }

  stream(sql: string, params?: QueryParams, options?: CallOptions): RowStream {
    return this.#stream(prepare({ type: 'stream', sql, params: params ?? undefined, options: options ?? undefined }));
  }

  insert(sql: string, params?: QueryParams, options?: CallOptions): Promise<void> {
    return this.send({ type: 'insert', sql, params: params ?? undefined, options: options ?? undefined });
  }

  insertToTable(table: string, rows: Row | readonly Row[] | RowSource, options?: CallOptions): Promise<InsertResult> {
    return this.send({ type: 'insert_to_table', table, rows, options: options ?? undefined });
  }

  query(sql: string, params?: QueryParams, options?: CallOptions): Promise<string> {
    return this.send({ type: 'query', sql, params: params ?? undefined, options: options ?? undefined });
  }

  // The async methods call the dispatcher directly: bad input throws in the caller's stack, not as a lost rejection.
  asyncInsert(sql: string, params?: QueryParams): void {
    this.#dispatch({ type: 'async_insert', sql, params: params ?? undefined });
  }

  asyncInsertToTable(table: string, rows: Row | readonly Row[]): void {
    this.#dispatch({ type: 'async_insert_to_table', table, rows });
  }

  asyncQuery(sql: string, params?: QueryParams): void {
    this.#dispatch({ type: 'async_query', sql, params: params ?? undefined });
  }

  flush(): Promise<void> {
    if (!this.#tree.live) return Promise.reject(new PoolNotStartedError(this.name));
    return this.#writer.flush();
  }

  stats(): PoolStats {
    const live = this.#tree.live;
    return collectStats({
      name: this.name, started: live !== undefined, servers: this.#opts.servers, connections: this.#tree.connections(), broker: live?.broker.status(),
      health: live?.health, queries: this.#failover.queries, errors: this.#errors, writer: this.#writer.stats(),
    });
  }

  // A stream holds a connection from the loop's first step to its end (not waited for once the reader left); it fails over until a row was handed over.
  #stream({ options, ...prepared }: PreparedRequest<'stream'>): RowStream {
    if (!this.#tree.live) throw new PoolNotStartedError(this.name);
    return createRowStream((sink) => withEitherSignal(options.signal, sink.gone, (signal) => this.#call({ ...prepared, options: { ...options, signal }, sink })));
  }

  // A call through the broker with failover, observed only when someone listens.
  #call(request: PreparedRequest): Promise<unknown> {
    if (this.events.listenerCount('query') === 0 && this.events.listenerCount('checkout:timeout') === 0) return runWithFailover(request, this.#failover);
    return observedCall(this.#emit, request, (trace) => runWithFailover(request, this.#failover, trace), () => this.#tree.live?.broker.status().waiters ?? 0);
  }

  /** Runs a message: a promise for calls; for async messages, queues synchronously (throwing on bad input). */
  #dispatch(message: PoolMessage): Promise<unknown> {
    if (!this.#tree.live) throw new PoolNotStartedError(this.name);
    switch (message.type) {
      case 'async_insert_to_table': {
        if (isRowSource(message.rows)) throw new QueryParamError('rows', 'asyncInsertToTable takes a row or an array of rows; a generator or stream of rows goes to insertToTable');
        const rows = Array.isArray(message.rows) ? (message.rows as readonly Row[]) : [message.rows as Row];
        this.#writer.enqueueRows(message.table, rows);
        return Promise.resolve();
      }
      case 'async_insert':
        this.#writer.enqueueRequest(prepare({ type: 'insert', sql: message.sql, params: message.params }));
        return Promise.resolve();
      case 'async_query':
        this.#writer.enqueueRequest(prepare({ type: 'query', sql: message.sql, params: message.params }));
        return Promise.resolve();
      case 'stream': return Promise.resolve(this.#stream(prepare(message)));
      default: return this.#call(prepare(message));
    }
  }
}
