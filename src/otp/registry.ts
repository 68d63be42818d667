/**
 * A registry of names, as Erlang's `register/2` and `whereis/1`: one process-wide table
 * from a name to whatever was registered (a supervisor handle, a pool).
 */
import { OtpError } from './errors.js';

const names = new Map<string, unknown>();

/**
 * Registers `value` under `name`; a name already taken is refused with `OTP_NAME_TAKEN`.
 *
 * @example
 * register('MyClickHouse', pool);
 * whereis('MyClickHouse') === pool; // true
 */
export function register(name: string, value: unknown): void {
  if (typeof name !== 'string' || name === '') {
    throw new OtpError('OTP_INVALID_SPEC', `a registered name must be a non-empty string, got ${typeof name}`);
  }
  if (names.has(name)) {
    throw new OtpError('OTP_NAME_TAKEN', `the name '${name}' is already registered`);
  }
  names.set(name, value);
}

/**
 * Removes `name`. With `value`, only when `name` still refers to it (so an old owner
 * exiting late does not remove its successor). Returns whether something was removed.
 *
 * @example
 * unregister('MyClickHouse'); // true
 */
export function unregister(name: string, value?: unknown): boolean {
  if (!names.has(name)) return false;
  if (arguments.length > 1 && names.get(name) !== value) return false;
  return names.delete(name);
}

/**
 * What is registered under `name`, or `undefined`. The type parameter is the caller's
 * promise about what it registered there.
 *
 * @example
 * const connections = whereis<Supervisor>('MyClickHouse.connections');
 */
export function whereis<T = unknown>(name: string): T | undefined {
  return names.get(name) as T | undefined;
}

/**
 * The names registered now, sorted.
 *
 * @example
 * registered(); // ['MyClickHouse']
 */
export function registered(): string[] {
  return [...names.keys()].sort();
}
