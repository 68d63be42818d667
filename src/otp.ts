// `colonnade/otp`: the actor runtime (src/otp), OTP-style supervision trees on xstate v5.
// Explicit named exports only, no logic.

export {
  startSupervisor, supervisor, supervisorOf,
  register, unregister, whereis, registered,
  realClock, createTestClock, OtpError,
} from './otp/index.js';
export type {
  ChildActor, ChildCounts, ChildInfo, ChildInput, ChildSpec, ChildSpecSource, Clock, ExitReason, NestedSupervisorOptions,
  OtpErrorCode, RestartType, Shutdown, StartContext, Strategy, Supervisor, SupervisorContext, SupervisorEvent, SupervisorNotice,
  SupervisorOptions, SupervisorSnapshot, SupervisorStatus, TestClock,
} from './otp/index.js';
