import { describe, it, expect } from 'vitest';
import { spawn } from 'node:child_process';
import type { Writable } from 'node:stream';

import {
  AUDIT_ARCH,
  BpfAssembler,
  SECCOMP_RET_ALLOW,
  SECCOMP_RET_ERRNO,
  SECCOMP_RET_KILL_PROCESS,
  SeccompError,
  buildSeccompPolicy,
  compileSeccompFilter,
  compileSeccompProgram,
  compileStrictSeccompFilter,
  decodeBpf,
  describeSeccompPolicy,
  hostSeccompArch,
  runFilter,
  serializeBpf,
  syscallNumber,
  type SeccompArch,
  type SeccompRule,
  type SockFilter,
  type SyscallName,
} from '../src/backends/native/seccomp/index.js';
import { BPF, BpfError, NEXT, aluAndK, ja, jeqK, jgeK, jsetK, ldAbsW, retK } from '../src/backends/native/seccomp/bpf.js';

const EPERM_RET = SECCOMP_RET_ERRNO | 1;
const ENOSYS_RET = SECCOMP_RET_ERRNO | 38;
const BAD_PTR = 1n; // never mapped: allowed calls fail with EFAULT instead of doing anything
const NEG1 = 0xffffffffffffffffn; // -1 as an unsigned long: bad fd / invalid flags
const TIOCSTI = 0x5412n;
const TIOCLINUX = 0x541cn;
const TIOCGWINSZ = 0x5413n;
const CLONE_SIGHAND = 0x800n; // without CLONE_VM the kernel rejects clone with EINVAL, so an allowed probe never forks
const NS_FLAGS: Record<string, bigint> = {
  CLONE_NEWNS: 0x20000n,
  CLONE_NEWCGROUP: 0x02000000n,
  CLONE_NEWUTS: 0x04000000n,
  CLONE_NEWIPC: 0x08000000n,
  CLONE_NEWUSER: 0x10000000n,
  CLONE_NEWPID: 0x20000000n,
  CLONE_NEWNET: 0x40000000n,
};

// Names the brief requires to be denied unconditionally.
const REQUIRED_DENIED: SyscallName[] = [
  'ptrace', 'process_vm_readv', 'process_vm_writev', 'mount', 'umount2', 'pivot_root', 'chroot', 'move_mount',
  'open_tree', 'fsopen', 'fsconfig', 'fsmount', 'fspick', 'mount_setattr', 'unshare', 'setns', 'keyctl', 'add_key',
  'request_key', 'bpf', 'perf_event_open', 'userfaultfd', 'io_uring_setup', 'io_uring_enter', 'io_uring_register',
  'kexec_load', 'kexec_file_load', 'init_module', 'finit_module', 'delete_module', 'acct', 'swapon', 'swapoff',
  'reboot', 'quotactl', 'lookup_dcookie', 'vhangup', 'syslog', 'name_to_handle_at', 'open_by_handle_at',
  'settimeofday', 'clock_settime', 'clock_adjtime', 'adjtimex', 'pidfd_getfd', 'fanotify_init', 'nfsservctl',
  'uselib', 'iopl', 'ioperm', 'kcmp', 'io_setup', 'io_destroy', 'io_submit', 'io_cancel', 'io_getevents',
  'io_pgetevents', 'inotify_init', 'inotify_init1', 'inotify_add_watch', 'fanotify_mark',
];

function nr(name: SyscallName, arch: SeccompArch = 'x86_64'): number {
  const n = syscallNumber(name, arch);
  if (n === undefined) throw new Error(`${name} missing on ${arch}`);
  return n;
}

// ---------------------------------------------------------------- assembler

