// The deny policy as plain data: a default-allow list of syscalls that a
// sandboxed CPython never needs and that widen the kernel attack surface or
// could undo the jail (namespaces, mounts, tracing, keyrings, eBPF, io_uring…).
// Default-allow keeps arbitrary pure-Python and C-extension code working; the
// namespace/mount jail from bubblewrap does the heavy lifting.

import type { SyscallName } from './syscalls.js';

export const EPERM = 1;
export const ENOSYS = 38; // same value on x86_64 and aarch64 (asm-generic)

export type SeccompAction =
  | { readonly type: 'allow' }
  | { readonly type: 'errno'; readonly errno: number }
  | { readonly type: 'kill_process' };

export const DENY_EPERM: SeccompAction = { type: 'errno', errno: EPERM };
export const DENY_ENOSYS: SeccompAction = { type: 'errno', errno: ENOSYS };

export type ArgIndex = 0 | 1 | 2 | 3 | 4 | 5;

/**
 * Conditions look at the LOW 32 BITS of one argument only, but `nonZero`. That is
 * exactly right for every value rule, because the kernel itself truncates those
 * arguments to 32 bits (ioctl's `unsigned int cmd`, personality's `unsigned int`,
 * clone's `lower_32_bits(clone_flags)`, socket's `int domain`), so high bits cannot
 * be used to smuggle a value past the filter. A pointer is 64 bits: `nonZero` looks
 * at both halves, so an address whose low half is 0 is not taken for NULL.
 */
export type ArgCondition =
  /** (arg & mask) != 0 */
  | { readonly op: 'maskAny'; readonly arg: ArgIndex; readonly mask: number }
  /** arg is one of values */
  | { readonly op: 'in'; readonly arg: ArgIndex; readonly values: readonly number[] }
  /** arg is none of values */
  | { readonly op: 'notIn'; readonly arg: ArgIndex; readonly values: readonly number[] }
  /** arg (all 64 bits) != 0: a pointer that is not NULL */
  | { readonly op: 'nonZero'; readonly arg: ArgIndex };

export type PolicyGroup = 'base' | 'sysvShm' | 'sysvIpc' | 'strict';

export interface SeccompRule {
  readonly syscall: SyscallName;
  /** Taken when `when` holds (or always, if absent); otherwise the call is allowed. */
  readonly action: SeccompAction;
  readonly when?: ArgCondition;
  readonly group: PolicyGroup;
  readonly reason: string;
}

export interface SeccompPolicyOptions {
  denySysvShm?: boolean;
  denySysvIpc?: boolean;
}

// Namespace flags for clone(2)/unshare(2).
export const CLONE_NEWTIME = 0x00000080;
export const CLONE_NEWNS = 0x00020000;
export const CLONE_NEWCGROUP = 0x02000000;
export const CLONE_NEWUTS = 0x04000000;
export const CLONE_NEWIPC = 0x08000000;
export const CLONE_NEWUSER = 0x10000000;
export const CLONE_NEWPID = 0x20000000;
export const CLONE_NEWNET = 0x40000000;
export const CLONE_NS_FLAGS =
  (CLONE_NEWTIME | CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET) >>> 0;

export const TIOCSTI = 0x5412;
export const TIOCLINUX = 0x541c;
export const PER_LINUX = 0;
export const PERSONALITY_QUERY = 0xffffffff;

const deny = (reason: string, ...syscalls: SyscallName[]): SeccompRule[] =>
  syscalls.map((syscall) => ({ syscall, action: DENY_EPERM, group: 'base', reason }));

