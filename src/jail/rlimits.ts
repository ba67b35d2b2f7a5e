import type { Limits } from '../sandbox/limits.js';

export type Rlimit = [name: string, soft: number, hard: number];

const MiB = 1024 * 1024;
/** RLIMIT_SIGPENDING of a run: the default is about half the host's thread limit. */
export const SIGNALS_QUEUED = 256;

/**
 * Rlimits the kernel counts per uid (of a user namespace), not per process: they hold a run
 * only where the run has its uid to itself (a bwrap jail). A zygote's runs share one uid in
 * one user namespace, so there the run's cgroup holds processes instead and the others stay
 * at the zygote's values (see SECURITY.md, "Kernel pools").
 */
export const PER_UID_RLIMITS: readonly string[] = ['RLIMIT_NPROC', 'RLIMIT_SIGPENDING'];

/**
 * The kernel rlimits the guest sets on itself before the program runs. Soft and
 * hard are both lowered, so the program cannot raise them again.
 * With cgroups, memory, CPU and processes are also held for the jail as a whole.
 */
export function guestRlimits(limits: Limits, withCgroups: boolean): Rlimit[] {
  const cpuSeconds = Math.max(1, Math.ceil(limits.cpuMs / 1000));
  const fileBytes = limits.workspaceMiB * MiB;
  const rl: Rlimit[] = [
    // SIGXCPU at the soft limit names the cause; SIGKILL one second later if it is ignored.
    ['RLIMIT_CPU', cpuSeconds, cpuSeconds + 1],
    // +1: bwrap's pid-1 reaper runs as the same uid.
    ['RLIMIT_NPROC', limits.processes + 1, limits.processes + 1],
    ['RLIMIT_NOFILE', limits.openFiles, limits.openFiles],
    ['RLIMIT_FSIZE', fileBytes, fileBytes],
    ['RLIMIT_CORE', 0, 0],
    ['RLIMIT_MEMLOCK', 0, 0],
    ['RLIMIT_MSGQUEUE', 0, 0],
    ['RLIMIT_RTPRIO', 0, 0],
    // Queued real-time signals and POSIX timers (each holds one queue entry), counted per uid.
    ['RLIMIT_SIGPENDING', SIGNALS_QUEUED, SIGNALS_QUEUED],
  ];
  if (!withCgroups) {
    // Without a memory cgroup, address space is the best the kernel offers.
    const bytes = limits.memoryMiB * MiB;
    rl.push(['RLIMIT_AS', bytes, bytes]);
  }
  return rl;
}
