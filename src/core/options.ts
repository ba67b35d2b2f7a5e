import { z } from 'zod';
import type { DisplayListener } from './outputs.js';
import { CollectPatternError, compileCollect, type CollectMatcher } from './glob.js';
import { PyboxError } from './errors.js';
import { formatIssues, partialLimitsSchema, resolveLimits, type Limits } from './limits.js';
import type { InputHandler, RunHooks } from './hooks.js';
import { hostCallHandler, hostFunctionsSchema, type HostFunctions } from './host-functions.js';
import type { GuestPolicy, PreparedRun } from './prepared-run.js';
import { normaliseWorkspacePath } from './workspace-path.js';


/** How a Sandbox gets a jail for each run. */
export type SandboxMode = 'auto' | 'cold' | 'pool' | 'zygote';

export interface PoolOptions {
  /** Warm jails (pool) or zygotes (zygote) started with the sandbox and kept ready. */
  size?: number;
  /** Never trimmed below this many when idle. */
  min?: number;
  /** At most this many warm jails, or zygotes, at once. */
  max?: number;
  /** Warm jails / zygotes above `min` that stay unused this long are stopped. */
  idleMs?: number;
}

export const DEFAULT_POOL: Required<PoolOptions> = Object.freeze({ size: 2, min: 1, max: 8, idleMs: 30_000 });

export interface SandboxOptions {
  limits?: Partial<Limits>;
  /** Absolute path of the interpreter; default /usr/bin/python3. */
  python?: string;
  policy?: GuestPolicy;
  /**
   * How each run gets its fresh jail: 'cold' starts one per run; 'pool' keeps bwrap jails
   * started ahead of time; 'zygote' forks each run's jail from a pre-initialised
   * fork-server; 'auto' uses the zygote where it can run, else the pool. Every path gives
   * each run a jail no other run has used. See src/backends/native/pool/pool.ts. Default: DEFAULT_MODE.
   */
  mode?: SandboxMode;
  /** Sizing of the warm jails (pool) or zygotes (zygote). */
  pool?: PoolOptions;
  /**
   * cgroup v2: a cgroup pybox may use wholly for its jails' cgroups (absolute, e.g.
   * /sys/fs/cgroup/pybox.slice; it must hold no process). Default: the PYBOX_CGROUP_ROOT
   * environment variable, else a subtree pybox makes inside its own cgroup. The first
   * Sandbox of a process decides it for all.
   */
  cgroupRoot?: string;
  /** Sessions open at once (openSession); one more is refused with E_TOO_MANY_SESSIONS. Default: DEFAULT_MAX_SESSIONS. */
  maxSessions?: number;
  /**
   * Modules (dotted names, e.g. 'numpy', 'matplotlib.pyplot') every run finds imported: a
   * zygote imports them before it forks, a pooled jail when it starts, a cold jail before
   * the program. Each is imported once in a jail at create: a name that is missing, fails
   * to import, or whose import the policy refuses is E_OPTIONS_INVALID.
   */
  preload?: string[];
}

export const DEFAULT_MAX_SESSIONS = 32;

/**
 * The mode of a Sandbox created without one: the fastest path that runs here (zygote,
 * else pool). One-shot users (the CLI) pass 'cold': warming up costs more than one run.
 */
export const DEFAULT_MODE: SandboxMode = 'auto';

export interface RunOptions {
  /**
   * The program's stdin: all of it (a string is UTF-8), or a stream (a Readable, or any
   * async iterable of bytes) written to the program as it arrives, each chunk only once
   * the program's pipe has taken the last, and closed at the stream's end. A stream the
   * run has not finished when the program ends is no longer read (a Readable is
   * destroyed). Default: empty.
   */
  stdin?: string | Uint8Array | AsyncIterable<Uint8Array | string>;
  /**
   * Called with the program's stdout / stderr as it arrives, in the order it was written,
   * from the moment its jail is up: the text `result.stdout` / `result.stderr` get (UTF-8,
   * a character split across reads comes whole), up to the output limit. A listener that
   * throws is not called again; the result still holds the whole output.
   */
  onStdout?: (chunk: string) => void;
  onStderr?: (chunk: string) => void;
  /** Answers input() and sys.stdin (see RunHooks.onInput); `stdin` is then not read by the program. */
  onInput?: InputHandler;
  /** Called with each rich output as it arrives (see RunHooks.onDisplay); `result.outputs` holds them all. */
  onDisplay?: DisplayListener;
  argv?: string[];
  /** Written into /workspace before the run. */
  files?: Record<string, string | Uint8Array>;
  /** Workspace paths (globs ok) returned in `result.files` after the run. */
  collect?: string[];
  limits?: Partial<Limits>;
  policy?: GuestPolicy;
  /**
   * Host functions the program may call by name (see docs/host-functions.md): each is a
   * callable in its `__main__` and in `pybox.host`. JSON values in and out; a throw or a
   * rejection raises `pybox.HostError` in Python. Limits: hostCallTimeoutMs, hostCalls, hostCallBytes.
   */
  functions?: HostFunctions;
}