describe('bpf assembler', () => {
  it('serialises struct sock_filter as u16 code, u8 jt, u8 jf, u32 k (little-endian)', () => {
    const buf = serializeBpf([{ code: 0x0015, jt: 1, jf: 2, k: 0x11223344 }, retK(SECCOMP_RET_KILL_PROCESS)]);
    expect(buf.length).toBe(16);
    expect([...buf]).toEqual([0x15, 0x00, 0x01, 0x02, 0x44, 0x33, 0x22, 0x11, 0x06, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80]);
    expect(decodeBpf(buf)).toEqual([{ code: 0x15, jt: 1, jf: 2, k: 0x11223344 }, { code: 0x06, jt: 0, jf: 0, k: 0x80000000 }]);
  });

  it('encodes the opcodes seccomp needs', () => {
    expect(ldAbsW(4)).toEqual({ code: 0x20, jt: 0, jf: 0, k: 4 });
    expect(jeqK(7, 1, 0).code).toBe(0x15);
    expect(jgeK(7, 1, 0).code).toBe(0x35);
    expect(jsetK(7, 1, 0).code).toBe(0x45);
    expect(aluAndK(0xff).code).toBe(0x54);
    expect(retK(0).code).toBe(0x06);
    expect(ja(3)).toEqual({ code: 0x05, jt: 0, jf: 0, k: 3 });
    expect(() => jeqK(1, 256, 0)).toThrow(BpfError);
    expect(() => retK(2 ** 32)).toThrow(BpfError);
  });

  it('resolves labels to relative forward offsets', () => {
    const prog = new BpfAssembler()
      .ldAbs(0)
      .jeq(1, 'one', NEXT)
      .jeq(2, 'two', 'other')
      .label('one')
      .ret(11)
      .label('two')
      .ret(22)
      .label('other')
      .ret(33)
      .assemble();
    expect(prog).toEqual([ldAbsW(0), jeqK(1, 1, 0), jeqK(2, 1, 2), retK(11), retK(22), retK(33)]);
    const run = (n: number): number => runFilter(prog, { nr: n, arch: 0 });
    expect([run(1), run(2), run(3)]).toEqual([11, 22, 33]);
  });

  it('reaches targets more than 255 instructions away via JA trampolines', () => {
    const asm = new BpfAssembler().ldAbs(0).jeq(1, 'far', NEXT).jeq(2, NEXT, 'far').ja('far2');
    for (let i = 0; i < 300; i++) asm.jeq(1000 + i, 'far2'); // 300 padding compares
    asm.ret(99).label('far').ret(1).label('far2').ret(2);
    const prog = asm.assemble();
    for (const ins of prog) {
      expect(ins.jt).toBeLessThanOrEqual(255);
      expect(ins.jf).toBeLessThanOrEqual(255);
    }
    expect(prog.length).toBeGreaterThan(300);
    const run = (n: number): number => runFilter(prog, { nr: n, arch: 0 });
    expect(run(1)).toBe(1);
    expect(run(3)).toBe(1); // jeq 2 false -> far
    expect(run(2)).toBe(2); // falls to ja far2
    // The padding compares sit after `ja far2`, so they are dead, but must still encode.
    expect(prog.some((i) => i.code === (BPF.JMP | BPF.JA) && i.k > 255)).toBe(true);
  });

  it('rejects malformed programs', () => {
    expect(() => new BpfAssembler().jeq(1, 'nowhere').ret(0).assemble()).toThrow(/undefined label/);
    expect(() => new BpfAssembler().label('a').ret(0).ja('a').assemble()).toThrow(/backward/);
    expect(() => new BpfAssembler().label('a').label('a').ret(0).assemble()).toThrow(/duplicate/);
    expect(() => new BpfAssembler().ldAbs(0).assemble()).toThrow(/end with RET/);
    expect(() => new BpfAssembler().jeq(1, 'end').ret(0).label('end').assemble()).toThrow(/past the end/);
    const long = new BpfAssembler();
    for (let i = 0; i < 4096; i++) long.ldAbs(0);
    expect(() => long.ret(0).assemble()).toThrow(/too long/);
  });
});

// ------------------------------------------------------- compiled program

