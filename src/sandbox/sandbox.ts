import { collectBudgetBytes, MAX_COLLECT_FILES } from '../guest/protocol.js';
import { jailEnvironment } from '../jail/environment.js';
import { superviseJail, type JailEnvironment } from '../jail/supervise.js';
import { RunPaths, type PathCounts, type SandboxMode } from '../pool/pool.js';
import { PyboxError } from './errors.js';
import { DEFAULT_LIMITS, resolveLimits, type Limits } from './limits.js';
import { DEFAULT_MODE, parseSandboxOptions, prepareRun, type GuestPolicy, type RunOptions, type SandboxOptions } from './options.js';
import type { RunResult } from './result.js';

/** The name the user's code runs under, in tracebacks and sys.argv[0]. */
export const MAIN_FILENAME = 'main.py';
/** A run under policy 'off' stacks no filter of its own. */
const NO_FILTER = new Uint8Array(0);

/**
 * A handle on pybox: each `run` gets a fresh jail, so no state passes between runs.
 * `create` checks that the jail can be built here, so failures show up early.
 */
export class Sandbox {
  private closed = false;
  private readonly active = new Set<Promise<RunResult>>();

  private constructor(
    private readonly env: JailEnvironment,
    readonly limits: Readonly<Limits>,
    readonly policy: GuestPolicy,
    private readonly paths: RunPaths | null,
  ) {}

  static async create(options?: SandboxOptions): Promise<Sandbox> {
    const parsed = parseSandboxOptions(options);
    const limits = Object.freeze(resolveLimits(parsed.limits, DEFAULT_LIMITS));
    const env = jailEnvironment(parsed.python, parsed.cgroupRoot);
    const mode = parsed.mode ?? DEFAULT_MODE;
    let paths: RunPaths | null = null;
    if (mode !== 'cold') {
      paths = new RunPaths(env, limits, mode, parsed.pool);
      await paths.start();
    }
    return new Sandbox(env, limits, parsed.policy ?? 'strict', paths);
  }

  /** The mode asked for, and the path runs take now ('zygote', 'pool' or 'cold'). */
  get mode(): { requested: SandboxMode; active: string; reason: string | null; warmJails: number; zygotes: number } {
    if (!this.paths) return { requested: 'cold', active: 'cold', reason: null, warmJails: 0, zygotes: 0 };
    const d = this.paths.describe();
    return { requested: d.mode, active: d.active, reason: d.zygoteError, warmJails: d.warm, zygotes: d.zygotes };
  }

  /** How many runs took each path so far (a run with nothing warm that fits goes cold). */
  get pathCounts(): Readonly<PathCounts> {
    return { ...(this.paths?.counts ?? { cold: this.coldRuns, pool: 0, zygote: 0 }) };
  }

  private coldRuns = 0;

  /** How limits are enforced on this host: 'v1' / 'v2' cgroups, or 'none' (rlimits only). */
  get cgroupMode(): string {
    return this.env.cgroups.mode;
  }

  async run(code: string, options?: RunOptions): Promise<RunResult> {
    if (this.closed) throw new PyboxError('E_SANDBOX_CLOSED', 'this sandbox is closed');
    const prepared = prepareRun(code, options, { limits: this.limits, policy: this.policy });
    const jailRun = {
      limits: prepared.limits,
      stdin: prepared.stdin,
      onOutput: prepared.onOutput,
      collect: prepared.collect,
      request: {
        code: prepared.code,
        filename: MAIN_FILENAME,
        argv: prepared.argv,
        files: prepared.files,
        collect: [...prepared.collect.patterns],
        maxFiles: MAX_COLLECT_FILES,
        maxFileBytes: collectBudgetBytes(prepared.limits.workspaceMiB),
        policy: prepared.policy,
        seccomp: prepared.policy === 'strict' ? this.env.strictSeccomp : NO_FILTER,
        extraPaths: this.env.facts.sitePaths,
      },
    };
    if (!this.paths) this.coldRuns++;
    const promise = this.paths ? this.paths.run(jailRun) : superviseJail(this.env, jailRun);
    this.active.add(promise);
    try {
      return await promise;
    } finally {
      this.active.delete(promise);
    }
  }

  /** Waits for runs in flight, then refuses new ones. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.allSettled([...this.active]);
    await this.paths?.close();
    await this.env.bwrapCgroups?.close();
  }
}
