import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Per-jail cgroups: memory (tmpfs, shm and pipe pages included), pids, and CPU
 * accounting, enforced by the kernel for the whole jail. cgroup v1 (separate
 * hierarchies per controller) and v2 (one unified hierarchy) are both handled.
 */
export type CgroupMode = 'v1' | 'v2' | 'none';

export interface CgroupLimits {
  memoryBytes: number;
  pids: number;
}

export interface CgroupStats {
  cpuUsageMs: number | null;
  memoryPeakBytes: number | null;
  oomKills: number;
  /** Times a fork failed on the pids limit (a counter: a reused cgroup is read against a baseline). */
  pidsMaxEvents: number;
}

/** Counters of a cgroup at a warm jail's claim, to count the run alone. */
export interface CgroupBaseline {
  cpuMs: number;
  oomKills: number;
  pidsMaxEvents: number;
}

export interface JailCgroup {
  /** Moves a process (and the descendants it forks afterwards) into the cgroup. */
  attach(pid: number): void;
  /**
   * The same on libuv's thread pool: on cgroup v1 a write to cgroup.procs waits for an
   * RCU grace period (~10 ms here) under the global cgroup_threadgroup_rwsem; done
   * synchronously it would stall every other run of this process for that long.
   */
  attachAsync(pids: number[]): Promise<void>;
  /**
   * Points the cgroup at new limits (a warm jail claimed by a run, or a reused cgroup)
   * and restarts what counters can be restarted; returns the baseline of the others.
   * Throws when a limit cannot be set (e.g. memory below what is already in use).
   */
  retune(limits: CgroupLimits): Promise<CgroupBaseline>;
  cpuUsageMs(): number | null;
  stats(): CgroupStats;
  /** SIGKILLs every process still in the cgroup. */
  killAll(): void;
  /** Removes the cgroup once empty; returns false when processes remain. */
  destroy(): Promise<boolean>;
  /** Removes a cgroup its owner knows to be empty: plain rmdirs, else destroy()'s kill-and-retry. */
  destroyEmpty(): Promise<boolean>;
}

/** Stats counted from a baseline (none: from the cgroup's creation). */
export function sinceBaseline(stats: CgroupStats, base: CgroupBaseline | null): CgroupStats {
  if (!base) return stats;
  return {
    cpuUsageMs: stats.cpuUsageMs === null ? null : Math.max(0, stats.cpuUsageMs - base.cpuMs),
    memoryPeakBytes: stats.memoryPeakBytes,
    oomKills: Math.max(0, stats.oomKills - base.oomKills),
    pidsMaxEvents: Math.max(0, stats.pidsMaxEvents - base.pidsMaxEvents),
  };
}

const sameLimits = (a: CgroupLimits, b: CgroupLimits): boolean => a.memoryBytes === b.memoryBytes && a.pids === b.pids;

export interface CgroupProvider {
  readonly mode: CgroupMode;
  readonly detail: string;
  create(name: string, limits: CgroupLimits): JailCgroup;
  /** Removes the per-process parent directories (empty by then). */
  dispose(): void;
}

interface MountEntry {
  mountPoint: string;
  fsType: string;
  superOptions: string[];
}

function parseMountInfo(text: string): MountEntry[] {
  const entries: MountEntry[] = [];
  for (const line of text.split('\n')) {
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const left = line.slice(0, sep).split(' ');
    const right = line.slice(sep + 3).split(' ');
    const mountPoint = left[4];
    const fsType = right[0];
    if (mountPoint === undefined || fsType === undefined) continue;
    entries.push({ mountPoint, fsType, superOptions: (right[2] ?? '').split(',') });
  }
  return entries;
}

/** Maps each controller ("" for v2) to our own cgroup path, from /proc/self/cgroup. */
function parseProcCgroup(text: string): Map<string, string> {
  const map = new Map<string, string>();
  for (const line of text.trim().split('\n')) {
    const first = line.indexOf(':');
    const second = line.indexOf(':', first + 1);
    if (first < 0 || second < 0) continue;
    const path = line.slice(second + 1);
    for (const c of line.slice(first + 1, second).split(',')) map.set(c, path);
  }
  return map;
}

