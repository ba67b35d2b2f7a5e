/**
 * What differs between the paths a run can take (a cold jail, a warm pooled jail, a
 * zygote-forked jail) must not show: exact limit counts, limits retuned at the claim,
 * CPU counted from the claim, priority, workspace sizes, concurrency. The attacks and
 * limit verdicts themselves run on every path in test/containment.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Sandbox } from '../src/index.js';
import { sharedCgroups } from '../src/backends/native/jail/environment.js';
import type { CgroupProvider } from '../src/backends/native/cgroup/cgroups.js';
import type { HostFacts } from '../src/host/probe.js';
import { allOurJails, expectNoRunLeftovers } from './helpers/leftovers.js';
import { PATHS, sandboxesForBlock } from './helpers/sandboxes.js';
import { until } from './helpers/wait.js';
import { scaled } from './helpers/time-scale.js';

const py = (lines: string[]) => lines.join('\n');

/**
 * Host conditions forced at the module boundary, while a test asks for them: a host with
 * no /bin/sh (for Sandboxes created meanwhile), and cgroups whose tasks files a jail's own
 * uid cannot write (for jails started meanwhile).
 */
const forced = vi.hoisted(() => ({ noShell: false, unwritableTasks: false }));
vi.mock('../src/host/probe.js', async (original) => {
  const probe = await original<typeof import('../src/host/probe.js')>();
  return { ...probe, probeHost: (...args: Parameters<typeof probe.probeHost>): HostFacts => ({ ...probe.probeHost(...args), ...(forced.noShell ? { shell: null } : {}) }) };
});
vi.mock('../src/backends/native/cgroup/detect.js', async (original) => {
  const cgroups = await original<typeof import('../src/backends/native/cgroup/detect.js')>();
  const detectCgroups = (...args: Parameters<typeof cgroups.detectCgroups>): CgroupProvider => {
    const provider = cgroups.detectCgroups(...args);
    const create = provider.create.bind(provider);
    provider.create = (...a) => {
      const cgroup = create(...a);
      const files = cgroup.selfJoinFiles.bind(cgroup);
      // The tasks files stay root's: the shell, running as the jail's uid, cannot write them.
      cgroup.selfJoinFiles = (uid) => files(forced.unwritableTasks ? null : uid);
      return cgroup;
    };
    return provider;
  };
  return { ...cgroups, detectCgroups };
});

describe.each(PATHS)('path %s', (mode) => {
  const limits = { timeoutMs: scaled(5000), cpuMs: scaled(3000), memoryMiB: 128, processes: 16 };
  const { sandbox, open } = sandboxesForBlock(
    { sandbox: { mode, limits, pool: { size: 1 } }, open: { mode, limits, policy: 'off', pool: { size: 1 } } },
    { eachTest: true },
  );

  it('runs on the path it was asked for', async () => {
    expect(sandbox.mode.active).toBe(mode);
    const before = sandbox.pathCounts[mode];
    // a warm jail may still be coming up: wait for one, then check the path
    await until(() => mode === 'cold' || sandbox.mode.warmJails >= 1, { what: 'a warm jail up' });
    const r = await sandbox.run('print("hi")');
    expect(r.status).toBe('ok');
    expect(sandbox.pathCounts[mode]).toBe(before + 1);
  });

  it('ok, error and exit codes', async () => {
    const ok = await sandbox.run('print(6 * 7)');
    expect(ok).toMatchObject({ status: 'ok', exitCode: 0, stdout: '42\n', error: null });
    const err = await sandbox.run('raise ValueError("bad")');
    expect(err.status).toBe('error');
    expect(err.exitCode).toBe(1);
    expect(err.error?.type).toBe('ValueError');
    expect(err.stderr).toContain('File "main.py", line 1');
    const exit = await sandbox.run('import sys; sys.exit(42)');
    expect(exit).toMatchObject({ status: 'error', exitCode: 42 });
    const raw = await sandbox.run('import os\nos._exit(7)');
    expect(raw).toMatchObject({ status: 'error', exitCode: 7 });
  });

  it('stdin, argv and files in and out', async () => {
    const r = await sandbox.run(
      py([
        'import sys',
        'data = open("in/a.txt").read()',
        'open("out.txt", "w").write(data.upper() + sys.stdin.read() + ",".join(sys.argv[1:]))',
        'open("skip.bin", "wb").write(b"x")',
      ]),
      { files: { 'in/a.txt': 'abc' }, stdin: '+in', argv: ['x', 'y'], collect: ['*.txt'] },
    );
    expect(r.status).toBe('ok');
    expect(Object.keys(r.files)).toEqual(['out.txt']);
    expect(Buffer.from(r.files['out.txt'] as Uint8Array).toString()).toBe('ABC+inx,y');
  });

  it('runs at normal priority (warm jails are made at a lower one)', async () => {
    const r = await open.run('import os, subprocess\nprint(os.nice(0), subprocess.run(["nice"], capture_output=True, text=True).stdout.strip())');
    expect(r).toMatchObject({ status: 'ok', stdout: '0 0\n' });
  });

  it('cpu is counted from the claim: a tiny program uses little', async () => {
    const r = await sandbox.run('x = 1');
    expect(r.status).toBe('ok');
    expect(r.cpuMs).toBeLessThan(scaled(400));
  });

  it('memory under the limit is fine, over it is memory_limit', async () => {
    const under = await sandbox.run('b = bytearray(40 << 20)\nb[::4096] = b"x" * len(b[::4096])\nprint(len(b) >> 20)', { limits: { memoryMiB: 64 } });
    expect(under).toMatchObject({ status: 'ok', stdout: '40\n' });
    expect(under.memoryPeakBytes).toBeGreaterThan(40 << 20);
    expect(under.memoryPeakBytes).toBeLessThanOrEqual(64 << 20);
    const over = await sandbox.run('b = bytearray(80 << 20)\nb[::4096] = b"x" * len(b[::4096])', { limits: { memoryMiB: 64 } });
    expect(over.status).toBe('memory_limit');
  });

  it('a workspace size the warm jails were not made with still gets its size', async () => {
    const r = await sandbox.run(
      py(['import os', 's = os.statvfs("/workspace")', 'print(s.f_blocks * s.f_frsize // (1 << 20))']),
      { limits: { workspaceMiB: 3 } },
    );
    expect(r.status).toBe('ok');
    expect(Number(r.stdout.trim())).toBe(3);
    const full = await sandbox.run('open("big", "wb").write(b"x" * (8 << 20))', { limits: { workspaceMiB: 3 } });
    expect(full.status).toBe('error');
  });

  it('limits of a claimed warm jail are the run’s own', async () => {
    const r = await open.run(
      py(['print(open("/proc/self/limits").read())']),
      { limits: { openFiles: 40, processes: 10 } },
    );
    expect(r.status).toBe('ok');
    expect(r.stdout).toMatch(/Max open files\s+40\s+40/);
  });

  it('RLIMIT_CPU counts from the request, as the run\'s CPU does: what a warm jail used before is added', async () => {
    // The sandbox runs with cgroups: RLIMIT_CPU is the backstop, twice the budget (1 s, scaled).
    const budgetS = scaled(1000) / 1000;
    const r = await open.run(
      py(['import resource', 'soft, hard = resource.getrlimit(resource.RLIMIT_CPU)', 'u = resource.getrusage(resource.RUSAGE_SELF)', 'print(soft, hard, u.ru_utime + u.ru_stime)']),
      { limits: { cpuMs: budgetS * 1000 } },
    );
    expect(r.status).toBe('ok');
    const [soft, hard, used] = r.stdout.trim().split(' ').map(Number) as [number, number, number];
    expect(hard).toBe(soft + 1);
    expect(soft - used).toBeGreaterThanOrEqual(1); // never before the budget, whatever came before the request
    expect(soft).toBeLessThanOrEqual(Math.ceil(2 * budgetS) + Math.ceil(used)); // and no looser than the backstop
  });

  it('concurrent runs each get their own jail', async () => {
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) => sandbox.run(`import time; time.sleep(0.05); print(${i})`)),
    );
    results.forEach((r, i) => expect(r, `run ${i}: ${r.stderr}`).toMatchObject({ status: 'ok', stdout: `${i}\n` }));
  });
});

