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
  /** A rootless container (Podman says so in /run/.containerenv). */
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

export function detectDeployment(env: NodeJS.ProcessEnv = process.env): Deployment {
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
  if (evidence.length > 0) return { kind: 'podman', rootless: /^rootless=1$/m.test(containerenv ?? ''), evidence };

  if (existsSync('/.dockerenv')) evidence.push('/.dockerenv exists');
  if (/\/docker[/-]/.test(cgroups)) evidence.push('the cgroup path names docker');
  if (evidence.length > 0) return { kind: 'docker', rootless: false, evidence };

  if (containerVar) return { kind: 'container', rootless: false, evidence: [`container=${containerVar}`] };
  if (env.GITHUB_ACTIONS === 'true') return { kind: 'github-actions', rootless: false, evidence: ['GITHUB_ACTIONS=true'] };
  return { kind: 'host', rootless: false, evidence: [] };
}
