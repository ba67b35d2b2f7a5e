/**
 * An interrupt that reaches the guest as its cell ends (after the cell's code, before the
 * host has read its end) belongs to that cell: the next cell must never get it.
 */
import { describe, expect, it } from 'vitest';
import { PATHS, sandboxesForBlock } from './helpers/sandboxes.js';
import type { Session } from '../src/index.js';

const ROUNDS = 60;
const C_THREAD = [
  'import ctypes',
  'libc = ctypes.CDLL(None)',
  'tid = ctypes.c_ulong()',
  'assert libc.pthread_create(ctypes.byref(tid), None, libc.sleep, ctypes.c_void_p(600)) == 0',
  'n = 0',
].join('\n');

describe.each(PATHS)('a late interrupt, path %s', (path) => {
  const { sandbox } = sandboxesForBlock({ sandbox: { mode: path, limits: { timeoutMs: 10_000, cpuMs: 5000, memoryMiB: 128 } } });

  /** Rounds of a cell whose end is interrupted, each followed by `n += 1`: what each of those ended as. */
  async function lateInterrupts(s: Session): Promise<string[]> {
    const next: string[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      // The cell's last print reaches the host as the cell ends: the interrupt is sent then.
      const ending = await s.run('print("end")', { onStdout: () => void s.interrupt() });
      next.push(`${ending.status} ${ending.error?.type ?? ''}`.trim());
      const r = await s.run('n += 1');
      next.push(r.status === 'ok' ? 'ok' : `${r.status} ${r.error?.type}`);
    }
    return next;
  }

  async function interruptStillReaches(s: Session): Promise<void> {
    await s.run('print("end")', { onStdout: () => void s.interrupt() });
    const spinning = s.run('while True: pass');
    await s.interrupt();
    expect((await spinning).status).toBe('interrupted');
  }

  it.each([
    ['alone', 'n = 0'],
    // A thread the program left running must not take the SIGINT meant to stay pending.
    ['with a thread running', 'import threading, time\nthreading.Thread(target=time.sleep, args=(600,), daemon=True).start()\nn = 0'],
  ])('sent as the cell ends, never interrupts the next cell (%s)', async (_, setup) => {
    const s = await sandbox.openSession();
    expect((await s.run(setup)).status).toBe('ok');
    const statuses = await lateInterrupts(s);
    expect(statuses.filter((status, i) => status !== 'ok' && !(i % 2 === 0 && status.startsWith('interrupted')))).toEqual([]);
    expect((await s.run('n')).value?.text).toBe(String(ROUNDS));
    await interruptStillReaches(s);
    await s.close();
  });

  it('with a thread started in C (SIGINT unblocked in it), a late interrupt never ends the session', async () => {
    // The kernel may give the SIGINT to that thread; Python then runs its handler in the main
    // thread, between cells. (Through ctypes, which the default policy refuses.) A handler
    // that thread runs late enough can still land as a KeyboardInterrupt in a later cell.
    const s = await sandbox.openSession({ policy: 'off' });
    expect((await s.run(C_THREAD)).status).toBe('ok');
    const statuses = await lateInterrupts(s);
    expect(statuses.filter((status) => status !== 'ok' && !status.endsWith('KeyboardInterrupt'))).toEqual([]);
    expect(s.alive).toBe(true);
    await interruptStillReaches(s);
    await s.close();
  });
});
