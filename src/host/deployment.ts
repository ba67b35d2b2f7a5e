import { existsSync, readFileSync } from 'node:fs';

/**
 * Where pybox runs, as far as the runtime shows it: each kind has its own way to lift a
 * restriction (a `docker run` flag, a Pod's securityContext, a sysctl on a CI runner), so
 * doctor names the fix in that kind's terms. Signs, strongest first: Kubernetes puts its
 * service variables and service-account secret into every Pod, whatever runtime starts it;
 * Podman writes /run/.containerenv, Docker /.dockerenv; cgroup paths name them too.
 */
export type DeploymentKind = 'kubernetes' | 'podman' | 'docker' | 'container' | 'github-actions' | 'host';

export interface Deployment {
  kind: DeploymentKind;
  /** A rootless container (Podman says so in /run/.containerenv; the uid map shows it). */
  rootless: boolean;
  /** What gave it away, for the report. */
  evidence: string[];
}

function read(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

/** PID 1's `container=` variable (systemd's convention, set by Podman, LXC, nspawn); unreadable to most non-root users. */
function initContainerVar(): string | null {
  const environ = read('/proc/1/environ');
  return environ?.split('\0').find((e) => e.startsWith('container='))?.slice('container='.length) || null;
}

/**
 * The host uid our uid 0 is, when this process runs in a user namespace that maps root to
 * an ordinary user (a rootless container), from /proc/self/uid_map; else null.
 */
export function rootlessHostUid(uidMap: string | null): number | null {
  for (const line of (uidMap ?? '').trim().split('\n')) {
    const [inside, outside] = line.trim().split(/\s+/).map(Number);
    if (inside === 0 && outside !== undefined && outside > 0) return outside;
  }
  return null;
}

export function detectDeployment(env: NodeJS.ProcessEnv = process.env, uidMap: string | null = read('/proc/self/uid_map')): Deployment {
  const cgroups = `${read('/proc/self/cgroup') ?? ''}\n${read('/proc/1/cgroup') ?? ''}`;
  const containerVar = initContainerVar();
  const evidence: string[] = [];

  if (env.KUBERNETES_SERVICE_HOST) evidence.push('KUBERNETES_SERVICE_HOST is set');
  if (existsSync('/var/run/secrets/kubernetes.io/serviceaccount')) evidence.push('/var/run/secrets/kubernetes.io exists');
  if (/kubepods/.test(cgroups)) evidence.push('the cgroup path names kubepods');
  if (evidence.length > 0) return { kind: 'kubernetes', rootless: false, evidence };

  const containerenv = read('/run/.containerenv');
  if (containerenv !== null) evidence.push('/run/.containerenv exists');
  if (containerVar === 'podman') evidence.push('container=podman');
  if (/libpod/.test(cgroups)) evidence.push('the cgroup path names libpod');
  const hostUid = rootlessHostUid(uidMap);
  if (evidence.length > 0) {
    if (hostUid !== null) evidence.push(`root here is uid ${hostUid} on the host (/proc/self/uid_map)`);
    return { kind: 'podman', rootless: hostUid !== null || /^rootless=1$/m.test(containerenv ?? ''), evidence };
  }

  if (existsSync('/.dockerenv')) evidence.push('/.dockerenv exists');
  if (/\/docker[/-]/.test(cgroups)) evidence.push('the cgroup path names docker');
  if (evidence.length > 0) return { kind: 'docker', rootless: false, evidence };

  if (containerVar) return { kind: 'container', rootless: false, evidence: [`container=${containerVar}`] };
  if (env.GITHUB_ACTIONS === 'true') return { kind: 'github-actions', rootless: false, evidence: ['GITHUB_ACTIONS=true'] };
  return { kind: 'host', rootless: false, evidence: [] };
}
