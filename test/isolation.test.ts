/**
 * Isolation between runs, on every path. The zygote forks every run from one
 * pre-initialised interpreter; these tests show that nothing run N does (files,
 * processes, module state, builtins, signal handlers, memory) is visible to run N+1,
 * and that a run cannot see, signal, ptrace or read the zygote or another run.
 * With pool { size: 1, max: 1 } consecutive runs come from the same zygote.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { PATHS, sandboxesForBlock } from './helpers/sandboxes.js';
import { heldStdin, runUntilPrinted, until } from './helpers/wait.js';

const py = (lines: string[]) => lines.join('\n');

describe.each(PATHS)('between runs on path %s', (mode) => {
  const { sandbox } = sandboxesForBlock(
    { sandbox: { mode, policy: 'off', pool: { size: 1, min: 1, max: 1 }, limits: { timeoutMs: 10_000 } } },
    { eachTest: true },
  );

  it('files, processes, module state, builtins and signal handlers of run N are gone in run N+1', async () => {
    const tag = randomBytes(8).toString('hex');
    const n = await sandbox.run(
      py([
        'import os, sys, signal, json, builtins, subprocess',
        `for d in ("/workspace", "/tmp", "/dev/shm"): open(d + "/left-${tag}", "w").write("x")`,
        `subprocess.Popen(["/usr/bin/python3", "-c", "import time; time.sleep(30)", "daemon-${tag}"], start_new_session=True)`,
        'json.LEFT_BY_RUN_N = True',
        'builtins.LEFT_BY_RUN_N = True',
        'builtins.len = lambda x: -1',
        'sys.modules["left_by_run_n"] = json',
        'sys.path.append("/left-by-run-n")',
        'os.environ["LEFT_BY_RUN_N"] = "1"',
        'signal.signal(signal.SIGUSR1, lambda *a: None)',
        'signal.signal(signal.SIGTERM, signal.SIG_IGN)',
        'os.umask(0o077)',
        'print("planted")',
      ]),
    );
    expect(n.status).toBe('ok');
    expect(n.stdout).toBe('planted\n');
    const next = await sandbox.run(
      py([
        'import os, sys, signal, json, builtins',
        `print([d for d in ("/workspace", "/tmp", "/dev/shm") if os.path.exists(d + "/left-${tag}")])`,
        'procs = []',
        'for p in os.listdir("/proc"):',
        '    if p.isdigit():',
        '        try: procs.append(open(f"/proc/{p}/cmdline", "rb").read())',
        '        except OSError: pass',
        `print(any(b"daemon-${tag}" in c for c in procs), len([p for p in os.listdir("/proc") if p.isdigit()]))`,
        'print(hasattr(json, "LEFT_BY_RUN_N"), hasattr(builtins, "LEFT_BY_RUN_N"), len([1, 2, 3]))',
        'print("left_by_run_n" in sys.modules, "/left-by-run-n" in sys.path, "LEFT_BY_RUN_N" in os.environ)',
        'print(signal.getsignal(signal.SIGUSR1) == signal.SIG_DFL, signal.getsignal(signal.SIGTERM) == signal.SIG_DFL)',
        'print(oct(os.umask(0o022)))',
      ]),
    );
    expect(next.status).toBe('ok');
    const lines = next.stdout.trim().split('\n');
    expect(lines[0]).toBe('[]');
    // its own pid 1 (the jail's reaper) and itself
    expect(lines[1]).toBe('False 2');
    expect(lines[2]).toBe('False False 3');
    expect(lines[3]).toBe('False False False');
    expect(lines[4]).toBe('True True');
    expect(lines[5]).toBe('0o22');
  });

  it('memory pages of run N cannot be read by run N+1', async () => {
    const key = randomBytes(16).toString('hex');
    // The secret is derived in the jail, so neither program's source contains its bytes.
    const derive = `bytes(b ^ 0x5a for b in bytes.fromhex("${key}"))`;
    const n = await sandbox.run(
      py([
        `secret = ${derive}`,
        'hoard = secret * 200000',
        'spread = [bytearray(secret * 64) for _ in range(2000)]',
        'open("/dev/shm/s", "wb").write(hoard)',
        'print(len(hoard))',
      ]),
    );
    expect(n.status).toBe('ok');
    const scan = await sandbox.run(
      py([
        `needle = ${derive}`,
        'hits = 0',
        'with open("/proc/self/maps") as maps, open("/proc/self/mem", "rb", 0) as mem:',
        '    for line in maps:',
        '        addr, perms = line.split()[:2]',
        '        if "r" not in perms or "[vsyscall]" in line: continue',
        '        lo, hi = (int(x, 16) for x in addr.split("-"))',
        '        try:',
        '            mem.seek(lo); data = mem.read(hi - lo)',
        '        except (OSError, ValueError, OverflowError): continue',
        '        hits += data.count(needle)',
        // the needle itself lives in this process: a handful of copies at most
        'print(hits)',
      ]),
    );
    expect(scan.status).toBe('ok');
    expect(Number(scan.stdout.trim())).toBeLessThan(10);
  });
});

describe('zygote children', () => {
  const { sandbox } = sandboxesForBlock(
    { sandbox: { mode: 'zygote', policy: 'off', pool: { size: 2, max: 4 }, limits: { timeoutMs: 10_000 } } },
    { eachTest: true },
  );

  it('run with no capabilities, no_new_privs, seccomp, as the sandbox uid, as pid 2', async () => {
    const r = await sandbox.run(
      py([
        'import os, socket',
        'st = dict(l.split(":", 1) for l in open("/proc/self/status").read().splitlines())',
        'for k in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb", "NoNewPrivs", "Seccomp"): print(k, st[k].strip())',
        'print(os.getuid(), os.geteuid(), os.getgid(), os.getpid(), os.getppid(), socket.gethostname())',
        'print(open("/proc/self/cgroup").read().strip())',
      ]),
    );
    expect(r.status).toBe('ok');
    expect(r.stdout).toContain('CapInh 0000000000000000\nCapPrm 0000000000000000\nCapEff 0000000000000000\nCapBnd 0000000000000000\nCapAmb 0000000000000000\nNoNewPrivs 1\nSeccomp 2\n');
    expect(r.stdout).toContain('1000 1000 1000 2 1 pybox\n');
    // its own cgroup namespace: the run's cgroup is its root
    for (const line of r.stdout.trim().split('\n').slice(-1)) expect(line.endsWith(':/')).toBe(true);
  });

  it('cannot signal, ptrace or read its pid 1, and sees no other process', async () => {
    const r = await sandbox.run(
      py([
        'import os, signal',
        'alive = []',
        'for p in range(1, 5000):',
        '    try: os.kill(p, 0); alive.append(p)',
        '    except OSError: pass',
        'print("alive", alive)',
        'for path in ("/proc/1/mem", "/proc/1/environ", "/proc/1/fd"):',
        '    try: os.listdir(path) if path.endswith("fd") else open(path, "rb").read(1); print(path, "OPEN")',
        '    except OSError as e: print(path, type(e).__name__)',
        'os.kill(1, signal.SIGKILL); os.kill(1, signal.SIGTERM); os.kill(1, signal.SIGINT)',
        'import ctypes',
        'libc = ctypes.CDLL(None, use_errno=True)',
        'print("ptrace", libc.ptrace(16, 1, 0, 0), ctypes.get_errno())',
        'print("still here")',
      ]),
    );
    expect(r.status).toBe('ok');
    expect(r.stdout).toContain('alive [1, 2]\n');
    expect(r.stdout).toContain('/proc/1/mem PermissionError');
    expect(r.stdout).toContain('/proc/1/environ PermissionError');
    expect(r.stdout).toContain('/proc/1/fd PermissionError');
    expect(r.stdout).toMatch(/ptrace -1 (1|38)\n/); // EPERM from seccomp (or ENOSYS)
    expect(r.stdout).toContain('still here');
  });

  it('concurrent runs do not see each other: pids, files, abstract sockets, SysV IPC, ptys', async () => {
    const tag = randomBytes(6).toString('hex');
    // Both zygotes up with spares first (one run at a time per zygote): otherwise, on a loaded
    // host, the probe finds the second zygote still starting and goes through a cold jail.
    await until(() => sandbox.mode.zygotes === 2 && sandbox.mode.warmJails > 3, { what: 'spares in both zygotes' });
    const before = sandbox.pathCounts.zygote;
    // The holder keeps what it made until the probe is done (its stdin ends then).
    const { stdin, release } = heldStdin();
    const { result: holder, printed } = runUntilPrinted(
      sandbox,
      py([
        'import os, sys, socket, pty',
        `open("/tmp/held-${tag}", "w").write("x"); open("/dev/shm/held-${tag}", "w").write("x")`,
        's = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)',
        `s.bind("\\0pybox-${tag}"); s.listen(1)`,
        'm, sl = pty.openpty()',
        'import ctypes',
        'libc = ctypes.CDLL(None, use_errno=True)',
        `assert libc.shmget(${0x5eed}, 4096, 0o1600) >= 0`,
        'print("ready", flush=True)',
        'sys.stdin.read()',
      ]),
      'ready\n',
      { stdin },
    );
    await printed;
    const probe = await sandbox.run(
      py([
        'import os, socket',
        `print([p for p in ("/tmp/held-${tag}", "/dev/shm/held-${tag}") if os.path.exists(p)])`,
        's = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)',
        `try: s.connect("\\0pybox-${tag}"); print("connected")`,
        'except OSError as e: print(type(e).__name__)',
        'print(sorted(os.listdir("/dev/pts")))',
        'print([p for p in os.listdir("/proc") if p.isdigit()])',
        'import ctypes',
        'libc = ctypes.CDLL(None, use_errno=True)',
        `print(libc.shmget(${0x5eed}, 0, 0), ctypes.get_errno())`,
      ]),
    );
    release();
    const held = await holder;
    expect(held.status).toBe('ok');
    expect(held.stdout).toBe('ready\n');
    expect(probe.status, probe.stderr).toBe('ok');
    expect(sandbox.pathCounts.zygote - before).toBe(2);
    const lines = probe.stdout.trim().split('\n');
    expect(lines[0]).toBe('[]');
    expect(lines[1]).toBe('ConnectionRefusedError');
    expect(lines[2]).toBe("['ptmx']");
    expect(lines[3]).toBe("['1', '2']");
    expect(lines[4]).toBe('-1 2'); // ENOENT: the other run's SysV segment is in another IPC namespace
  });

  it('host-wide /proc entries stay masked in each run’s fresh /proc', async () => {
    const r = await sandbox.run(
      py([
        'import os',
        'for p in ("/proc/kallsyms", "/proc/keys", "/proc/sysrq-trigger"):',
        '    try: data = open(p, "rb").read(64); print(p, len(data))',
        '    except OSError as e: print(p, type(e).__name__)',
        'print("acpi", os.listdir("/proc/acpi") if os.path.isdir("/proc/acpi") else [])',
        'for p in ("/proc/irq/default_smp_affinity", "/proc/sysrq-trigger"):',
        '    try: open(p, "w").write("0"); print("wrote", p)',
        '    except OSError as e: print(p, type(e).__name__)',
        'try: open("/proc/sys/kernel/hostname", "w").write("x"); print("wrote")',
        'except OSError as e: print(type(e).__name__)',
      ]),
    );
    expect(r.status).toBe('ok');
    expect(r.stdout).not.toMatch(/kallsyms [1-9]/);
    expect(r.stdout).toContain('acpi []');
    expect(r.stdout).not.toContain('wrote');
  });

  it('each run has a loopback of its own', async () => {
    const r = await sandbox.run(
      py([
        'import socket',
        's = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(1)',
        'c = socket.create_connection(s.getsockname()); a, _ = s.accept(); c.sendall(b"ok"); print(a.recv(2).decode())',
      ]),
    );
    expect(r.status).toBe('ok');
    expect(r.stdout).toBe('ok\n');
  });
});
