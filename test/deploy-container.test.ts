import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { documentedFlags, onPath, PrivateDocker, RootlessPodman, type Output } from './helpers/container-runtime.js';

/**
 * pybox in real containers: Docker started with docs/deploy.md's recipe runs pybox's main job
 * and enforces its limits (on the zygote path, cgroups included); started with Docker's
 * defaults, or made to look like a Kubernetes Pod, `pybox doctor` names what is missing in
 * that runtime's terms. The image is the host's /usr bind-mounted into a root skeleton
 * (no registry is needed); the project is mounted read-only at its own path.
 */
const ROOT = resolve(import.meta.dirname, '..');
const DOC = join(ROOT, 'docs/deploy.md');
const IMAGE = 'pybox-deploy-test:latest';
const isRoot = process.getuid?.() === 0;
const canDocker = isRoot && onPath('dockerd') && onPath('docker');
// Opt-in: run by hand, this recipe passes (doctor ok on rlimits, the limits below hold); under
// the test runner the first run's supervisor was seen waiting on a jail that no longer existed,
// a hang not yet explained, so it stays out of CI until it is.
const canPodman = isRoot && process.env.PYBOX_PODMAN_TESTS === '1' && onPath('podman') && onPath('newuidmap') && onPath('useradd');

interface Check {
  name: string;
  status: string;
  detail: string;
  fix?: string;
}
interface Report {
  ok: boolean;
  checks: Check[];
}

function doctor(out: Output): Map<string, Check> {
  const report = JSON.parse(out.stdout) as Report;
  return new Map(report.checks.map((c) => [c.name, c]));
}

/** The project and the host's /usr, read-only, at their own paths; no network. */
const MOUNTS = ['--network=none', '-v', '/usr:/usr:ro', '-v', `${ROOT}:${ROOT}:ro`, '-w', ROOT];
const INIT = `${ROOT}/bin/pybox-container-init`;

