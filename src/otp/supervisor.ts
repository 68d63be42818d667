/**
 * The supervisor itself, as OTP's `supervisor.erl` behaves: one mailbox in which children's
 * exits, restart retries and API calls are handled one at a time, restart strategies,
 * restart intensity, and ordered start/stop. It runs inside a supervisor actor
 * (`supervisor.logic.ts`), which is what its parent and the inspector see.
 */
import type { InspectionEvent } from 'xstate';
import { attachHooks, killInstance, startInstance, stopInstance, Watchers, type Instance, type StartEnv, type SupervisorHooks } from './child.js';
import { resolveSpec, type ResolvedFlags, type ResolvedSpec } from './child-spec.js';
import { OtpError, describeCause } from './errors.js';
import { register, unregister } from './registry.js';
import type { ChildActor, ChildCounts, ChildInfo, ChildInput, Clock, ExitReason, Supervisor, SupervisorNotice, SupervisorStatus } from './types.js';

/** What a supervisor actor is created with. */
export interface SupervisorInput {
  readonly id: string;
  readonly flags: ResolvedFlags;
  readonly specs: readonly ResolvedSpec[];
  readonly name: string | undefined;
  readonly clock: Clock;
  readonly inspect: ((event: InspectionEvent) => void) | undefined;
}

interface ChildRecord {
  readonly spec: ResolvedSpec;
  instance: Instance | undefined;
  /** A restart of it failed and a retry is queued (OTP's `{restarting, Pid}`). */
  restarting: boolean;
  restarts: number;
}

type Message =
  | { readonly kind: 'exit'; readonly record: ChildRecord; readonly instance: Instance; readonly reason: ExitReason }
  | { readonly kind: 'retry'; readonly record: ChildRecord; readonly reason: ExitReason }
  | { readonly kind: 'call'; readonly run: () => Promise<void>; readonly refuse: (error: OtpError) => void }
  | { readonly kind: 'stop'; readonly reason: 'normal' | 'shutdown'; readonly done: () => void };

type Phase = 'idle' | 'starting' | 'running' | 'stopping' | 'stopped' | 'failed';

/**
 * One supervisor's state and behaviour; the handle users get from `startSupervisor`.
 *
 * @example
 * const sup = await startSupervisor([worker]);
 * sup.whichChildren(); // [{ id: 'worker', type: 'worker', running: true, actor }]
 */
export class SupervisorCore implements Supervisor, SupervisorHooks {
  readonly id: string;
  readonly actor: ChildActor;
  readonly stopped: Promise<ExitReason>;
  readonly ready: Promise<void>;
  readonly #flags: ResolvedFlags;
  readonly #name: string | undefined;
  #clock: Clock;
  #inspect: ((event: InspectionEvent) => void) | undefined;
  #children: ChildRecord[];
  #restarts: number[] = [];
  #place: StartEnv | undefined; // a nested supervisor: its parent and the root (adopt)
  readonly #watchers = new Watchers();
  readonly #queue: Message[] = [];
  #draining = false;
  #phase: Phase = 'idle';
  #stopping: Promise<void> | undefined;
  #resolveStopped!: (reason: ExitReason) => void;
  #resolveReady!: () => void;
  #rejectReady!: (error: unknown) => void;

  constructor(input: SupervisorInput, actor: ChildActor) {
    this.id = input.id;
    this.actor = actor;
    this.#flags = input.flags;
    this.#name = input.name;
    this.#clock = input.clock;
    this.#inspect = input.inspect;
    this.#children = input.specs.map((spec) => ({ spec, instance: undefined, restarting: false, restarts: 0 }));
    this.stopped = new Promise((resolve) => { this.#resolveStopped = resolve; });
    this.ready = new Promise((resolve, reject) => { this.#resolveReady = resolve; this.#rejectReady = reject; });
    this.ready.catch(() => undefined);
    attachHooks(actor, this);
  }

  get status(): SupervisorStatus {
    return this.#phase === 'failed' ? 'failed' : this.#phase === 'stopped' ? 'stopped' : 'running';
  }

  whichChildren(): ChildInfo[] {
    return this.#children.map(({ spec, instance, restarts }) => ({ id: spec.id, type: spec.type, running: instance !== undefined, actor: instance?.actor, restarts }));
  }

  countChildren(): ChildCounts {
    const supervisors = this.#children.filter((c) => c.spec.type === 'supervisor').length;
    return {
      specs: this.#children.length,
      active: this.#children.filter((c) => c.instance !== undefined).length,
      supervisors,
      workers: this.#children.length - supervisors,
    };
  }

  startChild(input: ChildInput): Promise<ChildActor> {
    let spec: ResolvedSpec;
    try {
      spec = resolveSpec(input);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#call(async () => {
      if (this.#find(spec.id) !== undefined) throw new OtpError('OTP_DUPLICATE_CHILD', `supervisor '${this.id}' already has a child '${spec.id}'`, { childId: spec.id });
      const record: ChildRecord = { spec, instance: undefined, restarting: false, restarts: 0 };
      const instance = await this.#launch(spec);
      this.#children.push(record);
      this.#attach(record, instance);
      return instance.actor;
    });
  }

  terminateChild(id: string): Promise<void> {
    return this.#call(async () => {
      const record = this.#get(id);
      record.restarting = false;
      await this.#terminate(record);
    });
  }

  restartChild(id: string): Promise<ChildActor> {
    return this.#call(async () => {
      const record = this.#get(id);
      this.#refuseUnlessIdle(record, 'restart');
      const instance = await this.#launch(record.spec);
      this.#attach(record, instance);
      return instance.actor;
    });
  }

