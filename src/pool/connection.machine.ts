/*
 * One pooled connection: one undici Client to one server, one call at a time.
 *
 *                 run                          ok, or the server refused the query
 *   ┌──────┐ ──────────► ┌──────┐ ─────────────────────────────────────────┐
 *   │ idle │             │ busy │                                          │
 *   └──────┘ ◄───────┐   └──────┘ ── caller gave up ──► ┌───────────┐      │
 *     ▲  ▲ ▲         │       │                          │ resetting │ ─────┤ (new Client)
 *     │  │ └─────────┼───────┼──────────────────────────└───────────┘      │
 *     │  └───────────┼───────┼─────────────────────────────────────────────┘
 *     │              │       │ network failure / timeout
 *     │              │       ▼
 *     │              │   ┌────────┐  (new Client)  ┌─────────┐ after jittered delay ┌─────────┐
 *     │              │   │ failed │ ─────────────► │ backoff │ ───────────────────► │ probing │
 *     │              │   └────────┘                └─────────┘ ◄─── /ping failed ── └─────────┘
 *     │              │                                                                 │
 *     └──────────────┴──────────────────────── /ping answered ─────────────────────────┘
 *
 *   busy ── an error that is no colonnade error (a bug) ──► the actor crashes; its
 *           supervisor restarts it with a fresh Client.
 *   idle ── probe (its server is marked down) ──► probing
 *
 * I/O enters through `provide`: the `perform` action starts a request (the pool supplies
 * `performAction`, which answers with `transport.done` / `transport.error`; the default relays
 * to the transport actor), `transport`, invoked once for the actor's life, resets the Client
 * on command (and performs requests for the default `perform`), and `probe` (`GET /ping`),
 * invoked in `probing`. A query is two events and one emit: a per-request `fromPromise`
 * would cost ~60 µs of actor set-up, and relaying each request through the transport actor
 * a third event. The pool runs the machine wrapped by `withHotPath` (connection.hot-path.ts),
 * which answers the two events of a successful query from the machine's own earlier result
 * instead of xstate's full step. Delays run on the actor's clock. The machine
 * keeps no call in its context (inspection shows plain data) and tells its owner what
 * happened through emitted events: `settled` (the answer to a `run`; `ready: true` when the
 * connection is lendable again at once), `ready` (lendable again after recovering),
 * `unavailable` (cannot serve for now), `failure` (count against the server's health) and
 * `probed` (the server answered a ping).
 */
import { assign, emit, fromCallback, fromPromise, sendTo, setup, type ActorRef, type Snapshot } from 'xstate';
import { AbortError, ColonnadeError, TimeoutError, TransportError } from '../clickhouse/errors.js';
import type { PreparedRequest } from '../clickhouse/types.js';
import type { FailureKind } from './health.js';


/** Backoff bounds in milliseconds. */
export interface BackoffOptions {
  readonly initial: number;
  readonly max: number;
}

/** What a connection machine starts with. Nothing here may hold a password. */
export interface ConnectionInput {
  readonly id: string;
  readonly server: number;
  /** The server's redacted connection string, for inspection and stats. */
  readonly label: string;
  readonly overflow: boolean;
  readonly backoff: BackoffOptions;
  /** Source of jitter; default `Math.random`. */
  readonly random?: () => number;
}

/** Commands the machine gives its transport. */
export type TransportCommand = { readonly type: 'perform'; readonly request: PreparedRequest } | { readonly type: 'reset' };

/** What the transport answers. */
export type TransportReply =
  | { readonly type: 'transport.done'; readonly output: unknown }
  | { readonly type: 'transport.error'; readonly error: unknown }
  | { readonly type: 'transport.reset' };

/** Events a connection accepts: a call or a probe order from the pool, or its transport's replies. */
export type ConnectionEvent =
  | { readonly type: 'run'; readonly request: PreparedRequest }
  | { readonly type: 'probe' }
  | TransportReply;

/** The I/O a transport wraps. */
export interface TransportIO {
  /** Sends one request over the current Client. */
  perform(request: PreparedRequest): Promise<unknown>;
  /** Destroys the current Client and opens a new one. */
  reset(): Promise<void>;
}

/**
 * The `transport` actor for a connection machine: performs a request or resets the Client
 * when told, and answers with `transport.done` / `transport.error` / `transport.reset`.
 *
 * @example
 * connectionMachine.provide({ actors: { transport: transportLogic({ perform, reset }), probe } });
 */
