/**
 * Errors of the actor runtime. Each has a stable `code`; tests and callers branch on the
 * code, never on the words.
 */

/**
 * Codes of the runtime's errors.
 *
 * @example
 * try { await app.startChild(spec); } catch (e) {
 *   if (e instanceof OtpError && e.code === 'OTP_DUPLICATE_CHILD') console.warn(`${e.childId} is already a child`);
 * }
 */
export type OtpErrorCode =
  /** A child (or the whole tree) could not start; the message names the child. */
  | 'OTP_START_FAILED'
  /** A second child with an id already used in that supervisor. */
  | 'OTP_DUPLICATE_CHILD'
  /** A registry name that is already taken. */
  | 'OTP_NAME_TAKEN'
  /** No child with that id. */
  | 'OTP_NO_CHILD'
  /** `restartChild` / `deleteChild` on a child that is running. */
  | 'OTP_CHILD_RUNNING'
  /** `restartChild` / `deleteChild` on a child the supervisor is trying to restart. */
  | 'OTP_CHILD_RESTARTING'
  /** The exit reason of a supervisor that had more restarts than its intensity allows. */
  | 'OTP_MAX_RESTARTS'
  /** The exit reason of an actor stopped from outside its supervisor. */
  | 'OTP_KILLED'
  /** A call on a supervisor that has stopped or failed. */
  | 'OTP_NOT_RUNNING'
  /** A child spec or supervisor option that is not valid; the message says which key. */
  | 'OTP_INVALID_SPEC';

/**
 * The runtime's error class.
 *
 * @example
 * try { await startSupervisor([spec]); } catch (e) {
 *   if (e instanceof OtpError && e.code === 'OTP_START_FAILED') console.error(e.message, e.cause);
 * }
 */
export class OtpError extends Error {
  readonly code: OtpErrorCode;
  /** The child the error is about, when there is one. */
  readonly childId: string | undefined;

  constructor(code: OtpErrorCode, message: string, options?: { cause?: unknown; childId?: string }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'OtpError';
    this.code = code;
    this.childId = options?.childId;
  }
}

/**
 * A short description of any thrown value, for messages that name a cause.
 *
 * @example
 * describeCause(new Error('boom')); // 'boom'
 */
export function describeCause(cause: unknown): string {
  if (cause instanceof Error) return cause.message;
  if (typeof cause === 'string') return cause;
  return String(cause);
}
