import { closeSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';

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
        try {
          unlinkSync(path);
        } catch {
          return false;
        }
      }
    }
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
