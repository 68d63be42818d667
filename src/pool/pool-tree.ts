/**
 * The pool's supervision tree and the wiring between its parts: a `rest_for_one` supervisor
 * of the broker, a `one_for_one` supervisor of the connections (poolSize spread evenly over
 * the servers; overflow ones started and dismissed for the broker) and the async writer.
 * Connections outlive restarts of their actors, so they report to the tree, which hands
 * each report to the broker and health of the moment.
 */
import { createActor, type AnyActorRef } from 'xstate';
import { ColonnadeError, endControls } from '../clickhouse/index.js';
import {
  realClock, register, supervisor, supervisorOf, unregister, type ChildActor, type ChildSpec, type Clock, type Supervisor,
} from '../otp/index.js';
import { createBalancer } from './broker/balancer.js';
import { Broker } from './broker/broker.js';
import { brokerMachine } from './broker/broker.machine.js';
import { Health } from './broker/health.js';
import type { ConnectionIO } from './connection/io.js';
import { PooledConnection, type ConnectionOwner } from './connection/pooled-connection.js';
import { PoolNotStartedError } from './errors.js';
import type { PoolEventEmitter } from './events.js';
import type { ResolvedPoolOptions } from './options.js';
import type { Writer } from './writer/writer.js';

/** The running broker and the health it reads; replaced when the broker restarts. */
export interface Live {
  readonly broker: Broker<PooledConnection>;
  readonly health: Health;
}

/**
 * What the tree is built from.
 *
 * @example
 * const deps: PoolTreeDeps = { opts, io: defaultIO(defaults), writer, errors: [0, 0], registrant: pool };
 */
export interface PoolTreeDeps {
  readonly opts: ResolvedPoolOptions;
  readonly io: ConnectionIO;
  readonly writer: Writer;
  /** Failures counted per server for `stats()` (outlives broker restarts). */
  readonly errors: number[];
  /** What the registry maps the pool's name to while it runs. */
  readonly registrant: unknown;
  /** The pool's events, when it has them (server and connection events are emitted here). */
  readonly events?: PoolEventEmitter;
}

/**
 * The tree of one pool; `childSpec()` builds it for a supervisor, `live` is its running broker.
 *
 * @example
 * const tree = new PoolTree(deps);
 * const app = await startSupervisor([tree.childSpec()]);
 * tree.live?.broker.status();
 */
export class PoolTree {
  readonly #deps: PoolTreeDeps;
  readonly #base: PooledConnection[];
  readonly #owner: ConnectionOwner;
  #live: Live | undefined;
  #connections: Supervisor | undefined;
  #overflowSeq = 0;

