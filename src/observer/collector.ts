/**
 * What the observer knows: a walk of the supervision tree from its root (every supervisor,
 * every actor's state and restart count, every pool met on the way), the pools' `query`
 * events folded into counters, a latency histogram and per-second windows, and the tree's
 * restart notices. `snapshot()` derives the picture served as `/state.json`, the page and
 * `/metrics`; nothing of it holds a password (servers are their redacted URLs).
 */
import { supervisorOf, type ChildActor, type Supervisor } from '../otp/index.js';
import { poolOf, reasonText, type ClickHousePool, type PoolStats, type QueryEvent, type ServerStats, type WriterBatchEvent } from '../pool/index.js';

/** Upper bounds of the latency histogram, in seconds (Prometheus `le`). */
export const BUCKETS: readonly number[] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** Seconds of per-second query counts kept for the chart. */
export const HISTORY_SECONDS = 180;
const WINDOW_MS = 60_000;
const RATE_SECONDS = 5;
/** Latency samples kept per server for the percentiles (the newest win). */
const MAX_SAMPLES = 20_000;

/**
 * One actor of the tree.
 *
 * @example
 * const walk = (n: TreeNode): string[] => [n.id, ...n.children.flatMap(walk)];
 */
export interface TreeNode {
  readonly id: string;
  readonly type: 'supervisor' | 'worker';
  /** `running` / `stopped` / `failed` for a supervisor; a worker's machine state (`idle`, `busy`, …) or its status. */
  readonly state: string;
  /** Restarts of this child by its supervisor. */
  readonly restarts: number;
  /** Set on a pool's own supervisor. */
  readonly pool?: string;
  readonly children: readonly TreeNode[];
}

/**
 * One server of one pool, as the observer shows it.
 *
 * @example
 * const slow = state.pools.flatMap((p) => p.servers).filter((s: ObservedServer) => (s.p99 ?? 0) > 1_000);
 */
export interface ObservedServer extends ServerStats {
  /** Queries per second over the last 5 s (calls that ended, from `query` events). */
  readonly rate: number;
  /** Calls and failed calls that ended in the last minute. */
  readonly lastMinute: { readonly calls: number; readonly errors: number };
  /** Latency percentiles over the last minute, in ms; undefined without calls. */
  readonly p50: number | undefined;
  readonly p99: number | undefined;
  /** Calls ended per second, oldest first, over the last `HISTORY_SECONDS`. */
  readonly history: readonly number[];
}

/**
 * One pool, as the observer shows it.
 *
 * @example
 * const queued = state.pools.map((p: ObservedPool) => p.writer.queued);
 */
export interface ObservedPool extends Omit<PoolStats, 'servers'> {
  readonly servers: readonly ObservedServer[];
}

/**
 * Restarts counted from the tree's notices since the observer started.
 *
 * @example
 * const total = state.restarts.reduce((n, r: RestartCount) => n + r.count, 0);
 */
export interface RestartCount {
  readonly supervisor: string;
  readonly child: string;
  readonly count: number;
  readonly gaveUp: number;
  readonly lastReason: string;
  readonly at: number;
}

/**
 * The whole picture (`/state.json`).
 *
 * @example
 * const state: ObserverState = await (await fetch(`${url}state.json`)).json();
 */
export interface ObserverState {
  /** Milliseconds since the epoch. */
  readonly at: number;
  readonly tree: TreeNode;
  readonly pools: readonly ObservedPool[];
  readonly restarts: readonly RestartCount[];
}

/** Counters of one label set of `colonnade_queries_total` / the duration histogram. */
export interface QueryCounters {
  readonly pool: string;
  readonly server: string;
  readonly type: string;
  /** By outcome (`ok`, `error`). */
  readonly outcomes: Map<string, number>;
  /** Cumulative counts per bucket of `BUCKETS`, then the count of all. */
  readonly buckets: number[];
  sum: number;
}

interface ServerWindow {
  /** Per-second counts; `second` is the epoch second of the last slot. */
  counts: number[];
  second: number;
  samples: Array<{ at: number; ms: number; ok: boolean }>;
}

