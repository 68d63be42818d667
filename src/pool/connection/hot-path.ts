/*
 * The connection machine's two hot transitions without xstate's general step: for
 * `idle --run--> busy` and `busy --transport.done--> idle`, once the machine itself has
 * taken them for the current context, the wrapper returns the snapshot the machine made
 * then and runs the same actions (`perform`, the `settled` emit). Every other event goes
 * through the machine untouched. The inspector still sees every event and snapshot, not
 * xstate's per-step detail (`@xstate.microstep`, `@xstate.action`). Why: the general step
 * was most of the pool's overhead per query (README, benchmarks);
 * test/pool/connection/hot-path.test.ts checks it against the plain machine.
 */
import type { ActorScope } from 'xstate';
import { settledOk, type ConnectionEmitted, type ConnectionEvent, type connectionMachine } from './connection.machine.js';

type ConnectionLogic = typeof connectionMachine;
type ConnectionSnapshot = ReturnType<ConnectionLogic['transition']>;
type Scope = ActorScope<ConnectionSnapshot, ConnectionEvent, never, ConnectionEmitted>;
type PerformImpl = (args: { context: unknown; event: ConnectionEvent; self: Scope['self']; system: unknown }, params: undefined) => void;

/** The snapshots the machine produced for `idle` and `busy` with one context. */
interface Pair {
  readonly context: ConnectionSnapshot['context'];
  idle: ConnectionSnapshot | undefined;
  busy: ConnectionSnapshot | undefined;
}

/**
 * Wraps a provided connection machine so that `run` in `idle` and `transport.done` in `busy`
 * reuse the machine's own earlier result. Use one wrapper per actor (the pair of snapshots
 * it keeps holds that actor's children).
 *
 * @example
 * const logic = withHotPath(connectionMachine.provide({ actions: { perform: performAction(perform) }, actors: { transport, probe } }));
 * const actor = createActor(logic, { input }).start();
 */
export function withHotPath(logic: ConnectionLogic): ConnectionLogic {
  const perform = logic.implementations.actions['perform'] as PerformImpl | undefined;
  let pair: Pair | undefined;

  // Remembers an active idle or busy snapshot the machine produced; a new context (any
  // `assign`, i.e. a failure or a probe) starts a new pair.
  const remember = (snapshot: ConnectionSnapshot): void => {
    if (snapshot.status !== 'active' || (snapshot.value !== 'idle' && snapshot.value !== 'busy')) return;
    if (!pair || pair.context !== snapshot.context) pair = { context: snapshot.context, idle: undefined, busy: undefined };
    const known = pair[snapshot.value];
    if (!known || known.children !== snapshot.children) pair[snapshot.value] = snapshot;
  };

  // The cached target, when it has the same context and children as `from`.
  const cached = (from: ConnectionSnapshot, to: 'idle' | 'busy'): ConnectionSnapshot | undefined => {
    const target = pair && pair.context === from.context ? pair[to] : undefined;
    return target && target.children === from.children ? target : undefined;
  };

  const slow = (snapshot: ConnectionSnapshot, event: ConnectionEvent, scope: Scope): ConnectionSnapshot => {
    remember(snapshot);
    const next = logic.transition(snapshot, event, scope as Parameters<ConnectionLogic['transition']>[2]);
    remember(next);
    return next;
  };

  const transition = (snapshot: ConnectionSnapshot, event: ConnectionEvent, scope: Scope): ConnectionSnapshot => {
    if (snapshot.status !== 'active') return slow(snapshot, event, scope);
    if (event.type === 'run' && snapshot.value === 'idle' && perform) {
      const busy = cached(snapshot, 'busy');
      if (!busy) return slow(snapshot, event, scope);
      perform({ context: snapshot.context, event, self: scope.self, system: scope.system }, undefined);
      return busy;
    }
    if (event.type === 'transport.done' && snapshot.value === 'busy') {
      const idle = cached(snapshot, 'idle');
      if (!idle) return slow(snapshot, event, scope);
      const emitted = settledOk({ event });
      scope.defer(() => scope.emit(emitted));
      return idle;
    }
    return slow(snapshot, event, scope);
  };

  const wrapped: ConnectionLogic = Object.create(logic, { transition: { value: transition } });
  return wrapped;
}
