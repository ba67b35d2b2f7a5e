import { describe, expect, it } from 'vitest';
import { cgroupFinding, joinFixes, usernsFindings } from '../src/cli/doctor-fixes.js';
import type { Confinement } from '../src/host/confinement.js';
import { detectDeployment, rootlessHostUid, type Deployment } from '../src/host/deployment.js';

/**
 * The fixes doctor prints for facts this machine cannot show (its kernel has no AppArmor, and
 * no GitHub runner or cluster is reachable): the facts go in as the kernel would report them.
 * test/deploy-container.test.ts checks the same code on facts read in real containers.
 */
const bare: Confinement = {
  seccompMode: 0,
  seccompFilters: 0,
  capEffective: 0x1ffffffffffn,
  apparmorProfile: 'unconfined',
  maxUserNamespaces: 15_000,
  unprivilegedUsernsClone: null,
  apparmorRestrictUserns: 0,
  procOvermounts: [],
  cgroup: { version: 2, mountPoint: '/sys/fs/cgroup', readOnly: false, ownPath: '/', namespaceRoot: false, outsideMount: false, ownedByUs: true },
};
const at = (kind: Deployment['kind']): Deployment => ({ kind, rootless: false, evidence: [] });
const fixFor = (kind: Deployment['kind'], c: Partial<Confinement>): string => joinFixes(usernsFindings(at(kind), { ...bare, ...c }).map((f) => f.fix));

describe('doctor fixes', () => {
  it("Ubuntu 24.04's AppArmor restriction: a workflow step on GitHub Actions, a sysctl on a host, on the host for a container", () => {
    const restricted = { apparmorRestrictUserns: 1 };
    expect(fixFor('github-actions', restricted)).toBe('a workflow step before pybox: sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0 (docs/deploy.md)');
    expect(fixFor('host', restricted)).toBe('sysctl -w kernel.apparmor_restrict_unprivileged_userns=0 (docs/deploy.md)');
    expect(fixFor('docker', restricted)).toMatch(/^on the host \(a container shares its kernel's setting\): sysctl -w kernel\.apparmor/);
    expect(fixFor('kubernetes', restricted)).toMatch(/^on the node /);
  });

  it("a runtime's AppArmor profile: the runtime's own flag, or the Pod's appArmorProfile", () => {
    const confined = { apparmorProfile: 'docker-default (enforce)' };
    expect(fixFor('docker', confined)).toBe('docker run --security-opt apparmor=unconfined ... (docs/deploy.md)');
    expect(fixFor('podman', confined)).toBe('podman run --security-opt apparmor=unconfined ... (docs/deploy.md)');
    expect(fixFor('kubernetes', confined)).toBe("in the container's securityContext: {appArmorProfile: {type: Unconfined}} (docs/deploy.md)");
    // On a host, AppArmor confines pybox only through a profile of its own: nothing to say then.
    expect(usernsFindings(at('host'), { ...bare, ...confined })).toEqual([]);
  });

  it('a cgroup v2 namespace root that holds processes: the entrypoint that moves them to a leaf', () => {
    const finding = cgroupFinding(at('kubernetes'), { ...bare, cgroup: { ...bare.cgroup, namespaceRoot: true } }, true);
    expect(finding?.fix).toMatch(/^start pybox through bin\/pybox-container-init, which moves the container's processes into a leaf and sets PYBOX_CGROUP_ROOT/);
  });
});

describe('rootless containers from the uid map', () => {
  it('root mapped to an ordinary host uid is rootless; the whole range from 0, or none, is not', () => {
    expect(rootlessHostUid('         0       1000          1\n         1     100000      65536\n')).toBe(1000);
    expect(rootlessHostUid('         0          0 4294967295\n')).toBeNull();
    expect(rootlessHostUid(null)).toBeNull();
  });

  it('a Podman container whose root is a host user is rootless, even without rootless=1', () => {
    const d = detectDeployment({}, '0 1000 1\n1 100000 65536');
    if (d.kind === 'podman') {
      expect(d.rootless).toBe(true);
      expect(d.evidence).toContain('root here is uid 1000 on the host (/proc/self/uid_map)');
    } else expect(d.rootless).toBe(false); // not in a Podman container: the map alone says nothing of the kind
  });
});
