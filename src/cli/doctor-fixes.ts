import type { Confinement } from '../host/confinement.js';
import type { Deployment } from '../host/deployment.js';

/**
 * What stops bwrap or pybox's cgroups on this host, each with its fix in the terms of where
 * pybox runs (a `docker run` flag, a Pod's securityContext, a sysctl). docs/deploy.md gives
 * the whole recipe for each kind; these lines name the part that is missing here.
 */
export interface Finding {
  detail: string;
  fix: string;
}

const RUNTIME: Partial<Record<Deployment['kind'], string>> = { docker: 'docker run', podman: 'podman run' };

const isContainer = (d: Deployment): boolean => d.kind !== 'host' && d.kind !== 'github-actions';

/** Where a kernel setting is changed: here, or on the machine under the container. */
function onHost(d: Deployment, command: string): string {
  if (d.kind === 'github-actions') return `a workflow step before pybox: sudo ${command}`;
  if (d.kind === 'kubernetes') return `on the node (a container shares its kernel's setting): ${command}`;
  return isContainer(d) ? `on the host (a container shares its kernel's setting): ${command}` : command;
}

/** Settings of the kernel, the seccomp filter, AppArmor and /proc that refuse bwrap its namespaces. */
export function usernsFindings(d: Deployment, c: Confinement): Finding[] {
  const found: Finding[] = [];
  if (c.maxUserNamespaces === 0) {
    found.push({ detail: 'user.max_user_namespaces is 0', fix: onHost(d, 'sysctl -w user.max_user_namespaces=15000') });
  }
  if (c.unprivilegedUsernsClone === 0) {
    found.push({ detail: 'kernel.unprivileged_userns_clone is 0', fix: onHost(d, 'sysctl -w kernel.unprivileged_userns_clone=1') });
  }
  if (c.apparmorRestrictUserns === 1) {
    found.push({
      detail: 'kernel.apparmor_restrict_unprivileged_userns is 1 (AppArmor refuses user namespaces to unconfined programs)',
      fix: onHost(d, 'sysctl -w kernel.apparmor_restrict_unprivileged_userns=0'),
    });
  }
  if (!isContainer(d)) return found;
  const run = RUNTIME[d.kind];
  if (c.seccompMode === 2) {
    found.push({
      detail: `the container runs under a seccomp filter (${c.seccompFilters ?? '?'} installed), which may refuse unshare, clone with namespace flags, mount and pivot_root`,
      fix: run
        ? `${run} --security-opt seccomp=unconfined`
        : d.kind === 'kubernetes'
          ? 'securityContext: {seccompProfile: {type: Unconfined}}'
          : "a seccomp profile that allows unshare, clone's namespace flags, setns, mount, umount2 and pivot_root",
    });
  }
  if (c.apparmorProfile !== null && !c.apparmorProfile.startsWith('unconfined')) {
    found.push({
      detail: `the AppArmor profile ${c.apparmorProfile} may refuse bwrap's mounts`,
      fix: run
        ? `${run} --security-opt apparmor=unconfined`
        : d.kind === 'kubernetes'
          ? 'securityContext: {appArmorProfile: {type: Unconfined}}'
          : 'an AppArmor profile that allows mount, pivot_root and userns',
    });
  }
  if (c.procOvermounts.length > 0) {
    found.push({
      detail: `/proc is masked (${c.procOvermounts.length} mounts over its entries, e.g. ${c.procOvermounts[0]}), so the kernel refuses bwrap a fresh /proc`,
      fix:
        d.kind === 'docker'
          ? 'docker run --security-opt systempaths=unconfined'
          : d.kind === 'podman'
            ? 'podman run --security-opt unmask=ALL'
            : d.kind === 'kubernetes'
              ? 'securityContext: {procMount: Unmasked} with hostUsers: false in the Pod spec'
              : 'start the container without masked /proc paths',
    });
  }
  return found;
}