export function transportLogic(io: TransportIO) {
  return fromCallback<TransportCommand>(({ sendBack, receive }) => {
    receive((command) => {
      const work = command.type === 'perform' ? io.perform(command.request) : io.reset().then(() => undefined);
      work.then(
        (output) => sendBack(command.type === 'perform' ? { type: 'transport.done', output } : { type: 'transport.reset' }),
        (error: unknown) => sendBack(command.type === 'perform' ? { type: 'transport.error', error } : { type: 'transport.reset' }),
      );
    });
  });
}

/**
 * The `perform` action for a connection machine: starts `perform(request)` for a `run` and
 * sends the machine `transport.done` / `transport.error` when it ends.
 *
 * @example
 * connectionMachine.provide({ actions: { perform: performAction(perform) }, actors: { transport: transportLogic({ perform, reset }), probe } });
 */
export function performAction(perform: TransportIO['perform']) {
  return ({ event, self }: { readonly event: ConnectionEvent; readonly self: ActorRef<Snapshot<unknown>, ConnectionEvent> }): void => {
    if (event.type !== 'run') return;
    perform(event.request).then(
      (output) => self.send({ type: 'transport.done', output }),
      (error: unknown) => self.send({ type: 'transport.error', error }),
    );
  };
}

/**
 * Events a connection emits to its owner; `settled` answers each `run` exactly once, and
 * `ready: true` on it stands for the `ready` that would follow (one emit per query, not two).
 */
export type ConnectionEmitted =
  | { readonly type: 'settled'; readonly ok: true; readonly output: unknown; readonly ready: boolean }
  | { readonly type: 'settled'; readonly ok: false; readonly error: unknown; readonly ready: boolean }
  | { readonly type: 'ready' }
  | { readonly type: 'unavailable' }
  | { readonly type: 'failure'; readonly kind: FailureKind }
  | { readonly type: 'probed' };

/**
 * The names of a connection's states.
 *
 * @example
 * const recovering: ConnectionState[] = ['failed', 'backoff', 'probing'];
 * for (const s of MyClickHouse.stats().servers) console.log(s.server, recovering.map((state) => s.connections[state]));
 */
export type ConnectionState = 'idle' | 'busy' | 'resetting' | 'failed' | 'backoff' | 'probing';

/**
 * How a failed call counts: the server answered, the caller gave up, the network failed,
 * or something that is no colonnade error at all was thrown (a bug: the actor crashes).
 */
export type FailureClass = 'server' | 'aborted' | 'network' | 'bug';

/**
 * Sorts an error from `perform`: only network failures and timeouts count against a server.
 *
 * @example
 * classifyFailure(new TimeoutError(100, true)); // 'network'
 */
export function classifyFailure(error: unknown): FailureClass {
  if (error instanceof AbortError) return 'aborted';
  if (error instanceof TransportError || error instanceof TimeoutError) return 'network';
  return error instanceof ColonnadeError ? 'server' : 'bug';
}

/**
 * `hard` when the server provably never got the request (refused): down at once.
 *
 * @example
 * failureKind(new TransportError('ECONNREFUSED', false)); // 'hard'
 */
export function failureKind(error: unknown): FailureKind {
  return error instanceof TransportError && !error.requestSent ? 'hard' : 'soft';
}

/**
 * Exponential backoff with full jitter, capped: a uniform pick in
 * `[0, min(max, initial * 2^attempt)]`.
 *
 * @example
 * backoffDelay(3, { initial: 100, max: 10_000 }, () => 0.5); // 400
 */
export function backoffDelay(attempt: number, bounds: BackoffOptions, random: () => number): number {
  const ceiling = Math.min(bounds.max, bounds.initial * 2 ** Math.min(attempt, 30));
  return Math.floor(random() * ceiling);
}

/**
 * The `settled` event that answers a `run` whose request succeeded (the machine's emit and
 * the hot path in connection.hot-path.ts build it here, so they cannot drift apart).
 *
 * @example
 * settledOk({ event: { type: 'transport.done', output: [{ 1: 1 }] } }); // { type: 'settled', ok: true, output: [{ 1: 1 }], ready: true }
 */
export function settledOk({ event }: { readonly event: Extract<ConnectionEvent, { type: 'transport.done' }> }): ConnectionEmitted {
  return { type: 'settled', ok: true, output: event.output, ready: true };
}

interface ConnectionContext {
  readonly id: string;
  readonly server: number;
  readonly label: string;
  readonly overflow: boolean;
  readonly backoff: BackoffOptions;
  readonly random: () => number;
  /** Consecutive failed probes, the backoff exponent. */
  attempt: number;
  failures: number;
  lastError: string | undefined;
}

