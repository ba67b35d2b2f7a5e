/**
 * How sessions end, on every path: the process limit, a daemon a cell forked (gone after
 * close, a limit, idle and lifetime expiry, looked for in the host's /proc), interrupts of
 * cells blocked in regex backtracking, time.sleep and input(), a cell deaf to
 * KeyboardInterrupt ended by its timeout, output written between cells, the end reason,
 * and two sessions that try to see or signal each other.
 */
import { readdirSync, readlinkSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { Session } from '../src/index.js';
import { PATHS, sandboxesForBlock } from './helpers/sandboxes.js';
import { expectNoRunLeftovers } from './helpers/leftovers.js';
import { scaled } from './helpers/time-scale.js';
import { until } from './helpers/wait.js';
import { rejectsWith } from './helpers/errors.js';
import { cellUntilPrinted } from './helpers/session.js';

const LIMITS = { timeoutMs: scaled(10_000), cpuMs: scaled(5000), memoryMiB: 128 };

/** Host pids of processes whose working directory holds `marker` (seen through the host's /proc). */
function processesIn(marker: string): number[] {
  const found: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (readlinkSync(`/proc/${name}/cwd`).includes(marker)) found.push(Number(name));
    } catch {
      /* gone, or a kernel thread */
    }
  }
  return found;
}

/**
 * Forks a daemon (own session, its cwd a fresh directory named `marker`, asleep for ten
 * minutes) from a cell of `s`; resolves once the host sees it.
 */
async function forkDaemon(s: Session): Promise<string> {
  const marker = `pybox-daemon-${randomBytes(6).toString('hex')}`;
  const r = await s.run(
    [
      'import os, time',
      'r, w = os.pipe()',
      'if os.fork() == 0:',
      '    os.setsid()',
      `    os.makedirs("/tmp/${marker}"); os.chdir("/tmp/${marker}")`,
      '    os.write(w, b"x")',
      '    time.sleep(600)',
      '    os._exit(0)',
      'os.read(r, 1)',
    ].join('\n'),
  );
  expect(r.value?.text).toBe("b'x'");
  expect(processesIn(marker)).toHaveLength(1);
  return marker;
}

async function expectDaemonGone(marker: string): Promise<void> {
  await until(() => processesIn(marker).length === 0, { what: `the daemon ${marker} gone` });
  expect(await expectNoRunLeftovers()).toEqual([]);
}

