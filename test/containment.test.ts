/**
 * Containment: real attacks through the public API in the real jail. Each test
 * asserts the attack failed AND the host is unchanged (no process, cgroup, mount
 * or temp entry left; canaries absent; planted secrets never in the output).
 */
import { connect, createServer, type Server, type Socket } from 'node:net';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { RunResult, Sandbox } from '../src/index.js';
import { PTYS_PER_RUN } from '../src/backends/native/jail/bwrap-argv.js';
import { PROC_MASK_DIRS, PROC_MASK_FILES } from '../src/host/proc-masks.js';
import { hostUnchangedByEachTest } from './helpers/leftovers.js';
import { PATHS, sandboxesForBlock } from './helpers/sandboxes.js';
import { until } from './helpers/wait.js';
import { loadCorpus } from '../src/attack/corpus.js';
import { attackProgram } from '../src/attack/context.js';
import { randomId, virtualHost } from '../src/attack/host.js';
import { watchHostPools } from '../src/attack/host-pools.js';
import { hostSeccompArch, syscallNumber } from '../src/backends/native/seccomp/index.js';
import { scaled } from './helpers/time-scale.js';

const CORPUS = loadCorpus();
const IO_SETUP = syscallNumber('io_setup', hostSeccompArch());
const INOTIFY_INIT1 = syscallNumber('inotify_init1', hostSeccompArch());
const SECRET = `pybox-secret-${process.pid}-${Date.now()}`;
let fixtures: string;
let tcp: Server;
let tcpPort = 0;
let tcpHits = 0;
let udp: UdpSocket;
let udpPort = 0;
let udpHits = 0;
let unixServer: Server;
let unixHits = 0;

/**
 * Our own marked connection (or datagram) to each host listener, made after a run, is
 * counted by none: each listener reports it instead, and has by then counted anything
 * the run sent it, which came first.
 */
const SENTINEL = Buffer.from('pybox-test-sentinel');
const sentinelWaiters = new Map<string, () => void>();
const sentinelSeen = (listener: string) => sentinelWaiters.get(listener)?.();
/** Resolves once every host listener has seen our own marked connection: its count is then final. */
async function listenersCaughtUp(): Promise<void> {
  const seen = ['tcp', 'udp', 'unix'].map((name) => new Promise<void>((resolve) => sentinelWaiters.set(name, resolve)));
  // A failed send leaves its listener waiting: the test then times out, it never passes.
  connect(tcpPort, '127.0.0.1').on('error', () => undefined).end(SENTINEL);
  connect(join(fixtures, 'host.sock')).on('error', () => undefined).end(SENTINEL);
  const client = createSocket('udp4');
  client.send(SENTINEL, udpPort, '127.0.0.1', () => client.close());
  await Promise.all(seen);
  sentinelWaiters.clear();
}
/** Counts a connection, unless it turns out to be our own marked one. */
function countConnection(listener: string, hit: (n: 1 | -1) => void): (s: Socket) => void {
  return (s) => {
    hit(1);
    s.on('error', () => undefined);
    s.once('data', (data: Buffer) => {
      if (SENTINEL.equals(data)) {
        hit(-1);
        sentinelSeen(listener);
      }
      s.destroy();
    });
  };
}

beforeAll(async () => {
  process.env.PYBOX_TEST_SECRET = SECRET;
  fixtures = mkdtempSync(join(tmpdir(), 'containment-'));
  writeFileSync(join(fixtures, 'secret.txt'), SECRET);
  tcp = createServer(countConnection('tcp', (n) => (tcpHits += n)));
  await new Promise<void>((r) => tcp.listen(0, '127.0.0.1', r));
  tcpPort = (tcp.address() as { port: number }).port;
  udp = createSocket('udp4');
  udp.on('message', (message) => (SENTINEL.equals(message) ? sentinelSeen('udp') : udpHits++));
  await new Promise<void>((r) => udp.bind(0, '127.0.0.1', r));
  udpPort = udp.address().port;
  unixServer = createServer(countConnection('unix', (n) => (unixHits += n)));
  await new Promise<void>((r) => unixServer.listen(join(fixtures, 'host.sock'), r));
});

