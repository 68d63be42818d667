/**
 * Two abort signals joined for one call, and parted when it ends. Node 20's
 * `AbortSignal.any` keeps an entry on each source signal for every signal it made, for as
 * long as the source lives: a caller who passes one long-lived signal to every stream or
 * hedged read would grow the heap with every call, for ever (135 bytes to 3.8 KB a call here).
 */
import { AbortError, TimeoutError } from './errors.js';

/**
 * A signal that aborts when `first` or `second` does, with its reason, and `release`, which
 * takes its listeners off both (call it once the call it was made for has settled).
 *
 * @example
 * const { signal, release } = joinSignals(callerSignal, controller.signal);
 * try { await run({ signal }); } finally { release(); }
 */
export function joinSignals(first: AbortSignal, second: AbortSignal): { signal: AbortSignal; release: () => void } {
  if (first.aborted) return { signal: first, release: noop };
  if (second.aborted) return { signal: second, release: noop };
  const joined = new AbortController();
  const release = (): void => {
    first.removeEventListener('abort', onFirst);
    second.removeEventListener('abort', onSecond);
  };
  const onFirst = (): void => { release(); joined.abort(first.reason); };
  const onSecond = (): void => { release(); joined.abort(second.reason); };
  first.addEventListener('abort', onFirst);
  second.addEventListener('abort', onSecond);
  return { signal: joined.signal, release };
}

/**
 * Runs `run` with a signal that aborts when `first` (if given) or `second` does, and parts
 * the two once its promise settles.
 *
 * @example
 * await withEitherSignal(options.signal, sink.gone, (signal) => call({ ...options, signal }));
 */
export function withEitherSignal<T>(first: AbortSignal | undefined, second: AbortSignal, run: (signal: AbortSignal) => Promise<T>): Promise<T> {
  if (first === undefined) return run(second);
  const { signal, release } = joinSignals(first, second);
  return run(signal).finally(release);
}

/**
 * `join()` (a request other calls may be waiting on too, joined only if `signal` has not
 * fired), or this call's own `TimeoutError` or `AbortError` (its own request never sent) when
 * its time runs out or its signal fires first; the shared request goes on for the others. A
 * failure of the request comes through `failed`.
 *
 * @example
 * const schema = await withinOwn(() => describing, remaining(), options.signal);
 */
export function withinOwn<T>(join: () => Promise<T>, timeout: number, signal: AbortSignal | undefined, failed: (error: unknown) => unknown = (error) => error): Promise<T> {
  if (signal?.aborted) return Promise.reject(new AbortError(signal.reason, false));
  const shared = join();
  return new Promise<T>((resolve, reject) => {
    const end = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    };
    const onAbort = (): void => {
      end();
      reject(new AbortError(signal?.reason, false));
    };
    const timer = setTimeout(() => {
      end();
      reject(new TimeoutError(timeout, false));
    }, Math.max(1, timeout));
    signal?.addEventListener('abort', onAbort, { once: true });
    shared.then((value) => {
      end();
      resolve(value);
    }, (error: unknown) => {
      end();
      reject(failed(error));
    });
  });
}

function noop(): void {}
