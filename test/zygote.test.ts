/**
 * The fork-server: auto picks it, it serves one run at a time and grows with callers, a
 * zygote that dies is replaced (and a run it took down is an internal_error), a killed
 * run leaves nothing; and the protocol pieces it rests on (marshal, wait statuses).
 */
import { describe, expect, it } from 'vitest';
import { idleWarmJails } from '../src/backends/native/pool/inventory.js';
import { marshal, tuple } from '../src/guest/marshal.js';
import { Zygote, type ZygoteChild } from '../src/backends/native/zygote/zygote.js';
import { decodeWaitStatus } from '../src/backends/native/zygote/line-protocol.js';
import { jailEnvironment, sharedCgroups } from '../src/backends/native/jail/environment.js';
import { childPids } from '../src/host/processes.js';
import { mayRestorePriority } from '../src/host/priority.js';
import { jailCgroupNames } from './helpers/host-state.js';
import { readdirSync, readFileSync, readlinkSync, rmdirSync } from 'node:fs';
import { getPriority } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { expectNoRunLeftovers } from './helpers/leftovers.js';
import { sandboxesClosedAfterEach } from './helpers/sandboxes.js';
import { runUntilPrinted, until } from './helpers/wait.js';
import { jailOfRun, zygoteProcesses } from './helpers/which-jail.js';
import type { Sandbox, SandboxOptions } from '../src/index.js';
import { scaled, scaledTimeLimits } from './helpers/time-scale.js';

const closedAfterEach = sandboxesClosedAfterEach();
/** Runs keep the default limits, their time limits scaled to this machine. */
const make = (options: SandboxOptions = {}) => closedAfterEach.make({ ...options, limits: { ...scaledTimeLimits(), ...options.limits } });

/** Until a zygote of `sb` is up, with a spare forked (so a run can take the zygote path). */
const zygoteUp = (sb: Sandbox) => until(() => sb.mode.zygotes >= 1 && zygoteProcesses().length > 0, { what: 'a zygote up' });

