// One check that a password is nowhere in what a user can see of a value: util.inspect with
// hidden (non-enumerable) properties, so a field kept out of JSON still counts, plus the
// message, stack and cause chain of every error found in it.
import * as assert from 'uvu/assert';
import { inspect } from 'node:util';

/** Every text form of `value` a user could print, log or serialize. */
export function visibleText(value: unknown): string {
  const parts = [inspect(value, { depth: 12, showHidden: true, maxArrayLength: 1_000, maxStringLength: 100_000, breakLength: Infinity })];
  const seen = new Set<unknown>();
  const walk = (v: unknown, depth: number): void => {
    if (v === null || typeof v !== 'object' || seen.has(v) || depth > 12) return;
    seen.add(v);
    if (v instanceof Error) parts.push(String(v.message), String(v.stack), inspect(v.cause, { showHidden: true, depth: 6 }));
    for (const key of Reflect.ownKeys(v)) {
      try {
        walk((v as Record<PropertyKey, unknown>)[key], depth + 1);
      } catch {
        // a getter that throws shows nothing
      }
    }
  };
  walk(value, 0);
  return parts.join('\n');
}

/** Fails when any of `secrets` shows in `value` (see `visibleText`). */
export function assertNoSecret(value: unknown, secrets: readonly string[], what = 'value'): void {
  const text = visibleText(value);
  for (const secret of secrets) assert.not.ok(text.includes(secret), `${what} shows ${JSON.stringify(secret)}`);
}
