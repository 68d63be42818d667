/**
 * A pooled connection as the broker and the supervisor see it: one handle that outlives
 * restarts, owning the current undici `Client` and the current connection actor. The
 * handle turns the machine's emitted events into calls on the pool, and a crash of the
 * actor into an error for the caller it was serving.
 */
import { createActor, fromPromise, type ActorRefFrom } from 'xstate';
import { Client } from 'undici';
import type { PreparedRequest, ServerConfig } from '../clickhouse/types.js';
import type { ChildSpec, Clock, StartContext } from '../otp/types.js';
import { realClock } from '../otp/clock.js';
import type { BrokerConnection } from './broker.js';
import { ConnectionCrashedError, PoolError } from './errors.js';
import type { FailureKind } from './health.js';
import { withHotPath } from './connection.hot-path.js';
import { connectionMachine, performAction, transportLogic, type BackoffOptions, type ConnectionState } from './connection.machine.js';

/** What a connection tells its pool. */
export interface ConnectionEvents {
  ready(conn: PooledConnection): void;
  unavailable(conn: PooledConnection): void;
  failure(conn: PooledConnection, kind: FailureKind): void;
  probed(conn: PooledConnection): void;
  /** A new actor is running (first start or restart): the connection is idle. */
  started(conn: PooledConnection): void;
  /** The actor ended (crash, dismissal, shutdown). */
  gone(conn: PooledConnection): void;
}

/** How a connection reaches its server; injected so tests can fake the network. */
export interface ConnectionIO {
  readonly perform: (transport: Client, server: ServerConfig, request: PreparedRequest) => Promise<unknown>;
  readonly probe: (transport: Client, server: ServerConfig) => Promise<void>;
}

/** Everything a connection is made of. */
export interface ConnectionDeps {
  readonly id: string;
  readonly server: number;
  readonly config: ServerConfig;
  readonly overflow: boolean;
  readonly backoff: BackoffOptions;
  readonly io: ConnectionIO;
  readonly events: ConnectionEvents;
}

// The server closes idle sockets after its `Keep-Alive: timeout=` (10 s on 18.16); undici
// honours the hint minus this threshold, so ours are retired ~2 s before the server's.
const KEEP_ALIVE_THRESHOLD_MS = 2_000;
// Used when a server sends no hint at all: short enough for any common server default.
const KEEP_ALIVE_DEFAULT_MS = 4_000;

/**
 * Opens the undici `Client` of one pooled connection: one socket, no pipelining, idle
 * sockets retired before the server's keep-alive timeout.
 *
 * @example
 * const client = openClient(parseConnectionString('http://127.0.0.1:8123/default'));
 */
export function openClient(config: ServerConfig): Client {
  return new Client(config.origin, {
    pipelining: 1,
    connectTimeout: 2_000,
    keepAliveTimeout: KEEP_ALIVE_DEFAULT_MS,
    keepAliveTimeoutThreshold: KEEP_ALIVE_THRESHOLD_MS,
    keepAliveMaxTimeout: 600_000,
  });
}

/**
 * One pooled connection. `spec()` is its otp child spec; `run` sends one prepared request
 * through it once the broker has lent it.
 *
 * @example
 * const conn = new PooledConnection({ id: 'conn-0', server: 0, config, overflow: false, backoff, io, events });
 * await supervisor.startChild(conn.spec('permanent'));
 * const rows = await conn.run(prepare({ type: 'select', sql: 'SELECT 1' }));
 */
export class PooledConnection implements BrokerConnection {
  readonly id: string;
  readonly server: number;
  readonly overflow: boolean;
  readonly #deps: ConnectionDeps;
  #client: Client | undefined;
  #actor: ActorRefFrom<typeof connectionMachine> | undefined;
  #pending: { resolve(value: unknown): void; reject(error: unknown): void } | undefined;
  #started: Promise<void>;
  #markStarted!: () => void;
  #failStart!: (error: unknown) => void;

  constructor(deps: ConnectionDeps) {
    this.#deps = deps;
    this.id = deps.id;
    this.server = deps.server;
    this.overflow = deps.overflow;
    this.#started = this.#pendingStart();
  }

