import { chownSync, closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, rmdirSync, write, writeFileSync, writeSync } from 'node:fs';
import { rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import { enableControllers, givenV2Subtree, ownV2Subtree } from './cgroup-v2-subtree.js';
import { processAlive } from '../../../host/processes.js';

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
   * Files a process writes "0" into to move itself in, before it execs the jail: the jail
   * is then born inside its cgroup and nothing needs moving. null where attach is as good.
   * On v1 these are each hierarchy's `tasks`: a thread moving itself skips the global
   * lock whose write side waits for an RCU grace period (a write to cgroup.procs takes
   * it, ~1-10 ms). `uid`, the jail's host uid, is given write access to them: the writer
   * runs as that uid. Nothing in a jail sees /sys.
   */
  selfJoinFiles(uid: number | null): string[] | null;
  /** Whether a process is in this cgroup (in every hierarchy). */
  holds(pid: number): boolean;
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
  /** No process is in it (in any hierarchy). */
  isEmpty(): boolean;
  /**
   * Readies a cgroup with no process left for another run: reclaims what the last one left
   * charged (page cache, dentries, tmpfs pages) and waits, briefly, for what the kernel frees
   * after the run's processes are gone (socket buffers, unix-socket garbage). True when its
   * charge is then back under DRAIN_SLACK_BYTES with no socket memory, and its peak counter
   * can be restarted; false: retire it.
   */
  drain(): Promise<boolean>;
  /**
   * Resolves once no socket memory is charged to it (bounded wait; false if some still is):
   * a run's sockets, and with them its network namespace, outlive its processes while the
   * kernel tears them down or collects unix-socket garbage holding them.
   */
  socketsReleased(): Promise<boolean>;
}

/**
 * What an empty cgroup may keep charged and still serve another run: kernel objects the
 * reclaim cannot free at once. A run's peak starts from what it holds.
 */
export const DRAIN_SLACK_BYTES = 2 * 1024 * 1024;
/** How long drain() waits for the kernel to free what a finished run held (bounded polling: no event says so). */
const DRAIN_WAITS_MS = [0, 1, 2, 4, 8, 16, 32, 64, 128];

/**
 * Socket buffers a jail may hold (cgroup v1's `memory.kmem.tcp`, which this kernel also
 * charges UDP to), on top of its memory limit: a quarter of it. Unarmed, v1 charges socket
 * buffers to nothing and only the host-wide tcp_mem/udp_mem stop them. v2 charges them to
 * memory.max itself.
 */
export function socketBufferBytes(limits: CgroupLimits): number {
  return Math.floor(limits.memoryBytes / 4 / 4096) * 4096;
}

