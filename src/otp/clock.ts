/**
 * Clocks. Every timer of the runtime goes through one of these, so a simulated clock drives
 * intensity windows and shutdown deadlines in tests without sleeping. Both also satisfy
 * xstate's `clock` option, so machines' delayed transitions can share the tree's time.
 */
import type { Clock } from './types.js';

/**
 * The process clock: monotonic milliseconds (`performance.now()`, as OTP's intensity window
 * reads `erlang:monotonic_time`: a step of the wall clock moves no window) and Node's timers.
 *
 * @example
 * const app = await startSupervisor(children, { clock: realClock });
 */
export const realClock: Clock = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/**
 * A clock that moves only when told to.
 *
 * @example
 * const clock: TestClock = createTestClock();
 * const app = await startSupervisor(children, { clock });
 * clock.advance(5_000); // fires every timer due within 5 s, in order
 * clock.pending();      // timers still waiting
 */
export interface TestClock extends Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): number;
  clearTimeout(handle: unknown): void;
  /** Moves time forward by `ms`, firing due timers in order, each at its own instant. */
  advance(ms: number): void;
  /** How many timers are waiting. */
  pending(): number;
}

interface Timer {
  readonly id: number;
  readonly due: number;
  readonly fn: () => void;
}

/**
 * A simulated clock starting at `start` (default 0). Timers set for the same instant fire in
 * the order they were set; a timer set while advancing fires within the same advance if due.
 *
 * @example
 * const clock = createTestClock();
 * const actor = createActor(machine, { clock }); // xstate's delays run on it too
 * clock.advance(5_000);
 */
export function createTestClock(start = 0): TestClock {
  let now = start;
  let nextId = 1;
  const timers = new Map<number, Timer>();

  const nextDue = (limit: number): Timer | undefined => {
    let best: Timer | undefined;
    for (const t of timers.values()) {
      if (t.due <= limit && (best === undefined || t.due < best.due || (t.due === best.due && t.id < best.id))) best = t;
    }
    return best;
  };

  return {
    now: () => now,
    setTimeout(fn, ms) {
      const id = nextId++;
      timers.set(id, { id, due: now + Math.max(0, ms), fn });
      return id;
    },
    clearTimeout(handle) {
      if (typeof handle === 'number') timers.delete(handle);
    },
    advance(ms) {
      if (!(ms >= 0)) throw new RangeError(`advance expects a non-negative number of ms, got ${ms}`);
      const target = now + ms;
      for (let t = nextDue(target); t !== undefined; t = nextDue(target)) {
        timers.delete(t.id);
        now = t.due;
        t.fn();
      }
      now = target;
    },
    pending: () => timers.size,
  };
}
