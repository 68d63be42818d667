/**
 * The supervisor as an xstate actor, so a nested supervisor is "an actor returned by
 * start" like any worker, and supervisors show in the inspection stream next to their
 * children. The logic holds no behaviour of its own: it mirrors its `SupervisorCore`.
 *
 *            start()                    'otp.exit' normal/shutdown
 *   (created) ──────▶ active ──────────────────────────────────────▶ done   (output: reason)
 *                     │  ▲  'otp.update': context.children refreshed
 *                     │  └──┘
 *                     ├── 'otp.exit' { error } (intensity exceeded, start failed) ─▶ error
 *                     └── 'xstate.stop' (parent's brutal kill): children killed ──▶ stopped
 */
import { createActor, type ActorLogic, type InspectionEvent, type Snapshot } from 'xstate';
import { resolveChildren, resolveFlags } from './child-spec.js';
import { realClock } from './clock.js';
import { OtpError } from './errors.js';
import { SupervisorCore, type SupervisorInput } from './supervisor.js';
import type { ChildActor, ChildInput, ChildSpec, ExitReason, NestedSupervisorOptions, Strategy, Supervisor, SupervisorOptions } from './types.js';

/**
 * What the inspector sees of a supervisor: its children, never their input.
 *
 * @example
 * const { strategy, children }: SupervisorContext = (app.actor.getSnapshot() as SupervisorSnapshot).context;
 * children.filter((c) => !c.running).map((c) => c.id);
 */
export interface SupervisorContext {
  readonly id: string;
  readonly strategy: Strategy;
  readonly children: ReadonlyArray<{ readonly id: string; readonly type: 'worker' | 'supervisor'; readonly running: boolean }>;
}

/**
 * A supervisor actor's snapshot.
 *
 * @example
 * const snapshot = app.actor.getSnapshot() as SupervisorSnapshot;
 * if (snapshot.status === 'error') console.error(snapshot.error); // the OTP_MAX_RESTARTS OtpError
 */
export type SupervisorSnapshot = Snapshot<ExitReason> & { readonly context: SupervisorContext };

/**
 * Events a supervisor actor takes from its own core.
 *
 * @example
 * await startSupervisor(children, { inspect: (ev) => {
 *   if (ev.type === '@xstate.event' && ev.event.type === 'otp.exit') console.log((ev.event as SupervisorEvent & { type: 'otp.exit' }).reason);
 * } });
 */
export type SupervisorEvent = { readonly type: 'otp.update' } | { readonly type: 'otp.exit'; readonly reason: ExitReason };

const cores = new WeakMap<ChildActor, SupervisorCore>();

const contextOf = (core: SupervisorCore, strategy: Strategy): SupervisorContext => ({
  id: core.id,
  strategy,
  children: core.whichChildren().map(({ id, type, running }) => ({ id, type, running })),
});

/**
 * The actor logic of a supervisor; `createActor(supervisorLogic, { input })` makes one.
 * Most code wants `startSupervisor` or `supervisor` instead.
 *
 * @example
 * const actor = createActor(supervisorLogic, { input });
 * actor.start();
 * await supervisorOf(actor)?.stopped;
 */
export const supervisorLogic: ActorLogic<SupervisorSnapshot, SupervisorEvent, SupervisorInput> = {
  getInitialSnapshot(scope, input) {
    const core = new SupervisorCore(input, scope.self);
    cores.set(scope.self, core);
    return { status: 'active', output: undefined, error: undefined, context: contextOf(core, input.flags.strategy) };
  },
  start(_snapshot, scope) {
    void cores.get(scope.self)?.init();
  },
  transition(snapshot, event, scope) {
    const core = cores.get(scope.self);
    if (core === undefined) return snapshot;
    if ((event as { type: string }).type === 'xstate.stop') {
      core.kill();
      return { status: 'stopped', output: undefined, error: undefined, context: contextOf(core, snapshot.context.strategy) };
    }
    if (snapshot.status !== 'active') return snapshot;
    const context = contextOf(core, snapshot.context.strategy);
    if (event.type === 'otp.exit') {
      const { reason } = event;
      return typeof reason === 'object'
        ? { status: 'error', output: undefined, error: reason.error, context }
        : { status: 'done', output: reason, error: undefined, context };
    }
    return { ...snapshot, context };
  },
  getPersistedSnapshot: (snapshot) => snapshot,
};

