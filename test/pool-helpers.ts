/**
 * Host checks for tests of the warm paths: "nothing of a run is left" must not count
 * warm jails that no run has claimed (they exist before any run), nor jails of other
 * pybox processes on this machine (their uids are locked by their own supervisor).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { sharedCgroups } from '../src/jail/environment.js';
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

/** Live processes in the jail uid range that belong to no idle warm jail of ours and to no other live pybox. */
export function runLeftovers(): string[] {
  // The candidates first, the inventory after: a warm jail forked in between is then
  // either not a candidate or already in the inventory.
  const candidates = readdirSync('/proc').filter((n) => /^\d+$/.test(n));
  const idle = new Set(idleWarmJails().pids);
  const found: string[] = [];
  for (const name of candidates) {
    const pid = Number(name);
    if (idle.has(pid)) continue;
    try {
      const status = readFileSync(`/proc/${name}/status`, 'utf8');
      if (/^State:\s+Z/m.test(status)) continue;
      const uid = Number(/^Uid:\s+(\d+)/m.exec(status)?.[1]);
      if (!(uid >= 62_000 && uid < 63_000)) continue;
      const owner = lockOwner(uid);
      if (owner !== null && owner !== process.pid && alive(owner)) continue; // another pybox on this host
      const cmd = readFileSync(`/proc/${name}/cmdline`, 'utf8').replace(/\0/g, ' ').slice(-60);
      const ppid = /^PPid:\s+(\d+)/m.exec(status)?.[1];
      const nspid = /^NSpid:\s+(.*)$/m.exec(status)?.[1]?.trim();
      found.push(`process ${pid} uid ${uid} (parent ${ppid}, ns pids ${nspid}): ${cmd}`);
    } catch {
      /* gone */
    }
  }
  const parent = /under (\S+)/.exec(sharedCgroups().detail)?.[1];
  if (parent && existsSync(parent)) {
    const dirs = readdirSync(parent, { withFileTypes: true }).filter((e) => e.isDirectory());
    const idleCg = new Set(idleWarmJails().cgroups);
    for (const e of dirs) if (!idleCg.has(e.name) && existsSync(join(parent, e.name))) found.push(`cgroup ${e.name}`);
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
  const found: string[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const status = readFileSync(`/proc/${name}/status`, 'utf8');
      if (/^State:\s+Z/m.test(status)) continue;
      const uid = Number(/^Uid:\s+(\d+)/m.exec(status)?.[1]);
      if (!(uid >= 62_000 && uid < 63_000)) continue;
      const owner = lockOwner(uid);
      if (owner !== null && owner !== process.pid && alive(owner)) continue;
      found.push(`process ${name} uid ${uid}`);
    } catch {
      /* gone */
    }
  }
  const parent = /under (\S+)/.exec(sharedCgroups().detail)?.[1];
  if (parent && existsSync(parent)) {
    for (const e of readdirSync(parent, { withFileTypes: true })) if (e.isDirectory()) found.push(`cgroup ${e.name}`);
  }
  return found;
}
