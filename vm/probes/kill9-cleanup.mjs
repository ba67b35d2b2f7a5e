// Run inside the VM: a supervisor killed with SIGKILL mid-run leaves its cgroups behind (its
// leaf, its jails' parent and their cgroups); the next supervisor to start removes them.
// A child process (`victim`) starts a sandbox and a run that sleeps, says where its cgroups are,
// and is killed; this process then starts its own sandbox and prints one JSON line: what the
// victim had, and what of it remains (and which processes in it) after the next start; exits 1
// when something remains.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { once } from 'node:events';
import { basename, dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { Sandbox } from '../../dist/src/index.js';
import { sharedCgroups } from '../../dist/src/backends/native/jail/environment.js';

const SLOW = 40;
const limits = { timeoutMs: 600_000, cpuMs: 300_000 };

/** Every cgroup directory under `dir`, deepest first. */
function tree(dir) {
  if (!existsSync(dir)) return [];
  const subdirs = readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory());
  return [...subdirs.flatMap((e) => tree(join(dir, e.name))), dir];
}
const procs = (dir) => readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);

if (process.argv[2] === 'victim') {
  const sandbox = await Sandbox.create({ mode: process.argv[3] ?? 'zygote', policy: 'off', limits });
  const parent = /under (\S+)/.exec(sharedCgroups().detail)?.[1];
  // Its own leaf, where it has one (not in the root cgroup).
  const own = join('/sys/fs/cgroup', readFileSync('/proc/self/cgroup', 'utf8').trim().split('::')[1]);
  const leaf = basename(own) === `supervisor-${process.pid}` ? [own] : [];
  // The run prints once it is running; its jail's cgroup then holds its processes.
  const running = sandbox.run('import time\nprint("running", flush=True)\ntime.sleep(3600)', { onStdout: () => {
    const mine = [...tree(parent), ...leaf];
    process.stdout.write(`${JSON.stringify({ pid: process.pid, path: sandbox.mode.active, parent, dirs: mine, jailPids: tree(parent).slice(0, -1).flatMap(procs) })}\n`);
  } });
  await running; // never: the parent kills this process
} else {
  const mode = process.argv[2] ?? 'zygote';
  const victim = spawn(process.execPath, [process.argv[1], 'victim', mode], { stdio: ['ignore', 'pipe', 'inherit'] });
  const [line] = await once(createInterface({ input: victim.stdout }), 'line');
  const before = JSON.parse(line);
  const exited = once(victim, 'exit');
  victim.kill('SIGKILL');
  await exited;
  // The next start: a sandbox in this process, with a run.
  const sandbox = await Sandbox.create({ mode, policy: 'off', limits: { timeoutMs: 10_000 * SLOW, cpuMs: 5_000 * SLOW } });
  const hello = await sandbox.run('print("hello")');
  const left = before.dirs.filter((d) => existsSync(d));
  const alive = before.jailPids.filter((pid) => existsSync(`/proc/${pid}`));
  const siblings = readdirSync(dirname(before.parent)).filter((n) => n.endsWith(`-${before.pid}`));
  process.stdout.write(`${JSON.stringify({ name: 'kill9-cleanup', victim: before, next: { detail: sharedCgroups().detail, hello: hello.status }, left, alive, siblings })}\n`);
  await sandbox.close();
  // Exits 1 unless the victim had cgroups and jail processes, and none of them is left.
  const cleaned = before.dirs.length > 1 && before.jailPids.length > 0 && left.length + alive.length + siblings.length === 0 && hello.status === 'ok';
  process.exitCode = cleaned ? 0 : 1;
}
