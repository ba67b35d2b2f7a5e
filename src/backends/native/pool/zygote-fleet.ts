import type { Limits } from '../../../core/limits.js';
import type { PoolOptions } from '../../../core/options.js';
import { withDescendants } from '../../../host/processes.js';
import { jailCgroupLimits, sameLimits, type CgroupBaseline, type CgroupLimits } from '../cgroup/cgroups.js';
import type { JailEnvironment, LiveJail } from '../jail/live-jail.js';
import { Zygote, type ZygoteChild } from '../zygote/zygote.js';
import { jailsInventory, type IdleJails, type Inventory } from './inventory.js';

/** How long a claim waits for a spare that is not warm yet before it goes elsewhere. */
const WARM_WAIT_MS = 5000;
/** Children each zygote keeps forked ahead of its next runs. */
const SPARES_PER_ZYGOTE = 3;
/** Children a zygote holds at most: its spares, the run it serves and one finishing (see CGROUP_SLOTS). */
const JAILS_PER_ZYGOTE = SPARES_PER_ZYGOTE + 2;

/** A jail claimed for one run, with its cgroup's counters at the claim; `done` after the run. */
export interface Claimed {
  jail: LiveJail;
  baseline: CgroupBaseline | null;
  done: () => void;
}

/**
 * The zygotes of one Sandbox and the children each keeps forked ahead of its runs
 * (spares): growing to `max` under load, one run at a time per zygote, readied spares,
 * trimming idle zygotes.
 */
export class ZygoteFleet {
  readonly zygotes: Zygote[] = [];
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
  /** Jails whose run returned, until their pid 1 and namespaces are gone and they are released. */
  private readonly finishing = new Set<Promise<void>>();
  /** How many of those each zygote has. */
  private readonly finishingOf = new Map<Zygote, number>();
  /** The zygote of each child claimed for a run. */
  private readonly owner = new WeakMap<LiveJail, Zygote>();
  /** Zygotes that came up after close; stopped at once. */
  private readonly late: Zygote[] = [];
  /** Zygotes stopped or dead whose processes may not all be gone yet. */
  private readonly leaving = new Set<Zygote>();
  /** Why the last zygote could not start or fork, if one could not. */
  error: string | null = null;

  constructor(
    private readonly env: JailEnvironment,
    private readonly limits: Readonly<Limits>,
    private readonly options: Required<PoolOptions>,
    private readonly ledger: IdleJails,
    private readonly isClosed: () => boolean,
  ) {}

  /** Starts the first zygote and its spares, then grows to `size` in the background. Throws when none can run. */
  async start(): Promise<void> {
    try {
      const first = await Zygote.start(this.env);
      this.adoptZygote(first);
      await this.topUp(first);
      if (this.sparesOf(first).length === 0) throw new Error(this.error ?? 'the zygote could not fork a child');
    } catch (error) {
      this.error = (error as Error).message;
      for (const z of this.zygotes.splice(0)) z.stop();
      throw error;
    }
    for (let i = this.zygotes.length; i < this.options.size; i++) this.grow();
  }

  /** Every zygote's spares. */
  private get allSpares(): ZygoteChild[] {
    return [...this.spares.values()].flat();
  }

  /** Spares ready for a run now. */
  get spareCount(): number {
    return this.allSpares.length;
  }

  /** The zygotes, their spares and everything under them, except the runs they serve (`running`). */
  inventory(running: Inventory): Inventory {
    const inv = jailsInventory(this.allSpares);
    const runningPids = new Set(running.pids);
    const runningCgroups = new Set(running.cgroups);
    for (const z of [...this.zygotes, ...this.late, ...this.leaving]) {
      for (const root of z.ownPids) inv.pids.push(...withDescendants(root).filter((p) => !runningPids.has(p)));
      inv.cgroups.push(...[...z.childCgroups].filter((c) => !runningCgroups.has(c)));
    }
    return inv;
  }

