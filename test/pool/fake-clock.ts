// A manual clock for pool tests: time moves only when a test calls `advance`.
import type { Clock } from '../../src/otp/types.js';

export interface ManualClock extends Clock {
  advance(ms: number): void;
  pending(): number;
  /** Moves time to the earliest pending timer and fires it; returns the ms advanced. */
  runNext(): number;
}

export function manualClock(start = 0): ManualClock {
  let now = start;
  let seq = 0;
  const timers = new Map<number, { at: number; fn: () => void }>();
  return {
    now: () => now,
    setTimeout(fn, ms) {
      const id = ++seq;
      timers.set(id, { at: now + Math.max(0, ms), fn });
      return id;
    },
    clearTimeout(handle) {
      timers.delete(handle as number);
    },
    advance(ms) {
      const end = now + ms;
      for (;;) {
        let next: [number, { at: number; fn: () => void }] | undefined;
        for (const entry of timers) if (entry[1].at <= end && (!next || entry[1].at < next[1].at)) next = entry;
        if (!next) break;
        timers.delete(next[0]);
        now = next[1].at;
        next[1].fn();
      }
      now = end;
    },
    pending: () => timers.size,
    runNext() {
      let at = Infinity;
      for (const t of timers.values()) at = Math.min(at, t.at);
      if (at === Infinity) return 0;
      const step = at - now;
      this.advance(step);
      return step;
    },
  };
}

export { seeded } from '../seeded.js';
