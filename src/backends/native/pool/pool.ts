import { PyboxError } from '../../../core/errors.js';
import type { Limits } from '../../../core/limits.js';
import type { RunResult } from '../../../core/result.js';
import { jailCgroupLimits, sameLimits, type CgroupBaseline, type CgroupLimits } from '../cgroup/cgroups.js';
import { keptCgroups } from '../cgroup/cgroup-recycler.js';
import { withDescendants } from '../../../host/processes.js';
import { startBwrapJail } from '../jail/bwrap-jail.js';
import type { JailEnvironment, JailPath, JailRun, LiveJail } from '../jail/live-jail.js';
import { superviseJail, superviseRun } from '../jail/supervise.js';
import { Zygote, type ZygoteChild } from '../zygote/zygote.js';
import { keepAlive } from '../jail/keepalive.js';
import type { PathCounts } from '../../../core/backend.js';
import { DEFAULT_POOL, type PoolOptions, type SandboxMode } from '../../../core/options.js';

/** How long a claim waits for a spare that is not warm yet before it goes elsewhere. */
const WARM_WAIT_MS = 5000;
/** Children each zygote keeps forked ahead of its next runs. */
const SPARES_PER_ZYGOTE = 3;
const liveSets = new Set<RunPaths>();

/**
 * Processes and cgroups of warm jails that no run has claimed yet (and of the zygotes
 * themselves, and the empty cgroups kept for later runs), across every open Sandbox in this process. A check that "nothing of a
 * run is left on the host" must not count these: they exist before any run and never
 * held one. A claimed jail leaves this inventory at its claim.
 */
export function idleWarmJails(): { pids: number[]; cgroups: string[] } {
  const pids = new Set<number>();
  const cgroups = new Set<string>();
  for (const paths of liveSets) {
    const inv = paths.inventory();
    inv.pids.forEach((p) => pids.add(p));
    inv.cgroups.forEach((c) => cgroups.add(c));
  }
  RunPaths.bootingPids().forEach((p) => pids.add(p));
  for (const z of Zygote.booting) z.childCgroups.forEach((c) => cgroups.add(c)); // its slots
  keptCgroups().forEach((c) => cgroups.add(c));
  return { pids: [...pids], cgroups: [...cgroups] };
}


