/**
 * pybox run by an unprivileged user: no uid pool, no writable cgroups, so every limit
 * falls back to what the kernel enforces per process (rlimits) and to the supervisor's
 * timers. CI runs as root, so this suite runs the CLI as uid 65534 (nobody) from a copy of
 * its runtime files that nobody can read; as any other user it runs as that user.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pybox as pyboxAt, ROOT, type Outcome } from './helpers/cli.js';
import { liveProcesses } from './helpers/host-state.js';

const NOBODY = 65_534;
const asRoot = process.getuid?.() === 0;
const uid = asRoot ? NOBODY : (process.getuid?.() ?? NOBODY);

let home: string;

/** pybox from the copy in `home`, as `uid`, with nothing of this process's environment but PATH. */
function pybox(args: string[], input = ''): Promise<Outcome> {
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin' };
  return pyboxAt(args, { input, home, env, timeoutMs: 60_000, ...(asRoot ? { uid: NOBODY } : {}) });
}

async function runJson(code: string, flags: string[] = []): Promise<{ status: string; stdout: string; error: { type: string } | null }> {
  const r = await pybox(['run', '--json', ...flags, '-'], code);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as { status: string; stdout: string; error: { type: string } | null };
}

/** `pybox doctor --json`, which must exit 0 and find the host ok: its checks by name. */
async function doctor(): Promise<Map<string, { status: string; detail: string }>> {
  const r = await pybox(['doctor', '--json']);
  expect(r.code, r.stderr).toBe(0);
  const report = JSON.parse(r.stdout) as { ok: boolean; checks: { name: string; status: string; detail: string }[] };
  expect(report.ok).toBe(true);
  return new Map(report.checks.map((c) => [c.name, c]));
}

/** Live processes of `uid`. */
function processesOf(uid: number): string[] {
  return liveProcesses((p) => p.uid === uid).map((p) => `${p.pid}: ${p.cmdline.slice(0, 80)}`);
}

beforeAll(() => {
  // The runtime only: the built code, the CLI and the runtime dependencies (theirs too).
  home = mkdtempSync(join(tmpdir(), 'pybox-unprivileged-'));
  chmodSync(home, 0o755);
  const runtime = execFileSync('npm', ['ls', '--omit=dev', '--all', '--parseable'], { cwd: ROOT, encoding: 'utf8' })
    .split('\n')
    .filter((path) => path.startsWith(join(ROOT, 'node_modules/')))
    .map((path) => relative(ROOT, path));
  for (const part of ['dist', 'bin', 'package.json', ...runtime]) {
    cpSync(join(ROOT, part), join(home, part), { recursive: true });
  }
  writeFileSync(join(home, 'probe.py'), 'print("hi from", __import__("os").getuid())\n');
});

afterAll(() => {
  rmSync(home, { recursive: true, force: true });
});

describe(`pybox as an unprivileged user (uid ${uid})`, () => {
  it('doctor finds the jail usable', async () => {
    const byName = await doctor();
    expect(byName.get('userns')?.status).toBe('ok');
  });

  it.runIf(asRoot)('doctor says rlimits are in force and the pool is the fast path (needs root: only root can start it as nobody, whom no cgroup is delegated to)', async () => {
    const byName = await doctor();
    expect(byName.get('cgroups')?.detail).toMatch(/^no cgroups: .*using rlimits/);
    expect(byName.get('root')?.detail).toMatch(/running as uid 65534/);
    // the zygote needs cgroups (each run in its own before its code runs): auto picks the pool
    expect(byName.get('paths')?.detail).toMatch(/runs on the pool path here/);
    expect(byName.get('paths')?.detail).toMatch(/zygote: no \(/);
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

  it.runIf(asRoot)('leaves no process of that user behind (needs root: as any other user, the test runner is one of that user\'s processes)', async () => {
    const r = await runJson('import os\nif os.fork() == 0:\n    os.setsid()\n    import time; time.sleep(60)\nprint("parent done")');
    expect(r).toMatchObject({ status: 'ok', stdout: 'parent done\n' });
    expect(processesOf(NOBODY)).toEqual([]);
  });
});
