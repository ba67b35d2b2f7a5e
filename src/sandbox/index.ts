export { Sandbox, MAIN_FILENAME } from './sandbox.js';
export { PyboxError, isPyboxError, type PyboxErrorCode } from './errors.js';
export { DEFAULT_LIMITS, resolveLimits, limitsSchema, type Limits } from './limits.js';
export { MAX_CODE_BYTES, type RunOptions, type SandboxOptions, type GuestPolicy } from './options.js';
export type { OutputListener } from '../jail/output-tap.js';
export { RUN_STATUSES, type RunResult, type RunStatus, type PythonError } from './result.js';
