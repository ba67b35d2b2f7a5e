/**
 * A run's memory ends with the run, and the kernel memory a run holds is bounded by its
 * limits: memory left in flight over SCM_RIGHTS, reclaimable charge (dentries), and socket
 * buffers, followed on every path by ordinary runs through the same sandbox (the same
 * cgroup slots and kept cgroups on the zygote path).
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { once } from 'node:events';
import { afterAll, describe, expect, it } from 'vitest';
import { sharedCgroups } from '../src/backends/native/jail/environment.js';
import { CgroupRecycler, keptCgroups } from '../src/backends/native/cgroup/cgroup-recycler.js';
import type { JailCgroup } from '../src/backends/native/cgroup/cgroups.js';
import { jailCgroupNames } from './helpers/host-state.js';
import { hostUnchangedByEachTest } from './helpers/leftovers.js';
import { PATHS, sandboxesForBlock } from './helpers/sandboxes.js';
import { scaled } from './helpers/time-scale.js';

const MiB = 1024 * 1024;
const attack = (name: string) => readFileSync(new URL(`../attacks/resources/${name}.py`, import.meta.url), 'utf8');
/** What every path must give an ordinary run after an attack: its own limit, and its own peak. */
const BENIGN = 'b = bytearray(120 << 20)\nprint(len(b) >> 20)';
const BENIGN_PEAK_MAX = 150 * MiB; // 120 MiB + the interpreter
/** More ordinary runs than a zygote has cgroup slots: every slot is reused at least once. */
const FOLLOWUPS = 8;

const memAvailable = () => Number(/MemAvailable:\s+(\d+)/.exec(readFileSync('/proc/meminfo', 'utf8'))?.[1]) * 1024;
/** Host-wide socket memory (pages of tcp_mem / udp_mem in use), in bytes. */
function socketMemory(): number {
  const stat = readFileSync('/proc/net/sockstat', 'utf8');
  const pages = (proto: string) => Number(new RegExp(`^${proto}: .*\\bmem (\\d+)`, 'm').exec(stat)?.[1] ?? 0);
  return (pages('TCP') + pages('UDP')) * 4096;
}

/** What a run prints to name its network namespace: the inode the kernel gives it, the same seen from the host. */
const PRINT_NETNS = '\nimport os\nprint("netns", os.readlink("/proc/self/ns/net"))';
const netnsOf = (stdout: string): string => /^netns (net:\[\d+\])$/m.exec(stdout)?.[1] ?? 'none printed';

/**
 * Host processes in, or holding an fd to, the network namespace `ns` ("net:[inode]"). An inode
 * no process uses, with no socket memory left charged for it (checked apart), is a namespace gone.
 */
function holdersOf(ns: string): string[] {
  const found: string[] = [];
  const link = (path: string) => {
    try {
      return readlinkSync(path);
    } catch {
      return null; // exited, or not ours to read
    }
  };
  for (const pid of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    if (link(`/proc/${pid}/ns/net`) === ns) found.push(`pid ${pid}`);
    let fds: string[] = [];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) if (link(`/proc/${pid}/fd/${fd}`) === ns) found.push(`fd ${fd} of pid ${pid}`);
  }
  return found;
}

// Without cgroups (rlimits only) no counter bounds kernel memory: see SECURITY.md.
describe.runIf(sharedCgroups().mode !== 'none').each(PATHS)('path %s: a run leaves no memory behind', (mode) => {
  const { open } = sandboxesForBlock({ open: { mode, policy: 'off', limits: { timeoutMs: scaled(10_000), cpuMs: scaled(5000), memoryMiB: 256 } } });
  hostUnchangedByEachTest();

  async function followupsGetTheirLimit(): Promise<void> {
    for (let i = 0; i < FOLLOWUPS; i++) {
      const r = await open.run(BENIGN, { limits: { memoryMiB: 256 } });
      expect(r.status, r.stderr).toBe('ok');
      expect(r.stdout).toBe('120\n');
      expect(r.memoryPeakBytes).toBeLessThan(BENIGN_PEAK_MAX);
    }
  }

  it('slot-poison-scm-rights: memory sent in flight and closed is freed with the run; the next runs get all of theirs', async () => {
    const code = attack('slot-poison-scm-rights').replace('MEMFD_MIB = 96', 'MEMFD_MIB = 160') + PRINT_NETNS;
    for (let i = 0; i < 3; i++) {
      const before = socketMemory();
      const r = await open.run(code, { limits: { memoryMiB: 256 } });
      expect(r.status, r.stderr).toBe('ok');
      expect(r.stdout).toMatch(/in flight: memfd MiB 160/);
      // Its sockets went with it (their buffers, its network namespace), not after its result.
      expect(socketMemory() - before).toBeLessThan(4 * MiB);
      const netns = netnsOf(r.stdout);
      expect(netns).toMatch(/^net:/);
      expect(holdersOf(netns)).toEqual([]);
    }
    await followupsGetTheirLimit();
  });

  it('a run after one that filled the dentry cache reports a peak of its own', async () => {
    const heavy = await open.run(
      ['import os', 't = os.urandom(6).hex()  # names no earlier run cached', 'for i in range(250_000): os.path.exists(f"/usr/pybox-absent-{t}-{i}")', 'print("done")'].join('\n'),
      { limits: { memoryMiB: 256, timeoutMs: scaled(20_000), cpuMs: scaled(15_000) } },
    );
    expect(heavy.status, heavy.stderr).toBe('ok');
    expect(heavy.memoryPeakBytes).toBeGreaterThan(32 * MiB); // the charge it leaves behind is real
    for (let i = 0; i < FOLLOWUPS; i++) {
      const r = await open.run('print(1)');
      expect(r.status).toBe('ok');
      expect(r.memoryPeakBytes).toBeLessThan(32 * MiB);
    }
  });

  describe.each(['sockbuf-tcp-flood', 'sockbuf-udp-flood'])('%s', (name) => {
    it('socket buffers are bounded by the run\'s memory limit, and freed with the run', async () => {
      const memoryMiB = 64;
      const before = { available: memAvailable(), sockets: socketMemory() };
      const r = await open.run(attack(name), { limits: { memoryMiB } });
      expect(r.status, r.stderr).toBe('ok');
      const held = Number(/(?:held|queued) MiB (\d+)/.exec(r.stdout)?.[1]);
      // A quarter of memoryMiB on cgroup v1 (memory.kmem.tcp); within memoryMiB on v2.
      expect(held).toBeLessThanOrEqual(memoryMiB);
      expect(socketMemory() - before.sockets).toBeLessThan(4 * MiB);
      expect(before.available - memAvailable()).toBeLessThan(memoryMiB * MiB);
      await followupsGetTheirLimit();
    });

    it('runs next to it keep their time', async () => {
      const neighbours = Array.from({ length: 4 }, () => open.run('import time; time.sleep(0.3); print("ok")', { limits: { timeoutMs: scaled(1000) } }));
      const [flood, ...rest] = await Promise.all([open.run(attack(name), { limits: { memoryMiB: 64 } }), ...neighbours]);
      expect(flood.status, flood.stderr).toBe('ok');
      for (const r of rest) {
        expect(r.status, r.stderr).toBe('ok');
        expect(r.stdout).toBe('ok\n');
      }
    });
  });
});