  private adoptZygote(z: Zygote): void {
    this.zygotes.push(z);
    void z.ended.then(() => {
      const i = this.zygotes.indexOf(z);
      if (i >= 0) this.zygotes.splice(i, 1);
      this.leaving.delete(z);
      for (const spare of this.sparesOf(z)) {
        this.ledger.ending.add(spare);
        void spare.ended.then(() => spare.release()).finally(() => this.ledger.ending.delete(spare));
      }
      this.spares.delete(z);
    });
  }

  grow(): void {
    if (this.isClosed() || this.zygotes.length + this.zygotesStarting >= this.options.max) return;
    this.zygotesStarting++;
    Zygote.start(this.env).then(
      (z) => {
        this.zygotesStarting--;
        if (this.isClosed()) {
          this.late.push(z);
          return z.stop();
        }
        this.adoptZygote(z);
        void this.topUp(z);
      },
      (error: Error) => {
        this.zygotesStarting--;
        this.error = error.message;
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
   * A jail whose run has returned while its pid 1 and namespaces are still on their way
   * out: released once they are gone. Until then it is listed (its zygote's inventory),
   * counted against its zygote's budget, and waited for by close().
   */
  finish(jail: LiveJail): void {
    const z = this.owner.get(jail) ?? null;
    const over = jail.ended
      .then(() => jail.release())
      .finally(() => {
        this.finishing.delete(over);
        if (z) {
          this.finishingOf.set(z, (this.finishingOf.get(z) ?? 1) - 1);
          void this.topUp(z);
        }
      });
    this.finishing.add(over);
    if (z) this.finishingOf.set(z, (this.finishingOf.get(z) ?? 0) + 1);
  }

  /**
   * Has `z` fork children ahead of its next runs until it has SPARES_PER_ZYGOTE of them,
   * ready or in flight. Forks run in parallel: most of a child's set-up time is the
   * kernel moving it into its cgroup (an RCU grace period on cgroup v1), which parallel
   * moves share. Resolves with the first child of this round (for start-up).
   */
  private topUp(z: Zygote): Promise<ZygoteChild | null> {
    const launched: Promise<ZygoteChild | null>[] = [];
    const ahead = () => this.sparesOf(z).length + this.inflightOf(z).size;
    const held = () => ahead() + (z.busy ? 1 : 0) + (this.finishingOf.get(z) ?? 0);
    while (!this.isClosed() && z.isAlive && ahead() < SPARES_PER_ZYGOTE && held() < JAILS_PER_ZYGOTE) {
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
      if (this.isClosed()) {
        this.ledger.discard(child);
        return null;
      }
      if (!spare) return child;
      const list = this.sparesOf(z);
      list.push(child);
      this.pace();
      void child.warm.then(() => this.readySpare(z, child, list));
      void child.ended.then(() => {
        const i = list.indexOf(child);
        if (i >= 0) {
          list.splice(i, 1);
          this.ledger.releaseIdle(child);
        }
      });
      return child;
    } catch (error) {
      this.error = (error as Error).message;
      return null;
    }
  }

  /**
   * What a claim would do first, done while the spare waits: the claim only sends the
   * request. A spare is idle once warm (G waits for its request, R for G), so its counters
   * stay where they are restarted here until its run.
   */
  private readySpare(z: Zygote, child: ZygoteChild, list: ZygoteChild[]): void {
    if (this.isClosed() || child.hasEnded || !child.cgroup || !list.includes(child)) return;
    if (!child.inCgroup()) {
      list.splice(list.indexOf(child), 1);
      return this.ledger.discard(child); // its pid 1 did not move itself in: no run goes there
    }
    const limits = jailCgroupLimits(this.limits, child.ownPids);
    this.readied.set(child, { limits, baseline: child.cgroup.retune(limits).catch(() => null) });
    child.promote();
    this.pace();
  }

  /**
   * Unready spares in the background while some zygote has a readied one for the next run
   * (a claim takes it first, whichever zygote holds it); at normal weight while none has,
   * when the next run would wait for them (background-group.ts). A claimed one is promoted
   * before the run waits for it.
   */
  private pace(): void {
    const spares = this.allSpares;
    const slack = spares.some((c) => this.readied.has(c));
    for (const c of spares) if (!this.readied.has(c)) c.setBackground(slack);
  }

  async claim(limits: Limits): Promise<Claimed | null> {
    // One run at a time per zygote: concurrent runs never share its uid (RLIMIT and
    // per-user kernel counters); more callers get more zygotes, up to `max`.
    const size = limits.workspaceMiB;
    // A readied spare of any free zygote first: one still warming up would make the run
    // wait for its set-up while another zygote's readied spare sits idle.
    const pick = (): { z: Zygote; child: ZygoteChild } | null => {
      for (const readiedOnly of [true, false]) {
        for (const z of this.zygotes) {
          if (z.busy || !z.isAlive) continue;
          const list = this.sparesOf(z);
          const i = list.findIndex((c) => c.workspaceMiB === size && !c.hasEnded && (!readiedOnly || this.readied.has(c)));
          if (i >= 0) return { z, child: list.splice(i, 1)[0] as ZygoteChild };
        }
      }
      return null;
    };
    const noFreeSpare = () => this.zygotes.every((z) => z.busy || this.sparesOf(z).length === 0);
    let chosen = pick();
    if (!chosen && size === this.limits.workspaceMiB) {
      // A free zygote is forking its next children: waiting for one is cheaper than a cold jail.
      const pending = this.zygotes.find((z) => !z.busy && this.inflightOf(z).size > 0);
      if (pending) {
        if (noFreeSpare()) this.grow();
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
      if (noFreeSpare()) this.grow();
      return null;
    }
    const { z, child } = chosen;
    z.busy = true;
    this.pace();
    this.owner.set(child, z);
    this.ledger.claimed.add(child);
    let baseline: CgroupBaseline | null = null;
    const wanted = jailCgroupLimits(limits, child.ownPids);
    const ready = this.readied.get(child);
    try {
      // Claimed before it was readied: its pid 1 may still be moving itself into its cgroup
      // (its program reads a request only once warm anyway), and must be in before a run.
      if (!ready) child.promote(); // normal weight before it is warm: the run waits for it
      if (!ready && !((await warmOrGone(child)) && child.inCgroup())) throw new Error('not in its cgroup');
      const early = ready && sameLimits(ready.limits, wanted) ? await ready.baseline : null;
      if (child.cgroup) baseline = early ?? (await child.cgroup.retune(wanted));
    } catch {
      z.busy = false;
      this.ledger.claimed.delete(child);
      this.ledger.discard(child);
      void this.topUp(z);
      return null;
    }
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

  /** Stops zygotes idle for `idleMs`, keeping at least max(1, min). */
  trim(now: number): void {
    const idle = this.zygotes.filter((z) => !z.busy && now - z.lastUsed >= this.options.idleMs);
    for (const z of idle) {
      if (this.zygotes.length <= Math.max(1, this.options.min)) break;
      const i = this.zygotes.indexOf(z);
      this.zygotes.splice(i, 1);
      this.leaving.add(z);
      z.stop(); // its spares die with it (its namespace); adoptZygote's handler releases them
    }
  }

  /** Kills every spare and zygote (the caller has set closed); `waits` gets what to wait for. */
  async close(waits: Promise<unknown>[]): Promise<void> {
    for (const child of this.allSpares) {
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
    waits.push(...this.finishing);
  }
}

/** Whether a spare got warm (true) or ended, or took implausibly long (false). */
function warmOrGone(child: ZygoteChild): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), WARM_WAIT_MS)));
  return Promise.race([child.warm.then(() => true), child.ended.then(() => false), late]).finally(() => clearTimeout(timer));
}
