import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { killProcessesOf } from '../../../host/processes.js';

/**
 * Host uids for jails started by root. bwrap must never run as host root (a user
 * namespace maps the sandbox user to whoever started it), and one uid per live
 * jail keeps RLIMIT_NPROC and signals scoped to that jail alone. A lock file per
 * uid keeps two pybox processes on one host from handing out the same uid.
 */
export const UID_LOCK_DIR = '/run/pybox-uids';

export class UidPool {
  private readonly free: number[] = [];
  private readonly busy = new Set<number>();

  constructor(
    readonly first = 62_000,
    readonly count = 1_000,
    private readonly lockDir = UID_LOCK_DIR,
  ) {
    const taken = uidsInPasswd();
    for (let uid = first; uid < first + count; uid++) if (!taken.has(uid)) this.free.push(uid);
    mkdirSync(lockDir, { recursive: true, mode: 0o700 });
    this.sweepDeadOwners();
  }

  /**
   * What a supervisor killed with kill -9 left under its uids: a jail's process that no
   * cgroup holds (bwrap's child, killed with its parent while it waited for its uid map,
   * sleeps forever). Its uid's lock names a dead owner, so every process of that uid is
   * such a leftover: killed, and the lock removed once none is left.
   */
  private sweepDeadOwners(): void {
    let names: string[];
    try {
      names = readdirSync(this.lockDir);
    } catch {
      return;
    }
    const uids = names.map(Number).filter((uid) => Number.isInteger(uid) && uid >= this.first && uid < this.first + this.count);
    const stale = new Set(uids.filter((uid) => staleLock(join(this.lockDir, String(uid)))));
    if (stale.size === 0) return;
    const left = killProcessesOf(stale);
    // A uid whose leftovers are still dying keeps its stale lock: lock() sweeps it again.
    for (const uid of stale) if (!left.has(uid)) removeLock(join(this.lockDir, String(uid)));
  }

  get available(): number {
    return this.free.length;
  }

  /** Returns a uid no other live jail on this host uses, or null when all are busy. */
  acquire(): number | null {
    for (let tries = this.free.length; tries > 0; tries--) {
      const uid = this.free.shift() as number;
      if (this.lock(uid)) {
        this.busy.add(uid);
        return uid;
      }
      this.free.push(uid); // another pybox process holds it
    }
    return null;
  }

  /** Call only once every process of the jail is gone; the uid goes to the back of the queue. */
  release(uid: number): void {
    if (!this.busy.delete(uid)) return;
    try {
      unlinkSync(join(this.lockDir, String(uid)));
    } catch {
      /* already gone */
    }
    this.free.push(uid);
  }

  private lock(uid: number): boolean {
    const path = join(this.lockDir, String(uid));
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const fd = openSync(path, 'wx', 0o600);
        writeSync(fd, String(process.pid));
        closeSync(fd);
        return true;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        if (!staleLock(path)) return false;
        // Its dead owner's jail may have left a process under this uid (see sweepDeadOwners).
        if (killProcessesOf(new Set([uid])).size > 0 || !removeLock(path)) return false;
      }
    }
    return false;
  }
}

function removeLock(path: string): boolean {
  try {
    unlinkSync(path);
    return true;
  } catch {
    return false;
  }
}

/** A lock whose owner process is gone (a crashed supervisor) can be taken over. */
function staleLock(path: string): boolean {
  try {
    const text = readFileSync(path, 'utf8');
    if (text === '') return false; // its owner is between creating and writing it
    const pid = Number(text);
    if (!Number.isInteger(pid) || pid <= 0) return true;
    process.kill(pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

function uidsInPasswd(): Set<number> {
  const taken = new Set<number>();
  try {
    for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
      const uid = Number(line.split(':')[2]);
      if (Number.isInteger(uid)) taken.add(uid);
    }
  } catch {
    /* no passwd: nothing to avoid */
  }
  return taken;
}