const BASE_RULES: readonly SeccompRule[] = [
  ...deny('inspect or modify other processes', 'ptrace', 'process_vm_readv', 'process_vm_writev', 'kcmp', 'pidfd_getfd'),
  ...deny(
    'change the mount table or root (jail escape)',
    'mount', 'umount2', 'pivot_root', 'chroot', 'move_mount', 'open_tree', 'open_tree_attr',
    'fsopen', 'fsconfig', 'fsmount', 'fspick', 'mount_setattr',
  ),
  ...deny('create or join namespaces (large kernel attack surface)', 'unshare', 'setns'),
  ...deny('kernel keyrings are not namespaced', 'keyctl', 'add_key', 'request_key'),
  ...deny('high-risk kernel subsystems', 'bpf', 'perf_event_open', 'userfaultfd', 'io_uring_setup', 'io_uring_enter', 'io_uring_register'),
  // Host-wide pools and shared inodes (SECURITY.md, "Kernel pools"): aio-nr is one counter
  // for the whole host (io_setup(65536) took all of aio-max-nr), and an inotify watch on
  // /usr or /dev/null, which every jail binds from the host, sees the host's and other
  // runs' file accesses. fanotify_init is denied with the administration calls below.
  ...deny('the AIO context pool (aio-max-nr) is host-wide', 'io_setup', 'io_destroy', 'io_submit', 'io_cancel', 'io_getevents', 'io_pgetevents'),
  ...deny('inotify watches on shared /usr and /dev inodes see other runs and the host', 'inotify_init', 'inotify_init1', 'inotify_add_watch', 'fanotify_mark'),
  ...deny(
    'kernel modules, kexec and host administration',
    'kexec_load', 'kexec_file_load', 'init_module', 'finit_module', 'delete_module', 'acct', 'swapon', 'swapoff',
    'reboot', 'quotactl', 'quotactl_fd', 'lookup_dcookie', 'vhangup', 'syslog', 'fanotify_init', 'nfsservctl',
    'uselib', 'iopl', 'ioperm',
  ),
  ...deny('file handles bypass path-based confinement', 'name_to_handle_at', 'open_by_handle_at'),
  ...deny('the clock is host-global', 'settimeofday', 'clock_settime', 'clock_adjtime', 'adjtimex'),
  {
    syscall: 'personality',
    action: DENY_EPERM,
    when: { op: 'notIn', arg: 0, values: [PERSONALITY_QUERY, PER_LINUX] },
    group: 'base',
    reason: 'personality flags (e.g. READ_IMPLIES_EXEC, ADDR_NO_RANDOMIZE) weaken hardening; only query / PER_LINUX allowed',
  },
  {
    syscall: 'clone',
    action: DENY_EPERM,
    when: { op: 'maskAny', arg: 0, mask: CLONE_NS_FLAGS },
    group: 'base',
    reason: 'clone with a CLONE_NEW* namespace flag; plain fork/threads are allowed',
  },
  {
    syscall: 'clone3',
    action: DENY_ENOSYS,
    group: 'base',
    reason: 'flags live in user memory BPF cannot read; ENOSYS makes glibc fall back to clone',
  },
  {
    syscall: 'ioctl',
    action: DENY_EPERM,
    when: { op: 'in', arg: 1, values: [TIOCSTI, TIOCLINUX] },
    group: 'base',
    reason: 'TIOCSTI/TIOCLINUX inject input into the controlling terminal (CVE-2017-5226, CVE-2019-10063)',
  },
];

const SYSV_SHM_RULES: readonly SeccompRule[] = (['shmget', 'shmat', 'shmdt', 'shmctl'] as const).map((syscall) => ({
  syscall,
  action: DENY_EPERM,
  group: 'sysvShm',
  reason: 'System V shared memory (optional)',
}));

const SYSV_IPC_RULES: readonly SeccompRule[] = (
  ['msgget', 'msgsnd', 'msgrcv', 'msgctl', 'semget', 'semop', 'semtimedop', 'semctl'] as const
).map((syscall) => ({ syscall, action: DENY_EPERM, group: 'sysvIpc', reason: 'System V message queues and semaphores (optional)' }));

/** The rule list for the given options (arch-independent; compile drops calls an arch lacks). */
export function buildSeccompPolicy(options: SeccompPolicyOptions = {}): SeccompRule[] {
  return [
    ...BASE_RULES,
    ...(options.denySysvShm ? SYSV_SHM_RULES : []),
    ...(options.denySysvIpc ? SYSV_IPC_RULES : []),
  ];
}