/**
 * The handle of the supervisor running as `actor` (an actor seen in `whichChildren()`),
 * or `undefined` when `actor` is not a supervisor.
 *
 * @example
 * const pool = app.whichChildren().find((c) => c.id === 'MyClickHouse');
 * const connections = supervisorOf(pool!.actor!);
 */
export function supervisorOf(actor: ChildActor): Supervisor | undefined {
  return cores.get(actor);
}

const rootKeys = ['strategy', 'intensity', 'period', 'inspect', 'clock', 'id', 'name'];
const nestedKeys = ['strategy', 'intensity', 'period', 'id', 'name', 'children', 'restart', 'shutdown'];

/**
 * Starts a root supervisor: its children start in order, each after the previous one is
 * up. If one fails, those already started are stopped in reverse order and the promise
 * rejects with `OTP_START_FAILED`, naming the child and carrying the cause. Defaults are
 * Elixir's: one_for_one, intensity 3, period 5000 ms.
 *
 * @example
 * const app = await startSupervisor(
 *   [MyClickHouse, { id: 'ticker', start: (ctx) => createActor(ticker, { clock: ctx?.clock ?? realClock }) }],
 *   { strategy: 'one_for_one', intensity: 3, period: 5_000, inspect },
 * );
 * await app.stop();
 */
export async function startSupervisor(children: readonly ChildInput[], options: SupervisorOptions = {}): Promise<Supervisor> {
  const flags = resolveFlags(options as SupervisorOptions & Record<string, unknown>, rootKeys);
  const specs = resolveChildren(children);
  if (options.inspect !== undefined && typeof options.inspect !== 'function') throw new OtpError('OTP_INVALID_SPEC', 'inspect must be a function');
  const clock = options.clock ?? realClock;
  const inspect = options.inspect === undefined ? undefined : guard(options.inspect);
  const input: SupervisorInput = { id: options.id ?? 'root', flags, specs, name: options.name, clock, inspect };
  const actor = createActor(supervisorLogic, inspect === undefined ? { input, clock } : { input, clock, inspect });
  const core = cores.get(actor);
  if (core === undefined) throw new OtpError('OTP_START_FAILED', 'the supervisor actor did not initialise');
  // The handle's `stopped` carries the reason; this observer only keeps a failed root
  // from being reported to Node as an unhandled error.
  actor.subscribe({ error: () => undefined });
  actor.start();
  await core.ready;
  return core;
}

// xstate calls inspection observers inside an actor's own processing, so an observer that
// throws would turn into that actor's crash; a broken inspector must not restart the tree.
function guard(inspect: (event: InspectionEvent) => void): (event: InspectionEvent) => void {
  return (event) => {
    try {
      inspect(event);
    } catch {
      // the inspector's problem, not the tree's
    }
  };
}

/**
 * A nested supervisor as a child spec (type `'supervisor'`, shutdown `'infinity'`,
 * restart `'permanent'` unless given). With `name`, its running handle is registered
 * under that name until it exits, so `whereis(name)` finds it.
 *
 * @example
 * const app = await startSupervisor([
 *   supervisor({ id: 'jobs', strategy: 'rest_for_one', children: [a, b, c], name: 'jobs' }),
 * ]);
 * await whereis<Supervisor>('jobs')?.terminateChild('b');
 */
export function supervisor(options: NestedSupervisorOptions): ChildSpec {
  const flags = resolveFlags(options as NestedSupervisorOptions & Record<string, unknown>, nestedKeys);
  const { id, name, restart, shutdown } = options;
  if (typeof id !== 'string' || id === '') throw new OtpError('OTP_INVALID_SPEC', 'supervisor({...}) needs a non-empty string id');
  const specs = resolveChildren(options.children);
  const spec: ChildSpec = {
    id,
    type: 'supervisor',
    shutdown: shutdown ?? 'infinity',
    ...(restart === undefined ? {} : { restart }),
    start: (context) => createActor(supervisorLogic, {
      input: { id, flags, specs, name, clock: context?.clock ?? realClock, inspect: undefined },
    }),
  };
  return spec;
}
