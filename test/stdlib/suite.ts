/**
 * CPython's own test suite (Debian's libpython3.11-testsuite) run bare and in the jail,
 * test by test: test/stdlib/runner.py prints one "@stdlib {json}" line per outcome.
 */
import { execFile } from 'node:child_process';
import { chownSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Sandbox, RunResult } from '../../src/index.js';
import { JAIL_ENV } from '../../src/backends/native/jail/bwrap-argv.js';

export const PYTHON = '/usr/bin/python3';
export const RUNNER = readFileSync(new URL('./runner.py', import.meta.url), 'utf8');
const MARK = '@stdlib ';
/** Bare runs as this uid when the tests run as root: the jail's program is never root either. */
const NOBODY = 65_534;

export type Outcome = 'pass' | 'fail' | 'error' | 'skip' | 'xfail' | 'xpass' | 'done';

export interface ModuleRun {
  module: string;
  /** Worst outcome per test id (a failed subtest makes its test fail). */
  outcomes: Map<string, Outcome>;
  /** The runner reached the module's end (not killed, not crashed). */
  finished: boolean;
  /** How the run ended, for messages: the exit (bare) or the RunResult's status. */
  ended: string;
  details: Map<string, string>;
}

const RANK: Record<Outcome, number> = { done: 0, pass: 1, skip: 2, xfail: 2, xpass: 3, fail: 4, error: 5 };

export function parseRunnerOutput(module: string, stdout: string, ended: string): ModuleRun {
  const outcomes = new Map<string, Outcome>();
  const details = new Map<string, string>();
  let finished = false;
  for (const line of stdout.split('\n')) {
    if (!line.startsWith(MARK)) continue;
    let entry: { id: string; outcome: Outcome; detail: string };
    try {
      entry = JSON.parse(line.slice(MARK.length)) as typeof entry;
    } catch {
      continue; // a test wrote over our line: the test is then missing, never passed
    }
    if (entry.outcome === 'done') {
      finished = true;
      continue;
    }
    const before = outcomes.get(entry.id);
    if (before === undefined || RANK[entry.outcome] > RANK[before]) {
      outcomes.set(entry.id, entry.outcome);
      if (entry.detail) details.set(entry.id, entry.detail);
    }
  }
  return { module, outcomes, finished, ended, details };
}

export function passed(run: ModuleRun): Set<string> {
  return new Set([...run.outcomes].filter(([, o]) => o === 'pass').map(([id]) => id));
}

/** `python3 -I -S -B -c <runner> <module>`, as the jail runs Python, in a fresh directory with the jail's environment. */
export function runBare(module: string, timeoutMs: number): Promise<ModuleRun> {
  const asRoot = process.getuid?.() === 0;
  const home = mkdtempSync(join(tmpdir(), 'pybox-stdlib-'));
  if (asRoot) chownSync(home, NOBODY, NOBODY);
  const env = { ...JAIL_ENV, HOME: home, TMPDIR: home };
  return new Promise((resolve) => {
    execFile(
      PYTHON,
      ['-I', '-S', '-B', '-c', RUNNER, module],
      { cwd: home, env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, timeout: timeoutMs, killSignal: 'SIGKILL', ...(asRoot ? { uid: NOBODY, gid: NOBODY } : {}) },
      (error, stdout) => {
        rmSync(home, { recursive: true, force: true });
        resolve(parseRunnerOutput(module, stdout, error ? `bare: ${error.message.split('\n')[0]}` : 'bare: exit 0'));
      },
    );
  });
}

export async function runJailed(sandbox: Sandbox, module: string): Promise<{ run: ModuleRun; result: RunResult }> {
  const result = await sandbox.run(RUNNER, { argv: [module] });
  return { run: parseRunnerOutput(module, result.stdout, `pybox: ${result.status}`), result };
}

/** Runs `task` over `items`, at most `width` at a time, results in order. */
export async function inTurns<T, R>(items: readonly T[], width: number, task: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await task(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, worker));
  return results;
}
