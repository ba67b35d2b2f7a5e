/**
 * The strict policy, held by the kernel: under policy 'strict' the bootstrap stacks a
 * second seccomp filter (src/backends/native/seccomp/strict.ts) before the program runs. The attacks
 * named after what got past the audit hook alone (attacks/.../strict-*.py) run here on
 * every path, under 'strict' and under 'off': under 'strict' no program starts (the file
 * it would touch is absent) and no socket the policy denies is made; under 'off' the same
 * code does both, so the attacks work and the difference is the filter.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { loadCorpus } from '../src/attack/corpus.js';
import { attackProgram } from '../src/attack/context.js';
import { randomId, virtualHost } from '../src/attack/host.js';
import { hostUnchangedByEachTest } from './helpers/leftovers.js';
import { PATHS, sandboxesForBlock } from './helpers/sandboxes.js';

const corpus = loadCorpus();

/** An attack of the corpus as the lab runs it: its context block, its preludes, its code. */
function attack(id: string): { code: string; token: string; marker: string } {
  const found = corpus.find((a) => a.id === id);
  if (!found) throw new Error(`no attack ${id} in the corpus`);
  const nonce = randomId(8);
  const token = `PWNED-${nonce}`;
  const host = virtualHost(nonce);
  return { code: attackProgram({ nonce, token, out: host.out, host }, found.code), token, marker: `strict-started-${nonce}` };
}

const STARTS_A_PROGRAM = ['strict-posixsubprocess-fork-exec', 'strict-os-execv'];

describe.each(PATHS)('path %s', (mode) => {
  const limits = { timeoutMs: 5000, cpuMs: 3000, memoryMiB: 128, processes: 16 };
  const { strict, off } = sandboxesForBlock({ strict: { mode, limits }, off: { mode, policy: 'off', limits } });
  hostUnchangedByEachTest();
  afterEach(() => {
    if (mode !== 'cold') expect(strict.pathCounts.cold + off.pathCounts.cold).toBe(0);
  });

  it.each(STARTS_A_PROGRAM)('%s: under strict the program never runs; under off it does', async (id) => {
    const a = attack(id);
    const collect = ['strict-started-*'];
    const held = await strict.run(a.code, { collect });
    expect(held.status, held.stderr).toBe('ok');
    expect(held.stdout).not.toContain(a.token);
    expect(Object.keys(held.files)).toEqual([]); // /usr/bin/touch never ran
    const open = await off.run(a.code, { collect });
    expect(open.status, open.stderr).toBe('ok');
    expect(open.stdout).toContain(`BREACH ${a.token}`);
    expect(Object.keys(open.files)).toEqual([a.marker]);
  });

  it('strict-socket-hook-swapped: with the hook disarmed the kernel still refuses inet, inet6, netlink sockets and bind', async () => {
    const a = attack('strict-socket-hook-swapped');
    const held = await strict.run(a.code);
    expect(held.status, held.stderr).toBe('ok');
    expect(held.stdout).toContain('hook disarmed: True');
    expect(held.stdout).not.toContain(a.token);
    for (const what of ['AF_INET', 'AF_INET6', 'AF_NETLINK', 'bind']) expect(held.stdout).toMatch(new RegExp(`^${what} refused: PermissionError\\(1,`, 'm'));
    const open = await off.run(a.code);
    expect(open.stdout).toContain(`BREACH ${a.token} the kernel gave: AF_INET, AF_INET6, AF_NETLINK, bind of a unix socket`);
  });

  it('a strict run has one more seccomp filter stacked than an off run has', async () => {
    const code = "print(open('/proc/self/status').read().split('Seccomp_filters:')[1].split()[0])";
    // The jail's filter; on the zygote path the zygote's own filter is under it too.
    const jailFilters = mode === 'zygote' ? 2 : 1;
    expect((await off.run(code)).stdout).toBe(`${jailFilters}\n`);
    expect((await strict.run(code)).stdout).toBe(`${jailFilters + 1}\n`);
  });

  it('what strict allows still works: fork, threads, unix socketpairs, asyncio, the passwd lookup; its own errors stay clear', async () => {
    const r = await strict.run(
      [
        'import asyncio, os, pwd, socket, subprocess, threading',
        'pid = os.fork()',
        'if pid == 0: os._exit(7)',
        'print("fork", os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))',
        't = threading.Thread(target=lambda: None); t.start(); t.join(); print("thread ok")',
        'a, b = socket.socketpair(); a.sendall(b"x"); print("socketpair", b.recv(1))',
        'async def main(): await asyncio.sleep(0); return "asyncio ok"',
        'print(asyncio.run(main()))',
        'print("passwd", pwd.getpwuid(os.getuid()).pw_name != "")',
        'try: subprocess.run(["/usr/bin/true"])',
        'except PermissionError as e: print("subprocess", e)',
      ].join('\n'),
    );
    expect(r.status, r.stderr).toBe('ok');
    expect(r.stdout).toBe(
      [
        'fork 7',
        'thread ok',
        "socketpair b'x'",
        'asyncio ok',
        'passwd True',
        'subprocess pybox: starting a program (subprocess.Popen) is not allowed',
        '',
      ].join('\n'),
    );
  });

  it('off keeps subprocess working', async () => {
    const r = await off.run('import subprocess\nprint(subprocess.run(["/usr/bin/true"]).returncode)');
    expect(r.status, r.stderr).toBe('ok');
    expect(r.stdout).toBe('0\n');
  });
});