const V1_CONTROLLERS = ['memory', 'pids', 'cpuacct'] as const;
type V1Controller = (typeof V1_CONTROLLERS)[number];

/** A cgroup file holding one number, or null when missing or not a number. */
export function readNumber(path: string): number | null {
  try {
    const value = Number(readFileSync(path, 'utf8').trim());
    return Number.isFinite(value) ? value : null;
  } catch {
    return null;
  }
}

/** The value of `key` in a cgroup file of `key value` lines, or null. */
export function readKeyed(path: string, key: string): number | null {
  try {
    for (const line of readFileSync(path, 'utf8').split('\n')) {
      const [k, v] = line.split(/\s+/);
      if (k === key && v !== undefined) return Number(v);
    }
  } catch {
    /* missing file: no value */
  }
  return null;
}

function killPidsIn(procsFile: string): number {
  let count = 0;
  let text = '';
  try {
    text = readFileSync(procsFile, 'utf8');
  } catch {
    return 0;
  }
  for (const line of text.split('\n')) {
    const pid = Number(line);
    if (!Number.isInteger(pid) || pid <= 1) continue;
    try {
      process.kill(pid, 'SIGKILL');
      count++;
    } catch {
      /* already gone */
    }
  }
  return count;
}

function tryRmdir(dir: string): void {
  try {
    rmdirSync(dir);
  } catch {
    /* busy or already gone */
  }
}

async function removeDirs(dirs: string[], procsFiles: string[]): Promise<boolean> {
  for (let attempt = 0; attempt < 200; attempt++) {
    for (const f of procsFiles) killPidsIn(f);
    let remaining = 0;
    for (const dir of dirs) {
      if (!existsSync(dir)) continue;
      try {
        rmdirSync(dir);
      } catch {
        remaining++;
      }
    }
    if (remaining === 0) return true;
    await new Promise((r) => setTimeout(r, attempt < 20 ? 1 : 10));
  }
  return false;
}

/** Removes the given directories, all known empty; false when one is still busy. */
function rmdirsEmpty(dirs: string[]): boolean {
  try {
    for (const dir of dirs) rmdirSync(dir);
    return true;
  } catch {
    return false;
  }
}

class V1Cgroup implements JailCgroup {
  /** The limits last written (known: a retune to the same ones writes nothing). */
  private limits: CgroupLimits | null;

  constructor(
    private readonly dirs: Record<V1Controller, string>,
    limits: CgroupLimits,
  ) {
    this.limits = { ...limits };
  }

