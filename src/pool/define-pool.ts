/**
 * `definePool`: Pillar's pool as a supervision tree. The pool is a `rest_for_one`
 * supervisor of a broker, a `one_for_one` supervisor of connection actors (poolSize of
 * them spread evenly over the servers, overflow ones added and dismissed by the broker),
 * and the async writer. Every message goes through one dispatcher: `send` returns its
 * promise; the methods are thin wrappers (the async ones call it directly, so bad input
 * throws in the caller's stack instead of becoming a rejection nobody awaits).
 */
import { createActor, type AnyActorRef } from 'xstate';
import { AbortError, TransportError } from '../clickhouse/errors.js';
import { encodeRow } from '../clickhouse/encode.js';
import { ping } from '../clickhouse/http.js';
import { perform } from '../clickhouse/perform.js';
import { prepare } from '../clickhouse/prepare.js';
import type { CallOptions, PreparedRequest, QueryParams, RequestDefaults, Row } from '../clickhouse/types.js';
import { realClock } from '../otp/clock.js';
import { register, unregister } from '../otp/registry.js';
import { startSupervisor, supervisor, supervisorOf } from '../otp/index.js';
import type { ChildActor, ChildSpec, Clock, Supervisor, SupervisorOptions } from '../otp/types.js';
import { createBalancer } from './balancer.js';
import { Broker, type CheckoutRequest } from './broker.js';
import { brokerMachine } from './broker.machine.js';
import { PooledConnection, type ConnectionEvents, type ConnectionIO } from './connection.js';
import { NoServerAvailableError, PoolError, PoolNotStartedError } from './errors.js';
import { Health } from './health.js';
import { resolvePoolOptions, type PoolOptions, type ResolvedPoolOptions } from './options.js';
import { collectStats, type PoolStats } from './stats.js';
import type { ClickHousePool, PoolInternals, PoolMessage, PoolResults } from './pool-api.js';
import { createWriter, type Writer } from './writer.js';

interface Live {
  readonly broker: Broker<PooledConnection>;
  readonly health: Health;
}

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
export function definePool(options: PoolOptions, internals: PoolInternals = {}): ClickHousePool {
  return new Pool(resolvePoolOptions(options), internals);
}

class Pool implements ClickHousePool {
  readonly name: string;
  readonly #opts: ResolvedPoolOptions;
  readonly #defaults: RequestDefaults;
  readonly #io: ConnectionIO;
  readonly #events: ConnectionEvents;
  readonly #base: PooledConnection[];
  readonly #writer: Writer;
  readonly #queries: number[];
  readonly #errors: number[];
  /** The checkout of a first attempt, the same for every call. */
  readonly #lease: CheckoutRequest;
  #live: Live | undefined;
  #connections: Supervisor | undefined;
  #app: Supervisor | undefined;
  #overflowSeq = 0;

