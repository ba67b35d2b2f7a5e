import { rmdirSync, writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readKeyed, readNumber, type CgroupLimits, type CgroupStats, type JailCgroup } from '../jail/cgroups.js';

/**
 * Operations on a jail's cgroup that src/jail/cgroups.ts does not offer (yet): moving a
 * process in without blocking the event loop, and re-targeting a warm jail's cgroup at
 * the run that claims it. They work on the directories of the v1/v2 classes there,
 * found by shape; a cgroup of another shape is reported as not retunable and callers
 * fall back (sync attach, a cold jail).
 *
 * Why async: on cgroup v1 a write to cgroup.procs waits for an RCU grace period
 * (~10 ms here) under the global cgroup_threadgroup_rwsem. Done with writeFileSync it
 * stalls every other run in this process for that long.
 */
type Shape = { kind: 'v1'; dirs: { memory: string; pids: string; cpuacct: string } } | { kind: 'v2'; dir: string };

function shapeOf(cg: JailCgroup): Shape | null {
  const anyCg = cg as unknown as { dirs?: unknown; dir?: unknown };
  const dirs = anyCg.dirs as Record<string, unknown> | undefined;
  if (dirs && typeof dirs.memory === 'string' && typeof dirs.pids === 'string' && typeof dirs.cpuacct === 'string') {
    return { kind: 'v1', dirs: { memory: dirs.memory, pids: dirs.pids, cpuacct: dirs.cpuacct } };
  }
  if (typeof anyCg.dir === 'string') return { kind: 'v2', dir: anyCg.dir };
  return null;
}

/** Moves `pids` into the cgroup on libuv's thread pool; falls back to the sync attach. */
export async function attachAsync(cg: JailCgroup, pids: number[]): Promise<void> {
  const shape = shapeOf(cg);
  if (!shape) {
    for (const pid of pids) cg.attach(pid);
    return;
  }
  const files = shape.kind === 'v1' ? Object.values(shape.dirs).map((d) => join(d, 'cgroup.procs')) : [join(shape.dir, 'cgroup.procs')];
  for (const pid of pids) {
    for (const file of files) await writeFile(file, String(pid));
  }
}

export interface CgroupBaseline {
  cpuMs: number;
  oomKills: number;
  pidsMaxEvents: number;
}

/** A counter that is missing counts as zero. */
const readKey = (path: string, key: string): number => readKeyed(path, key) ?? 0;

export function canRetune(cg: JailCgroup): boolean {
  return shapeOf(cg) !== null;
}

/**
 * Points a warm jail's cgroup at the run that claims it: its memory and pids limits, and
 * counters that start from the claim (v1: CPU and the memory peak are reset; what cannot
 * be reset is returned as a baseline to subtract). Throws when a limit cannot be set
 * (e.g. a memory limit below what the idle jail already uses): the caller uses another jail.
 */
export async function retune(cg: JailCgroup, limits: CgroupLimits): Promise<CgroupBaseline> {
  const shape = shapeOf(cg);
  if (!shape) throw new Error('this cgroup cannot be retuned');
  const known = limitsSet.get(cg);
  const unchanged = known !== undefined && known.memoryBytes === limits.memoryBytes && known.pids === limits.pids;
  limitsSet.delete(cg); // unknown until the writes below have all succeeded
  if (shape.kind === 'v1') {
    const { memory, pids, cpuacct } = shape.dirs;
    if (!unchanged) await setV1Limits(memory, pids, limits);
    // Plain counter resets: quick, never wait on the kernel, so no thread-pool round trip.
    writeFileSync(join(cpuacct, 'cpuacct.usage'), '0');
    writeFileSync(join(memory, 'memory.max_usage_in_bytes'), '0');
    limitsSet.set(cg, { ...limits });
    return {
      cpuMs: 0,
      oomKills: readKey(join(memory, 'memory.oom_control'), 'oom_kill'),
      pidsMaxEvents: readKey(join(pids, 'pids.events'), 'max'),
    };
  }
  const { dir } = shape;
  if (!unchanged) {
    await writeFile(join(dir, 'memory.max'), String(limits.memoryBytes));
    await writeFile(join(dir, 'pids.max'), String(limits.pids));
  }
  limitsSet.set(cg, { ...limits });
  return {
    cpuMs: readKey(join(dir, 'cpu.stat'), 'usage_usec') / 1000,
    oomKills: readKey(join(dir, 'memory.events'), 'oom_kill'),
    pidsMaxEvents: readKey(join(dir, 'pids.events'), 'max'),
  };
}

/** The limits a cgroup was just created with (so a retune to the same ones writes nothing). */
export function noteLimits(cg: JailCgroup, limits: CgroupLimits): void {
  limitsSet.set(cg, { ...limits });
}

/** Limits last written to a cgroup by pybox, per cgroup object. */
const limitsSet = new WeakMap<JailCgroup, CgroupLimits>();

async function setV1Limits(memory: string, pids: string, limits: CgroupLimits): Promise<void> {
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

/** Stats counted from the claim. */
export function sinceBaseline(stats: CgroupStats, base: CgroupBaseline | null): CgroupStats {
  if (!base) return stats;
  return {
    cpuUsageMs: stats.cpuUsageMs === null ? null : Math.max(0, stats.cpuUsageMs - base.cpuMs),
    memoryPeakBytes: stats.memoryPeakBytes,
    oomKills: Math.max(0, stats.oomKills - base.oomKills),
    pidsMaxEvents: Math.max(0, stats.pidsMaxEvents - base.pidsMaxEvents),
  };
}

/**
 * Removes a cgroup its owner knows to be empty (the run's pid 1 has been reaped, and with
 * it every process of the run): plain rmdirs, without the kill-and-retry loop of
 * JailCgroup.destroy(), which it falls back to if a directory is still busy.
 */
export async function destroyEmpty(cg: JailCgroup): Promise<boolean> {
  const shape = shapeOf(cg);
  if (!shape) return cg.destroy();
  const dirs = shape.kind === 'v1' ? Object.values(shape.dirs) : [shape.dir];
  try {
    for (const dir of dirs) rmdirSync(dir);
    return true;
  } catch {
    return cg.destroy(); // busy after all (or half removed): the careful way
  }
}