  constructor(deps: PoolTreeDeps) {
    this.#deps = deps;
    this.#owner = {
      checkin: (conn, outcome) => this.#live?.broker.checkin(conn, outcome),
      health: (conn, report) => {
        if (report === 'probed') return this.#live?.health.probeSucceeded(conn.server);
        deps.errors[conn.server]!++;
        this.#live?.health.fail(conn.server, report);
      },
      joined: (conn) => {
        if (!conn.overflow) this.#live?.broker.add(conn);
      },
      left: (conn) => this.#live?.broker.remove(conn.id),
      changed: (conn, state) => {
        const { events } = deps;
        if (events === undefined || events.listenerCount('connection') === 0) return;
        events.emit('connection', { pool: deps.opts.name, id: conn.id, server: deps.opts.servers[conn.server]!.redacted, overflow: conn.overflow, state });
      },
    };
    const { poolSize, servers } = deps.opts;
    this.#base = Array.from({ length: poolSize }, (_, i) => this.#connection(`conn-${i}`, i % servers.length, false));
  }

  /** The running broker and health; undefined while stopped or restarting. */
  get live(): Live | undefined {
    return this.#live;
  }

  /** Every connection the pool has right now: the base ones and the overflow ones the broker holds. */
  connections(): PooledConnection[] {
    return [...this.#base, ...(this.#live?.broker.overflowConnections() ?? [])];
  }

  childSpec(): ChildSpec {
    const { opts, writer } = this.#deps;
    const connections = supervisor({
      id: 'connections',
      strategy: 'one_for_one',
      intensity: Math.max(3, opts.poolSize),
      period: 5_000,
      children: this.#base.map((conn) => conn.spec()),
    });
    const pool = supervisor({
      id: opts.name,
      strategy: 'rest_for_one',
      children: [
        {
          id: 'broker',
          shutdown: 2_000,
          start: (context) => this.#startBroker(context?.clock ?? realClock),
          // Stopped last: the KILLs and outcome questions sent meanwhile end (or are cut) here,
          // so a stopped pool leaves no socket behind.
          stop: () => endControls(opts.servers, 1_000),
        },
        { ...connections, start: (context) => this.#watchConnections(connections, context) },
        writer.spec,
      ],
    });
    return { ...pool, start: (context) => this.#watchPool(pool, context) };
  }

  #connection(id: string, server: number, overflow: boolean): PooledConnection {
    const { opts, io } = this.#deps;
    return new PooledConnection({ id, server, overflow, config: opts.servers[server]!, backoff: opts.backoff, io, owner: this.#owner });
  }

  #startBroker(clock: Clock): AnyActorRef {
    const { opts, writer } = this.#deps;
    const health = new Health(opts.servers.length, clock);
    const actor = createActor(brokerMachine, { input: { pool: opts.name }, clock });
    const broker = new Broker<PooledConnection>(
      {
        name: opts.name,
        maxOverflow: opts.maxOverflow,
        overflowLinger: opts.overflowLinger,
        clock,
        health,
        balancer: createBalancer(opts.balance),
        spawnOverflow: (server) => this.#spawnOverflow(server),
        dismiss: (conn) => void this.#connections?.terminateChild(conn.id).catch(() => undefined),
        onMode: (mode) => {
          if (mode !== 'stopped') actor.send({ type: mode });
        },
      },
      opts.servers.length,
    );
    const live: Live = { broker, health };
    // Each server's version, kept while it is up: read now, dropped when it goes down, read again when it is back.
    const { info } = this.#deps.io;
    const { events } = this.#deps;
    const unwatch = info === undefined && events === undefined ? undefined : health.onChange((server, up, why) => {
      const config = opts.servers[server]!;
      if (info !== undefined) {
        if (up) void info.learn(config);
        else info.forget(config);
      }
      const name = up ? 'server:up' : 'server:down';
      if (events === undefined || events.listenerCount(name) === 0) return;
      events.emit(name, { pool: opts.name, server: config.redacted, reason: why === 'probed' ? 'probe answered' : why === 'hard' ? 'hard failure' : 'failures' });
    });
    if (info !== undefined) for (const config of opts.servers) void info.learn(config);
    const end = (): void => {
      unwatch?.();
      broker.stop();
      // On shutdown the writer has drained before the broker stops; otherwise it is about to
      // be restarted with the broker and must keep its queue.
      writer.poolDown();
      if (this.#live === live) this.#live = undefined;
    };
    actor.subscribe({ complete: end, error: end });
    this.#live = live;
    return actor;
  }

  #spawnOverflow(server: number): PooledConnection {
    const conn = this.#connection(`overflow-${++this.#overflowSeq}`, server, true);
    const connections = this.#connections;
    const started = connections ? connections.startChild(conn.spec()) : Promise.reject(new PoolNotStartedError(this.#deps.opts.name));
    started.catch((error: unknown) => {
      // Refused by a connections supervisor that is giving up (an OtpError): for the caller,
      // the pool's connections are not running and nothing was sent, as in the branch above.
      conn.abandon(error instanceof ColonnadeError ? error : new PoolNotStartedError(this.#deps.opts.name,
        { why: 'is restarting its connections: the overflow connection for this call could not start', cause: error }));
      this.#owner.left(conn);
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
      this.#deps.writer.poolDown();
    };
    actor.subscribe({ complete: end, error: end });
    return actor;
  }

  async #watchPool(spec: ChildSpec, context: Parameters<ChildSpec['start']>[0]): Promise<ChildActor> {
    const { opts, registrant } = this.#deps;
    if (!opts.registered) return spec.start(context);
    register(opts.name, registrant);
    let actor: ChildActor;
    try {
      actor = await spec.start(context);
    } catch (error) {
      unregister(opts.name, registrant);
      throw error;
    }
    const end = (): void => void unregister(opts.name, registrant);
    actor.subscribe({ complete: end, error: end });
    return actor;
  }
}
