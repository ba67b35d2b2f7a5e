import { BOOTSTRAP_SOURCE } from '../../../guest/index.js';
import { PyboxError } from '../../../core/errors.js';
import { formatIssues } from '../../../core/limits.js';
import { cgroupRootSchema } from '../../../core/options.js';
import { DEFAULT_PYTHON, probeHost } from '../../../host/probe.js';
import { CgroupRecycler } from '../cgroup/cgroup-recycler.js';
import type { CgroupProvider } from '../cgroup/cgroups.js';
import { detectCgroups } from '../cgroup/detect.js';
import { compileSeccompFilter, compileStrictSeccompFilter } from '../seccomp/index.js';
import type { JailEnvironment } from './live-jail.js';
import { UidPool } from './uid-pool.js';

/**
 * Process-wide pieces every jail shares: the cgroup parent, the uid pool and the
 * compiled seccomp filter. Built once, on first use, and torn down at exit.
 */
let cgroups: CgroupProvider | null = null;
let uids: UidPool | null = null;
let seccomp: Buffer | null = null;
let strictSeccomp: Buffer | null = null;

/** Where the cgroups go on v2: `cgroupRoot` (the first asked for), else PYBOX_CGROUP_ROOT, else our own subtree. */
export function sharedCgroups(cgroupRoot?: string): CgroupProvider {
  if (!cgroups) {
    cgroups = detectCgroups(cgroupRoot ?? envCgroupRoot());
    const provider = cgroups;
    process.once('exit', () => provider.dispose());
  }
  return cgroups;
}

function envCgroupRoot(): string | undefined {
  const value = process.env.PYBOX_CGROUP_ROOT;
  if (value === undefined || value === '') return undefined;
  const parsed = cgroupRootSchema.safeParse(value);
  if (!parsed.success) throw new PyboxError('E_OPTIONS_INVALID', `PYBOX_CGROUP_ROOT ${formatIssues(parsed.error)}`);
  return parsed.data;
}

/**
 * Cgroups a Sandbox keeps made ahead for its cold runs. A caller running back to back takes
 * its next one before the last run's replacement is made (that waits until the result is
 * out), so one kept is not enough: with two, every take after the first two finds one.
 */
export const COLD_CGROUPS_KEPT = 2;

export function jailEnvironment(python: string = DEFAULT_PYTHON, cgroupRoot?: string): JailEnvironment {
  const facts = probeHost(python);
  if (facts.isRoot && !uids) {
    try {
      uids = new UidPool();
    } catch (error) {
      throw new PyboxError('E_JAIL_UNAVAILABLE', `cannot set up the sandbox uid pool: ${(error as Error).message}`, { cause: error });
    }
  }
  // Without a memory cgroup, SysV shared memory would escape the memory limit: deny it.
  const provider = sharedCgroups(cgroupRoot);
  try {
    seccomp ??= compileSeccompFilter({ denySysvShm: provider.mode === 'none' });
    strictSeccomp ??= compileStrictSeccompFilter();
  } catch (error) {
    throw new PyboxError('E_JAIL_UNAVAILABLE', `no seccomp filter for this machine: ${(error as Error).message}`, { cause: error });
  }
  return {
    facts,
    cgroups: provider,
    uids: facts.isRoot ? uids : null,
    seccomp,
    strictSeccomp,
    bootstrapSource: BOOTSTRAP_SOURCE,
    bwrapCgroups: provider.mode === 'none' ? null : new CgroupRecycler(provider, 'jail', COLD_CGROUPS_KEPT),
  };
}