  /** The child spec; overflow connections are `temporary` (never restarted). */
  spec(): ChildSpec {
    return {
      id: this.id,
      restart: this.overflow ? 'temporary' : 'permanent',
      shutdown: 5_000,
      start: (context?: StartContext) => this.#start(context?.clock ?? realClock),
      stop: () => this.close(),
    };
  }

  /** Sends `request`; the broker must have lent this connection. */
  async run(request: PreparedRequest): Promise<unknown> {
    if (!this.#actor) await this.#started;
    const actor = this.#actor;
    if (!actor || this.#pending) throw new PoolError('POOL_CONNECTION_CRASHED', `connection ${this.id} is not ready to serve`);
    return new Promise((resolve, reject) => {
      this.#pending = { resolve, reject };
      actor.send({ type: 'run', request });
    });
  }

  /** Sends an idle connection to probe its server (marked down) instead of waiting to be lent. */
  probe(): void {
    this.#actor?.send({ type: 'probe' });
  }

  /** The machine's state, `'stopped'` when no actor runs. */
  state(): ConnectionState | 'stopped' {
    const snapshot = this.#actor?.getSnapshot();
    return snapshot && snapshot.status === 'active' ? (snapshot.value as ConnectionState) : 'stopped';
  }

  /** Closes the socket gracefully (in-flight request first). Idempotent. */
  async close(): Promise<void> {
    const client = this.#client;
    this.#client = undefined;
    if (client && !client.closed) await client.close().catch(() => client.destroy());
  }

  /** Aborts a start that never happened (the supervisor refused the child). */
  abandon(error: unknown): void {
    this.#failStart(error);
  }

  #pendingStart(): Promise<void> {
    const started = new Promise<void>((resolve, reject) => {
      this.#markStarted = resolve;
      this.#failStart = reject;
    });
    started.catch(() => undefined);
    return started;
  }

  #start(clock: Clock): ActorRefFrom<typeof connectionMachine> {
    void this.#client?.destroy().catch(() => undefined);
    this.#client = openClient(this.#deps.config);
    const { config, io, events } = this.#deps;
    const perform = (request: PreparedRequest): Promise<unknown> => io.perform(this.#transport(), config, request);
    const logic = withHotPath(connectionMachine.provide({
      actions: { perform: performAction(perform) },
      actors: {
        transport: transportLogic({
          perform,
          reset: async () => {
            const old = this.#client;
            this.#client = openClient(config);
            await old?.destroy().catch(() => undefined);
          },
        }),
        probe: fromPromise(() => io.probe(this.#transport(), config)),
      },
    }));
    const actor = createActor(logic, {
      clock,
      input: {
        id: this.id,
        server: this.server,
        label: config.redacted,
        overflow: this.overflow,
        backoff: this.#deps.backoff,
      },
    });
    actor.on('settled', (e) => {
      const pending = this.#pending;
      this.#pending = undefined;
      if (e.ok) pending?.resolve(e.output);
      else pending?.reject(e.error);
      if (e.ready) events.ready(this);
    });
    actor.on('ready', () => events.ready(this));
    actor.on('unavailable', () => events.unavailable(this));
    actor.on('failure', (e) => events.failure(this, e.kind));
    actor.on('probed', () => events.probed(this));
    const ended = (error?: unknown): void => {
      if (this.#actor !== actor) return;
      this.#actor = undefined;
      this.#started = this.#pendingStart();
      const pending = this.#pending;
      this.#pending = undefined;
      pending?.reject(error === undefined ? new PoolError('POOL_STOPPED', `connection ${this.id} stopped`) : new ConnectionCrashedError(this.id, error));
      // A crashed actor's socket may hold half a response; a restart opens a new Client anyway.
      if (error !== undefined) void this.#client?.destroy().catch(() => undefined);
      events.gone(this);
    };
    actor.subscribe({ error: (error) => ended(error), complete: () => ended() });
    this.#actor = actor;
    this.#markStarted();
    events.started(this);
    return actor;
  }

  #transport(): Client {
    if (!this.#client) this.#client = openClient(this.#deps.config);
    return this.#client;
  }
}
