/**
 * Hedged reads ("The Tail at Scale"): a read that has no answer after `hedgeAfter` ms is
 * also sent to another healthy server; the first answer wins and the other attempt is
 * aborted (which kills its query on its server). A server that hangs (SIGSTOP, a black
 * hole) then costs a read `hedgeAfter` ms instead of its whole timeout. Off unless the pool
 * sets `hedgeAfter`.
 */
import { type PreparedRequest, withEitherSignal, withOptions } from '../clickhouse/index.js';
import type { Broker } from './broker/broker.js';
import { HedgeLost } from './failures.js';
import type { PooledConnection } from './connection/pooled-connection.js';

type Outcome = ({ readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly error: unknown }) & { readonly server: number };

/**
 * What a hedged read needs of its pool.
 *
 * @example
 * const deps: HedgeDeps = { after: 1_000, timeout: 5_000, poolTimeout: 5_000, broker: () => live?.broker, queries: [0, 0] };
 */
export interface HedgeDeps {
  /** Milliseconds without an answer before the second attempt. */
  readonly after: number;
  /** The pool's default call timeout (a call's own `timeout` wins). */
  readonly timeout: number;
  readonly poolTimeout: number;
  readonly broker: () => Broker<PooledConnection> | undefined;
  /** Requests sent per server, for `stats()`. */
  readonly queries: number[];
}

/**
 * Runs the read `request` on `first`, hedged as described above. Resolves with the first
 * answer; rejects with the first attempt's error when no attempt answered. `trace.server`
 * becomes the server of the answer given (the second's when it won).
 *
 * @example
 * const rows = await runHedged(prepare({ type: 'select', sql: 'SELECT 1' }), conn, deps);
 */
export async function runHedged(request: PreparedRequest, first: PooledConnection, deps: HedgeDeps, trace?: { server: number }): Promise<unknown> {
  const started = Date.now();
  const timeout = request.options.timeout ?? deps.timeout;
  const attempts: AbortController[] = [];
  const run = (conn: PooledConnection, ms: number): Promise<Outcome> => {
    const ac = new AbortController();
    attempts.push(ac);
    const { server } = conn;
    return withEitherSignal(request.options.signal, ac.signal, (signal) => conn.run(withOptions(request, { ...request.options, timeout: ms, signal })))
      .then((value) => ({ ok: true, value, server }), (error: unknown) => ({ ok: false, error, server }));
  };
  const firstDone = run(first, timeout);
  let timer: NodeJS.Timeout | undefined;
  const due = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), deps.after)));
  const early = await Promise.race([firstDone, due]);
  clearTimeout(timer);
  if (early) return settle(early);

  const remaining = timeout - (Date.now() - started);
  const broker = deps.broker();
  if (!broker || remaining < 1) return settle(await firstDone);
  // Waiting for a second connection ends when the first attempt does.
  const gaveUp = new AbortController();
  void firstDone.then(() => gaveUp.abort());
  let second: PooledConnection;
  try {
    second = await broker.lease({ timeout: Math.min(remaining, deps.poolTimeout), avoid: new Set([first.server]) }, gaveUp.signal);
  } catch {
    return settle(await firstDone);
  }
  if (second.server === first.server) {
    // No other server is healthy: a second copy on the same one would only add load.
    broker.checkin(second, 'ready');
    return settle(await firstDone);
  }
  deps.queries[second.server]!++;
  const secondDone = run(second, remaining);
  const winner = await firstSuccess(firstDone, secondDone);
  // The other attempt is aborted: its connection gets a fresh Client, its query is killed, and
  // it asks its server /ping before it serves again (a hung one fails it and is marked down).
  for (const ac of attempts) ac.abort(new HedgeLost());
  if (trace) trace.server = winner.server;
  return settle(winner);
}

/** The first outcome that succeeded, or the first attempt's failure when neither did. */
async function firstSuccess(a: Promise<Outcome>, b: Promise<Outcome>): Promise<Outcome> {
  const first = await Promise.race([a, b]);
  if (first.ok) return first;
  const [x, y] = await Promise.all([a, b]);
  return y.ok ? y : x;
}

function settle(outcome: Outcome): unknown {
  if (outcome.ok) return outcome.value;
  throw outcome.error;
}
