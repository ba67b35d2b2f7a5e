/**
 * Which jail a run went through, seen from the host: a run's processes descend from one
 * child of this process (a cold or pool jail's bwrap, or the zygote that forked it).
 */
import { expect } from 'vitest';
import type { Sandbox } from '../../src/index.js';
import { idleWarmJails } from '../../src/backends/native/pool/inventory.js';
import { ourChildAbove, parentPid, runProcesses } from './host-state.js';
import { heldStdin, runUntilPrinted } from './wait.js';

/**
 * Runs a program on `sb` and, while it is live, finds the child of this process it runs
 * under. The run must succeed and be the only one of this process at the time.
 */
export async function jailOfRun(sb: Sandbox): Promise<number> {
  const { stdin, release } = heldStdin();
  const { result, printed } = runUntilPrinted(sb, 'import sys\nprint("up", flush=True)\nsys.stdin.read()\nprint("done")', 'up\n', { stdin });
  await printed;
  const above = [...new Set(runProcesses().map((p) => ourChildAbove(p.pid)))];
  release();
  const r = await result;
  expect(r.status, r.stderr).toBe('ok');
  expect(r.stdout).toBe('up\ndone\n');
  expect(above).toHaveLength(1);
  expect(above[0]).not.toBeNull();
  return above[0] as number;
}

/** The zygotes' outermost processes (a killed one takes its zygote down): idle pids whose parent is not one. */
export function zygoteProcesses(): number[] {
  const idle = idleWarmJails().pids;
  return idle.filter((pid) => !idle.includes(parentPid(pid)));
}