const describe = (error: unknown): string =>
  error instanceof Error ? `${(error as { code?: string }).code ?? error.name}: ${error.message}` : String(error);

/**
 * The connection machine. Provide `transport` and `probe` before running it.
 *
 * @example
 * const actor = createActor(connectionMachine.provide({ actors: { transport: transportLogic({ perform, reset }), probe } }), {
 *   input: { id: 'conn-0', server: 0, label: 'http://default:***@127.0.0.1:8123/default', overflow: false,
 *            backoff: { initial: 100, max: 10_000 } },
 *   clock,
 * }).start();
 * actor.on('settled', (e) => (e.ok ? resolve(e.output) : reject(e.error)));
 * // With `provide({ actions: { perform: performAction(perform) } })` requests skip the transport actor.
 * actor.send({ type: 'run', request });
 */
export const connectionMachine = setup({
  types: {
    context: {} as ConnectionContext,
    input: {} as ConnectionInput,
    events: {} as ConnectionEvent,
    emitted: {} as ConnectionEmitted,
  },
  actors: {
    transport: transportLogic({
      perform: async () => {
        throw new Error('connection machine: provide a transport actor');
      },
      reset: async () => undefined,
    }),
    probe: fromPromise<void, void>(async () => {
      throw new Error('connection machine: provide a probe actor');
    }),
  },
  actions: {
    // Without a provided `perform`, requests go through the transport actor (a macrostep more).
    perform: ({ event, self }) => {
      if (event.type === 'run') self.getSnapshot().children.transport?.send({ type: 'perform', request: event.request });
    },
  },
  delays: {
    backoff: ({ context }) => backoffDelay(context.attempt, context.backoff, context.random),
  },
}).createMachine({
  id: 'connection',
  context: ({ input }) => ({
    id: input.id,
    server: input.server,
    label: input.label,
    overflow: input.overflow,
    backoff: input.backoff,
    random: input.random ?? Math.random,
    attempt: 0,
    failures: 0,
    lastError: undefined,
  }),
  initial: 'idle',
  invoke: { id: 'transport', src: 'transport' },
  states: {
    idle: {
      on: {
        run: {
          target: 'busy',
          actions: 'perform',
        },
        // The pool asks an idle connection of a server marked down to find out whether it is back.
        probe: { target: 'probing' },
      },
    },
    busy: {
      on: {
        'transport.done': {
          target: 'idle',
          actions: emit(settledOk),
        },
        'transport.error': [
          {
            // Let it crash: the supervisor restarts this actor with a fresh Client.
            guard: ({ event }) => classifyFailure(event.error) === 'bug',
            actions: ({ event }) => {
              throw event.error;
            },
          },
          {
            guard: ({ event }) => classifyFailure(event.error) === 'server',
            target: 'idle',
            actions: emit(({ event }) => ({ type: 'settled', ok: false, error: event.error, ready: true }) as ConnectionEmitted),
          },
          {
            guard: ({ event }) => classifyFailure(event.error) === 'aborted',
            target: 'resetting',
            actions: [
              emit(({ event }) => ({ type: 'settled', ok: false, error: event.error, ready: false }) as ConnectionEmitted),
              emit({ type: 'unavailable' }),
            ],
          },
          {
            target: 'failed',
            actions: [
              emit(({ event }) => ({ type: 'settled', ok: false, error: event.error, ready: false }) as ConnectionEmitted),
              assign({
                failures: ({ context }) => context.failures + 1,
                lastError: ({ event }) => describe(event.error),
              }),
              emit({ type: 'unavailable' }),
              emit(({ event }) => ({ type: 'failure', kind: failureKind(event.error) })),
            ],
          },
        ],
      },
    },
    resetting: {
      entry: sendTo('transport', { type: 'reset' } as TransportCommand),
      on: { 'transport.reset': { target: 'idle', actions: emit({ type: 'ready' }) } },
    },
    failed: {
      entry: sendTo('transport', { type: 'reset' } as TransportCommand),
      on: { 'transport.reset': { target: 'backoff' } },
    },
    backoff: {
      after: { backoff: { target: 'probing' } },
    },
    probing: {
      invoke: {
        src: 'probe',
        onDone: {
          target: 'idle',
          actions: [assign({ attempt: 0, lastError: undefined }), emit({ type: 'probed' }), emit({ type: 'ready' })],
        },
        onError: {
          target: 'backoff',
          actions: [
            assign({
              attempt: ({ context }) => context.attempt + 1,
              lastError: ({ event }) => describe(event.error),
            }),
            emit(({ event }) => ({ type: 'failure', kind: failureKind(event.error) })),
          ],
        },
      },
    },
  },
});
