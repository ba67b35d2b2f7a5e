/**
 * Host checks for tests of the warm paths: "nothing of a run is left" must not count
 * warm jails that no run has claimed (they exist before any run), nor jails of other
 * pybox processes on this machine (their uids are locked by their own supervisor).
 */
import { afterEach, expect } from 'vitest';
import { Sandbox } from '../src/index.js';
import { jailCgroupNames, liveJailProcesses, otherPybox, runLeftovers } from './helpers/host-state.js';

export { runLeftovers };

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

/**
 * Sandboxes made with `make` are closed after each test, which then checks that nothing
 * of them (warm or not) is left.
 */
export function sandboxesClosedAfterEach(): {
  make: (options: Parameters<typeof Sandbox.create>[0]) => Promise<Sandbox>;
  sleep: (ms: number) => Promise<void>;
  until: (check: () => boolean, ms?: number) => Promise<void>;
} {
  const open: Sandbox[] = [];
  const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
  afterEach(async () => {
    for (const s of open.splice(0)) await s.close();
    expect(allOurJails()).toEqual([]);
  });
  return {
    async make(options) {
      const s = await Sandbox.create(options);
      open.push(s);
      return s;
    },
    sleep,
    async until(check, ms = 5000) {
      const end = Date.now() + ms;
      while (!check() && Date.now() < end) await sleep(20);
    },
  };
}