afterAll(() => {
  tcp.close();
  udp.close();
  unixServer.close();
  rmSync(fixtures, { recursive: true, force: true });
  delete process.env.PYBOX_TEST_SECRET;
});


const py = (lines: string[]) => lines.join('\n');
function noSecret(r: RunResult): void {
  expect(r.stdout + r.stderr + JSON.stringify(r.error)).not.toContain(SECRET);
}
/** After any attack an ordinary run still works. */
async function stillWorks(sandbox: Sandbox): Promise<void> {
  const r = await sandbox.run('print(6 * 7)');
  expect(r.status).toBe('ok');
  expect(r.stdout).toBe('42\n');
}

// Every run path must contain the same attacks: a jail per run, a pre-started jail, a
// fork of the zygote. Idle warm jails are not leftovers; anything of a run is.
describe.each(PATHS)('path %s', (mode) => {
  const limits = { timeoutMs: scaled(5000), cpuMs: scaled(3000), memoryMiB: 128, processes: 16 };
  // open: the OS jail alone, what holds when the language layer is bypassed
  const { sandbox, open } = sandboxesForBlock({ sandbox: { mode, limits }, open: { mode, policy: 'off', limits } });
  hostUnchangedByEachTest('pybox-daemon-marker');
  let coldBefore = 0;
  const coldRuns = () => sandbox.pathCounts.cold + open.pathCounts.cold;
  beforeEach(() => {
    coldBefore = coldRuns();
  });
  afterEach((ctx) => {
    // The runs took the path under test. Only the pool sends a run cold by design: one
    // whose workspaceMiB differs from its warm jails' (the zygote forks one that fits).
    const sizeMismatch = mode === 'pool' && /up to their size|in tmpfs and shared memory/.test(ctx.task.name);
    if (mode !== 'cold' && !sizeMismatch) expect(coldRuns() - coldBefore).toBe(0);
  });

  describe('filesystem', () => {
    it('cannot write outside the workspace (canary stays absent)', async () => {
      const canary = join(fixtures, 'canary');
      const targets = [canary, '/etc/pybox-canary', '/usr/pybox-canary', '/root/pybox-canary', '/pybox-canary', join(process.cwd(), 'pybox-canary')];
      const code = py([
        'import json, os',
        `targets = ${JSON.stringify(targets)}`,
        'res = {}',
        'for t in targets:',
        '    try:',
        '        with open(t, "w") as f: f.write("pwned")',
        '        res[t] = "written"',
        '    except OSError as e:',
        '        res[t] = type(e).__name__',
        'print(json.dumps(res))',
      ]);
      for (const sb of [sandbox, open]) {
        const r = await sb.run(code);
        expect(r.status).toBe('ok');
        const res = JSON.parse(r.stdout) as Record<string, string>;
        for (const t of targets) expect(res[t]).not.toBe('written');
        for (const t of targets) expect(existsSync(t)).toBe(false);
      }
      // The language layer names the refusal; the jail alone answers with the OS error.
      // (the host's /tmp is not the jail's /tmp, so ask about a path the policy itself refuses)
      const strict = await sandbox.run('open("/usr/pybox-canary", "w")');
      expect(strict.error?.type).toBe('PermissionError');
      expect(strict.error?.message).toMatch(/^pybox: writing .* is not allowed$/);
    });

    it('cannot read host secrets from files, environment, /proc or the supervisor', async () => {
      const code = py([
        'import os',
        `paths = [${JSON.stringify(join(fixtures, 'secret.txt'))}, "/proc/1/environ", "/proc/1/cmdline", "/proc/self/environ", "/etc/shadow", "/root/.bash_history"]`,
        'for p in paths:',
        '    try: print(p, open(p, "rb").read()[:200])',
        '    except OSError as e: print(p, type(e).__name__)',
        'print(dict(os.environ))',
        'for pid in os.listdir("/proc"):',
        '    if pid.isdigit():',
        '        for f in ("environ", "cmdline"):',
        '            try: print(pid, f, open(f"/proc/{pid}/{f}", "rb").read()[:300])',
        '            except OSError: pass',
        'for root, dirs, files in os.walk("/"):',
        '    if root.startswith(("/proc", "/usr", "/sys")): dirs[:] = []; continue',
        '    print(root, files)',
      ]);
      for (const sb of [sandbox, open]) {
        const r = await sb.run(code);
        expect(r.status).toBe('ok');
        expect(r.stdout).toContain('/proc/1/environ');
        noSecret(r);
        expect(r.stdout).not.toContain('PYBOX_TEST_SECRET');
      }
    });

    // The jail's pid 1 (bwrap, or the run's own pid 1 under a zygote) is readable inside:
    // started with its caller's environment or argv, it showed the caller's PWD and every
    // mount, uid and path of the jail.
    it.each(['leak-pid1-environ', 'leak-pid1-cmdline'])('%s: no visible process shows the caller\'s environment or the jail\'s options', async (id) => {
      const attack = CORPUS.find((a) => a.id === id);
      if (!attack) throw new Error(`no attack ${id} in attacks/`);
      const token = `PWNED-${randomId(8)}`;
      const nonce = randomId(8);
      const program = attackProgram({ nonce, token, out: '/workspace/out', host: virtualHost(nonce) }, attack.code);
      for (const sb of [sandbox, open]) {
        const r = await sb.run(program);
        expect(r.status).toBe('ok');
        expect(r.stdout).toMatch(/^checked the (environment|command line) of [1-9]\d* processes\n$/); // it read some, and found nothing
        expect(r.stdout).not.toContain(process.cwd());
        noSecret(r);
      }
    });

    it('reads nothing from the host-wide /proc entries (masked, or unreadable to the sandbox user)', async () => {
      const entries = PROC_MASK_FILES.filter((n) => existsSync(`/proc/${n}`));
      expect(entries).toEqual(expect.arrayContaining(['kallsyms', 'cmdline'])); // on every Linux
      const dirs = PROC_MASK_DIRS.filter((n) => existsSync(`/proc/${n}`));
      const r = await open.run(
        py([
          'import json, os',
          `out = {}`,
          `for name in ${JSON.stringify(entries)}:`,
          '    try:',
          '        with open("/proc/" + name, "rb") as f: out[name] = len(f.read(4096))',
          '    except OSError as e: out[name] = type(e).__name__',
          `for name in ${JSON.stringify(dirs)}:`,
          '    out[name] = os.listdir("/proc/" + name)',
          'for name in ("sys", "sysrq-trigger", "irq", "bus"):',
          '    out[name + " writable"] = os.access("/proc/" + name, os.W_OK)',
          'print(json.dumps(out))',
        ]),
      );
      expect(r.status).toBe('ok');
      const got = JSON.parse(r.stdout) as Record<string, unknown>;
      for (const name of entries) expect([0, 'PermissionError', 'FileNotFoundError'], name).toContain(got[name]);
      for (const name of dirs) expect(got[name], name).toEqual([]);
      for (const name of ['sys', 'sysrq-trigger', 'irq', 'bus']) expect(got[`${name} writable`], name).toBe(false);
    });

    it('sees only its own filesystem: no host /etc, /home, /root, /var, /run, /sys', async () => {
      const r = await open.run('import os, json; print(json.dumps(sorted(os.listdir("/")))); print(json.dumps(sorted(os.listdir("/etc"))))');
      expect(r.status).toBe('ok');
      const [root, etc] = r.stdout.trim().split('\n').map((s) => JSON.parse(s) as string[]);
      for (const hidden of ['home', 'root', 'var', 'run', 'sys', 'boot', 'srv', 'opt', 'mnt']) expect(root).not.toContain(hidden);
      expect(etc).toEqual(expect.arrayContaining(['group', 'passwd']));
      expect(etc).not.toContain('shadow');
    });

    it('fills /tmp and /workspace only up to their size', async () => {
      const code = py([
        'import errno',
        'out = {}',
        'for d in ("/tmp", "/workspace", "/dev/shm"):',
        '    n = 0',
        '    try:',
        '        with open(d + "/fill", "wb") as f:',
        '            while n < 200:',
        '                f.write(b"x" * (1 << 20)); f.flush(); n += 1',
        '    except OSError as e:',
        '        out[d] = (n, errno.errorcode.get(e.errno))',
        'print(out)',
      ]);
      const r = await open.run(code, { limits: { workspaceMiB: 8, memoryMiB: 256 } });
      expect(r.status).toBe('ok');
      for (const d of ['/tmp', '/workspace', '/dev/shm']) {
        const m = new RegExp(`'${d}': \\((\\d+), '(E\\w+)'\\)`).exec(r.stdout);
        expect(m, r.stdout).not.toBeNull();
        expect(Number(m![1])).toBeLessThanOrEqual(8);
        expect(['ENOSPC', 'EFBIG']).toContain(m![2]);
      }
    });

    it('input files never follow a symlink and output files never leave the workspace', async () => {
      const outside = join(fixtures, 'outside.txt');
      writeFileSync(outside, SECRET);
      const r = await open.run(
        py([
          'import os',
          `os.symlink(${JSON.stringify(outside)}, "link.txt")`,
          'os.symlink("/etc/passwd", "passwd.txt")',
          'os.link("in.txt", "hard.txt")',
          'os.mkfifo("fifo.txt")',
          'open("real.txt", "w").write("ok")',
        ]),
        { files: { 'in.txt': 'input' }, collect: ['*.txt'] },
      );
      expect(r.status).toBe('ok');
      expect(Object.keys(r.files).sort()).toEqual(['hard.txt', 'in.txt', 'real.txt']);
      expect(Buffer.from(r.files['real.txt']!).toString()).toBe('ok');
      noSecret(r);
    });
  });

  describe('network', () => {
    it('localhost is the jail\'s own loopback: it resolves, binds and echoes over TCP inside, and never reaches the host', async () => {
      const code = py([
        'import socket, threading',
        'print(sorted({a[4][0] for a in socket.getaddrinfo("localhost", 0)}), socket.gethostbyname(socket.gethostname()))',
        'server = socket.socket()',
        'server.bind(("localhost", 0))',
        'server.listen()',
        'def echo():',
        '    conn, _ = server.accept()',
        '    with conn: conn.sendall(conn.recv(100).upper())',
        't = threading.Thread(target=echo); t.start()',
        'with socket.create_connection(("localhost", server.getsockname()[1]), timeout=5) as c:',
        '    c.sendall(b"echo over localhost"); print(c.recv(100).decode())',
        't.join()',
        'v6 = socket.socket(socket.AF_INET6); v6.bind(("ip6-localhost", 0)); print("v6", v6.getsockname()[0])',
        'try:',
        `    socket.create_connection(("localhost", ${tcpPort}), timeout=1); print("host reached")`,
        'except OSError as e: print("host port", type(e).__name__)',
      ]);
      const r = await open.run(code);
      expect(r.status, r.stderr).toBe('ok');
      expect(r.stdout.split('\n')).toEqual([
        expect.stringMatching(/^\[('::1', )?'127\.0\.0\.1'\] 127\.0\.1\.1$/),
        'ECHO OVER LOCALHOST',
        'v6 ::1',
        'host port ConnectionRefusedError',
        '',
      ]);
      expect(tcpHits).toBe(0);
    });

    it('has no TCP, UDP, DNS or unix socket to the host', async () => {
      const code = py([
        'import socket',
        'def attempt(name, fn):',
        '    try: fn(); print(name, "SUCCEEDED")',
        '    except Exception as e: print(name, "failed", type(e).__name__)',
        `attempt("tcp", lambda: socket.create_connection(("127.0.0.1", ${tcpPort}), timeout=1))`,
        `attempt("udp", lambda: socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"x", ("127.0.0.1", ${udpPort})))`,
        'attempt("dns", lambda: socket.getaddrinfo("example.com", 80))',
        `attempt("unix", lambda: socket.socket(socket.AF_UNIX).connect(${JSON.stringify(join(fixtures, 'host.sock'))}))`,
        'attempt("abstract", lambda: socket.socket(socket.AF_UNIX).connect("\\0pybox-host"))',
        'attempt("raw", lambda: socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP))',
        'attempt("netlink", lambda: socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0).bind((0, 0)))',
        'attempt("ipv6", lambda: socket.create_connection(("::1", 80), timeout=1))',
      ]);
      for (const sb of [sandbox, open]) {
        const r = await sb.run(code);
        expect(r.status).toBe('ok');
        // UDP datagrams and netlink may be "sent" inside the jail's own empty network namespace;
        // what matters is that nothing reaches the host (checked below).
        for (const name of ['tcp', 'dns', 'unix', 'abstract', 'raw', 'ipv6']) expect(r.stdout).toMatch(new RegExp(`^${name} failed`, 'm'));
      }
      const strict = await sandbox.run('import socket; socket.socket()');
      expect(strict.error?.message).toBe('pybox: network access is not allowed');
      await listenersCaughtUp();
      expect(tcpHits).toBe(0);
      expect(udpHits).toBe(0);
      expect(unixHits).toBe(0);
    });
  });

  describe('processes', () => {
    it('subprocess and os.system are refused by the default policy', async () => {
      for (const code of ['import subprocess; subprocess.run(["true"])', 'import os; os.system("true")', 'import os; os.execv("/bin/true", ["true"])', 'import os; os.posix_spawn("/bin/true", ["true"], {})']) {
        const r = await sandbox.run(code);
        expect(r.status).toBe('error');
        expect(r.error?.type).toBe('PermissionError');
        expect(r.error?.message).toMatch(/^pybox: starting a program .* is not allowed$/);
      }
    });

    it('programs that do run (looser policy) are bounded by the process limit', async () => {
      const r = await open.run(
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
      expect(r.status).toBe('ok');
      // the same count on every path: 8 processes = the interpreter and 7 children
      expect(Number(/started (\d+)/.exec(r.stdout)?.[1])).toBe(7);
      expect(r.stdout).toContain('stopped');
    });

    it('a fork bomb is bounded and ends on a limit', async () => {
      const r = await sandbox.run(
        py(['import os', 'while True:', '    try: os.fork()', '    except OSError: pass']),
        { limits: { timeoutMs: scaled(2000), cpuMs: scaled(1500), processes: 16 } },
      );
      expect(['timeout', 'cpu_limit']).toContain(r.status);
      await stillWorks(sandbox);
    });

    it('a thread bomb stops at the process limit', async () => {
      const r = await sandbox.run(
        py([
          'import threading, time',
          'n = 0',
          'try:',
          '    while True:',
          '        threading.Thread(target=time.sleep, args=(3,), daemon=True).start(); n += 1',
          'except RuntimeError as e: print("stopped at", n, flush=True)',
          'import os; os._exit(0)',
        ]),
        { limits: { processes: 12 } },
      );
      expect(r.status).toBe('ok');
      // the same count on every path: 12 processes = the interpreter and 11 threads
      expect(Number(/stopped at (\d+)/.exec(r.stdout)?.[1])).toBe(11);
    });

    it('a double-forked daemon does not outlive the run', async () => {
      const r = await open.run(
        py([
          'import os',
          'if os.fork() == 0:',
          '    os.setsid()',
          '    if os.fork() == 0:',
          '        os.execv("/usr/bin/python3", ["python3", "-c", "import time; time.sleep(60)", "pybox-daemon-marker"])',
          '    os._exit(0)',
          'os.wait()',
          'print("parent done")',
        ]),
      );
      expect(r.status).toBe('ok');
      expect(r.stdout).toBe('parent done\n');
      // afterEach checks that no process with the marker (or a jail uid) remains.
    });

    it('a daemon holding stdout open does not delay the verdict', async () => {
      const r = await sandbox.run(
        py(['import os, time', 'if os.fork() == 0:', '    time.sleep(30)', '    os._exit(0)', 'print("bye")']),
        { limits: { timeoutMs: scaled(8000) } },
      );
      expect(r.status).toBe('ok');
      expect(r.stdout).toBe('bye\n');
      expect(r.durationMs).toBeLessThan(8000);
    });

    it('signals reach nothing outside the jail', async () => {
      const bystander: ChildProcess = spawn('sleep', ['30'], { stdio: 'ignore' });
      const r = await sandbox.run(
        py([
          'import os, signal',
          'hits = []',
          'for pid in range(2, 40000):',
          '    if pid == os.getpid(): continue',
          '    try: os.kill(pid, signal.SIGKILL); hits.append(pid)',
          '    except OSError: pass',
          'print("hits", hits)',
          `try: os.kill(${process.pid}, signal.SIGKILL)`,
          'except OSError as e: print("supervisor", type(e).__name__)',
          `try: os.kill(${bystander.pid}, signal.SIGKILL)`,
          'except OSError as e: print("bystander", type(e).__name__)',
          'try: os.kill(-1, signal.SIGKILL)',
          'except OSError as e: print("kill -1", type(e).__name__)',
        ]),
      );
      // Its own pid namespace holds only its pid 1 and itself: no pid it names is the host's,
      // and kill(-1) finds nothing it may signal.
      expect(r.status, r.stderr).toBe('ok');
      expect(r.stdout).toBe('hits []\nsupervisor ProcessLookupError\nbystander ProcessLookupError\nkill -1 ProcessLookupError\n');
      expect(bystander.exitCode).toBeNull();
      expect(bystander.signalCode).toBeNull();
      bystander.kill();
    });

    it('ptrace is denied by seccomp', async () => {
      const r = await open.run(
        py([
          'import ctypes, os',
          'libc = ctypes.CDLL(None, use_errno=True)',
          'print("traceme", libc.ptrace(0, 0, None, None), os.strerror(ctypes.get_errno()))',
          'print("attach", libc.ptrace(16, 1, None, None), os.strerror(ctypes.get_errno()))',
        ]),
      );
      expect(r.status).toBe('ok');
      expect(r.stdout).toContain('traceme -1 Operation not permitted');
      expect(r.stdout).toContain('attach -1 Operation not permitted');
      const strict = await sandbox.run('import ctypes\nctypes.CDLL(None).ptrace');
      expect(strict.error?.type).toBe('PermissionError');
      expect(strict.error?.message).toBe('pybox: ctypes (ctypes.dlsym) is not allowed');
    });
  });

  describe('resources', () => {
    it('a memory bomb ends with memory_limit', async () => {
      const r = await sandbox.run('a = []\nwhile True: a.append(bytearray(1 << 20))', { limits: { memoryMiB: 64 } });
      expect(r.status).toBe('memory_limit');
      await stillWorks(sandbox);
    });

    it('memory in tmpfs and shared memory counts too', async () => {
      const r = await open.run(
        py(['import os', 'f = os.memfd_create("x")', 'while True: os.write(f, b"x" * (1 << 20))']),
        { limits: { memoryMiB: 64, workspaceMiB: 512 } },
      );
      expect(['memory_limit', 'error']).toContain(r.status);
      if (r.status === 'error') expect(r.error?.message).toMatch(/File too large|No space/);
      const shm = await open.run(
        py(['import os', 'n = 0', 'with open("/dev/shm/x", "wb") as f:', '    while True: f.write(b"x" * (1 << 20)); f.flush()']),
        { limits: { memoryMiB: 64, workspaceMiB: 512 } },
      );
      expect(shm.status).toBe('memory_limit');
    });

    it('a busy loop ends with cpu_limit, a sleeper with timeout', async () => {
      const busy = await sandbox.run('while True: pass', { limits: { cpuMs: scaled(500), timeoutMs: scaled(5000) } });
      expect(busy.status).toBe('cpu_limit');
      expect(busy.cpuMs).toBeGreaterThanOrEqual(scaled(500));
      const sleeper = await sandbox.run('import time\nwhile True: time.sleep(1)', { limits: { timeoutMs: scaled(700) } });
      expect(sleeper.status).toBe('timeout');
      expect(sleeper.signal).toBe('SIGKILL');
    });

    it('a program that ignores signals still dies on time', async () => {
      const r = await sandbox.run(
        py(['import signal, time', 'for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGXCPU): signal.signal(s, signal.SIG_IGN)', 'while True: time.sleep(0.1)']),
        { limits: { timeoutMs: scaled(700) } },
      );
      expect(r.status).toBe('timeout');
    });

    it('an output flood is cut at outputBytes and killed', async () => {
      const r = await sandbox.run('while True: print("x" * 1000)', { limits: { outputBytes: 10_000 } });
      expect(r.status).toBe('output_limit');
      expect(r.stdout.length).toBe(10_000);
      expect(r.truncated.stdout).toBe(true);
    });

    it('fd exhaustion stops at openFiles', async () => {
      const r = await sandbox.run(
        py(['fs = []', 'try:', '    while True: fs.append(open("/dev/null"))', 'except OSError as e: print(len(fs), e.errno)']),
        { limits: { openFiles: 32 } },
      );
      expect(r.status).toBe('ok');
      const [count, errno] = r.stdout.trim().split(' ').map(Number);
      expect(count).toBeLessThanOrEqual(32);
      expect(errno).toBe(24); // EMFILE
    });
  });

  // Host-wide kernel pools (SECURITY.md, "Kernel pools"): each attack from attacks/ runs in
  // the OS jail alone (policy off) while the host samples its own counters.
  describe('kernel pools', () => {
    async function attackWithHostEvidence(id: string): Promise<{ r: RunResult; host: string[]; token: string }> {
      const attack = CORPUS.find((a) => a.id === id);
      if (!attack) throw new Error(`no attack ${id} in attacks/`);
      const nonce = randomId(8);
      const ctx = { nonce, token: `PWNED-${nonce}`, out: join(fixtures, `pwned-${nonce}`), host: virtualHost(nonce) };
      const pools = watchHostPools();
      let host: string[] = [];
      const r = await open.run(attackProgram(ctx, attack.code)).finally(() => (host = pools.stop()));
      expect(existsSync(ctx.out)).toBe(false);
      return { r, host, token: ctx.token };
    }
    const contained = ({ r, host, token }: { r: RunResult; host: string[]; token: string }) => {
      expect(r.status, r.stderr).toBe('ok');
      expect(r.stdout).not.toContain(token);
      expect(host).toEqual([]);
    };

    it('pool-aio-setup: io_setup is denied and the host\'s aio-nr does not move', async () => {
      contained(await attackWithHostEvidence('pool-aio-setup'));
      const r = await open.run(py(['import ctypes, os', 'libc = ctypes.CDLL(None, use_errno=True)', 'ctx = ctypes.c_ulong(0)', `r = libc.syscall(${IO_SETUP}, 1, ctypes.byref(ctx))`, 'print(r, os.strerror(ctypes.get_errno()))']));
      expect(r.stdout).toBe('-1 Operation not permitted\n');
    });

    it('pool-pty-exhaust: a run holds at most PTYS_PER_RUN ptys (a zygote run), none in a bwrap jail; the next run still gets one', async () => {
      contained(await attackWithHostEvidence('pool-pty-exhaust'));
      const grab = py([
        'import os',
        'few = [os.openpty() for _ in range(3)]',
        'for m, s in few: os.write(m, b"x\\n"); assert os.read(s, 2) == b"x\\n"',
        'held = [m for m, s in few]',
        'try:',
        '    while True: held.append(os.open("/dev/ptmx", os.O_RDWR | os.O_NOCTTY))',
        'except OSError as e: print(len(held), e.strerror)',
      ]);
      const r = await open.run(grab);
      const next = await open.run('import os\nm, s = os.openpty()\nprint(os.ttyname(s))');
      if (mode === 'zygote') {
        expect(r.stdout).toBe(`${PTYS_PER_RUN} No space left on device\n`);
        expect(next.stdout).toBe('/dev/pts/0\n');
      } else {
        // bwrap mounts its devpts without max=: a bwrap jail has none (SECURITY.md)
        expect(r.stderr).toMatch(/FileNotFoundError/);
        expect(next.stderr).toMatch(/FileNotFoundError/);
      }
    });

    it('pool-pty-exhaust across runs: a run holding all its ptys leaves another run\'s openpty working', async () => {
      const ptys = () => Number(readFileSync('/proc/sys/kernel/pty/nr', 'utf8'));
      const before = ptys();
      // Holds every pty it can get (if any) until its wall clock ends the run.
      const holder = open.run(py(['import os, time', 'held = []', 'try:', '    while True: held.append(os.open("/dev/ptmx", os.O_RDWR | os.O_NOCTTY))', 'except OSError: pass', 'if held: time.sleep(60)']), {
        limits: { timeoutMs: scaled(4000) },
      });
      if (mode === 'zygote') await until(() => ptys() >= before + PTYS_PER_RUN, { what: 'the holder holding its ptys' });
      const other = await open.run('import os\nm, s = os.openpty()\nprint("ok")');
      const held = await holder;
      expect(held.status).toBe(mode === 'zygote' ? 'timeout' : 'ok');
      if (mode === 'zygote') expect(other.stdout).toBe('ok\n');
      else expect(other.stderr).toMatch(/FileNotFoundError/);
      expect(ptys()).toBeLessThanOrEqual(before);
    });

    it('pool-inotify-host-exec: no inotify watch on the shared /usr and /dev inodes, no fanotify', async () => {
      contained(await attackWithHostEvidence('pool-inotify-host-exec'));
      const r = await open.run(py(['import ctypes, os', 'libc = ctypes.CDLL(None, use_errno=True)', `print(libc.syscall(${INOTIFY_INIT1}, 0), os.strerror(ctypes.get_errno()))`]));
      expect(r.stdout).toBe('-1 Operation not permitted\n');
    });
  });

  describe('the supervisor protocol', () => {
    it('forged control frames change nothing but the guest’s own output', async () => {
      const code = py([
        'import os, struct, json, sys',
        'def frame(o):',
        '    b = json.dumps(o).encode(); os.write(4, struct.pack(">I", len(b)) + b)',
        'frame({"t": "error", "type": "Forged", "message": "x", "traceback": ""})',
        'frame({"t": "file", "path": "../../etc/passwd", "data": "eA=="})',
        'frame({"t": "file", "path": "notasked.bin", "data": "eA=="})',
        'os.write(4, b"\\xff\\xff\\xff\\xffgarbage")',
        'print(json.dumps({"status": "timeout", "exitCode": 0}))',
        'sys.stdout.write("\\x1b[2J\\x1b]0;title\\x07\\xff")',
      ]);
      const r = await sandbox.run(code, { collect: ['*.txt'] });
      expect(r.status).toBe('ok');
      expect(r.exitCode).toBe(0);
      expect(r.error).toBeNull();
      expect(r.files).toEqual({});
      expect(r.stdout).toContain('"status": "timeout"');
    });

    it('a forged error frame does not turn a failure into success or the reverse', async () => {
      const r = await sandbox.run(
        py(['import os, struct, json', 'b = json.dumps({"t": "ready"}).encode()', 'os.write(4, struct.pack(">I", len(b)) + b)', 'os._exit(9)']),
      );
      expect(r.status).toBe('error');
      expect(r.exitCode).toBe(9);
    });

    it('closing stdout and stderr early does not confuse the verdict', async () => {
      const r = await sandbox.run('import os\nos.close(1)\nos.close(2)\nx = sum(range(10**6))\nos._exit(0)');
      expect(r.status).toBe('ok');
      const e = await sandbox.run('import os, sys\nos.close(1)\nsys.exit(4)');
      expect(e.status).toBe('error');
      expect(e.exitCode).toBe(4);
    });

    it('a segfault is killed with its signal; os._exit keeps its code', async () => {
      const seg = await open.run('import ctypes\nctypes.string_at(0)');
      expect(seg.status).toBe('killed');
      expect(seg.signal).toBe('SIGSEGV');
      const kill = await sandbox.run('import os, signal\nos.kill(os.getpid(), signal.SIGSEGV)');
      expect(kill.status).toBe('killed');
      const exit = await sandbox.run('import os\nos._exit(7)');
      expect(exit.status).toBe('error');
      expect(exit.exitCode).toBe(7);
    });

    it('invalid UTF-8 and giant lines come back intact up to the limit', async () => {
      const r = await sandbox.run('import sys\nsys.stdout.buffer.write(b"\\xff\\xfe" + b"y" * 300000)');
      expect(r.status).toBe('ok');
      expect(r.stdout.length).toBe(300002);
      expect(r.stdout.startsWith('\ufffd\ufffd')).toBe(true);
    });
  });
});
