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
  /**
   * The same on libuv's thread pool: on cgroup v1 a write to cgroup.procs waits for an
   * RCU grace period (~10 ms here) under the global cgroup_threadgroup_rwsem; done
   * synchronously it would stall every other run of this process for that long.
   */
  attachAsync(pids: number[]): Promise<void>;
  /**
   * Files a process writes "0" into to move itself in, before it execs the jail: the jail
   * is then born inside its cgroup and nothing needs moving. null where attachAsync is as good.
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
/**
 * Socket buffers a jail may hold (cgroup v1's `memory.kmem.tcp`, which this kernel also
 * charges UDP to), on top of its memory limit: a quarter of it. Unarmed, v1 charges socket
 * buffers to nothing and only the host-wide tcp_mem/udp_mem stop them. v2 charges them to
 * memory.max itself.
 */
export function socketBufferBytes(limits: CgroupLimits): number {
  return Math.floor(limits.memoryBytes / 4 / 4096) * 4096;
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

let jailCounter = 0;

/** A cgroup (and jail) name unique on this host: kind, our pid, a counter. */
export function nextJailName(kind: string): string {
  return `${kind}-${process.pid}-${++jailCounter}`;
}

