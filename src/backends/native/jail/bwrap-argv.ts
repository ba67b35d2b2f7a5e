/**
 * Builds the bubblewrap argv for one jail. Pure: no I/O, so the exact shape of the
 * jail can be unit-tested and read in one place.
 */

/** Child-side fd numbers of the pipes the supervisor hands to bwrap. */
export const JAIL_FDS = {
  ctrlIn: 3, // request to the guest
  ctrlOut: 4, // frames from the guest
  info: 5, // bwrap writes {"child-pid": N}
  block: 6, // bwrap waits for one byte here before exec (we join cgroups meanwhile)
  seccomp: 7, // the compiled BPF program
  passwd: 8, // synthesized /etc/passwd
  group: 9, // synthesized /etc/group
  ldCache: 10, // the host's /etc/ld.so.cache
  args: 11, // bwrap's own options (--args): never on a command line the jail can read
  hosts: 12, // synthesized /etc/hosts: localhost is the jail's own loopback
  nsswitch: 13, // synthesized /etc/nsswitch.conf: names from those files only
} as const;
export const JAIL_FD_COUNT = 14;

export const SANDBOX_UID = 1000;
export const SANDBOX_GID = 1000;
export const JAIL_HOSTNAME = 'pybox';

export interface JailLayout {
  /** Interpreter path; must live under one of the read-only binds. */
  python: string;
  bootstrapSource: string;
  /** Top-level host entries that are symlinks into /usr (merged-/usr), e.g. ['bin', 'lib', 'lib64']. */
  usrSymlinks: { name: string; target: string }[];
  /** Links recreated in /etc/alternatives (shared libraries only; src/host/alternatives.ts). */
  alternatives: { name: string; target: string }[];
  /** Extra read-only binds (an interpreter installed outside /usr), host path = jail path. */
  extraReadOnly: string[];
  /** Host-wide /proc entries that exist here and must be hidden. */
  procMasks: { files: string[]; dirs: string[] };
  /** The host has an /etc/ld.so.cache (saves the loader a directory walk): the jail gets a copy. */
  hasLdCache: boolean;
  workspaceBytes: number;
  tmpBytes: number;
  /** Arguments after `-c <bootstrap>` (sys.argv[1:] of the bootstrap): 'warm' for a pooled jail. */
  pythonArgs?: string[];
  /**
   * The fork-server's jail (src/backends/native/zygote/): pid 1 of its namespace, with the capabilities
   * it needs to build one namespace set per run inside its user namespace, and no
   * seccomp filter from bwrap (it loads its own; each run stacks the runs' filter on it
   * before its code). No run's code ever
   * executes with these capabilities: the zygote drops them all in each child.
   */
  zygote?: boolean;
}

/** What bwrap gives the zygote: mount/unshare/setns, emptying the bounding set (then dropped), bringing lo up in each run. */
export const ZYGOTE_CAPS = ['CAP_SYS_ADMIN', 'CAP_SETPCAP', 'CAP_NET_ADMIN'] as const;

/**
 * The `max=` of a zygote run's devpts: how many ptys one run may hold at once. Fixed rather
 * than a multiple of `processes` (up to 4096): a program that drives terminals needs one
 * per child it talks to, and 16 runs' worth is 256 of the host's 3072 shared ptys.
 */
export const PTYS_PER_RUN = 16;

export const JAIL_ENV: Readonly<Record<string, string>> = {
  PATH: '/usr/local/bin:/usr/bin:/bin',
  HOME: '/workspace',
  TMPDIR: '/tmp',
  LANG: 'C.UTF-8',
  USER: 'sandbox',
  LOGNAME: 'sandbox',
  // matplotlib: no display in a jail, and its config/font cache in the run's own /tmp
  // (not the workspace a program collects files from).
  MPLBACKEND: 'Agg',
  MPLCONFIGDIR: '/tmp/matplotlib',
  // Debian's matplotlib reads its defaults from /etc/matplotlibrc, which the jail has not:
  // the pristine copy it ships under /usr (a pip-installed matplotlib finds its own).
  MATPLOTLIBRC: '/usr/share/matplotlib/mpl-data',
  // OpenBLAS and OpenMP start a thread per host CPU at load, each counted against the
  // run's `processes` limit (and, in a zygote, threads do not survive its forks).
  OPENBLAS_NUM_THREADS: '1',
  OMP_NUM_THREADS: '1',
};

