/**
 * The pool's typed events (`pool.events`, an eventemitter3 emitter). Every payload names
 * servers by their redacted URL, never with a password. Emit points check
 * `listenerCount` first, so a pool nobody listens to builds no payload and reads no clock.
 */
import { EventEmitter } from 'eventemitter3';
import type { ChildActor, ExitReason, SupervisorNotice } from '../otp/index.js';
import type { ConnectionState } from './connection/connection.machine.js';
import type { ClickHousePool } from './pool-api.js';

/**
 * After every call through the pool (select, insert, insert_to_table, query; the writer's
 * batches are `writer:batch`).
 *
 * @example
 * MyClickHouse.events.on('query', (e: QueryEvent) => {
 *   if (e.outcome === 'error') console.warn(`${e.type} on ${e.server ?? 'no server'} failed: ${e.error}`);
 * });
 */
export interface QueryEvent {
  readonly pool: string;
  readonly type: 'select' | 'stream' | 'insert' | 'insert_to_table' | 'query';
  /** The redacted URL of the server of the last attempt; undefined when no connection was lent. */
  readonly server: string | undefined;
  /** Wall time of the whole call, checkout and retries included, in ms. */
  readonly durationMs: number;
  /** Rows returned, for a select that succeeded. */
  readonly rows: number | undefined;
  readonly outcome: 'ok' | 'error';
  /** The error's stable code (`'TIMEOUT'`, `'POOL_TIMEOUT'`, `'CLICKHOUSE'`, `'TRANSPORT'`, …) when it failed. */
  readonly error: string | undefined;
  /** Attempts after the first (read failover). */
  readonly retries: number;
}

/**
 * A server marked down (failures reached the threshold) or up again (a probe answered).
 *
 * @example
 * MyClickHouse.events.on('server:down', (e: ServerEvent) => pager.alert(`${e.server} down: ${e.reason}`));
 */
export interface ServerEvent {
  readonly pool: string;
  readonly server: string;
  /** `'hard failure'` (connection refused, reset), `'failures'` (penalty of soft ones: timeouts) or `'probe answered'`. */
  readonly reason: 'hard failure' | 'failures' | 'probe answered';
}

/**
 * A connection actor changed state (idle, busy, failed, backoff, …; `'stopped'` when its
 * actor ended).
 *
 * @example
 * MyClickHouse.events.on('connection', (e: ConnectionEvent) => { if (e.state === 'failed') console.log(e.id, e.server); });
 */
export interface ConnectionEvent {
  readonly pool: string;
  /** The connection's id (`conn-0`, `overflow-3`). */
  readonly id: string;
  readonly server: string;
  readonly overflow: boolean;
  readonly state: ConnectionState | 'stopped';
}

/**
 * A call waited `poolTimeout` ms for a connection and gave up (`PoolTimeoutError`).
 *
 * @example
 * MyClickHouse.events.on('checkout:timeout', (e: CheckoutTimeoutEvent) => console.warn(`${e.waiters} still waiting`));
 */
export interface CheckoutTimeoutEvent {
  readonly pool: string;
  readonly type: string;
  /** How long the call waited, in ms. */
  readonly waitedMs: number;
  /** Callers still waiting after this one gave up. */
  readonly waiters: number;
}

/**
 * One attempt of the async writer to send a batch (a table's rows, or one queued statement).
 *
 * @example
 * MyClickHouse.events.on('writer:batch', (e: WriterBatchEvent) => { if (e.outcome === 'error') console.warn(`attempt ${e.attempt} of ${e.rows} rows failed`); });
 */
export interface WriterBatchEvent {
  readonly pool: string;
  /** The table of a row batch; undefined for a queued statement. */
  readonly table: string | undefined;
  readonly rows: number;
  /** 1 for the first send of this batch, 2 for its first retry, … */
  readonly attempt: number;
  readonly server: string | undefined;
  readonly durationMs: number;
  /** How this attempt ended; a failed one may still be retried, or found to have landed. */
  readonly outcome: 'ok' | 'error';
  readonly error: string | undefined;
}

/**
 * Rows the writer gave up on (`writer:dead_letter`: refused, retries spent, outcome unknown)
 * or never took (`writer:dropped`: mailbox full, or enqueued after stop). `onError` still
 * receives the rows themselves.
 *
 * @example
 * MyClickHouse.events.on('writer:dropped', (e: WriterLossEvent) => metrics.dropped.inc(e.rows));
 */