  attach(pid: number): void {
    for (const c of V1_CONTROLLERS) writeFileSync(join(this.dirs[c], 'cgroup.procs'), String(pid));
  }
  async attachAsync(pids: number[]): Promise<void> {
    for (const pid of pids) {
      for (const c of V1_CONTROLLERS) await writeFile(join(this.dirs[c], 'cgroup.procs'), String(pid));
    }
  }
  async retune(limits: CgroupLimits): Promise<CgroupBaseline> {
    const { memory, pids, cpuacct } = this.dirs;
    const known = this.limits;
    this.limits = null; // unknown until every write below has succeeded
    if (!known || !sameLimits(known, limits)) {
      const mem = String(limits.memoryBytes);
      const current = readNumber(join(memory, 'memory.limit_in_bytes'));
      const memsw = join(memory, 'memory.memsw.limit_in_bytes');
      const hasMemsw = readNumber(memsw) !== null;
      if (current !== limits.memoryBytes) {
        // memsw must stay >= the memory limit: raise in the order that keeps that true.
        if (current !== null && limits.memoryBytes > current) {
          if (hasMemsw) await writeFile(memsw, mem);
          await writeFile(join(memory, 'memory.limit_in_bytes'), mem);
        } else {
          await writeFile(join(memory, 'memory.limit_in_bytes'), mem);
          if (hasMemsw) await writeFile(memsw, mem);
        }
      }
      if (readNumber(join(pids, 'pids.max')) !== limits.pids) await writeFile(join(pids, 'pids.max'), String(limits.pids));
    }
    // Plain counter resets: quick, never wait on the kernel, so no thread-pool round trip.
    writeFileSync(join(cpuacct, 'cpuacct.usage'), '0');
    writeFileSync(join(memory, 'memory.max_usage_in_bytes'), '0');
    this.limits = { ...limits };
    return {
      cpuMs: 0,
      oomKills: readKeyed(join(memory, 'memory.oom_control'), 'oom_kill') ?? 0,
      pidsMaxEvents: readKeyed(join(pids, 'pids.events'), 'max') ?? 0,
    };
  }
  destroyEmpty(): Promise<boolean> {
    return rmdirsEmpty(V1_CONTROLLERS.map((c) => this.dirs[c])) ? Promise.resolve(true) : this.destroy();
  }
  cpuUsageMs(): number | null {
    const ns = readNumber(join(this.dirs.cpuacct, 'cpuacct.usage'));
    return ns === null ? null : ns / 1e6;
  }
  stats(): CgroupStats {
    return {
      cpuUsageMs: this.cpuUsageMs(),
      memoryPeakBytes: readNumber(join(this.dirs.memory, 'memory.max_usage_in_bytes')),
      oomKills: readKeyed(join(this.dirs.memory, 'memory.oom_control'), 'oom_kill') ?? 0,
      pidsMaxEvents: readKeyed(join(this.dirs.pids, 'pids.events'), 'max') ?? 0,
    };
  }
  killAll(): void {
    for (const c of V1_CONTROLLERS) killPidsIn(join(this.dirs[c], 'cgroup.procs'));
  }
  destroy(): Promise<boolean> {
    const dirs = V1_CONTROLLERS.map((c) => this.dirs[c]);
    return removeDirs(dirs, dirs.map((d) => join(d, 'cgroup.procs')));
  }
}

class V1Provider implements CgroupProvider {
  readonly mode = 'v1' as const;
  constructor(private readonly parents: Record<V1Controller, string>) {}
  dispose(): void {
    for (const c of V1_CONTROLLERS) tryRmdir(this.parents[c]);
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
    return new V1Cgroup(dirs, limits);
  }
}

class V2Cgroup implements JailCgroup {
  private limits: CgroupLimits | null;