  constructor(opts: ResolvedPoolOptions, internals: PoolInternals) {
    this.#opts = opts;
    this.name = opts.name;
    this.#defaults = { timeout: opts.timeout, int64: opts.int64, settings: opts.settings };
    this.#lease = { timeout: opts.poolTimeout };
    const defaults = this.#defaults;
    const probeTimeout = Math.min(opts.timeout, 2_000);
    this.#io = internals.io ?? {
      perform: (transport, server, request) => perform(transport, server, request, defaults),
      probe: (transport, server) => ping(transport, server, { timeout: probeTimeout }),
    };
    this.#queries = opts.servers.map(() => 0);
    this.#errors = opts.servers.map(() => 0);
    this.#events = {
      ready: (conn) => {
        const live = this.#live;
        if (!live) return;
        // Never lend a connection to a server marked down: let it find out whether the server is back.
        if (live.health.isUp(conn.server)) {
          live.broker.ready(conn.id);
        } else {
          live.broker.unavailable(conn.id);
          conn.probe();
        }
      },
      unavailable: (conn) => this.#live?.broker.unavailable(conn.id),
      failure: (conn, kind) => {
        this.#errors[conn.server]!++;
        this.#live?.health.fail(conn.server, kind);
      },
      probed: (conn) => this.#live?.health.probeSucceeded(conn.server),
      started: (conn) => {
        const live = this.#live;
        if (!live || conn.overflow) return;
        const up = live.health.isUp(conn.server);
        live.broker.add(conn, up);
        if (!up) conn.probe();
      },
      gone: (conn) => this.#live?.broker.remove(conn.id),
    };
    this.#base = Array.from({ length: opts.poolSize }, (_, i) => this.#connection(`conn-${i}`, i % opts.servers.length, false));
    this.#writer = createWriter({
      id: 'writer',
      clock: realClock,
      options: {
        mailbox: opts.asyncMailbox,
        batchSize: opts.asyncBatchSize,
        flushInterval: opts.asyncFlushInterval,
        overflow: opts.asyncOverflow,
        retries: opts.asyncRetries,
        backoff: opts.backoff,
        onError: opts.onError,
      },
      run: async (request) => {
        await this.#execute(request);
      },
    });
  }

  childSpec(): ChildSpec {
    const connections = supervisor({
      id: 'connections',
      strategy: 'one_for_one',
      intensity: Math.max(3, this.#opts.poolSize),
      period: 5_000,
      children: this.#base.map((conn) => conn.spec()),
    });
    const pool = supervisor({
      id: this.name,
      strategy: 'rest_for_one',
      children: [
        { id: 'broker', shutdown: 1_000, start: (context) => this.#startBroker(context?.clock ?? realClock) },
        { ...connections, start: (context) => this.#watchConnections(connections, context) },
        this.#writer.spec,
      ],
    });
    return { ...pool, start: (context) => this.#watchPool(pool, context) };
  }

  async start(options: Pick<SupervisorOptions, 'inspect' | 'clock'> = {}): Promise<void> {
    if (this.#app || this.#live) return;
    this.#app = await startSupervisor([this], { ...options, id: `${this.name}-root` });
  }

  async stop(): Promise<void> {
    const app = this.#app;
    if (!app) {
      if (this.#live) {
        throw new PoolError('POOL_SUPERVISED', `pool "${this.name}" runs under startSupervisor: stop that supervisor instead`);
      }
      return;
    }
    await app.stop();
    if (this.#app === app) this.#app = undefined;
  }

  send<M extends PoolMessage>(message: M): Promise<PoolResults[M['type']]> {
    try {
      return this.#dispatch(message) as Promise<PoolResults[M['type']]>;
    } catch (error) {
      return Promise.reject(error);
    }
  }

  // One message object per call; `prepare` reads an undefined field as absent, and a JS
  // caller's `null` is dropped as before.
  select(sql: string, params?: QueryParams, options?: CallOptions): Promise<Row[]> {
    return this.send({ type: 'select', sql, params: params || undefined, options: options || undefined });
  }

  insert(sql: string, params?: QueryParams, options?: CallOptions): Promise<void> {
    return this.send({ type: 'insert', sql, params: params || undefined, options: options || undefined });
  }

  insertToTable(table: string, rows: Row | readonly Row[], options?: CallOptions): Promise<void> {
    return this.send({ type: 'insert_to_table', table, rows, ...(options ? { options } : {}) });
  }

  query(sql: string, params?: QueryParams, options?: CallOptions): Promise<string> {
    return this.send({ type: 'query', sql, params: params || undefined, options: options || undefined });
  }

  asyncInsert(sql: string, params?: QueryParams): void {
    this.#dispatch({ type: 'async_insert', sql, ...(params ? { params } : {}) });
  }

  asyncInsertToTable(table: string, rows: Row | readonly Row[]): void {
    this.#dispatch({ type: 'async_insert_to_table', table, rows });
  }

  asyncQuery(sql: string, params?: QueryParams): void {
    this.#dispatch({ type: 'async_query', sql, ...(params ? { params } : {}) });
  }

  flush(): Promise<void> {
    if (!this.#live) return Promise.reject(new PoolNotStartedError(this.name));
    return this.#writer.flush();
  }

  stats(): PoolStats {
    return collectStats({
      name: this.name,
      started: this.#live !== undefined,
      servers: this.#opts.servers,
      // Overflow connections as the broker holds them: a dismissed one is gone at once.
      connections: [...this.#base, ...(this.#live?.broker.overflowConnections() ?? [])],
      broker: this.#live?.broker.status(),
      health: this.#live?.health,
      queries: this.#queries,
      errors: this.#errors,
      writer: this.#writer.stats(),
    });
  }

  /** Runs a message: a promise for calls; for async messages, queues synchronously (throwing on bad input). */
  #dispatch(message: PoolMessage): Promise<unknown> {
    if (!this.#live) throw new PoolNotStartedError(this.name);
    switch (message.type) {
      case 'async_insert_to_table': {
        const rows = Array.isArray(message.rows) ? (message.rows as readonly Row[]) : [message.rows as Row];
        this.#writer.enqueueRows(message.table, rows, rows.map((row) => encodeRow(row)));
        return Promise.resolve();
      }
      case 'async_insert':
        this.#writer.enqueueRequest(prepare({ type: 'insert', sql: message.sql, ...(message.params ? { params: message.params } : {}) }));
        return Promise.resolve();
      case 'async_query':
        this.#writer.enqueueRequest(prepare({ type: 'query', sql: message.sql, ...(message.params ? { params: message.params } : {}) }));
        return Promise.resolve();
      default:
        return this.#execute(prepare(message));
    }
  }

  /**
   * One request through the broker. A network failure is retried on another server when
   * it is a read, or when the request provably never left (`requestSent === false`).
   */
  async #execute(request: PreparedRequest): Promise<unknown> {
    // Servers that failed this request: allocated only on the first retry.
    let avoid: Set<number> | undefined;
    let last: unknown;
    for (let attempt = 0; ; attempt++) {
      const live = this.#live;
      if (!live) throw new PoolNotStartedError(this.name);
      let conn: PooledConnection;
      try {
        conn = await live.broker.lease(avoid ? { timeout: this.#opts.poolTimeout, avoid } : this.#lease, request.options.signal);
      } catch (error) {
        if (request.options.signal?.aborted && error === request.options.signal.reason) throw new AbortError(error, false);
        // A retry that finds every server down says so, with the failure that led there.
        if (last !== undefined && error instanceof NoServerAvailableError) throw new NoServerAvailableError(this.#opts.servers.length, { cause: last });
        throw error;
      }
      this.#queries[conn.server]!++;
      try {
        return await conn.run(request);
      } catch (error) {
        const retry = error instanceof TransportError && (request.readOnly || !error.requestSent) && attempt < this.#opts.readRetries;
        if (!retry) throw error;
        last = error;
        (avoid ??= new Set()).add(conn.server);
      }
    }
  }

  #connection(id: string, server: number, overflow: boolean): PooledConnection {
    return new PooledConnection({
      id,
      server,
      overflow,
      config: this.#opts.servers[server]!,
      backoff: this.#opts.backoff,
      io: this.#io,
      events: this.#events,
    });
  }

  #startBroker(clock: Clock): AnyActorRef {
    const health = new Health(this.#opts.servers.length, clock);
    const actor = createActor(brokerMachine, { input: { pool: this.name }, clock });
    const broker: Broker<PooledConnection> = new Broker(
      {
        name: this.name,
        maxOverflow: this.#opts.maxOverflow,
        overflowLinger: this.#opts.overflowLinger,
        clock,
        health,
        balancer: createBalancer(this.#opts.balance),
        spawnOverflow: (server) => this.#spawnOverflow(server),
        dismiss: (conn) => void this.#connections?.terminateChild(conn.id).catch(() => undefined),
        onMode: (mode) => {
          if (mode !== 'stopped') actor.send({ type: mode });
        },
      },
      this.#opts.servers.length,
    );
    const live: Live = { broker, health };
    const end = (): void => {
      broker.stop();
      // On shutdown the writer has drained before the broker stops; otherwise it is about to
      // be restarted with the broker and must keep its queue.
      this.#writer.poolDown();
      if (this.#live === live) this.#live = undefined;
    };
    actor.subscribe({ complete: end, error: end });
    this.#live = live;
    return actor;
  }

  #spawnOverflow(server: number): PooledConnection {
    const conn = this.#connection(`overflow-${++this.#overflowSeq}`, server, true);
    const connections = this.#connections;
    const started = connections ? connections.startChild(conn.spec()) : Promise.reject(new PoolNotStartedError(this.name));
    started.catch((error: unknown) => {
      conn.abandon(error);
      this.#events.gone(conn);
    });
    return conn;
  }

  async #watchConnections(spec: ChildSpec, context: Parameters<ChildSpec['start']>[0]): Promise<ChildActor> {
    const actor = await spec.start(context);
    const handle = supervisorOf(actor);
    this.#connections = handle;
    const end = (): void => {
      if (this.#connections === handle) this.#connections = undefined;
      // As for the broker: only a crash ends the connections before the writer has drained.
      this.#writer.poolDown();
    };
    actor.subscribe({ complete: end, error: end });
    return actor;
  }

  async #watchPool(spec: ChildSpec, context: Parameters<ChildSpec['start']>[0]): Promise<ChildActor> {
    register(this.name, this);
    let actor: ChildActor;
    try {
      actor = await spec.start(context);
    } catch (error) {
      unregister(this.name, this);
      throw error;
    }
    const end = (): void => void unregister(this.name, this);
    actor.subscribe({ complete: end, error: end });
    return actor;
  }
}
