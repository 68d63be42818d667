/**
 * The async writer's actor: takes the head of the mailbox, sends it, and on failure waits
 * with backoff and sends the very same request again. The mailbox and every decision about
 * it live in the `WriterPort` the actor gets as input (owned by the `Writer` object), so a
 * restarted actor resumes exactly where the crashed one stopped. One request is in flight
 * at a time, which keeps SQL requests in enqueue order.
 *
 *                     ┌──────────── WAKE ─────────────┐
 *                     ▼                               │
 *   (start) ──► ┌──────────┐  no unit, open batch  ┌─────────┐
 *               │ checking │──────────────────────►│ waiting │── after dueIn ──► checking
 *               └──────────┘  nothing queued       └─────────┘
 *                │   ▲   └───────────────────────► ┌──────┐
 *       next unit│   │                             │ idle │── WAKE ──► checking
 *                ▼   │ written / dead-lettered     └──────┘
 *               ┌─────────┐  error, retry budget left  ┌─────────┐
 *               │ sending │───────────────────────────►│ backoff │
 *               └─────────┘◄── after retryDelay, HURRY ─└─────────┘
 */
import { assign, fromPromise, setup } from 'xstate';
import type { WriterUnit } from './writer-mailbox.js';

/**
 * Everything the writer actor does to the world, provided by `createWriter`. The actor
 * itself holds only the unit being sent and the delay before its retry.
 *
 * @example
 * const port: WriterPort = { next: () => box.head(), dueIn: () => box.dueIn(1000), sleep() {}, send: (u) => run(u), done: (u) => box.complete(u), failed: () => 100 };
 */
export interface WriterPort {
  /** The unit to send next (after sealing batches whose interval passed), or undefined. */
  next(): WriterUnit | undefined;
  /** Milliseconds until an open batch is due, or undefined when none is open. */
  dueIn(): number | undefined;
  /** The actor waits for a WAKE event from now on. */
  sleep(): void;
  /** Sends the unit's frozen request; resolves when written. */
  send(unit: WriterUnit): Promise<void>;
  /** The unit is written. */
  done(unit: WriterUnit): void;
  /** The attempt failed: ms to wait before retrying, or undefined when it was dead-lettered. */
  failed(unit: WriterUnit, error: unknown): number | undefined;
}

interface WriterContext {
  readonly port: WriterPort;
  unit: WriterUnit | undefined;
  delay: number;
}

/**
 * The writer's state machine; input is the port it works through. `WAKE`: the mailbox has
 * work; `HURRY`: retry now (shutdown is draining the mailbox).
 *
 * @example
 * const actor = createActor(writerMachine, { input: port, clock });
 * actor.start(); actor.send({ type: 'WAKE' });
 */
export const writerMachine = setup({
  types: {
    context: {} as WriterContext,
    input: {} as WriterPort,
    events: {} as { type: 'WAKE' } | { type: 'HURRY' },
  },
  actors: {
    send: fromPromise<void, { port: WriterPort; unit: WriterUnit }>(({ input }) => input.port.send(input.unit)),
  },
  delays: {
    dueIn: ({ context }) => context.port.dueIn() ?? 0,
    retryDelay: ({ context }) => context.delay,
  },
  guards: {
    hasUnit: ({ context }) => context.unit !== undefined,
    hasOpenBatch: ({ context }) => context.port.dueIn() !== undefined,
    willRetry: ({ context }) => context.delay >= 0,
  },
}).createMachine({
  id: 'writer',
  context: ({ input }) => ({ port: input, unit: undefined, delay: -1 }),
  initial: 'checking',
  states: {
    checking: {
      entry: assign({ unit: ({ context }) => context.port.next() }),
      always: [
        { guard: 'hasUnit', target: 'sending' },
        { guard: 'hasOpenBatch', target: 'waiting' },
        { target: 'idle' },
      ],
    },
    idle: {
      entry: ({ context }) => context.port.sleep(),
      on: { WAKE: 'checking' },
    },
    waiting: {
      entry: ({ context }) => context.port.sleep(),
      after: { dueIn: 'checking' },
      on: { WAKE: 'checking' },
    },
    sending: {
      invoke: {
        src: 'send',
        input: ({ context }) => ({ port: context.port, unit: context.unit as WriterUnit }),
        onDone: {
          target: 'checking',
          actions: ({ context }) => context.port.done(context.unit as WriterUnit),
        },
        onError: {
          target: 'failed',
          actions: assign({
            delay: ({ context, event }) => context.port.failed(context.unit as WriterUnit, event.error) ?? -1,
          }),
        },
      },
    },
    failed: {
      always: [{ guard: 'willRetry', target: 'backoff' }, { target: 'checking' }],
    },
    backoff: {
      after: { retryDelay: 'sending' },
      on: { HURRY: 'sending' },
    },
  },
});
