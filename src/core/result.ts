import type { DisplayOutput } from './outputs.js';

/** How a run ended. Every status except `ok` and `error` is decided by the supervisor alone. */
export type RunStatus =
  | 'ok'
  | 'error'
  | 'timeout'
  | 'cpu_limit'
  | 'memory_limit'
  | 'output_limit'
  | 'process_limit'
  | 'killed'
  | 'interrupted'
  | 'internal_error';

export const RUN_STATUSES: readonly RunStatus[] = [
  'ok',
  'error',
  'timeout',
  'cpu_limit',
  'memory_limit',
  'output_limit',
  'process_limit',
  'killed',
  'interrupted',
  'internal_error',
];

/** The uncaught Python exception, as the guest reported it (guest-controlled text). */
export interface PythonError {
  type: string;
  message: string;
  traceback: string;
}

export interface RunResult {
  status: RunStatus;
  exitCode: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  /** display: some rich outputs were dropped (over displayBytes or MAX_OUTPUTS, or malformed). */
  truncated: { stdout: boolean; stderr: boolean; display: boolean };
  durationMs: number;
  cpuMs: number;
  memoryPeakBytes: number | null;
  error: PythonError | null;
  files: Record<string, Uint8Array>;
  /** Rich outputs (display(), matplotlib figures), in the order the program made them. */
  outputs: DisplayOutput[];
}
