import { constants as fsc, openSync } from 'node:fs';
import { JAIL_FD_COUNT } from '../jail/bwrap-argv.js';
import { O_CLOEXEC } from '../jail/inherited-fds.js';
import { nextJailName, type CgroupLimits, type CgroupProvider, type JailCgroup } from '../cgroup/cgroups.js';

/**
 * Cgroups whose `tasks` files a zygote holds open from its start (cgroup v1), so that each
 * child's pid 1 moves itself in: its spares, the run it serves and one finishing. A fork
 * with no free slot has the host move its pid 1 in instead.
 */
export const CGROUP_SLOTS = 6;
/** Limits of a slot until a child's own are set, before its pid 1 joins. */
const SLOT_PLACEHOLDER: CgroupLimits = { memoryBytes: 256 * 1024 * 1024, pids: 64 };

/** A cgroup a zygote's children join by themselves, through files it opened at its start. */
export interface CgroupSlot {
  /** Its number in the zygote's configuration (the `S` command names it). */
  readonly index: number;
  readonly name: string;
  readonly cgroup: JailCgroup;
  /** free: empty, for the next fork; busy: a child's; dead: not reused (removed once empty). */
  state: 'free' | 'busy' | 'dead';
}

/**
 * One zygote's slots. A slot's `tasks` files are opened once, by the host, and handed to the
 * zygote; the host never gives a slot to a second child before it reads empty.
 */
export class CgroupSlots {
  private readonly slots: CgroupSlot[] = [];
  private readonly removing = new Map<string, Promise<boolean>>();

  constructor(private readonly provider: CgroupProvider) {}

  /** Names of the slots, from their creation until removed. */
  get names(): string[] {
    return [...this.slots.filter((s) => s.state !== 'dead').map((s) => s.name), ...this.removing.keys()];
  }

  /**
   * Makes the slots (cgroup v1 only: a jail can move itself in) and puts each one's `tasks`
   * files into the zygote's stdio, after its fixed fds. Returns their numbers in the zygote,
   * per slot, and the host's copies to close once it runs. Fewer slots, or none, when
   * cgroups cannot be made: forks then have the host move them in.
   */
  open(stdio: ('pipe' | 'ignore' | number)[]): { slotFds: number[][]; hostFds: number[] } {
    const slotFds: number[][] = [];
    const hostFds: number[] = [];
    if (!this.provider.selfJoin) return { slotFds, hostFds };
    let next = Math.max(stdio.length, JAIL_FD_COUNT);
    for (let index = 0; index < CGROUP_SLOTS; index++) {
      const name = nextJailName('zygote');
      let cgroup: JailCgroup;
      try {
        cgroup = this.provider.create(name, SLOT_PLACEHOLDER);
      } catch {
        break;
      }
      const slot: CgroupSlot = { index, name, cgroup, state: 'free' };
      this.slots.push(slot);
      try {
        const fds = (cgroup.selfJoinFiles(null) ?? []).map((f) => openSync(f, fsc.O_WRONLY | O_CLOEXEC));
        hostFds.push(...fds);
        const numbers = fds.map((fd) => {
          while (stdio.length < next) stdio.push('ignore');
          stdio[next] = fd;
          return next++;
        });
        slotFds.push(numbers);
      } catch {
        this.remove(slot);
        break;
      }
    }
    return { slotFds, hostFds };
  }

  /** A free slot set to these limits, or null (the host then moves the child in). */
  async take(limits: CgroupLimits): Promise<CgroupSlot | null> {
    const slot = this.slots.find((s) => s.state === 'free');
    if (!slot) return null;
    slot.state = 'busy';
    try {
      await slot.cgroup.retune(limits);
      return slot;
    } catch {
      this.remove(slot); // e.g. memory still charged to it above the new limit
      return null;
    }
  }

  /**
   * Back to free once empty (its child's namespace is gone), drained (nothing of the run
   * still charged to it) and `reuse`; else removed.
   */
  release(slot: CgroupSlot, reuse: () => boolean): void {
    if (slot.state !== 'busy') return;
    // Checked after the run's result is out: busy until then.
    setImmediate(() => {
      if (slot.state !== 'busy') return;
      const drained = reuse() && slot.cgroup.isEmpty() ? slot.cgroup.drain() : Promise.resolve(false);
      void drained.then((empty) => {
        if (slot.state !== 'busy') return; // removed meanwhile (close)
        if (empty && reuse()) slot.state = 'free';
        else this.remove(slot);
      });
    });
  }

  /** Removes every slot (its children are gone with the zygote) and waits until they are. */
  async close(): Promise<void> {
    for (const slot of this.slots) if (slot.state !== 'dead') this.remove(slot);
    await Promise.all(this.removing.values());
  }

  private remove(slot: CgroupSlot): void {
    slot.state = 'dead';
    const gone = slot.cgroup.destroy().finally(() => this.removing.delete(slot.name));
    this.removing.set(slot.name, gone);
  }
}
