/**
 * Host-wide kernel pools a run could drain (SECURITY.md, "Kernel pools"), sampled on the
 * host while an attack runs: the attack's own report could lie, the host's counters cannot.
 */
import { readFileSync } from 'node:fs';
import { PTYS_PER_RUN } from '../backends/native/index.js';

interface HostPool {
  name: string;
  path: string;
  /** How far the counter may rise during one run (alone on the host) before it is evidence. */
  allowed: number;
  what: string;
}

export const HOST_POOLS: readonly HostPool[] = [
  // No run may hold an AIO context; the slack is for the host's own processes meanwhile.
  { name: 'fs.aio-nr', path: '/proc/sys/fs/aio-nr', allowed: 1024, what: 'AIO events of the whole host (aio-max-nr)' },
  { name: 'kernel.pty.nr', path: '/proc/sys/kernel/pty/nr', allowed: PTYS_PER_RUN, what: 'ptys of the whole host (pty.max)' },
];

const SAMPLE_MS = 5;

function read(path: string): number | null {
  try {
    return Number(readFileSync(path, 'utf8').trim());
  } catch {
    return null;
  }
}

/** Starts sampling; `stop()` returns the evidence: each pool that rose past its allowance. */
export function watchHostPools(pools: readonly HostPool[] = HOST_POOLS): { stop(): string[] } {
  const base = pools.map((p) => read(p.path));
  const peak = [...base];
  const sample = () =>
    pools.forEach((p, i) => {
      const v = read(p.path);
      if (v !== null && v > (peak[i] ?? -1)) peak[i] = v;
    });
  const timer = setInterval(sample, SAMPLE_MS);
  return {
    stop(): string[] {
      clearInterval(timer);
      sample();
      return pools.flatMap((p, i) => {
        const from = base[i];
        const to = peak[i];
        if (from === null || from === undefined || to === null || to === undefined || to - from <= p.allowed) return [];
        return [`the host's ${p.name} rose from ${from} to ${to} during the run (${p.what}; a run may take ${p.allowed})`];
      });
    },
  };
}