/**
 * How every bwrap (and the shell that execs it) is spawned: with nothing of the caller's
 * environment or working directory, as bwrap's pid 1 is readable in the jail.
 */
export const BWRAP_SPAWN_OPTIONS = { env: {}, cwd: '/' } as const;

/** The whole jail as one argv: bwrap's options, `--`, the command. */
export function buildBwrapArgv(layout: JailLayout): string[] {
  return [...bwrapOptions(layout), '--', ...jailCommand(layout)];
}

/** How bwrap is started: what its command line holds, and what it reads from `JAIL_FDS.args`. */
export interface BwrapInvocation {
  argv: string[];
  /** The options, each NUL-terminated, as `--args` reads them. */
  args: Buffer;
}

/**
 * bwrap's pid 1 is visible in the jail, and /proc/1/cmdline shows its argv: every mount,
 * uid and path of the jail. So the options go over a pipe (`--args <fd>`, read and closed
 * by bwrap before it builds anything); the command line keeps only that fd and the command,
 * which the program sees as its own /proc/self/cmdline anyway.
 */
export function bwrapInvocation(layout: JailLayout): BwrapInvocation {
  const options = bwrapOptions(layout);
  for (const option of options) if (option.includes('\0')) throw new Error(`a bwrap option holds a NUL byte: ${JSON.stringify(option)}`);
  return {
    argv: ['--args', String(JAIL_FDS.args), '--', ...jailCommand(layout)],
    args: Buffer.from(options.map((option) => `${option}\0`).join(''), 'utf8'),
  };
}

function jailCommand(layout: JailLayout): string[] {
  return [layout.python, '-I', '-S', '-B', '-c', layout.bootstrapSource, ...(layout.pythonArgs ?? [])];
}

function bwrapOptions(layout: JailLayout): string[] {
  const a: string[] = [];
  a.push('--unshare-all', '--unshare-user');
  // The zygote's children must mount a fresh /proc: behind --disable-userns's extra user
  // namespace every inherited mount is locked and the kernel refuses it. Each run loads
  // the seccomp filter, which denies unshare, setns, clone with namespace flags and clone3.
  if (!layout.zygote) a.push('--disable-userns');
  a.push('--uid', String(SANDBOX_UID), '--gid', String(SANDBOX_GID), '--hostname', JAIL_HOSTNAME);
  a.push('--die-with-parent', '--new-session', '--cap-drop', 'ALL');
  if (layout.zygote) {
    for (const cap of ZYGOTE_CAPS) a.push('--cap-add', cap); // one per flag: bwrap 0.8 takes no lists
    a.push('--as-pid-1');
  }
  a.push('--clearenv');
  for (const [key, value] of Object.entries(JAIL_ENV)) a.push('--setenv', key, value);

  a.push('--ro-bind', '/usr', '/usr');
  for (const { name, target } of layout.usrSymlinks) a.push('--symlink', target, `/${name}`);
  for (const path of layout.extraReadOnly) a.push('--ro-bind', path, path);

  a.push('--proc', '/proc');
  // The zygote itself runs no program, and each of its children mounts (and masks) a
  // proc of its own over this one: masks here would only be mounts to copy and tear down per run.
  if (!layout.zygote) {
    for (const name of layout.procMasks.files) a.push('--ro-bind', '/dev/null', `/proc/${name}`);
    for (const name of layout.procMasks.dirs) a.push('--tmpfs', `/proc/${name}`, '--remount-ro', `/proc/${name}`);
  }

  // /dev by hand rather than bwrap's --dev, on every path: --dev also mounts a devpts with
  // fixed options and no `max=`, and every non-initial devpts instance draws on one
  // host-wide pool of ptys (kernel.pty.max - kernel.pty.reserve, 3072 by default), which
  // one run could empty for the whole host. A zygote's runs each mount a devpts of their
  // own with max=PTYS_PER_RUN on /dev/pts; a bwrap jail cannot (it has no capability and
  // bwrap takes no devpts options), so it has no ptys. (For the zygote, --dev would also
  // make bwrap add a second user namespace, behind which every inherited mount is locked
  // and its children could not mount /proc.)
  a.push('--perms', '0755', '--tmpfs', '/dev');
  for (const node of ['null', 'zero', 'full', 'random', 'urandom', 'tty']) a.push('--dev-bind', `/dev/${node}`, `/dev/${node}`);
  const links: (readonly [string, string])[] = [['/proc/self/fd', 'fd'], ['/proc/self/fd/0', 'stdin'], ['/proc/self/fd/1', 'stdout'], ['/proc/self/fd/2', 'stderr'], ['/proc/kcore', 'core']];
  if (layout.zygote) links.push(['pts/ptmx', 'ptmx']);
  for (const [target, link] of links) a.push('--symlink', target, `/dev/${link}`);
  if (layout.zygote) a.push('--dir', '/dev/pts');
  if (layout.zygote) {
    // Mount points only: each run mounts its own tmpfs on them (sized for that run).
    a.push('--dir', '/dev/shm', '--remount-ro', '/dev', '--dir', '/tmp', '--dir', '/workspace');
  } else {
    a.push('--perms', '1777', '--size', String(layout.tmpBytes), '--tmpfs', '/dev/shm');
    a.push('--remount-ro', '/dev'); // bwrap's /dev tmpfs is owned by the sandbox user and has no size
    a.push('--perms', '1777', '--size', String(layout.tmpBytes), '--tmpfs', '/tmp');
    a.push('--perms', '0755', '--size', String(layout.workspaceBytes), '--tmpfs', '/workspace');
  }

  // Plain files in the root tmpfs, read-only with it (--remount-ro /): a bind of each
  // would cost bwrap a mount-table reread.
  for (const [fd, path] of ETC_FILES) {
    if (fd !== JAIL_FDS.ldCache || layout.hasLdCache) a.push('--perms', '0644', '--file', String(fd), path);
  }
  // Links, not a bind of the host's /etc/alternatives: only library choices, each to a
  // file under /usr the jail already reads, and no mount to copy per jail.
  for (const { name, target } of layout.alternatives) a.push('--symlink', target, `/etc/alternatives/${name}`);
  a.push('--remount-ro', '/');

  a.push('--chdir', '/workspace');
  a.push('--info-fd', String(JAIL_FDS.info));
  if (!layout.zygote) a.push('--block-fd', String(JAIL_FDS.block), '--seccomp', String(JAIL_FDS.seccomp));
  return a;
}