/** One fix: a container's flags merged into one `docker run ...`, securityContext fields into one line. */
export function joinFixes(fixes: string[]): string {
  const runs = new Map<string, string[]>();
  const context: string[] = [];
  const rest: string[] = [];
  for (const fix of fixes.flatMap((f) => f.split('; '))) {
    const run = /^(docker run|podman run) (.*)$/.exec(fix);
    if (run) runs.set(run[1] as string, [...(runs.get(run[1] as string) ?? []), run[2] as string]);
    else if (fix.startsWith('securityContext: ')) context.push(fix.slice('securityContext: '.length));
    else if (rest.includes(fix)) continue;
    else rest.push(fix);
  }
  const merged = [...[...runs].map(([cmd, flags]) => `${cmd} ${flags.join(' ')} ...`), ...rest];
  if (context.length > 0) merged.unshift(`in the container's securityContext: ${context.join(', ')}`);
  return `${merged.join('; ')} (docs/deploy.md)`;
}

const ENTRYPOINT = 'bin/pybox-container-init';
const CAP_SYS_PTRACE = 19n;

/** Why pybox has no cgroups here in terms of where it runs, or null to keep the generic advice. */
export function cgroupFinding(d: Deployment, c: Confinement, isRoot: boolean): Finding | null {
  const cg = c.cgroup;
  if (!isContainer(d) || cg.version === null) return null;
  const run = RUNTIME[d.kind];
  if (cg.outsideMount || (cg.readOnly && isRoot)) {
    const how = `start pybox through ${ENTRYPOINT}, which remounts the container's cgroup read-write and drops CAP_SYS_ADMIN before pybox starts`;
    return {
      detail: cg.outsideMount
        ? `the container shares the host's cgroup namespace (${cg.mountPoint} shows the container's cgroup, not ${cg.ownPath})`
        : `the runtime mounted the cgroup hierarchy read-only (${cg.mountPoint})`,
      fix: run
        ? `${run} --cgroupns=private --cap-add SYS_ADMIN --security-opt apparmor=unconfined; ${how}`
        : d.kind === 'kubernetes'
          ? `securityContext: {capabilities: {add: [SYS_ADMIN]}}; ${how}`
          : how,
    };
  }
  if (cg.namespaceRoot) {
    return {
      detail: "pybox runs in the root of the container's cgroup namespace, which holds processes (cgroup v2 then enables no controller for children)",
      fix: `start pybox through ${ENTRYPOINT}, which moves the container's processes into a leaf and sets PYBOX_CGROUP_ROOT`,
    };
  }
  if (!cg.ownedByUs) {
    return {
      detail: `the container's cgroup ${cg.ownPath} is not delegated to it${d.rootless ? ' (a rootless container)' : ''}`,
      fix: d.rootless
        ? 'rootless containers get a cgroup of their own only on cgroup v2 with systemd as the cgroup manager and a user session (loginctl enable-linger USER); elsewhere pybox uses rlimits'
        : 'run the container as root (its cgroup then belongs to root in it)',
    };
  }
  return null;
}

/**
 * The zygote's supervisor opens the pipes of the zygote's host process through /proc/<pid>/fd;
 * that process runs as a jail uid inside its own user namespace, so root needs CAP_SYS_PTRACE
 * for it, which container runtimes drop.
 */
export function zygoteFinding(d: Deployment, c: Confinement, isRoot: boolean): Finding | null {
  if (!isContainer(d) || !isRoot || c.capEffective === null || (c.capEffective >> CAP_SYS_PTRACE) & 1n) return null;
  const run = RUNTIME[d.kind];
  return {
    detail: "root here lacks CAP_SYS_PTRACE, which it needs to open the zygote's pipes (/proc/<pid>/fd of a jail uid)",
    fix: run ? `${run} --cap-add SYS_PTRACE` : d.kind === 'kubernetes' ? 'securityContext: {capabilities: {add: [SYS_PTRACE]}}' : 'give the container CAP_SYS_PTRACE',
  };
}