export const MAX_CODE_BYTES = 1024 * 1024;
export const MAX_INPUT_FILES = 1000;
const MiB = 1024 * 1024;

export const bytesSchema = z.union([z.string(), z.instanceof(Uint8Array)]);
export const noNul = z.string().max(4096).refine((s) => !s.includes('\0'), 'must not contain NUL');
export const policySchema = z.enum(['strict', 'off']);
const isAsyncIterable = (v: unknown): v is AsyncIterable<Uint8Array | string> =>
  typeof v === 'object' && v !== null && typeof (v as { [Symbol.asyncIterator]?: unknown })[Symbol.asyncIterator] === 'function';
export const stdinSchema = z.union([
  bytesSchema,
  z.custom<AsyncIterable<Uint8Array | string>>(isAsyncIterable, 'must be a string, a Uint8Array, or a stream (an async iterable of Uint8Array, e.g. a Readable)'),
]);
export const listenerSchema = z.custom<(chunk: string) => void>((v) => typeof v === 'function', 'must be a function (chunk: string) => void');
export const displayListenerSchema = z.custom<DisplayListener>((v) => typeof v === 'function', 'must be a function (output: DisplayOutput) => void');
export const inputHandlerSchema = z.custom<InputHandler>((v) => typeof v === 'function', 'must be a function (prompt: string) => string | Promise<string>');

/** An absolute path without `..`: where pybox may make cgroups. */
export const cgroupRootSchema = noNul
  .refine((p) => p.startsWith('/'), 'must be an absolute path')
  .refine((p) => !p.split('/').includes('..'), 'must not contain ..');

/** A module's dotted name, as `import` takes it. */
export const moduleNameSchema = z
  .string()
  .max(200)
  .regex(/^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/, 'must be a module name (dotted identifiers, e.g. numpy or matplotlib.pyplot)');
export const MAX_PRELOAD_MODULES = 64;
export const preloadSchema = z.array(moduleNameSchema).max(MAX_PRELOAD_MODULES);

const poolSchema = z
  .object({
    size: z.number().int().min(0).max(64).optional(),
    min: z.number().int().min(0).max(64).optional(),
    max: z.number().int().min(1).max(64).optional(),
    idleMs: z.number().int().min(100).max(86_400_000).optional(),
  })
  .strict();

const sandboxOptionsSchema = z
  .object({
    limits: partialLimitsSchema.optional(),
    python: z.string().min(1).max(4096).optional(),
    policy: policySchema.optional(),
    mode: z.enum(['auto', 'cold', 'pool', 'zygote']).optional(),
    pool: poolSchema.optional(),
    cgroupRoot: cgroupRootSchema.optional(),
    maxSessions: z.number().int().min(0).max(10_000).optional(),
    preload: preloadSchema.optional(),
  })
  .strict();

const runOptionsSchema = z
  .object({
    stdin: stdinSchema.optional(),
    onStdout: listenerSchema.optional(),
    onStderr: listenerSchema.optional(),
    onInput: inputHandlerSchema.optional(),
    onDisplay: displayListenerSchema.optional(),
    argv: z.array(noNul).max(1024).optional(),
    files: z.record(z.string(), bytesSchema).optional(),
    collect: z.array(noNul).max(256).optional(),
    limits: partialLimitsSchema.optional(),
    policy: policySchema.optional(),
    functions: hostFunctionsSchema.optional(),
  })
  .strict();

export function parseSandboxOptions(input: unknown): SandboxOptions {
  const parsed = sandboxOptionsSchema.safeParse(input ?? {});
  if (!parsed.success) {
    const limitsOnly = parsed.error.issues.every((i) => i.path[0] === 'limits');
    throw new PyboxError(limitsOnly ? 'E_LIMIT_INVALID' : 'E_OPTIONS_INVALID', `invalid sandbox options: ${formatIssues(parsed.error)}`);
  }
  return parsed.data;
}