interface Watched {
  readonly pool: ClickHousePool;
  readonly off: () => void;
  readonly windows: Map<string, ServerWindow>;
}

/**
 * The observer's collector for one tree.
 *
 * @example
 * const collector = new Collector(root);
 * collector.snapshot().pools[0]?.servers[0]?.up;
 * collector.close();
 */
export class Collector {
  readonly #root: Supervisor;
  readonly #now: () => number;
  readonly #watched = new Map<ClickHousePool, Watched>();
  readonly #queries = new Map<string, QueryCounters>();
  readonly #restarts = new Map<string, { supervisor: string; child: string; count: number; gaveUp: number; lastReason: string; at: number }>();
  readonly #unwatch: () => void;

  constructor(root: Supervisor, now: () => number = Date.now) {
    this.#root = root;
    this.#now = now;
    this.#unwatch = root.watch((notice) => {
      const key = `${notice.supervisor}\u0000${notice.child}`;
      const entry = this.#restarts.get(key) ?? { supervisor: notice.supervisor, child: notice.child, count: 0, gaveUp: 0, lastReason: '', at: 0 };
      if (notice.type === 'restart') entry.count++;
      else entry.gaveUp++;
      entry.lastReason = reasonText(notice.reason);
      entry.at = this.#now();
      this.#restarts.set(key, entry);
    });
    this.walk();
  }

  /** Walks the tree now: returns it, and starts listening to any pool not seen before. */
  walk(): TreeNode {
    const visit = (sup: Supervisor, id: string, restarts: number, pool: ClickHousePool | undefined): TreeNode => ({
      id,
      type: 'supervisor',
      state: sup.status,
      restarts,
      ...(pool === undefined ? {} : { pool: pool.name }),
      children: sup.whichChildren().map((child): TreeNode => {
        const actor = child.actor;
        const nested = actor === undefined ? undefined : supervisorOf(actor);
        const found = actor === undefined ? undefined : poolOf(actor);
        if (found !== undefined) this.#watch(found);
        if (nested !== undefined) return visit(nested, child.id, child.restarts, found);
        return { id: child.id, type: child.type, state: actor === undefined ? 'stopped' : actorState(actor), restarts: child.restarts, children: [] };
      }),
    });
    return visit(this.#root, this.#root.id, 0, undefined);
  }

  /** The picture of this moment. */
  snapshot(): ObserverState {
    const tree = this.walk();
    const now = this.#now();
    const pools = [...this.#watched.values()].map(({ pool, windows }): ObservedPool => {
      const stats = pool.stats();
      return { ...stats, servers: stats.servers.map((s) => observeServer(s, windows.get(s.server), now)) };
    });
    const restarts = [...this.#restarts.values()].map((r) => ({ ...r }));
    return { at: now, tree, pools, restarts };
  }

  /** The query counters, one entry per pool, server and type. */
  queryCounters(): readonly QueryCounters[] {
    return [...this.#queries.values()];
  }

  /** Stops listening to the pools and the tree. */
  close(): void {
    this.#unwatch();
    for (const { off } of this.#watched.values()) off();
    this.#watched.clear();
  }

  #watch(pool: ClickHousePool): void {
    if (this.#watched.has(pool)) return;
    const windows = new Map<string, ServerWindow>();
    const onQuery = (e: QueryEvent): void => this.#count(e, windows);
    // The writer's sends are requests too (stats() counts them): shown with type 'writer'.
    const onBatch = (e: WriterBatchEvent): void => this.#count({ ...e, type: 'writer' }, windows);
    pool.events.on('query', onQuery);
    pool.events.on('writer:batch', onBatch);
    const off = (): void => {
      pool.events.off('query', onQuery);
      pool.events.off('writer:batch', onBatch);
    };
    this.#watched.set(pool, { pool, windows, off });
  }

  #count(e: Pick<QueryEvent, 'pool' | 'server' | 'durationMs' | 'outcome'> & { type: string }, windows: Map<string, ServerWindow>): void {
    const server = e.server ?? 'none';
    const key = `${e.pool}\u0000${server}\u0000${e.type}`;
    let counters = this.#queries.get(key);
    if (counters === undefined) {
      counters = { pool: e.pool, server, type: e.type, outcomes: new Map(), buckets: new Array<number>(BUCKETS.length + 1).fill(0), sum: 0 };
      this.#queries.set(key, counters);
    }
    counters.outcomes.set(e.outcome, (counters.outcomes.get(e.outcome) ?? 0) + 1);
    const seconds = e.durationMs / 1000;
    counters.sum += seconds;
    for (let i = 0; i < BUCKETS.length; i++) if (seconds <= BUCKETS[i]!) counters.buckets[i]!++;
    counters.buckets[BUCKETS.length]!++;
    if (e.server === undefined) return;
    let window = windows.get(e.server);
    if (window === undefined) {
      window = { counts: new Array<number>(HISTORY_SECONDS).fill(0), second: Math.floor(this.#now() / 1000), samples: [] };
      windows.set(e.server, window);
    }
    const now = this.#now();
    advance(window, now);
    window.counts[HISTORY_SECONDS - 1]!++;
    window.samples.push({ at: now, ms: e.durationMs, ok: e.outcome === 'ok' });
    // Cut in batches: one splice per call at the limit would move 20,000 samples every call.
    if (window.samples.length > MAX_SAMPLES + MAX_SAMPLES / 4) window.samples.splice(0, window.samples.length - MAX_SAMPLES);
  }
}

/** Moves a window's slots on to the current second. */
function advance(window: ServerWindow, now: number): void {
  const second = Math.floor(now / 1000);
  const gap = Math.min(HISTORY_SECONDS, second - window.second);
  if (gap > 0) {
    window.counts.splice(0, gap);
    for (let i = 0; i < gap; i++) window.counts.push(0);
    window.second = second;
  }
}

function observeServer(s: ServerStats, window: ServerWindow | undefined, now: number): ObservedServer {
  if (window === undefined) {
    return { ...s, rate: 0, lastMinute: { calls: 0, errors: 0 }, p50: undefined, p99: undefined, history: new Array<number>(HISTORY_SECONDS).fill(0) };
  }
  advance(window, now);
  const since = now - WINDOW_MS;
  // The samples older than the window, and past the newest MAX_SAMPLES, go in one cut (shift() is O(n) on a long array).
  let first = 0;
  while (first < window.samples.length && window.samples[first]!.at < since) first++;
  first = Math.max(first, window.samples.length - MAX_SAMPLES);
  if (first > 0) window.samples.splice(0, first);
  const sorted = window.samples.map((x) => x.ms).sort((a, b) => a - b);
  const errors = window.samples.reduce((n, x) => n + (x.ok ? 0 : 1), 0);
  // The current second is still filling: the rate is over the last whole seconds.
  const whole = window.counts.slice(HISTORY_SECONDS - 1 - RATE_SECONDS, HISTORY_SECONDS - 1);
  return {
    ...s,
    rate: whole.reduce((a, b) => a + b, 0) / RATE_SECONDS,
    lastMinute: { calls: sorted.length, errors },
    p50: percentile(sorted, 0.5),
    p99: percentile(sorted, 0.99),
    history: [...window.counts],
  };
}

/**
 * The nearest-rank percentile of sorted values.
 *
 * @example
 * percentile([1, 2, 3, 4], 0.5); // 2
 */
export function percentile(sorted: readonly number[], q: number): number | undefined {
  if (sorted.length === 0) return undefined;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

function actorState(actor: ChildActor): string {
  const snapshot = actor.getSnapshot() as { status?: string; value?: unknown } | undefined;
  if (snapshot?.status !== 'active') return snapshot?.status ?? 'unknown';
  const { value } = snapshot;
  if (value === undefined) return 'running';
  return typeof value === 'string' ? value : JSON.stringify(value);
}
