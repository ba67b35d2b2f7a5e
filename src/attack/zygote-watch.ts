/**
 * Host-side evidence for attacks on the fork-server itself (`detect: zygote`): every
 * zygote alive before the run must be alive after it, as the same process (pid and start
 * time) and not stopped; and the host's cgroup path, which inside a jail only the
 * zygote's open `tasks` files name, must never reach the output. On other paths there is
 * no zygote and nothing to check.
 */
import { idleWarmJails, processStatus, procStat, statusField } from '../backends/native/index.js';
import type { RunResult } from '../sandbox/index.js';

export interface ZygoteProcess {
  pid: number;
  startTime: string;
}

/** The zygotes of this process's Sandboxes: python as pid 1 of its jail's pid namespace (bwrap --as-pid-1). */
export function zygoteServers(): ZygoteProcess[] {
  const found: ZygoteProcess[] = [];
  for (const pid of idleWarmJails().pids) {
    const status = processStatus(pid);
    if (status === null) continue; // exited while we looked
    const levels = (statusField(status, 'NSpid') ?? '').split(/\s+/);
    const name = statusField(status, 'Name') ?? '';
    const stat = procStat(pid);
    if (levels.length === 2 && levels[1] === '1' && name.startsWith('python') && stat) found.push({ pid, startTime: stat.startTime });
  }
  return found;
}

/** Where the host keeps this process's cgroups: named only by the zygote's slot files. */
export function hostCgroupMark(): string {
  return `pybox-${process.pid}/`;
}

/** What the run did to the zygotes alive before it (`before`), and whether it learnt the host's cgroup path. */
export function zygoteEvidence(before: readonly ZygoteProcess[], result: RunResult): string[] {
  const ev: string[] = [];
  for (const z of before) {
    const now = procStat(z.pid);
    if (!now || now.startTime !== z.startTime) ev.push(`zygote pid ${z.pid} did not survive the run`);
    else if (/^[TtZX]/.test(now.state)) ev.push(`zygote pid ${z.pid} was left in state ${now.state}`);
  }
  const mark = hostCgroupMark();
  if ((result.stdout + result.stderr).includes(mark)) ev.push(`the host's cgroup path (${mark}...), which only the zygote's fds name, reached the output`);
  return ev;
}
