import { execFileSync } from 'node:child_process';
import { accessSync, constants, realpathSync } from 'node:fs';
import { Command } from 'commander';
import { compileSeccompFilter, DEFAULT_PYTHON, findBwrap, hostSeccompArch, pythonSupported, sharedCgroups, UID_LOCK_DIR } from '../backends/native/index.js';
import { readConfinement, type Confinement } from '../host/confinement.js';
import { detectDeployment, type Deployment } from '../host/deployment.js';
import { describeRunPaths } from '../sandbox/describe-paths.js';
import { Sandbox } from '../sandbox/index.js';
import { checkDataStack } from './doctor-data.js';
import { cgroupFinding, joinFixes, usernsFindings, zygoteFinding } from './doctor-fixes.js';
import { writeAll } from './io.js';
import type { CliContext } from './run-command.js';
import { EXIT, oneLine } from './usage-error.js';

export type CheckStatus = 'ok' | 'warn' | 'fail';

export interface DoctorCheck {
  name: 'bwrap' | 'python' | 'host' | 'userns' | 'seccomp' | 'cgroups' | 'root' | 'paths' | 'data';
  status: CheckStatus;
  detail: string;
  /** The command (or step) that fixes a failed or degraded check. */
  fix?: string;
}

export interface DoctorReport {
  /** pybox can run on this host (warnings allowed). */
  ok: boolean;
  checks: DoctorCheck[];
}

export interface DoctorOptions {
  /** Absolute path of the interpreter to check; default /usr/bin/python3. */
  python?: string;
}

/**
 * Checks what pybox needs on this host, and proves it by starting a real jail
 * (`print(1)` through Sandbox) with the seccomp filter and cgroups a run would use.
 */
export async function runDoctor(options: DoctorOptions = {}): Promise<DoctorReport> {
  const pythonPath = options.python ?? DEFAULT_PYTHON;
  const checks: DoctorCheck[] = [];

  const bwrap = checkBwrap();
  checks.push(bwrap);
  const python = checkPython(pythonPath);
  checks.push(python);

  const where: Where = { deployment: detectDeployment(), confinement: readConfinement() };
  // cgroups first: the jail below uses the same process-wide provider.
  const cgroups = checkCgroups(where);
  const seccomp = checkSeccomp(where);
  const userns =
    bwrap.status === 'fail' || python.status === 'fail'
      ? skippedUserns(where)
      : await checkJail(pythonPath, seccomp.status !== 'fail', where);
  if (userns.status === 'ok' && seccomp.status === 'ok') seccomp.detail += '; the test jail ran under it';
  else if (seccomp.status === 'ok') seccomp.detail += '; not exercised (no jail started)';

  checks.push(checkHost(where), userns, seccomp, cgroups, checkRoot(userns.status === 'ok'));
  if (userns.status === 'ok') checks.push(await checkRunPaths(pythonPath, where), { name: 'data', ...(await checkDataStack(pythonPath)) });
  return { ok: checks.every((c) => c.status !== 'fail'), checks };
}

function checkBwrap(): DoctorCheck {
  const path = findBwrap();
  if (!path) {
    return { name: 'bwrap', status: 'fail', detail: 'bubblewrap (bwrap) is not installed', fix: 'apt-get install -y bubblewrap' };
  }
  try {
    const version = execFileSync(path, ['--version'], { encoding: 'utf8', env: {}, timeout: 10_000 }).trim();
    return { name: 'bwrap', status: 'ok', detail: `${path} (${version})` };
  } catch (error) {
    return {
      name: 'bwrap',
      status: 'fail',
      detail: `${path} does not run: ${oneLine((error as Error).message)}`,
      fix: 'apt-get install --reinstall -y bubblewrap',
    };
  }
}

