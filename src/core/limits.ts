import { z } from 'zod';
import { PyboxError } from './errors.js';

/** Every limit a run is held to; units are in the names. */
export interface Limits {
  /** Wall clock, from spawn to verdict. The supervisor kills the whole jail. */
  timeoutMs: number;
  /** CPU time of all processes of the run together. */
  cpuMs: number;
  /** Memory of the whole jail, tmpfs pages and shared memory included. */
  memoryMiB: number;
  /** Processes and threads the program may have at once. */
  processes: number;
  /** Open file descriptors per process. */
  openFiles: number;
  /** stdout + stderr bytes; the run is killed when exceeded. */
  outputBytes: number;
  /** Rich outputs' bytes (their MIME bundles as JSON) per run or cell; past it they are dropped, not killed. */
  displayBytes: number;
  /** Size of the /workspace tmpfs (and of the /tmp tmpfs). */
  workspaceMiB: number;
  /** How long one host function call may take; past it the program gets HostError "timed out". */
  hostCallTimeoutMs: number;
  /** Host function calls per run (per cell in a session); the next raises HostError. */
  hostCalls: number;
  /** Bytes of one call's arguments, and of one result, as JSON (UTF-8). */
  hostCallBytes: number;
}

/** The host-call limits' defaults (a run without host functions never uses them). */
export const HOST_CALL_LIMITS = Object.freeze({ hostCallTimeoutMs: 10_000, hostCalls: 10_000, hostCallBytes: 1024 * 1024 });

export const DEFAULT_LIMITS: Readonly<Limits> = Object.freeze({
  timeoutMs: 10_000,
  cpuMs: 5_000,
  memoryMiB: 256,
  processes: 32,
  openFiles: 64,
  outputBytes: 1024 * 1024,
  displayBytes: 8 * 1024 * 1024,
  workspaceMiB: 64,
  ...HOST_CALL_LIMITS,
});

/** Upper bounds keep a typo (or a hostile API caller) from disabling a limit. */
const int = (min: number, max: number) => z.number().int().min(min).max(max);

export const limitsSchema = z
  .object({
    timeoutMs: int(1, 3_600_000),
    cpuMs: int(1, 3_600_000),
    memoryMiB: int(16, 65_536),
    processes: int(1, 4_096),
    openFiles: int(8, 65_536),
    outputBytes: int(0, 1024 * 1024 * 1024),
    displayBytes: int(0, 1024 * 1024 * 1024),
    workspaceMiB: int(1, 65_536),
    hostCallTimeoutMs: int(1, 3_600_000),
    hostCalls: int(0, 10_000_000),
    hostCallBytes: int(16, 64 * 1024 * 1024),
  })
  .strict();

export const partialLimitsSchema = limitsSchema.partial();

/** Validates a partial set of limits and lays it over `base`. */
export function resolveLimits(partial: unknown, base: Readonly<Limits> = DEFAULT_LIMITS): Limits {
  if (partial === undefined) return { ...base };
  const parsed = partialLimitsSchema.safeParse(partial);
  if (!parsed.success) {
    throw new PyboxError('E_LIMIT_INVALID', `invalid limits: ${formatIssues(parsed.error)}`);
  }
  const merged = { ...base };
  for (const [key, value] of Object.entries(parsed.data) as [keyof Limits, number | undefined][]) {
    if (value !== undefined) merged[key] = value;
  }
  return merged;
}

export function formatIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => `${issue.path.length ? issue.path.join('.') : '(root)'}: ${issue.message}`)
    .join('; ');
}
