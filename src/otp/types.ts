/**
 * The shapes of the actor runtime, shared by `src/otp/` and its users (the pool).
 * This file is the contract between `src/otp/` and `src/pool/`: change it only together
 * with both.
 */
import type { EventObject, InspectionEvent, Observer, Subscription } from 'xstate';

/**
 * OTP restart types: always, only after an abnormal exit, never.
 *
 * @example
 * const restart: RestartType = 'transient'; // restarted after a crash, not after a normal exit
 * const spec: ChildSpec = { id: 'job', start: (ctx) => createActor(job, { clock: ctx?.clock ?? realClock }), restart };
 */
export type RestartType = 'permanent' | 'transient' | 'temporary';

/**
 * Milliseconds to wait for a graceful stop, or OTP's `brutal_kill` / `infinity`.
 *
 * @example
 * const shutdown: Shutdown = 10_000; // or 'brutal_kill', or 'infinity'
 * const spec: ChildSpec = { id: 'flusher', start, shutdown };
 */
export type Shutdown = number | 'brutal_kill' | 'infinity';

/**
 * OTP restart strategies.
 *
 * @example
 * const strategy: Strategy = 'rest_for_one'; // a crash of cache restarts cache, then api
 * await startSupervisor([db, cache, api], { strategy });
 */
export type Strategy = 'one_for_one' | 'one_for_all' | 'rest_for_one';

/**
 * Time, injected so tests drive intensity windows and timeouts without sleeping.
 *
 * @example
 * const clock: Clock = process.env.SIMULATED ? createTestClock() : realClock;
 * const app = await startSupervisor(children, { clock });
 */
export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/**
 * Why a child or supervisor ended. `'normal'` and `'shutdown'` are not crashes.
 *
 * @example
 * const reason: ExitReason = await app.stopped;
 * if (typeof reason === 'object') console.error('crashed:', reason.error);
 */
export type ExitReason = 'normal' | 'shutdown' | { readonly error: unknown };

/**
 * A running child as the runtime and its users see it: any actor made by xstate's
 * `createActor(...)` (a machine, `fromPromise`, `fromCallback`, a supervisor's own actor)
 * fits without a cast. Snapshots are `unknown`; narrow them where the logic is known.
 *
 * @example
 * const app = await startSupervisor([{ id: 'ticker', start: (ctx) => createActor(ticker, { clock: ctx?.clock ?? realClock }) }]);
 * const actor: ChildActor | undefined = app.whichChildren()[0]?.actor;
 * actor?.send({ type: 'TICK', by: 2 });
 * if (actor) console.log((actor.getSnapshot() as SnapshotFrom<typeof ticker>).value);
 */
export interface ChildActor {
  /** The actor's id (its system id's last part; what the inspector shows). */
  readonly id: string;
  /** Unique per life: a restarted child has a new one. */
  readonly sessionId: string;
  // Methods, not function-valued properties: an actor whose `send` takes only its own
  // events must still fit here, and method parameters are compared bivariantly. The
  // second member lets an event literal carry a payload (`EventObject` alone has no room
  // for one and would reject `{ type: 'PUSH', value }` as an excess property).
  send(event: EventObject | { readonly type: string; readonly [key: string]: unknown }): void;
  getSnapshot(): unknown;
  subscribe(observer: Observer<unknown>): Subscription;
  subscribe(next: (snapshot: unknown) => void, error?: (error: unknown) => void, complete?: () => void): Subscription;
  start(): void;
  stop(): void;
}

/**
 * How one child is started and treated, as OTP's child spec.
 *
 * @example
 * const spec: ChildSpec = {
 *   id: 'ticker',
 *   start: (ctx) => createActor(tickerMachine, { clock: ctx?.clock ?? realClock }),
 *   restart: 'transient',
 *   shutdown: 2_000,
 * };
 */
export interface ChildSpec {
  /** Unique within its supervisor. */
  readonly id: string;
  /**
   * Returns an xstate actor, created but not started (or a promise of one). The context
   * carries the tree's clock: pass it to `createActor(logic, { clock })` so the actor's
   * delayed transitions run on the same (possibly simulated) time as the supervisor.
   */
  readonly start: (context?: StartContext) => ChildActor | Promise<ChildActor>;
  /** Default `'permanent'`. */
  readonly restart?: RestartType;
  /** Default 5000 for workers, `'infinity'` for supervisors. */
  readonly shutdown?: Shutdown;
  /** Default `'worker'`. */
  readonly type?: 'worker' | 'supervisor';
  /**
   * Graceful async cleanup run when the supervisor stops this child (not after a crash),
   * awaited within `shutdown`; afterwards the actor is stopped. A worker that needs to
   * drain (the pool's writer) does it here.
   */
  readonly stop?: (actor: ChildActor) => Promise<void>;
}

/**
 * What a supervisor hands to a child spec's `start`.
 *
 * @example
 * const spec: ChildSpec = { id: 'ticker', start: (ctx) => createActor(ticker, { clock: ctx?.clock ?? realClock }) };
 */
export interface StartContext {
  /** The clock of the whole tree (the root's). */
  readonly clock: Clock;
  /** The supervisor starting this child. */
  readonly supervisor?: Supervisor;
  /** The root supervisor of the tree this child is started in (a child that watches the whole tree, such as the observer, walks it from here). */
  readonly root?: Supervisor;
}

