import { readFileSync } from 'node:fs';

// Warm jails are made at a lower priority and set back to normal once warm or claimed.
// Setting a process back (a lower nice value) needs CAP_SYS_NICE or an RLIMIT_NICE that
// allows nice 0; an unprivileged supervisor (a delegated cgroup, rootless containers) has
// neither, and its spares would run the user's code at the lower priority.

const CAP_SYS_NICE = 23n;

let cached: boolean | null = null;

/** Whether this process may set a process it lowered back to normal priority (nice 0). */
export function mayRestorePriority(): boolean {
  if (cached === null) cached = restoreAllowed(readOwn('status'), readOwn('limits'));
  return cached;
}

/** From /proc/self/status and /proc/self/limits (exported for tests). */
export function restoreAllowed(status: string, limits: string): boolean {
  const eff = /^CapEff:\s+([0-9a-f]+)/m.exec(status)?.[1];
  if (eff !== undefined && (BigInt(`0x${eff}`) >> CAP_SYS_NICE) & 1n) return true;
  // RLIMIT_NICE n lets a process go down to nice 20 - n: nice 0 needs n >= 20.
  const soft = /^Max nice priority\s+(\S+)/m.exec(limits)?.[1];
  return soft === 'unlimited' || Number(soft) >= 20;
}

function readOwn(name: string): string {
  try {
    return readFileSync(`/proc/self/${name}`, 'utf8');
  } catch {
    return '';
  }
}
