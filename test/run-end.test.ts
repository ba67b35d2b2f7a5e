/**
 * When a zygote run is over: its result comes once no process that ran the user's code is
 * left (every process of the run but pybox's own pid 1 has exited and been reaped, its
 * output read to its end). The pid 1's exit and the namespaces' teardown may come after
 * the result: they are listed in the inventory until done, held to the zygote's budget,
 * and close() waits for them.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { idleWarmJails } from '../src/backends/native/pool/inventory.js';
import { sharedCgroups } from '../src/backends/native/jail/environment.js';
import { childPids } from '../src/host/processes.js';
import { allOurJails } from './helpers/leftovers.js';
import { PATHS, sandboxesClosedAfterEach } from './helpers/sandboxes.js';

const { make } = sandboxesClosedAfterEach();

/** The program prints its pid namespace first (as the host names it: "pid:[inode]"). */
const PRINT_PIDNS = 'import os\nprint(os.readlink("/proc/self/ns/pid"), flush=True)\n';

interface RunProcess {
  pid: number;
  /** Its pid inside the run's namespace (1: the run's pid 1). */
  nsPid: number;
  zombie: boolean;
}

/**
 * Every process of the run's pid namespace on the host now, zombies included (a zombie has
 * no namespace link left: it is found as the child of a process of the run).
 */
function processesOfRun(pidNs: string): RunProcess[] {
  const found: RunProcess[] = [];
  const members = new Set<number>();
  const zombies: { pid: number; ppid: number; nsPid: number }[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const status = readFileSync(`/proc/${name}/status`, 'utf8');
      const nsPids = (/^NSpid:\s+(.*)$/m.exec(status)?.[1] ?? '').trim().split(/\s+/).map(Number);
      const nsPid = nsPids[nsPids.length - 1] as number;
      if (/^State:\s+Z/m.test(status)) {
        zombies.push({ pid: Number(name), ppid: Number(/^PPid:\s+(\d+)/m.exec(status)?.[1]), nsPid });
      } else if (readlinkSync(`/proc/${name}/ns/pid`) === pidNs) {
        members.add(Number(name));
        found.push({ pid: Number(name), nsPid, zombie: false });
      }
    } catch {
      /* exited while we looked */
    }
  }
  for (const z of zombies) if (members.has(z.ppid)) found.push({ pid: z.pid, nsPid: z.nsPid, zombie: true });
  return found;
}

const others = (ps: RunProcess[]) => ps.filter((p) => p.nsPid !== 1);

