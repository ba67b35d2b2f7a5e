/**
 * The core limit checks, on every path a run can take: a cold jail, a warm pooled jail,
 * a zygote-forked jail. Same code, same limits, same statuses: the verdict comes from the
 * OS (exit status, cgroup counters, our timers) whatever made the jail.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Sandbox } from '../src/index.js';
import { allOurJails, expectNoRunLeftovers } from './pool-helpers.js';

const py = (lines: string[]) => lines.join('\n');

describe.each(['cold', 'pool', 'zygote'] as const)('path %s', (mode) => {
  let sandbox: Sandbox;
  let open: Sandbox;

  beforeAll(async () => {
    const limits = { timeoutMs: 5000, cpuMs: 3000, memoryMiB: 128, processes: 16 };
    sandbox = await Sandbox.create({ mode, limits, pool: { size: 1 } });
    open = await Sandbox.create({ mode, limits, policy: 'off', pool: { size: 1 } });
  });
  afterAll(async () => {
    await sandbox.close();
    await open.close();
    expect(allOurJails()).toEqual([]);
  });
  afterEach(async () => {
    expect(await expectNoRunLeftovers()).toEqual([]);
  });

  it('runs on the path it was asked for', async () => {
    expect(sandbox.mode.active).toBe(mode);
    const before = sandbox.pathCounts[mode];
    // a warm jail may still be coming up: give the pool a moment, then check the path
    await new Promise((r) => setTimeout(r, mode === 'cold' ? 0 : 300));
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

  it('timeout', async () => {
    const r = await sandbox.run('import time\nwhile True: time.sleep(1)', { limits: { timeoutMs: 600 } });
    expect(r.status).toBe('timeout');
    expect(r.signal).toBe('SIGKILL');
    expect(r.durationMs).toBeGreaterThanOrEqual(590);
    expect(r.durationMs).toBeLessThan(3000);
  });

  it('cpu_limit', async () => {
    const r = await sandbox.run('while True: pass', { limits: { cpuMs: 400, timeoutMs: 5000 } });
    expect(r.status).toBe('cpu_limit');
    expect(r.cpuMs).toBeGreaterThanOrEqual(400);
  });

  it('runs at normal priority (warm jails are made at a lower one)', async () => {
    const r = await open.run('import os, subprocess\nprint(os.nice(0), subprocess.run(["nice"], capture_output=True, text=True).stdout.strip())');
    expect(r).toMatchObject({ status: 'ok', stdout: '0 0\n' });
  });

  it('cpu is counted from the claim: a tiny program uses little', async () => {
    const r = await sandbox.run('x = 1');
    expect(r.status).toBe('ok');
    expect(r.cpuMs).toBeLessThan(400);
  });

  it('memory_limit', async () => {
    const r = await sandbox.run('a = []\nwhile True: a.append(bytearray(1 << 20))', { limits: { memoryMiB: 64 } });
    expect(r.status).toBe('memory_limit');
    const shm = await open.run(
      py(['with open("/dev/shm/x", "wb") as f:', '    while True: f.write(b"x" * (1 << 20)); f.flush()']),
      { limits: { memoryMiB: 64, workspaceMiB: 512 } },
    );
    expect(shm.status).toBe('memory_limit');
  });

  it('memory under the limit is fine, over it is memory_limit', async () => {
    const under = await sandbox.run('b = bytearray(40 << 20)\nb[::4096] = b"x" * len(b[::4096])\nprint(len(b) >> 20)', { limits: { memoryMiB: 64 } });
    expect(under).toMatchObject({ status: 'ok', stdout: '40\n' });
    expect(under.memoryPeakBytes).toBeGreaterThan(40 << 20);
    expect(under.memoryPeakBytes).toBeLessThanOrEqual(64 << 20);
    const over = await sandbox.run('b = bytearray(80 << 20)\nb[::4096] = b"x" * len(b[::4096])', { limits: { memoryMiB: 64 } });
    expect(over.status).toBe('memory_limit');
  });

  it('output_limit', async () => {
    const r = await sandbox.run('while True: print("x" * 1000)', { limits: { outputBytes: 10_000 } });
    expect(r.status).toBe('output_limit');
    expect(r.stdout.length).toBe(10_000);
    expect(r.truncated.stdout).toBe(true);
  });

  it('process limit', async () => {
    const threads = await sandbox.run(
      py([
        'import threading, time',
        'n = 0',
        'try:',
        '    while True:',
        '        threading.Thread(target=time.sleep, args=(3,), daemon=True).start(); n += 1',
        'except RuntimeError: print("stopped at", n, flush=True)',
        'import os; os._exit(0)',
      ]),
      { limits: { processes: 8 } },
    );
    expect(threads.status).toBe('ok');
    // the same count on every path: 8 processes = the interpreter and 7 threads
    expect(Number(/stopped at (\d+)/.exec(threads.stdout)?.[1])).toBe(7);
    const procs = await open.run(
      py([
        'import subprocess',
        'procs = []',
        'try:',
        '    for i in range(100): procs.append(subprocess.Popen(["sleep", "5"]))',
        'except OSError as e: print("stopped", type(e).__name__)',
        'print("started", len(procs))',
        'for p in procs: p.kill()',
      ]),
      { limits: { processes: 8 } },
    );
    expect(procs.status).toBe('ok');
    expect(Number(/started (\d+)/.exec(procs.stdout)?.[1])).toBe(7);
  });

  it('killed by SIGSEGV', async () => {
    const seg = await open.run('import ctypes\nctypes.string_at(0)');
    expect(seg).toMatchObject({ status: 'killed', signal: 'SIGSEGV' });
    const self = await sandbox.run('import os, signal\nos.kill(os.getpid(), signal.SIGSEGV)');
    expect(self).toMatchObject({ status: 'killed', signal: 'SIGSEGV' });
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

  it('a daemon does not outlive its run', async () => {
    const r = await open.run(
      py([
        'import os',
        'if os.fork() == 0:',
        '    os.setsid()',
        '    if os.fork() == 0:',
        '        os.execv("/usr/bin/python3", ["python3", "-c", "import time; time.sleep(60)"])',
        '    os._exit(0)',
        'os.wait()',
        'print("parent done")',
      ]),
    );
    expect(r.status).toBe('ok');
    expect(r.stdout).toBe('parent done\n');
  });

  it('concurrent runs each get their own jail', async () => {
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) => sandbox.run(`import time; time.sleep(0.05); print(${i})`)),
    );
    results.forEach((r, i) => expect(r).toMatchObject({ status: 'ok', stdout: `${i}\n` }));
  });
});
