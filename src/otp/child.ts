/**
 * One running child: starting its actor under watch, classifying how it ended, and
 * stopping it within its shutdown. The supervisor decides what to do; this file only runs
 * the actor.
 */
import type { AnyActorRef, InspectionEvent } from 'xstate';
import { OtpError, describeCause } from './errors.js';
import type { ResolvedSpec } from './child-spec.js';
import type { ChildActor, Clock, ExitReason, Shutdown, Supervisor, SupervisorNotice } from './types.js';

/** How a supervisor actor (a nested supervisor) is reached from its actor ref. */
export interface SupervisorHooks {
  /** Hands the tree's clock, inspector, root and its parent to a nested supervisor before it starts. */
  adopt(context: StartEnv): void;
  /** Settles when the nested supervisor has started all its children (or failed to). */
  readonly ready: Promise<void>;
  /** Its graceful stop: children in reverse order, then itself, with reason `'shutdown'`. */
  shutdown(reason: 'shutdown'): Promise<void>;
  /** Tells its watchers of a restart or give-up below it, then passes it up to its own parent. */
  notify(notice: SupervisorNotice): void;
}

/** What a supervisor hands to each child it starts. */
export interface StartEnv {
  readonly clock: Clock;
  readonly inspect: ((event: InspectionEvent) => void) | undefined;
  readonly supervisor?: SupervisorHooks & Supervisor;
  readonly root?: Supervisor;
}

/** One life of a child: an actor started under watch. */
export interface Instance {
  readonly actor: AnyActorRef;
  /** Resolves once the actor has ended, for whatever cause. */
  readonly exited: Promise<ExitReason>;
  /** Set once the supervisor has begun stopping it, so its end is not a crash to handle. */
  stopping: boolean;
}

const hooksOf = new WeakMap<ChildActor, SupervisorHooks>();

/**
 * Marks an actor as a supervisor's, so its parent adopts it and stops it gracefully.
 *
 * @example
 * attachHooks(actor, core);
 */
export function attachHooks(actor: ChildActor, hooks: SupervisorHooks): void {
  hooksOf.set(actor, hooks);
}

// The one place a child's actor, typed for users as `ChildActor`, becomes xstate's full
// `AnyActorRef` again: the runtime also needs its `system` to forward inspection events.
// A plain object that merely looks like a `ChildActor` is refused here, at start.
const isActor = (value: unknown): value is AnyActorRef =>
  value !== null && typeof value === 'object' &&
  typeof (value as AnyActorRef).start === 'function' &&
  typeof (value as AnyActorRef).subscribe === 'function' &&
  typeof (value as AnyActorRef).getSnapshot === 'function' &&
  typeof (value as AnyActorRef).system?.inspect === 'function';

/**
 * Starts one child: calls `spec.start`, watches the actor with an error observer (so a
 * crash never reaches Node as an uncaught exception), forwards its system's inspection
 * events, starts it and, for a nested supervisor, waits until its children are up. An
 * actor that errors while starting is a failed start.
 *
 * @example
 * const instance = await startInstance(spec, { clock, inspect: undefined });
 */
export async function startInstance(
  spec: ResolvedSpec,
  context: StartEnv,
): Promise<Instance> {
  let actor: unknown;
  try {
    const { clock, supervisor, root } = context;
    actor = await spec.start(supervisor === undefined ? { clock } : { clock, supervisor, root: root ?? supervisor });
  } catch (cause) {
    throw startFailed(spec.id, cause);
  }
  if (!isActor(actor)) throw startFailed(spec.id, new TypeError('start() did not return an xstate actor'));
  const ref = actor;
  const hooks = hooksOf.get(ref);

  let ended: ExitReason | undefined;
  let resolveExit!: (reason: ExitReason) => void;
  const exited = new Promise<ExitReason>((resolve) => { resolveExit = resolve; });
  const end = (reason: ExitReason) => {
    if (ended !== undefined) return;
    ended = reason;
    resolveExit(reason);
  };
  const instance: Instance = { actor: ref, exited, stopping: false };
  const { inspect } = context;
  let lastSeen: unknown;
  ref.subscribe({
    error: (err: unknown) => {
      end({ error: err });
      // xstate emits no snapshot for an actor that throws inside a transition; the
      // inspector would see it vanish, so it is shown the actor's own final snapshot.
      if (inspect !== undefined) {
        queueMicrotask(() => {
          const snapshot = ref.getSnapshot();
          if (snapshot !== lastSeen) inspect({ type: '@xstate.snapshot', actorRef: ref, rootId: ref.sessionId, snapshot, event: { type: `xstate.error.actor.${ref.id}` } });
        });
      }
    },
    complete: () => {
      const snapshot = ref.getSnapshot() as { status?: string; output?: unknown };
      if (snapshot.status === 'done') end(hooks !== undefined && snapshot.output === 'shutdown' ? 'shutdown' : 'normal');
      else end(instance.stopping ? 'shutdown' : { error: new OtpError('OTP_KILLED', `child '${spec.id}' was stopped outside its supervisor`, { childId: spec.id }) });
    },
  });

  if (inspect !== undefined) {
    ref.system.inspect((event: InspectionEvent) => {
      if (event.type === '@xstate.snapshot' && event.actorRef === ref) lastSeen = event.snapshot;
      inspect(event);
    });
    inspect({ type: '@xstate.actor', actorRef: ref, rootId: ref.sessionId });
  }
  hooks?.adopt(context);
  ref.start();
  if (hooks !== undefined) {
    try {
      await hooks.ready;
    } catch (cause) {
      ref.stop();
      throw startFailed(spec.id, cause);
    }
  }
  if (ended !== undefined && typeof ended === 'object') throw startFailed(spec.id, ended.error);
  return instance;
}