/** The code of a run or a cell: a well-formed string of at most MAX_CODE_BYTES. */
export function checkCode(code: unknown): asserts code is string {
  if (typeof code !== 'string') throw new PyboxError('E_CODE_INVALID', 'code must be a string');
  if (!code.isWellFormed()) throw new PyboxError('E_CODE_INVALID', 'code contains unpaired UTF-16 surrogates');
  const codeBytes = Buffer.byteLength(code, 'utf8');
  if (codeBytes > MAX_CODE_BYTES) {
    throw new PyboxError('E_CODE_INVALID', `code is ${codeBytes} bytes; the maximum is ${MAX_CODE_BYTES}`);
  }
}

/** Input files as [normalised path, bytes], checked against each other and the workspace. */
export function prepareFiles(input: Record<string, string | Uint8Array> | undefined, limits: Limits): [string, Uint8Array][] {
  const files: [string, Uint8Array][] = [];
  const seen = new Set<string>();
  let totalBytes = 0;
  const entries = Object.entries(input ?? {});
  if (entries.length > MAX_INPUT_FILES) {
    throw new PyboxError('E_FILE_INVALID', `too many input files (${entries.length}); the maximum is ${MAX_INPUT_FILES}`);
  }
  for (const [name, content] of entries) {
    const path = normaliseWorkspacePath(name);
    if (path === null) throw new PyboxError('E_FILE_INVALID', `input file name not allowed: ${JSON.stringify(name)}`);
    if (seen.has(path) || [...seen].some((p) => p.startsWith(path + '/') || path.startsWith(p + '/'))) {
      throw new PyboxError('E_FILE_INVALID', `input file ${JSON.stringify(name)} collides with another input file`);
    }
    seen.add(path);
    const data = toBuffer(content);
    totalBytes += data.length;
    files.push([path, data]);
  }
  if (totalBytes > limits.workspaceMiB * MiB) {
    throw new PyboxError('E_FILE_INVALID', `input files total ${totalBytes} bytes; the workspace holds ${limits.workspaceMiB} MiB`);
  }

  return files;
}

/**
 * Validates everything about a run before any process starts: the run a backend gets,
 * and the caller's hooks (its output listeners) apart from it.
 */
export function prepareRun(code: unknown, input: unknown, base: { limits: Limits; policy: GuestPolicy }): { run: PreparedRun; hooks: RunHooks } {
  checkCode(code);
  const parsed = runOptionsSchema.safeParse(input ?? {});
  if (!parsed.success) {
    const limitsOnly = parsed.error.issues.every((i) => i.path[0] === 'limits');
    throw new PyboxError(limitsOnly ? 'E_LIMIT_INVALID' : 'E_OPTIONS_INVALID', `invalid run options: ${formatIssues(parsed.error)}`);
  }
  const options = parsed.data;
  const limits = resolveLimits(options.limits, base.limits);

  const files = prepareFiles(options.files, limits);

  // Compiled once, here: a pattern the host cannot match exactly as the guest's glob does
  // is refused before anything runs.
  let collect: CollectMatcher;
  try {
    collect = compileCollect(options.collect ?? []);
  } catch (error) {
    throw new PyboxError('E_OPTIONS_INVALID', error instanceof CollectPatternError ? error.message : `invalid collect patterns: ${String(error)}`);
  }

  const stdin = options.stdin === undefined ? null : isAsyncIterable(options.stdin) ? options.stdin : toBuffer(options.stdin);

  const hooks: RunHooks = {};
  if (options.onStdout) hooks.onStdout = options.onStdout;
  if (options.onStderr) hooks.onStderr = options.onStderr;
  if (options.onInput) hooks.onInput = options.onInput;
  if (options.onDisplay) hooks.onDisplay = options.onDisplay;
  const hostFunctions = Object.keys(options.functions ?? {});
  if (options.functions && hostFunctions.length > 0) hooks.onHostCall = hostCallHandler(options.functions);
  return { run: { code, limits, policy: options.policy ?? base.policy, stdin, argv: options.argv ?? [], files, collect, hostFunctions }, hooks };
}

export function toBuffer(data: string | Uint8Array): Buffer {
  return typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}
