// Syscall numbers for the two arches we filter. Only the calls the policy
// names (plus a few the tests use as controls) are listed: a partial table is
// easier to audit than a generated one. Sources: arch/x86/entry/syscalls/
// syscall_64.tbl and include/uapi/asm-generic/unistd.h (aarch64).

export type SeccompArch = 'x86_64' | 'aarch64';
export const SECCOMP_ARCHES: readonly SeccompArch[] = ['x86_64', 'aarch64'];

/** AUDIT_ARCH_* from <linux/audit.h>: what the kernel puts in seccomp_data.arch. */
export const AUDIT_ARCH: Readonly<Record<SeccompArch, number>> = {
  x86_64: 0xc000003e,
  aarch64: 0xc00000b7,
};

/** x32 syscalls arrive on x86_64 with this bit set in nr (and AUDIT_ARCH_X86_64). */
export const X32_SYSCALL_BIT = 0x40000000;

// [x86_64, aarch64]; null = the syscall does not exist on that arch.
const TABLE = {
  // deny policy
  ptrace: [101, 117],
  process_vm_readv: [310, 270],
  process_vm_writev: [311, 271],
  mount: [165, 40],
  umount2: [166, 39],
  pivot_root: [155, 41],
  chroot: [161, 51],
  open_tree: [428, 428],
  move_mount: [429, 429],
  fsopen: [430, 430],
  fsconfig: [431, 431],
  fsmount: [432, 432],
  fspick: [433, 433],
  mount_setattr: [442, 442],
  open_tree_attr: [467, 467],
  unshare: [272, 97],
  setns: [308, 268],
  keyctl: [250, 219],
  add_key: [248, 217],
  request_key: [249, 218],
  bpf: [321, 280],
  perf_event_open: [298, 241],
  userfaultfd: [323, 282],
  io_uring_setup: [425, 425],
  io_uring_enter: [426, 426],
  io_uring_register: [427, 427],
  io_setup: [206, 0],
  io_destroy: [207, 1],
  io_submit: [209, 2],
  io_cancel: [210, 3],
  io_getevents: [208, 4],
  io_pgetevents: [333, 292],
  inotify_init: [253, null],
  inotify_init1: [294, 26],
  inotify_add_watch: [254, 27],
  kexec_load: [246, 104],
  kexec_file_load: [320, 294],
  init_module: [175, 105],
  finit_module: [313, 273],
  delete_module: [176, 106],
  personality: [135, 92],
  acct: [163, 89],
  swapon: [167, 224],
  swapoff: [168, 225],
  reboot: [169, 142],
  quotactl: [179, 60],
  quotactl_fd: [443, 443],
  lookup_dcookie: [212, 18],
  vhangup: [153, 58],
  syslog: [103, 116],
  name_to_handle_at: [303, 264],
  open_by_handle_at: [304, 265],
  settimeofday: [164, 170],
  clock_settime: [227, 112],
  clock_adjtime: [305, 266],
  adjtimex: [159, 171],
  pidfd_getfd: [438, 438],
  fanotify_init: [300, 262],
  fanotify_mark: [301, 263],
  nfsservctl: [180, 42],
  uselib: [134, null],
  iopl: [172, null],
  ioperm: [173, null],
  kcmp: [312, 272],
  clone: [56, 220],
  clone3: [435, 435],
  ioctl: [16, 29],
  // optional SysV groups
  shmget: [29, 194],
  shmat: [30, 196],
  shmdt: [67, 197],
  shmctl: [31, 195],
  msgget: [68, 186],
  msgsnd: [69, 189],
  msgrcv: [70, 188],
  msgctl: [71, 187],
  semget: [64, 190],
  semop: [65, 193],
  semtimedop: [220, 192],
  semctl: [66, 191],
  // the strict policy's own filter (strict.ts)
  execve: [59, 221],
  execveat: [322, 281],
  socket: [41, 198],
  socketpair: [53, 199],
  connect: [42, 203],
  bind: [49, 200],
  sendto: [44, 206],
  sendmsg: [46, 211],
  sendmmsg: [307, 269],
  // controls used by tests
  read: [0, 63],
  getpid: [39, 172],
} as const satisfies Record<string, readonly [number | null, number | null]>;

export type SyscallName = keyof typeof TABLE;

const COLUMN: Readonly<Record<SeccompArch, 0 | 1>> = { x86_64: 0, aarch64: 1 };

/** The syscall's number on `arch`, or undefined if the arch has no such call. */
export function syscallNumber(name: SyscallName, arch: SeccompArch): number | undefined {
  return TABLE[name][COLUMN[arch]] ?? undefined;
}
