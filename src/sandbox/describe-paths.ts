import { jailEnvironment } from '../backends/native/jail/environment.js';
import { Sandbox } from './sandbox.js';
import { DEFAULT_MODE, type SandboxMode } from '../core/options.js';

export interface RunPathReport {
  path: 'cold' | 'pool' | 'zygote';
  available: boolean;
  /** What it costs and what it needs; why not, when it is unavailable. */
  detail: string;
}

export interface RunPathsReport {
  /** What Sandbox.create({ mode: 'auto' }) uses on this host. */
  auto: 'pool' | 'zygote' | 'cold';
  /** What Sandbox.create() uses without a mode. */
  defaultMode: SandboxMode;
  paths: RunPathReport[];
}

const ZYGOTE_PROBE = [
  'import os',
  'st = dict(l.split(":", 1) for l in open("/proc/self/status").read().splitlines())',
  'print(st["CapEff"].strip(), st["CapBnd"].strip(), st["NoNewPrivs"].strip(), st["Seccomp"].strip(), os.getpid())',
].join('\n');

/**
 * Which run paths work here, proven by running a program on each (a zygote is started,
 * forks one child, and the child shows it has no capabilities, no_new_privs, seccomp
 * and pid 2 in its own namespace). For `pybox doctor`. Takes ~0.5 s.
 */
export async function describeRunPaths(options: { python?: string } = {}): Promise<RunPathsReport> {
  const paths: RunPathReport[] = [];
  let env;
  try {
    env = jailEnvironment(options.python);
  } catch (error) {
    const why = (error as Error).message;
    return {
      auto: 'cold',
      defaultMode: DEFAULT_MODE,
      paths: (['cold', 'pool', 'zygote'] as const).map((path) => ({ path, available: false, detail: why })),
    };
  }
  const cg = env.cgroups.mode;

  const cold = await probe('cold', (r) => (r.status === 'ok' ? null : `${r.status}: ${r.stderr.trim().slice(0, 200)}`));
  paths.push({
    path: 'cold',
    available: cold.ok,
    detail: cold.ok
      ? `a bwrap jail per run (hello world ${cold.ms} ms here): namespaces, mounts, cgroup${cg === 'v1' ? ' (v1: the jail is born in it, no move)' : ''} and Python start-up on every run`
      : `fails: ${cold.why}`,
  });
  const pool = await probe('pool', (r) => (r.status === 'ok' ? null : `${r.status}: ${r.stderr.trim().slice(0, 200)}`));
  paths.push({
    path: 'pool',
    available: pool.ok,
    detail: pool.ok
      ? `bwrap jails started ahead of time, one per run, refilled off the request path (hello world ${pool.ms} ms); a run whose workspaceMiB differs from the warm jails' goes cold`
      : `fails: ${pool.why}`,
  });
  const zygote = await probe('zygote', (r) => {
    if (r.status !== 'ok') return `${r.status}: ${r.stderr.trim().slice(0, 200)}`;
    const [eff, bnd, nnp, seccomp, pid] = r.stdout.trim().split(' ');
    if (eff !== '0000000000000000' || bnd !== '0000000000000000') return `a child kept capabilities (${eff}/${bnd})`;
    if (nnp !== '1' || seccomp !== '2') return `a child runs without no_new_privs or seccomp (${nnp}/${seccomp})`;
    if (pid !== '2') return `a child is not in a pid namespace of its own (pid ${pid})`;
    return null;
  });
  paths.push({
    path: 'zygote',
    available: zygote.ok,
    detail: zygote.ok
      ? `a pre-initialised fork-server per concurrent run; each run is a fork in fresh pid/mount/net/ipc/uts/cgroup namespaces with its own tmpfs and cgroup${env.cgroups.selfJoin ? ' (v1: it moves itself into one of the zygote\'s cgroup slots, no move by pid)' : ''}, no capabilities, no_new_privs and seccomp (hello world ${zygote.ms} ms)`
      : `unavailable: ${zygote.why}`,
  });
  return { auto: zygote.ok ? 'zygote' : pool.ok ? 'pool' : 'cold', defaultMode: DEFAULT_MODE, paths };

  async function probe(mode: 'cold' | 'pool' | 'zygote', check: (r: Awaited<ReturnType<Sandbox['run']>>) => string | null): Promise<{ ok: boolean; ms: number; why: string }> {
    let sandbox: Sandbox | null = null;
    try {
      sandbox = await Sandbox.create({ mode, ...(options.python ? { python: options.python } : {}), pool: { size: 1, max: 1 } });
      if (mode !== 'cold') await new Promise((r) => setTimeout(r, 200)); // let the warm jail come up
      const r = await sandbox.run(mode === 'zygote' ? ZYGOTE_PROBE : 'print(1)');
      const why = check(r);
      const took = sandbox.pathCounts[mode] === 1 ? null : `the run did not take the ${mode} path`;
      return { ok: why === null && took === null, ms: Math.round(r.durationMs * 10) / 10, why: why ?? took ?? '' };
    } catch (error) {
      return { ok: false, ms: 0, why: (error as Error).message };
    } finally {
      await sandbox?.close();
    }
  }
}
