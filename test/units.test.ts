import { mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { libraryAlternatives } from '../src/host/alternatives.js';
import { buildBwrapArgv, bwrapInvocation, ETC_NSSWITCH, etcHosts, JAIL_ENV, JAIL_FDS, JAIL_HOSTNAME, jailEtcFiles, type JailLayout } from '../src/backends/native/jail/bwrap-argv.js';
import { decideVerdict, type VerdictInput } from '../src/backends/native/jail/verdict.js';
import { FrameDecoder } from '../src/guest/protocol.js';
import { normaliseWorkspacePath } from '../src/core/workspace-path.js';
import { compileCollect } from '../src/core/glob.js';
import { guestRlimits, SIGNALS_QUEUED } from '../src/backends/native/jail/rlimits.js';
import { DEFAULT_LIMITS, resolveLimits } from '../src/core/limits.js';
import { prepareRun } from '../src/core/options.js';
import { PyboxError } from '../src/core/errors.js';

const layout: JailLayout = {
  python: '/usr/bin/python3',
  bootstrapSource: 'print(1)',
  usrSymlinks: [{ name: 'lib', target: 'usr/lib' }],
  alternatives: [{ name: 'libblas.so.3-x86_64-linux-gnu', target: '/usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3' }],
  extraReadOnly: [],
  procMasks: { files: ['kcore', 'keys'], dirs: ['acpi'] },
  hasLdCache: true,
  workspaceBytes: 64 << 20,
  tmpBytes: 32 << 20,
};

describe('bwrap argv', () => {
  const argv = buildBwrapArgv(layout);
  const joined = argv.join(' ');
  it('unshares every namespace, drops caps, forbids nested user namespaces', () => {
    for (const flag of ['--unshare-all', '--unshare-user', '--disable-userns', '--die-with-parent', '--new-session', '--clearenv']) {
      expect(argv).toContain(flag);
    }
    expect(joined).toContain('--cap-drop ALL');
    expect(argv).not.toContain('--share-net');
    expect(joined).toContain('--uid 1000 --gid 1000');
  });
  it('binds only /usr from the host, read-only, and no host /etc, /home, /root, /var, /run, /sys', () => {
    const binds = argv.flatMap((a, i) => (a === '--bind' || a === '--ro-bind' ? [argv[i + 1]] : []));
    expect(binds).toEqual(['/usr', '/dev/null', '/dev/null']);
    expect(argv).not.toContain('--bind');
    // /etc holds only files copied in from our pipes, in the read-only root
    const copied = argv.flatMap((a, i) => (a === '--file' ? [`${argv[i + 1]}>${argv[i + 2]}`] : []));
    for (const p of ['/home', '/root', '/var', '/run', '/sys', '/etc']) expect(binds).not.toContain(p);
    expect(copied).toEqual(['8>/etc/passwd', '9>/etc/group', '10>/etc/ld.so.cache', '12>/etc/hosts', '13>/etc/nsswitch.conf']);
    expect(argv.lastIndexOf('--file')).toBeLessThan(argv.lastIndexOf('--remount-ro'));
    expect(argv[argv.lastIndexOf('--remount-ro') + 1]).toBe('/');
    // every copied file has its contents on its fd, and no fd without a --file
    expect(jailEtcFiles(Buffer.from('cache')).map(([fd]) => fd)).toEqual([8, 9, 10, 12, 13]);
    expect(jailEtcFiles(null).map(([fd]) => fd)).toEqual([8, 9, 12, 13]);
    const noCache = buildBwrapArgv({ ...layout, hasLdCache: false });
    expect(noCache.flatMap((a, i) => (a === '--file' ? [Number(noCache[i + 1])] : []))).toEqual([8, 9, 12, 13]);
  });
  it('recreates /etc/alternatives library links as symlinks in the read-only root, not a bind of the host /etc', () => {
    expect(joined).toContain('--symlink /usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3 /etc/alternatives/libblas.so.3-x86_64-linux-gnu');
    expect(argv.indexOf('--symlink', argv.indexOf('/etc/nsswitch.conf'))).toBeLessThan(argv.lastIndexOf('--remount-ro'));
  });
  it('takes only shared-library alternatives that point at a file under the read-only roots', () => {
    const dir = mkdtempSync(join(tmpdir(), 'alternatives-'));
    try {
      const real = realpathSync('/usr/bin/python3');
      symlinkSync(real, join(dir, 'libfake.so.3-x86_64-linux-gnu'));
      symlinkSync(real, join(dir, 'editor')); // not a library
      symlinkSync(dir, join(dir, 'libdir.so')); // not under /usr
      symlinkSync('/usr/lib/none.so', join(dir, 'libdangling.so')); // dangling
      symlinkSync('/usr/../etc/shadow', join(dir, 'libdots.so.1')); // climbs out
      writeFileSync(join(dir, 'libplain.so'), ''); // not a link
      expect(libraryAlternatives(['/usr'], dir)).toEqual([{ name: 'libfake.so.3-x86_64-linux-gnu', target: real }]);
      expect(libraryAlternatives(['/usr'], join(dir, 'absent'))).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  it('gives the jail an /etc/hosts where localhost and its hostname are its own loopback, and names from files only', () => {
    expect(joined).toContain(`--hostname ${JAIL_HOSTNAME}`);
    const hosts = etcHosts().trim().split('\n').map((l) => l.split(/\s+/));
    expect(hosts).toEqual([['127.0.0.1', 'localhost'], ['127.0.1.1', JAIL_HOSTNAME], ['::1', 'localhost', 'ip6-localhost', 'ip6-loopback']]);
    expect(ETC_NSSWITCH).toMatch(/^hosts: files$/m);
    expect(ETC_NSSWITCH).not.toMatch(/dns/);
  });
  it('masks host-wide /proc entries and sizes every tmpfs', () => {
    expect(joined).toContain('--ro-bind /dev/null /proc/kcore');
    expect(joined).toContain('--ro-bind /dev/null /proc/keys');
    expect(joined).toContain('--tmpfs /proc/acpi');
    expect(joined).toContain(`--size ${64 << 20} --tmpfs /workspace`);
    expect(joined).toContain(`--size ${32 << 20} --tmpfs /tmp`);
    expect(joined).toContain(`--size ${32 << 20} --tmpfs /dev/shm`);
    expect(joined).toContain('--remount-ro /dev');
    expect(joined).toContain('--remount-ro /');
  });
  it('builds /dev without a devpts (the host-wide pty pool): ptys only where a run mounts its own, capped', () => {
    expect(argv).not.toContain('--dev');
    expect(joined).toContain('--perms 0755 --tmpfs /dev');
    expect(argv.filter((a, i) => argv[i - 1] === '--dev-bind')).toEqual(['/dev/null', '/dev/zero', '/dev/full', '/dev/random', '/dev/urandom', '/dev/tty']);
    expect(joined).not.toContain('/dev/pts');
    expect(joined).not.toContain('/dev/ptmx');
    const zygote = buildBwrapArgv({ ...layout, zygote: true }).join(' ');
    expect(zygote).not.toContain('--dev ');
    expect(zygote).toContain('--symlink pts/ptmx /dev/ptmx');
    expect(zygote).toContain('--dir /dev/pts');
  });
  it('hands the pipes over on fixed fds and runs python isolated', () => {
    expect(joined).toContain(`--seccomp ${JAIL_FDS.seccomp}`);
    expect(joined).toContain(`--info-fd ${JAIL_FDS.info} --block-fd ${JAIL_FDS.block}`);
    expect(argv.slice(-7)).toEqual(['--', '/usr/bin/python3', '-I', '-S', '-B', '-c', 'print(1)']);
  });
});

describe('bwrap invocation', () => {
  // bwrap's pid 1 is readable in the jail: its command line must not hold the jail's options.
  it.each([false, true])('sends every option over the --args fd, NUL-terminated (zygote: %s)', (zygote) => {
    const l = { ...layout, zygote, pythonArgs: ['warm'] };
    const { argv, args } = bwrapInvocation(l);
    const command = ['/usr/bin/python3', '-I', '-S', '-B', '-c', 'print(1)', 'warm'];
    expect(argv).toEqual(['--args', String(JAIL_FDS.args), '--', ...command]);
    const text = args.toString('utf8');
    expect(text.endsWith('\0')).toBe(true);
    const options = text.slice(0, -1).split('\0');
    expect([...options, '--', ...command]).toEqual(buildBwrapArgv(l));
    expect(options).toContain('--unshare-all');
    expect(new Set(Object.values(JAIL_FDS)).size).toBe(Object.keys(JAIL_FDS).length);
  });
  it('refuses an option it could not encode', () => {
    expect(() => bwrapInvocation({ ...layout, extraReadOnly: ['/opt/a\0b'] })).toThrow(/NUL/);
  });
});

describe('verdict', () => {
  const base: VerdictInput = {
    killReason: null,
    exit: { code: 0, signal: null },
    started: true,
    cgroup: { cpuUsageMs: 10, memoryPeakBytes: 1, oomKills: 0, pidsMaxEvents: 0 },
    cpuMs: 10,
    cpuLimitMs: 1000,
    reportedErrorType: null,
  };
  it('our own kills win over anything the guest did', () => {
    expect(decideVerdict({ ...base, killReason: 'timeout', exit: { code: 0, signal: null } }).status).toBe('timeout');
    expect(decideVerdict({ ...base, killReason: 'output_limit' }).status).toBe('output_limit');
  });
  it('OOM kills come from the cgroup counter, not from a MemoryError the guest printed', () => {
    expect(decideVerdict({ ...base, exit: { code: 137, signal: null }, cgroup: { ...base.cgroup!, oomKills: 1 } }).status).toBe('memory_limit');
    expect(decideVerdict({ ...base, exit: { code: 1, signal: null }, reportedErrorType: 'MemoryError' }).status).toBe('error');
    expect(decideVerdict({ ...base, cgroup: null, exit: { code: 1, signal: null }, reportedErrorType: 'MemoryError' }).status).toBe('memory_limit');
  });
  it('signals propagated by bwrap as 128+n become signal names', () => {
    expect(decideVerdict({ ...base, exit: { code: 139, signal: null } })).toEqual({ status: 'killed', exitCode: null, signal: 'SIGSEGV' });
    expect(decideVerdict({ ...base, exit: { code: 152, signal: null }, cpuMs: 1000 }).status).toBe('cpu_limit');
    // sys.exit(152) looks like SIGXCPU but used no CPU: not a limit.
    expect(decideVerdict({ ...base, exit: { code: 152, signal: null }, cpuMs: 20 })).toEqual({ status: 'killed', exitCode: null, signal: 'SIGXCPU' });
  });
  it('CPU over budget is cpu_limit even if the program finished between samples', () => {
    expect(decideVerdict({ ...base, cpuMs: 1001 }).status).toBe('cpu_limit');
    expect(decideVerdict({ ...base, cpuMs: 1000 }).status).toBe('cpu_limit'); // used up, as the supervisor kills
  });
  it('with a cgroup CPU counter, only the counter says cpu_limit: a SIGXCPU or SIGKILL under the budget is not the limit', () => {
    const under = { ...base, cgroup: { ...base.cgroup!, cpuUsageMs: 950 }, cpuMs: 950 };
    expect(decideVerdict({ ...under, exit: { code: 152, signal: null } })).toEqual({ status: 'killed', exitCode: null, signal: 'SIGXCPU' });
    expect(decideVerdict({ ...under, exit: { code: 137, signal: null } })).toEqual({ status: 'killed', exitCode: null, signal: 'SIGKILL' });
  });
  it('without a cgroup CPU counter, the rlimit\'s signal is cpu_limit once the last sample saw half the budget', () => {
    const sampled = { ...base, cgroup: null };
    expect(decideVerdict({ ...sampled, exit: { code: 152, signal: null }, cpuMs: 600 }).status).toBe('cpu_limit');
    expect(decideVerdict({ ...sampled, exit: { code: 137, signal: null }, cpuMs: 600 }).status).toBe('cpu_limit');
    expect(decideVerdict({ ...sampled, exit: { code: 152, signal: null }, cpuMs: 20 }).status).toBe('killed');
  });
  it('a jail that never started is an internal error, exit codes are kept', () => {
    expect(decideVerdict({ ...base, started: false, exit: { code: 1, signal: null } }).status).toBe('internal_error');
    expect(decideVerdict({ ...base, exit: { code: 3, signal: null } })).toEqual({ status: 'error', exitCode: 3, signal: null });
    expect(decideVerdict(base).status).toBe('ok');
  });
});

function frame(obj: unknown): Buffer {
  const body = Buffer.from(JSON.stringify(obj));
  const head = Buffer.alloc(4);
  head.writeUInt32BE(body.length);
  return Buffer.concat([head, body]);
}

/** A file as the bootstrap sends it: its frame, then its bytes. */
function fileFrame(path: string, data: string | Buffer): Buffer {
  const bytes = Buffer.from(data);
  return Buffer.concat([frame({ t: 'file', path, size: bytes.length }), bytes]);
}

describe('guest frames', () => {
  const limits = { collect: compileCollect(['*.txt', 'out/**']), maxFiles: 2, maxTotalFileBytes: 10 };
  it('decodes frames split at any byte', () => {
    const d = new FrameDecoder(limits);
    const bytes = Buffer.concat([frame({ t: 'ready' }), fileFrame('a.txt', 'hi')]);
    for (const b of bytes) d.push(Buffer.from([b]));
    expect(d.report.ready).toBe(true);
    expect(Buffer.from(d.report.files['a.txt']!).toString()).toBe('hi');
  });
  it('skips files not asked for and unsafe names, counting their bytes, and stops past the caps', () => {
    const d = new FrameDecoder({ ...limits, maxTotalFileBytes: 100 });
    d.push(Buffer.concat([fileFrame('secret.bin', 'x'), fileFrame('../a.txt', 'x'), fileFrame('/etc/x.txt', 'x'), fileFrame('out/deep/b', 'x'), fileFrame('c.txt', 'x'), fileFrame('d.txt', 'x')]));
    expect(Object.keys(d.report.files).sort()).toEqual(['c.txt', 'out/deep/b']);
    expect(d.done).toBe(false);
    const e = new FrameDecoder(limits);
    e.push(Buffer.concat([fileFrame('a.txt', 'x'.repeat(6)), fileFrame('b.txt', 'x'.repeat(6)), fileFrame('c.txt', 'x')]));
    expect(e.done).toBe(true);
    expect(Object.keys(e.report.files)).toEqual(['a.txt']);
  });
  it('stops at garbage or an oversized length and never throws', () => {
    const d = new FrameDecoder(limits);
    d.push(Buffer.from([0xff, 0xff, 0xff, 0xff, 1, 2, 3]));
    d.push(frame({ t: 'ready' }));
    expect(d.done).toBe(true);
    expect(d.report.ready).toBe(false);
    // what follows is drained and dropped, up to a run's worth; then the pipe is to be closed
    let drained = 0;
    while (d.push(Buffer.alloc(64 * 1024)) && drained < 1000) drained++;
    expect(drained).toBeLessThan(1000);
    const e = new FrameDecoder(limits);
    e.push(frame({ t: 'nope' }));
    e.push(frame({ t: 'ready' }));
    expect(e.report.ready).toBe(false);
  });
  it('refuses a length past the budget at the header, before allocating it', () => {
    const d = new FrameDecoder({ ...limits, maxTotalFileBytes: 2 ** 31 });
    const before = process.memoryUsage().arrayBuffers;
    d.push(frame({ t: 'file', path: 'a.txt', size: 0xffffffff }));
    expect(d.done).toBe(true);
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(1 << 20);
    const big = Buffer.alloc(8);
    big.writeUInt32BE(0xffffffff);
    const e = new FrameDecoder(limits);
    e.push(big);
    expect(e.done).toBe(true);
  });
  it('stops after a run\'s worth of control frames', () => {
    const d = new FrameDecoder(limits);
    const error = frame({ t: 'error', type: 'E', message: 'm', traceback: '' });
    let pushed = 0;
    while (!d.done && pushed < 100_000) {
      d.push(error);
      pushed++;
    }
    expect(d.done).toBe(true);
    expect(pushed).toBeLessThan(limits.maxFiles + 16);
  });
});

describe('workspace paths and globs', () => {
  it('normalises safe names and refuses escapes', () => {
    expect(normaliseWorkspacePath('a/b.txt')).toBe('a/b.txt');
    expect(normaliseWorkspacePath('/workspace/a.txt')).toBe('a.txt');
    for (const bad of ['', '/etc/passwd', '../x', 'a/../b', 'a//b', './a', 'a\u0000b', 'a\nb', 'x'.repeat(256)]) {
      expect(normaliseWorkspacePath(bad)).toBeNull();
    }
  });
  it('matches like Python glob', () => {
    const m = (path: string, pattern: string) => compileCollect([pattern]).matches(path);
    expect(m('a.txt', '*.txt')).toBe(true);
    expect(m('d/a.txt', '*.txt')).toBe(false);
    expect(m('.hidden.txt', '*.txt')).toBe(false);
    expect(m('d/e/a.txt', '**/*.txt')).toBe(true);
    expect(m('a.txt', '**/*.txt')).toBe(true);
    expect(m('out.csv', 'out.[ct]sv')).toBe(true);
    expect(m('a+b(1).txt', 'a+b(1).txt')).toBe(true);
  });
});

describe('limits and options', () => {
  it('has the documented defaults', () => {
    expect(DEFAULT_LIMITS).toEqual({ timeoutMs: 10000, cpuMs: 5000, memoryMiB: 256, processes: 32, openFiles: 64, outputBytes: 1048576, displayBytes: 8388608, workspaceMiB: 64, hostCallTimeoutMs: 10000, hostCalls: 10000, hostCallBytes: 1048576 });
  });
  it('rejects bad limits with a typed error', () => {
    for (const bad of [{ timeoutMs: -1 }, { memoryMiB: 1.5 }, { processes: '3' }, { nope: 1 }, { cpuMs: Infinity }]) {
      expect(() => resolveLimits(bad)).toThrowError(PyboxError);
      try {
        resolveLimits(bad);
      } catch (e) {
        expect((e as PyboxError).code).toBe('E_LIMIT_INVALID');
      }
    }
  });
  it('validates code and files before anything runs', () => {
    const base = { limits: { ...DEFAULT_LIMITS }, policy: 'strict' as const };
    const code = (c: unknown, o?: unknown) => {
      try {
        prepareRun(c, o, base);
        return 'ok';
      } catch (e) {
        return (e as PyboxError).code;
      }
    };
    expect(code('x'.repeat(1024 * 1024 + 1))).toBe('E_CODE_INVALID');
    expect(code(42)).toBe('E_CODE_INVALID');
    expect(code('\ud800')).toBe('E_CODE_INVALID');
    expect(code('pass', { files: { '../x': 'a' } })).toBe('E_FILE_INVALID');
    expect(code('pass', { files: { a: 'x', 'a/b': 'y' } })).toBe('E_FILE_INVALID');
    expect(code('pass', { collect: ['/etc/*'] })).toBe('E_OPTIONS_INVALID');
    expect(code('pass', { bogus: 1 })).toBe('E_OPTIONS_INVALID');
    expect(code('pass', { limits: { workspaceMiB: 1 }, files: { big: new Uint8Array(2 << 20) } })).toBe('E_FILE_INVALID');
    expect(code('pass', { files: { 'd/a.txt': 'x' }, collect: ['*.txt'] })).toBe('ok');
  });
  it('sets hard rlimits equal to soft, address space only without cgroups', () => {
    const rl = guestRlimits(DEFAULT_LIMITS, true);
    expect(rl.find(([n]) => n === 'RLIMIT_NOFILE')).toEqual(['RLIMIT_NOFILE', 64, 64]);
    expect(rl.find(([n]) => n === 'RLIMIT_CORE')).toEqual(['RLIMIT_CORE', 0, 0]);
    for (const name of ['RLIMIT_MEMLOCK', 'RLIMIT_MSGQUEUE']) expect(rl.find(([n]) => n === name)).toEqual([name, 0, 0]);
    expect(rl.find(([n]) => n === 'RLIMIT_SIGPENDING')).toEqual(['RLIMIT_SIGPENDING', SIGNALS_QUEUED, SIGNALS_QUEUED]);
    expect(rl.some(([n]) => n === 'RLIMIT_AS')).toBe(false);
    expect(guestRlimits(DEFAULT_LIMITS, false).some(([n]) => n === 'RLIMIT_AS')).toBe(true);
  });
  it('RLIMIT_CPU: with cgroups a backstop past the budget (the exact counter decides), without them the budget in whole seconds', () => {
    const cpu = (cpuMs: number, withCgroups: boolean) => guestRlimits({ ...DEFAULT_LIMITS, cpuMs }, withCgroups).find(([n]) => n === 'RLIMIT_CPU');
    expect(cpu(1000, true)).toEqual(['RLIMIT_CPU', 2, 3]);
    expect(cpu(300, true)).toEqual(['RLIMIT_CPU', 1, 2]);
    expect(cpu(2000, true)).toEqual(['RLIMIT_CPU', 4, 5]);
    expect(cpu(1000, false)).toEqual(['RLIMIT_CPU', 1, 2]);
    expect(cpu(1500, false)).toEqual(['RLIMIT_CPU', 2, 3]);
  });
});

describe('guest frames under load', () => {
  it('takes a large file in many small chunks in linear time', () => {
    const d = new FrameDecoder({ collect: compileCollect(['big.txt']), maxFiles: 1, maxTotalFileBytes: 64 << 20 });
    const body = fileFrame('big.txt', Buffer.alloc(24 << 20, 1));
    for (let i = 0; i < body.length; i += 4096) d.push(body.subarray(i, i + 4096));
    expect(d.report.files['big.txt']?.length).toBe(24 << 20);
  });
});

describe('attack leak-pid1-environ', () => {
  // Its allowlist is what the jail sets itself: a variable added to the jail and not to the
  // attack would read as a leak, one added to the attack and not to the jail would hide one.
  it('allows exactly the variables the jail sets', () => {
    const source = readFileSync(new URL('../attacks/leaks/pid1-environ.py', import.meta.url), 'utf8');
    const tuple = /^JAIL_ENV = \(([^)]*)\)/m.exec(source)?.[1] ?? '';
    const names = [...tuple.matchAll(/b'([A-Z_]+)'/g)].map((m) => m[1]);
    expect(names.sort()).toEqual(Object.keys(JAIL_ENV).sort());
  });
});
