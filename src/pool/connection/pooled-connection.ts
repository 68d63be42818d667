/**
 * A pooled connection as the broker and the supervisor see it: one handle that outlives
 * restarts, owning the current Client and the current connection actor. It turns what the
 * machine emits into calls on its owner (check-in, health reports), and a crash of the
 * actor into an error for the caller it was serving.
 */
import { createActor, fromPromise, type ActorRefFrom } from 'xstate';
import type { PreparedRequest, ServerConfig, Transport } from '../../clickhouse/index.js';
import { realClock, type ChildSpec, type Clock, type StartContext } from '../../otp/index.js';
import type { BackoffOptions } from '../backoff.js';
import type { BrokerConnection, CheckinOutcome } from '../broker/broker.js';
import { ConnectionCrashedError, PoolError } from '../errors.js';
import type { FailureKind } from '../failures.js';
import { connectionMachine, performAction, transportLogic, type ConnectionState } from './connection.machine.js';
import { withHotPath } from './hot-path.js';
import type { ConnectionIO } from './io.js';

/**
 * Who a connection reports to (the pool routes each call to its current broker and health).
 *
 * @example
 * const owner: ConnectionOwner = { checkin: (c, o) => broker.checkin(c, o), health: (c, r) => count(c, r), joined: (c) => broker.add(c), left: (c) => broker.remove(c.id) };
 */
export interface ConnectionOwner {
  /** The connection is back from a call or a recovery: lendable at once, or not. */
  checkin(conn: PooledConnection, outcome: CheckinOutcome): void;
  /** A failure to count against its server, or a probe that found the server answering. */
  health(conn: PooledConnection, report: FailureKind | 'probed'): void;
  /** A new actor runs (first start or restart). */
  joined(conn: PooledConnection): void;
  /** The actor ended (crash, dismissal, shutdown). */
  left(conn: PooledConnection): void;
  /** Its machine entered another state (for the pool's `connection` event). */
  changed?(conn: PooledConnection, state: ConnectionState | 'stopped'): void;
}

/**
 * Everything a connection is made of.
 *
 * @example
 * const deps: ConnectionDeps = { id: 'conn-0', server: 0, config, overflow: false, backoff: { initial: 100, max: 10_000 }, io, owner };
 */
export interface ConnectionDeps {
  readonly id: string;
  readonly server: number;
  readonly config: ServerConfig;
  readonly overflow: boolean;
  readonly backoff: BackoffOptions;
  readonly io: ConnectionIO;
  readonly owner: ConnectionOwner;
}

/**
 * One pooled connection. `spec()` is its otp child spec; `run` sends one prepared request
 * through it once the broker has lent it.
 *
 * @example
 * const conn = new PooledConnection({ id: 'conn-0', server: 0, config, overflow: false, backoff, io: defaultIO(defaults), owner });
 * await supervisor.startChild(conn.spec('permanent'));
 * const rows = await conn.run(prepare({ type: 'select', sql: 'SELECT 1' }));
 */
export class PooledConnection implements BrokerConnection {
  readonly id: string;
  readonly server: number;
  readonly overflow: boolean;
  readonly #deps: ConnectionDeps;
  #client: Transport | undefined;
  /** Set by `close()`, cleared by the next start. */
  #closed = false;
  /** The Client `close()` is closing gracefully: destroyed when the actor is stopped under a call (a stream whose loop goes on). */
  #closing: Transport | undefined;
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

  /** Sends a connection whose server is marked down to probe it instead of waiting to be lent. */
  probe(): void {
    this.#actor?.send({ type: 'probe' });
  }

  /** The machine's state, `'stopped'` when no actor runs. */
  state(): ConnectionState | 'stopped' {
    const snapshot = this.#actor?.getSnapshot();
    return snapshot && snapshot.status === 'active' ? (snapshot.value as ConnectionState) : 'stopped';
  }

  /** Closes the socket gracefully (in-flight request first); until the next start, nothing opens another. Idempotent. */
  async close(): Promise<void> {
    this.#closed = true;
    const client = this.#client;
    this.#client = undefined;
    this.#closing = client;
    await client?.close().catch(() => client.destroy().catch(() => undefined));
    if (this.#closing === client) this.#closing = undefined;
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
    const { config, io, owner } = this.#deps;
    void this.#client?.destroy().catch(() => undefined);
    this.#closed = false;
    this.#client = io.open(config);
    const perform = (request: PreparedRequest): Promise<unknown> => io.perform(this.#transport(), config, request);
    const logic = withHotPath(connectionMachine.provide({
      actions: { perform: performAction(perform) },
      actors: {
        transport: transportLogic(async () => {
          const old = this.#client;
          this.#client = this.#closed ? undefined : io.open(config);
          await old?.destroy().catch(() => undefined);
        }),
        probe: fromPromise(() => io.probe(this.#transport(), config)),
      },
    }));
    const actor = createActor(logic, {
      clock,
      input: { id: this.id, server: this.server, label: config.redacted, overflow: this.overflow, backoff: this.#deps.backoff },
    });
    actor.on('settled', (e) => {
      const pending = this.#pending;
      this.#pending = undefined;
      if (e.ok) pending?.resolve(e.output);
      else pending?.reject(e.error);
      if (e.ready) owner.checkin(this, 'ready');
    });
    actor.on('ready', () => owner.checkin(this, 'ready'));
    actor.on('unavailable', () => owner.checkin(this, 'unavailable'));
    actor.on('failure', (e) => owner.health(this, e.kind));
    actor.on('probed', () => owner.health(this, 'probed'));
    const ended = (error?: unknown): void => {
      if (this.#actor !== actor) return;
      this.#actor = undefined;
      this.#started = this.#pendingStart();
      const pending = this.#pending;
      this.#pending = undefined;
      pending?.reject(error === undefined ? new PoolError('POOL_STOPPED', `connection ${this.id} stopped`) : new ConnectionCrashedError(this.id, error));
      // A crashed actor's socket may hold half a response; a restart opens a new Client anyway.
      // Stopped under a call (a stream read on past the shutdown time): its socket is closed,
      // so that the server's query ends at its next write instead of waiting on a paused socket.
      if (error !== undefined) void this.#client?.destroy().catch(() => undefined);
      else if (pending !== undefined) void this.#closing?.destroy().catch(() => undefined);
      owner.left(this);
      owner.changed?.(this, 'stopped');
    };
    let last: unknown;
    actor.subscribe({
      next: (snapshot) => {
        if (snapshot.value === last) return;
        last = snapshot.value;
        owner.changed?.(this, snapshot.value);
      },
      error: (error) => ended(error),
      complete: () => ended(),
    });
    this.#actor = actor;
    this.#markStarted();
    owner.joined(this);
    return actor;
  }

  #transport(): Transport {
    // A probe or call that starts while the connection is being stopped must not open a socket that nobody closes.
    if (this.#closed) throw new PoolError('POOL_STOPPED', `connection ${this.id} is stopping`);
    this.#client ??= this.#deps.io.open(this.#deps.config);
    return this.#client;
  }
}
