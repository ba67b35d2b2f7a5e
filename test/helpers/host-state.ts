import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sharedCgroups } from '../../src/backends/native/jail/environment.js';
import { processAlive } from '../../src/host/processes.js';
import { UID_LOCK_DIR } from '../../src/backends/native/jail/uid-pool.js';
import { idleWarmJails } from '../../src/backends/native/pool/inventory.js';

export interface JailProcess {
  pid: number;
  uid: number;
  status: string;
  cmdline: string;
}

/**
 * Live host processes that `wanted` picks, among `candidates` (default: every pid now).
 * Zombies are skipped: bwrap's outer process may exit before its pid-1 reaper is reaped,
 * which leaves an exited [bwrap] entry for the host's init to collect.
 */
export function liveProcesses(wanted: (p: JailProcess) => boolean, candidates: string[] = readdirSync('/proc')): JailProcess[] {
  const found: JailProcess[] = [];
  for (const name of candidates) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const status = readFileSync(`/proc/${name}/status`, 'utf8');
      if (/^State:\s+Z/m.test(status)) continue;
      const uid = Number(/^Uid:\s+(\d+)/m.exec(status)?.[1]);
      const cmdline = readFileSync(`/proc/${name}/cmdline`, 'utf8').replace(/\0/g, ' ');
      const p = { pid: Number(name), uid, status, cmdline };
      if (wanted(p)) found.push(p);
    } catch {
      /* exited while we looked */
    }
  }
  return found;
}

/**
 * Live jail processes (or, with `marker`, processes whose cmdline holds it). As root, jails
 * run as uids of pybox's range. Unprivileged (a delegated cgroup), they run as our own uid,
 * in pid namespaces below ours: those of our uid in a deeper pid namespace.
 */
export function liveJailProcesses(marker?: string, candidates?: string[]): JailProcess[] {
  const uid = process.getuid?.() ?? 0;
  const jailed =
    uid === 0 ? (p: JailProcess) => p.uid >= 62_000 && p.uid < 63_000 : (p: JailProcess) => p.uid === uid && nsDepth(p.status) > OUR_NS_DEPTH;
  return liveProcesses((p) => jailed(p) || (marker !== undefined && p.cmdline.includes(marker)), candidates);
}

/** How many pid namespaces deep a process is, from its status' NSpid line. */
function nsDepth(status: string | null): number {
  return (/^NSpid:\s+(.*)$/m.exec(status ?? '')?.[1] ?? '').trim().split(/\s+/).length;
}
const OUR_NS_DEPTH = nsDepth(readStatus(process.pid));

function readStatus(pid: number): string | null {
  try {
    return readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return null;
  }
}

/**
 * Unprivileged, jails of every pybox share our uid: a jail process is another pybox's when
 * its ancestors leave the jail's namespaces into a process tree that is not ours (one that
 * ends at init without passing us). A jail orphaned to init is a leftover: not another's.
 */
function anotherSupervisors(pid: number): boolean {
  let inJail = true;
  for (let p = pid; p > 1; ) {
    const parent = parentPid(p);
    if (parent === process.pid) return false;
    if (parent <= 1) return !inJail;
    if (nsDepth(readStatus(parent)) <= OUR_NS_DEPTH) inJail = false;
    p = parent;
  }
  return false;
}

/** Names of the per-jail cgroup directories under this process's pybox parent. */
export function jailCgroupNames(): { parent: string; names: string[] } | null {
  const parent = /under (\S+)/.exec(sharedCgroups().detail)?.[1];
  if (!parent || !existsSync(parent)) return null;
  return { parent, names: readdirSync(parent, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name) };
}

export interface HostSnapshot {
  mounts: number;
  tmpEntries: Set<string>;
}

export function snapshotHost(): HostSnapshot {
  return {
    mounts: readFileSync('/proc/self/mountinfo', 'utf8').trim().split('\n').length,
    tmpEntries: new Set(readdirSync(tmpdir())),
  };
}

/**
 * What changed on the host since the snapshot that pybox should have cleaned up. Warm
 * jails no run has claimed yet (a Sandbox's pool or zygote spares) are not leftovers.
 */
export function hostLeftovers(before: HostSnapshot, marker?: string): string[] {
  const problems: string[] = [];
  problems.push(...runLeftovers(marker).map((p) => `left: ${p}`));
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8').trim().split('\n').length;
  if (mounts !== before.mounts) problems.push(`host mount count changed ${before.mounts} -> ${mounts}`);
  for (const entry of readdirSync(tmpdir())) {
    if (!before.tmpEntries.has(entry)) problems.push(`temp entry left: ${entry}`);
  }
  return problems;
}

function lockOwner(uid: number): number | null {
  try {
    return Number(readFileSync(join(UID_LOCK_DIR, String(uid)), 'utf8')) || null;
  } catch {
    return null;
  }
}


/** A jail uid locked by another live pybox process on this host is not ours to judge. */
export function otherPybox(uid: number): boolean {
  const owner = lockOwner(uid);
  return owner !== null && owner !== process.pid && processAlive(owner);
}

/**
 * Live processes in the jail uid range (or with `marker` in their cmdline) that belong to
 * no idle warm jail of ours and to no other live pybox: the processes of runs.
 */
export function runProcesses(marker?: string): JailProcess[] {
  // The candidates first, the inventory after: a warm jail forked in between is then
  // either not a candidate or already in the inventory.
  const candidates = readdirSync('/proc');
  const idle = new Set(idleWarmJails().pids);
  const others = process.getuid?.() === 0 ? (p: JailProcess) => otherPybox(p.uid) : (p: JailProcess) => anotherSupervisors(p.pid);
  return liveJailProcesses(marker, candidates).filter((p) => !idle.has(p.pid) && !others(p));
}

/** The parent of a host process (0 once it is gone). */
export function parentPid(pid: number): number {
  try {
    // The command name in parentheses may hold spaces: the fields after it are fixed.
    return Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ').pop()?.split(' ')[1] ?? 0);
  } catch {
    return 0;
  }
}

/**
 * The child of this process that `pid` descends from (the outermost process of the jail,
 * zygote or pool jail that holds it), or null if it does not descend from us.
 */
export function ourChildAbove(pid: number): number | null {
  for (let p = pid; p > 1; ) {
    const parent = parentPid(p);
    if (parent === process.pid) return p;
    p = parent;
  }
  return null;
}

/**
 * Live processes in the jail uid range (or with `marker` in their cmdline) and per-jail
 * cgroups that belong to no idle warm jail of ours and to no other live pybox.
 */
export function runLeftovers(marker?: string): string[] {
  const found = runProcesses(marker).map((p) => {
    const ppid = /^PPid:\s+(\d+)/m.exec(p.status)?.[1];
    const nspid = /^NSpid:\s+(.*)$/m.exec(p.status)?.[1]?.trim();
    return `process ${p.pid} uid ${p.uid} (parent ${ppid}, ns pids ${nspid}): ${p.cmdline.slice(-60)}`;
  });
  const cgroups = jailCgroupNames();
  if (cgroups) {
    const idleCg = new Set(idleWarmJails().cgroups);
    for (const name of cgroups.names) if (!idleCg.has(name) && existsSync(join(cgroups.parent, name))) found.push(`cgroup ${name}`);
  }
  return found;
}