function checkPython(pythonPath: string): DoctorCheck {
  const fix = pythonPath === DEFAULT_PYTHON ? 'apt-get install -y python3' : `apt-get install -y python3 (or pass --python with an interpreter that exists)`;
  if (!pythonPath.startsWith('/')) {
    return { name: 'python', status: 'fail', detail: `python must be an absolute path, got ${JSON.stringify(pythonPath)}`, fix: '--python /usr/bin/python3' };
  }
  let real: string;
  try {
    real = realpathSync(pythonPath);
    accessSync(real, constants.X_OK);
  } catch {
    return { name: 'python', status: 'fail', detail: `${pythonPath} not found or not executable`, fix };
  }
  let version: string;
  try {
    version = execFileSync(real, ['-I', '-c', 'import sys; print(sys.version.split()[0])'], { encoding: 'utf8', env: {}, timeout: 10_000 }).trim();
  } catch (error) {
    return { name: 'python', status: 'fail', detail: `${real} does not run: ${oneLine((error as Error).message)}`, fix };
  }
  if (!pythonSupported(version)) {
    return { name: 'python', status: 'fail', detail: `${real} is Python ${version}; pybox needs 3.8 or later (audit hooks)`, fix };
  }
  const shown = real === pythonPath ? real : `${pythonPath} -> ${real}`;
  return { name: 'python', status: 'ok', detail: `${shown} (Python ${version})` };
}

/** Where pybox runs and what confines it there, read once per doctor run. */
interface Where {
  deployment: Deployment;
  confinement: Confinement;
}

const KIND_NAME: Record<Deployment['kind'], string> = {
  kubernetes: 'in a Kubernetes Pod',
  podman: 'in a Podman container',
  docker: 'in a Docker container',
  container: 'in a container',
  'github-actions': 'on a GitHub Actions runner',
  host: 'on the host (no container seen)',
};

/** Where pybox runs and what confines it: the facts the userns and cgroups fixes are phrased for. */
function checkHost({ deployment: d, confinement: c }: Where): DoctorCheck {
  const kind = `${KIND_NAME[d.kind]}${d.rootless ? ' (rootless)' : ''}${d.evidence.length ? ` (${d.evidence.join(', ')})` : ''}`;
  const seccomp = c.seccompMode === 2 ? `a seccomp filter (${c.seccompFilters ?? '?'})` : c.seccompMode === 0 ? 'no seccomp filter' : `seccomp mode ${c.seccompMode ?? 'unknown'}`;
  const apparmor = c.apparmorProfile === null ? 'no AppArmor' : `AppArmor ${c.apparmorProfile}`;
  const proc = c.procOvermounts.length > 0 ? `/proc masked (${c.procOvermounts.length} mounts)` : '/proc unmasked';
  const cg = c.cgroup.version === null ? 'no cgroup hierarchy' : `cgroup v${c.cgroup.version} at ${c.cgroup.ownPath} (${c.cgroup.readOnly ? 'read-only' : 'read-write'} mount)`;
  return { name: 'host', status: 'ok', detail: `${kind}; ${seccomp}; ${apparmor}; ${proc}; ${cg}` };
}

function skippedUserns(where: Where): DoctorCheck {
  const blockers = usernsFindings(where.deployment, where.confinement);
  if (blockers.length > 0) {
    return {
      name: 'userns',
      status: 'fail',
      detail: `not tested (bwrap or python missing); ${blockers.map((b) => b.detail).join('; ')}`,
      fix: joinFixes(blockers.map((b) => b.fix)),
    };
  }
  return { name: 'userns', status: 'warn', detail: 'not tested: needs bwrap and python first' };
}

async function checkJail(python: string, seccompOk: boolean, where: Where): Promise<DoctorCheck> {
  if (!seccompOk) return { name: 'userns', status: 'fail', detail: 'not tested: the seccomp filter does not compile here' };
  let sandbox: Sandbox | null = null;
  try {
    sandbox = await Sandbox.create({ mode: 'cold', python, limits: { timeoutMs: 20_000, cpuMs: 10_000 } });
    const result = await sandbox.run('print(1)');
    if (result.status === 'ok' && result.stdout === '1\n') {
      return {
        name: 'userns',
        status: 'ok',
        detail: `started a jail (user, pid, mount, net, ipc, uts namespaces) and ran print(1) in ${Math.round(result.durationMs)} ms`,
      };
    }
    const why = oneLine(result.stderr.replace(/^pybox:\s*/, '')) || `status ${result.status}`;
    return jailFailure(`a test jail did not run print(1): ${result.status}: ${why}`, where);
  } catch (error) {
    return jailFailure(`a test jail could not be started: ${oneLine((error as Error).message)}`, where);
  } finally {
    await sandbox?.close();
  }
}

