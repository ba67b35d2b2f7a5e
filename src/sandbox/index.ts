export { Sandbox } from './sandbox.js';
export { MAIN_FILENAME } from '../guest/request.js';
export { PyboxError, isPyboxError, type PyboxErrorCode } from '../core/errors.js';
export { DEFAULT_LIMITS, HOST_CALL_LIMITS, resolveLimits, limitsSchema, type Limits } from '../core/limits.js';
export { hostFunctionNameProblem, MAX_HOST_FUNCTIONS, type HostFunction, type HostFunctions, type JsonValue } from '../core/host-functions.js';
export { MAX_CODE_BYTES, preloadSchema, type RunOptions, type SandboxOptions, type SandboxMode, type PoolOptions } from '../core/options.js';
export type { OutputListener } from '../core/output.js';
export { MAX_OUTPUTS, type DisplayListener, type DisplayOutput } from '../core/outputs.js';
export { RUN_STATUSES, type RunResult, type RunStatus, type PythonError } from '../core/result.js';
export type {
  Backend,
  BackendDescription,
  BackendInventory,
  BackendSession,
  CellResult,
  PathCounts,
  PreparedCell,
  SessionEndReason,
  SessionOptions,
} from '../core/backend.js';
export type { HostCallHandler, RunHooks } from '../core/hooks.js';
export type { GuestPolicy, PreparedRun, RunStdin } from '../core/prepared-run.js';
export { Session } from './session.js';
export { DEFAULT_IDLE_TIMEOUT_MS, DEFAULT_MAX_LIFETIME_MS, MAX_SESSION_MS, MIN_SESSION_MS, type CellOptions, type SessionOpenOptions } from '../core/session-options.js';
export { DEFAULT_MAX_SESSIONS } from '../core/options.js';
export type { InputHandler } from '../core/hooks.js';
export { INTERRUPT_GRACE_MS, MAX_QUEUED_CELLS } from '../backends/native/session/jail-session.js';
