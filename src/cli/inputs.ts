import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { normaliseWorkspacePath } from '../core/workspace-path.js';
import { limitsSchema, MAX_CODE_BYTES, type Limits } from '../sandbox/index.js';
import { readStreamBounded } from './io.js';
import { UsageError } from './usage-error.js';

export { MAX_CODE_BYTES };

/** The program's stdin given with `--stdin` is read into memory; this bounds it. */
export const MAX_STDIN_BYTES = 256 * 1024 * 1024;

/**
 * The program's stdin. `--stdin <host-path>` and `--stdin -` (pybox's own stdin): read
 * whole first, up to MAX_STDIN_BYTES. Without `--stdin`, for code from a file: pybox's
 * own stdin, handed over as the program reads it (`pybox run prog.py < input.txt`, a pipe,
 * an interactive exchange through a pipe), as `python3 prog.py` would get it; but not a
 * terminal, which stays out (empty stdin) so that a run does not wait on the keyboard.
 * For code read from stdin (`-`) stdin is spent: empty.
 */
export async function programStdin(codeSource: string, flag: string | undefined, stdin: Readable): Promise<Uint8Array | Readable | undefined> {
  if (flag === '-') {
    const read = await readStreamBounded(stdin, MAX_STDIN_BYTES);
    if (read === null) throw new UsageError(`stdin is more than ${MAX_STDIN_BYTES} bytes; the maximum for --stdin is ${MAX_STDIN_BYTES}`);
    return read;
  }
  if (flag !== undefined) return readHostFile(flag, MAX_STDIN_BYTES, '--stdin file');
  if (codeSource === '-' || (stdin as { isTTY?: boolean }).isTTY === true) return undefined;
  return stdin;
}

/** The bounds the library accepts for one limit, for messages that name the flag. */
export function limitBounds(key: keyof Limits): { min: number; max: number } {
  const schema = limitsSchema.shape[key] as unknown as { minValue: number | null; maxValue: number | null };
  return { min: schema.minValue ?? 0, max: schema.maxValue ?? Number.MAX_SAFE_INTEGER };
}

/**
 * A commander argument parser for a limit flag: digits only ("12abc", "1e3", "-1",
 * " 5" and "5.0" are all refused) and within the library's bounds for that limit.
 * Throws UsageError; the run command turns it into one line and exit 2.
 */
export function integerOption(flag: string, key: keyof Limits, unit: string): (value: string) => number {
  const { min, max } = limitBounds(key);
  return boundedIntegerOption(flag, unit, min, max);
}

/** integerOption's parser for a number in [min, max] that is not one of the Limits. */
export function boundedIntegerOption(flag: string, unit: string, min: number, max: number): (value: string) => number {
  return (value: string) => {
    if (!/^[0-9]+$/.test(value)) {
      throw new UsageError(`${flag} expects a whole number of ${unit}, got ${JSON.stringify(value)}`);
    }
    const n = Number(value);
    if (!Number.isSafeInteger(n) || n < min || n > max) {
      throw new UsageError(`${flag} must be between ${min} and ${max} ${unit}, got ${value}`);
    }
    return n;
  };
}

/** Reads a host file, refusing it when larger than `maxBytes`; `what` names it in errors. */
export function readHostFile(path: string, maxBytes: number, what: string): Buffer {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (error) {
    throw new UsageError(`cannot read ${what} ${JSON.stringify(path)}: ${errnoText(error)}`);
  }
  try {
    const stat = fstatSync(fd);
    if (stat.isDirectory()) throw new UsageError(`cannot read ${what} ${JSON.stringify(path)}: it is a directory`);
    if (stat.isFile() && stat.size > maxBytes) throw tooBig(what, path, stat.size, maxBytes);
    // Read to EOF (a FIFO or /dev/stdin has no size), never more than maxBytes + 1.
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const chunk = Buffer.allocUnsafe(Math.min(1 << 20, maxBytes + 1 - total));
      let n: number;
      try {
        n = readSync(fd, chunk, 0, chunk.length, null);
      } catch (error) {
        throw new UsageError(`cannot read ${what} ${JSON.stringify(path)}: ${errnoText(error)}`);
      }
      if (n === 0) break;
      chunks.push(chunk.subarray(0, n));
      total += n;
      if (total > maxBytes) throw tooBig(what, path, null, maxBytes);
    }
    return Buffer.concat(chunks, total);
  } finally {
    closeSync(fd);
  }
}

function tooBig(what: string, path: string, size: number | null, maxBytes: number): UsageError {
  const actual = size === null ? `more than ${maxBytes} bytes` : `${size} bytes`;
  return new UsageError(`${what} ${JSON.stringify(path)} is ${actual}; the maximum is ${maxBytes} bytes`);
}

function errnoText(error: unknown): string {
  const e = error as NodeJS.ErrnoException;
  switch (e.code) {
    case 'ENOENT':
      return 'no such file';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EISDIR':
      return 'it is a directory';
    default:
      return e.code ?? e.message;
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

/** The program's source: at most 1 MiB of valid UTF-8, from a host file or ("-") our stdin. */
export async function readCode(source: string, stdin: Readable): Promise<string> {
  let bytes: Buffer;
  if (source === '-') {
    const read = await readStreamBounded(stdin, MAX_CODE_BYTES);
    if (read === null) throw new UsageError(`code on stdin is more than ${MAX_CODE_BYTES} bytes; the maximum is ${MAX_CODE_BYTES} bytes`);
    bytes = read;
  } else {
    bytes = readHostFile(source, MAX_CODE_BYTES, 'code file');
  }
  try {
    return utf8.decode(bytes);
  } catch {
    const where = source === '-' ? 'code on stdin' : `code file ${JSON.stringify(source)}`;
    throw new UsageError(`${where} is not valid UTF-8 (at byte ${firstInvalidUtf8(bytes)})`);
  }
}

/** Offset of the first byte that breaks UTF-8, for the error message. */
function firstInvalidUtf8(bytes: Buffer): number {
  let lo = 0;
  let hi = bytes.length;
  // The longest valid prefix, by bisection (a valid prefix may end mid-sequence: allow 3 bytes).
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    try {
      new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(0, mid), { stream: true });
      lo = mid;
    } catch {
      hi = mid - 1;
    }
  }
  return lo;
}

/** `--file <sandbox-path>=<host-path>`: split at the first "=", both sides required. */
export function parseFileSpec(spec: string): { sandboxPath: string; hostPath: string } {
  const eq = spec.indexOf('=');
  if (eq <= 0 || eq === spec.length - 1) {
    throw new UsageError(`--file expects <sandbox-path>=<host-path>, got ${JSON.stringify(spec)}`);
  }
  const sandboxPath = spec.slice(0, eq);
  const hostPath = spec.slice(eq + 1);
  if (normaliseWorkspacePath(sandboxPath) === null) {
    throw new UsageError(
      `--file: sandbox path ${JSON.stringify(sandboxPath)} is not allowed (use a relative path inside /workspace without "..", "." or empty parts)`,
    );
  }
  return { sandboxPath, hostPath };
}
