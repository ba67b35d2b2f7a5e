/**
 * The hole: cgroup detection trusted /proc/self/mountinfo, which still lists the cgroup
 * mounts after something (a container runtime, a careless entrypoint) mounts a tmpfs over
 * /sys/fs/cgroup. pybox then made its "cgroups" as directories of that tmpfs, wrote its
 * limits into plain files, and its runs went unlimited. Now the file system at the path is
 * checked (statfs magic, a cgroup file present): pybox falls back to rlimits, doctor says
 * why, and nothing is written into the tmpfs. Run in a private mount namespace, so the
 * host's cgroups are untouched.
 */
import { execFile } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { ROOT } from './helpers/cli.js';

const isRoot = process.getuid?.() === 0;

/** Runs `script` with a tmpfs over /sys/fs/cgroup (the v1 controllers' directories made in it). */
function underFakeCgroupMount(script: string, env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const setUp = 'mount -t tmpfs -o mode=755 fake-cgroup /sys/fs/cgroup && mkdir /sys/fs/cgroup/memory /sys/fs/cgroup/pids /sys/fs/cgroup/cpu,cpuacct';
  return new Promise((resolve) => {
    execFile('unshare', ['-m', '--propagation', 'private', 'sh', '-c', `${setUp} && ${script}`], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, ...env } }, (error, stdout, stderr) =>
      resolve({ code: error ? ((error as { code?: number }).code ?? null) : 0, stdout, stderr }),
    );
  });
}

const pybox = `${JSON.stringify(process.execPath)} bin/pybox`;

describe.runIf(isRoot)('a tmpfs mounted over /sys/fs/cgroup', () => {
  it('doctor: no cgroups, and says the path is not a cgroup file system', async () => {
    const out = await underFakeCgroupMount(`${pybox} doctor --json; find /sys/fs/cgroup -mindepth 1 -not -path '/sys/fs/cgroup/memory' -not -path '/sys/fs/cgroup/pids' -not -path '/sys/fs/cgroup/cpu,cpuacct' >&2`);
    const report = JSON.parse(out.stdout) as { checks: { name: string; status: string; detail: string; fix?: string }[] };
    const cgroups = report.checks.find((c) => c.name === 'cgroups');
    expect(cgroups?.status).toBe('warn');
    expect(cgroups?.detail).toMatch(/^no cgroups: cgroup v[12] is listed in \/proc\/self\/mountinfo but \/sys\/fs\/cgroup\S* is not a cgroup2? file system \(statfs type 0x1021994\): something is mounted over it; using rlimits/);
    expect(out.stderr).toBe(''); // nothing made in the tmpfs
  });

  it('a run is held by rlimits: a memory hog ends memory_limit, a fork loop is refused', async () => {
    const hog = 'b = bytearray(300 << 20)\nb[::4096] = b"x" * len(b[::4096])\n';
    const forks = ['import os', 'n = 0', 'try:', '    for _ in range(20):', '        if os.fork() == 0:', '            import time; time.sleep(5); os._exit(0)', '        n += 1', 'except OSError as e:', '    print(n, type(e).__name__)', ''].join('\n');
    const out = await underFakeCgroupMount(
      `printf %s "$HOG" | ${pybox} run --json --memory 64 - && echo && printf %s "$FORKS" | ${pybox} run --json --processes 4 --policy off -`,
      { HOG: hog, FORKS: forks },
    );
    const [memory, processes] = out.stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as { status: string; stdout: string });
    expect(memory?.status).toBe('memory_limit');
    expect(processes?.status).toBe('ok');
    expect(processes?.stdout).toMatch(/^[0-3] BlockingIOError\n$/);
  });
});
