import type { Backend, PathCounts } from '../core/backend.js';
import { PyboxError } from '../core/errors.js';
import { DEFAULT_LIMITS, resolveLimits, type Limits } from '../core/limits.js';
import { DEFAULT_MAX_SESSIONS, DEFAULT_MODE, parseSandboxOptions, prepareRun, type RunOptions, type SandboxMode, type SandboxOptions } from '../core/options.js';
import type { GuestPolicy } from '../core/prepared-run.js';
import type { RunResult } from '../core/result.js';
import { prepareSession, type SessionOpenOptions } from '../core/session-options.js';
import { NativeBackend } from '../backends/native/native-backend.js';
import { Session } from './session.js';

/**
 * A handle on pybox: each `run` gets a fresh jail, so no state passes between runs.
 * `create` checks that the jail can be built here, so failures show up early. A thin
 * façade over one Backend: it validates input and tracks runs in flight; how a run is
 * run is the backend's.
 */
export class Sandbox {
  private closed = false;
  private readonly active = new Set<Promise<RunResult>>();
  private readonly sessions = new Set<Session>();
  private opening = 0;

  private constructor(
    private readonly backend: Backend,
    readonly limits: Readonly<Limits>,
    readonly policy: GuestPolicy,
    /** Sessions open at once; one more is refused with E_TOO_MANY_SESSIONS. */
    readonly maxSessions: number,
  ) {}

  static async create(options?: SandboxOptions): Promise<Sandbox> {
    const parsed = parseSandboxOptions(options);
    const limits = Object.freeze(resolveLimits(parsed.limits, DEFAULT_LIMITS));
    const backend = new NativeBackend({
      limits,
      mode: parsed.mode ?? DEFAULT_MODE,
      ...(parsed.python !== undefined ? { python: parsed.python } : {}),
      ...(parsed.pool !== undefined ? { pool: parsed.pool } : {}),
      ...(parsed.cgroupRoot !== undefined ? { cgroupRoot: parsed.cgroupRoot } : {}),
      ...(parsed.preload !== undefined ? { preload: parsed.preload } : {}),
    });
    await backend.start();
    return new Sandbox(backend, limits, parsed.policy ?? 'strict', parsed.maxSessions ?? DEFAULT_MAX_SESSIONS);
  }

  /** The mode asked for, and the path runs take now ('zygote', 'pool' or 'cold'). */
  get mode(): { requested: SandboxMode; active: string; reason: string | null; warmJails: number; zygotes: number } {
    const { requested, active, reason, warmJails, zygotes } = this.backend.describe();
    return { requested, active, reason, warmJails, zygotes };
  }

  /** How many runs took each path so far (a run with nothing warm that fits goes cold). */
  get pathCounts(): Readonly<PathCounts> {
    return this.backend.describe().counts;
  }

  /** How limits are enforced on this host: 'v1' / 'v2' cgroups, or 'none' (rlimits only). */
  get cgroupMode(): string {
    return this.backend.describe().cgroupMode;
  }

  async run(code: string, options?: RunOptions): Promise<RunResult> {
    if (this.closed) throw new PyboxError('E_SANDBOX_CLOSED', 'this sandbox is closed');
    const { run, hooks } = prepareRun(code, options, { limits: this.limits, policy: this.policy });
    const promise = this.backend.run(run, hooks);
    this.active.add(promise);
    try {
      return await promise;
    } finally {
      this.active.delete(promise);
    }
  }

  /**
   * A live interpreter whose state persists from cell to cell (see Session), in a jail of
   * its own. Resolves once its first cell can run.
   */
  async openSession(options?: SessionOpenOptions): Promise<Session> {
    if (this.closed) throw new PyboxError('E_SANDBOX_CLOSED', 'this sandbox is closed');
    const { session: prepared, hooks } = prepareSession(options, { limits: this.limits, policy: this.policy });
    if (this.sessions.size + this.opening >= this.maxSessions) {
      throw new PyboxError('E_TOO_MANY_SESSIONS', `${this.maxSessions} sessions are open (maxSessions)`);
    }
    this.opening++;
    try {
      const inner = await this.backend.openSession(prepared, hooks);
      const session = new Session(inner, Object.freeze(prepared.limits));
      this.sessions.add(session);
      void inner.gone.then(() => this.sessions.delete(session));
      if (this.closed) await session.close();
      return session;
    } finally {
      this.opening--;
    }
  }

  /** Sessions open now. */
  get sessionCount(): number {
    return this.sessions.size;
  }

  /** Ends every session, waits for runs in flight, then refuses new ones. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.allSettled([...this.sessions].map((s) => s.close()));
    await Promise.allSettled([...this.active]);
    await this.backend.close();
  }
}
