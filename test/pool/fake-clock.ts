// A manual clock for pool tests: otp's test clock, plus `runNext` (jump to the next timer).
import { createTestClock, type TestClock } from '../../src/otp/clock.js';

export interface ManualClock extends TestClock {
  /** Moves time to the earliest pending timer and fires it; returns the ms advanced. */
  runNext(): number;
}

export function manualClock(start = 0): ManualClock {
  const clock = createTestClock(start);
  // Due times of the pending timers, which the otp clock keeps to itself.
  const due = new Map<number, number>();
  return {
    ...clock,
    setTimeout(fn, ms) {
      const id = clock.setTimeout(() => {
        due.delete(id);
        fn();
      }, ms);
      due.set(id, clock.now() + Math.max(0, ms));
      return id;
    },
    clearTimeout(handle) {
      due.delete(handle as number);
      clock.clearTimeout(handle);
    },
    runNext() {
      let at = Infinity;
      for (const t of due.values()) at = Math.min(at, t);
      if (at === Infinity) return 0;
      const step = at - clock.now();
      clock.advance(step);
      return step;
    },
  };
}

export { seeded } from '../seeded.js';
