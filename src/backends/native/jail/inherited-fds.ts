import { openSync, readdirSync, readFileSync } from 'node:fs';

/** Linux's O_CLOEXEC, which Node's fs.constants does not export. */
export const O_CLOEXEC = 0o2000000;

/**
 * File descriptors this process inherited without close-on-exec. libuv passes such
 * fds to every child, bwrap passes them on into the jail, so each spawn overwrites
 * them with /dev/null (a stdio entry at their number). Read once: Node itself opens
 * everything with O_CLOEXEC, so only what we inherited at start can leak.
 */
let cached: number[] | null = null;

export function leakableFds(): number[] {
  if (cached) return cached;
  const fds: number[] = [];
  for (const name of readdirSync('/proc/self/fd')) {
    const fd = Number(name);
    if (fd < 3) continue;
    try {
      const flags = /flags:\s*([0-7]+)/.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'));
      if (flags && (parseInt(flags[1] ?? '0', 8) & O_CLOEXEC) === 0) fds.push(fd);
    } catch {
      /* closed meanwhile (the readdir fd itself) */
    }
  }
  cached = fds;
  return fds;
}

let devNull: number | null = null;

/** A read-only /dev/null fd (itself close-on-exec) to put over leaked fds. */
export function devNullFd(): number {
  devNull ??= openSync('/dev/null', 'r');
  return devNull;
}
