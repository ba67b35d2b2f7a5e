import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

/**
 * What the kernel and a container runtime impose on this process that can stop bwrap from
 * making its namespaces or pybox from making cgroups. Read from /proc and /sys only: each
 * fact is what the kernel reports now, not a guess from the environment.
 */
export interface Confinement {
  /** /proc/self/status Seccomp: 0 none, 1 strict, 2 a filter (a container runtime's profile). */
  seccompMode: number | null;
  seccompFilters: number | null;
  /** CapEff of this process (container runtimes drop most of root's). */
  capEffective: bigint | null;
  /** The AppArmor profile this process runs under ("docker-default (enforce)"), null without AppArmor. */
  apparmorProfile: string | null;
  /** Sysctls that refuse user namespaces (null: the kernel has no such knob). */
  maxUserNamespaces: number | null;
  unprivilegedUsernsClone: number | null;
  apparmorRestrictUserns: number | null;
  /**
   * Mounts over entries of /proc (a container runtime's masked paths). While /proc is not
   * fully visible, the kernel refuses the fresh /proc bwrap mounts in its pid namespace.
   */
  procOvermounts: string[];
  cgroup: CgroupPlace;
}

export interface CgroupPlace {
  version: 1 | 2 | null;
  /** Where the hierarchy pybox would use is mounted (v1: the memory controller's). */
  mountPoint: string | null;
  readOnly: boolean;
  /** This process's cgroup as /proc/self/cgroup names it (relative to its cgroup namespace). */
  ownPath: string | null;
  /** Our cgroup namespace's root is not the host's root cgroup (a container's private cgroupns). */
  namespaceRoot: boolean;
  /**
   * The mount shows a cgroup other than our namespace's root: a runtime in the host's cgroup
   * namespace bind-mounts the container's cgroup there, and pybox, which looks for its own
   * cgroup under the mount by /proc/self/cgroup's path, does not find it.
   */
  outsideMount: boolean;
  /** Our own cgroup directory belongs to our uid (a delegated subtree), for an unprivileged user. */
  ownedByUs: boolean;
}

function read(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

function readNumber(path: string): number | null {
  const text = read(path)?.trim();
  return text === undefined || text === '' || Number.isNaN(Number(text)) ? null : Number(text);
}

function statusField(status: string, field: string): number | null {
  const value = new RegExp(`^${field}:\\s+(\\d+)`, 'm').exec(status)?.[1];
  return value === undefined ? null : Number(value);
}

function capEffective(status: string): bigint | null {
  const hex = /^CapEff:\s+([0-9a-f]+)$/m.exec(status)?.[1];
  return hex === undefined ? null : BigInt(`0x${hex}`);
}

/** The current profile: the LSM-specific file first (newer kernels), then the shared one. */
function apparmorProfile(): string | null {
  const lsms = read('/sys/kernel/security/lsm');
  const enabled = lsms !== null ? lsms.split(',').includes('apparmor') : read('/sys/module/apparmor/parameters/enabled')?.trim() === 'Y';
  if (!enabled) return null;
  const current = read('/proc/self/attr/apparmor/current') ?? read('/proc/self/attr/current');
  return current?.replace(/\0/g, '').trim() || null;
}

interface Mount {
  root: string;
  mountPoint: string;
  options: string[];
  fsType: string;
  superOptions: string[];
}

/** /proc/self/mountinfo; octal escapes (\040 for a space) decoded. */
function mounts(): Mount[] {
  const unescape = (s: string): string => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
  const found: Mount[] = [];
  for (const line of (read('/proc/self/mountinfo') ?? '').split('\n')) {
    const [before, after] = line.split(' - ');
    if (!before || !after) continue;
    const f = before.split(' ');
    const [fsType = '', , superOptions = ''] = after.split(' ');
    found.push({ root: unescape(f[3] ?? ''), mountPoint: unescape(f[4] ?? ''), options: (f[5] ?? '').split(','), fsType, superOptions: superOptions.split(',') });
  }
  return found;
}

/**
 * Mounts below /proc but binfmt_misc: the kernel treats a mount on an empty procfs directory
 * (as binfmt_misc is) as harmless; a file or a directory with entries hidden is not.
 */
function procOvermounts(all: Mount[]): string[] {
  return all.filter((m) => m.mountPoint.startsWith('/proc/') && m.mountPoint !== '/proc/sys/fs/binfmt_misc').map((m) => m.mountPoint);
}

function cgroupPlace(all: Mount[]): CgroupPlace {
  const own = new Map<string, string>();
  for (const line of (read('/proc/self/cgroup') ?? '').split('\n')) {
    const m = /^\d+:([^:]*):(.*)$/.exec(line);
    if (m) for (const c of (m[1] ?? '').split(',')) own.set(c, m[2] ?? '/');
  }
  const v1 = all.find((m) => m.fsType === 'cgroup' && m.superOptions.includes('memory'));
  const v2 = all.find((m) => m.fsType === 'cgroup2');
  const mount = v1 ?? v2;
  const version = v1 ? 1 : v2 ? 2 : null;
  const ownPath = (v1 ? own.get('memory') : own.get('')) ?? null;
  if (!mount || ownPath === null) {
    return { version, mountPoint: mount?.mountPoint ?? null, readOnly: false, ownPath, namespaceRoot: false, outsideMount: false, ownedByUs: false };
  }
  const outsideMount = mount.root !== '/';
  const dir = outsideMount ? mount.mountPoint : join(mount.mountPoint, ownPath);
  let ownedByUs = false;
  try {
    ownedByUs = statSync(dir).uid === process.getuid?.();
  } catch {
    /* not visible */
  }
  return {
    version,
    mountPoint: mount.mountPoint,
    readOnly: mount.options.includes('ro'),
    ownPath,
    // The host's root cgroup has no cgroup.type: a v2 '/' that has one is a namespace's root.
    namespaceRoot: version === 2 && ownPath === '/' && existsSync(join(mount.mountPoint, 'cgroup.type')),
    outsideMount,
    ownedByUs,
  };
}

export function readConfinement(): Confinement {
  const status = read('/proc/self/status') ?? '';
  const all = mounts();
  return {
    seccompMode: statusField(status, 'Seccomp'),
    seccompFilters: statusField(status, 'Seccomp_filters'),
    capEffective: capEffective(status),
    apparmorProfile: apparmorProfile(),
    maxUserNamespaces: readNumber('/proc/sys/user/max_user_namespaces'),
    unprivilegedUsernsClone: readNumber('/proc/sys/kernel/unprivileged_userns_clone'),
    apparmorRestrictUserns: readNumber('/proc/sys/kernel/apparmor_restrict_unprivileged_userns'),
    procOvermounts: procOvermounts(all),
    cgroup: cgroupPlace(all),
  };
}