describe.each(['cold', 'pool'] as const)('a %s jail moved into its cgroup after it started (cgroup v2, or no /bin/sh)', (mode) => {
  // Where a shell cannot put the jail into its cgroup before bwrap starts, bwrap's pid 1
  // is moved in after it reports its pid. Forced here by hiding the shell.
  let sandbox: Sandbox;
  beforeAll(async () => {
    forced.noShell = true;
    try {
      sandbox = await Sandbox.create({ mode, policy: 'off', limits: { timeoutMs: scaled(5000), cpuMs: scaled(5000), memoryMiB: 96, processes: 8 }, pool: { size: 1 } });
    } finally {
      forced.noShell = false;
    }
    await until(() => mode === 'cold' || sandbox.mode.warmJails >= 1, { what: 'a warm jail up' });
  });
  afterAll(async () => {
    await sandbox.close();
    expect(allOurJails()).toEqual([]);
  });

  it('holds the same limits: processes exactly, memory, and counts the peak', async () => {
    const procs = await sandbox.run(
      py([
        'import subprocess',
        'procs = []',
        'try:',
        '    for i in range(100): procs.append(subprocess.Popen(["sleep", "5"]))',
        'except OSError: pass',
        'print(len(procs))',
        'for p in procs: p.kill()',
      ]),
    );
    expect(procs).toMatchObject({ status: 'ok', stdout: '7\n' });
    const mem = await sandbox.run('x = bytearray(200 << 20)');
    expect(mem.status).toBe('memory_limit');
    expect(mem.memoryPeakBytes).toBeGreaterThan(64 << 20);
    expect(await expectNoRunLeftovers()).toEqual([]);
  });
});

describe('a cold jail that cannot join its cgroup', () => {
  // Only where jails join their cgroup themselves (v1); elsewhere they are moved in after
  // they start, which the test above covers.
  it.runIf(sharedCgroups().selfJoin)('never starts: internal_error, and nothing is left', async () => {
    const sandbox = await Sandbox.create({ mode: 'cold' });
    forced.unwritableTasks = true;
    try {
      const r = await sandbox.run('print("ran")');
      expect(r.status).toBe('internal_error');
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(/did not start.*(Permission denied|cannot create)/s);
    } finally {
      forced.unwritableTasks = false;
      await sandbox.close();
    }
    expect(await expectNoRunLeftovers()).toEqual([]);
  });
});