describe('the zygote (mode zygote) and auto', () => {
  it('auto picks the zygote here, and the zygote serves runs', async () => {
    const sb = await make({ mode: 'auto' });
    expect(sb.mode.active).toBe('zygote');
    await zygoteUp(sb);
    const r = await sb.run('print("z")');
    expect(r.status).toBe('ok');
    expect(sb.pathCounts.zygote).toBe(1);
    // and from the host: a run goes through one of the zygote's processes
    expect(zygoteProcesses()).toContain(await jailOfRun(sb));
  });

  it('one run at a time per zygote: concurrent callers get more zygotes, up to max', async () => {
    const sb = await make({ mode: 'zygote', pool: { size: 1, max: 3 } });
    await Promise.all(Array.from({ length: 4 }, () => sb.run('import time; time.sleep(0.1)')));
    await until(() => sb.mode.zygotes >= 2, { what: 'two zygotes' });
    expect(sb.mode.zygotes).toBeGreaterThanOrEqual(2);
    expect(sb.mode.zygotes).toBeLessThanOrEqual(3);
    // and on the host: as many zygote processes, each its own
    await until(() => zygoteProcesses().length >= 2, { what: 'two zygote processes' });
    expect(zygoteProcesses().length).toBeLessThanOrEqual(3);
    const rs = await Promise.all(Array.from({ length: 6 }, (_, i) => sb.run(`print(${i})`)));
    rs.forEach((r, i) => expect(r.stdout).toBe(`${i}\n`));
  });

  it('a zygote that dies is replaced: the next runs go through a new zygote', async () => {
    const sb = await make({ mode: 'zygote', pool: { size: 1, max: 2 } });
    await zygoteUp(sb);
    const zygotePids = idleWarmJails().pids;
    const killed = zygoteProcesses();
    // The check below sees which zygote a run went through: here, one of those about to die.
    expect(killed).toContain(await jailOfRun(sb));
    // kill every zygote process from the outside
    for (const pid of zygotePids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    // Once the sandbox has seen them die (a run claimed before that dies with them, as below).
    await until(() => !idleWarmJails().pids.some((pid) => zygotePids.includes(pid)), { what: 'the killed zygotes out of the inventory' });
    for (let i = 0; i < 5; i++) {
      const r = await sb.run('print("still")');
      expect(r.status).toBe('ok');
    }
    await zygoteUp(sb);
    expect(sb.mode.zygotes).toBeGreaterThanOrEqual(1);
    // Runs now go through a zygote started after the kill, on the zygote path.
    const zygoteRunsBefore = sb.pathCounts.zygote;
    for (let i = 0; i < 3; i++) {
      const under = await jailOfRun(sb);
      expect(killed).not.toContain(under);
      expect(zygoteProcesses()).toContain(under);
    }
    expect(sb.pathCounts.zygote).toBe(zygoteRunsBefore + 3);
  });

  it('a zygote that dies under a run: that run is an internal_error, the next ones are fine', async () => {
    const sb = await make({ mode: 'zygote', pool: { size: 1, max: 2 } });
    await zygoteUp(sb);
    // The zygotes' outermost processes only (a killed bwrap takes its zygote down): the
    // inventory also lists the idle child this run is about to claim.
    const zygotes = zygoteProcesses();
    expect(zygotes.length).toBeGreaterThan(0);
    const { result: running, printed } = runUntilPrinted(sb, 'import time; print("started", flush=True); time.sleep(20)', 'started');
    await printed;
    for (const pid of zygotes) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    const r = await running;
    expect(r.status).toBe('internal_error');
    expect(r.stderr).toMatch(/zygote exited/);
    for (let i = 0; i < 3; i++) expect((await sb.run('print(1)')).status).toBe('ok');
    expect(await expectNoRunLeftovers()).toEqual([]);
    // the runs after it go through a new zygote
    await zygoteUp(sb);
    expect(zygotes).not.toContain(await jailOfRun(sb));
  });

  it('a run killed in the middle (timeout) leaves nothing, and the next run is fine', async () => {
    const sb = await make({ mode: 'zygote', pool: { size: 1, max: 1 } });
    const r = await sb.run('import os\nfor _ in range(4): os.fork()\nimport time; time.sleep(30)', { limits: { timeoutMs: scaled(400) }, policy: 'off' });
    expect(r.status).toBe('timeout');
    expect(await expectNoRunLeftovers()).toEqual([]);
    expect((await sb.run('print(1)')).stdout).toBe('1\n');
  });

  it('a spare is readied while it waits: back at normal priority before any run claims it', async () => {
    const sb = await make({ mode: 'zygote', pool: { size: 1, max: 1 } });
    // The spares' processes: three pid namespaces deep (host, the zygote's, the run's own).
    const spares = () =>
      idleWarmJails().pids.flatMap((pid) => {
        try {
          const status = readFileSync(`/proc/${pid}/status`, 'utf8');
          const depth = (/^NSpid:\s+(.*)$/m.exec(status)?.[1] ?? '').trim().split(/\s+/).length;
          return depth === 3 ? [{ pid, nice: getPriority(pid) }] : [];
        } catch {
          return [];
        }
      });
    await until(() => spares().length >= 6 && spares().every((p) => p.nice === 0), { what: 'three spares readied' });
    const seen = spares();
    expect(seen.length).toBeGreaterThanOrEqual(6); // 3 spares, each R and G
    expect(seen.map((p) => p.nice)).toEqual(seen.map(() => 0));
    // The zygote itself stays at the lower priority it makes jails at, where the
    // supervisor may set its spares back (unprivileged, it makes them at normal priority).
    const zygoteNice = idleWarmJails()
      .pids.filter((pid) => !seen.some((p) => p.pid === pid))
      .map((pid) => getPriority(pid));
    expect(zygoteNice).toContain(mayRestorePriority() ? 10 : 0);
    const r = await sb.run('print(1)');
    expect(r.status).toBe('ok');
    expect(r.cpuMs).toBeGreaterThan(0);
  });
});

describe.runIf(sharedCgroups().selfJoin)('cgroup slots: a zygote child moves itself into its cgroup (v1)', () => {
  const limits = { workspaceMiB: 8, memoryMiB: 128, processes: 16 };
  const fdTargets = (pid: number) =>
    readdirSync(`/proc/${pid}/fd`).flatMap((fd) => {
      try {
        return [readlinkSync(`/proc/${pid}/fd/${fd}`)];
      } catch {
        return [];
      }
    });

  it('its pid 1 and program are in the cgroup; no process of the run holds a cgroup file; more forks than slots are moved in by the host', async () => {
    const z = await Zygote.start(jailEnvironment());
    const children: ZygoteChild[] = [];
    try {
      for (let i = 0; i < 8; i++) children.push(await z.fork(limits)); // 6 slots, then 2 moved in
      await Promise.all(children.map((c) => c.warm));
      expect(children.map((c) => c.joinedItself)).toEqual([true, true, true, true, true, true, false, false]);
      for (const child of children) {
        expect(child.inCgroup()).toBe(true);
        const [program] = childPids(child.hostPid);
        expect(program).toBeDefined();
        // Every v1 hierarchy lists the run's program in the child's cgroup.
        const lines = readFileSync(`/proc/${program}/cgroup`, 'utf8').split('\n').filter((l) => /:(memory|pids|cpuacct)/.test(l));
        expect(lines.length).toBeGreaterThanOrEqual(3);
        for (const line of lines) expect(line.endsWith(`/${child.cgroupName}`)).toBe(true);
        for (const pid of [child.hostPid, program as number]) {
          expect(fdTargets(pid).filter((t) => t.includes('cgroup') || t.endsWith('/tasks'))).toEqual([]);
        }
      }
      const names = [...new Set(children.map((c) => c.cgroupName))];
      expect(names.length).toBe(8); // one cgroup per live child
    } finally {
      z.stop();
      await z.ended;
      await Promise.all(children.map((c) => c.release()));
    }
    // Slots and the children's cgroups are gone with the zygote.
    const left = jailCgroupNames()?.names ?? [];
    for (const child of children) expect(left).not.toContain(child.cgroupName);
  });

  it('slots removed from under the zygote: forks fall back to a move by the host, and runs go on', async () => {
    const sb = await make({ mode: 'zygote', pool: { size: 1, max: 1 } });
    expect((await sb.run('print(0)')).status).toBe('ok');
    const parent = /under (\S+)/.exec(sharedCgroups().detail)?.[1] as string;
    // Every idle cgroup that is empty (the free slots) goes, in every hierarchy.
    let removed = 0;
    for (const name of idleWarmJails().cgroups) {
      for (const controller of ['memory', 'pids', 'cpuacct']) {
        try {
          rmdirSync(join(parent.replace('/memory/', `/${controller}/`), name));
          if (controller === 'memory') removed++;
        } catch {
          /* in use (a spare's), or already gone */
        }
      }
    }
    expect(removed).toBeGreaterThan(0);
    for (let i = 0; i < 12; i++) {
      const r = await sb.run(`print(${i})`);
      expect(r.status).toBe('ok');
      expect(r.stdout).toBe(`${i}\n`);
    }
    expect(sb.pathCounts).toEqual({ cold: 0, pool: 0, zygote: 13 });
  });

  it('a zygote stopped while forks are in flight: each fork settles, no rejection is left unhandled, nothing remains', async () => {
    // Vitest fails the file on an unhandled rejection, which a fork's pending spawn was
    // when the zygote exited while its slot was being readied.
    for (let round = 0; round < 5; round++) {
      const z = await Zygote.start(jailEnvironment());
      const forks = Array.from({ length: 6 }, () => z.fork(limits));
      await new Promise((r) => setImmediate(r));
      z.stop();
      const settled = await Promise.allSettled(forks);
      await z.ended;
      for (const s of settled) {
        if (s.status === 'fulfilled') await s.value.release();
        else expect(String(s.reason)).toMatch(/zygote/);
      }
    }
    expect(await expectNoRunLeftovers()).toEqual([]);
  });

  it('a slot is reused once its child is gone', async () => {
    const z = await Zygote.start(jailEnvironment());
    try {
      const first = await z.fork(limits);
      await first.warm;
      first.kill();
      await first.ended;
      await first.release();
      const next: ZygoteChild[] = [];
      for (let i = 0; i < 6; i++) next.push(await z.fork(limits));
      expect(next.map((c) => c.joinedItself)).toEqual([true, true, true, true, true, true]);
      expect(next.map((c) => c.cgroupName)).toContain(first.cgroupName);
      await Promise.all(next.map((c) => c.warm));
      expect(next.every((c) => c.inCgroup())).toBe(true);
      z.stop();
      await z.ended;
      await Promise.all(next.map((c) => c.release()));
    } finally {
      z.stop();
      await z.ended;
    }
  });
});

describe('the guest protocol pieces', () => {
  it('marshal output is what CPython reads', () => {
    const value = {
      s: 'héllo \u{1F600}',
      n: [0, -1, 2 ** 31 - 1, -(2 ** 31), 2 ** 31, 64 * 2 ** 30, -(2 ** 40)],
      b: new Uint8Array([0, 255, 10]),
      t: tuple('a', 1),
      x: null,
      y: true,
      z: false,
    };
    const out = execFileSync('/usr/bin/python3', ['-I', '-S', '-c', 'import sys, marshal; print(repr(marshal.loads(sys.stdin.buffer.read())))'], {
      input: marshal(value),
      encoding: 'utf8',
    });
    expect(out.trim()).toBe(
      "{'s': 'héllo 😀', 'n': [0, -1, 2147483647, -2147483648, 2147483648, 68719476736, -1099511627776], 'b': b'\\x00\\xff\\n', 't': ('a', 1), 'x': None, 'y': True, 'z': False}",
    );
  });

  it('decodes wait statuses', () => {
    expect(decodeWaitStatus(0)).toEqual({ code: 0, signal: null, error: null });
    expect(decodeWaitStatus(7 << 8)).toEqual({ code: 7, signal: null, error: null });
    expect(decodeWaitStatus(9)).toEqual({ code: null, signal: 'SIGKILL', error: null });
    expect(decodeWaitStatus(11 | 0x80)).toEqual({ code: null, signal: 'SIGSEGV', error: null });
  });
});
