/**
 * cgroup v2 on the most common kind of host: pybox as root inside a service's cgroup that already
 * holds processes (systemd, a container). Boots a VM (`npm run vm`, see docs/vm.md) once and checks
 * that real runs there end on the cgroup limits and that `pybox doctor` reports v2 cgroups.
 * Opt-in (PYBOX_VM_TESTS=1): a boot under software emulation plus the runs take minutes.
 */
import { execFile } from 'node:child_process';
import { describe, expect, it } from 'vitest';

const VM_TESTS = process.env.PYBOX_VM_TESTS === '1';

interface ProbeLine {
  name: string;
  victim?: { pid: number; dirs: string[]; jailPids: number[] };
  left?: string[];
  alive?: number[];
  status?: string;
  mode?: string;
  detail?: string;
  path?: string;
  stdout?: string;
}

function inVm(script: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('node', ['vm/run.mjs', '--cgroup', 'v2', '--as', 'service', '--', 'sh', '-c', script], { maxBuffer: 16 << 20 }, (error, stdout, stderr) =>
      resolve({ code: typeof error?.code === 'number' ? error.code : 0, stdout, stderr }),
    );
  });
}

describe('cgroup v2 under a service (in a VM)', () => {
  it.runIf(VM_TESTS)('runs end on the memory, process and CPU limits, on the zygote, a supervisor killed with SIGKILL is cleaned up by the next, and doctor sees v2', async () => {
    const vm = await inVm('node vm/probes/cgroup-runs.mjs auto && node vm/probes/kill9-cleanup.mjs zygote; node bin/pybox doctor --json');
    expect(vm.code, `${vm.stdout}\n${vm.stderr}`).toBe(0);
    const lines = vm.stdout.trim().split('\n');
    const doctor = JSON.parse(lines.pop() ?? '{}') as { ok: boolean; checks: { name: string; status: string; detail: string }[] };
    const runs = new Map(lines.map((l) => JSON.parse(l) as ProbeLine).map((l) => [l.name, l]));

    const cgroups = runs.get('cgroups');
    expect(cgroups?.mode).toBe('v2');
    expect(cgroups?.detail).toContain('/pybox-vm.service/pybox/');
    expect(cgroups?.path).toBe('zygote');
    expect(runs.get('hello')).toMatchObject({ status: 'ok', stdout: 'hello\n' });
    expect(runs.get('memory-hog')?.status).toBe('memory_limit');
    // pids.max: the interpreter and 7 children make the 8 processes allowed
    expect(runs.get('process-limit')).toMatchObject({ status: 'ok', stdout: 'started 7\n' });
    expect(['cpu_limit', 'timeout']).toContain(runs.get('fork-bomb')?.status);
    expect(runs.get('cpu-loop')?.status).toBe('cpu_limit');

    // kill -9 mid-run: its leaf (supervisor-<pid>), its jails' parent and their cgroups were there, and are gone.
    const killed = runs.get('kill9-cleanup');
    expect(killed?.victim?.dirs).toEqual(expect.arrayContaining([expect.stringMatching(/\/pybox\/supervisor-\d+$/), expect.stringMatching(/\/pybox\/pybox-\d+\/zygote-/)]));
    expect(killed?.victim?.jailPids.length).toBeGreaterThan(0);
    expect(killed).toMatchObject({ left: [], alive: [], siblings: [] });

    expect(doctor.ok).toBe(true);
    const check = doctor.checks.find((c) => c.name === 'cgroups');
    expect(check?.status).toBe('ok');
    expect(check?.detail).toContain('cgroup v2');
  }, 30 * 60_000);
});
