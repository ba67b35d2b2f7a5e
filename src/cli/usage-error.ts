import { isPyboxError } from '../sandbox/index.js';

/**
 * Exit codes of the `pybox` CLI. Without `--json`, a finished program's own exit
 * code passes through, so these overlap with codes a program may choose itself;
 * use `--json` when that ambiguity matters.
 */
export const EXIT = {
  ok: 0,
  /** `doctor`: pybox cannot run on this host. */
  doctorFailed: 1,
  /** Bad command line or input; nothing ran. */
  usage: 2,
  /** The jail cannot be built here (bwrap, namespaces, seccomp, python); see `pybox doctor`. */
  unavailable: 3,
  /** timeout, cpu_limit (like timeout(1)). */
  timeLimit: 124,
  /** pybox itself failed: internal_error, or collected files could not be written to --out-dir. */
  internal: 125,
  /** memory_limit, output_limit, killed (128 + SIGKILL). */
  killed: 137,
} as const;

/** A problem with the command line or its inputs, found before anything runs. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  constructor(
    message: string,
    readonly exitCode: number = EXIT.usage,
  ) {
    super(message);
  }
}

/** Makes any message a single line: the CLI promises one line per problem. */
export function oneLine(text: string): string {
  return text
    .trim()
    .replace(/\s*\n\s*/g, ' | ')
    .replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, '?')
    .trim();
}

const DOCTOR_HINT = 'run `pybox doctor` to see what this host is missing';

/**
 * Maps anything thrown while running a command to one stderr line and an exit code.
 * Never a stack trace: an unexpected error is reported as internal_error.
 */
export function describeError(error: unknown): { line: string; exitCode: number } {
  if (error instanceof UsageError) return { line: `pybox: ${oneLine(error.message)}`, exitCode: error.exitCode };
  if (isPyboxError(error)) {
    switch (error.code) {
      case 'E_JAIL_UNAVAILABLE':
      case 'E_PYTHON_NOT_FOUND':
        return { line: `pybox: ${oneLine(error.message)} (${DOCTOR_HINT})`, exitCode: EXIT.unavailable };
      case 'E_SANDBOX_CLOSED':
      case 'E_INTERNAL':
        return { line: `pybox: internal_error: ${oneLine(error.message)}`, exitCode: EXIT.internal };
      default:
        return { line: `pybox: ${oneLine(error.message)}`, exitCode: EXIT.usage };
    }
  }
  // The seccomp compiler has its own error class (E_SECCOMP_ARCH on an unsupported CPU).
  if (error instanceof Error && error.name === 'SeccompError') {
    return { line: `pybox: ${oneLine(error.message)} (${DOCTOR_HINT})`, exitCode: EXIT.unavailable };
  }
  const message = error instanceof Error ? error.message : String(error);
  return { line: `pybox: internal_error: ${oneLine(message)}`, exitCode: EXIT.internal };
}
