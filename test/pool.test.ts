/**
 * The warm pool and the run-path choice: warm jails are used once and replaced off the
 * request path, an empty pool or an unusual run goes cold (never fails), options are
 * validated, idle jails are trimmed, and close() lets started runs finish and leaves nothing behind.
 * The zygote's own behaviour is in zygote.test.ts; isolation between runs in isolation.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { Sandbox } from '../src/index.js';
import { idleWarmJails } from '../src/backends/native/pool/inventory.js';
import { describeRunPaths } from '../src/sandbox/describe-paths.js';
import { allOurJails, expectNoRunLeftovers } from './helpers/leftovers.js';
import { sandboxesClosedAfterEach } from './helpers/sandboxes.js';
import { samplesOver, until } from './helpers/wait.js';
import { jailOfRun } from './helpers/which-jail.js';

const { make } = sandboxesClosedAfterEach();

describe('the warm pool (mode pool)', () => {
  it('keeps `size` jails ready, uses each once and replaces it', async () => {
    const sb = await make({ mode: 'pool', pool: { size: 2 } });
    await until(() => sb.mode.warmJails === 2, { what: 'two warm jails' });
    expect(sb.mode.warmJails).toBe(2);
    const before = new Set(idleWarmJails().pids);
    const used = await jailOfRun(sb);
    expect(before.has(used)).toBe(true); // the run went through a jail that was warm before it
    expect(sb.pathCounts).toEqual({ cold: 0, pool: 1, zygote: 0 });
    await until(() => sb.mode.warmJails === 2, { what: 'two warm jails' });
    const after = new Set(idleWarmJails().pids);
    // the jail that ran is gone; a new one took its place
    expect(after.has(used)).toBe(false);
    expect([...before].filter((p) => !after.has(p)).length).toBeGreaterThan(0);
    expect([...after].filter((p) => !before.has(p)).length).toBeGreaterThan(0);
    expect(await expectNoRunLeftovers()).toEqual([]);
  });

  it('an empty pool, or a run the warm jails do not fit, goes cold and still succeeds', async () => {
    const sb = await make({ mode: 'pool', pool: { size: 1, max: 1 } });
    await until(() => sb.mode.warmJails === 1, { what: 'one warm jail' });
    const results = await Promise.all([sb.run('print(1)'), sb.run('print(2)'), sb.run('print(3)')]);
    expect(results.map((r) => r.stdout)).toEqual(['1\n', '2\n', '3\n']);
    expect(sb.pathCounts.pool + sb.pathCounts.cold).toBe(3);
    expect(sb.pathCounts.cold).toBeGreaterThanOrEqual(2);
    const odd = await sb.run('print(2)', { limits: { workspaceMiB: 7 } });
    expect(odd.status).toBe('ok');
    expect(sb.pathCounts.cold).toBeGreaterThanOrEqual(3);
  });

  it('trims idle jails down to min', async () => {
    const sb = await make({ mode: 'pool', pool: { size: 3, min: 1, idleMs: 200 } });
    let most = 0;
    await until(() => {
      most = Math.max(most, sb.mode.warmJails);
      return most >= 2 && sb.mode.warmJails === 1;
    }, { timeoutMs: 6000, what: 'a fill above min, then a trim to it' });
    expect(most).toBeGreaterThanOrEqual(2);
    expect(sb.mode.warmJails).toBe(1);
    // and it stays at min while idle, all along: several idle periods, no refill, no trim below
    const counts = await samplesOver(1200, () => sb.mode.warmJails);
    expect(counts).toEqual(counts.map(() => 1));
  });
});

describe('close()', () => {
  it.each(['zygote', 'pool', 'cold'] as const)('with runs in flight (%s): they finish, later runs are refused, nothing is left', async (mode) => {
    const sb = await make({ mode, pool: { size: 1, max: 2 } });
    // More runs than warm jails: some are still waiting for one when close() is called.
    const runs = Array.from({ length: 5 }, (_, i) => sb.run(`import time; time.sleep(0.0${i}); print(${i})`));
    await sb.close();
    const results = await Promise.all(runs);
    expect(results.map((r) => [r.status, r.stdout])).toEqual([0, 1, 2, 3, 4].map((i) => ['ok', `${i}\n`]));
    await expect(sb.run('print(1)')).rejects.toMatchObject({ code: 'E_SANDBOX_CLOSED' });
    expect(await expectNoRunLeftovers()).toEqual([]);
    expect(allOurJails()).toEqual([]);
  });
});

describe('options', () => {
  it('validates mode and pool', async () => {
    const code = async (o: unknown) => {
      try {
        await Sandbox.create(o as Parameters<typeof Sandbox.create>[0]);
        return 'created';
      } catch (e) {
        return (e as { code?: string }).code;
      }
    };
    expect(await code({ mode: 'warp' })).toBe('E_OPTIONS_INVALID');
    expect(await code({ pool: { size: -1 } })).toBe('E_OPTIONS_INVALID');
    expect(await code({ pool: { sizes: 1 } })).toBe('E_OPTIONS_INVALID');
    expect(await code({ cgroupRoot: 'sys/fs/cgroup/x' })).toBe('E_OPTIONS_INVALID');
    expect(await code({ cgroupRoot: '/sys/fs/cgroup/../x' })).toBe('E_OPTIONS_INVALID');
  });

  it('describeRunPaths reports every path and what auto uses', async () => {
    const report = await describeRunPaths();
    expect(report.paths.map((p) => p.path)).toEqual(['cold', 'pool', 'zygote']);
    expect(report.paths.every((p) => p.available)).toBe(true);
    expect(report.auto).toBe('zygote');
  });
});

