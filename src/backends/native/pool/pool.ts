import { PyboxError } from '../../../core/errors.js';
import type { Limits } from '../../../core/limits.js';
import type { RunResult } from '../../../core/result.js';
import { jailCgroupLimits, type CgroupBaseline } from '../cgroup/cgroups.js';
import { startBwrapJail } from '../jail/bwrap-jail.js';
import type { JailEnvironment, JailPath, JailRun, LiveJail } from '../jail/live-jail.js';
import { superviseJail, superviseRun } from '../jail/supervise.js';
import { addInventorySource, IdleJails, jailsInventory, removeInventorySource, type Inventory } from './inventory.js';
import { ZygoteFleet, type Claimed } from './zygote-fleet.js';
import { keepAlive } from '../jail/keepalive.js';
import type { PathCounts } from '../../../core/backend.js';
import { DEFAULT_POOL, type PoolOptions, type SandboxMode } from '../../../core/options.js';

/**
 * The run paths of one Sandbox. Every run gets a jail no other run has used:
 *   - zygote: a child the fork-server made ahead of time (fresh namespaces, tmpfs, cgroup);
 *   - pool:   a bwrap jail started ahead of time, Python up, waiting for its request;
 *   - cold:   a bwrap jail started for this run.
 * Refilling happens after a claim, off the request's path. With nothing warm that fits
 * (all busy, or a workspace size the warm jails were not made with) a run goes cold: it
 * never fails for want of a warm jail.
 */
export class RunPaths {
  readonly counts: PathCounts = { cold: 0, pool: 0, zygote: 0 };
  private readonly warm: LiveJail[] = [];
  private warmStarting = 0;
  private closed = false;
  private readonly ledger = new IdleJails();
  private readonly fleet: ZygoteFleet;
  private readonly options: Required<PoolOptions>;
  private trimTimer: NodeJS.Timeout | null = null;
  private lastClaim = Date.now();
  /** The path actually in force: 'auto' resolves to zygote or pool once the zygote is tried. */
  private active: 'cold' | 'pool' | 'zygote';

  constructor(
    private readonly env: JailEnvironment,
    private readonly limits: Readonly<Limits>,
    readonly mode: SandboxMode,
    options: PoolOptions = {},
  ) {
    const o = { ...DEFAULT_POOL, ...options };
    o.max = Math.max(1, o.max);
    o.min = Math.max(0, Math.min(o.min, o.max));
    o.size = Math.max(o.min, Math.min(o.size, o.max));
    this.options = o;
    this.active = mode === 'auto' ? 'zygote' : mode;
    this.fleet = new ZygoteFleet(env, limits, o, this.ledger, () => this.closed);
    addInventorySource(this);
  }

  /** Idle warm jails and zygotes of this Sandbox (see idleWarmJails). */
  inventory(): Inventory {
    const idle = jailsInventory([...this.warm, ...this.ledger.ending]);
    const fleet = this.fleet.inventory(jailsInventory(this.ledger.claimed));
    return { pids: [...idle.pids, ...fleet.pids], cgroups: [...idle.cgroups, ...fleet.cgroups] };
  }

  /** Brings the warm paths up. 'zygote' throws when no zygote can run here; 'auto' falls back to the pool. */
  start(): Promise<void> {
    return keepAlive(this.startAll());
  }

  private async startAll(): Promise<void> {
    if (this.active === 'zygote') {
      try {
        await this.fleet.start();
      } catch (error) {
        if (this.mode === 'zygote') {
          this.closed = true;
          removeInventorySource(this);
          throw new PyboxError('E_JAIL_UNAVAILABLE', `the zygote cannot run here: ${this.fleet.error}`, { cause: error });
        }
        this.active = 'pool';
      }
    }
    if (this.active === 'pool') {
      if (this.options.size > 0) this.addWarmJail(); // the first run finds one
      this.refillWarm();
    }
    this.trimTimer = setInterval(() => this.trim(), Math.max(1000, Math.min(this.options.idleMs, 10_000)));
    this.trimTimer.unref();
  }

  /** What runs use now, and why not the faster path. */
  describe(): { mode: SandboxMode; active: string; zygoteError: string | null; warm: number; zygotes: number } {
    return { mode: this.mode, active: this.active, zygoteError: this.fleet.error, warm: this.warm.length + this.fleet.spareCount, zygotes: this.fleet.zygotes.length };
  }

