/**
 * Sessions on every path: a live interpreter per session, cells in its persistent
 * __main__, input() through the host, interrupts, per-cell and per-session limits,
 * expiry, and nothing of a session left on the host once it has ended.
 */
import { describe, expect, it } from 'vitest';
import { PATHS, sandboxesForBlock } from './helpers/sandboxes.js';
import { expectNoRunLeftovers } from './helpers/leftovers.js';
import { until } from './helpers/wait.js';
import { rejectsWith } from './helpers/errors.js';
import { cellUntilPrinted } from './helpers/session.js';

const LIMITS = { timeoutMs: 10_000, cpuMs: 5000, memoryMiB: 128 };
/** A cell that no KeyboardInterrupt reaches: SIGINT blocked, then blocked in C (a sleep). */
const DEAF_CELL = 'import signal, time\nsignal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})\nprint("deaf", flush=True)\ntime.sleep(60)';

describe.each(PATHS)('sessions, path %s', (path) => {
  const { sandbox } = sandboxesForBlock({ sandbox: { mode: path, limits: LIMITS, maxSessions: 4 } });

  it('keeps names, imports and files from cell to cell, and shows the last expression as the console does', async () => {
    const s = await sandbox.openSession({ files: { 'in.txt': 'data' } });
    expect(s.alive).toBe(true);
    expect((await s.run('import math\nx = 41')).value).toBeNull();
    const r = await s.run('x + 1');
    expect(r.status).toBe('ok');
    expect(r.value).toEqual({ text: '42' });
    expect((await s.run('print("p"); None')).value).toBeNull();
    expect((await s.run('open("in.txt").read(), math.pi')).value?.text).toBe("('data', 3.141592653589793)");
    expect((await s.run('f = open("out.txt", "w"); f.write("ab")')).value?.text).toBe('2');
    expect((await s.run('f.close(); open("/workspace/out.txt").read()')).value?.text).toBe("'ab'");
    expect((await s.run('"x" * 3')).value?.text).toBe("'xxx'");
    expect((await s.run('_')).value?.text).toBe("'xxx'");
    await s.close();
    expect(s.alive).toBe(false);
    await rejectsWith(s.run('1'), 'E_SESSION_ENDED');
  });

  it('shows the last expression whatever the last line looks like, and nothing after an assignment', async () => {
    const s = await sandbox.openSession();
    const cells: [string, string | null][] = [
      ['n = 1', null],
      ['n += 1\nm = n * 2', null],
      ['m = n; m', '2'],
      ['t = (1,\nn)\nt', '(1, 2)'],
      ['dict(\na = 1)', "{'a': 1}"],
      ['s = 3 \\\n+ n\ns', '5'],
      ['n == 2', 'True'],
      ['u = """\nv = 1"""', null],
      ['u', "'\\nv = 1'"],
      ['n\rk = 1', null],
      ['k = 1\rk', '1'],
      ['42', '42'],
    ];
    for (const [code, value] of cells) expect([code, (await s.run(code)).value?.text ?? null]).toEqual([code, value]);
    const broken = await s.run('x = (1,\ny = 2');
    expect([broken.status, broken.error?.type]).toEqual(['error', 'SyntaxError']);
    expect(broken.stderr).toContain('File "<cell 13>"');
    await s.close();
  });

  it('reports an exception or a syntax error with the cell named, and the session lives on', async () => {
    const s = await sandbox.openSession();
    await s.run('y = 1');
    const e = await s.run('def f():\n    raise KeyError("k")\nf()');
    expect(e.status).toBe('error');
    expect(e.error?.type).toBe('KeyError');
    expect(e.error?.traceback).toContain('File "<cell 2>", line 3, in <module>');
    expect(e.error?.traceback).toContain('raise KeyError("k")');
    expect(e.error?.traceback).not.toContain('<string>');
    const syntax = await s.run('def broken(:');
    expect(syntax.status).toBe('error');
    expect(syntax.error?.type).toBe('SyntaxError');
    expect(syntax.stderr).toContain('File "<cell 3>", line 1');
    expect(syntax.stderr).not.toContain('ast.py');
    expect((await s.run('y')).value?.text).toBe('1');
    await s.close();
  });

  it('streams output while the cell runs, and answers input() and sys.stdin from onInput, else the cell stdin, then EOFError', async () => {
    const s = await sandbox.openSession();
    const events: string[] = [];
    const r = await s.run('print("before", flush=True)\nname = input("name? ")\nprint("hello", name)', {
      onStdout: (c) => events.push(`out:${c}`),
      onInput: (prompt) => {
        events.push(`ask:${prompt}`);
        return 'ada';
      },
    });
    expect(r.status).toBe('ok');
    expect(events).toEqual(['out:before\n', 'ask:name? ', 'out:hello ada\n']);
    expect(r.stdout).toBe('before\nhello ada\n');
    const piped = await s.run('import sys\na = input("a? ")\nb = sys.stdin.readline()\ntry:\n    input()\nexcept EOFError:\n    print("eof")\n(a, b)', { stdin: 'one\ntwo\n' });
    expect(piped.value?.text).toBe("('one', 'two\\n')");
    expect(piped.stdout).toBe('a? eof\n');
    const async = await s.run('input("q")', { onInput: async () => 'later' });
    expect(async.value?.text).toBe("'later'");
    await s.close();
  });

  it('interrupts a cell in time.sleep and one waiting in input(); the session keeps its state', async () => {
    const s = await sandbox.openSession();
    await s.run('kept = 7');
    const sleeping = cellUntilPrinted(s, 'import time\nprint("zz", flush=True)\ntime.sleep(60)', 'zz');
    await sleeping.printed;
    await s.interrupt();
    const r = await sleeping.result;
    expect(r.status).toBe('interrupted');
    expect(r.error?.type).toBe('KeyboardInterrupt');
    expect(s.alive).toBe(true);
    let asked: () => void = () => undefined;
    const waiting = new Promise<void>((resolve) => (asked = resolve));
    const blocked = s.run('input("never? ")', { onInput: () => (asked(), new Promise<string>(() => undefined)) });
    await waiting;
    await s.interrupt();
    expect((await blocked).status).toBe('interrupted');
    expect((await s.run('kept')).value?.text).toBe('7');
    await s.close();
  });

  it('an interrupt asked for right after run(), before the cell has started, stops that cell and no later one', async () => {
    const s = await sandbox.openSession();
    const spinning = s.run('n = 0\nwhile True: n += 1');
    await s.interrupt();
    expect((await spinning).status).toBe('interrupted');
    const next = await s.run('1 + 1');
    expect([next.status, next.value?.text]).toEqual(['ok', '2']);
    await s.close();
  });

  it('ends the session when an interrupted cell does not stop (blocked in C with SIGINT blocked)', async () => {
    const s = await sandbox.openSession();
    const deaf = cellUntilPrinted(s, DEAF_CELL, 'deaf');
    await deaf.printed;
    await s.interrupt();
    const r = await deaf.result;
    expect(r.status).toBe('interrupted');
    expect(s.alive).toBe(false);
    await rejectsWith(s.run('1'), 'E_SESSION_ENDED');
    expect(await expectNoRunLeftovers()).toEqual([]);
  });

  it('a cell timeout interrupts the cell and keeps the session; one the cell does not stop at ends it', async () => {
    const s = await sandbox.openSession();
    const r = await s.run('while True: pass', { limits: { timeoutMs: 500 } });
    expect(r.status).toBe('timeout');
    expect(s.alive).toBe(true);
    expect((await s.run('1 + 1')).value?.text).toBe('2');
    const deaf = await s.run(DEAF_CELL, { limits: { timeoutMs: 500 } });
    expect(deaf.status).toBe('timeout');
    expect(s.alive).toBe(false);
  });

  it('memory and CPU limits end the session, and later runs reject with E_SESSION_ENDED', async () => {
    const memory = await sandbox.openSession({ limits: { memoryMiB: 64 } });
    const m = await memory.run('x = bytearray(32 * 2**20)\ny = bytearray(200 * 2**20)');
    expect(m.status).toBe('memory_limit');
    expect(memory.alive).toBe(false);
    await rejectsWith(memory.run('x'), 'E_SESSION_ENDED');
    const cpu = await sandbox.openSession();
    const c = await cpu.run('while True: pass', { limits: { cpuMs: 300 } });
    expect(c.status).toBe('cpu_limit');
    expect(cpu.alive).toBe(false);
    await rejectsWith(cpu.run('1'), 'E_SESSION_ENDED');
    expect(await expectNoRunLeftovers()).toEqual([]);
  });

  it('runs one cell at a time: a run while one runs waits its turn', async () => {
    const s = await sandbox.openSession();
    const first = s.run('import time\ntime.sleep(0.2)\norder = ["first"]');
    const second = s.run('order.append("second"); order');
    expect((await first).status).toBe('ok');
    expect((await second).value?.text).toBe("['first', 'second']");
    await s.close();
  });

  it('refuses a session over maxSessions', async () => {
    const open = [];
    for (let i = 0; i < 4; i++) open.push(await sandbox.openSession());
    await rejectsWith(sandbox.openSession(), 'E_TOO_MANY_SESSIONS');
    for (const s of open) await s.close();
  });

  it('ends an idle session, and one past its lifetime', async () => {
    const idle = await sandbox.openSession({ idleTimeoutMs: 300 });
    const old = await sandbox.openSession({ maxLifetimeMs: 600, idleTimeoutMs: 60_000 });
    await until(() => !idle.alive, { what: 'the idle session ended' });
    await rejectsWith(idle.run('1'), 'E_SESSION_ENDED');
    await until(() => !old.alive, { what: 'the session past its lifetime ended' });
    expect(await expectNoRunLeftovers()).toEqual([]);
  });

  it('leaves nothing behind: a daemon forked in a session is gone when the session ends', async () => {
    const s = await sandbox.openSession();
    const r = await s.run('import os, time\nif os.fork() == 0:\n    os.setsid()\n    time.sleep(600)\n    os._exit(0)\n"forked"');
    expect(r.value?.text).toBe("'forked'");
    expect((await s.run('1')).status).toBe('ok');
    await s.close();
    expect(await expectNoRunLeftovers()).toEqual([]);
  });

  it('sessions cannot see or signal each other', async () => {
    const a = await sandbox.openSession();
    const b = await sandbox.openSession();
    await a.run('open("/tmp/mark-a", "w").write("a"); secret = "a-only"');
    const seen = await b.run('import os\n(os.path.exists("/tmp/mark-a"), "secret" in globals(), sorted(int(p) for p in os.listdir("/proc") if p.isdigit()) == [1, os.getpid()])');
    expect(seen.value?.text).toBe('(False, False, True)');
    const killed = await b.run('import os, signal\nmine = {os.getpid(), 1}\nn = 0\nfor pid in range(1, 32768):\n    if pid in mine: continue\n    try:\n        os.kill(pid, signal.SIGKILL); n += 1\n    except OSError:\n        pass\nn');
    expect(killed.value?.text).toBe('0');
    expect((await a.run('secret')).value?.text).toBe("'a-only'");
    await a.close();
    await b.close();
  });

  it('a session survives the containment attacks run as its cells, each refused', async () => {
    const s = await sandbox.openSession();
    const attacks = [
      'open("/etc/pybox-owned", "w")',
      'import subprocess; subprocess.run(["id"])',
      'import socket; socket.create_connection(("1.1.1.1", 53), timeout=1)',
      'import ctypes; ctypes.CDLL("libc.so.6")',
      'import os; os.system("id")',
    ];
    for (const attack of attacks) {
      const r = await s.run(attack);
      expect(r.status, attack).toBe('error');
      expect(s.alive, attack).toBe(true);
      expect((await s.run('6 * 7')).value?.text, attack).toBe('42');
    }
    await s.close();
  });

  it('one-shot runs answer input() from onInput too', async () => {
    const r = await sandbox.run('print(input("a? "), input("b? "))', { onInput: (p) => p.toUpperCase().trim() });
    expect(r.status).toBe('ok');
    expect(r.stdout).toBe('A? B?\n');
  });
});

describe('sandbox.close()', () => {
  it('ends every open session', async () => {
    const { Sandbox } = await import('../src/index.js');
    const sandbox = await Sandbox.create({ mode: 'cold', limits: LIMITS });
    const s = await sandbox.openSession();
    await sandbox.close();
    expect(s.alive).toBe(false);
    await rejectsWith(s.run('1'), 'E_SESSION_ENDED');
    expect(await expectNoRunLeftovers()).toEqual([]);
  });
});
