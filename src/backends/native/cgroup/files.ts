import { closeSync, openSync, readdirSync, readFileSync, readSync, rmdirSync, write, writeSync } from 'node:fs';
import { rmdir } from 'node:fs/promises';
import { join } from 'node:path';

// Reading and writing cgroupfs: kept-open files, cgroup.procs lists, removal, and the
// bounded polling the kernel's lazy frees need. Shared by v1, v2 and detection.

/** How long drain() waits for the kernel to free what a finished run held (bounded polling: no event says so). */
const DRAIN_WAITS_MS = [0, 1, 2, 4, 8, 16, 32, 64, 128];

/** Polls `settled` until it holds or DRAIN_WAITS_MS runs out. */
export async function settles(settled: () => Promise<boolean> | boolean): Promise<boolean> {
  for (const ms of DRAIN_WAITS_MS) {
    if (ms > 0) await new Promise((r) => setTimeout(r, ms));
    if (await settled()) return true;
  }
  return false;
}

export function parseNumber(text: string | null): number | null {
  if (text === null) return null;
  const value = Number(text.trim());
  return Number.isFinite(value) ? value : null;
}

export function parseKeyed(text: string | null, key: string): number | null {
  for (const line of (text ?? '').split('\n')) {
    const [k, v] = line.split(/\s+/);
    if (k === key && v !== undefined) return Number(v);
  }
  return null;
}

type FileMode = 'r' | 'w' | 'r+';

/**
 * The files of one cgroup, kept open: a cgroup reused run after run reads its counters and
 * moves processes in every time, and an open() on cgroupfs costs several times the read.
 * Reads and writes are at offset 0 (cgroup files are regenerated on each read).
 */
export class CgroupFiles {
  private readonly fds = new Map<string, number>();
  private static readonly buffer = Buffer.alloc(4096);

  private fd(path: string, mode: FileMode): number {
    const key = `${mode}${path}`;
    let fd = this.fds.get(key);
    if (fd === undefined) {
      fd = openSync(path, mode);
      this.fds.set(key, fd);
    }
    return fd;
  }
  read(path: string, mode: 'r' | 'r+' = 'r'): string | null {
    try {
      const n = readSync(this.fd(path, mode), CgroupFiles.buffer, 0, CgroupFiles.buffer.length, 0);
      return CgroupFiles.buffer.toString('utf8', 0, n);
    } catch {
      return null;
    }
  }
  number(path: string, mode: 'r' | 'r+' = 'r'): number | null {
    return parseNumber(this.read(path, mode));
  }
  keyed(path: string, key: string): number | null {
    return parseKeyed(this.read(path), key);
  }
  write(path: string, value: string, mode: 'w' | 'r+' = 'w'): void {
    writeSync(this.fd(path, mode), value, 0);
  }
  /** On libuv's thread pool: some writes wait on the kernel (see attachAsync). */
  writeAsync(path: string, value: string): Promise<void> {
    return new Promise((resolve, reject) => {
      let fd: number;
      try {
        fd = this.fd(path, 'w');
      } catch (error) {
        return reject(error as Error);
      }
      write(fd, value, 0, 'utf8', (error) => (error ? reject(error) : resolve()));
    });
  }
  closeAll(): void {
    for (const fd of this.fds.values()) {
      try {
        closeSync(fd);
      } catch {
        /* closed */
      }
    }
    this.fds.clear();
  }
}

/**
 * The pids a cgroup.procs file lists, or null when it cannot be read. Always a fresh open:
 * on v1 an open file keeps serving the list it built first for a while (the pidlist
 * cache), so a kept-open fd could show a stale one.
 */
export function procsOf(procsFile: string): number[] | null {
  try {
    return readFileSync(procsFile, 'utf8').split('\n').filter(Boolean).map(Number);
  } catch {
    return null;
  }
}

export const listsNoPid = (procsFile: string): boolean => procsOf(procsFile)?.length === 0;
export const listsPid = (procsFile: string, pid: number): boolean => procsOf(procsFile)?.includes(pid) ?? false;

export function killPidsIn(procsFile: string): number {
  let count = 0;
  for (const pid of procsOf(procsFile) ?? []) {
    if (!Number.isInteger(pid) || pid <= 1) continue;
    try {
      process.kill(pid, 'SIGKILL');
      count++;
    } catch {
      /* already gone */
    }
  }
  return count;
}

/** At exit: our parent cgroup and whatever empty cgroup is still under it (kept ones of a Sandbox never closed). */
export function removeTree(parent: string): void {
  try {
    for (const entry of readdirSync(parent, { withFileTypes: true })) if (entry.isDirectory()) tryRmdir(join(parent, entry.name));
  } catch {
    /* gone */
  }
  tryRmdir(parent);
}

export function tryRmdir(dir: string): void {
  try {
    rmdirSync(dir);
  } catch {
    /* busy or already gone */
  }
}

export async function removeDirs(dirs: string[], procsFiles: string[]): Promise<boolean> {
  for (let attempt = 0; attempt < 200; attempt++) {
    // All at once on libuv's pool: removing a v1 memory cgroup that held a run takes
    // ~0.1-0.2 ms of kernel work (its charges are moved to the parent).
    const gone = await Promise.all(dirs.map((d) => rmdir(d).then(() => true, (e: NodeJS.ErrnoException) => e.code === 'ENOENT')));
    if (gone.every(Boolean)) return true;
    for (const f of procsFiles) killPidsIn(f);
    await new Promise((r) => setTimeout(r, attempt < 20 ? 1 : 10));
  }
  return false;
}

/** Removes the given directories, all known empty; false when one is still busy. */
export function rmdirsEmpty(dirs: string[]): boolean {
  try {
    for (const dir of dirs) rmdirSync(dir);
    return true;
  } catch {
    return false;
  }
}