export interface WriterLossEvent {
  readonly pool: string;
  readonly rows: number;
  /** The error's code (`'WRITER_MAILBOX_FULL'`, `'WRITER_STOPPED'`, `'CLICKHOUSE'`, `'WRITE_OUTCOME_UNKNOWN'`, …). */
  readonly error: string;
}

/**
 * A supervisor of the pool (the pool's own, or its `connections`) restarted a child, or gave
 * up (restart intensity exceeded: the supervisor ends and its parent decides).
 *
 * @example
 * MyClickHouse.events.on('supervisor:restart', (e: SupervisorRestartEvent) => console.warn(`${e.supervisor}/${e.child}: ${e.reason}`));
 */
export interface SupervisorRestartEvent {
  readonly pool: string;
  readonly supervisor: string;
  readonly child: string;
  /** `'normal'`, `'shutdown'`, or the crash's code and message. */
  readonly reason: string;
}

/**
 * The events of `pool.events`, by name.
 *
 * @example
 * const on = <K extends keyof PoolEvents>(name: K, fn: (...args: PoolEvents[K]) => void) => MyClickHouse.events.on(name, fn);
 */
export interface PoolEvents {
  query: [QueryEvent];
  'server:down': [ServerEvent];
  'server:up': [ServerEvent];
  connection: [ConnectionEvent];
  'checkout:timeout': [CheckoutTimeoutEvent];
  'writer:batch': [WriterBatchEvent];
  'writer:dead_letter': [WriterLossEvent];
  'writer:dropped': [WriterLossEvent];
  'supervisor:restart': [SupervisorRestartEvent];
  'supervisor:give_up': [SupervisorRestartEvent];
}

/**
 * The pool's emitter: eventemitter3, typed by `PoolEvents`.
 *
 * @example
 * const events: PoolEventEmitter = MyClickHouse.events;
 * events.on('server:down', (e) => console.warn(e.server, e.reason));
 */
export type PoolEventEmitter = EventEmitter<PoolEvents>;

/**
 * A new emitter for a pool.
 *
 * @example
 * const events = createPoolEvents();
 */
export function createPoolEvents(): PoolEventEmitter {
  return new EventEmitter<PoolEvents>();
}

/**
 * An error's stable code, or its class name.
 *
 * @example
 * errorCode(new PoolTimeoutError(...)); // 'POOL_TIMEOUT'
 */
export function errorCode(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' || typeof code === 'number') return String(code);
  return error instanceof Error ? error.name : 'UNKNOWN';
}

/**
 * A supervisor notice's reason as text for an event or a page.
 *
 * @example
 * reasonText({ error: new Error('boom') }); // 'Error: boom'
 */
export function reasonText(reason: ExitReason): string {
  if (typeof reason !== 'object') return reason;
  const { error } = reason;
  return error instanceof Error ? `${errorCode(error)}: ${error.message}` : String(error);
}

/**
 * Forwards a supervisor's notices (its own and those of supervisors below it) to the pool's events.
 *
 * @example
 * const unwatch = forwardNotices(supervisorOf(actor)!, events, 'MyClickHouse');
 */
export function forwardNotices(sup: { watch(listener: (notice: SupervisorNotice) => void): () => void }, events: PoolEventEmitter, pool: string): () => void {
  return sup.watch((notice) => {
    const name = notice.type === 'restart' ? 'supervisor:restart' : 'supervisor:give_up';
    if (events.listenerCount(name) === 0) return;
    events.emit(name, { pool, supervisor: notice.supervisor, child: notice.child, reason: reasonText(notice.reason) });
  });
}

const pools = new WeakMap<ChildActor, ClickHousePool>();

/**
 * Marks `actor` as the running supervisor of `pool`, so a walk of the tree finds it.
 *
 * @example
 * markPoolActor(actor, pool);
 */
export function markPoolActor(actor: ChildActor, pool: ClickHousePool): void {
  pools.set(actor, pool);
}

/**
 * The pool whose supervisor runs as `actor` (an actor seen in `whichChildren()`), if any.
 *
 * @example
 * const pool = poolOf(app.whichChildren()[0]!.actor!);
 * pool?.stats();
 */
export function poolOf(actor: ChildActor): ClickHousePool | undefined {
  return pools.get(actor);
}
