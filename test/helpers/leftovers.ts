/**
 * Host checks for tests of the warm paths: "nothing of a run is left" must not count
 * warm jails that no run has claimed (they exist before any run), nor jails of other
 * pybox processes on this machine (their uids are locked by their own supervisor).
 */
import { afterEach, beforeEach, expect } from 'vitest';
import { hostLeftovers, jailCgroupNames, liveJailProcesses, otherPybox, runLeftovers, snapshotHost, type HostSnapshot } from './host-state.js';
import { scaled } from './time-scale.js';

export { runLeftovers };

/** Leftovers can take a moment to settle (a warm jail being replaced); look again until then. */
export async function expectNoRunLeftovers(timeoutMs = scaled(2000)): Promise<string[]> {
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

/**
 * Each test of the enclosing block must leave the host as it found it: no process, cgroup,
 * mount or temp entry of a run (nor a process with `marker` in its command line).
 */
export function hostUnchangedByEachTest(marker?: string): void {
  let before: HostSnapshot;
  beforeEach(() => {
    before = snapshotHost();
  });
  afterEach(() => {
    expect(hostLeftovers(before, marker)).toEqual([]);
  });
}
