/**
 * Several rows of one insert refused by the same check: the first is thrown, the others
 * ride along with it, so that the async writer reports each of them alone and sends the
 * rest of its batch once (not once per refused row).
 */
import type { QueryParamError } from './errors.js';

const alsoRefused = new WeakMap<object, readonly QueryParamError[]>();

/**
 * Every row of one insert refused by the same check, each a `QueryParamError` with its
 * `row` (the first is `first` itself, which the caller throws); a single refusal without them.
 *
 * @example
 * throw refusals.length === 1 ? refusals[0] : withAllRefused(refusals);
 */
export function withAllRefused(refusals: readonly QueryParamError[]): QueryParamError {
  const first = refusals[0] as QueryParamError;
  if (refusals.length > 1) alsoRefused.set(first, refusals);
  return first;
}

/**
 * The rows refused with `error` (see `withAllRefused`): all of them, or just `error`.
 *
 * @example
 * for (const refusal of allRefused(err)) report(rows[refusal.row], refusal);
 */
export function allRefused(error: QueryParamError): readonly QueryParamError[] {
  return alsoRefused.get(error) ?? [error];
}

