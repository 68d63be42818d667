// The public API: explicit named exports only, no logic.

// --- protocol layer (src/clickhouse) ---

// --- actor runtime (src/otp) ---
export {
  startSupervisor, supervisor, supervisorOf, supervisorLogic,
  register, unregister, whereis, registered,
  realClock, createTestClock, OtpError,
} from './otp/index.js';
export type {
  ChildCounts, ChildInfo, ChildInput, ChildSpec, ChildSpecSource, Clock, ExitReason, NestedSupervisorOptions,
  OtpErrorCode, RestartType, Shutdown, StartContext, Strategy, Supervisor, SupervisorContext, SupervisorEvent,
  SupervisorOptions, SupervisorSnapshot, SupervisorStatus, TestClock,
} from './otp/index.js';

// --- pool (src/pool) ---
