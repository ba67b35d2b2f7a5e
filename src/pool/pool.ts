import { readdirSync, readFileSync } from 'node:fs';
import { PyboxError } from '../sandbox/errors.js';
import type { Limits } from '../sandbox/limits.js';
import type { RunResult } from '../sandbox/result.js';
import { startBwrapJail, superviseJail, superviseRun, type JailEnvironment, type JailPath, type JailRun, type LiveJail } from '../jail/supervise.js';
import { Zygote, type ZygoteChild } from '../zygote/zygote.js';
import { canRetune, retune, type CgroupBaseline } from './cgroup-ops.js';
import { keepAlive } from './keepalive.js';

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

const MiB = 1024 * 1024;
/** Children each zygote keeps forked ahead of its next runs. */
const SPARES_PER_ZYGOTE = 2;
const liveSets = new Set<RunPaths>();

/** A process and all its descendants, from /proc (children of every thread). */
function withDescendants(root: number): number[] {
  const out: number[] = [];
  const todo = [root];
  while (todo.length > 0) {
    const pid = todo.pop() as number;
    out.push(pid);
    try {
      for (const tid of readdirSync(`/proc/${pid}/task`)) {
        const kids = readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim();
        if (kids) todo.push(...kids.split(/\s+/).map(Number));
      }
    } catch {
      /* exited */
    }
  }
  return out;
}

