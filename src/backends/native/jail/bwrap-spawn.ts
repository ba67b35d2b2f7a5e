import { spawn, type ChildProcess } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { BWRAP_SPAWN_OPTIONS, jailEtcFiles, JAIL_FD_COUNT, JAIL_FDS } from './bwrap-argv.js';
import { devNullFd, leakableFds } from './inherited-fds.js';

// Starting bwrap, for a bwrap jail and for a zygote's jail alike: its fds, its spawn and
// the files it reads at start-up.

export type JailStdio = ('pipe' | 'ignore' | number)[];

/** A pipe for each of the jail's fds, and every fd this process could leak into bwrap over /dev/null. */
export function jailStdio(): JailStdio {
  const stdio: JailStdio = Array.from({ length: JAIL_FD_COUNT }, () => 'pipe' as const);
  for (const leaked of leakableFds()) {
    while (stdio.length <= leaked) stdio.push('ignore');
    if (leaked >= JAIL_FD_COUNT) stdio[leaked] = devNullFd();
  }
  return stdio;
}

/** Spawns `command` (bwrap, or the shell that execs it) with no environment, as `uid` when given. Throws as spawn does. */
export function spawnJail(command: string, args: string[], stdio: JailStdio, uid: number | undefined): ChildProcess {
  const child = spawn(command, args, { stdio, ...BWRAP_SPAWN_OPTIONS, ...(uid !== undefined ? { uid, gid: uid } : {}) });
  for (let n = 0; n < JAIL_FD_COUNT; n++) jailFd(child, n)?.on('error', () => undefined);
  return child;
}

/** The host's end of the jail's fd `n`, if it is a pipe. */
export function jailFd(child: ChildProcess | null, n: number): (Readable & Writable) | null {
  return (child?.stdio[n] ?? null) as (Readable & Writable) | null;
}

/** Writes what bwrap and the jail read at start-up: bwrap's arguments and the jail's /etc files. */
export function sendStartFiles(child: ChildProcess, args: Buffer | string, ldCache: Buffer | null): void {
  jailFd(child, JAIL_FDS.args)?.end(args);
  for (const [n, data] of jailEtcFiles(ldCache)) jailFd(child, n)?.end(data);
}

/** Lets Node exit while the jail idles (a warm jail, a zygote): whoever waits on it holds the loop open. */
export function unrefJail(child: ChildProcess): void {
  child.unref();
  for (let n = 0; n < JAIL_FD_COUNT; n++) (jailFd(child, n) as unknown as { unref?: () => void } | null)?.unref?.();
}