/** Polls `settled` until it holds or DRAIN_WAITS_MS runs out. */
async function settles(settled: () => Promise<boolean> | boolean): Promise<boolean> {
  for (const ms of DRAIN_WAITS_MS) {
    if (ms > 0) await new Promise((r) => setTimeout(r, ms));
    if (await settled()) return true;
  }
  return false;
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

/** A jail's cgroup limits: its program's memory, and its program's processes plus the jail's own (`ownPids`). */
export function jailCgroupLimits(limits: { memoryMiB: number; processes: number }, ownPids: number): CgroupLimits {
  return { memoryBytes: limits.memoryMiB * 1024 * 1024, pids: limits.processes + ownPids };
}

export const sameLimits = (a: CgroupLimits, b: CgroupLimits): boolean => a.memoryBytes === b.memoryBytes && a.pids === b.pids;

export interface CgroupProvider {
  readonly mode: CgroupMode;
  readonly detail: string;
  /** Its cgroups give selfJoinFiles: a jail can be born inside. */
  readonly selfJoin: boolean;
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
/** v1's socket-buffer limit (see socketBufferBytes). */
const TCP_LIMIT = 'memory.kmem.tcp.limit_in_bytes';
type V1Controller = (typeof V1_CONTROLLERS)[number];

function parseNumber(text: string | null): number | null {
  if (text === null) return null;
  const value = Number(text.trim());
  return Number.isFinite(value) ? value : null;
}

function parseKeyed(text: string | null, key: string): number | null {
  for (const line of (text ?? '').split('\n')) {
    const [k, v] = line.split(/\s+/);
    if (k === key && v !== undefined) return Number(v);
  }
  return null;
}

type FileMode = 'r' | 'w' | 'r+';

/**
 * The files of one cgroup, kept open: a cgroup reused run after run reads its counters and
 * moves processes in every time, and an open() on cgroupfs costs several times the read.
 * Reads and writes are at offset 0 (cgroup files are regenerated on each read).
 */
class CgroupFiles {
  private readonly fds = new Map<string, number>();
  private static readonly buffer = Buffer.alloc(4096);

  private fd(path: string, mode: FileMode): number {
    const key = `${mode}${path}`;
    let fd = this.fds.get(key);
    if (fd === undefined) {
      fd = openSync(path, mode);
      this.fds.set(key, fd);
    }
    return fd;
  }
  read(path: string, mode: 'r' | 'r+' = 'r'): string | null {
    try {
      const n = readSync(this.fd(path, mode), CgroupFiles.buffer, 0, CgroupFiles.buffer.length, 0);
      return CgroupFiles.buffer.toString('utf8', 0, n);
    } catch {
      return null;
    }
  }
  number(path: string, mode: 'r' | 'r+' = 'r'): number | null {
    return parseNumber(this.read(path, mode));
  }
  keyed(path: string, key: string): number | null {
    return parseKeyed(this.read(path), key);
  }
  write(path: string, value: string, mode: 'w' | 'r+' = 'w'): void {
    writeSync(this.fd(path, mode), value, 0);
  }
  /** On libuv's thread pool: some writes wait on the kernel (see attachAsync). */
  writeAsync(path: string, value: string): Promise<void> {
    return new Promise((resolve, reject) => {
      let fd: number;
      try {
        fd = this.fd(path, 'w');
      } catch (error) {
        return reject(error as Error);
      }
      write(fd, value, 0, 'utf8', (error) => (error ? reject(error) : resolve()));
    });
  }
  closeAll(): void {
    for (const fd of this.fds.values()) {
      try {
        closeSync(fd);
      } catch {
        /* closed */
      }
    }
    this.fds.clear();
  }
}

let jailCounter = 0;

/** A cgroup (and jail) name unique on this host: kind, our pid, a counter. */
export function nextJailName(kind: string): string {
  return `${kind}-${process.pid}-${++jailCounter}`;
}

/**
 * The pids a cgroup.procs file lists, or null when it cannot be read. Always a fresh open:
 * on v1 an open file keeps serving the list it built first for a while (the pidlist
 * cache), so a kept-open fd could show a stale one.
 */
function procsOf(procsFile: string): number[] | null {
  try {
    return readFileSync(procsFile, 'utf8').split('\n').filter(Boolean).map(Number);
  } catch {
    return null;
  }
}

const listsNoPid = (procsFile: string): boolean => procsOf(procsFile)?.length === 0;
const listsPid = (procsFile: string, pid: number): boolean => procsOf(procsFile)?.includes(pid) ?? false;

function killPidsIn(procsFile: string): number {
  let count = 0;
  for (const pid of procsOf(procsFile) ?? []) {
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

/** At exit: our parent cgroup and whatever empty cgroup is still under it (kept ones of a Sandbox never closed). */
function removeTree(parent: string): void {
  try {
    for (const entry of readdirSync(parent, { withFileTypes: true })) if (entry.isDirectory()) tryRmdir(join(parent, entry.name));
  } catch {
    /* gone */
  }
  tryRmdir(parent);
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
    // All at once on libuv's pool: removing a v1 memory cgroup that held a run takes
    // ~0.1-0.2 ms of kernel work (its charges are moved to the parent).
    const gone = await Promise.all(dirs.map((d) => rmdir(d).then(() => true, (e: NodeJS.ErrnoException) => e.code === 'ENOENT')));
    if (gone.every(Boolean)) return true;
    for (const f of procsFiles) killPidsIn(f);
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
  private readonly files = new CgroupFiles();

  constructor(
    private readonly dirs: Record<V1Controller, string>,
    limits: CgroupLimits,
  ) {
    this.limits = { ...limits };
  }

  attach(pid: number): void {
    for (const c of V1_CONTROLLERS) writeFileSync(join(this.dirs[c], 'cgroup.procs'), String(pid));
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
    const ns = this.files.number(join(this.dirs.cpuacct, 'cpuacct.usage'));
    return ns === null ? null : ns / 1e6;
  }
  stats(): CgroupStats {
    const f = this.files;
    return {
      cpuUsageMs: this.cpuUsageMs(),
      memoryPeakBytes: f.number(join(this.dirs.memory, 'memory.max_usage_in_bytes')),
      oomKills: f.keyed(join(this.dirs.memory, 'memory.oom_control'), 'oom_kill') ?? 0,
      pidsMaxEvents: f.keyed(join(this.dirs.pids, 'pids.events'), 'max') ?? 0,
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

class V1Provider implements CgroupProvider {
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

class V2Cgroup implements JailCgroup {
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
  attach(pid: number): void {
    writeFileSync(join(this.dir, 'cgroup.procs'), String(pid));
  }
  selfJoinFiles(): null {
    return null; // a self-move through cgroup.procs takes the same lock as attach, but on the start-up path
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
    const us = this.files.keyed(join(this.dir, 'cpu.stat'), 'usage_usec');
    return us === null ? null : us / 1000;
  }
  stats(): CgroupStats {
    const f = this.files;
    return {
      cpuUsageMs: this.cpuUsageMs(),
      memoryPeakBytes: f.number(join(this.dir, 'memory.peak'), this.peakResettable ? 'r+' : 'r'),
      oomKills: f.keyed(join(this.dir, 'memory.events'), 'oom_kill') ?? 0,
      pidsMaxEvents: f.keyed(join(this.dir, 'pids.events'), 'max') ?? 0,
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

class V2Provider implements CgroupProvider {
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

class NoCgroups implements CgroupProvider {
  readonly mode = 'none' as const;
  readonly selfJoin = false;
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
    const pid = Number(/^(?:pybox|supervisor)-(\d+)$/.exec(name)?.[1]);
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


/**
 * Finds a place where this process may create per-jail cgroups, or explains why not.
 * The parent is `<subtree>/pybox-<pid>`, the subtree being inside our own cgroup (so limits
 * set above us still apply; see ownV2Subtree for v2) or, on v2, `cgroupRoot` when given.
 */
export function detectCgroups(cgroupRoot?: string, prefix = `pybox-${process.pid}`): CgroupProvider {
  let mountinfo: string;
  let ownPaths: Map<string, string>;
  try {
    mountinfo = readFileSync('/proc/self/mountinfo', 'utf8');
    ownPaths = parseProcCgroup(readFileSync('/proc/self/cgroup', 'utf8'));
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
        const base = join(v1[c] as string, ownPaths.get(c) ?? '/');
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
    const own = ownPaths.get('') ?? '/';
    try {
      const subtree = cgroupRoot === undefined ? ownV2Subtree(unified.mountPoint, own) : givenV2Subtree(unified.mountPoint, cgroupRoot);
      removeStaleParents(subtree.dir);
      const parent = join(subtree.dir, prefix);
      mkdirSync(parent, { recursive: true });
      enableControllers(parent);
      return new V2Provider(parent, subtree.release);
    } catch (error) {
      const where = cgroupRoot === undefined ? `at ${own}` : `at the given root ${cgroupRoot}`;
      return new NoCgroups(`cgroup v2 ${where} is not usable (${(error as Error).message}); using rlimits`);
    }
  }
  return new NoCgroups('no cgroup hierarchy with memory, pids and cpu accounting is mounted; using rlimits');
}

