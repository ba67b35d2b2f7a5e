/**
 * The zygote's own seccomp filter. The zygote never runs user code, but it holds
 * CAP_SYS_ADMIN and CAP_NET_ADMIN in its user namespace, so whatever reached it would
 * hold them too: its filter denies what the runs' filter denies, except the calls it and
 * each run's pid 1 (R) make to build a run (mount, unshare, setns into its own pid
 * namespace), and those only as far as they need. Every child inherits it; G stacks the
 * runs' filter on top, so the zygote's can only ever deny more, never allow more.
 */
import { compileSeccompProgram, buildSeccompPolicy, hostSeccompArch, serializeBpf, type SeccompRule } from '../seccomp/index.js';
import { DENY_EPERM, CLONE_NEWPID, CLONE_NEWTIME, CLONE_NEWUSER } from '../seccomp/policy.js';

/** What the zygote and R call that the runs' filter denies: replaced by the narrower rules below. */
const NEEDED = new Set(['mount', 'unshare', 'setns']);

const ZYGOTE_RULES: readonly SeccompRule[] = [
  {
    syscall: 'unshare',
    action: DENY_EPERM,
    when: { op: 'maskAny', arg: 0, mask: (CLONE_NEWUSER | CLONE_NEWTIME) >>> 0 },
    group: 'base',
    reason: 'the zygote unshares pid, mount, net, ipc, uts and cgroup namespaces; never a user or time namespace',
  },
  {
    syscall: 'setns',
    action: DENY_EPERM,
    when: { op: 'notIn', arg: 1, values: [CLONE_NEWPID] },
    group: 'base',
    reason: 'the zygote only goes back into its own pid namespace after each fork',
  },
];

/** The zygote's rules: the runs' base policy without what it needs, plus the narrow rules for that. */
export function zygoteSeccompPolicy(): SeccompRule[] {
  return [...buildSeccompPolicy().filter((r) => !NEEDED.has(r.syscall)), ...ZYGOTE_RULES];
}

let compiled: Buffer | null = null;

/** The zygote's filter as `struct sock_filter[]` bytes, compiled once per process. */
export function zygoteSeccompFilter(): Buffer {
  compiled ??= serializeBpf(compileSeccompProgram(zygoteSeccompPolicy(), hostSeccompArch()));
  return compiled;
}