  constructor(
    private readonly dir: string,
    limits: CgroupLimits,
  ) {
    this.limits = { ...limits };
  }
  attach(pid: number): void {
    writeFileSync(join(this.dir, 'cgroup.procs'), String(pid));
  }
  async attachAsync(pids: number[]): Promise<void> {
    for (const pid of pids) await writeFile(join(this.dir, 'cgroup.procs'), String(pid));
  }
  async retune(limits: CgroupLimits): Promise<CgroupBaseline> {
    const known = this.limits;
    this.limits = null;
    if (!known || !sameLimits(known, limits)) {
      await writeFile(join(this.dir, 'memory.max'), String(limits.memoryBytes));
      await writeFile(join(this.dir, 'pids.max'), String(limits.pids));
    }
    this.limits = { ...limits };
    // v2 counters cannot be reset: all three are read as a baseline.
    return {
      cpuMs: (readKeyed(join(this.dir, 'cpu.stat'), 'usage_usec') ?? 0) / 1000,
      oomKills: readKeyed(join(this.dir, 'memory.events'), 'oom_kill') ?? 0,
      pidsMaxEvents: readKeyed(join(this.dir, 'pids.events'), 'max') ?? 0,
    };
  }
  destroyEmpty(): Promise<boolean> {
    return rmdirsEmpty([this.dir]) ? Promise.resolve(true) : this.destroy();
  }
  cpuUsageMs(): number | null {
    const us = readKeyed(join(this.dir, 'cpu.stat'), 'usage_usec');
    return us === null ? null : us / 1000;
  }
  stats(): CgroupStats {
    return {
      cpuUsageMs: this.cpuUsageMs(),
      memoryPeakBytes: readNumber(join(this.dir, 'memory.peak')),
      oomKills: readKeyed(join(this.dir, 'memory.events'), 'oom_kill') ?? 0,
      pidsMaxEvents: readKeyed(join(this.dir, 'pids.events'), 'max') ?? 0,
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
    return removeDirs([this.dir], [join(this.dir, 'cgroup.procs')]);
  }
}

class V2Provider implements CgroupProvider {
  readonly mode = 'v2' as const;
  constructor(private readonly parent: string) {}
  dispose(): void {
    tryRmdir(this.parent);
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
    writeFileSync(join(dir, 'pids.max'), String(limits.pids));
    return new V2Cgroup(dir, limits);
  }
}

class NoCgroups implements CgroupProvider {
  readonly mode = 'none' as const;
  constructor(readonly detail: string) {}
  dispose(): void {}
  create(): JailCgroup {
    throw new Error('cgroups are not available');
  }
}

/**
 * A supervisor that died without cleaning up (SIGKILL, a crash) leaves `pybox-<pid>`
 * directories; its jails died with it (--die-with-parent), so they are empty or nearly so.
 */
function removeStaleParents(base: string): void {
  let entries: string[];
  try {
    entries = readdirSync(base);
  } catch {
    return;
  }
  for (const name of entries) {
    const pid = Number(/^pybox-(\d+)$/.exec(name)?.[1]);
    if (!pid || pid === process.pid || processAlive(pid)) continue;
    const parent = join(base, name);
    try {
      for (const jail of readdirSync(parent, { withFileTypes: true })) {
        if (jail.isDirectory()) {
          killPidsIn(join(parent, jail.name, 'cgroup.procs'));
          tryRmdir(join(parent, jail.name));
        }
      }
    } catch {
      /* raced with another cleaner */
    }
    tryRmdir(parent);
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Finds a place where this process may create per-jail cgroups, or explains why not.
 * The parent is `<our own cgroup>/pybox-<pid>` so limits set above us still apply.
 */
export function detectCgroups(prefix = `pybox-${process.pid}`): CgroupProvider {
  let mountinfo: string;
  let own: Map<string, string>;
  try {
    mountinfo = readFileSync('/proc/self/mountinfo', 'utf8');
    own = parseProcCgroup(readFileSync('/proc/self/cgroup', 'utf8'));
  } catch (error) {
    return new NoCgroups(`cannot read /proc/self cgroup info: ${String(error)}`);
  }
  const mounts = parseMountInfo(mountinfo);

  const v1: Partial<Record<V1Controller, string>> = {};
  for (const m of mounts) {
    if (m.fsType !== 'cgroup') continue;
    for (const c of V1_CONTROLLERS) {
      if (m.superOptions.includes(c) && v1[c] === undefined) v1[c] = m.mountPoint;
    }
  }
  if (V1_CONTROLLERS.every((c) => v1[c] !== undefined)) {
    const parents = {} as Record<V1Controller, string>;
    try {
      for (const c of V1_CONTROLLERS) {
        const base = join(v1[c] as string, own.get(c) ?? '/');
        removeStaleParents(base);
        parents[c] = join(base, prefix);
        mkdirSync(parents[c], { recursive: true });
      }
      return new V1Provider(parents);
    } catch (error) {
      return new NoCgroups(`cgroup v1 is mounted but not writable here (${(error as Error).message}); using rlimits`);
    }
  }

  const unified = mounts.find((m) => m.fsType === 'cgroup2');
  if (unified) {
    const base = join(unified.mountPoint, own.get('') ?? '/');
    const parent = join(base, prefix);
    try {
      const available = readFileSync(join(base, 'cgroup.controllers'), 'utf8').trim().split(/\s+/);
      if (!['memory', 'pids', 'cpu'].every((c) => available.includes(c))) {
        return new NoCgroups(`cgroup v2 at ${base} lacks the memory, pids or cpu controller; using rlimits`);
      }
      removeStaleParents(base);
      mkdirSync(parent, { recursive: true });
      writeFileSync(join(parent, 'cgroup.subtree_control'), '+memory +pids +cpu');
      return new V2Provider(parent);
    } catch (error) {
      return new NoCgroups(`cgroup v2 at ${base} is not delegated to us (${(error as Error).message}); using rlimits`);
    }
  }
  return new NoCgroups('no cgroup hierarchy with memory, pids and cpu accounting is mounted; using rlimits');
}

