/**
 * The fork-server's own hardening, and attacks on it. The zygote holds capabilities its
 * children never get; these tests read what it holds from the host (/proc), check its own
 * seccomp filter, run the corpus's attacks on it (`detect: zygote`) on the zygote path and
 * harmlessly on the others, and race two runs against each other. Every verdict comes from
 * the host: the zygote's pid and start time, the victim's own result, the next runs.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { runAttacks } from '../src/attack/index.js';
import { loadCorpus } from '../src/attack/corpus.js';
import { zygoteServers } from '../src/attack/zygote-watch.js';
import { decodeBpf, hostSeccompArch, runFilter, syscallNumber, AUDIT_ARCH, SECCOMP_RET_ALLOW } from '../src/backends/native/seccomp/index.js';
import { CLONE_NEWNET, CLONE_NEWNS, CLONE_NEWPID, CLONE_NEWUSER } from '../src/backends/native/seccomp/policy.js';
import { childPids } from '../src/host/processes.js';
import { zygoteSeccompFilter } from '../src/backends/native/zygote/zygote-seccomp.js';
import { sandboxesClosedAfterEach } from './helpers/sandboxes.js';
import { heldStdin, runUntilPrinted, until } from './helpers/wait.js';

const { make } = sandboxesClosedAfterEach();
const isRoot = process.getuid?.() === 0;
const CAP_NET_ADMIN = 12;
const CAP_SYS_ADMIN = 21;
const EPERM_RET = 0x00050001;

const field = (status: string, name: string) => (new RegExp(`^${name}:\\s+(.*)$`, 'm').exec(status)?.[1] ?? '').trim();
const caps = (hex: string) => BigInt(`0x${hex}`);

describe('what the zygote holds', () => {
  it('keeps only CAP_SYS_ADMIN and CAP_NET_ADMIN, nothing inheritable or ambient, its own seccomp filter and no_new_privs', async () => {
    const sb = await make({ mode: 'zygote', pool: { size: 1, max: 1 } }); // one zygote, up once it served a run
    expect((await sb.run('pass')).status).toBe('ok');
    const zygotes = zygoteServers();
    expect(zygotes.length).toBeGreaterThan(0);
    for (const { pid } of zygotes) {
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      const kept = (1n << BigInt(CAP_SYS_ADMIN)) | (1n << BigInt(CAP_NET_ADMIN));
      expect(caps(field(status, 'CapEff'))).toBe(kept);
      expect(caps(field(status, 'CapPrm'))).toBe(kept);
      for (const set of ['CapInh', 'CapAmb', 'CapBnd']) expect(caps(field(status, set)), set).toBe(0n);
      expect(field(status, 'NoNewPrivs')).toBe('1');
      expect(field(status, 'Seccomp')).toBe('2');
      expect(field(status, 'Seccomp_filters')).toBe('1');
      // Each run's processes stack the runs' filter on the zygote's and hold nothing. A child
      // still being forked (a spare made while the run returned) holds what its set-up needs
      // until it drops it, before it waits for a request: look once every child is set up.
      const holdsNothing = (p: number) => {
        try {
          const s = readFileSync(`/proc/${p}/status`, 'utf8');
          return ['CapEff', 'CapPrm', 'CapInh', 'CapAmb', 'CapBnd'].every((set) => caps(field(s, set)) === 0n);
        } catch {
          return true; // gone
        }
      };
      await until(() => childPids(pid).every((r) => childPids(r).length > 0 && [r, ...childPids(r)].every(holdsNothing)), { what: "the zygote's children set up" });
      for (const r of childPids(pid)) {
        for (const p of [r, ...childPids(r)]) {
          const s = readFileSync(`/proc/${p}/status`, 'utf8');
          for (const set of ['CapEff', 'CapPrm', 'CapInh', 'CapAmb', 'CapBnd']) expect(caps(field(s, set)), `${p} ${set}`).toBe(0n);
        }
      }
    }
  });

  it.runIf(isRoot)('is non-dumpable under a root host: its /proc entries belong to host root, not to its uid (needs root: a non-root host opens the runs\' pipes through them)', async () => {
    const sb = await make({ mode: 'zygote', pool: { size: 1, max: 1 } }); // one zygote, up once it served a run
    expect((await sb.run('pass')).status).toBe('ok');
    const zygotes = zygoteServers();
    expect(zygotes.length).toBeGreaterThan(0);
    for (const { pid } of zygotes) {
      expect(statSync(`/proc/${pid}/fd`).uid).toBe(0);
      expect(Number(field(readFileSync(`/proc/${pid}/status`, 'utf8'), 'Uid').split(/\s+/)[0])).toBeGreaterThan(0);
    }
  });
});

describe("the zygote's own seccomp filter", () => {
  const arch = hostSeccompArch();
  const prog = decodeBpf(zygoteSeccompFilter());
  const call = (name: Parameters<typeof syscallNumber>[0], ...args: number[]) =>
    runFilter(prog, { nr: syscallNumber(name, arch) as number, arch: AUDIT_ARCH[arch], args: args.map(BigInt) });

  it('allows what building a run needs: its namespaces, setns back into its pid namespace, mount', () => {
    expect(call('unshare', CLONE_NEWPID)).toBe(SECCOMP_RET_ALLOW);
    expect(call('unshare', CLONE_NEWNS | CLONE_NEWNET)).toBe(SECCOMP_RET_ALLOW);
    expect(call('setns', 5, CLONE_NEWPID)).toBe(SECCOMP_RET_ALLOW);
    expect(call('mount', 0, 0, 0, 0)).toBe(SECCOMP_RET_ALLOW);
  });

  it('denies a user namespace, any other setns, and what the runs\' filter denies', () => {
    expect(call('unshare', CLONE_NEWUSER)).toBe(EPERM_RET);
    expect(call('unshare', CLONE_NEWNS | CLONE_NEWUSER)).toBe(EPERM_RET);
    expect(call('setns', 5, CLONE_NEWNET)).toBe(EPERM_RET);
    expect(call('setns', 5, 0)).toBe(EPERM_RET);
    for (const name of ['ptrace', 'process_vm_readv', 'pidfd_getfd', 'bpf', 'keyctl', 'pivot_root', 'umount2', 'fsopen', 'open_by_handle_at'] as const) {
      expect(call(name), name).toBe(EPERM_RET);
    }
  });
});

describe('attacks on the zygote itself', () => {
  const ids = loadCorpus()
    .filter((a) => a.detect.includes('zygote'))
    .map((a) => a.id);

  it('the corpus has them: signal it, read its /proc entries, forge its line protocol', () => {
    expect(ids).toEqual(expect.arrayContaining(['zygote-signal-every-pid', 'zygote-read-proc-entries', 'zygote-forge-line-protocol']));
  });

  it.each(['zygote', 'cold'] as const)('each is contained on the %s path, judged from the host (the zygote lives on, the next run is right, nothing is left)', async (mode) => {
    const m = await runAttacks({ ids, targets: ['pybox'], pyboxMode: mode, concurrency: 1 });
    expect(m.pyboxPath).toBe(mode);
    expect(m.attacks.map((a) => `${a.id}: ${a.results.pybox}: ${(a.evidence.pybox ?? []).join('; ')}`).filter((r) => !/: contained: /.test(r))).toEqual([]);
    expect(m.problems).toEqual([]);
  }, 120_000);
});

describe('two runs at once', () => {
  it('cannot signal or read each other: the victim finishes untouched, its secret never reaches the attacker, the zygotes live on', async () => {
    const sb = await make({ mode: 'zygote', policy: 'off', pool: { size: 2, max: 2 }, limits: { timeoutMs: 8000 } });
    expect((await sb.run('pass')).status).toBe('ok');
    await until(() => sb.mode.zygotes >= 2, { what: 'two zygotes' }); // one run per zygote: both run at once
    expect(sb.mode.zygotes).toBe(2);
    const before = zygoteServers();
    expect(before.length).toBeGreaterThan(0);
    const secret = `victim-secret-${randomBytes(12).toString('hex')}`;
    // The victim plants its secret, then waits (on its stdin) until the attacker is done.
    const victim = [
      'import os, sys',
      `secret = ${JSON.stringify(secret)}`,
      'os.environ["VICTIM"] = secret',
      'for p in ("/tmp/v.txt", "/workspace/v.txt", "/dev/shm/v.txt"):',
      '    open(p, "w").write(secret)',
      'print("planted", flush=True)',
      'sys.stdin.read()',
      'print("intact", len(secret))',
    ].join('\n');
    // While the victim waits: every pid it can guess signalled, every /proc entry read.
    const attacker = [
      'import os, re, signal, time',
      'pattern = re.compile(rb"victim-secret-[0-9a-f]+")',
      'found, end = set(), time.time() + 1.5',
      'while time.time() < end:',
      '    for pid in range(1, 4096):',
      '        if pid == os.getpid():',
      '            continue',
      '        for sig in (signal.SIGSTOP, signal.SIGKILL):',
      '            try:',
      '                os.kill(pid, sig)',
      '            except OSError:',
      '                pass',
      '        for name in ("environ", "cmdline", "mem"):',
      '            try:',
      '                with open("/proc/%d/%s" % (pid, name), "rb") as f:',
      '                    found.update(pattern.findall(f.read(1 << 20)))',
      '            except (OSError, ValueError):',
      '                pass',
      '    for d in ("/tmp", "/workspace", "/dev/shm"):',
      '        for n in os.listdir(d):',
      '            try:',
      '                found.update(pattern.findall(open(os.path.join(d, n), "rb").read()))',
      '            except OSError:',
      '                pass',
      'print(sorted(found))',
    ].join('\n');
    const { stdin, release } = heldStdin();
    const { result: victimDone, printed } = runUntilPrinted(sb, victim, 'planted\n', { stdin });
    await printed;
    const a = await sb.run(attacker);
    release();
    const v = await victimDone;
    expect(sb.pathCounts.zygote).toBeGreaterThanOrEqual(3);
    expect(v.status).toBe('ok');
    expect(v.stdout).toBe(`planted\nintact ${secret.length}\n`);
    expect(a.status).toBe('ok');
    expect(a.stdout).toBe('[]\n');
    expect(a.stdout + a.stderr).not.toContain(secret);
    for (const z of before) expect(zygoteServers()).toContainEqual(z);
    const next = await Promise.all([sb.run('print(6 * 7)'), sb.run('print(6 * 7)')]);
    for (const r of next) expect(r.stdout).toBe('42\n');
  }, 60_000);
});
