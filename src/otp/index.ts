/** The actor runtime's public surface (re-exported by `src/index.ts`). */
export { startSupervisor, supervisor, supervisorOf, supervisorLogic } from './supervisor.logic.js';
export type { SupervisorContext, SupervisorEvent, SupervisorSnapshot } from './supervisor.logic.js';
export { register, unregister, whereis, registered } from './registry.js';
export { realClock, createTestClock } from './clock.js';
export type { TestClock } from './clock.js';
export { OtpError } from './errors.js';
export type { OtpErrorCode } from './errors.js';
export type {
  ChildActor, ChildCounts, ChildInfo, ChildInput, ChildSpec, ChildSpecSource, Clock, ExitReason, NestedSupervisorOptions,
  RestartType, Shutdown, StartContext, Strategy, Supervisor, SupervisorNotice, SupervisorOptions, SupervisorStatus,
} from './types.js';
