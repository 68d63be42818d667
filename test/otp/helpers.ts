// Shared fixtures of the runtime's tests: a worker that crashes or exits when told, spec
// factories that count starts, and a flush that lets every pending continuation run.
import { createActor, setup } from 'xstate';
import type { ChildActor, ChildSpec, RestartType, Shutdown } from '../../src/otp/types.js';

/** A worker: `CRASH` throws inside a transition (the actor errors), `EXIT` reaches a final state. */
export const workerMachine = setup({
  actions: { crash: () => { throw new Error('worker crashed on purpose'); } },
}).createMachine({
  id: 'worker',
  initial: 'working',
  states: {
    working: { on: { CRASH: { actions: 'crash' }, EXIT: 'finished' } },
    finished: { type: 'final' },
  },
});

/** Lets every promise continuation and queued mailbox message run; no timers involved. */
export async function flush(): Promise<void> {
  for (let i = 0; i < 10; i++) await new Promise((resolve) => setImmediate(resolve));
}

/** A log of what happened, in order: `start:a`, `stop:a`, ... */
export type Journal = string[];

export interface WorkerOptions {
  restart?: RestartType;
  shutdown?: Shutdown;
  /** Journal to append `start:<id>` and `stop:<id>` to. */
  journal?: Journal;
  /** Start attempts that throw, counted from 1 (e.g. `[2, 3]`). */
  failOn?: number[];
  stop?: ChildSpec['stop'];
}

/** A worker spec plus what a test wants to see of it. */
export interface Worker {
  spec: ChildSpec;
  starts: () => number;
  /** The actor of the latest successful start. */
  actor: () => ChildActor;
  crash: () => void;
  exit: () => void;
}

/**
 * A worker spec that records its starts and stops in a journal.
 */
export function worker(id: string, options: WorkerOptions = {}): Worker {
  let starts = 0;
  let latest: ChildActor | undefined;
  const spec: ChildSpec = {
    id,
    ...(options.restart === undefined ? {} : { restart: options.restart }),
    ...(options.shutdown === undefined ? {} : { shutdown: options.shutdown }),
    ...(options.stop === undefined ? {} : { stop: options.stop }),
    start: (context) => {
      starts += 1;
      if (options.failOn?.includes(starts)) {
        options.journal?.push(`fail:${id}`);
        throw new Error(`start ${starts} of ${id} refused`);
      }
      const actor = createActor(workerMachine, context === undefined ? {} : { clock: context.clock });
      actor.subscribe({
        complete: () => options.journal?.push(`stop:${id}`),
        error: () => options.journal?.push(`crash:${id}`),
      });
      options.journal?.push(`start:${id}`);
      latest = actor;
      return actor;
    },
  };
  return {
    spec,
    starts: () => starts,
    actor: () => {
      if (latest === undefined) throw new Error(`${id} never started`);
      return latest;
    },
    crash: () => latest?.send({ type: 'CRASH' }),
    exit: () => latest?.send({ type: 'EXIT' }),
  };
}

/** `id:running` pairs, the shape most assertions compare. */
export function rows(children: ReadonlyArray<{ id: string; running: boolean }>): string[] {
  return children.map((c) => `${c.id}:${c.running ? 'up' : 'down'}`);
}

/** The xstate status of an actor's snapshot: `'active'`, `'done'`, `'error'` or `'stopped'`. */
export const status = (actor: ChildActor): string => (actor.getSnapshot() as { status: string }).status;

/** A promise settled from outside. */
export interface Deferred<T> {
  readonly promise: Promise<T>;
  resolve: (value: T) => void;
  reject: (error: unknown) => void;
}

/** A new `Deferred`; its promise stays pending until `resolve` or `reject` is called. */
export function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => { resolve = res; reject = rej; });
  return { promise, resolve, reject };
}

/** `spec` whose start attempts listed in `attempts` (counted from 1) wait for `gate` before starting. */
export function held(spec: ChildSpec, attempts: number[], gate: Promise<unknown>): ChildSpec {
  let attempt = 0;
  return {
    ...spec,
    start: async (context) => {
      attempt += 1;
      if (attempts.includes(attempt)) await gate;
      return spec.start(context);
    },
  };
}
