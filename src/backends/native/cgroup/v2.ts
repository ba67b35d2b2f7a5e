import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DRAIN_SLACK_BYTES, sameLimits, type CgroupBaseline, type CgroupLimits, type CgroupProvider, type CgroupStats, type JailCgroup } from './cgroups.js';
import { CgroupFiles, killPidsIn, listsNoPid, listsPid, removeDirs, removeTree, rmdirsEmpty, settles } from './files.js';

// cgroup v2: one unified hierarchy; where pybox may make it is cgroup-v2-subtree.ts.

export class V2Cgroup implements JailCgroup {
  private limits: CgroupLimits | null;
  private readonly files = new CgroupFiles();
  /** memory.peak was restarted through the kept read-write fd: stats() reads that one. */
  private peakResettable = false;

  constructor(
    private readonly dir: string,
    limits: CgroupLimits,
  ) {
    this.limits = { ...limits };
  }
  selfJoinFiles(): null {
    return null; // a self-move through cgroup.procs takes the same lock as attachAsync, but on the start-up path
  }
  holds(pid: number): boolean {
    return listsPid(join(this.dir, 'cgroup.procs'), pid);
  }
  isEmpty(): boolean {
    return listsNoPid(join(this.dir, 'cgroup.procs'));
  }
  async attachAsync(pids: number[]): Promise<void> {
    for (const pid of pids) await this.files.writeAsync(join(this.dir, 'cgroup.procs'), String(pid));
  }
  async retune(limits: CgroupLimits): Promise<CgroupBaseline> {
    const known = this.limits;
    this.limits = null;
    const f = this.files;
    if (!known || !sameLimits(known, limits)) {
      await f.writeAsync(join(this.dir, 'memory.max'), String(limits.memoryBytes));
      await f.writeAsync(join(this.dir, 'pids.max'), String(limits.pids));
    }
    this.limits = { ...limits };
    this.resetPeak();
    // v2 counters cannot be reset: all three are read as a baseline.
    return {
      cpuMs: (f.keyed(join(this.dir, 'cpu.stat'), 'usage_usec') ?? 0) / 1000,
      oomKills: f.keyed(join(this.dir, 'memory.events'), 'oom_kill') ?? 0,
      pidsMaxEvents: f.keyed(join(this.dir, 'pids.events'), 'max') ?? 0,
    };
  }
  destroyEmpty(): Promise<boolean> {
    this.files.closeAll();
    return rmdirsEmpty([this.dir]) ? Promise.resolve(true) : this.destroy();
  }
  /**
   * memory.peak counts from the cgroup's creation unless the kernel lets a writer restart it
   * (6.12+: for the fd written, which is the one stats() reads). False where it cannot.
   */
  private resetPeak(): boolean {
    try {
      this.files.write(join(this.dir, 'memory.peak'), 'reset', 'r+');
      this.peakResettable = true;
      return true;
    } catch {
      return false;
    }
  }
  private socketBytes(): number {
    return this.files.keyed(join(this.dir, 'memory.stat'), 'sock') ?? 0;
  }
  socketsReleased(): Promise<boolean> {
    return settles(() => this.socketBytes() === 0);
  }
  drain(): Promise<boolean> {
    const f = this.files;
    const current = join(this.dir, 'memory.current');
    const reclaim = join(this.dir, 'memory.reclaim');
    // v2 charges socket buffers to memory.current ("sock" in memory.stat) and to memory.max.
    return settles(async () => {
      const charged = f.number(current) ?? Infinity;
      if (charged > DRAIN_SLACK_BYTES && existsSync(reclaim)) await f.writeAsync(reclaim, String(charged)).catch(() => undefined); // EAGAIN: not all of it
      return (f.number(current) ?? Infinity) <= DRAIN_SLACK_BYTES && this.socketBytes() === 0;
    })
      .then((empty) => empty && this.resetPeak())
      .catch(() => false);
  }
  cpuUsageMs(): number | null {
    const us = this.files.keyed(`${this.dir}/cpu.stat`, 'usage_usec');
    return us === null ? null : us / 1000;
  }
  // Read after every cell: paths joined by hand (path.join normalizes, and costs more than the read's own work).
  stats(): CgroupStats {
    const f = this.files;
    return {
      cpuUsageMs: this.cpuUsageMs(),
      memoryPeakBytes: f.number(`${this.dir}/memory.peak`, this.peakResettable ? 'r+' : 'r'),
      oomKills: f.keyed(`${this.dir}/memory.events`, 'oom_kill') ?? 0,
      pidsMaxEvents: f.keyed(`${this.dir}/pids.events`, 'max') ?? 0,
    };
  }
  killAll(): void {
    try {
      writeFileSync(join(this.dir, 'cgroup.kill'), '1');
    } catch {
      killPidsIn(join(this.dir, 'cgroup.procs'));
    }
  }
  destroy(): Promise<boolean> {
    this.files.closeAll();
    return removeDirs([this.dir], [join(this.dir, 'cgroup.procs')]);
  }
}

export class V2Provider implements CgroupProvider {
  readonly mode = 'v2' as const;
  readonly selfJoin = false;
  constructor(
    private readonly parent: string,
    private readonly release: () => void,
  ) {}
  dispose(): void {
    removeTree(this.parent);
    this.release();
  }
  get detail(): string {
    return `cgroup v2 under ${this.parent}`;
  }
  create(name: string, limits: CgroupLimits): JailCgroup {
    const dir = join(this.parent, name);
    mkdirSync(dir);
    writeFileSync(join(dir, 'memory.max'), String(limits.memoryBytes));
    const swap = join(dir, 'memory.swap.max');
    if (existsSync(swap)) writeFileSync(swap, '0');
    // An OOM kills the whole jail, not one process of it the program could survive.
    writeFileSync(join(dir, 'memory.oom.group'), '1');
    writeFileSync(join(dir, 'pids.max'), String(limits.pids));
    return new V2Cgroup(dir, limits);
  }
}

