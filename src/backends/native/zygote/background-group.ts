import { readFileSync, writeFileSync } from 'node:fs';

// A spare's set-up and warm-up are background work: they should wait for a run, not
// compete with it. With autogroup scheduling (kernel.sched_autogroup_enabled, the default of
// most distributions) a nice value only ranks processes within one session's group, and
// each run's pid 1 leads a session of its own (fork_server.py): the nice the zygote gives
// its children does not rank them below a run or the host. The group's own nice does. The
// zygote's own group stays at normal weight: it reports a pid 1's exit, which frees that
// jail's place in the zygote's budget for the next spare.
//
// It only applies to processes in the root cpu cgroup (cgroup v1 without the cpu
// controller, or none): on cgroup v2 each jail's cgroup has a cpu.weight instead.

/** A group's nice while it works in the background (weight 15 against 1024). */
const BACKGROUND_GROUP_NICE = 19;

/** Whether the host may write a pid 1's group: R is non-dumpable, its /proc files are root's. */
const canRaise = (): boolean => process.getuid?.() === 0;

/** Whether this process has an autogroup (autogroup scheduling is on). */
function hasAutogroup(): boolean {
  try {
    readFileSync('/proc/self/autogroup');
    return true;
  } catch {
    return false;
  }
}

/** Whether the groups can be set here (the host may lower and raise their nice). */
const usable = canRaise() && hasAutogroup();

/** Sets the nice of the group `pid` leads: `background` or normal. Best effort. */
export function setGroupBackground(pid: number, background: boolean): void {
  if (!usable) return;
  try {
    writeFileSync(`/proc/${pid}/autogroup`, String(background ? BACKGROUND_GROUP_NICE : 0));
  } catch {
    /* gone */
  }
}
