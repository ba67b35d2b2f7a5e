import { chownSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DRAIN_SLACK_BYTES, sameLimits, socketBufferBytes, type CgroupBaseline, type CgroupLimits, type CgroupProvider, type CgroupStats, type JailCgroup } from './cgroups.js';
import { CgroupFiles, killPidsIn, listsNoPid, listsPid, removeDirs, removeTree, rmdirsEmpty, settles } from './files.js';

// cgroup v1: one hierarchy per controller (memory, pids, cpuacct), each jail a directory in each.

export const V1_CONTROLLERS = ['memory', 'pids', 'cpuacct'] as const;
/** v1's socket-buffer limit (see socketBufferBytes). */
const TCP_LIMIT = 'memory.kmem.tcp.limit_in_bytes';
export type V1Controller = (typeof V1_CONTROLLERS)[number];

export class V1Cgroup implements JailCgroup {
  /** The limits last written (known: a retune to the same ones writes nothing). */
  private limits: CgroupLimits | null;
  private readonly files = new CgroupFiles();

  constructor(
    private readonly dirs: Record<V1Controller, string>,
    limits: CgroupLimits,
  ) {
    this.limits = { ...limits };
  }

  selfJoinFiles(uid: number | null): string[] {
    const files = V1_CONTROLLERS.map((c) => join(this.dirs[c], 'tasks'));
    if (uid !== null) for (const f of files) chownSync(f, uid, uid);
    return files;
  }
  holds(pid: number): boolean {
    return V1_CONTROLLERS.every((c) => listsPid(join(this.dirs[c], 'cgroup.procs'), pid));
  }
  isEmpty(): boolean {
    return V1_CONTROLLERS.every((c) => listsNoPid(join(this.dirs[c], 'cgroup.procs')));
  }
  async attachAsync(pids: number[]): Promise<void> {
    for (const pid of pids) {
      for (const c of V1_CONTROLLERS) await this.files.writeAsync(join(this.dirs[c], 'cgroup.procs'), String(pid));
    }
  }
  async retune(limits: CgroupLimits): Promise<CgroupBaseline> {
    const { memory, pids, cpuacct } = this.dirs;
    const f = this.files;
    const known = this.limits;
    this.limits = null; // unknown until every write below has succeeded
    if (!known || !sameLimits(known, limits)) {
      const mem = String(limits.memoryBytes);
      const limitFile = join(memory, 'memory.limit_in_bytes');
      const current = f.number(limitFile);
      const memsw = join(memory, 'memory.memsw.limit_in_bytes');
      const hasMemsw = existsSync(memsw);
      if (current !== limits.memoryBytes) {
        // memsw must stay >= the memory limit: raise in the order that keeps that true.
        if (current !== null && limits.memoryBytes > current) {
          if (hasMemsw) await f.writeAsync(memsw, mem);
          await f.writeAsync(limitFile, mem);
        } else {
          await f.writeAsync(limitFile, mem);
          if (hasMemsw) await f.writeAsync(memsw, mem);
        }
      }
      const pidsMax = join(pids, 'pids.max');
      if (f.number(pidsMax) !== limits.pids) await f.writeAsync(pidsMax, String(limits.pids));
      const tcp = join(memory, TCP_LIMIT);
      if (existsSync(tcp)) await f.writeAsync(tcp, String(socketBufferBytes(limits)));
    }
    // Plain counter resets: quick, never wait on the kernel, so no thread-pool round trip.
    f.write(join(cpuacct, 'cpuacct.usage'), '0');
    f.write(join(memory, 'memory.max_usage_in_bytes'), '0');
    this.limits = { ...limits };
    return {
      cpuMs: 0,
      oomKills: f.keyed(join(memory, 'memory.oom_control'), 'oom_kill') ?? 0,
      pidsMaxEvents: f.keyed(join(pids, 'pids.events'), 'max') ?? 0,
    };
  }
  destroyEmpty(): Promise<boolean> {
    this.files.closeAll();
    return rmdirsEmpty(V1_CONTROLLERS.map((c) => this.dirs[c])) ? Promise.resolve(true) : this.destroy();
  }
  private socketBytes(): number {
    return this.files.number(join(this.dirs.memory, 'memory.kmem.tcp.usage_in_bytes')) ?? 0;
  }
  socketsReleased(): Promise<boolean> {
    return settles(() => this.socketBytes() === 0);
  }
  drain(): Promise<boolean> {
    const f = this.files;
    const usage = join(this.dirs.memory, 'memory.usage_in_bytes');
    // force_empty reclaims all it can, synchronously (lru pages and memcg-aware slab):
    // on the thread pool, and only when something is there to reclaim.
    return settles(async () => {
      if ((f.number(usage) ?? Infinity) > DRAIN_SLACK_BYTES) await f.writeAsync(join(this.dirs.memory, 'memory.force_empty'), '0');
      return (f.number(usage) ?? Infinity) <= DRAIN_SLACK_BYTES && this.socketBytes() === 0;
    }).catch(() => false);
  }
  cpuUsageMs(): number | null {
    const ns = this.files.number(`${this.dirs.cpuacct}/cpuacct.usage`);
    return ns === null ? null : ns / 1e6;
  }
  // Read after every cell: paths joined by hand (path.join normalizes, and costs more than the read's own work).
  stats(): CgroupStats {
    const f = this.files;
    return {
      cpuUsageMs: this.cpuUsageMs(),
      memoryPeakBytes: f.number(`${this.dirs.memory}/memory.max_usage_in_bytes`),
      oomKills: f.keyed(`${this.dirs.memory}/memory.oom_control`, 'oom_kill') ?? 0,
      pidsMaxEvents: f.keyed(`${this.dirs.pids}/pids.events`, 'max') ?? 0,
    };
  }
  killAll(): void {
    for (const c of V1_CONTROLLERS) killPidsIn(join(this.dirs[c], 'cgroup.procs'));
  }
  destroy(): Promise<boolean> {
    this.files.closeAll();
    const dirs = V1_CONTROLLERS.map((c) => this.dirs[c]);
    return removeDirs(dirs, dirs.map((d) => join(d, 'cgroup.procs')));
  }
}

export class V1Provider implements CgroupProvider {
  readonly mode = 'v1' as const;
  readonly selfJoin = true;
  constructor(private readonly parents: Record<V1Controller, string>) {}
  dispose(): void {
    for (const c of V1_CONTROLLERS) removeTree(this.parents[c]);
  }
  get detail(): string {
    return `cgroup v1 under ${this.parents.memory}`;
  }
  create(name: string, limits: CgroupLimits): JailCgroup {
    const dirs = {} as Record<V1Controller, string>;
    for (const c of V1_CONTROLLERS) {
      dirs[c] = join(this.parents[c], name);
      mkdirSync(dirs[c]);
    }
    const mem = String(limits.memoryBytes);
    writeFileSync(join(dirs.memory, 'memory.limit_in_bytes'), mem);
    const memsw = join(dirs.memory, 'memory.memsw.limit_in_bytes');
    if (existsSync(memsw)) writeFileSync(memsw, mem);
    writeFileSync(join(dirs.pids, 'pids.max'), String(limits.pids));
    // Arms socket-buffer accounting: only sockets made after this are charged, so before any process joins.
    const tcp = join(dirs.memory, TCP_LIMIT);
    if (existsSync(tcp)) writeFileSync(tcp, String(socketBufferBytes(limits)));
    return new V1Cgroup(dirs, limits);
  }
}

