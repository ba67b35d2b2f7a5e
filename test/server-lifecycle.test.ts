/**
 * `pybox serve` as a process: refusing an address it must not listen on, draining on
 * SIGTERM (a run in flight finishes, exit 0), and a restart after SIGKILL that leaves
 * nothing of the killed server's jails on the host.
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { liveProcesses } from './helpers/host-state.js';
import { post, ROOT, spawnServer, type SpawnedServer } from './helpers/server.js';
import { scaled } from './helpers/time-scale.js';

const isRoot = process.getuid?.() === 0;

function pybox(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('node', ['bin/pybox', ...args], { cwd: ROOT, encoding: 'utf8' }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout, stderr });
    });
  });
}

/** The runs in flight, as the server's own metrics say. */
async function inFlight(server: SpawnedServer): Promise<number> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  return Number(/^pybox_runs_in_flight (\d+)$/m.exec(text)?.[1]);
}

/** Everything on the host that belongs to the jails of supervisor `pid`: its cgroup directories and the processes in them. */
function remainsOf(pid: number): string[] {
  const found: string[] = [];
  const mark = `pybox-${pid}`;
  for (const hierarchy of readdirSync('/sys/fs/cgroup')) {
    const walk = (dir: string, depth: number): void => {
      let entries;
      try {
        entries = readdirSync(dir, { withFileTypes: true });
      } catch {
        return;
      }
      for (const e of entries) {
        if (!e.isDirectory()) continue;
        if (e.name === mark) found.push(`cgroup ${join(dir, e.name)}`);
        else if (depth < 3) walk(join(dir, e.name), depth + 1);
      }
    };
    walk(join('/sys/fs/cgroup', hierarchy), 0);
  }
  for (const p of liveProcesses((p) => {
    try {
      return readFileSync(`/proc/${p.pid}/cgroup`, 'utf8').includes(`/${mark}/`);
    } catch {
      return false;
    }
  })) {
    found.push(`process ${p.pid}: ${p.cmdline.slice(0, 80)}`);
  }
  return found;
}

