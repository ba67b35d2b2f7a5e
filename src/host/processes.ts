import { readdirSync, readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

/** State and start time of a process, from /proc/<pid>/stat, or null once it is gone. */
export function procStat(pid: number): { state: string; startTime: string } | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { state: fields[0] ?? '?', startTime: fields[19] ?? '' };
  } catch {
    return null;
  }
}

export function processStartTime(pid: number): string | null {
  return procStat(pid)?.startTime ?? null;
}

/** Children of a process (forked by any of its threads), from /proc; none once it is gone. */
export function childPids(pid: number): number[] {
  const out: number[] = [];
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const kids = readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim();
      if (kids) out.push(...kids.split(/\s+/).map(Number));
    }
  } catch {
    /* exited */
  }
  return out;
}

/** A process and all its descendants. */
export function withDescendants(root: number): number[] {
  const out: number[] = [];
  const todo = [root];
  while (todo.length > 0) {
    const pid = todo.pop() as number;
    out.push(pid);
    todo.push(...childPids(pid));
  }
  return out;
}

/** Whether a process exists (EPERM: it does, as another user's). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Resolves once the jail's pid 1 has finished exiting. The kernel kills every process
 * of a PID namespace and waits for them before its init completes exit, so "pid 1 is
 * gone or a zombie" means no process of the jail is left. bwrap's outer process can
 * exit a moment before that, so the verdict alone does not prove it.
 */
export async function waitForJailGone(pid: number | null, startTime: string | null, timeoutMs = 5000): Promise<boolean> {
  if (pid === null) return true;
  const started = performance.now();
  for (let delay = 0; ; delay = Math.min(delay + 1, 10)) {
    const stat = procStat(pid);
    if (!stat || stat.startTime !== startTime || stat.state === 'Z' || stat.state === 'X') return true;
    const waited = performance.now() - started;
    if (waited > timeoutMs) return false;
    // A pid 1 that is tearing its namespaces down is usually gone within a millisecond,
    // and a timer cannot wait less than one: look again at the next turn of the event
    // loop for that long (other I/O still runs in between), then back off.
    if (waited < SPIN_MS) {
      delay = 0;
      await new Promise((r) => setImmediate(r));
    } else await new Promise((r) => setTimeout(r, delay));
  }
}

/** How long waitForJailGone looks at every turn of the event loop before it sleeps. */
const SPIN_MS = 2;

/** A live process as its /proc/<pid>/status shows it. */
export interface HostProcess {
  pid: number;
  /** Real uid. */
  uid: number;
  /** The whole status text, for other fields (statusField). */
  status: string;
}

/** /proc/<pid>/status, or null once the process is gone. */
export function processStatus(pid: number | string): string | null {
  try {
    return readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return null;
  }
}

/** One field of a status text (`NSpid`, `Name`...), trimmed, or null. */
export function statusField(status: string, name: string): string | null {
  return new RegExp(`^${name}:\\s+(.*)$`, 'm').exec(status)?.[1]?.trim() ?? null;
}

/**
 * Every process on the host that is alive (not a zombie) when its status is read, from
 * `candidates` (default: all of /proc, listed first); those gone meanwhile are left out.
 */
export function hostProcesses(candidates: readonly string[] = readdirSync('/proc')): HostProcess[] {
  const found: HostProcess[] = [];
  for (const name of candidates) {
    if (!/^\d+$/.test(name)) continue;
    const status = processStatus(name);
    if (status === null || /^State:\s+Z/m.test(status)) continue;
    found.push({ pid: Number(name), uid: Number(/^Uid:\s+(\d+)/m.exec(status)?.[1]), status });
  }
  return found;
}

/** SIGKILLs every process of a jail uid; true when none is left. */
export async function killUidProcesses(uid: number): Promise<boolean> {
  for (let attempt = 0; attempt < 50; attempt++) {
    if (killProcessesOf(new Set([uid])).size === 0) return true;
    await new Promise((r) => setTimeout(r, 10));
  }
  return false;
}

/** SIGKILLs every live process of these uids; returns the uids that had one. */
export function killProcessesOf(uids: ReadonlySet<number>): Set<number> {
  const had = new Set<number>();
  for (const p of hostProcesses()) {
    if (!uids.has(p.uid)) continue;
    had.add(p.uid);
    try {
      process.kill(p.pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  return had;
}

/** Without cgroups: CPU of the sandbox's pid 1 and its children, sampled from /proc. */
export function processTreeCpuMs(pid: number | null): number | null {
  if (pid === null) return null;
  try {
    const ticksPerMs = 100 / 1000; // USER_HZ is 100 on Linux
    const stat = (p: number | string) => {
      const text = readFileSync(`/proc/${p}/stat`, 'utf8');
      const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
      // utime, stime, cutime, cstime are fields 14-17 (index 11-14 after the comm)
      return [11, 12, 13, 14].reduce((sum, i) => sum + Number(fields[i] ?? 0), 0);
    };
    let ticks = stat(pid);
    for (const c of childPids(pid)) ticks += stat(c);
    return ticks / ticksPerMs;
  } catch {
    return null;
  }
}
