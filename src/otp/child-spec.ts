/**
 * Child specs: turning what a children list holds into a checked spec with OTP's (and
 * Elixir's) defaults filled in, and checking supervisor options.
 */
import { OtpError } from './errors.js';
import type { ChildInput, ChildSpec, RestartType, Shutdown, Strategy, SupervisorOptions } from './types.js';

/** A spec with every default filled in. */
export interface ResolvedSpec {
  readonly id: string;
  readonly start: ChildSpec['start'];
  readonly restart: RestartType;
  readonly shutdown: Shutdown;
  readonly type: 'worker' | 'supervisor';
  readonly stop: ChildSpec['stop'];
}

// At most what a timer waits: Node runs a longer one after 1 ms.
const LONGEST_TIMER_MS = 2 ** 31 - 1;
const specKeys = new Set(['id', 'start', 'restart', 'shutdown', 'type', 'stop']);
const restarts = new Set<unknown>(['permanent', 'transient', 'temporary']);
const strategies = new Set<unknown>(['one_for_one', 'one_for_all', 'rest_for_one']);

const invalid = (message: string, childId?: string) =>
  new OtpError('OTP_INVALID_SPEC', message, childId === undefined ? undefined : { childId });

/**
 * Checks one child and fills in its defaults: restart `'permanent'`, type `'worker'`,
 * shutdown 5000 for workers and `'infinity'` for supervisors.
 *
 * @example
 * resolveSpec({ id: 'ticker', start: () => createActor(ticker) }).shutdown; // 5000
 */
export function resolveSpec(input: ChildInput): ResolvedSpec {
  if (input === null || typeof input !== 'object') throw invalid(`a child must be a spec object or have childSpec(), got ${input === null ? 'null' : typeof input}`);
  const spec: unknown = 'childSpec' in input && typeof input.childSpec === 'function' ? input.childSpec() : input;
  if (spec === null || typeof spec !== 'object') throw invalid('childSpec() must return a spec object');
  const s = spec as Record<string, unknown>;
  const id = s.id;
  if (typeof id !== 'string' || id === '') throw invalid(`a child spec needs a non-empty string id, got ${typeof id}`);
  for (const key of Object.keys(s)) {
    if (!specKeys.has(key)) throw invalid(`child '${id}': unknown key '${key}' (expected one of ${[...specKeys].join(', ')})`, id);
  }
  if (typeof s.start !== 'function') throw invalid(`child '${id}': start must be a function returning an actor`, id);
  if (s.restart !== undefined && !restarts.has(s.restart)) throw invalid(`child '${id}': restart must be 'permanent', 'transient' or 'temporary'`, id);
  if (s.type !== undefined && s.type !== 'worker' && s.type !== 'supervisor') throw invalid(`child '${id}': type must be 'worker' or 'supervisor'`, id);
  if (s.stop !== undefined && typeof s.stop !== 'function') throw invalid(`child '${id}': stop must be a function`, id);
  const type = (s.type ?? 'worker') as 'worker' | 'supervisor';
  const shutdown = s.shutdown ?? (type === 'supervisor' ? 'infinity' : 5000);
  if (!(shutdown === 'brutal_kill' || shutdown === 'infinity' || (typeof shutdown === 'number' && shutdown >= 0 && shutdown <= LONGEST_TIMER_MS))) {
    throw invalid(`child '${id}': shutdown must be a number of ms from 0 to ${LONGEST_TIMER_MS}, 'brutal_kill' or 'infinity'`, id);
  }
  return {
    id,
    start: s.start as ChildSpec['start'],
    restart: (s.restart ?? 'permanent') as RestartType,
    shutdown: shutdown as Shutdown,
    type,
    stop: s.stop as ChildSpec['stop'],
  };
}

/**
 * Resolves a whole children list, refusing a repeated id with `OTP_DUPLICATE_CHILD`.
 *
 * @example
 * resolveChildren([a, b]).map((s) => s.id); // ['a', 'b']
 */
export function resolveChildren(children: readonly ChildInput[]): ResolvedSpec[] {
  if (!Array.isArray(children)) throw invalid('children must be an array');
  const seen = new Set<string>();
  return children.map((child) => {
    const spec = resolveSpec(child);
    if (seen.has(spec.id)) throw new OtpError('OTP_DUPLICATE_CHILD', `two children have the id '${spec.id}'`, { childId: spec.id });
    seen.add(spec.id);
    return spec;
  });
}

/** Supervisor flags with defaults filled in. */
export interface ResolvedFlags {
  readonly strategy: Strategy;
  readonly intensity: number;
  readonly period: number;
}

/**
 * Checks supervisor flags against the keys allowed where they are given, and fills in
 * Elixir's defaults: one_for_one, intensity 3, period 5000 ms.
 *
 * @example
 * resolveFlags({ strategy: 'rest_for_one' }, ['strategy']).intensity; // 3
 */
export function resolveFlags(options: Partial<SupervisorOptions> & Record<string, unknown>, allowed: readonly string[]): ResolvedFlags {
  if (options === null || typeof options !== 'object') throw invalid('supervisor options must be an object');
  for (const key of Object.keys(options)) {
    if (!allowed.includes(key)) throw invalid(`unknown supervisor option '${key}' (expected one of ${allowed.join(', ')})`);
  }
  const { strategy = 'one_for_one', intensity = 3, period = 5000 } = options;
  if (!strategies.has(strategy)) throw invalid(`strategy must be 'one_for_one', 'one_for_all' or 'rest_for_one'`);
  if (!Number.isInteger(intensity) || intensity < 0) throw invalid(`intensity must be an integer >= 0, got ${String(intensity)}`);
  if (typeof period !== 'number' || !(period > 0)) throw invalid(`period must be a number of ms > 0, got ${String(period)}`);
  return { strategy, intensity, period };
}
