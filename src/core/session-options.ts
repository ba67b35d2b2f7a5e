import { z } from 'zod';
import { PyboxError } from './errors.js';
import { formatIssues, partialLimitsSchema, resolveLimits, type Limits } from './limits.js';
import type { PreparedCell, SessionOptions } from './backend.js';
import type { InputHandler, RunHooks } from './hooks.js';
import type { DisplayListener } from './outputs.js';
import { hostCallHandler, hostFunctionsSchema, type HostFunctions } from './host-functions.js';
import { bytesSchema, checkCode, displayListenerSchema, inputHandlerSchema, listenerSchema, policySchema, prepareFiles, stdinSchema, toBuffer } from './options.js';
import type { GuestPolicy } from './prepared-run.js';

/** What `sandbox.openSession` takes. */
export interface SessionOpenOptions {
  /** memoryMiB, processes and workspaceMiB hold for the whole session; timeoutMs, cpuMs and outputBytes are each cell's defaults. */
  limits?: Partial<Limits>;
  policy?: GuestPolicy;
  /** Written into /workspace when the session opens. */
  files?: Record<string, string | Uint8Array>;
  /** The session ends after this long without a cell. Default 10 minutes. */
  idleTimeoutMs?: number;
  /** The session ends this long after it opened, whatever it does. Default 1 hour. */
  maxLifetimeMs?: number;
  /** Host functions every cell may call (see RunOptions.functions); hostCalls counts per cell. */
  functions?: HostFunctions;
}

/** What `session.run` takes. */
export interface CellOptions {
  /** What input() and sys.stdin read when there is no onInput, line by line; then EOFError. */
  stdin?: string | Uint8Array | AsyncIterable<Uint8Array | string>;
  /** timeoutMs, cpuMs and outputBytes of this cell; the session's other limits cannot change. */
  limits?: Partial<Pick<Limits, 'timeoutMs' | 'cpuMs' | 'outputBytes' | 'displayBytes'>>;
  onStdout?: (chunk: string) => void;
  onStderr?: (chunk: string) => void;
  onInput?: InputHandler;
  /** Each rich output of the cell as it arrives (see RunHooks.onDisplay). */
  onDisplay?: DisplayListener;
}

export const DEFAULT_IDLE_TIMEOUT_MS = 10 * 60_000;
export const DEFAULT_MAX_LIFETIME_MS = 60 * 60_000;
/** The bounds of idleTimeoutMs and maxLifetimeMs. */
export const MIN_SESSION_MS = 100;
export const MAX_SESSION_MS = 7 * 24 * 3_600_000;

const sessionOptionsSchema = z
  .object({
    limits: partialLimitsSchema.optional(),
    policy: policySchema.optional(),
    files: z.record(z.string(), bytesSchema).optional(),
    idleTimeoutMs: z.number().int().min(MIN_SESSION_MS).max(MAX_SESSION_MS).optional(),
    maxLifetimeMs: z.number().int().min(MIN_SESSION_MS).max(MAX_SESSION_MS).optional(),
    functions: hostFunctionsSchema.optional(),
  })
  .strict();

const cellOptionsSchema = z
  .object({
    stdin: stdinSchema.optional(),
    limits: partialLimitsSchema.optional(),
    onStdout: listenerSchema.optional(),
    onStderr: listenerSchema.optional(),
    onInput: inputHandlerSchema.optional(),
    onDisplay: displayListenerSchema.optional(),
  })
  .strict();

function invalid(what: string, error: z.ZodError): PyboxError {
  const limitsOnly = error.issues.every((i) => i.path[0] === 'limits');
  return new PyboxError(limitsOnly ? 'E_LIMIT_INVALID' : 'E_OPTIONS_INVALID', `invalid ${what}: ${formatIssues(error)}`);
}

/** The session's options, and its hooks (its host functions' handler), validated. */
export function prepareSession(input: unknown, base: { limits: Limits; policy: GuestPolicy }): { session: SessionOptions; hooks: RunHooks } {
  const parsed = sessionOptionsSchema.safeParse(input ?? {});
  if (!parsed.success) throw invalid('session options', parsed.error);
  const o = parsed.data;
  const limits = resolveLimits(o.limits, base.limits);
  const hostFunctions = Object.keys(o.functions ?? {});
  const hooks: RunHooks = o.functions && hostFunctions.length > 0 ? { onHostCall: hostCallHandler(o.functions) } : {};
  const session: SessionOptions = {
    limits,
    policy: o.policy ?? base.policy,
    files: prepareFiles(o.files, limits),
    idleTimeoutMs: o.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS,
    maxLifetimeMs: o.maxLifetimeMs ?? DEFAULT_MAX_LIFETIME_MS,
    hostFunctions,
  };
  return { session, hooks };
}

/** A cell's code and options; limits a session holds for its whole life cannot be changed per cell. */
export function prepareCell(code: unknown, input: unknown, session: Limits): { cell: PreparedCell; hooks: RunHooks } {
  checkCode(code);
  const parsed = cellOptionsSchema.safeParse(input ?? {});
  if (!parsed.success) throw invalid('cell options', parsed.error);
  const o = parsed.data;
  const fixed = Object.keys(o.limits ?? {}).filter((k) => k !== 'timeoutMs' && k !== 'cpuMs' && k !== 'outputBytes' && k !== 'displayBytes');
  if (fixed.length > 0) throw new PyboxError('E_LIMIT_INVALID', `a cell cannot change the session's ${fixed.join(', ')}`);
  const stdin = o.stdin === undefined ? null : typeof o.stdin === 'string' || o.stdin instanceof Uint8Array ? toBuffer(o.stdin) : o.stdin;
  const hooks: RunHooks = {};
  if (o.onStdout) hooks.onStdout = o.onStdout;
  if (o.onStderr) hooks.onStderr = o.onStderr;
  if (o.onInput) hooks.onInput = o.onInput;
  if (o.onDisplay) hooks.onDisplay = o.onDisplay;
  return { cell: { code, limits: resolveLimits(o.limits, session), stdin }, hooks };
}
