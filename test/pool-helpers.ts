/**
 * Host checks for tests of the warm paths: "nothing of a run is left" must not count
 * warm jails that no run has claimed (they exist before any run), nor jails of other
 * pybox processes on this machine (their uids are locked by their own supervisor).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { jailCgroupNames, liveJailProcesses } from './helpers/host-state.js';
import { UID_LOCK_DIR } from '../src/jail/uid-pool.js';
import { idleWarmJails } from '../src/pool/pool.js';

function lockOwner(uid: number): number | null {
  try {
    return Number(readFileSync(join(UID_LOCK_DIR, String(uid)), 'utf8')) || null;
  } catch {
    return null;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A jail uid locked by another live pybox process on this host is not ours to judge. */
function otherPybox(uid: number): boolean {
  const owner = lockOwner(uid);
  return owner !== null && owner !== process.pid && alive(owner);
}

/** Live processes in the jail uid range that belong to no idle warm jail of ours and to no other live pybox. */
export function runLeftovers(): string[] {
  // The candidates first, the inventory after: a warm jail forked in between is then
  // either not a candidate or already in the inventory.
  const candidates = readdirSync('/proc');
  const idle = new Set(idleWarmJails().pids);
  const found = liveJailProcesses(undefined, candidates)
    .filter((p) => !idle.has(p.pid) && !otherPybox(p.uid))
    .map((p) => {
      const ppid = /^PPid:\s+(\d+)/m.exec(p.status)?.[1];
      const nspid = /^NSpid:\s+(.*)$/m.exec(p.status)?.[1]?.trim();
      return `process ${p.pid} uid ${p.uid} (parent ${ppid}, ns pids ${nspid}): ${p.cmdline.slice(-60)}`;
    });
  const cgroups = jailCgroupNames();
  if (cgroups) {
    const idleCg = new Set(idleWarmJails().cgroups);
    for (const name of cgroups.names) if (!idleCg.has(name) && existsSync(join(cgroups.parent, name))) found.push(`cgroup ${name}`);
  }
  return found;
}

/** Leftovers can take a moment to settle (a warm jail being replaced); retry briefly. */
export async function expectNoRunLeftovers(timeoutMs = 2000): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  let left = runLeftovers();
  while (left.length > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
    left = runLeftovers();
  }
  return left;
}

/** Everything pybox-owned by this process, warm or not (after close() this must be empty). */
export function allOurJails(): string[] {
  const found = liveJailProcesses()
    .filter((p) => !otherPybox(p.uid))
    .map((p) => `process ${p.pid} uid ${p.uid}`);
  for (const name of jailCgroupNames()?.names ?? []) found.push(`cgroup ${name}`);
  return found;
}