describe('compiled seccomp program (emulated)', () => {
  for (const arch of ['x86_64', 'aarch64'] as const) {
    describe(arch, () => {
      const prog = compileSeccompProgram(buildSeccompPolicy(), arch);
      const run = (name: SyscallName, ...args: bigint[]): number =>
        runFilter(prog, { nr: nr(name, arch), arch: AUDIT_ARCH[arch], args });

      it('checks the arch first, then loads nr', () => {
        const p = decodeBpf(compileSeccompFilter({ arch }));
        expect(p[0]).toEqual(ldAbsW(4));
        expect(p[1]?.code).toBe(BPF.JMP | BPF.JEQ | BPF.K);
        expect(p[1]?.k).toBe(AUDIT_ARCH[arch]);
        expect(p[1]?.jt).toBe(0);
        const killAt = 2 + (p[1]?.jf ?? 0);
        expect(p[killAt]).toEqual(retK(SECCOMP_RET_KILL_PROCESS));
        expect(p[2]).toEqual(ldAbsW(0));
        if (arch === 'x86_64') {
          expect(p[3]?.code).toBe(BPF.JMP | BPF.JGE | BPF.K);
          expect(p[3]?.k).toBe(0x40000000);
          expect(p[4 + (p[3]?.jt ?? 0)]).toEqual(retK(SECCOMP_RET_KILL_PROCESS));
        } else {
          expect(p[3]?.code).toBe(BPF.JMP | BPF.JEQ | BPF.K);
        }
      });

      it('decides allowed syscalls from (arch, nr) alone, so the kernel can cache them', () => {
        // Every load on the path to the first RET ALLOW reads nr or arch, never args.
        const firstAllow = prog.findIndex((i) => i.code === (BPF.RET | BPF.K) && i.k === SECCOMP_RET_ALLOW);
        const loads = prog.slice(0, firstAllow).filter((i) => i.code === (BPF.LD | BPF.W | BPF.ABS));
        expect(loads.map((i) => i.k)).toEqual([4, 0]);
      });

      it('kills foreign-arch and x32 syscalls', () => {
        const other = arch === 'x86_64' ? AUDIT_ARCH.aarch64 : AUDIT_ARCH.x86_64;
        expect(runFilter(prog, { nr: nr('getpid', arch), arch: other })).toBe(SECCOMP_RET_KILL_PROCESS);
        expect(runFilter(prog, { nr: nr('getpid', arch), arch: 0x40000003 /* i386 */ })).toBe(SECCOMP_RET_KILL_PROCESS);
        const x32 = runFilter(prog, { nr: 0x40000000 | nr('getpid', arch), arch: AUDIT_ARCH[arch] });
        expect(x32).toBe(arch === 'x86_64' ? SECCOMP_RET_KILL_PROCESS : SECCOMP_RET_ALLOW);
      });

      it('denies every unconditional rule with EPERM and allows controls', () => {
        const { denied } = describeSeccompPolicy({ arch });
        expect(denied.length).toBeGreaterThan(40);
        for (const name of denied) expect([name, run(name, NEG1, BAD_PTR)]).toEqual([name, EPERM_RET]);
        expect(run('getpid')).toBe(SECCOMP_RET_ALLOW);
        expect(run('read', NEG1)).toBe(SECCOMP_RET_ALLOW);
        expect(runFilter(prog, { nr: 999, arch: AUDIT_ARCH[arch] })).toBe(SECCOMP_RET_ALLOW);
      });

      it('applies the conditional rules', () => {
        for (const [flag, bit] of Object.entries(NS_FLAGS)) expect([flag, run('clone', bit | 0x11n)]).toEqual([flag, EPERM_RET]);
        expect(run('clone', 0x80n)).toBe(EPERM_RET); // CLONE_NEWTIME bit
        expect(run('clone', 0x01200011n)).toBe(SECCOMP_RET_ALLOW); // glibc fork()
        expect(run('clone', 0x003d0f00n)).toBe(SECCOMP_RET_ALLOW); // pthread_create
        expect(run('clone3', BAD_PTR, 88n)).toBe(ENOSYS_RET);
        expect(run('ioctl', 0n, TIOCSTI)).toBe(EPERM_RET);
        expect(run('ioctl', 0n, TIOCLINUX)).toBe(EPERM_RET);
        expect(run('ioctl', 0n, 0xffffffff00000000n | TIOCSTI)).toBe(EPERM_RET);
        expect(run('ioctl', 0n, TIOCGWINSZ)).toBe(SECCOMP_RET_ALLOW);
        expect(run('ioctl', 0n, 0x1_00000000n)).toBe(SECCOMP_RET_ALLOW);
        expect(run('personality', 0xffffffffn)).toBe(SECCOMP_RET_ALLOW);
        expect(run('personality', 0n)).toBe(SECCOMP_RET_ALLOW);
        expect(run('personality', 0x0008n)).toBe(EPERM_RET);
        expect(run('personality', 0x0400000n)).toBe(EPERM_RET);
      });

      it('adds the SysV groups only when asked', () => {
        const both = compileSeccompProgram(buildSeccompPolicy({ denySysvShm: true, denySysvIpc: true }), arch);
        const shmOnly = compileSeccompProgram(buildSeccompPolicy({ denySysvShm: true }), arch);
        const at = (p: SockFilter[], name: SyscallName): number => runFilter(p, { nr: nr(name, arch), arch: AUDIT_ARCH[arch] });
        for (const name of ['shmget', 'shmat', 'shmdt', 'shmctl'] as const) {
          expect(at(prog, name)).toBe(SECCOMP_RET_ALLOW);
          expect(at(shmOnly, name)).toBe(EPERM_RET);
        }
        for (const name of ['msgget', 'msgsnd', 'msgrcv', 'msgctl', 'semget', 'semop', 'semtimedop', 'semctl'] as const) {
          expect(at(shmOnly, name)).toBe(SECCOMP_RET_ALLOW);
          expect(at(both, name)).toBe(EPERM_RET);
        }
      });
    });
  }

  it('describes the policy per arch', () => {
    const x = describeSeccompPolicy({ arch: 'x86_64' });
    expect(x.defaultAction).toBe('allow');
    expect(x.denied).toEqual(expect.arrayContaining(REQUIRED_DENIED));
    expect(x.conditional.map((r) => [r.syscall, r.result])).toEqual(
      expect.arrayContaining([['clone', 'EPERM'], ['clone3', 'ENOSYS'], ['ioctl', 'EPERM'], ['personality', 'EPERM']]),
    );
    expect(x.conditional.find((r) => r.syscall === 'ioctl')?.when).toBe('(u32)arg1 in {0x5412, 0x541c}');
    expect(x.killed.join('\n')).toMatch(/x32/);
    const a = describeSeccompPolicy({ arch: 'aarch64' });
    expect(a.denied).not.toContain('iopl');
    expect(a.denied).not.toContain('uselib');
    expect(a.denied).toContain('mount');
    expect(a.killed.join('\n')).not.toMatch(/x32/);
    expect(describeSeccompPolicy({ denySysvShm: true, arch: 'x86_64' }).denied).toContain('shmget');
  });

  it('rejects unsupported architectures with a typed error', () => {
    expect(hostSeccompArch('x64')).toBe('x86_64');
    expect(hostSeccompArch('arm64')).toBe('aarch64');
    for (const bad of [() => hostSeccompArch('ia32'), () => compileSeccompFilter({ arch: 'riscv64' as SeccompArch })]) {
      let err: unknown;
      try {
        bad();
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(SeccompError);
      expect((err as SeccompError).code).toBe('E_SECCOMP_ARCH');
    }
  });

  it('rejects duplicate rules and out-of-range errnos', () => {
    const rule: SeccompRule = { syscall: 'mount', action: { type: 'errno', errno: 1 }, group: 'base', reason: 't' };
    expect(() => compileSeccompProgram([rule, rule], 'x86_64')).toThrow(/duplicate/);
    expect(() => compileSeccompProgram([{ ...rule, action: { type: 'errno', errno: 5000 } }], 'x86_64')).toThrow(/errno/);
  });
});

// ------------------------------------------------------- real kernel tests

const BWRAP = '/usr/bin/bwrap';
const PYTHON = '/usr/bin/python3';

interface JailResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Run `python3 -c script ...argv` in bwrap, optionally with `--seccomp 3` fed from a pipe. */
function runJailed(filter: Buffer | null, script: string, argv: string[] = []): Promise<JailResult> {
  const bwrapArgs = [
    '--unshare-all', '--unshare-user', '--die-with-parent', '--new-session',
    '--ro-bind', '/usr', '/usr', '--symlink', 'usr/lib', '/lib', '--symlink', 'usr/lib64', '/lib64',
    '--symlink', 'usr/bin', '/bin', '--proc', '/proc', '--dev', '/dev', '--tmpfs', '/tmp',
    ...(filter ? ['--seccomp', '3'] : []),
    PYTHON, '-I', '-S', '-c', script, ...argv,
  ];
  // `ulimit -c 0`: SIGSYS normally dumps core; keep the kill tests from writing cores.
  const root = process.getuid?.() === 0;
  const child = spawn('/bin/sh', ['-c', 'ulimit -c 0; exec "$0" "$@"', BWRAP, ...bwrapArgs], {
    env: {},
    cwd: '/',
    stdio: ['ignore', 'pipe', 'pipe', filter ? 'pipe' : 'ignore'],
    // Never run bwrap as host root: as nobody it has to build its own user namespace.
    ...(root ? { uid: 65534, gid: 65534 } : {}),
  });
  if (filter) {
    const fd3 = child.stdio[3] as Writable;
    fd3.on('error', () => {}); // EPIPE if bwrap dies before reading
    fd3.end(filter);
  }
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

// Calls each [name, nr, args] via ctypes syscall(2); prints {name: "OK" | errno name}.
// Optional extras exercise fork/threads/subprocess; `last` is a final call made
// after printing (for calls expected to kill the process).
const PROBE = String.raw`
import ctypes, errno, json, os, sys
spec = json.loads(sys.argv[1])
libc = ctypes.CDLL(None, use_errno=True)
sc = libc.syscall
sc.restype = ctypes.c_long
def call(nr, args):
    ctypes.set_errno(0)
    r = sc(ctypes.c_long(nr), *[ctypes.c_ulong(int(a) & 0xffffffffffffffff) for a in args])
    if r == -1:
        e = ctypes.get_errno()
        return errno.errorcode.get(e, str(e))
    return "OK"
stack = spec.get("stack")
if stack:  # a second filter on top of bwrap's, as the bootstrap stacks the strict one
    prog = bytes.fromhex(stack)
    buf = ctypes.create_string_buffer(prog, len(prog))
    class Fprog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]
    fprog = Fprog(len(prog) // 8, ctypes.addressof(buf))
    assert libc.prctl(22, ctypes.c_ulong(2), ctypes.byref(fprog), ctypes.c_ulong(0), ctypes.c_ulong(0)) == 0
out = {}
for name, nr, args in spec.get("calls", []):
    out[name] = call(nr, args)
def extra(name, fn):
    try:
        out[name] = fn()
    except OSError as e:
        out[name] = errno.errorcode.get(e.errno, str(e.errno))
def fork():
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    return "OK" if os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 0 else "child failed"
def thread():
    import threading
    box = []
    t = threading.Thread(target=lambda: box.append(os.getpid()))
    t.start(); t.join()
    return "OK" if box == [os.getpid()] else "thread failed"
def subproc():
    import subprocess
    return "OK" if subprocess.run(["/usr/bin/true"]).returncode == 0 else "subprocess failed"
for name in spec.get("extras", []):
    extra(name, {"fork": fork, "thread": thread, "subprocess": subproc}[name])
print(json.dumps(out), flush=True)
last = spec.get("last")
if last:
    print("calling", last[0], flush=True)
    print("survived", call(last[1], last[2]), flush=True)
`;

type Call = [name: string, nr: number, args: bigint[]];
interface ProbeSpec {
  /** Hex of a filter the probe stacks itself before its calls. */
  stack?: string;
  calls?: Call[];
  extras?: ('fork' | 'thread' | 'subprocess')[];
  last?: Call;
}

async function probe(filter: Buffer | null, spec: ProbeSpec): Promise<{ results: Record<string, string>; run: JailResult }> {
  const json = JSON.stringify(spec, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
  const run = await runJailed(filter, PROBE, [json]);
  const line = run.stdout.split('\n')[0] ?? '';
  let results: Record<string, string>;
  try {
    results = JSON.parse(line) as Record<string, string>;
  } catch {
    throw new Error(`probe produced no JSON (code=${run.code} signal=${run.signal})\nstdout: ${run.stdout}\nstderr: ${run.stderr}`);
  }
  return { results, run };
}

const x86 = (name: SyscallName): number => nr(name, 'x86_64');
// Harmless bad arguments: -1 fds/flags and an unmapped pointer.
const badCall = (name: SyscallName): Call => [name, x86(name), [NEG1, BAD_PTR, NEG1, BAD_PTR, 0n, 0n]];
const CONTROLS: Call[] = [
  ['getpid', x86('getpid'), []],
  ['read_badfd', x86('read'), [NEG1, BAD_PTR, 1n]],
];

// Security tests never skip: on a non-x86_64 host or without bwrap they fail loudly.
const AF_UNIX = 1n;
const AF_INET = 2n;
const AF_INET6 = 10n;
const AF_NETLINK = 16n;
const LOW_HALF_ZERO = 0x1_0000_0000n; // a pointer whose low 32 bits are 0: not NULL

describe('the strict policy\'s filter (emulated)', () => {
  for (const arch of ['x86_64', 'aarch64'] as const) {
    describe(arch, () => {
      const prog = decodeBpf(compileStrictSeccompFilter(arch));
      const run = (name: SyscallName, ...args: bigint[]): number => runFilter(prog, { nr: nr(name, arch), arch: AUDIT_ARCH[arch], args });

      it('refuses every way to a new program, and allows fork, threads and the rest', () => {
        expect(run('execve', BAD_PTR)).toBe(EPERM_RET);
        expect(run('execveat', NEG1, BAD_PTR)).toBe(EPERM_RET);
        expect(run('clone', 0x01200011n)).toBe(SECCOMP_RET_ALLOW); // glibc fork(): strict allows os.fork
        expect(run('clone', 0x003d0f00n)).toBe(SECCOMP_RET_ALLOW); // pthread_create
        expect(run('getpid')).toBe(SECCOMP_RET_ALLOW);
        expect(run('read', NEG1)).toBe(SECCOMP_RET_ALLOW);
        expect(runFilter(prog, { nr: nr('getpid', arch), arch: arch === 'x86_64' ? AUDIT_ARCH.aarch64 : AUDIT_ARCH.x86_64 })).toBe(SECCOMP_RET_KILL_PROCESS);
      });

      it('allows unix sockets only, and no connect, bind, sendto to an address or sendmsg', () => {
        expect(run('socket', AF_UNIX, 1n)).toBe(SECCOMP_RET_ALLOW);
        expect(run('socketpair', AF_UNIX, 1n)).toBe(SECCOMP_RET_ALLOW);
        for (const family of [AF_INET, AF_INET6, AF_NETLINK, 0n, 0x1_0000_0002n]) {
          expect(run('socket', family, 2n)).toBe(EPERM_RET);
          expect(run('socketpair', family, 2n)).toBe(EPERM_RET);
        }
        expect(run('socket', 0xffffffff_00000001n, 1n)).toBe(SECCOMP_RET_ALLOW); // the kernel reads an int: AF_UNIX
        for (const name of ['connect', 'bind', 'sendmsg', 'sendmmsg'] as const) expect(run(name, NEG1, BAD_PTR)).toBe(EPERM_RET);
        expect(run('sendto', NEG1, BAD_PTR, 1n, 0n, 0n, 0n)).toBe(SECCOMP_RET_ALLOW); // send(): no address
        expect(run('sendto', NEG1, BAD_PTR, 1n, 0n, BAD_PTR, 16n)).toBe(EPERM_RET);
        expect(run('sendto', NEG1, BAD_PTR, 1n, 0n, LOW_HALF_ZERO, 16n)).toBe(EPERM_RET);
      });
    });
  }
});

describe('seccomp filter in a real bwrap jail', () => {
  const filter = compileSeccompFilter();

  it('bwrap + python run without a filter (harness sanity)', async () => {
    const { results, run } = await probe(null, {
      calls: [
        ...CONTROLS,
        ['ioctl_tiocsti', x86('ioctl'), [0n, TIOCSTI, BAD_PTR]],
        ['clone3', x86('clone3'), [BAD_PTR, 0n]],
        ['clone_sighand', x86('clone'), [CLONE_SIGHAND]],
      ],
      last: ['x32_getpid', 0x40000000 | 39, []],
    });
    expect(results).toEqual({ getpid: 'OK', read_badfd: 'EBADF', ioctl_tiocsti: 'ENOTTY', clone3: 'EINVAL', clone_sighand: 'EINVAL' });
    // Without the filter an x32 call is harmless (ENOSYS, or getpid if x32 is enabled).
    expect(run.stdout).toMatch(/survived/);
    expect(run.code).toBe(0);
  });

  it('denies every unconditionally denied syscall with EPERM; controls still work', async () => {
    const { denied } = describeSeccompPolicy();
    const { results, run } = await probe(filter, { calls: [...CONTROLS, ...denied.map(badCall)] });
    expect(run.code).toBe(0);
    expect(results.getpid).toBe('OK');
    expect(results.read_badfd).toBe('EBADF');
    for (const name of denied) expect([name, results[name]]).toEqual([name, 'EPERM']);
    expect(denied).toEqual(expect.arrayContaining(REQUIRED_DENIED));
  });

  it('the EPERMs come from the filter: the same rules with a marker errno return it for every call', async () => {
    // Many denied calls would fail with EPERM anyway (no capabilities); errno 1234
    // is something the kernel itself never returns, so it proves the filter matched.
    const marked = buildSeccompPolicy().map((r) =>
      r.action.type === 'errno' && r.action.errno === 1 ? { ...r, action: { type: 'errno' as const, errno: 1234 } } : r,
    );
    const { denied } = describeSeccompPolicy();
    const { results } = await probe(serializeBpf(compileSeccompProgram(marked, 'x86_64')), {
      calls: [...CONTROLS, ...denied.map(badCall), ['unshare_newuser', x86('unshare'), [NS_FLAGS.CLONE_NEWUSER ?? 0n]]],
    });
    expect(results.getpid).toBe('OK');
    expect(results.read_badfd).toBe('EBADF');
    for (const name of [...denied, 'unshare_newuser']) expect([name, results[name]]).toEqual([name, '1234']);
  });

  it('closes the host-wide AIO pool and inotify: reached without the filter, EPERM with it', async () => {
    // io_setup reads its context pointer first: BAD_PTR makes the unfiltered call fail with
    // EFAULT before it takes anything from the host's aio-nr.
    const calls: Call[] = [
      ['io_setup', x86('io_setup'), [65536n, BAD_PTR]],
      ['io_destroy', x86('io_destroy'), [0n]],
      ['io_getevents', x86('io_getevents'), [0n, 0n, 1n, BAD_PTR, 0n]],
      ['inotify_init1', x86('inotify_init1'), [0n]],
      ['inotify_init', x86('inotify_init'), []],
      ['inotify_add_watch', x86('inotify_add_watch'), [NEG1, BAD_PTR, 1n]],
    ];
    const open = await probe(null, { calls });
    expect(open.results).toEqual({ io_setup: 'EFAULT', io_destroy: 'EINVAL', io_getevents: 'EINVAL', inotify_init1: 'OK', inotify_init: 'OK', inotify_add_watch: 'EBADF' });
    const closed = await probe(filter, { calls });
    expect(closed.results).toEqual(Object.fromEntries(calls.map(([name]) => [name, 'EPERM'])));
  });

  it('blocks namespace clones but not fork, threads (clone3 -> ENOSYS fallback) or subprocess', async () => {
    const nsCalls: Call[] = Object.entries(NS_FLAGS).map(([flag, bit]) => [flag, x86('clone'), [bit | CLONE_SIGHAND]]);
    const { results } = await probe(filter, {
      calls: [
        ...nsCalls,
        ['clone_plain_invalid', x86('clone'), [CLONE_SIGHAND]],
        ['clone3', x86('clone3'), [BAD_PTR, 88n]],
        ['unshare', x86('unshare'), [0n]],
        ['setns', x86('setns'), [NEG1, 0n]],
      ],
      extras: ['fork', 'thread', 'subprocess'],
    });
    for (const flag of Object.keys(NS_FLAGS)) expect([flag, results[flag]]).toEqual([flag, 'EPERM']);
    expect(results.clone_plain_invalid).toBe('EINVAL'); // clone itself still reaches the kernel
    expect(results.clone3).toBe('ENOSYS');
    expect(results.unshare).toBe('EPERM');
    expect(results.setns).toBe('EPERM');
    expect(results.fork).toBe('OK');
    expect(results.thread).toBe('OK');
    expect(results.subprocess).toBe('OK');
  });

  it('blocks TIOCSTI/TIOCLINUX even with high bits set, but not other ioctls', async () => {
    const ioctl = x86('ioctl');
    const { results } = await probe(filter, {
      calls: [
        ['tiocsti', ioctl, [0n, TIOCSTI, BAD_PTR]],
        ['tiocsti_high', ioctl, [0n, 0xffffffff00000000n | TIOCSTI, BAD_PTR]],
        ['tiocsti_badfd', ioctl, [NEG1, TIOCSTI, BAD_PTR]],
        ['tioclinux', ioctl, [0n, TIOCLINUX, BAD_PTR]],
        ['tioclinux_high', ioctl, [0n, 0x1_00000000n | TIOCLINUX, BAD_PTR]],
        ['tiocgwinsz_badfd', ioctl, [NEG1, TIOCGWINSZ, BAD_PTR]],
        ['tiocgwinsz_devnull', ioctl, [0n, TIOCGWINSZ, BAD_PTR]],
      ],
    });
    expect(results).toEqual({
      tiocsti: 'EPERM',
      tiocsti_high: 'EPERM',
      tiocsti_badfd: 'EPERM',
      tioclinux: 'EPERM',
      tioclinux_high: 'EPERM',
      tiocgwinsz_badfd: 'EBADF',
      tiocgwinsz_devnull: 'ENOTTY',
    });
  });

  it('allows only the personality query and PER_LINUX', async () => {
    const p = x86('personality');
    const { results } = await probe(filter, {
      calls: [
        ['query', p, [0xffffffffn]],
        ['per_linux', p, [0n]],
        ['per_linux32', p, [0x0008n]],
        ['read_implies_exec', p, [0x0400000n]],
        ['addr_no_randomize', p, [0x0040000n]],
      ],
    });
    expect(results).toEqual({ query: 'OK', per_linux: 'OK', per_linux32: 'EPERM', read_implies_exec: 'EPERM', addr_no_randomize: 'EPERM' });
  });

  it('kills the process with SIGSYS on an x32 syscall', async () => {
    const { results, run } = await probe(filter, { calls: CONTROLS, last: ['x32_getpid', 0x40000000 | 39, []] });
    expect(results.getpid).toBe('OK');
    expect(run.stdout).toMatch(/calling x32_getpid/);
    expect(run.stdout).not.toMatch(/survived/);
    // bwrap's pid 1 reports a child killed by signal N as exit status 128 + N.
    expect(run.code).toBe(128 + 31);
  });

  it('kills the process on its first syscall when the filter is for a foreign arch', async () => {
    const run = await runJailed(compileSeccompFilter({ arch: 'aarch64' }), 'print("should not run")');
    expect(run.stdout).toBe('');
    expect(run.code).toBe(128 + 31);
  });

  it('denies SysV shared memory only when denySysvShm is set', async () => {
    const calls: Call[] = [
      ['shmget', x86('shmget'), [0n, 0n, 0n]], // IPC_PRIVATE, size 0 -> EINVAL when allowed
      ['shmctl', x86('shmctl'), [NEG1, 0n, BAD_PTR]],
      ['semget', x86('semget'), [0n, NEG1, 0n]],
      ['msgctl', x86('msgctl'), [NEG1, 0n, BAD_PTR]],
    ];
    const off = await probe(filter, { calls });
    const shm = await probe(compileSeccompFilter({ denySysvShm: true }), { calls });
    const ipc = await probe(compileSeccompFilter({ denySysvShm: true, denySysvIpc: true }), { calls });
    expect(off.results).toEqual({ shmget: 'EINVAL', shmctl: 'EINVAL', semget: 'EINVAL', msgctl: 'EINVAL' });
    expect(shm.results).toEqual({ shmget: 'EPERM', shmctl: 'EPERM', semget: 'EINVAL', msgctl: 'EINVAL' });
    expect(ipc.results).toEqual({ shmget: 'EPERM', shmctl: 'EPERM', semget: 'EPERM', msgctl: 'EPERM' });
  });

  it('the kernel accepts a filter whose jumps need trampolines (> 255 instructions)', async () => {
    const asm = new BpfAssembler()
      .ldAbs(4)
      .jeq(AUDIT_ARCH.x86_64, NEXT, 'kill')
      .ldAbs(0);
    for (let n = 1000; n < 1400; n++) asm.jeq(n, 'deny'); // first compares are ~400 insns from 'deny'
    const prog = asm.ret(SECCOMP_RET_ALLOW).label('kill').ret(SECCOMP_RET_KILL_PROCESS).label('deny').ret(SECCOMP_RET_ERRNO | 1234).assemble();
    expect(prog.length).toBeGreaterThan(400);
    const { results } = await probe(serializeBpf(prog), {
      calls: [...CONTROLS, ['nr1000', 1000, []], ['nr1399', 1399, []], ['nr1400', 1400, []]],
    });
    expect(results).toEqual({ getpid: 'OK', read_badfd: 'EBADF', nr1000: '1234', nr1399: '1234', nr1400: 'ENOSYS' });
  });
});

describe('the strict policy\'s filter stacked on the jail\'s, in the real kernel', () => {
  const x86Call = (name: SyscallName, ...args: bigint[]): Call => [name, x86(name), args];

  it('refuses exec, non-unix sockets, connect, bind, sendto to an address and sendmsg with EPERM; fork and threads work', async () => {
    const calls: Call[] = [
      ...CONTROLS,
      x86Call('execve', BAD_PTR, 0n, 0n),
      x86Call('execveat', NEG1, BAD_PTR, 0n, 0n, 0n),
      ['socket_inet', x86('socket'), [AF_INET, 2n, 0n]],
      ['socket_inet6', x86('socket'), [AF_INET6, 2n, 0n]],
      ['socket_netlink', x86('socket'), [AF_NETLINK, 3n, 0n]],
      ['socket_inet_high_bits', x86('socket'), [0x1_0000_0002n, 2n, 0n]],
      ['socket_unix', x86('socket'), [AF_UNIX, 2n, 0n]],
      ['socketpair_inet', x86('socketpair'), [AF_INET, 1n, 0n, BAD_PTR]],
      x86Call('connect', NEG1, BAD_PTR, 16n),
      x86Call('bind', NEG1, BAD_PTR, 16n),
      ['send', x86('sendto'), [NEG1, BAD_PTR, 1n, 0n, 0n, 0n]],
      ['sendto_addr', x86('sendto'), [NEG1, BAD_PTR, 1n, 0n, BAD_PTR, 16n]],
      ['sendto_addr_low_half_zero', x86('sendto'), [NEG1, BAD_PTR, 1n, 0n, LOW_HALF_ZERO, 16n]],
      x86Call('sendmsg', NEG1, BAD_PTR, 0n),
      x86Call('sendmmsg', NEG1, BAD_PTR, 1n, 0n),
    ];
    const before = await probe(compileSeccompFilter(), { calls });
    // Without the strict filter the same calls reach the kernel (bad fds and pointers).
    expect(before.results).toMatchObject({ execve: 'EFAULT', execveat: 'EFAULT', socket_inet: 'OK', socket_unix: 'OK', connect: 'EBADF', send: 'EBADF', sendto_addr: 'EBADF', sendmsg: 'EBADF' });
    const { results, run } = await probe(compileSeccompFilter(), {
      stack: compileStrictSeccompFilter().toString('hex'),
      calls,
      extras: ['fork', 'thread', 'subprocess'],
    });
    expect(run.code).toBe(0);
    expect(results).toEqual({
      getpid: 'OK',
      read_badfd: 'EBADF',
      execve: 'EPERM',
      execveat: 'EPERM',
      socket_inet: 'EPERM',
      socket_inet6: 'EPERM',
      socket_netlink: 'EPERM',
      socket_inet_high_bits: 'EPERM',
      socket_unix: 'OK',
      socketpair_inet: 'EPERM',
      connect: 'EPERM',
      bind: 'EPERM',
      send: 'EBADF',
      sendto_addr: 'EPERM',
      sendto_addr_low_half_zero: 'EPERM',
      sendmsg: 'EPERM',
      sendmmsg: 'EPERM',
      fork: 'OK',
      thread: 'OK',
      subprocess: 'EPERM',
    });
  });
});
