/** The `pybox` command line, spawned for real (bin/pybox runs the built dist/, kept fresh by fresh-build.ts). */
import { execFile, spawn, type ChildProcess, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The project's root: where bin/pybox and dist/ are. */
export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface Outcome {
  /** The exit code; null when it ended on a signal (or its time ran out). */
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface PyboxCall {
  /** All of its stdin (default: empty, and closed). */
  input?: string | Buffer;
  /** The copy of pybox to run (its bin/pybox) and its working directory. Default: ROOT. */
  home?: string;
  env?: NodeJS.ProcessEnv;
  /** Run as this user (host root only). */
  uid?: number;
  gid?: number;
  /** Killed after this long. Default: none (the test's own timeout). */
  timeoutMs?: number;
}

/** Runs `pybox ...args` to its end. */
export function pybox(args: string[], call: PyboxCall = {}): Promise<Outcome> {
  const home = call.home ?? ROOT;
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [join(home, 'bin/pybox'), ...args],
      {
        cwd: home,
        encoding: 'utf8',
        maxBuffer: 64 * 1024 * 1024,
        timeout: call.timeoutMs ?? 0,
        ...(call.env ? { env: call.env } : {}),
        ...(call.uid !== undefined ? { uid: call.uid, gid: call.gid ?? call.uid } : {}),
      },
      (error, stdout, stderr) => resolve({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout, stderr }),
    );
    child.stdin?.end(call.input ?? '');
  });
}

/** Starts `pybox ...args`, its stdin a pipe (or the given open file), for a test that talks to it as it runs. */
export function spawnPybox(args: string[]): ChildProcessWithoutNullStreams;
export function spawnPybox(args: string[], stdinFd: number): ChildProcess;
export function spawnPybox(args: string[], stdinFd?: number): ChildProcess {
  return spawn(process.execPath, [join(ROOT, 'bin/pybox'), ...args], { cwd: ROOT, stdio: [stdinFd ?? 'pipe', 'pipe', 'pipe'] });
}

/** Exit code and output of a spawned pybox once it has exited. */
export function outcome(child: ChildProcess): Promise<Outcome> {
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}