describe.each(PATHS)('how sessions end, path %s', (path) => {
  const { sandbox } = sandboxesForBlock({ sandbox: { mode: path, limits: LIMITS, maxSessions: 4 } });

  it('a fork bomb in a cell hits the process limit: the cell says process_limit and the session ends', async () => {
    const s = await sandbox.openSession({ limits: { processes: 8 } });
    await s.run('kept = 1');
    const r = await s.run('import os\nwhile True:\n    os.fork()');
    expect(r.status).toBe('process_limit');
    expect(r.value).toBeNull();
    expect(s.alive).toBe(false);
    expect(s.endReason).toBe('process_limit');
    expect(await s.ended).toBe('process_limit');
    await rejectsWith(s.run('kept'), 'E_SESSION_ENDED');
    expect(await expectNoRunLeftovers()).toEqual([]);
  });

  it('a session that forks up to its limit without a refused fork lives on', async () => {
    const s = await sandbox.openSession({ limits: { processes: 8 } });
    const r = await s.run('import os\nkids = [os.fork() for _ in range(1)]\nif 0 in kids: os._exit(0)\nfor k in kids: os.waitpid(k, 0)\nlen(kids)');
    expect(r.status).toBe('ok');
    expect(s.alive).toBe(true);
    expect(s.endReason).toBeNull();
    await s.close();
    expect(await s.ended).toBe('closed');
  });

  it('a forked daemon is gone after close', async () => {
    const s = await sandbox.openSession();
    const marker = await forkDaemon(s);
    expect((await s.run('1')).status).toBe('ok');
    await s.close();
    expect(s.endReason).toBe('closed');
    await expectDaemonGone(marker);
  });

  it('a forked daemon is gone after a limit ended the session', async () => {
    const s = await sandbox.openSession();
    const marker = await forkDaemon(s);
    const r = await s.run('while True: pass', { limits: { cpuMs: 300 } });
    expect(r.status).toBe('cpu_limit');
    expect(await s.ended).toBe('cpu_limit');
    await expectDaemonGone(marker);
  });

  it('a forked daemon is gone after idle expiry, and after lifetime expiry', async () => {
    const idle = await sandbox.openSession({ idleTimeoutMs: scaled(1000) });
    const idleDaemon = await forkDaemon(idle);
    expect(await idle.ended).toBe('idle');
    await expectDaemonGone(idleDaemon);
    const old = await sandbox.openSession({ maxLifetimeMs: scaled(1500), idleTimeoutMs: 60_000 });
    const oldDaemon = await forkDaemon(old);
    expect(await old.ended).toBe('lifetime');
    expect(old.alive).toBe(false);
    await rejectsWith(old.run('1'), 'E_SESSION_ENDED');
    await expectDaemonGone(oldDaemon);
  });

  it('interrupts a cell in regex backtracking, in time.sleep and in input(); the session keeps its state', async () => {
    const s = await sandbox.openSession();
    await s.run('kept = 7');
    const cells = [
      'import re\nprint("busy", flush=True)\nre.match(r"(a+)+$", "a" * 64 + "b")',
      'import time\nprint("busy", flush=True)\ntime.sleep(600)',
      'print("busy", flush=True)\ninput("never? ")',
    ];
    for (const code of cells) {
      const cell = cellUntilPrinted(s, code, 'busy', { onInput: () => new Promise<string>(() => undefined) });
      await cell.printed;
      await s.interrupt();
      const r = await cell.result;
      expect(r.status, code).toBe('interrupted');
      expect(r.error?.type, code).toBe('KeyboardInterrupt');
      expect(s.alive, code).toBe(true);
      expect((await s.run('kept')).value?.text, code).toBe('7');
    }
    await s.close();
  });

  it('a C loop deaf to KeyboardInterrupt: the cell timeout ends the session after the grace', async () => {
    const s = await sandbox.openSession();
    const r = await s.run('print("summing", flush=True)\nsum(range(10**15))', { limits: { timeoutMs: scaled(500) } });
    expect(r.status).toBe('timeout');
    expect(r.stdout).toBe('summing\n');
    expect(s.alive).toBe(false);
    expect(await s.ended).toBe('timeout');
    await rejectsWith(s.run('1'), 'E_SESSION_ENDED');
    expect(await expectNoRunLeftovers()).toEqual([]);
  });

  it('output a thread writes between cells goes to the next cell first, bounded and marked truncated', async () => {
    const s = await sandbox.openSession();
    const marker = `pybox-between-${randomBytes(6).toString('hex')}`;
    // The thread writes once the cell is over (the main thread waits for the next frame),
    // then moves the process into a directory the host can see: by then its output is sent.
    const r = await s.run(
      [
        'import os, sys, threading, time',
        'main = threading.main_thread().ident',
        'def late():',
        '    while sys._current_frames()[main].f_code.co_name != "_read_host_frame":',
        '        time.sleep(0.001)',
        // The host closes a cell a moment after its done frame (output already in the pipes
        // is still the cell's): no event tells the program when, so it waits well past that.
        '    time.sleep(0.5)',
        '    print("late", flush=True)',
        '    sys.stderr.write("e" * 100_000); sys.stderr.flush()',
        `    os.makedirs("/tmp/${marker}"); os.chdir("/tmp/${marker}")`,
        'threading.Thread(target=late).start()',
      ].join('\n'),
    );
    expect(r.stdout).toBe('');
    await until(() => processesIn(marker).length > 0, { what: 'the thread wrote between cells' });
    const chunks: string[] = [];
    const next = await s.run('print("next")', { onStdout: (c) => chunks.push(c) });
    expect(next.stdout).toBe('late\nnext\n');
    expect(chunks.join('')).toBe('late\nnext\n');
    expect(next.stderr.length).toBe(64 * 1024);
    expect(next.stderr.replaceAll('e', '')).toBe('');
    expect(next.truncated).toEqual({ stdout: false, stderr: true, display: false });
    const after = await s.run('print("after")');
    expect(after.stdout).toBe('after\n');
    expect(after.stderr).toBe('');
    expect(after.truncated).toEqual({ stdout: false, stderr: false, display: false });
    await s.close();
  });

  it('two sessions cannot see or signal each other: pids, /proc, workspace, kill', async () => {
    const a = await sandbox.openSession();
    const b = await sandbox.openSession();
    await a.run('import os\nopen("/workspace/mark-a", "w").write("a")\nopen("/tmp/mark-a", "w").write("a")\nsecret = "a-only"');
    const pidA = (await a.run('os.getpid()')).value?.text;
    const seen = await b.run(
      'import os\n(os.path.exists("/workspace/mark-a"), os.path.exists("/tmp/mark-a"), "secret" in globals(), sorted(int(p) for p in os.listdir("/proc") if p.isdigit()) == [1, os.getpid()])',
    );
    expect(seen.value?.text).toBe('(False, False, False, True)');
    const killed = await b.run(
      `import os, signal\nmine = {os.getpid(), 1}\nn = 0\nfor pid in list(range(1, 32768)) + [${pidA}]:\n    if pid in mine: continue\n    try:\n        os.kill(pid, signal.SIGKILL); n += 1\n    except OSError:\n        pass\nn`,
    );
    expect(killed.value?.text).toBe('0');
    expect(a.alive).toBe(true);
    expect((await a.run('secret, open("/workspace/mark-a").read()')).value?.text).toBe("('a-only', 'a')");
    await a.close();
    await b.close();
  });
});