/**
 * Processes and cgroups of warm jails that no run has claimed yet (and of the zygotes
 * themselves), across every open Sandbox in this process. A check that "nothing of a
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
  return { pids: [...pids], cgroups: [...cgroups] };
}

export interface PathCounts {
  cold: number;
  pool: number;
  zygote: number;
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
  private readonly forking = new Set<Zygote>();
  private readonly forkPromises = new Map<Zygote, Promise<ZygoteChild | null>>();
  private closed = false;
  private readonly late: Zygote[] = [];
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
    for (const jail of this.claimed) if (jail.rootPid !== null) withDescendants(jail.rootPid).forEach((p) => running.add(p));
    for (const z of [...this.zygotes, ...this.late]) {
      for (const root of z.ownPids) pids.push(...withDescendants(root).filter((p) => !running.has(p)));
    }
    return { pids, cgroups };
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
        await this.forkSpare(first);
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
    if (this.active === 'pool') this.refillWarm();
    this.trimTimer = setInterval(() => this.trim(), Math.max(1000, Math.min(this.options.idleMs, 10_000)));
    this.trimTimer.unref();
  }

  /** What runs use now, and why not the faster path. */
  describe(): { mode: SandboxMode; active: string; zygoteError: string | null; warm: number; zygotes: number } {
    return { mode: this.mode, active: this.active, zygoteError: this.zygoteError, warm: this.warm.length, zygotes: this.zygotes.length };
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
          baseline = await retune(jail.cgroup, { memoryBytes: limits.memoryMiB * MiB, pids: limits.processes + 1 });
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
      if (this.closed) return;
      let jail: LiveJail;
      try {
        jail = startBwrapJail(this.env, { limits: this.limits as Limits, path: 'pool', warm: true });
      } catch {
        return; // uids or cgroups exhausted: runs go cold until a warm jail can be made again
      }
      if (jail.cgroup && !canRetune(jail.cgroup)) {
        this.discard(jail);
        this.active = 'cold';
        return;
      }
      this.warm.push(jail);
      void jail.ended.then(() => {
        const i = this.warm.indexOf(jail);
        if (i >= 0) {
          this.warm.splice(i, 1);
          void jail.release();
        }
      });
      setTimeout(() => this.refillWarm(), 5).unref();
    });
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
      for (const spare of this.sparesOf(z)) void spare.ended.then(() => spare.release());
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
        void this.forkSpare(z);
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

  /**
   * Has `z` fork children ahead of its next runs: SPARES_PER_ZYGOTE of them, one fork at a
   * time, so back-to-back runs never wait for a fork (a child needs ~10 ms before it is
   * ready on cgroup v1, most of it waiting for the kernel to move it into its cgroup).
   */
  private forkSpare(z: Zygote, workspaceMiB = this.limits.workspaceMiB): Promise<ZygoteChild | null> {
    const running = this.forkPromises.get(z);
    if (running) return running;
    if (this.closed || !z.isAlive) return Promise.resolve(null);
    if (workspaceMiB === this.limits.workspaceMiB && this.sparesOf(z).length >= SPARES_PER_ZYGOTE) return Promise.resolve(null);
    const p = this.forkSpareNow(z, workspaceMiB);
    this.forkPromises.set(z, p);
    void p.finally(() => {
      if (this.forkPromises.get(z) === p) this.forkPromises.delete(z);
      // keep forking until the zygote has its spares (default size only)
      if (workspaceMiB === this.limits.workspaceMiB) void p.then((child) => child && this.forkSpare(z));
    });
    return p;
  }

  private async forkSpareNow(z: Zygote, workspaceMiB: number): Promise<ZygoteChild | null> {
    this.forking.add(z);
    try {
      const child = await z.fork({ workspaceMiB, memoryMiB: this.limits.memoryMiB, processes: this.limits.processes });
      if (this.closed) {
        this.discard(child);
        return null;
      }
      const list = this.sparesOf(z);
      list.push(child);
      void child.ended.then(() => {
        const i = list.indexOf(child);
        if (i >= 0) {
          list.splice(i, 1);
          void child.release();
        }
      });
      return child;
    } catch (error) {
      this.zygoteError = (error as Error).message;
      return null;
    } finally {
      this.forking.delete(z);
    }
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
      // A free zygote is forking its next child: waiting for it is cheaper than a cold jail.
      const pending = [...this.forkPromises.entries()].find(([z]) => !z.busy);
      if (pending) {
        if (noFreeSpare()) this.growZygotes();
        await pending[1];
        chosen = pick();
      }
    }
    if (!chosen && size !== this.limits.workspaceMiB) {
      // A workspace size the spares were not made with: a free zygote forks one for this
      // run (still a fresh jail, with the tmpfs sizes it asks for).
      const idle = this.zygotes.find((z) => !z.busy && z.isAlive);
      if (idle) {
        idle.busy = true;
        const child = await this.forkOnce(idle, size);
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
    try {
      if (child.cgroup) baseline = await retune(child.cgroup, { memoryBytes: limits.memoryMiB * MiB, pids: limits.processes + 1 });
    } catch {
      z.busy = false;
      this.claimed.delete(child);
      this.discard(child);
      void this.forkSpare(z);
      return null;
    }
    z.lastUsed = Date.now();
    void this.forkSpare(z); // replace the child just taken, while this run runs
    return {
      jail: child,
      baseline,
      done: () => {
        z.busy = false;
        z.lastUsed = Date.now();
        void this.forkSpare(z);
      },
    };
  }

  /** One child of a given workspace size, for one run (not kept as a spare). */
  private async forkOnce(z: Zygote, workspaceMiB: number): Promise<ZygoteChild | null> {
    await this.forkPromises.get(z)?.catch(() => null); // one fork at a time per zygote
    if (this.closed || !z.isAlive) return null;
    this.forking.add(z);
    try {
      return await z.fork({ workspaceMiB, memoryMiB: this.limits.memoryMiB, processes: this.limits.processes });
    } catch (error) {
      this.zygoteError = (error as Error).message;
      return null;
    } finally {
      this.forking.delete(z);
    }
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
    for (let i = 0; i < 500 && (this.zygotesStarting > 0 || this.forking.size > 0); i++) await new Promise((r) => setTimeout(r, 10));
    for (const z of this.zygotes.splice(0)) {
      z.stop();
      waits.push(z.ended);
    }
    for (const z of this.late.splice(0)) waits.push(z.ended);
    await Promise.allSettled(waits);
  }
}
