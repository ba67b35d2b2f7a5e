/**
 * A bwrap the host can run but the jail's uid cannot (as in rootless Podman, where spawning
 * the jail failed with EACCES): Node reports the failed spawn with 'error' and never with
 * 'exit'. The run must end as internal_error saying why, on every path, not wait forever.
 */
import { copyFileSync, chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { findBwrap } from '../src/backends/native/index.js';
import type { HostFacts } from '../src/host/probe.js';
import { sandboxesClosedAfterEach } from './helpers/sandboxes.js';

// No /bin/sh: cold and pooled jails then spawn bwrap directly (as on hosts where a jail
// cannot move itself into its cgroup), not a shell that would report the failed exec.
vi.mock('../src/host/probe.js', async (original) => {
  const probe = await original<typeof import('../src/host/probe.js')>();
  return { ...probe, probeHost: (...args: Parameters<typeof probe.probeHost>): HostFacts => ({ ...probe.probeHost(...args), shell: null }) };
});

const isRoot = process.getuid?.() === 0;
const dir = mkdtempSync(join(tmpdir(), 'pybox-unspawnable-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// Only as root: jails then run as uids of pybox's own range, which a 0700 bwrap refuses
// (unprivileged, the jail runs as the supervisor's uid, which can run what it can probe).
describe.runIf(isRoot)('bwrap that cannot be spawned for a jail', () => {
  const { make } = sandboxesClosedAfterEach();
  const installed = findBwrap();
  const bwrap = join(dir, 'bwrap');
  if (installed) {
    copyFileSync(installed, bwrap);
    chmodSync(bwrap, 0o700);
  }
  process.env.PYBOX_BWRAP = bwrap;

  it('PYBOX_BWRAP chooses the bwrap', () => {
    expect(findBwrap()).toBe(bwrap);
  });

  for (const mode of ['cold', 'pool'] as const) {
    it(`path ${mode}: the run ends as internal_error naming the failed start`, async () => {
      const sb = await make({ mode, pool: { size: 1, max: 1 } });
      const r = await sb.run('print(1)');
      expect(r.status).toBe('internal_error');
      expect(r.stdout).toBe('');
      expect(r.stderr).toContain(`bwrap (${bwrap}) could not be started: spawn ${bwrap} EACCES`);
    });
  }

  it('path zygote: the Sandbox is refused with the reason (no zygote can start)', async () => {
    await expect(make({ mode: 'zygote', pool: { size: 1, max: 1 } })).rejects.toMatchObject({
      code: 'E_JAIL_UNAVAILABLE',
      message: expect.stringContaining(`bwrap (${bwrap}) could not be started: spawn ${bwrap} EACCES`),
    });
  });

  it('mode auto: falls back from the zygote, and its runs end as internal_error', async () => {
    const sb = await make({ mode: 'auto', pool: { size: 1, max: 1 } });
    const r = await sb.run('print(1)');
    expect(r.status).toBe('internal_error');
    expect(r.stderr).toContain('could not be started');
  });
});
