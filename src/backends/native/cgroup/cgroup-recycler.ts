import { nextJailName, type CgroupBaseline, type CgroupLimits, type CgroupProvider, type JailCgroup } from './cgroups.js';

/** A cgroup handed to one jail: new (no baseline) or kept from a finished run. */
export interface TakenCgroup {
  name: string;
  cgroup: JailCgroup;
  /** Counters at the take, for a kept cgroup: the run is counted against them. */
  baseline: CgroupBaseline | null;
}

const live = new Set<CgroupRecycler>();

/** Names of the empty cgroups every open recycler keeps (they hold no run). */
export function keptCgroups(): string[] {
  return [...live].flatMap((r) => r.keptNames);
}

/**
 * Empty cgroups kept for the next jails, either given back by a finished run or made
 * ahead: making and removing a cgroup costs more than the rest of a run's bookkeeping
 * (three hierarchies on v1, ~0.5 ms). A kept cgroup holds no process and no memory of
 * its last run (drained); a run takes one retuned to its own limits and reads the
 * counters that cannot be reset against the baseline of its take. close() removes them all.
 */
export class CgroupRecycler {
  private readonly free: { name: string; cgroup: JailCgroup }[] = [];
  /** Names of the cgroups taken and not yet given back: a jail's, from its take until kept or removed. */
  readonly inUse = new Set<string>();
  /** Cgroups of finished jails on their way out, by name. */
  private readonly retiring = new Map<string, Promise<boolean>>();
  private closed = false;

  constructor(
    private readonly provider: CgroupProvider,
    private readonly kind: string,
    private readonly max = 8,
  ) {}

  get keptNames(): string[] {
    return [...this.free.map((f) => f.name), ...this.retiring.keys()];
  }

  /**
   * A kept cgroup retuned to `limits`, else a new one; in `inUse` from here on (every
   * cgroup is in one of the lists until it is gone). Throws when none can be made.
   */
  async take(limits: CgroupLimits): Promise<TakenCgroup> {
    for (let kept = this.free.pop(); kept; kept = this.free.pop()) {
      this.inUse.add(kept.name);
      try {
        return { ...kept, baseline: await kept.cgroup.retune(limits) };
      } catch {
        await kept.cgroup.destroy(); // e.g. cache charged to it above the new memory limit
        this.inUse.delete(kept.name);
      }
    }
    const name = nextJailName(this.kind);
    const cgroup = this.provider.create(name, limits);
    this.inUse.add(name);
    return { name, cgroup, baseline: null };
  }

  /** Makes one new cgroup ahead for the next take, off the path of a run. */
  prepare(limits: CgroupLimits): void {
    if (this.closed || this.free.length >= this.max) return;
    try {
      const name = nextJailName(this.kind);
      this.free.push({ name, cgroup: this.provider.create(name, limits) });
      live.add(this);
    } catch {
      /* the next take makes one itself, and says why if it cannot */
    }
  }

  /**
   * Keeps the cgroup of a finished jail once it is drained (nothing of the run still
   * charged to it), or removes it; false when it is not empty.
   */
  async giveBack(name: string, cgroup: JailCgroup): Promise<boolean> {
    const room = () => !this.closed && this.free.length < this.max;
    if (room() && cgroup.isEmpty() && (await cgroup.drain()) && room()) {
      this.free.push({ name, cgroup });
      live.add(this);
      this.inUse.delete(name);
      return true;
    }
    const gone = await cgroup.destroyEmpty();
    this.inUse.delete(name);
    return gone;
  }

  /**
   * Removes the cgroup of a finished jail in the background: a run's result need not wait
   * while the kernel takes a memory cgroup down (~0.3 ms on v1). Listed with the kept ones
   * until it is gone, and close() waits for it. Resolves true once it is removed.
   */
  retire(name: string, cgroup: JailCgroup): Promise<boolean> {
    live.add(this);
    const gone = cgroup.destroy().finally(() => this.retiring.delete(name));
    this.retiring.set(name, gone);
    this.inUse.delete(name);
    return gone;
  }

  /** Removes the kept cgroups and waits for the retiring ones; later ones given back are removed at once. */
  async close(): Promise<void> {
    this.closed = true;
    while (this.free.length > 0) {
      await (this.free[0] as { cgroup: JailCgroup }).cgroup.destroy(); // listed until it is gone
      this.free.shift();
    }
    await Promise.all(this.retiring.values());
    live.delete(this);
  }
}