/** The jail's /etc: files bwrap copies in from our pipes, in argv order (the ld.so.cache copy only where the host has one). */
const ETC_FILES: readonly (readonly [fd: number, path: string])[] = [
  [JAIL_FDS.passwd, '/etc/passwd'],
  [JAIL_FDS.group, '/etc/group'],
  [JAIL_FDS.ldCache, '/etc/ld.so.cache'],
  [JAIL_FDS.hosts, '/etc/hosts'],
  [JAIL_FDS.nsswitch, '/etc/nsswitch.conf'],
];

/** What bwrap copies into the jail's /etc from our pipes (fd, contents), in argv order. */
export function jailEtcFiles(ldCache: Buffer | null): [fd: number, data: string | Buffer][] {
  const contents: Record<number, string | Buffer | null> = {
    [JAIL_FDS.passwd]: etcPasswd(),
    [JAIL_FDS.group]: etcGroup(),
    [JAIL_FDS.ldCache]: ldCache,
    [JAIL_FDS.hosts]: etcHosts(),
    [JAIL_FDS.nsswitch]: ETC_NSSWITCH,
  };
  return ETC_FILES.flatMap(([fd]) => {
    const data = contents[fd];
    return data === null || data === undefined ? [] : [[fd, data] as [number, string | Buffer]];
  });
}

/** The only identity the jail knows: itself. */
export function etcPasswd(): string {
  return `sandbox:x:${SANDBOX_UID}:${SANDBOX_GID}:pybox sandbox:/workspace:/usr/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n`;
}

export function etcGroup(): string {
  return `sandbox:x:${SANDBOX_GID}:\nnogroup:x:65534:\n`;
}

/**
 * localhost (and the jail's own name) is the jail's own loopback, in its own network
 * namespace: servers and clients inside the jail reach each other and nothing else.
 */
export function etcHosts(): string {
  return `127.0.0.1\tlocalhost\n127.0.1.1\t${JAIL_HOSTNAME}\n::1\tlocalhost ip6-localhost ip6-loopback\n`;
}

/** Names come from the files above only: no DNS (there is no server to ask), no other source. */
export const ETC_NSSWITCH = 'passwd: files\ngroup: files\nshadow: files\nhosts: files\nnetworks: files\n';
