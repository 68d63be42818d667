/**
 * Where the pool's events are emitted from its calls, its writer and its supervisors. Each
 * wrapper checks `listenerCount` first: with nobody listening, the call runs as before.
 */
import type { PreparedRequest, Row, ServerConfig } from '../clickhouse/index.js';
import { supervisorOf, type ChildSpec } from '../otp/index.js';
import { PoolTimeoutError } from './errors.js';
import { errorCode, forwardNotices, markPoolActor, type PoolEventEmitter } from './events.js';
import type { ClickHousePool } from './pool-api.js';
import type { SendTrace } from './writer/outcome.js';

/** What the wrappers need of their pool. */
export interface EmitContext {
  readonly pool: string;
  readonly events: PoolEventEmitter;
  readonly servers: readonly ServerConfig[];
}

/**
 * Runs a call, telling its end as `query` (and a checkout timeout as `checkout:timeout`).
 *
 * @example
 * return observedCall(ctx, request, (trace) => runWithFailover(request, deps, trace), () => broker.status().waiters);
 */
export async function observedCall(
  ctx: EmitContext,
  request: PreparedRequest,
  run: (trace: { server: number; attempts: number }) => Promise<unknown>,
  waiters: () => number,
): Promise<unknown> {
  const { events } = ctx;
  const trace = { server: -1, attempts: 0 };
  const started = performance.now();
  const emit = (result: unknown, error: unknown): void => {
    const durationMs = performance.now() - started;
    if (error instanceof PoolTimeoutError && events.listenerCount('checkout:timeout') > 0) {
      events.emit('checkout:timeout', { pool: ctx.pool, type: request.type, waitedMs: durationMs, waiters: waiters() });
    }
    if (events.listenerCount('query') === 0) return;
    events.emit('query', {
      pool: ctx.pool, type: request.type, server: ctx.servers[trace.server]?.redacted, durationMs,
      rows: Array.isArray(result) ? result.length : undefined, outcome: error === undefined ? 'ok' : 'error',
      error: error === undefined ? undefined : errorCode(error), retries: Math.max(0, trace.attempts - 1),
    });
  };
  let result: unknown;
  try {
    result = await run(trace);
  } catch (error) {
    emit(undefined, error);
    throw error;
  }
  emit(result, undefined);
  return result;
}

/**
 * Runs one send of the writer, telling it as `writer:batch` when someone listens. A send
 * that fails is told when the writer calls `trace.told` with the error that stands after
 * it looked up what became of it (undefined: found stored).
 *
 * @example
 * run: (request, trace) => observedBatch(ctx, trace, () => runWithFailover(request, deps, trace)),
 */
export async function observedBatch(ctx: EmitContext, trace: SendTrace, run: () => Promise<unknown>): Promise<void> {
  const { events } = ctx;
  if (events.listenerCount('writer:batch') === 0) {
    await run();
    return;
  }
  const started = performance.now();
  const emit = (error: unknown, durationMs = performance.now() - started): void => {
    const { batch } = trace;
    events.emit('writer:batch', {
      pool: ctx.pool, table: batch?.table, rows: batch?.rows ?? 0, attempt: batch?.attempt ?? 1,
      server: ctx.servers[trace.server]?.redacted, durationMs,
      outcome: error === undefined ? 'ok' : 'error', error: error === undefined ? undefined : errorCode(error),
    });
  };
  try {
    await run();
  } catch (error) {
    // Told once the writer has judged it (a lost answer found stored is an 'ok' send), timed as the send alone.
    const durationMs = performance.now() - started;
    trace.told = (settled) => emit(settled, durationMs);
    throw error;
  }
  emit(undefined);
}

/**
 * The writer's `onError`, telling lost rows as `writer:dropped` or `writer:dead_letter` first.
 * Which one is read from the writer's own `dropped` count (a `WriterStoppedError` is either:
 * rows refused after stop are dropped, rows left at shutdown dead-lettered), so the events
 * agree with `stats().writer`.
 *
 * @example
 * onError: reportingLoss(ctx, opts.onError, () => writer.stats().dropped),
 */
export function reportingLoss(ctx: EmitContext, onError: (error: Error, rows: readonly Row[]) => void, dropped: () => number): (error: Error, rows: readonly Row[]) => void {
  let told = 0;
  return (error, rows) => {
    const now = dropped();
    const isDrop = now - told >= rows.length;
    if (isDrop) told += rows.length;
    const name = isDrop ? 'writer:dropped' : 'writer:dead_letter';
    if (ctx.events.listenerCount(name) > 0) ctx.events.emit(name, { pool: ctx.pool, rows: rows.length, error: errorCode(error) });
    onError(error, rows);
  };
}

/**
 * The pool's spec, whose running supervisor is marked as the pool's (so an observer walking
 * the tree finds it) and whose notices, and those of the supervisors under it, become events.
 *
 * @example
 * childSpec() { return observedSpec(this.#tree.childSpec(), this); }
 */
export function observedSpec(spec: ChildSpec, pool: ClickHousePool): ChildSpec {
  return {
    ...spec,
    start: async (context) => {
      const actor = await spec.start(context);
      markPoolActor(actor, pool);
      const sup = supervisorOf(actor);
      if (sup !== undefined) forwardNotices(sup, pool.events, pool.name);
      return actor;
    },
  };
}
