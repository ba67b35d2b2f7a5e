import { readFileSync, writeFileSync } from 'node:fs';

// The zygote's work is background work: forking spares, their set-up and warm-up, and each
// finished run's pid 1 exiting and taking its namespaces down. With autogroup scheduling
// (kernel.sched_autogroup_enabled, the default of most distributions) a nice value only
// ranks processes within one session's group: the zygote leads a session of its own
// (bwrap --new-session), and so does each run's pid 1 (fork_server.py), so their nice
// values do not rank them below a run or the host. A group's own nice does: the zygote's
// group stays low, and each child's group is low until it is readied or claimed, and again
// once its run has answered.
//
// It only applies to processes in the root cpu cgroup (cgroup v1 without the cpu
// controller, or none): on cgroup v2 each jail's cgroup has a cpu.weight instead.

/** The group's nice while the zygote works in the background (weight 15 against 1024). */
const BACKGROUND_GROUP_NICE = 19;

/** Whether the host may lower and raise a group's nice (raising back needs CAP_SYS_NICE). */
const canRaise = (): boolean => process.getuid?.() === 0;

/** The autogroup line of `pid` ("/autogroup-N nice M"), or null where there is none. */
function autogroupOf(pid: number | 'self'): string | null {
  try {
    return readFileSync(`/proc/${pid}/autogroup`, 'utf8').split(' nice ')[0] ?? null;
  } catch {
    return null;
  }
}

/** Whether the groups can be set here (the host may lower and raise their nice). */
const usable = canRaise() && autogroupOf('self') !== null;

/** Sets the nice of the group `pid` leads: `background` or normal. Best effort. */
export function setGroupBackground(pid: number, background: boolean): void {
  if (!usable) return;
  try {
    writeFileSync(`/proc/${pid}/autogroup`, String(background ? BACKGROUND_GROUP_NICE : 0));
  } catch {
    /* gone */
  }
}

/**
 * The scheduling group of one zygote: in the background while it has slack (a readied
 * spare for its next run), at normal weight while it has none or a run waits for one of
 * its children (a starved refill would otherwise hold runs up).
 */
export class BackgroundGroup {
  private waiting = 0;
  private slack = true;
  private current: boolean | null = null;

  private constructor(private readonly pid: number) {}

  /** The zygote's group, if it has one apart from ours and we may set its nice both ways. */
  static of(pid: number): BackgroundGroup | null {
    if (!usable) return null;
    const theirs = autogroupOf(pid);
    if (theirs === null || theirs === autogroupOf('self')) return null;
    const group = new BackgroundGroup(pid);
    group.apply();
    return group;
  }

  /** Whether the zygote has a readied spare for its next run. */
  setSlack(slack: boolean): void {
    this.slack = slack;
    this.apply();
  }

  /** Runs at normal weight until `wait` settles: a run is waiting for the zygote. */
  async hurry<T>(wait: Promise<T>): Promise<T> {
    this.waiting++;
    this.apply();
    try {
      return await wait;
    } finally {
      this.waiting--;
      this.apply();
    }
  }

  private apply(): void {
    const background = this.slack && this.waiting === 0;
    if (background === this.current) return;
    this.current = background;
    setGroupBackground(this.pid, background);
  }
}