  deleteChild(id: string): Promise<void> {
    return this.#call(async () => {
      const record = this.#get(id);
      this.#refuseUnlessIdle(record, 'delete');
      this.#remove(record);
    });
  }

  stop(): Promise<void> {
    return this.shutdown('normal');
  }

  /** Stops with `reason`; `'shutdown'` is what a parent uses, `'normal'` what `stop()` uses. */
  shutdown(reason: 'normal' | 'shutdown'): Promise<void> {
    if (this.#phase === 'stopped' || this.#phase === 'failed') return Promise.resolve();
    this.#stopping ??= new Promise<void>((done) => this.#enqueue({ kind: 'stop', reason, done }));
    return this.#stopping;
  }

  adopt(context: StartEnv): void {
    if (this.#phase !== 'idle') return;
    this.#clock = context.clock;
    this.#inspect = context.inspect;
    this.#place = context;
  }

  watch(listener: (notice: SupervisorNotice) => void): () => void {
    return this.#watchers.add(listener);
  }

  notify(notice: SupervisorNotice): void {
    this.#watchers.tell(notice);
    this.#place?.supervisor?.notify(notice);
  }

  /** Starts the children in order, as OTP's `init/1`; called when the actor starts. */
  async init(): Promise<void> {
    if (this.#phase !== 'idle') return;
    this.#phase = 'starting';
    try {
      if (this.#name !== undefined) register(this.#name, this);
      for (const record of this.#children) {
        let instance: Instance;
        try {
          instance = await this.#launch(record.spec);
        } catch (error) {
          const own = error instanceof OtpError && error.code === 'OTP_START_FAILED' && error.childId === record.spec.id;
          const cause = own ? error.cause : error;
          throw new OtpError('OTP_START_FAILED', `supervisor '${this.id}' could not start child '${record.spec.id}': ${describeCause(cause)}`, { cause, childId: record.spec.id });
        }
        this.#attach(record, instance);
      }
    } catch (error) {
      if (this.#phase !== 'starting') return this.#rejectReady(error);
      this.#phase = 'stopping';
      await this.#terminateAll();
      this.#finish('failed', { error });
      this.#rejectReady(error);
      void this.#drain();
      return;
    }
    this.#phase = 'running';
    this.#resolveReady();
    this.#publish();
    void this.#drain();
  }

  /** The actor was stopped from outside (a brutal kill): children die with it, at once. */
  kill(): void {
    if (this.#phase === 'stopped' || this.#phase === 'failed') return;
    for (const record of [...this.#children].reverse()) {
      const { instance } = record;
      record.instance = undefined;
      record.restarting = false;
      if (instance !== undefined) killInstance(instance);
      if (record.spec.restart === 'temporary') this.#remove(record);
    }
    this.#finish('stopped', 'shutdown', false);
    this.#rejectReady(new OtpError('OTP_KILLED', `supervisor '${this.id}' was stopped brutally`));
  }

  // --- the mailbox ---

  #call<T>(work: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#enqueue({ kind: 'call', run: () => work().then(resolve, reject), refuse: reject });
    });
  }

  #enqueue(message: Message): void {
    this.#queue.push(message);
    void this.#drain();
  }

  async #drain(): Promise<void> {
    if (this.#draining || this.#phase === 'idle' || this.#phase === 'starting') return;
    this.#draining = true;
    try {
      for (let message = this.#queue.shift(); message !== undefined; message = this.#queue.shift()) {
        try {
          await this.#handle(message);
        } catch (error) {
          // A bug in the runtime, not in a child: the supervisor crashes as OTP's would.
          if (this.#isLive()) {
            this.#phase = 'stopping';
            await this.#terminateAll();
            this.#finish('failed', { error });
          }
        }
      }
    } finally {
      this.#draining = false;
    }
  }

  async #handle(message: Message): Promise<void> {
    if (!this.#isLive()) {
      if (message.kind === 'call') message.refuse(new OtpError('OTP_NOT_RUNNING', `supervisor '${this.id}' is ${this.status}`));
      if (message.kind === 'stop') message.done();
      return;
    }
    switch (message.kind) {
      case 'call':
        return message.run();
      case 'stop':
        this.#phase = 'stopping';
        await this.#terminateAll();
        this.#finish('stopped', message.reason);
        return message.done();
      case 'retry':
        if (this.#children.includes(message.record) && message.record.restarting) await this.#restart(message.record, message.reason);
        return;
      case 'exit': {
        const { record, instance, reason } = message;
        if (record.instance !== instance || !this.#children.includes(record)) return;
        record.instance = undefined;
        const crashed = typeof reason === 'object';
        if (record.spec.restart === 'temporary') this.#remove(record);
        else if (record.spec.restart === 'permanent' || crashed) return this.#restart(record, reason);
        this.#publish();
        return;
      }
    }
  }

  // --- restarts (OTP's restart/2 and restart/3) ---

  async #restart(record: ChildRecord, reason: ExitReason): Promise<void> {
    if (!this.#addRestart()) {
      this.notify({ type: 'give_up', supervisor: this.id, child: record.spec.id, reason });
      this.#phase = 'stopping';
      await this.#terminateAll();
      const cause = typeof reason === 'object' ? reason.error : undefined;
      const error = new OtpError(
        'OTP_MAX_RESTARTS',
        `supervisor '${this.id}' exceeded ${this.#flags.intensity} restart(s) in ${this.#flags.period} ms; last: child '${record.spec.id}' ${typeof reason === 'object' ? `crashed: ${describeCause(reason.error)}` : `exited (${reason})`}`,
        { cause, childId: record.spec.id },
      );
      this.#finish('failed', { error });
      return;
    }
    this.notify({ type: 'restart', supervisor: this.id, child: record.spec.id, reason });
    const at = this.#children.indexOf(record);
    const group = this.#flags.strategy === 'one_for_one' ? [record] : this.#flags.strategy === 'one_for_all' ? [...this.#children] : this.#children.slice(at);
    for (const member of [...group].reverse()) {
      member.restarting = false;
      if (member !== record) await this.#terminate(member);
    }
    for (const member of group) {
      if (!this.#children.includes(member) || member.instance !== undefined) continue;
      member.restarts++;
      try {
        this.#attach(member, await this.#launch(member.spec));
      } catch (error) {
        if (!this.#isLive()) return;
        // OTP's try_again: the retry waits its turn in the mailbox and counts as a restart.
        member.restarting = true;
        this.#enqueue({ kind: 'retry', record: member, reason: { error } });
        break;
      }
    }
    this.#publish();
  }

  #addRestart(): boolean {
    const now = this.#clock.now();
    this.#restarts = [now, ...this.#restarts.filter((t) => t >= now - this.#flags.period)];
    return this.#restarts.length <= this.#flags.intensity;
  }

  // --- children ---

  // Ended (killed while a restart waited, or while the child started): nothing more is started.
  async #launch(spec: ResolvedSpec): Promise<Instance> {
    const ended = (): boolean => !this.#isLive() && this.#phase !== 'starting';
    const instance = ended() ? undefined : await startInstance(spec, { clock: this.#clock, inspect: this.#inspect, supervisor: this, root: this.#place?.root ?? this });
    if (instance !== undefined && !ended()) return instance;
    if (instance !== undefined) killInstance(instance);
    throw new OtpError('OTP_NOT_RUNNING', `supervisor '${this.id}' ended while child '${spec.id}' was starting`, { childId: spec.id });
  }

  #attach(record: ChildRecord, instance: Instance): void {
    record.instance = instance;
    record.restarting = false;
    void instance.exited.then((reason) => {
      if (!instance.stopping) this.#enqueue({ kind: 'exit', record, instance, reason });
    });
    this.#publish();
  }

  /** OTP's do_terminate plus del_child: stopped, and forgotten when temporary. */
  async #terminate(record: ChildRecord): Promise<void> {
    const { instance } = record;
    if (instance !== undefined) {
      await stopInstance(instance, record.spec, this.#clock);
      if (record.instance === instance) record.instance = undefined;
    }
    if (record.spec.restart === 'temporary') this.#remove(record);
    this.#publish();
  }

  async #terminateAll(): Promise<void> {
    for (const record of [...this.#children].reverse()) {
      record.restarting = false;
      await this.#terminate(record);
    }
  }

  #remove(record: ChildRecord): void {
    this.#children = this.#children.filter((c) => c !== record);
  }

  #find(id: string): ChildRecord | undefined {
    return this.#children.find((c) => c.spec.id === id);
  }

  #get(id: string): ChildRecord {
    const record = this.#find(id);
    if (record === undefined) throw new OtpError('OTP_NO_CHILD', `supervisor '${this.id}' has no child '${id}'`, { childId: id });
    return record;
  }

  #refuseUnlessIdle(record: ChildRecord, what: string): void {
    const id = record.spec.id;
    if (record.restarting) throw new OtpError('OTP_CHILD_RESTARTING', `cannot ${what} child '${id}': the supervisor is restarting it`, { childId: id });
    if (record.instance !== undefined) throw new OtpError('OTP_CHILD_RUNNING', `cannot ${what} child '${id}': it is running`, { childId: id });
  }

  // --- lifecycle ---

  #isLive(): boolean {
    return this.#phase === 'running' || this.#phase === 'stopping';
  }

  #finish(phase: 'stopped' | 'failed', reason: ExitReason, tellActor = true): void {
    this.#phase = phase;
    if (this.#name !== undefined) unregister(this.#name, this);
    this.#resolveStopped(reason);
    if (tellActor) this.actor.send({ type: 'otp.exit', reason });
  }

  #publish(): void {
    if (this.#isLive()) this.actor.send({ type: 'otp.update' });
  }
}