interface Claimed {
  jail: LiveJail;
  baseline: CgroupBaseline | null;
  done: () => void;
}

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
  private readonly zygotes: Zygote[] = [];
  private zygotesStarting = 0;
  /** Children each zygote has forked ahead of time, waiting for a run. */
  private readonly spares = new Map<Zygote, ZygoteChild[]>();
  /**
   * Spares made ready for a run once warm: back at normal priority, counters restarted,
   * baseline read (for these limits), all before a run claims them.
   */
  private readonly readied = new WeakMap<ZygoteChild, { limits: CgroupLimits; baseline: Promise<CgroupBaseline | null> }>();
  /** Forks in flight per zygote (their children are not spares yet). */
  private readonly inflight = new Map<Zygote, Set<Promise<ZygoteChild | null>>>();
  private closed = false;
  private readonly late: Zygote[] = [];
  /** Zygotes stopped or dead whose processes may not all be gone yet. */
  private readonly leaving = new Set<Zygote>();
  /** Warm jails on their way out (discarded, or forked while closing) that never ran anything. */
  private readonly idleOther = new Set<LiveJail>();
  /** Jails serving a run now. */
  private readonly claimed = new Set<LiveJail>();
  private zygoteError: string | null = null;
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
    liveSets.add(this);
  }

  /** Idle warm jails and zygotes of this Sandbox (see idleWarmJails). */
  inventory(): { pids: number[]; cgroups: string[] } {
    const pids: number[] = [];
    const cgroups: string[] = [];
    const idle: LiveJail[] = [...this.warm, ...[...this.spares.values()].flat(), ...this.idleOther];
    for (const jail of idle) {
      if (jail.rootPid !== null) pids.push(...withDescendants(jail.rootPid));
      if (jail.cgroupName) cgroups.push(jail.cgroupName);
    }
    // A zygote and everything under it, except the runs it is serving.
    const running = new Set<number>();
    const runningCgroups = new Set<string>();
    for (const jail of this.claimed) {
      if (jail.rootPid !== null) withDescendants(jail.rootPid).forEach((p) => running.add(p));
      if (jail.cgroupName) runningCgroups.add(jail.cgroupName);
    }
    for (const z of [...this.zygotes, ...this.late, ...this.leaving]) {
      for (const root of z.ownPids) pids.push(...withDescendants(root).filter((p) => !running.has(p)));
      cgroups.push(...[...z.childCgroups].filter((c) => !runningCgroups.has(c)));
    }
    return { pids, cgroups };
  }

  /** Processes of zygotes that are still starting, for any Sandbox of this process. */
  static bootingPids(): number[] {
    const pids: number[] = [];
    for (const z of Zygote.booting) if (z.bwrapPid !== null) pids.push(...withDescendants(z.bwrapPid));
    return pids;
  }

  /** Brings the warm paths up. 'zygote' throws when no zygote can run here; 'auto' falls back to the pool. */
  start(): Promise<void> {
    return keepAlive(this.startAll());
  }

  private async startAll(): Promise<void> {
    if (this.active === 'zygote') {
      try {
        const first = await Zygote.start(this.env);
        this.adoptZygote(first);
        await this.topUp(first);
        if (this.sparesOf(first).length === 0) throw new Error(this.zygoteError ?? 'the zygote could not fork a child');
      } catch (error) {
        this.zygoteError = (error as Error).message;
        for (const z of this.zygotes.splice(0)) z.stop();
        if (this.mode === 'zygote') {
          this.closed = true;
          liveSets.delete(this);
          throw new PyboxError('E_JAIL_UNAVAILABLE', `the zygote cannot run here: ${this.zygoteError}`, { cause: error });
        }
        this.active = 'pool';
      }
      for (let i = this.zygotes.length; i < this.options.size; i++) this.growZygotes();
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
    const spares = [...this.spares.values()].reduce((n, list) => n + list.length, 0);
    return { mode: this.mode, active: this.active, zygoteError: this.zygoteError, warm: this.warm.length + spares, zygotes: this.zygotes.length };
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
      await jail.release();
      this.claimed.delete(jail);
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
        this.claimed.delete(jail);
        done();
      },
    };
  }

  private async claim(limits: Limits): Promise<Claimed | null> {
    if (this.closed) return null;
    this.lastClaim = Date.now();
    if (this.active === 'zygote') return this.claimZygote(limits);
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
          this.discard(jail);
          continue;
        }
      }
      if (jail.hasEnded) {
        this.discard(jail);
        continue;
      }
      this.claimed.add(jail);
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
        this.releaseIdle(jail);
      }
    });
    return true;
  }

  /** Releases a warm jail that ended without a run; it stays in the inventory until then. */
  private releaseIdle(jail: LiveJail): void {
    this.idleOther.add(jail);
    void jail.release().finally(() => this.idleOther.delete(jail));
  }

  private discard(jail: LiveJail): void {
    this.idleOther.add(jail);
    jail.kill();
    void jail.ended.then(() => jail.release()).finally(() => this.idleOther.delete(jail));
  }

  // --- zygotes ---

  private adoptZygote(z: Zygote): void {
    this.zygotes.push(z);
    void z.ended.then(() => {
      const i = this.zygotes.indexOf(z);
      if (i >= 0) this.zygotes.splice(i, 1);
      this.leaving.delete(z);
      for (const spare of this.sparesOf(z)) {
        this.idleOther.add(spare);
        void spare.ended.then(() => spare.release()).finally(() => this.idleOther.delete(spare));
      }
      this.spares.delete(z);
    });
  }

  private growZygotes(): void {
    if (this.closed || this.zygotes.length + this.zygotesStarting >= this.options.max) return;
    this.zygotesStarting++;
    Zygote.start(this.env).then(
      (z) => {
        this.zygotesStarting--;
        if (this.closed) {
          this.late.push(z);
          return z.stop();
        }
        this.adoptZygote(z);
        void this.topUp(z);
      },
      (error: Error) => {
        this.zygotesStarting--;
        this.zygoteError = error.message;
      },
    );
  }

  private sparesOf(z: Zygote): ZygoteChild[] {
    let list = this.spares.get(z);
    if (!list) {
      list = [];
      this.spares.set(z, list);
    }
    return list;
  }

  private inflightOf(z: Zygote): Set<Promise<ZygoteChild | null>> {
    let set = this.inflight.get(z);
    if (!set) {
      set = new Set();
      this.inflight.set(z, set);
    }
    return set;
  }

  private get forkingCount(): number {
    let n = 0;
    for (const set of this.inflight.values()) n += set.size;
    return n;
  }

  /**
   * Has `z` fork children ahead of its next runs until it has SPARES_PER_ZYGOTE of them,
   * ready or in flight. Forks run in parallel: most of a child's set-up time is the
   * kernel moving it into its cgroup (an RCU grace period on cgroup v1), which parallel
   * moves share. Resolves with the first child of this round (for start-up).
   */
  private topUp(z: Zygote): Promise<ZygoteChild | null> {
    const launched: Promise<ZygoteChild | null>[] = [];
    while (!this.closed && z.isAlive && this.sparesOf(z).length + this.inflightOf(z).size < SPARES_PER_ZYGOTE) {
      launched.push(this.launchFork(z, this.limits.workspaceMiB, true));
    }
    return launched[0] ?? Promise.resolve(null);
  }

  /** One fork; as a spare (kept for z's next runs) or for one run (an unusual workspace size). */
  private launchFork(z: Zygote, workspaceMiB: number, spare: boolean): Promise<ZygoteChild | null> {
    const set = this.inflightOf(z);
    const p = this.forkChild(z, workspaceMiB, spare);
    set.add(p);
    void p.finally(() => {
      set.delete(p);
      if (spare) void p.then((child) => child && this.topUp(z));
    });
    return p;
  }

  private async forkChild(z: Zygote, workspaceMiB: number, spare: boolean): Promise<ZygoteChild | null> {
    try {
      const child = await z.fork({ workspaceMiB, memoryMiB: this.limits.memoryMiB, processes: this.limits.processes });
      if (this.closed) {
        this.discard(child);
        return null;
      }
      if (!spare) return child;
      const list = this.sparesOf(z);
      list.push(child);
      void child.warm.then(() => this.readySpare(child, list));
      void child.ended.then(() => {
        const i = list.indexOf(child);
        if (i >= 0) {
          list.splice(i, 1);
          this.releaseIdle(child);
        }
      });
      return child;
    } catch (error) {
      this.zygoteError = (error as Error).message;
      return null;
    }
  }

  /**
   * What a claim would do first, done while the spare waits: the claim only sends the
   * request. A spare is idle once warm (G waits for its request, R for G), so its counters
   * stay where they are restarted here until its run.
   */
  private readySpare(child: ZygoteChild, list: ZygoteChild[]): void {
    if (this.closed || child.hasEnded || !child.cgroup || !list.includes(child)) return;
    if (!child.inCgroup()) {
      list.splice(list.indexOf(child), 1);
      return this.discard(child); // its pid 1 did not move itself in: no run goes there
    }
    const limits = jailCgroupLimits(this.limits, child.ownPids);
    this.readied.set(child, { limits, baseline: child.cgroup.retune(limits).catch(() => null) });
    child.promote();
  }

  private async claimZygote(limits: Limits): Promise<Claimed | null> {
    // One run at a time per zygote: concurrent runs never share its uid (RLIMIT and
    // per-user kernel counters); more callers get more zygotes, up to `max`.
    const size = limits.workspaceMiB;
    const pick = (): { z: Zygote; child: ZygoteChild } | null => {
      for (const z of this.zygotes) {
        if (z.busy || !z.isAlive) continue;
        const list = this.sparesOf(z);
        const i = list.findIndex((c) => c.workspaceMiB === size && !c.hasEnded);
        if (i >= 0) return { z, child: list.splice(i, 1)[0] as ZygoteChild };
      }
      return null;
    };
    const noFreeSpare = () => this.zygotes.every((z) => z.busy || this.sparesOf(z).length === 0);
    let chosen = pick();
    if (!chosen && size === this.limits.workspaceMiB) {
      // A free zygote is forking its next children: waiting for one is cheaper than a cold jail.
      const pending = this.zygotes.find((z) => !z.busy && this.inflightOf(z).size > 0);
      if (pending) {
        if (noFreeSpare()) this.growZygotes();
        await Promise.race(this.inflightOf(pending));
        chosen = pick();
      }
    }
    if (!chosen && size !== this.limits.workspaceMiB) {
      // A workspace size the spares were not made with: a free zygote forks one for this
      // run (still a fresh jail, with the tmpfs sizes it asks for).
      const idle = this.zygotes.find((z) => !z.busy && z.isAlive);
      if (idle) {
        idle.busy = true;
        const child = await this.launchFork(idle, size, false);
        if (child) chosen = { z: idle, child };
        else idle.busy = false;
      }
    }
    if (!chosen) {
      if (noFreeSpare()) this.growZygotes();
      return null;
    }
    const { z, child } = chosen;
    z.busy = true;
    this.claimed.add(child);
    let baseline: CgroupBaseline | null = null;
    const wanted = jailCgroupLimits(limits, child.ownPids);
    const ready = this.readied.get(child);
    try {
      // Claimed before it was readied: its pid 1 may still be moving itself into its cgroup
      // (its program reads a request only once warm anyway), and must be in before a run.
      if (!ready && !((await warmOrGone(child)) && child.inCgroup())) throw new Error('not in its cgroup');
      const early = ready && sameLimits(ready.limits, wanted) ? await ready.baseline : null;
      if (child.cgroup) baseline = early ?? (await child.cgroup.retune(wanted));
    } catch {
      z.busy = false;
      this.claimed.delete(child);
      this.discard(child);
      void this.topUp(z);
      return null;
    }
    if (!ready) child.promote();
    z.lastUsed = Date.now();
    // Replace the child just taken after the run (forking now would compete with it for
    // the CPU), unless the zygote has none left.
    if (this.sparesOf(z).length === 0) void this.topUp(z);
    return {
      jail: child,
      baseline,
      done: () => {
        z.busy = false;
        z.lastUsed = Date.now();
        // After the result is delivered: starting a fork is ~0.5 ms of work here.
        setImmediate(() => void this.topUp(z));
      },
    };
  }

  private trim(): void {
    if (this.closed) return;
    const now = Date.now();
    if (now - this.lastClaim < this.options.idleMs) return;
    while (this.warm.length > this.options.min) this.discard(this.warm.pop() as LiveJail);
    const idle = this.zygotes.filter((z) => !z.busy && now - z.lastUsed >= this.options.idleMs);
    for (const z of idle) {
      if (this.zygotes.length <= Math.max(1, this.options.min)) break;
      const i = this.zygotes.indexOf(z);
      this.zygotes.splice(i, 1);
      this.leaving.add(z);
      z.stop(); // its spares die with it (its namespace); adoptZygote's handler releases them
    }
  }

  /** Stops every warm jail and zygote and waits until their processes and cgroups are gone. */
  close(): Promise<void> {
    return keepAlive(this.closeAll());
  }

  private async closeAll(): Promise<void> {
    this.closed = true;
    liveSets.delete(this);
    if (this.trimTimer) clearInterval(this.trimTimer);
    const waits: Promise<unknown>[] = [];
    for (const jail of this.warm.splice(0)) {
      jail.kill();
      waits.push(jail.ended.then(() => jail.release()));
    }
    for (const child of [...this.spares.values()].flat()) {
      child.kill();
      waits.push(child.ended.then(() => child.release()));
    }
    this.spares.clear();
    for (const z of this.zygotes.splice(0)) {
      z.stop();
      waits.push(z.ended);
    }
    // Zygotes still starting stop themselves when they come up (closed is set).
    for (let i = 0; i < 500 && (this.zygotesStarting > 0 || this.forkingCount > 0); i++) await new Promise((r) => setTimeout(r, 10));
    for (const z of this.zygotes.splice(0)) {
      z.stop();
      waits.push(z.ended);
    }
    for (const z of this.late.splice(0)) waits.push(z.ended);
    await Promise.allSettled(waits);
  }
}

/** Whether a spare got warm (true) or ended, or took implausibly long (false). */
function warmOrGone(child: ZygoteChild): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), WARM_WAIT_MS)));
  return Promise.race([child.warm.then(() => true), child.ended.then(() => false), late]).finally(() => clearTimeout(timer));
}