function jailFailure(detail: string, where: Where): DoctorCheck {
  const blockers = usernsFindings(where.deployment, where.confinement);
  if (blockers.length > 0) {
    return {
      name: 'userns',
      status: 'fail',
      detail: `${detail}; ${blockers.map((b) => b.detail).join('; ')}`,
      fix: joinFixes(blockers.map((b) => b.fix)),
    };
  }
  return {
    name: 'userns',
    status: 'fail',
    detail,
    fix:
      'allow unprivileged user namespaces (sysctl -w user.max_user_namespaces=15000); ' +
      'in a container, start it with --security-opt seccomp=unconfined --security-opt apparmor=unconfined',
  };
}

function checkSeccomp(where: Where): DoctorCheck {
  try {
    const arch = hostSeccompArch();
    const mode = sharedCgroups().mode;
    const filter = compileSeccompFilter({ denySysvShm: mode === 'none' });
    const kernel = where.confinement.seccompMode !== null ? '' : '; the kernel shows no seccomp support';
    return {
      name: 'seccomp',
      status: kernel ? 'fail' : 'ok',
      detail: `the ${arch} filter compiles (${filter.length / 8} BPF instructions${mode === 'none' ? ', SysV shm denied' : ''})${kernel}`,
      ...(kernel ? { fix: 'use a kernel built with CONFIG_SECCOMP_FILTER=y' } : {}),
    };
  } catch (error) {
    return {
      name: 'seccomp',
      status: 'fail',
      detail: oneLine((error as Error).message),
      fix: 'run pybox on x86_64 (x64) or aarch64 (arm64): the only architectures its filter supports',
    };
  }
}

