import type { Limits } from '../../../core/limits.js';

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
 * With cgroups, RLIMIT_CPU is a backstop at this many times the budget: the supervisor
 * ends the run at the budget from the cgroup's exact counter. The kernel checks the rlimit
 * against a per-tick sample of the process's CPU, which under contention runs ahead of the
 * exact count (SIGXCPU at 1 s came after 0.84 s of real CPU here, four busy processes on two
 * CPUs); an rlimit at the budget fired first and the death was not the limit's. At twice
 * the budget it fires only if the supervisor stopped watching, and the run is past its
 * budget by the exact counter too.
 */
export const CPU_BACKSTOP_FACTOR = 2;

/**
 * RLIMIT_CPU's soft limit, in seconds on top of what the guest used before its request.
 * Without cgroups it is the per-process limit itself (the supervisor only samples /proc).
 */
export function rlimitCpuSeconds(cpuMs: number, withCgroups: boolean): number {
  return Math.max(1, Math.ceil((cpuMs * (withCgroups ? CPU_BACKSTOP_FACTOR : 1)) / 1000));
}

/**
 * The kernel rlimits the guest sets on itself before the program runs. Soft and
 * hard are both lowered, so the program cannot raise them again.
 * With cgroups, memory, CPU and processes are also held for the jail as a whole.
 */
export function guestRlimits(limits: Limits, withCgroups: boolean): Rlimit[] {
  const cpuSeconds = rlimitCpuSeconds(limits.cpuMs, withCgroups);
  const fileBytes = limits.workspaceMiB * MiB;
  const rl: Rlimit[] = [
    // SIGXCPU at the soft limit; SIGKILL one second later if it is ignored. Seconds from
    // the request on: the guest adds what it used before (apply_rlimits in the bootstrap).
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
