/**
 * Per-server health, chproxy-style: each failure adds a penalty that decays over time; a
 * server whose penalty reaches the threshold is marked down and skipped by the balancer,
 * and only a successful `/ping` probe marks it up again.
 */
import type { Clock } from '../../otp/index.js';
import type { FailureKind } from '../failures.js';

// A penalty halves every HALF_LIFE ms; a server is marked down at DOWN_AT: a soft failure
// adds 1, so two within one half-life mark it down; a hard one adds DOWN_AT at once.
const HALF_LIFE_MS = 10_000;
const DOWN_AT = 1.5;

/** One server's health as `stats()` shows it. */
export interface ServerHealth {
  readonly up: boolean;
  /** Current (decayed) penalty. */
  readonly penalty: number;
}

/** What the broker is told when a server changes side. */
export type HealthListener = (server: number, up: boolean, why: FailureKind | 'probed') => void;

/**
 * The health of every server of a pool.
 *
 * @example
 * const health = new Health(3, realClock);
 * health.fail(1, 'hard');   // server 1 is down
 * health.upServers();       // [0, 2]
 * health.probeSucceeded(1); // back up
 */
export class Health {
  readonly #clock: Pick<Clock, 'now'>;
  readonly #servers: Array<{ up: boolean; penalty: number; at: number }>;
  readonly #listeners = new Set<HealthListener>();
  #up: number[];

  constructor(count: number, clock: Pick<Clock, 'now'>) {
    this.#clock = clock;
    this.#servers = Array.from({ length: count }, () => ({ up: true, penalty: 0, at: 0 }));
    this.#up = this.#servers.map((_, i) => i);
  }

  /** Indexes of the servers marked up, ascending. */
  upServers(): readonly number[] {
    return this.#up;
  }

  isUp(server: number): boolean {
    return this.#servers[server]!.up;
  }

  /** Counts a failed request or probe; marks the server down when the penalty is high enough. */
  fail(server: number, kind: FailureKind): void {
    const s = this.#servers[server]!;
    const now = this.#clock.now();
    s.penalty = this.#decayed(s.penalty, s.at, now) + (kind === 'hard' ? DOWN_AT : 1);
    s.at = now;
    if (s.up && s.penalty >= DOWN_AT) this.#set(server, false, kind);
  }

  /** A `/ping` answered: the server is up and its penalty forgiven. */
  probeSucceeded(server: number): void {
    const s = this.#servers[server]!;
    s.penalty = 0;
    s.at = this.#clock.now();
    if (!s.up) this.#set(server, true, 'probed');
  }

  /** Calls `listener(server, up)` on every change of side; returns the unsubscribe. */
  onChange(listener: HealthListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  snapshot(server: number): ServerHealth {
    const s = this.#servers[server]!;
    return { up: s.up, penalty: this.#decayed(s.penalty, s.at, this.#clock.now()) };
  }

  #decayed(penalty: number, at: number, now: number): number {
    return penalty === 0 ? 0 : penalty * 2 ** (-(now - at) / HALF_LIFE_MS);
  }

  #set(server: number, up: boolean, why: FailureKind | 'probed'): void {
    this.#servers[server]!.up = up;
    this.#up = this.#servers.flatMap((s, i) => (s.up ? [i] : []));
    for (const listener of this.#listeners) listener(server, up, why);
  }
}
