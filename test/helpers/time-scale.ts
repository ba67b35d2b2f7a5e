import { DEFAULT_LIMITS } from '../../src/core/limits.js';

/**
 * How many times slower than an ordinary host this machine runs jails: 1 unless
 * PYBOX_TEST_TIME_SCALE says otherwise (about 40 under QEMU's software emulation, where
 * Python's start-up alone takes seconds). Time limits given to runs and test timeouts are
 * multiplied by it; no other number a test checks changes.
 */
function readScale(): number {
  const raw = process.env.PYBOX_TEST_TIME_SCALE;
  if (raw === undefined || raw === '') return 1;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 1) throw new Error(`PYBOX_TEST_TIME_SCALE must be a number >= 1, not ${JSON.stringify(raw)}`);
  return value;
}

export const TIME_SCALE = readScale();

/** A time limit or timeout in ms, scaled to this machine. */
export const scaled = (ms: number): number => Math.ceil(ms * TIME_SCALE);

/** The default time limits (wall clock and CPU), scaled: for Sandboxes whose runs keep the defaults. */
export const scaledTimeLimits = (): { timeoutMs: number; cpuMs: number } => ({ timeoutMs: scaled(DEFAULT_LIMITS.timeoutMs), cpuMs: scaled(DEFAULT_LIMITS.cpuMs) });