function startFailed(id: string, cause: unknown): OtpError {
  return new OtpError('OTP_START_FAILED', `child '${id}' failed to start: ${describeCause(cause)}`, { cause, childId: id });
}

/**
 * Stops a child as OTP's `shutdown/1` does: `'brutal_kill'` stops the actor at once;
 * otherwise the graceful step (`spec.stop`, or a nested supervisor's own shutdown) is
 * awaited until it settles, the actor ends by itself, or `shutdown` ms pass on the clock;
 * then the actor is stopped. Resolves once the actor has ended.
 *
 * @example
 * await stopInstance(instance, spec, clock);
 */
export async function stopInstance(instance: Instance, spec: ResolvedSpec, clock: Clock): Promise<void> {
  instance.stopping = true;
  const { actor } = instance;
  const hooks = hooksOf.get(actor);
  const { stop } = spec;
  // A nested supervisor's own shutdown runs after the spec's stop, so a pool can drain its
  // writer first and still have its children stopped in reverse order, gracefully.
  // A stop that fails does not make its children's stop a brutal kill.
  const graceful = hooks === undefined ? stop : async (ref: AnyActorRef) => {
    await Promise.resolve().then(() => stop?.(ref)).catch(() => undefined);
    await hooks.shutdown('shutdown');
  };
  if (spec.shutdown !== 'brutal_kill' && graceful !== undefined && !isEnded(actor)) {
    const work = Promise.resolve().then(() => graceful(actor)).catch(() => undefined);
    await withDeadline(Promise.race([work, instance.exited]), spec.shutdown, clock);
  }
  if (killInstance(instance)) await instance.exited;
}

/**
 * Stops a child's actor at once, its end marked as the supervisor's doing. Returns false
 * when the actor cannot be stopped from outside (one spawned inside a machine: its owner
 * stops it).
 *
 * @example
 * if (killInstance(instance)) await instance.exited;
 */
export function killInstance(instance: Instance): boolean {
  instance.stopping = true;
  try {
    instance.actor.stop();
    return true;
  } catch {
    return false;
  }
}

function isEnded(actor: AnyActorRef): boolean {
  const status = (actor.getSnapshot() as { status?: string }).status;
  return status === 'done' || status === 'error' || status === 'stopped';
}

function withDeadline(work: Promise<unknown>, shutdown: Shutdown, clock: Clock): Promise<void> {
  if (shutdown === 'infinity' || shutdown === 'brutal_kill') return work.then(() => undefined);
  return new Promise<void>((resolve) => {
    const timer = clock.setTimeout(resolve, shutdown);
    void work.then(() => {
      clock.clearTimeout(timer);
      resolve();
    });
  });
}

/**
 * A supervisor's watchers: each notice goes to every one; a watcher that throws does not
 * stop the others, nor the supervisor.
 *
 * @example
 * const watchers = new Watchers();
 * const unwatch = watchers.add((n) => console.log(n.type, n.child));
 * watchers.tell({ type: 'restart', supervisor: 'root', child: 'worker', reason: 'normal' });
 */
export class Watchers {
  readonly #set = new Set<(notice: SupervisorNotice) => void>();

  /** Adds `watcher`; returns the unsubscribe. */
  add(watcher: (notice: SupervisorNotice) => void): () => void {
    this.#set.add(watcher);
    return () => void this.#set.delete(watcher);
  }

  tell(notice: SupervisorNotice): void {
    for (const watcher of this.#set) {
      try {
        watcher(notice);
      } catch {
        // the watcher's problem, not the tree's
      }
    }
  }
}
