/**
 * Backoff delays of the pool: one module, two jitters. Reconnects use full jitter (spread
 * the probes of many connections); async-write retries use equal jitter (never below half
 * the cap, so a writer that fails fast while every server is down does not spin).
 */

/**
 * Backoff bounds in milliseconds.
 *
 * @example
 * const backoff: BackoffOptions = { initial: 100, max: 10_000 };
 */
export interface BackoffOptions {
  readonly initial: number;
  readonly max: number;
}

/** The cap for the n-th retry (n from 0): `min(max, initial * 2^n)`. */
function cap(n: number, bounds: BackoffOptions): number {
  return Math.min(bounds.max, bounds.initial * 2 ** Math.min(Math.max(0, n), 30));
}

/**
 * Full jitter: a uniform pick in `[0, cap(n)]`.
 *
 * @example
 * fullJitter(3, { initial: 100, max: 10_000 }, () => 0.5); // 400
 */
export function fullJitter(n: number, bounds: BackoffOptions, random: () => number): number {
  return Math.floor(random() * cap(n, bounds));
}

/**
 * Equal jitter: a uniform pick in `[cap(n) / 2, cap(n)]`.
 *
 * @example
 * equalJitter(2, { initial: 100, max: 10_000 }, () => 0.5); // 300
 */
export function equalJitter(n: number, bounds: BackoffOptions, random: () => number): number {
  const c = cap(n, bounds);
  return Math.round(c / 2 + (random() * c) / 2);
}
