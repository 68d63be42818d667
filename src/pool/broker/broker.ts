/**
 * The broker lends connections to callers, poolboy's rules adapted to several servers:
 * FIFO waiters; idle connections reused LIFO (per server, the server chosen by the
 * balancer among healthy servers that have one idle); an overflow connection only when
 * nothing suitable is idle and fewer than `maxOverflow` exist. Every return goes through
 * one `checkin`, which alone decides: serve the first waiter, rest (an overflow connection
 * lingers, then is dismissed), or probe a server marked down. No I/O: connections are
 * handles, time comes from the injected clock.
 */
import type { Clock } from '../../otp/index.js';
import { NoServerAvailableError, PoolStoppedError, PoolTimeoutError } from '../errors.js';
import type { Balancer, Candidate } from './balancer.js';
import type { Health } from './health.js';

/** What the broker needs of a connection. */
export interface BrokerConnection {
  readonly id: string;
  readonly server: number;
  readonly overflow: boolean;
  /** Told to find out whether its server (marked down) is back; it checks in when it knows. */
  probe(): void;
}

/**
 * How a connection comes back: able to serve at once, or not (failed, resetting, probing).
 *
 * @example
 * broker.checkin(conn, 'ready');
 */
export type CheckinOutcome = 'ready' | 'unavailable';

/** The broker's mode, derived from its state: what an inspector shows. */
export type BrokerMode = 'serving' | 'waiting' | 'no_server' | 'stopped';

type SlotStatus = 'idle' | 'lent' | 'recovering';

/** The broker's collaborators and limits. */
export interface BrokerDeps<C extends BrokerConnection> {
  readonly name: string;
  readonly maxOverflow: number;
  readonly overflowLinger: number;
  readonly clock: Clock;
  readonly health: Health;
  readonly balancer: Balancer;
  /** Creates an overflow connection to `server`; it is lent at once. */
  readonly spawnOverflow: (server: number) => C;
  /** Stops a connection the broker no longer wants (surplus or failed overflow). */
  readonly dismiss: (conn: C) => void;
  /** Told when the mode changes (callers start or stop waiting, servers all down). */
  readonly onMode?: (mode: BrokerMode) => void;
}

/** One checkout: how long to wait, and servers to avoid if another is healthy (a retry). */
export interface CheckoutRequest {
  readonly timeout: number;
  readonly avoid?: ReadonlySet<number>;
}

/** Receives the lent connection or the reason there is none. Called exactly once. */
export type CheckoutCallback<C> = (error: Error | undefined, conn: C | undefined) => void;

/** Counts per server, derived from the slots. */
export interface ServerSlots {
  idle: number;
  lent: number;
  recovering: number;
}

/** The broker's state as `stats()` shows it. */
export interface BrokerStatus {
  readonly waiters: number;
  /** Overflow connections alive (lent, lingering idle, or recovering). */
  readonly overflow: number;
  /** Overflow connections lent to callers right now. */
  readonly overflowInUse: number;
  readonly servers: readonly ServerSlots[];
}

interface Slot<C> {
  readonly conn: C;
  status: SlotStatus;
  linger: unknown;
}

interface Waiter<C> {
  readonly callback: CheckoutCallback<C>;
  timer: unknown;
}

/**
 * Checkouts, waiters and overflow for one pool.
 *
 * @example
 * const broker = new Broker({ name: 'p', maxOverflow: 1, overflowLinger: 1000, clock, health, balancer, spawnOverflow, dismiss });
 * broker.add(conn);                             // a new connection: idle, or probing its server
 * const lent = await broker.lease({ timeout: 5000 });
 * broker.checkin(lent, 'ready');                // back: serves a waiter, rests, or probes
 */
export class Broker<C extends BrokerConnection> {
  readonly #deps: BrokerDeps<C>;
  readonly #slots = new Map<string, Slot<C>>();
  readonly #idle: string[][];
  readonly #lent: number[];
  readonly #waiters = new Set<Waiter<C>>();
  #overflow = 0;
  #stopped = false;
  #mode: BrokerMode = 'serving';

  constructor(deps: BrokerDeps<C>, servers: number) {
    this.#deps = deps;
    this.#idle = Array.from({ length: servers }, () => []);
    this.#lent = Array.from({ length: servers }, () => 0);
    deps.health.onChange((server, up) => {
      if (up) this.#serverUp(server);
      else this.#serverDown();
      this.#notify();
    });
  }

