import { readFileSync } from 'node:fs';

/**
 * Host uids for jails started by root. bwrap must never run as host root (a user
 * namespace maps the sandbox user to whoever started it), and one uid per live
 * jail keeps RLIMIT_NPROC and signals scoped to that jail alone.
 */
export class UidPool {
  private readonly free: number[] = [];
  private readonly busy = new Set<number>();

  constructor(first = 62_000, count = 1_000) {
    const taken = uidsInPasswd();
    for (let uid = first; uid < first + count; uid++) if (!taken.has(uid)) this.free.push(uid);
  }

  get available(): number {
    return this.free.length;
  }

  /** Returns a uid no other live jail uses, or null when all are busy. */
  acquire(): number | null {
    const uid = this.free.shift();
    if (uid === undefined) return null;
    this.busy.add(uid);
    return uid;
  }

  /** Call only once every process of the jail is gone; the uid goes to the back of the queue. */
  release(uid: number): void {
    if (this.busy.delete(uid)) this.free.push(uid);
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
