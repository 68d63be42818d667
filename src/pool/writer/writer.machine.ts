/**
 * The async writer's actor: takes a wave from the head of the mailbox (a few table batches,
 * or one SQL request alone), sends it, and when some of it failed waits with backoff and
 * sends those very same requests again. The mailbox and every decision about it live in
 * the `WriterIO` the actor gets as input (owned by the `Writer` object), so a restarted
 * actor resumes exactly where the crashed one stopped.
 *
 *                     ┌──────────── wake ─────────────┐
 *                     ▼                               │
 *   (start) ──► ┌──────────┐  no wave, open batch  ┌─────────┐
 *               │ checking │──────────────────────►│ waiting │── after dueIn ──► checking
 *               └──────────┘  nothing queued       └─────────┘
 *                │   ▲   └───────────────────────► ┌──────┐
 *       next wave│   │ all written/dead-lettered   │ idle │── wake ──► checking
 *                ▼   │                             └──────┘
 *               ┌─────────┐  some to retry             ┌─────────┐
 *               │ sending │───────────────────────────►│ backoff │
 *               └─────────┘◄── after retryDelay, hurry ─└─────────┘
 */
import { assign, fromPromise, setup } from 'xstate';
import type { WriterUnit } from './mailbox.js';

/**
 * Everything the writer actor does to the world, provided by `createWriter`. The actor
 * itself holds only the wave being sent and the delay before its retry.
 *
 * @example
 * const io: WriterIO = {
 *   next: () => box.wave(3), dueIn: () => box.dueIn(1000), sleep() {},
 *   send: (wave) => Promise.allSettled(wave.map((u) => run(u.request!))), settle: () => undefined,
 * };
 */
export interface WriterIO {
  /** The units to send together next (after sealing batches whose interval passed); empty when none is ready. */
  next(): WriterUnit[];
  /** Milliseconds until an open batch is due, or undefined when none is open. */
  dueIn(): number | undefined;
  /** The actor waits for a wake event from now on. */
  sleep(): void;
  /** Sends every unit of the wave at once; resolves with each outcome, never rejects. */
  send(wave: readonly WriterUnit[]): Promise<readonly PromiseSettledResult<void>[]>;
  /** Written units leave, refused ones are dead-lettered: ms to wait before retrying the rest, or undefined when none is left. */
  settle(wave: readonly WriterUnit[], outcomes: readonly PromiseSettledResult<void>[]): number | undefined;
}

interface WriterContext {
  readonly io: WriterIO;
  wave: WriterUnit[];
  delay: number;
}

/**
 * The writer's state machine; input is the I/O it works through. `wake`: the mailbox has
 * work; `hurry`: retry now (shutdown is draining the mailbox).
 *
 * @example
 * const actor = createActor(writerMachine, { input: io, clock });
 * actor.start(); actor.send({ type: 'wake' });
 */
export const writerMachine = setup({
  types: {
    context: {} as WriterContext,
    input: {} as WriterIO,
    events: {} as { type: 'wake' } | { type: 'hurry' },
  },
  actors: {
    send: fromPromise<readonly PromiseSettledResult<void>[], { io: WriterIO; wave: readonly WriterUnit[] }>(
      ({ input }) => input.io.send(input.wave),
    ),
  },
  delays: {
    dueIn: ({ context }) => context.io.dueIn() ?? 0,
    retryDelay: ({ context }) => context.delay,
  },
  guards: {
    hasWave: ({ context }) => context.wave.length > 0,
    hasOpenBatch: ({ context }) => context.io.dueIn() !== undefined,
    willRetry: ({ context }) => context.delay >= 0,
  },
}).createMachine({
  id: 'writer',
  context: ({ input }) => ({ io: input, wave: [], delay: -1 }),
  initial: 'checking',
  states: {
    checking: {
      entry: assign({ wave: ({ context }) => context.io.next() }),
      always: [
        { guard: 'hasWave', target: 'sending' },
        { guard: 'hasOpenBatch', target: 'waiting' },
        { target: 'idle' },
      ],
    },
    idle: {
      entry: ({ context }) => context.io.sleep(),
      on: { wake: 'checking' },
    },
    waiting: {
      entry: ({ context }) => context.io.sleep(),
      after: { dueIn: 'checking' },
      on: { wake: 'checking' },
    },
    sending: {
      // No onError: `send` never rejects, so a rejection is a bug and crashes the actor
      // (its supervisor restarts it; the queue is kept outside).
      invoke: {
        src: 'send',
        input: ({ context }) => ({ io: context.io, wave: context.wave }),
        onDone: {
          target: 'settled',
          actions: assign({ delay: ({ context, event }) => context.io.settle(context.wave, event.output) ?? -1 }),
        },
      },
    },
    settled: {
      always: [{ guard: 'willRetry', target: 'backoff' }, { target: 'checking' }],
    },
    backoff: {
      after: { retryDelay: 'checking' },
      on: { hurry: 'checking' },
    },
  },
});