/** Runs `script` (sh) as a process in `cgroup`, moved in before it starts its work; resolves when it exits. */
async function runIn(cgroup: JailCgroup, script: string): Promise<void> {
  const child = spawn('/bin/sh', ['-c', `read go; ${script}`], { stdio: ['pipe', 'ignore', 'inherit'] });
  await cgroup.attachAsync([child.pid as number]);
  child.stdin.end('go\n');
  await once(child, 'exit');
}

const noSwap = /SwapTotal:\s+0 kB/.test(readFileSync('/proc/meminfo', 'utf8'));

/** Whether the peak counter of the cgroup `name` (under pybox's parent) can be restarted for a new run. */
function peakRestarts(name: string): boolean {
  if (sharedCgroups().mode === 'v1') return true; // memory.max_usage_in_bytes
  const parent = jailCgroupNames()?.parent ?? '';
  return (statSync(join(parent, name, 'memory.peak'), { throwIfNoEntry: false })?.mode ?? 0) & 0o200 ? true : false;
}

// What a kept cgroup still holds decides whether it is kept. Pages of a host tmpfs file cannot
// be reclaimed without swap: they stand for any charge that outlives a run's processes.
describe.runIf(sharedCgroups().mode !== 'none' && noSwap)('a kept cgroup serves another run only once drained', () => {
  const limits = { memoryBytes: 128 * MiB, pids: 8 };
  const shm = `/dev/shm/pybox-drain-${process.pid}`;
  afterAll(() => rmSync(shm, { force: true }));

  it('one still charged with memory it cannot reclaim is removed, not kept', async () => {
    const recycler = new CgroupRecycler(sharedCgroups(), 'drain', 2);
    const { name, cgroup } = await recycler.take(limits);
    await runIn(cgroup, `head -c ${32 * MiB} /dev/zero > ${shm}`);
    expect(statSync(shm).size).toBe(32 * MiB);
    expect(cgroup.isEmpty()).toBe(true);
    expect(await cgroup.drain()).toBe(false);
    await recycler.giveBack(name, cgroup);
    expect(keptCgroups()).not.toContain(name);
    await recycler.close();
  });

  it('one holding only reclaimable charge (dentries) is kept where its peak can restart, and its next run\'s peak starts near zero', async () => {
    const recycler = new CgroupRecycler(sharedCgroups(), 'drain', 2);
    const { name, cgroup } = await recycler.take(limits);
    const restarts = peakRestarts(name);
    await runIn(cgroup, `exec /usr/bin/python3 -c 'import os\nt = os.urandom(6).hex()\nfor i in range(200_000): os.path.exists(f"/usr/pybox-absent-{t}-{i}")'`);
    expect(cgroup.stats().memoryPeakBytes).toBeGreaterThan(16 * MiB);
    await recycler.giveBack(name, cgroup);
    // v1 restarts max_usage_in_bytes; v2 restarts memory.peak only from kernel 6.12 (writable):
    // before that a cgroup whose peak cannot restart is removed, and the next take makes a new one.
    expect(keptCgroups().includes(name)).toBe(restarts);
    const again = await recycler.take(limits);
    expect(again.name === name).toBe(restarts);
    expect(again.cgroup.stats().memoryPeakBytes).toBeLessThan(4 * MiB);
    await recycler.giveBack(again.name, again.cgroup);
    await recycler.close();
  });
});
