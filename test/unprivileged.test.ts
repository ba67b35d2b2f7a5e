/**
 * pybox run by an unprivileged user: no uid pool, no writable cgroups, so every limit
 * falls back to what the kernel enforces per process (rlimits) and to the supervisor's
 * timers. CI runs as root, so this suite runs the CLI as uid 65534 (nobody) from a copy of
 * its runtime files that nobody can read; as any other user it runs as that user.
 */
import { execFile } from 'node:child_process';
import { chmodSync, cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { liveProcesses } from './helpers/host-state.js';

const ROOT = new URL('..', import.meta.url).pathname;
const NOBODY = 65_534;
const asRoot = process.getuid?.() === 0;
const uid = asRoot ? NOBODY : (process.getuid?.() ?? NOBODY);

let home: string;

interface Outcome {
  code: number | null;
  stdout: string;
  stderr: string;
}

function pybox(args: string[], input = ''): Promise<Outcome> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [join(home, 'bin/pybox'), ...args],
      { cwd: home, encoding: 'utf8', maxBuffer: 16 * 1024 * 1024, timeout: 60_000, env: { PATH: process.env.PATH ?? '/usr/bin:/bin' }, ...(asRoot ? { uid: NOBODY, gid: NOBODY } : {}) },
      (error, stdout, stderr) => resolve({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout, stderr }),
    );
    child.stdin?.end(input);
  });
}

async function runJson(code: string, flags: string[] = []): Promise<{ status: string; stdout: string; error: { type: string } | null }> {
  const r = await pybox(['run', '--json', ...flags, '-'], code);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as { status: string; stdout: string; error: { type: string } | null };
}

/** Live processes of `uid`. */
function processesOf(uid: number): string[] {
  return liveProcesses((p) => p.uid === uid).map((p) => `${p.pid}: ${p.cmdline.slice(0, 80)}`);
}

beforeAll(() => {
  // The runtime only: the built code, the CLI and the runtime dependencies.
  home = mkdtempSync(join(tmpdir(), 'pybox-unprivileged-'));
  chmodSync(home, 0o755);
  const { dependencies } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
  for (const part of ['dist', 'bin', 'package.json', ...Object.keys(dependencies).map((name) => `node_modules/${name}`)]) {
    cpSync(join(ROOT, part), join(home, part), { recursive: true });
  }
  writeFileSync(join(home, 'probe.py'), 'print("hi from", __import__("os").getuid())\n');
});

afterAll(() => {
  rmSync(home, { recursive: true, force: true });
});

describe(`pybox as an unprivileged user (uid ${uid})`, () => {
  it('doctor says rlimits are in force and the pool is the fast path', async () => {
    const r = await pybox(['doctor', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as { ok: boolean; checks: { name: string; status: string; detail: string }[] };
    const byName = new Map(report.checks.map((c) => [c.name, c]));
    expect(report.ok).toBe(true);
    expect(byName.get('userns')?.status).toBe('ok');
    if (asRoot) {
      expect(byName.get('cgroups')?.detail).toMatch(/^no cgroups: .*using rlimits/);
      expect(byName.get('root')?.detail).toMatch(/running as uid 65534/);
      // the zygote needs cgroups (each run in its own before its code runs): auto picks the pool
      expect(byName.get('paths')?.detail).toMatch(/runs on the pool path here/);
      expect(byName.get('paths')?.detail).toMatch(/zygote: no \(/);
    }
  });

  it('runs a program', async () => {
    const r = await pybox(['run', 'probe.py']);
    expect(r).toEqual({ code: 0, stdout: 'hi from 1000\n', stderr: '' });
  });

  it('holds every limit with rlimits and timers', async () => {
    expect((await runJson('a = []\nwhile True: a.append(bytearray(1 << 20))', ['--memory', '64'])).status).toBe('memory_limit');
    expect((await runJson('while True: pass', ['--cpu', '500', '--timeout', '10000'])).status).toBe('cpu_limit');
    expect((await runJson('import time\ntime.sleep(30)', ['--timeout', '500'])).status).toBe('timeout');
    expect((await runJson('while True: print("x" * 1000)', ['--max-output', '10000'])).status).toBe('output_limit');
    const fork = await runJson(
      ['import os', 'n = 0', 'try:', '    while True:', '        if os.fork() == 0:', '            import time; time.sleep(5); os._exit(0)', '        n += 1', 'except OSError as e: print("stopped", n)'].join('\n'),
      ['--processes', '8', '--timeout', '5000'],
    );
    expect(fork.status).toBe('ok');
    expect(Number(/stopped (\d+)/.exec(fork.stdout)?.[1])).toBeLessThan(8);
  });

  it('leaves no process of that user behind', async () => {
    await runJson('import os\nif os.fork() == 0:\n    os.setsid()\n    import time; time.sleep(60)\nprint("parent done")');
    if (asRoot) expect(processesOf(NOBODY)).toEqual([]);
  });
});
