import { withDescendants } from '../../../host/processes.js';
import { keptCgroups } from '../cgroup/cgroup-recycler.js';
import type { LiveJail } from '../jail/live-jail.js';
import { Zygote } from '../zygote/zygote.js';

/** Pids and cgroup names a source of jails keeps that no run uses. */
export interface Inventory {
  pids: number[];
  cgroups: string[];
}

/** What each open Sandbox's run paths keep: registered while open. */
const sources = new Set<{ inventory(): Inventory }>();

export function addInventorySource(source: { inventory(): Inventory }): void {
  sources.add(source);
}

export function removeInventorySource(source: { inventory(): Inventory }): void {
  sources.delete(source);
}

/**
 * Processes and cgroups of warm jails that no run has claimed yet (and of the zygotes
 * themselves, and the empty cgroups kept for later runs), across every open Sandbox in
 * this process. A check that "nothing of a run is left on the host" must not count these:
 * they exist before any run and never held one. A claimed jail leaves this inventory at
 * its claim.
 */
export function idleWarmJails(): Inventory {
  const pids = new Set<number>();
  const cgroups = new Set<string>();
  for (const source of sources) {
    const inv = source.inventory();
    inv.pids.forEach((p) => pids.add(p));
    inv.cgroups.forEach((c) => cgroups.add(c));
  }
  // Zygotes still starting, for any Sandbox of this process, and their slots.
  for (const z of Zygote.booting) {
    if (z.bwrapPid !== null) withDescendants(z.bwrapPid).forEach((p) => pids.add(p));
    z.childCgroups.forEach((c) => cgroups.add(c));
  }
  keptCgroups().forEach((c) => cgroups.add(c));
  return { pids: [...pids], cgroups: [...cgroups] };
}

/** The pids and cgroup of idle jails (warm, spare, or on their way out). */
export function jailsInventory(jails: Iterable<LiveJail>): Inventory {
  const pids: number[] = [];
  const cgroups: string[] = [];
  for (const jail of jails) {
    if (jail.rootPid !== null) pids.push(...withDescendants(jail.rootPid));
    if (jail.cgroupName) cgroups.push(jail.cgroupName);
  }
  return { pids, cgroups };
}

/**
 * Jails of one Sandbox outside the warm lists: those serving a run (claimed), and those on
 * their way out that never ran anything (discarded, ended while idle, forked while
 * closing): they stay in the inventory until released.
 */
export class IdleJails {
  readonly claimed = new Set<LiveJail>();
  readonly ending = new Set<LiveJail>();

  /** Releases a warm jail that ended without a run. */
  releaseIdle(jail: LiveJail): void {
    this.ending.add(jail);
    void jail.release().finally(() => this.ending.delete(jail));
  }

  /** Kills a warm jail no run will take, and releases it once gone. */
  discard(jail: LiveJail): void {
    this.ending.add(jail);
    jail.kill();
    void jail.ended.then(() => jail.release()).finally(() => this.ending.delete(jail));
  }
}