describe.runIf(canDocker)('pybox in containers (needs root and docker.io: dockerd, containerd, runc)', () => {
  const docker = new PrivateDocker();

  beforeAll(async () => {
    await docker.start();
    await docker.importSkeleton(IMAGE);
  }, 120_000);

  afterAll(async () => {
    await docker.stop();
  }, 60_000);

  /** `docker run --rm` of `command` in the image, with the host's /usr and the project mounted read-only. */
  function inContainer(flags: string[], command: string[], env: Record<string, string> = {}): Promise<Output> {
    return docker.docker(['run', '--rm', ...flags, ...Object.entries(env).flatMap(([k, v]) => ['-e', `${k}=${v}`]), ...MOUNTS, IMAGE, ...command]);
  }


  it("docs/deploy.md's Docker recipe: doctor ok, the zygote path, and every cgroup limit holds", async () => {
    const flags = documentedFlags(DOC, 'docker');
    expect(flags).toEqual(expect.arrayContaining(['--cgroupns=private', '--init']));
    const checked = await inContainer(flags, [INIT, 'node', 'bin/pybox', 'doctor', '--json']);
    expect(checked.code, checked.stderr + checked.stdout).toBe(0);
    const checks = doctor(checked);
    expect(checks.get('host')?.detail).toMatch(/^in a Docker container \(.*\/\.dockerenv exists/);
    expect(checks.get('host')?.detail).toContain('/proc unmasked');
    expect(checks.get('userns')?.status).toBe('ok');
    expect(checks.get('cgroups')).toMatchObject({ status: 'ok' });
    expect(checks.get('cgroups')?.detail).toMatch(/cgroup v[12] under \/sys\/fs\/cgroup\//);
    expect(checks.get('paths')?.detail).toMatch(/runs on the zygote path here/);

    // pybox's main job and its limits, on the path Sandbox.create() picks (the zygote).
    const runs = await inContainer(flags, [INIT, 'node', 'vm/probes/cgroup-runs.mjs', 'auto']);
    expect(runs.code, runs.stderr).toBe(0);
    const byName = new Map(runs.stdout.trim().split('\n').map((l) => JSON.parse(l) as { name: string; status?: string; stdout?: string; mode?: string; path?: string }).map((r) => [r.name, r]));
    expect(byName.get('cgroups')).toMatchObject({ mode: expect.stringMatching(/^v[12]$/), path: 'zygote' });
    expect(byName.get('hello')).toMatchObject({ status: 'ok', stdout: 'hello\n' });
    expect(byName.get('memory-hog')?.status).toBe('memory_limit');
    expect(byName.get('process-limit')).toMatchObject({ status: 'ok', stdout: 'started 7\n' });
    expect(byName.get('fork-bomb')?.status).toBe('cpu_limit');
    expect(byName.get('cpu-loop')?.status).toBe('cpu_limit');

    // The command runs without CAP_SYS_ADMIN, which only the entrypoint's remount used.
    const caps = await inContainer(flags, [INIT, 'sh', '-c', 'grep CapBnd /proc/self/status']);
    const bounding = BigInt(`0x${/CapBnd:\s+([0-9a-f]+)/.exec(caps.stdout)?.[1] ?? 'x'}`);
    expect(bounding & (1n << 21n)).toBe(0n); // CAP_SYS_ADMIN
  }, 120_000);

  it("Docker's defaults: doctor names the docker run flags that are missing", async () => {
    const out = await inContainer([], ['node', 'bin/pybox', 'doctor', '--json']);
    expect(out.code).toBe(1);
    const checks = doctor(out);
    expect(checks.get('host')?.detail).toMatch(/^in a Docker container .*a seccomp filter.*\/proc masked/);
    const userns = checks.get('userns');
    expect(userns?.status).toBe('fail');
    expect(userns?.detail).toMatch(/seccomp filter.*\/proc is masked/);
    expect(userns?.fix).toMatch(/^docker run --security-opt seccomp=unconfined --security-opt systempaths=unconfined \.\.\. \(docs\/deploy\.md\)$/);
    const cgroups = checks.get('cgroups');
    expect(cgroups?.status).toBe('warn');
    expect(cgroups?.fix).toContain('docker run --cgroupns=private');
  }, 60_000);

  it('a container that looks like a Kubernetes Pod: doctor phrases the fixes as securityContext fields', async () => {
    const out = await inContainer(['--cgroupns=private'], ['node', 'bin/pybox', 'doctor', '--json'], { KUBERNETES_SERVICE_HOST: '10.96.0.1' });
    expect(out.code).toBe(1);
    const checks = doctor(out);
    expect(checks.get('host')?.detail).toMatch(/^in a Kubernetes Pod \(KUBERNETES_SERVICE_HOST is set\)/);
    expect(checks.get('userns')?.fix).toBe(
      "in the container's securityContext: {seccompProfile: {type: Unconfined}}, {procMount: Unmasked} with hostUsers: false in the Pod spec (docs/deploy.md)",
    );
    expect(checks.get('cgroups')?.fix).toMatch(/securityContext: \{capabilities: \{add: \[SYS_ADMIN\]\}\}; start pybox through bin\/pybox-container-init/);
  }, 60_000);

  it('a Podman look-alike (/run/.containerenv, rootless=1): doctor uses podman run flags', async () => {
    const fake = 'printf "engine=\\"podman-4.3.1\\"\\nrootless=1\\n" > /run/.containerenv && rm -f /.dockerenv && exec node bin/pybox doctor --json';
    const out = await inContainer([], ['sh', '-c', fake]);
    const checks = doctor(out);
    expect(checks.get('host')?.detail).toMatch(/^in a Podman container \(rootless\) \(\/run\/\.containerenv exists/);
    expect(checks.get('userns')?.fix).toBe('podman run --security-opt seccomp=unconfined --security-opt unmask=ALL ... (docs/deploy.md)');
  }, 60_000);
});

describe.runIf(canPodman)('pybox in rootless Podman (PYBOX_PODMAN_TESTS=1; needs root to make a user, podman, uidmap, catatonit)', () => {
  const podman = new RootlessPodman();

  beforeAll(async () => {
    await podman.create(IMAGE);
  }, 120_000);

  afterAll(async () => {
    await podman.remove();
  }, 60_000);

  it("docs/deploy.md's Podman recipe, rootless: the jail runs; without a delegated cgroup, doctor says why and pybox uses rlimits", async () => {
    // runc: crun refuses a host whose cgroup v1 hierarchies sit beside an empty v2 one ("hybrid").
    const flags = ['--runtime', 'runc', ...documentedFlags(DOC, 'podman')];
    const checked = await podman.podman(['run', '--rm', ...flags, ...MOUNTS, IMAGE, INIT, 'node', 'bin/pybox', 'doctor', '--json']);
    expect(checked.code, checked.stderr + checked.stdout).toBe(0);
    const checks = doctor(checked);
    expect(checks.get('host')?.detail).toMatch(/^in a Podman container \(rootless\) \(\/run\/\.containerenv exists/);
    expect(checks.get('userns')?.status).toBe('ok');
    const cgroups = checks.get('cgroups');
    if (cgroups?.status !== 'ok') expect(cgroups?.fix).toMatch(/^rootless containers get a cgroup of their own only on cgroup v2/);

    const runs = await podman.podman(['run', '--rm', ...flags, ...MOUNTS, IMAGE, INIT, 'node', 'vm/probes/cgroup-runs.mjs', 'auto']);
    expect(runs.code, runs.stderr).toBe(0);
    const byName = new Map(runs.stdout.trim().split('\n').map((l) => JSON.parse(l) as { name: string; status?: string; stdout?: string }).map((r) => [r.name, r]));
    expect(byName.get('hello')).toMatchObject({ status: 'ok', stdout: 'hello\n' });
    expect(byName.get('memory-hog')?.status).toBe('memory_limit');
    expect(byName.get('cpu-loop')?.status).toBe('cpu_limit');
  }, 180_000);
});
