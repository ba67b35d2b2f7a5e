/**
 * Jail uids after a supervisor died with kill -9. A jail whose bwrap was killed while its
 * child waited for its uid map leaves that child asleep forever, in no cgroup: only its uid
 * says whose it was. The uid's lock names the dead supervisor, so the next start kills it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { UidPool } from '../src/backends/native/jail/uid-pool.js';

const isRoot = process.getuid?.() === 0;
/** Uids of this test only, outside the pool's default range (62000-62999). */
const FIRST = 64_900;

/** A pid that was a process's and is no more: the dead supervisor's. */
async function deadPid(): Promise<number> {
  const child = spawn('true');
  await new Promise((resolve) => child.once('exit', resolve));
  return child.pid as number;
}

/** A process of `uid` that sleeps, as the orphan does. Resolves once it runs. */
async function leftover(uid: number): Promise<{ child: ChildProcess; exited: Promise<NodeJS.Signals | null> }> {
  const child = spawn('sleep', ['1000'], { uid, gid: uid, stdio: 'ignore' });
  await new Promise((resolve, reject) => child.once('spawn', resolve).once('error', reject));
  return { child, exited: new Promise((resolve) => child.once('exit', (_code, signal) => resolve(signal))) };
}

const spawned: ChildProcess[] = [];
const dirs: string[] = [];
afterEach(() => {
  for (const c of spawned.splice(0)) c.kill('SIGKILL');
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('jail uids a supervisor killed with kill -9 left', () => {
  it.runIf(isRoot)('orphan-after-host-kill-mid-spawn: a process left under a dead supervisor’s uid is killed at the next start, and the uid is handed out again (root: runs processes as other uids)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pybox-uids-'));
    dirs.push(dir);
    const dead = await deadPid();
    const orphan = await leftover(FIRST);
    spawned.push(orphan.child);
    writeFileSync(join(dir, String(FIRST)), String(dead));

    const pool = new UidPool(FIRST, 4, dir);
    expect(await orphan.exited).toBe('SIGKILL');
    expect(pool.acquire()).toBe(FIRST);
    expect(readFileSync(join(dir, String(FIRST)), 'utf8')).toBe(String(process.pid));
  });

  it.runIf(isRoot)('a stale lock met at acquire: its uid’s leftover is killed and that uid skipped until it is gone (root: runs processes as other uids)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pybox-uids-'));
    dirs.push(dir);
    const pool = new UidPool(FIRST, 3, dir);
    const dead = await deadPid();
    const orphan = await leftover(FIRST);
    spawned.push(orphan.child);
    writeFileSync(join(dir, String(FIRST)), String(dead));

    expect(pool.acquire()).toBe(FIRST + 1); // FIRST's leftover was alive: killed, not handed out
    expect(await orphan.exited).toBe('SIGKILL');
    expect(pool.acquire()).toBe(FIRST + 2);
    expect(pool.acquire()).toBe(FIRST); // gone now: its stale lock is taken over
  });

  it('a live supervisor’s lock is never swept: its uid stays its own', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pybox-uids-'));
    dirs.push(dir);
    writeFileSync(join(dir, String(FIRST)), String(process.pid)); // held by a live process (this one)
    const pool = new UidPool(FIRST, 2, dir);
    expect(pool.acquire()).toBe(FIRST + 1);
    expect(pool.acquire()).toBeNull();
    expect(readFileSync(join(dir, String(FIRST)), 'utf8')).toBe(String(process.pid));
  });
});