  /** Serving, callers waiting, every server down, or stopped. */
  get mode(): BrokerMode {
    return this.#mode;
  }

  /** Asks for a connection; returns a function that withdraws a request still waiting. */
  checkout(request: CheckoutRequest, callback: CheckoutCallback<C>): () => void {
    if (this.#stopped) return this.#refuse(callback, new PoolStoppedError(this.#deps.name));
    const up = this.#deps.health.upServers();
    if (up.length === 0) return this.#refuse(callback, new NoServerAvailableError(this.#idle.length));
    const idle = prefer(up.filter((s) => this.#idle[s]!.length > 0), request.avoid);
    if (idle.length > 0) {
      callback(undefined, this.#lend(this.#idle[this.#pick(idle)]!.pop()!));
      return noop;
    }
    if (this.#overflow < this.#deps.maxOverflow) {
      callback(undefined, this.#spawn(this.#pick(prefer(up, request.avoid))));
      return noop;
    }
    const waiter: Waiter<C> = { callback, timer: undefined };
    waiter.timer = this.#deps.clock.setTimeout(() => {
      if (!this.#waiters.delete(waiter)) return;
      this.#notify();
      callback(new PoolTimeoutError(request.timeout), undefined);
    }, request.timeout);
    this.#waiters.add(waiter);
    this.#notify();
    return () => {
      if (!this.#waiters.delete(waiter)) return;
      this.#deps.clock.clearTimeout(waiter.timer);
      this.#notify();
    };
  }

  /** `checkout` as a promise; `signal` withdraws the request while it waits. */
  lease(request: CheckoutRequest, signal?: AbortSignal): Promise<C> {
    return new Promise((resolve, reject) => {
      let cancel = noop;
      const onAbort = (): void => {
        cancel();
        reject(signal!.reason);
      };
      if (signal?.aborted) return reject(signal.reason);
      signal?.addEventListener('abort', onAbort, { once: true });
      cancel = this.checkout(request, (error, conn) => {
        signal?.removeEventListener('abort', onAbort);
        if (error) reject(error);
        else resolve(conn!);
      });
    });
  }

  /** A new (or restarted) connection joins, as if it had just come back ready. */
  add(conn: C): void {
    this.#slots.set(conn.id, { conn, status: 'recovering', linger: undefined });
    this.checkin(conn, 'ready');
  }

  /**
   * poolboy's `handle_checkin`: a connection comes back. Ready and its server up: it serves
   * the first waiter, or rests (an overflow one lingers, then is dismissed). Ready but its
   * server is marked down: it probes the server instead, and checks in again after. Not
   * ready: it is not lendable until it checks in ready (an overflow one is kept meanwhile,
   * since it may be the one probing its server back up).
   */
  checkin(conn: C, outcome: CheckinOutcome): void {
    const slot = this.#slots.get(conn.id);
    if (!slot || (slot.status === 'idle' && outcome === 'ready')) return;
    this.#leave(slot);
    slot.status = 'recovering';
    if (outcome === 'unavailable') return;
    if (!this.#deps.health.isUp(conn.server)) {
      conn.probe();
      return;
    }
    const first = this.#takeWaiter();
    if (first) {
      this.#notify();
      first.callback(undefined, this.#lend(conn.id));
      return;
    }
    slot.status = 'idle';
    this.#idle[conn.server]!.push(conn.id);
    if (conn.overflow) {
      slot.linger = this.#deps.clock.setTimeout(() => this.#dismiss(slot), this.#deps.overflowLinger);
    }
  }

  /** The connection is gone (crashed or stopped); a restarted one comes back through `add`. */
  remove(id: string): void {
    const slot = this.#slots.get(id);
    if (!slot) return;
    this.#leave(slot);
    this.#slots.delete(id);
    if (slot.conn.overflow) {
      this.#overflow--;
      this.#overflowForWaiters();
    }
  }

  /** Refuses every waiter and every later checkout. Idempotent. */
  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#rejectWaiters(new PoolStoppedError(this.#deps.name));
    for (const slot of this.#slots.values()) this.#deps.clock.clearTimeout(slot.linger);
    this.#notify();
  }

  /** The overflow connections it holds (lent, lingering idle, or recovering), for `stats()`. */
  overflowConnections(): C[] {
    const out: C[] = [];
    for (const slot of this.#slots.values()) if (slot.conn.overflow) out.push(slot.conn);
    return out;
  }

  /** Derived counts for `stats()` and the model test. */
  status(): BrokerStatus {
    const servers = this.#idle.map(() => ({ idle: 0, lent: 0, recovering: 0 }));
    let overflowInUse = 0;
    for (const slot of this.#slots.values()) {
      servers[slot.conn.server]![slot.status]++;
      if (slot.conn.overflow && slot.status === 'lent') overflowInUse++;
    }
    return { waiters: this.#waiters.size, overflow: this.#overflow, overflowInUse, servers };
  }

  #pick(servers: readonly number[]): number {
    const candidates: Candidate[] = servers.map((server) => ({ server, inFlight: this.#lent[server]! }));
    return this.#deps.balancer(candidates);
  }

  #lend(id: string): C {
    const slot = this.#slots.get(id)!;
    this.#deps.clock.clearTimeout(slot.linger);
    slot.linger = undefined;
    slot.status = 'lent';
    this.#lent[slot.conn.server]!++;
    return slot.conn;
  }

  #spawn(server: number): C {
    const conn = this.#deps.spawnOverflow(server);
    this.#overflow++;
    this.#slots.set(conn.id, { conn, status: 'recovering', linger: undefined });
    return this.#lend(conn.id);
  }

  /** Takes the slot out of the idle stack or the lent count, whichever it is in. */
  #leave(slot: Slot<C>): void {
    const server = slot.conn.server;
    if (slot.status === 'lent') this.#lent[server]!--;
    if (slot.status === 'idle') {
      const stack = this.#idle[server]!;
      stack.splice(stack.lastIndexOf(slot.conn.id), 1);
      this.#deps.clock.clearTimeout(slot.linger);
      slot.linger = undefined;
    }
  }

  #dismiss(slot: Slot<C>): void {
    if (this.#slots.get(slot.conn.id) !== slot) return;
    this.#leave(slot);
    this.#slots.delete(slot.conn.id);
    this.#overflow--;
    this.#deps.dismiss(slot.conn);
    this.#overflowForWaiters();
  }

  #overflowForWaiters(): void {
    const up = this.#deps.health.upServers();
    while (!this.#stopped && up.length > 0 && this.#waiters.size > 0 && this.#overflow < this.#deps.maxOverflow) {
      const first = this.#takeWaiter()!;
      this.#notify();
      first.callback(undefined, this.#spawn(this.#pick(up)));
    }
  }

  #serverUp(server: number): void {
    const stack = this.#idle[server]!;
    while (this.#waiters.size > 0 && stack.length > 0) {
      this.#takeWaiter()!.callback(undefined, this.#lend(stack.pop()!));
    }
  }

  #serverDown(): void {
    if (this.#deps.health.upServers().length === 0) {
      this.#rejectWaiters(new NoServerAvailableError(this.#idle.length));
    }
  }

  /** The first waiter, out of the line with its timer cleared; undefined when none waits. */
  #takeWaiter(): Waiter<C> | undefined {
    const first = this.#waiters.values().next().value;
    if (!first) return undefined;
    this.#waiters.delete(first);
    this.#deps.clock.clearTimeout(first.timer);
    return first;
  }

  #rejectWaiters(error: Error): void {
    const waiters = [...this.#waiters];
    this.#waiters.clear();
    for (const w of waiters) {
      this.#deps.clock.clearTimeout(w.timer);
      w.callback(error, undefined);
    }
  }

  #notify(): void {
    const mode: BrokerMode = this.#stopped
      ? 'stopped'
      : this.#deps.health.upServers().length === 0
        ? 'no_server'
        : this.#waiters.size > 0
          ? 'waiting'
          : 'serving';
    if (mode === this.#mode) return;
    this.#mode = mode;
    this.#deps.onMode?.(mode);
  }

  #refuse(callback: CheckoutCallback<C>, error: Error): () => void {
    callback(error, undefined);
    return noop;
  }
}

function prefer(servers: readonly number[], avoid: ReadonlySet<number> | undefined): readonly number[] {
  if (!avoid || avoid.size === 0) return servers;
  const others = servers.filter((s) => !avoid.has(s));
  return others.length > 0 ? others : servers;
}

function noop(): void {}