/**
 * What a supervisor tells its watchers (and, bubbling up, its ancestors' watchers): a child
 * is being restarted, or the supervisor gave up (restart intensity exceeded) and ends.
 *
 * @example
 * const unwatch = app.watch((notice: SupervisorNotice) => {
 *   if (notice.type === 'restart') console.warn(`${notice.supervisor}/${notice.child} restarted`);
 * });
 */
export type SupervisorNotice =
  | { readonly type: 'restart'; readonly supervisor: string; readonly child: string; readonly reason: ExitReason }
  | { readonly type: 'give_up'; readonly supervisor: string; readonly child: string; readonly reason: ExitReason };

/**
 * Anything that knows its own child spec, the Elixir convention (`MyClickHouse`).
 *
 * @example
 * const Ticker: ChildSpecSource = { childSpec: () => ({ id: 'ticker', start: (ctx) => createActor(ticker, { clock: ctx?.clock ?? realClock }) }) };
 * await startSupervisor([Ticker]);
 */
export interface ChildSpecSource {
  childSpec(): ChildSpec;
}

/**
 * What a supervisor's children list accepts.
 *
 * @example
 * const children: ChildInput[] = [MyClickHouse, tickerSpec, supervisor({ id: 'jobs', children: [a, b] })];
 */
export type ChildInput = ChildSpec | ChildSpecSource;

/**
 * Options of `startSupervisor` and `supervisor`.
 *
 * @example
 * const options: SupervisorOptions = { strategy: 'one_for_all', intensity: 5, period: 10_000, name: 'app' };
 * const app = await startSupervisor(children, options);
 */
export interface SupervisorOptions {
  /** Default `'one_for_one'`. */
  readonly strategy?: Strategy;
  /** Most restarts allowed within `period`; default 3. */
  readonly intensity?: number;
  /** Milliseconds; default 5000. */
  readonly period?: number;
  /** Receives the inspection events of every actor in the tree (root only). */
  readonly inspect?: (event: InspectionEvent) => void;
  /** Default: the real clock. Children inherit the root's. */
  readonly clock?: Clock;
  /** The supervisor's own id (what its parent's `whichChildren()` shows); default `'root'`. */
  readonly id?: string;
  /** Registers the running supervisor's handle under this name (see `whereis`) until it exits. */
  readonly name?: string;
}

/**
 * Options of a nested `supervisor({...})` child: the root owns `clock` and `inspect`.
 *
 * @example
 * supervisor({ id: 'connections', strategy: 'one_for_one', intensity: 10, name: 'pool.connections', children });
 */
export interface NestedSupervisorOptions extends Omit<SupervisorOptions, 'clock' | 'inspect' | 'id'> {
  readonly id: string;
  readonly children: readonly ChildInput[];
  /** Default `'permanent'`. */
  readonly restart?: RestartType;
  /** Default `'infinity'`. */
  readonly shutdown?: Shutdown;
}

/**
 * A supervisor's lifecycle as its handle reports it.
 *
 * @example
 * const status: SupervisorStatus = app.status;
 * if (status === 'failed') console.error(await app.stopped);
 */
export type SupervisorStatus = 'running' | 'stopped' | 'failed';

/**
 * A running supervisor, OTP's `supervisor` module API. Every call is handled in order with
 * exits of children, as a gen_server handles its mailbox.
 *
 * @example
 * const app: Supervisor = await startSupervisor([worker]);
 * await app.terminateChild('worker');
 * await app.restartChild('worker');
 * await app.stop();
 */
export interface Supervisor {
  readonly id: string;
  /** `'failed'` once it exceeded its restart intensity (or crashed); `'stopped'` once stopped, or killed (its `stopped` then resolves `'shutdown'`). */
  readonly status: SupervisorStatus;
  /** Resolves (never rejects) with the reason once the supervisor has ended. */
  readonly stopped: Promise<ExitReason>;
  /** The supervisor's own xstate actor (what its parent supervises). */
  readonly actor: ChildActor;
  /** Children in start order. */
  whichChildren(): ChildInfo[];
  countChildren(): ChildCounts;
  /** Adds a child at the end and starts it; refuses a taken id (`OTP_DUPLICATE_CHILD`). */
  startChild(input: ChildInput): Promise<ChildActor>;
  /** Stops a child within its shutdown; its spec stays unless it is temporary. */
  terminateChild(id: string): Promise<void>;
  /** Starts a terminated child again, in its place. */
  restartChild(id: string): Promise<ChildActor>;
  /** Forgets the spec of a terminated child. */
  deleteChild(id: string): Promise<void>;
  /** Stops every child in reverse start order, then the supervisor. Idempotent. */
  stop(): Promise<void>;
  /**
   * Calls `listener` for each restart and give-up of this supervisor and of every supervisor
   * below it; returns the unsubscribe. A throwing listener is ignored.
   */
  watch(listener: (notice: SupervisorNotice) => void): () => void;
}

/**
 * One row of `whichChildren()`.
 *
 * @example
 * const notRunning = app.whichChildren().filter((c: ChildInfo) => !c.running).map((c) => c.id);
 */
export interface ChildInfo {
  readonly id: string;
  readonly type: 'worker' | 'supervisor';
  readonly running: boolean;
  /** The running actor, when there is one. */
  readonly actor: ChildActor | undefined;
  /** How many times this supervisor has restarted it (since the supervisor itself started). */
  readonly restarts: number;
}

/**
 * OTP's `count_children`.
 *
 * @example
 * const { specs, active, supervisors, workers }: ChildCounts = app.countChildren();
 */
export interface ChildCounts {
  readonly specs: number;
  readonly active: number;
  readonly supervisors: number;
  readonly workers: number;
}
