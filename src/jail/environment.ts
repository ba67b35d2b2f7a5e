import { BOOTSTRAP_SOURCE } from '../guest/index.js';
import { DEFAULT_PYTHON, probeHost } from '../host/probe.js';
import { detectCgroups, type CgroupProvider } from './cgroups.js';
import { compileSeccompFilter } from './seccomp/index.js';
import type { JailEnvironment } from './supervise.js';
import { UidPool } from './uid-pool.js';

/**
 * Process-wide pieces every jail shares: the cgroup parent, the uid pool and the
 * compiled seccomp filter. Built once, on first use, and torn down at exit.
 */
let cgroups: CgroupProvider | null = null;
let uids: UidPool | null = null;
let seccomp: Buffer | null = null;

export function sharedCgroups(): CgroupProvider {
  if (!cgroups) {
    cgroups = detectCgroups();
    const provider = cgroups;
    process.once('exit', () => provider.dispose());
  }
  return cgroups;
}

export function jailEnvironment(python: string = DEFAULT_PYTHON): JailEnvironment {
  const facts = probeHost(python);
  if (facts.isRoot && !uids) uids = new UidPool();
  // Without a memory cgroup, SysV shared memory would escape the memory limit: deny it.
  const provider = sharedCgroups();
  seccomp ??= compileSeccompFilter({ denySysvShm: provider.mode === 'none' });
  return { facts, cgroups: provider, uids: facts.isRoot ? uids : null, seccomp, bootstrapSource: BOOTSTRAP_SOURCE };
}
