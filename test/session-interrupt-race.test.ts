/**
 * An interrupt that reaches the guest as its cell ends (after the cell's code, before the
 * host has read its end) belongs to that cell: the next cell must never get it.
 */
import { describe, expect, it } from 'vitest';
import { PATHS, sandboxesForBlock } from './helpers/sandboxes.js';

const ROUNDS = 60;

describe.each(PATHS)('a late interrupt, path %s', (path) => {
  const { sandbox } = sandboxesForBlock({ sandbox: { mode: path, limits: { timeoutMs: 10_000, cpuMs: 5000, memoryMiB: 128 } } });

  it.each([
    ['alone', 'n = 0'],
    // A thread the program left running must not take the SIGINT meant to stay pending.
    ['with a thread running', 'import threading, time\nthreading.Thread(target=time.sleep, args=(600,), daemon=True).start()\nn = 0'],
  ])('sent as the cell ends, never interrupts the next cell (%s)', async (_, setup) => {
    const s = await sandbox.openSession();
    expect((await s.run(setup)).status).toBe('ok');
    const next: string[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      // The cell's last print reaches the host as the cell ends: the interrupt is sent then.
      const ending = await s.run('print("end")', { onStdout: () => void s.interrupt() });
      expect(['ok', 'interrupted']).toContain(ending.status);
      const r = await s.run('n += 1');
      next.push(r.status === 'ok' ? 'ok' : `${r.status} ${r.error?.type}`);
    }
    expect(next.filter((status) => status !== 'ok')).toEqual([]);
    expect((await s.run('n')).value?.text).toBe(String(ROUNDS));
    // An interrupt of the cell after such a one still reaches it.
    await s.run('print("end")', { onStdout: () => void s.interrupt() });
    const spinning = s.run('while True: pass');
    await s.interrupt();
    expect((await spinning).status).toBe('interrupted');
    await s.close();
  });
});