function checkCgroups(where: Where): DoctorCheck {
  let provider: ReturnType<typeof sharedCgroups>;
  try {
    provider = sharedCgroups();
  } catch (error) {
    return { name: 'cgroups', status: 'warn', detail: `cannot inspect cgroups: ${oneLine((error as Error).message)}` };
  }
  if (provider.mode !== 'none') {
    return {
      name: 'cgroups',
      status: 'ok',
      detail:
        `${provider.detail}; cgroups enforce memory (whole jail, tmpfs and shm included), processes and CPU time; ` +
        'rlimits enforce open files and file size; the supervisor enforces wall clock and output',
    };
  }
  const isRoot = process.getuid?.() === 0;
  const finding = cgroupFinding(where.deployment, where.confinement, isRoot);
  let fix: string;
  if (finding) {
    fix = joinFixes([finding.fix]);
  } else if (!isRoot) {
    fix = 'run pybox as root, or in a delegated cgroup v2 scope: systemd-run --user --scope -p Delegate=yes ./bin/pybox ...';
  } else if (/ lacks the [\w, ]+ controller/.test(provider.detail)) {
    const base = /(\S+) lacks the/.exec(provider.detail)?.[1]?.replace(/^\(/, '') ?? '/sys/fs/cgroup';
    fix = `enable the controllers for ${base}: echo '+memory +pids +cpu' > ${base.replace(/\/[^/]+\/?$/, '') || '/sys/fs/cgroup'}/cgroup.subtree_control`;
  } else if (/no cgroup hierarchy/.test(provider.detail)) {
    fix = 'mount -t cgroup2 none /sys/fs/cgroup';
  } else {
    fix = 'make the cgroup hierarchy writable for pybox (in a container: --cgroupns=private and a writable /sys/fs/cgroup)';
  }
  return {
    name: 'cgroups',
    status: 'warn',
    detail:
      `no cgroups: ${provider.detail}${finding ? `; ${finding.detail}` : ''}; rlimits enforce memory (RLIMIT_AS, per process), processes (RLIMIT_NPROC) and CPU ` +
      '(RLIMIT_CPU per process, plus /proc sampling); SysV shared memory is denied; the supervisor enforces wall clock and output',
    fix,
  };
}

/** Which run paths work here (each proven by a run) and which one Sandbox.create() picks. */
async function checkRunPaths(python: string, where: Where): Promise<DoctorCheck> {
  const report = await describeRunPaths({ python });
  const each = report.paths.map((p) => `${p.path}: ${p.available ? 'yes' : 'no'} (${p.detail})`).join('; ');
  const detail = `Sandbox.create() uses mode '${report.defaultMode}', which runs on the ${report.auto} path here; ${each}`;
  if (report.auto === 'zygote') return { name: 'paths', status: 'ok', detail };
  const ptrace = zygoteFinding(where.deployment, where.confinement, process.getuid?.() === 0);
  const fixes = [
    ...(sharedCgroups().mode === 'none' ? ['the zygote needs writable cgroups: see the cgroups line'] : []),
    ...(ptrace ? [ptrace.fix] : []),
  ];
  return {
    name: 'paths',
    status: 'warn',
    detail: ptrace ? `${detail}; ${ptrace.detail}` : detail,
    fix: report.auto === 'cold' ? 'see the userns and cgroups lines' : fixes.length > 0 ? joinFixes(fixes) : 'the zygote needs writable cgroups: see the cgroups line',
  };
}

function checkRoot(jailRan: boolean): DoctorCheck {
  const uid = process.getuid?.() ?? -1;
  if (uid === 0) {
    return {
      name: 'root',
      status: 'ok',
      detail: `running as root: each jail runs bwrap as its own uid from the pool 62000-62999 (locks in ${UID_LOCK_DIR})${jailRan ? '' : '; not exercised'}`,
    };
  }
  return {
    name: 'root',
    status: 'ok',
    detail: `running as uid ${uid}: jails run as this uid inside a user namespace; RLIMIT_NPROC counts all of this uid's processes (a per-jail uid needs root)`,
  };
}

const MARK: Record<CheckStatus, string> = { ok: 'ok  ', warn: 'warn', fail: 'FAIL' };

/** One line per check; a fix follows its check on the same line. */
export function formatDoctorReport(report: DoctorReport): string {
  const width = Math.max(...report.checks.map((c) => c.name.length));
  const lines = report.checks.map((c) => {
    const fix = c.fix && c.status !== 'ok' ? `  [fix: ${c.fix}]` : '';
    return `${MARK[c.status]}  ${c.name.padEnd(width)}  ${c.detail}${fix}`;
  });
  const warnings = report.checks.filter((c) => c.status === 'warn').length;
  lines.push(
    report.ok
      ? `pybox can run here${warnings ? ` (${warnings} warning${warnings > 1 ? 's' : ''})` : ''}`
      : 'pybox cannot run here: fix the FAIL lines above',
  );
  return lines.join('\n') + '\n';
}

export function doctorCommand(ctx: CliContext): Command {
  return new Command('doctor')
    .description('check that this host can run pybox, and say how to fix what is missing')
    .option('--json', 'print { ok, checks: [{ name, status, detail, fix? }] }')
    .option('--python <path>', 'the interpreter to check (default /usr/bin/python3)')
    .addHelpText('after', '\nExit code: 0 when pybox can run here (warnings allowed), 1 otherwise.')
    .action(async (flags: { json?: boolean; python?: string }) => {
      const report = await runDoctor(flags.python !== undefined ? { python: flags.python } : {});
      await writeAll(ctx.io.stdout, flags.json ? JSON.stringify(report) + '\n' : formatDoctorReport(report));
      ctx.exitCode = report.ok ? EXIT.ok : EXIT.doctorFailed;
    });
}
