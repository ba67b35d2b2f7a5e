import { existsSync, mkdirSync, readdirSync, readFileSync, statfsSync } from 'node:fs';
import { join } from 'node:path';
import { processAlive } from '../../../host/processes.js';
import { enableControllers, givenV2Subtree, ownV2Subtree } from './cgroup-v2-subtree.js';
import type { CgroupProvider, JailCgroup } from './cgroups.js';
import { killPidsIn, tryRmdir } from './files.js';
import { V1_CONTROLLERS, V1Provider, type V1Controller } from './v1.js';
import { V2Provider } from './v2.js';

// Which cgroups this host gives pybox (v1, v2 or none), from /proc/self's mount table and cgroup.

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


/** statfs(2) magic numbers of the cgroup file systems (linux/magic.h). */
const CGROUP2_SUPER_MAGIC = 0x63677270;
const CGROUP_SUPER_MAGIC = 0x27e0eb;

/**
 * Why `dir` is not the cgroup file system mountinfo promised, or null when it is. Mountinfo
 * lists every mount, also those something mounted over later (a tmpfs over /sys/fs/cgroup
 * in a container): writing limit files there makes plain files and limits nothing. So the
 * file system at the path itself is asked, and one of its own files must be there.
 */
export function notCgroupFs(dir: string, version: 1 | 2): string | null {
  const [magic, fs, own] = version === 2 ? [CGROUP2_SUPER_MAGIC, 'cgroup2', 'cgroup.controllers'] : [CGROUP_SUPER_MAGIC, 'cgroup', 'tasks'];
  let type: number;
  try {
    type = statfsSync(dir).type;
  } catch (error) {
    return `${dir} cannot be inspected (${(error as Error).message})`;
  }
  if (type !== magic) return `${dir} is not a ${fs} file system (statfs type 0x${type.toString(16)}): something is mounted over it`;
  if (!existsSync(join(dir, own))) return `${dir} has no ${own} file`;
  return null;
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
    for (const c of V1_CONTROLLERS) {
      const fake = notCgroupFs(v1[c] as string, 1);
      if (fake) return new NoCgroups(`cgroup v1 is listed in /proc/self/mountinfo but ${fake}; using rlimits`);
    }
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
    const fake = notCgroupFs(unified.mountPoint, 2);
    if (fake) return new NoCgroups(`cgroup v2 is listed in /proc/self/mountinfo but ${fake}; using rlimits`);
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