  async run(run: JailRun): Promise<RunResult> {
    const claimed = await this.claim(run.limits);
    if (!claimed) {
      this.counts.cold++;
      return superviseJail(this.env, run);
    }
    const { jail, baseline, done } = claimed;
    this.counts[jail.path as Exclude<JailPath, 'cold'>]++;
    try {
      return await superviseRun(jail, run, { withCgroups: jail.cgroup !== null, baseline });
    } finally {
      this.ledger.claimed.delete(jail);
      if (jail.hasEnded) await jail.release();
      else this.fleet.finish(jail);
      done();
    }
  }

  /**
   * A warm jail kept for a session (a zygote's child keeps its zygote busy, as a run
   * does), or null: the session goes cold. `done` gives it back once the session is gone.
   */
  async claimForSession(limits: Limits): Promise<{ jail: LiveJail; baseline: CgroupBaseline | null; done: () => Promise<void> } | null> {
    const claimed = await this.claim(limits);
    if (!claimed) {
      this.counts.cold++;
      return null;
    }
    const { jail, baseline, done } = claimed;
    this.counts[jail.path as Exclude<JailPath, 'cold'>]++;
    return {
      jail,
      baseline,
      done: async () => {
        await jail.release();
        this.ledger.claimed.delete(jail);
        done();
      },
    };
  }

  private async claim(limits: Limits): Promise<Claimed | null> {
    if (this.closed) return null;
    this.lastClaim = Date.now();
    if (this.active === 'zygote') return this.fleet.claim(limits);
    if (this.active === 'pool') return this.claimWarm(limits);
    return null;
  }

  // --- the warm bwrap pool ---

  private async claimWarm(limits: Limits): Promise<Claimed | null> {
    for (;;) {
      const index = this.warm.findIndex((j) => j.workspaceMiB === limits.workspaceMiB && !j.hasEnded);
      if (index < 0) break;
      const [jail] = this.warm.splice(index, 1) as [LiveJail];
      this.refillWarm();
      let baseline: CgroupBaseline | null = null;
      if (jail.cgroup) {
        try {
          baseline = await jail.cgroup.retune(jailCgroupLimits(limits, jail.ownPids));
        } catch {
          this.ledger.discard(jail);
          continue;
        }
      }
      if (jail.hasEnded) {
        this.ledger.discard(jail);
        continue;
      }
      this.ledger.claimed.add(jail);
      return { jail, baseline, done: () => undefined };
    }
    this.refillWarm();
    return null;
  }

  private refillWarm(): void {
    if (this.closed || this.active !== 'pool') return;
    const want = this.options.size;
    if (this.warmStarting > 0 || this.warm.length + this.warmStarting >= Math.min(want, this.options.max)) return;
    this.warmStarting++;
    // One at a time, off the request path: a bwrap + Python start-up costs a few tens of ms of CPU.
    setImmediate(() => {
      this.warmStarting--;
      if (this.addWarmJail()) setTimeout(() => this.refillWarm(), 5).unref();
    });
  }

  /** Starts one warm jail (it is claimable at once: a run waits for its start-up). */
  private addWarmJail(): boolean {
    if (this.closed) return false;
    let jail: LiveJail;
    try {
      jail = startBwrapJail(this.env, { limits: this.limits as Limits, path: 'pool', warm: true });
    } catch {
      return false; // uids or cgroups exhausted: runs go cold until a warm jail can be made again
    }
    this.warm.push(jail);
    void jail.ended.then(() => {
      const i = this.warm.indexOf(jail);
      if (i >= 0) {
        this.warm.splice(i, 1);
        this.ledger.releaseIdle(jail);
      }
    });
    return true;
  }

  private trim(): void {
    if (this.closed) return;
    const now = Date.now();
    if (now - this.lastClaim < this.options.idleMs) return;
    while (this.warm.length > this.options.min) this.ledger.discard(this.warm.pop() as LiveJail);
    this.fleet.trim(now);
  }

  /** Stops every warm jail and zygote and waits until their processes and cgroups are gone. */
  close(): Promise<void> {
    return keepAlive(this.closeAll());
  }

  private async closeAll(): Promise<void> {
    this.closed = true;
    removeInventorySource(this);
    if (this.trimTimer) clearInterval(this.trimTimer);
    const waits: Promise<unknown>[] = [];
    for (const jail of this.warm.splice(0)) {
      jail.kill();
      waits.push(jail.ended.then(() => jail.release()));
    }
    await this.fleet.close(waits);
    await Promise.allSettled(waits);
  }
}