describe('pybox serve as a process', () => {
  it('refuses a non-loopback address without keys, and a missing keys file: exit 2, one line', async () => {
    const open = await pybox(['serve', '--host', '0.0.0.0', '--port', '0']);
    expect(open.code).toBe(2);
    expect(open.stderr).toMatch(/^pybox: refusing to listen on 0\.0\.0\.0 without --api-keys[^\n]*\n$/);
    const missing = await pybox(['serve', '--port', '0', '--api-keys', join(ROOT, 'no-such-keys-file')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/^pybox: cannot read the API keys file [^\n]*ENOENT\n$/);
    const bad = await pybox(['serve', '--port', 'eighty']);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trimEnd().split('\n')).toHaveLength(1);
  });

  it('refuses a bad --session-idle-timeout or --session-max-lifetime: exit 2, one line', async () => {
    const word = await pybox(['serve', '--port', '0', '--session-idle-timeout', 'abc']);
    expect([word.code, word.stderr]).toEqual([2, 'pybox: --session-idle-timeout expects a whole number of milliseconds, got "abc"\n']);
    const zero = await pybox(['serve', '--port', '0', '--session-max-lifetime', '0']);
    expect([zero.code, zero.stderr]).toEqual([2, 'pybox: --session-max-lifetime must be between 100 and 604800000 milliseconds, got 0\n']);
  });

  it('--session-idle-timeout ends a /v1/sessions session left alone; --session-max-lifetime one whose cell runs on', async () => {
    const open = async (server: SpawnedServer) => ((await post(`${server.url}/v1/sessions`, {})).body as { id: string }).id;
    const alive = async (server: SpawnedServer, id: string) => ((await (await fetch(`${server.url}/v1/sessions/${id}`)).json()) as { alive: boolean }).alive;
    // Each flag alone (the other at its default of 10 min or 1 h), so only it can have ended the session.
    const idleServer = await spawnServer(['--session-idle-timeout', String(scaled(1500))]);
    const lifetimeServer = await spawnServer(['--timeout', String(scaled(60_000)), '--session-max-lifetime', String(scaled(1500))]);
    try {
      const idle = await open(idleServer);
      const busy = await open(lifetimeServer);
      const cell = await post(`${lifetimeServer.url}/v1/sessions/${busy}/run`, { code: 'import time; time.sleep(600)' });
      expect(cell.body).toMatchObject({ status: 'timeout' });
      expect(await alive(lifetimeServer, busy)).toBe(false);
      await expect.poll(() => alive(idleServer, idle), { timeout: scaled(20_000), interval: 50 }).toBe(false);
      const late = await post(`${idleServer.url}/v1/sessions/${idle}/run`, { code: '1' });
      expect([late.status, (late.body as { error: { code: string } }).error.code]).toEqual([409, 'E_SESSION_ENDED']);
    } finally {
      for (const server of [idleServer, lifetimeServer]) server.child.kill('SIGTERM');
      await Promise.all([idleServer.exited, lifetimeServer.exited]);
    }
  });

  it.runIf(isRoot)('SIGTERM drains: the run and the session cell in flight finish, new requests are refused, sessions end, exit 0, nothing left (needs root for cgroups)', async () => {
    const server = await spawnServer();
    const pid = server.child.pid as number;
    const idle = await post(`${server.url}/v1/sessions`, {});
    const busy = await post(`${server.url}/v1/sessions`, {});
    expect([idle.status, busy.status]).toEqual([201, 201]);
    const cell = post(`${server.url}/v1/sessions/${(busy.body as { id: string }).id}/run`, { code: 'import time; time.sleep(1); "cell done"' });
    const running = post(`${server.url}/v1/run`, { code: 'import time; time.sleep(1); print("finished")' });
    await expect.poll(() => inFlight(server)).toBe(1);
    await expect.poll(async () => /^pybox_cells_in_flight 1$/m.test(await (await fetch(`${server.url}/metrics`)).text())).toBe(true);
    server.child.kill('SIGTERM');
    // The signal is handled asynchronously: a request sent before the drain began is served.
    await server.logged('draining');
    const late = await post(`${server.url}/v1/run`, { code: 'print(1)' }).catch(() => null);
    if (late) expect([late.status, late.body]).toEqual([503, { error: { code: 'E_SHUTTING_DOWN', message: expect.any(String) } }]);
    const done = await running;
    expect(done.status).toBe(200);
    expect(done.body).toMatchObject({ status: 'ok', stdout: 'finished\n' });
    expect((await cell).body).toMatchObject({ status: 'ok', value: { text: "'cell done'" } });
    const exit = await server.exited;
    expect([exit.code, exit.signal, exit.stderr]).toEqual([0, null, '']);
    expect(remainsOf(pid)).toEqual([]);
  });

  it.runIf(isRoot)('after SIGKILL mid-run, starting again leaves no jail of the killed server behind (needs root for cgroups)', async () => {
    const first = await spawnServer();
    const pid = first.child.pid as number;
    const hanging = post(`${first.url}/v1/run`, { code: 'import time; time.sleep(60)' }).catch(() => null);
    await expect.poll(() => inFlight(first)).toBe(1);
    first.child.kill('SIGKILL');
    await first.exited;
    expect(await hanging).toBeNull(); // the connection died with the server
    const second = await spawnServer();
    try {
      expect((await post(`${second.url}/v1/run`, { code: 'print("again")' })).body).toMatchObject({ status: 'ok', stdout: 'again\n' });
      await expect.poll(() => remainsOf(pid), { timeout: 5000 }).toEqual([]);
      expect(existsSync(`/proc/${pid}`)).toBe(false);
    } finally {
      second.child.kill('SIGTERM');
      expect((await second.exited).code).toBe(0);
    }
  });
});
