import type { Backend, BackendDescription, BackendInventory, BackendSession, PathCounts, SessionOptions } from '../../core/backend.js';
import { compileCollect } from '../../core/glob.js';
import type { RunHooks } from '../../core/hooks.js';
import type { Limits } from '../../core/limits.js';
import type { PoolOptions, SandboxMode } from '../../core/options.js';
import { textListener } from '../../core/output.js';
import type { PreparedRun } from '../../core/prepared-run.js';
import type { RunResult } from '../../core/result.js';
import { buildGuestRequest } from '../../guest/request.js';
import { jailEnvironment } from './jail/environment.js';
import type { JailEnvironment, JailRun } from './jail/live-jail.js';
import { superviseJail } from './jail/supervise.js';
import { RunPaths } from './pool/pool.js';
import { checkPreload } from './preload-check.js';
import { openJailSession } from './session/open-session.js';

export interface NativeBackendOptions {
  /** The sandbox's limits: what warm jails and zygote children are made for. */
  limits: Readonly<Limits>;
  mode: SandboxMode;
  python?: string;
  pool?: PoolOptions;
  cgroupRoot?: string;
  /** Modules every jail imports before its program (SandboxOptions.preload). */
  preload?: readonly string[];
}

/**
 * Real CPython in an OS jail (bubblewrap namespaces, seccomp, cgroups or rlimits). Each
 * run's jail comes from one of three sources: a zygote's forked child, a warm bwrap jail
 * from the pool (both in pool/pool.ts, RunPaths), or a bwrap jail started for it (cold),
 * the fallback whenever nothing warm fits. Throws PyboxError at construction when no jail
 * can be built on this host.
 */
export class NativeBackend implements Backend {
  private readonly env: JailEnvironment;
  private readonly paths: RunPaths | null;
  private coldRuns = 0;
  private readonly preload: readonly string[];

  constructor(private readonly options: NativeBackendOptions) {
    this.preload = [...new Set(options.preload ?? [])];
    this.env = { ...jailEnvironment(options.python, options.cgroupRoot), preload: this.preload };
    this.paths = options.mode === 'cold' ? null : new RunPaths(this.env, options.limits, options.mode, options.pool);
  }

  /** Checks the preload in a jail of its own while the warm paths come up; a bad one closes them and throws. */
  async start(): Promise<void> {
    const [checked, started] = await Promise.allSettled([checkPreload(this.env, this.options.limits, this.preload), this.paths?.start()]);
    if (checked.status === 'rejected') {
      await this.close();
      throw checked.reason;
    }
    if (started.status === 'rejected') throw started.reason;
  }

  run(run: PreparedRun, hooks: RunHooks = {}): Promise<RunResult> {
    const jailRun: JailRun = {
      limits: run.limits,
      stdin: hooks.onInput ? null : run.stdin, // input() asks the caller instead
      onOutput: textListener(hooks.onStdout, hooks.onStderr),
      onInput: hooks.onInput ?? null,
      onDisplay: hooks.onDisplay ?? null,
      onHostCall: hooks.onHostCall ?? null,
      collect: run.collect,
      request: { ...buildGuestRequest(run, { strictSeccomp: this.env.strictSeccomp, sitePaths: this.env.facts.sitePaths }), hostInput: hooks.onInput !== undefined, preload: this.preload },
    };
    if (this.paths) return this.paths.run(jailRun);
    this.coldRuns++;
    return superviseJail(this.env, jailRun);
  }

  /** A session in a jail of its own: a zygote's child or a warm jail when one is free, else one started for it. */
  openSession(options: SessionOptions, hooks: RunHooks = {}): Promise<BackendSession> {
    const hostFunctions = hooks.onHostCall ? (options.hostFunctions ?? []) : [];
    const body = buildGuestRequest(
      { code: '', limits: options.limits, policy: options.policy, stdin: null, argv: [], files: options.files, collect: compileCollect([]), hostFunctions },
      { strictSeccomp: this.env.strictSeccomp, sitePaths: this.env.facts.sitePaths },
    );
    return openJailSession(this.env, this.paths, options, { ...body, maxFiles: 0, maxFileBytes: 0, preload: this.preload }, hooks.onHostCall ?? null);
  }

  describe(): BackendDescription {
    const counts: PathCounts = { ...(this.paths?.counts ?? { cold: this.coldRuns, pool: 0, zygote: 0 }) };
    const cgroupMode = this.env.cgroups.mode;
    if (!this.paths) return { backend: 'native', requested: 'cold', active: 'cold', reason: null, warmJails: 0, zygotes: 0, counts, cgroupMode };
    const d = this.paths.describe();
    return { backend: 'native', requested: d.mode, active: d.active, reason: d.zygoteError, warmJails: d.warm, zygotes: d.zygotes, counts, cgroupMode };
  }

  inventory(): BackendInventory {
    const { pids, cgroups } = this.paths?.inventory() ?? { pids: [], cgroups: [] };
    // Jails live on tmpfs mounts in their own namespaces: nothing of them is on the host's disk.
    return { pids, cgroups, tempDirs: [] };
  }

  async close(): Promise<void> {
    await this.paths?.close();
    await this.env.bwrapCgroups?.close();
  }
}
