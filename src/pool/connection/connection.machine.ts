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
 *     │              │       │ network failure
 *     │              │       ▼
 *     │              │   ┌────────┐  (new Client)  ┌─────────┐ after jittered delay ┌─────────┐
 *     │              │   │ failed │ ─────────────► │ backoff │ ───────────────────► │ probing │
 *     │              │   └────────┘                └─────────┘ ◄─── /ping failed ── └─────────┘
 *     │              │                                                                 │
 *     └──────────────┴──────────────────────── /ping answered ─────────────────────────┘
 *
 *   busy ── an error that is no colonnade error (a bug) ──► the actor crashes; its
 *           supervisor restarts it with a fresh Client.
 *   busy ── the call's timeout ──► verifying (new Client) ──► checking (/ping): answered →
 *           idle, nothing counted against the server; not answered → backoff, one failure.
 *   idle ── probe (its server is marked down) ──► probing
 *
 * No I/O inside: the `perform` action (supplied through `provide`, see `performAction`)
 * starts a request and answers with `transport.done` / `transport.error`; the invoked
 * `transport` actor replaces the Client on `reset`; `probe` (`GET /ping`) is invoked in
 * `probing`. A per-request `fromPromise` would cost an actor set-up per query, hence an
 * action. The machine keeps no call in its context (inspection shows plain data) and tells
 * its owner what happened through emitted events: `settled` (the answer to a `run`;
 * `ready: true` when the connection is lendable again at once), `ready` (lendable after
 * recovering), `unavailable`, `failure` (count against the server) and `probed`.
 */
import { assign, emit, fromCallback, fromPromise, sendTo, setup, type ActorRef, type Snapshot } from 'xstate';
import type { PreparedRequest } from '../../clickhouse/index.js';
import { fullJitter, type BackoffOptions } from '../backoff.js';
import { classifyFailure, failureKind, type FailureKind } from '../failures.js';

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

/** What the transport answers when it has replaced the Client. */
export type TransportReply =
  | { readonly type: 'transport.done'; readonly output: unknown }
  | { readonly type: 'transport.error'; readonly error: unknown }
  | { readonly type: 'transport.reset' };

/** Events a connection accepts: a call or a probe order from the pool, or its transport's replies. */
export type ConnectionEvent =
  | { readonly type: 'run'; readonly request: PreparedRequest }
  | { readonly type: 'probe' }
  | TransportReply;

/**
 * The `transport` actor of a connection machine: on `{ type: 'reset' }` it replaces the
 * Client (`reset()`), then answers `transport.reset`.
 *
 * @example
 * connectionMachine.provide({ actions: { perform: performAction(perform) }, actors: { transport: transportLogic(reset), probe } });
 */
export function transportLogic(reset: () => Promise<void>) {
  return fromCallback<{ readonly type: 'reset' }>(({ sendBack, receive }) => {
    receive(() => {
      const done = (): void => sendBack({ type: 'transport.reset' });
      reset().then(done, done);
    });
  });
}

/**
 * The `perform` action of a connection machine: starts `perform(request)` for a `run` and
 * sends the machine `transport.done` / `transport.error` when it ends.
 *
 * @example
 * connectionMachine.provide({ actions: { perform: performAction(perform) }, actors: { transport: transportLogic(reset), probe } });
 */
export function performAction(perform: (request: PreparedRequest) => Promise<unknown>) {
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
export type ConnectionState = 'idle' | 'busy' | 'resetting' | 'verifying' | 'checking' | 'failed' | 'backoff' | 'probing';

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
 * The connection machine. Provide `perform`, `transport` and `probe` before running it.
 *
 * @example
 * const logic = connectionMachine.provide({ actions: { perform: performAction(perform) }, actors: { transport: transportLogic(reset), probe } });
 * const actor = createActor(logic, {
 *   input: { id: 'conn-0', server: 0, label: 'http://default:***@127.0.0.1:8123/default', overflow: false,
 *            backoff: { initial: 100, max: 10_000 } },
 *   clock,
 * }).start();
 * actor.on('settled', (e) => (e.ok ? resolve(e.output) : reject(e.error)));
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
    transport: transportLogic(async () => {
      throw new Error('connection machine: provide a transport actor');
    }),
    probe: fromPromise<void, void>(async () => {
      throw new Error('connection machine: provide a probe actor');
    }),
  },
  actions: {
    perform: () => {
      throw new Error('connection machine: provide a perform action (performAction)');
    },
  },
  delays: {
    backoff: ({ context }) => fullJitter(context.attempt, context.backoff, context.random),
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
            // The server answered (or the request was refused before it left): the connection is fine.
            guard: ({ event }) => !['network', 'timeout', 'aborted'].includes(classifyFailure(event.error)),
            target: 'idle',
            actions: emit(({ event }) => ({ type: 'settled', ok: false, error: event.error, ready: true }) as ConnectionEmitted),
          },
          {
            // The call's own time ran out: the caller's error. Whether the server is to blame
            // is for /ping to say, on a new Client (the timed-out one's socket is gone).
            guard: ({ event }) => classifyFailure(event.error) === 'timeout',
            target: 'verifying',
            actions: [
              emit(({ event }) => ({ type: 'settled', ok: false, error: event.error, ready: false }) as ConnectionEmitted),
              emit({ type: 'unavailable' }),
            ],
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
      entry: sendTo('transport', { type: 'reset' } as const),
      on: { 'transport.reset': { target: 'idle', actions: emit({ type: 'ready' }) } },
    },
    verifying: {
      entry: sendTo('transport', { type: 'reset' } as const),
      on: { 'transport.reset': { target: 'checking' } },
    },
    checking: {
      invoke: {
        src: 'probe',
        // The server answers: the slow query was the caller's; nothing counts against it.
        onDone: { target: 'idle', actions: emit({ type: 'ready' }) },
        onError: {
          target: 'backoff',
          actions: [
            assign({
              failures: ({ context }) => context.failures + 1,
              lastError: ({ event }) => describe(event.error),
            }),
            emit(({ event }) => ({ type: 'failure', kind: failureKind(event.error) })),
          ],
        },
      },
    },
    failed: {
      entry: sendTo('transport', { type: 'reset' } as const),
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