describe.runIf(sharedCgroups().mode !== 'none')('a zygote run is over once its program and everything it started are gone', () => {
  it('daemons a run leaves (as many as its processes limit lets it fork) are killed and reaped before its result', async () => {
    const sb = await make({ mode: 'zygote', policy: 'off', pool: { size: 1, max: 1 } });
    const daemons = [
      PRINT_PIDNS,
      'import signal, time',
      'for _ in range(5):',
      '    if os.fork() == 0:',
      '        os.setsid()',
      '        signal.signal(signal.SIGTERM, signal.SIG_IGN)',
      '        if os.fork() == 0:',
      '            for fd in range(5): os.close(fd)  # its output ends: only its life can hold the result',
      '            while True: time.sleep(1)',
      '        os._exit(0)',
      '    os.wait()',
      'print("left 5 daemons")',
    ].join('\n');
    for (let i = 0; i < 4; i++) {
      const r = await sb.run(daemons, { limits: { processes: 7 } }); // the program, 5 daemons and the fork between
      expect(r.status, r.stderr).toBe('ok');
      const [pidNs, said] = r.stdout.trim().split('\n');
      expect(said).toBe('left 5 daemons');
      // At the result, nothing of the run but its pid 1 (on its way out) may exist, not even a zombie.
      expect(others(processesOfRun(pidNs as string))).toEqual([]);
    }
  });

  it('the result never comes while a process of the run lives, whatever the program closes or writes', async () => {
    const sb = await make({ mode: 'zygote', policy: 'off', pool: { size: 1, max: 1 } });
    // The program closes its output and frame pipes, tries every way at its pid 1's done
    // pipe, and keeps a child busy after it has itself exited.
    const forger = [
      PRINT_PIDNS,
      'import time',
      'tries = []',
      'for fd in range(3, 64):',
      '    try: os.write(fd, b"\\0"); tries.append(fd)',
      '    except OSError: pass',
      'for path in ["/proc/1/fd/6", "/proc/1/fd"]:',
      '    try: os.listdir(path) if path.endswith("fd") else os.open(path, os.O_WRONLY); tries.append(path)',
      '    except OSError: pass',
      'print("wrote to", tries, flush=True)',
      'if os.fork() == 0:',
      '    for fd in (0, 1, 2, 3, 4): os.close(fd)',
      '    t = time.monotonic()',
      '    while time.monotonic() - t < 5: pass',
      '    os._exit(0)',
      'for fd in (1, 2, 4): os.close(fd)',
      'os._exit(0)',
    ].join('\n');
    const r = await sb.run(forger);
    expect(r.status, r.stderr).toBe('ok');
    const [pidNs, wrote] = r.stdout.trim().split('\n');
    // fd 4 is the frame pipe (its writes are the protocol's, read as frames); nothing else takes a byte.
    expect(wrote).toBe('wrote to [4]');
    expect(others(processesOfRun(pidNs as string))).toEqual([]);
  });

  it('a pid 1 still on its way out is in the inventory; close() waits until it and its cgroup are gone', async () => {
    const sb = await make({ mode: 'zygote', pool: { size: 1, max: 1 } });
    for (let i = 0; i < 10; i++) {
      const r = await sb.run(`${PRINT_PIDNS}print(${i})`);
      expect(r.status).toBe('ok');
      const inventory = idleWarmJails();
      const left = processesOfRun(r.stdout.split('\n')[0] as string);
      for (const p of left) expect(inventory.pids).toContain(p.pid);
    }
    await sb.run('print(1)');
    await sb.close();
    expect(allOurJails()).toEqual([]);
  });

  it('a zygote never holds more jails than its budget, runs back to back', async () => {
    const sb = await make({ mode: 'zygote', pool: { size: 1, max: 1 } });
    const zygotePids = () => idleWarmJails().pids.filter((pid) => {
      try {
        return (/^NSpid:\s+(.*)$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? '').trim().split(/\s+/).length === 2;
      } catch {
        return false;
      }
    });
    let most = 0;
    for (let i = 0; i < 40; i++) {
      expect((await sb.run('print(1)')).status).toBe('ok');
      for (const z of zygotePids()) most = Math.max(most, childPids(z).length);
    }
    // Three spares, the run it serves and one finishing (the children are each run's pid 1).
    expect(most).toBeGreaterThan(0);
    expect(most).toBeLessThanOrEqual(5);
  });
});

describe.each(PATHS)('a run answers with all it wrote, its pipes read to their end (%s)', (mode) => {
  it('stdout sent in flight over SCM_RIGHTS in a cycle of sockets only the kernel frees: the output is there and the run answers', async () => {
    const sb = await make({ mode, policy: 'off', pool: { size: 1, max: 1 } });
    const r = await sb.run(
      [
        'import socket',
        'a, b = socket.socketpair()',
        'c, d = socket.socketpair()',
        '# b holds stdout, stderr, c and d; d holds a and b: closed, they are reachable only from each other',
        'socket.send_fds(a, [b"x"], [1, 2, c.fileno(), d.fileno()])',
        'socket.send_fds(c, [b"x"], [a.fileno(), b.fileno()])',
        'for s in (a, b, c, d):',
        '    s.close()',
        'print("written before the exit")',
      ].join('\n'),
    );
    expect(r).toMatchObject({ status: 'ok', stdout: 'written before the exit\n' });
    await sb.close();
    expect(allOurJails()).toEqual([]);
  });
});
