// Benchmark workers in child processes: a one-shot worker sends one report and exits; a
// resident worker answers requests one at a time until it is told to close.
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** Extra node flags for one child, e.g. `--cpu-prof`. */
export interface ChildOptions {
  readonly execArgv?: readonly string[];
  /** A one-shot child is killed after this long; for a resident one, each request. */
  readonly deadlineMs: number;
}

function spawnWorker(worker: string, task: unknown, options: ChildOptions): ChildProcess {
  return fork(fileURLToPath(new URL(worker, import.meta.url)), [], {
    execArgv: ['--import', 'tsx', ...(options.execArgv ?? [])],
    env: { ...process.env, BENCH_TASK: JSON.stringify(task) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
}

/**
 * Forks `worker` (a file beside this one) with `task` in BENCH_TASK and awaits its one report.
 *
 * @example
 * const report = await runChild<InsertReport>('./insert-worker.ts', task, { deadlineMs: 600_000 });
 */
export function runChild<R>(worker: string, task: unknown, options: ChildOptions): Promise<R> {
  return new Promise<R>((resolve, reject) => {
    let report: R | undefined;
    const child = spawnWorker(worker, task, options);
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${worker} did not finish within ${options.deadlineMs} ms`));
    }, options.deadlineMs);
    child.on('message', (message) => {
      report = message as R;
    });
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (report !== undefined) resolve(report);
      else reject(new Error(`${worker} exited (${signal ?? `code ${code}`}) without a report`));
    });
  });
}

/** A resident worker: `ask` sends one request and resolves with the next message back. */
export interface Resident<Q, R> {
  ask(request: Q): Promise<R>;
  /** Asks the worker to finish (it answers `request` once more, then exits) and waits for the exit. */
  close(request: Q): Promise<R>;
}

/**
 * Forks a resident `worker`; resolves once it says it is ready (its first message).
 *
 * @example
 * const worker = await startResident<SelectRequest, SelectReply>('./select-worker.ts', task, { deadlineMs: 60_000 });
 * const answer = await worker.ask({ type: 'cell', concurrency: 16, ms: 1_500, warmupMs: 300 });
 * await worker.close({ type: 'close' });
 */
export function startResident<Q, R>(worker: string, task: unknown, options: ChildOptions): Promise<Resident<Q, R>> {
  const child = spawnWorker(worker, task, options);
  let pending: { resolve: (r: R) => void; reject: (e: Error) => void; timer: NodeJS.Timeout } | undefined;
  let exited: Error | undefined;
  const exit = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  const expect = (what: string): Promise<R> => new Promise<R>((resolve, reject) => {
    if (exited) return reject(exited);
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${worker}: no answer to ${what} within ${options.deadlineMs} ms`));
    }, options.deadlineMs);
    pending = { resolve, reject, timer };
  });
  child.on('message', (message) => {
    const p = pending;
    pending = undefined;
    if (!p) return;
    clearTimeout(p.timer);
    p.resolve(message as R);
  });
  child.on('exit', (code, signal) => {
    exited = new Error(`${worker} exited (${signal ?? `code ${code}`})`);
    const p = pending;
    pending = undefined;
    if (p) {
      clearTimeout(p.timer);
      p.reject(exited);
    }
  });
  const resident: Resident<Q, R> = {
    ask(request) {
      const answer = expect(JSON.stringify(request));
      child.send(request as object);
      return answer;
    },
    async close(request) {
      const answer = await resident.ask(request);
      await exit;
      return answer;
    },
  };
  return expect('start').then(() => resident);
}
