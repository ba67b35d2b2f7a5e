// Run inside the VM: how the paths compare on this host kind. Under emulation absolute times mean
// nothing, ratios between paths do. One sandbox per path, runs of `print("hello")` taken in turns
// (cold, pool, zygote, cold, ...) so that load on the machine falls on all three alike, each
// timed by the caller from run() to its result. Prints one JSON line: medians (ms) and ratios.
import { performance } from 'node:perf_hooks';
import { Sandbox } from '../../dist/src/index.js';

const SLOW = 40;
const ROUNDS = Number(process.argv[2] ?? 10);
const WARMUP = 2;
const MODES = ['cold', 'pool', 'zygote'];
const limits = { timeoutMs: 10_000 * SLOW, cpuMs: 5_000 * SLOW };

const sandboxes = {};
for (const mode of MODES) sandboxes[mode] = await Sandbox.create({ mode, limits });
const times = Object.fromEntries(MODES.map((m) => [m, []]));
try {
  for (let round = 0; round < WARMUP + ROUNDS; round++) {
    for (const mode of MODES) {
      const t0 = performance.now();
      const r = await sandboxes[mode].run('print("hello")');
      const ms = performance.now() - t0;
      if (r.status !== 'ok') throw new Error(`${mode}: ${r.status} ${r.stderr}`);
      if (round >= WARMUP) times[mode].push(ms);
    }
  }
} finally {
  for (const mode of MODES) await sandboxes[mode].close();
}
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};
const med = Object.fromEntries(MODES.map((m) => [m, Math.round(median(times[m]))]));
const ratio = (a, b) => Math.round((med[a] / med[b]) * 10) / 10;
process.stdout.write(`${JSON.stringify({ name: 'path-speed', rounds: ROUNDS, medianMs: med, coldOverZygote: ratio('cold', 'zygote'), poolOverZygote: ratio('pool', 'zygote'), coldOverPool: ratio('cold', 'pool') })}\n`);
