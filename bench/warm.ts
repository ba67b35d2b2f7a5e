/**
 * The warm path alone, for A/B work on it: `node dist/bench/warm.js [--rounds N] [--block N]`.
 * Takes bare `python3 -I -S -c` spawns and warm runs (mode auto, the bench's pool options)
 * in alternating blocks, back to back, then warm runs 10 ms apart, and prints one JSON line
 * (p50/p99 in ms and the ratios to bare p50). Blocks alternate so both see the same moments
 * of a machine whose background load moves over seconds. Compare two builds by running
 * their copies of this script in turns (see docs/performance.md).
 */
import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { Sandbox } from '../src/index.js';

const args = process.argv.slice(2);
const opt = (name: string, fallback: number) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const ROUNDS = opt('--rounds', 10);
const BLOCK = opt('--block', 30);
const HELLO = 'print("hello")';

const quantile = (s: number[], p: number) => {
  const sorted = [...s].sort((a, b) => a - b);
  return Math.round((sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? 0) * 1000) / 1000;
};

function bare(): Promise<boolean> {
  return new Promise((resolve) => {
    const child = spawn('/usr/bin/python3', ['-I', '-S', '-c', HELLO], { stdio: ['ignore', 'pipe', 'pipe'], env: {} });
    child.stdout.resume();
    child.stderr.resume();
    child.on('close', (code) => resolve(code === 0));
  });
}

async function timed(fn: () => Promise<boolean>, out: number[]): Promise<void> {
  const t = performance.now();
  if (!(await fn())) throw new Error('a run failed');
  out.push(performance.now() - t);
}

async function main(): Promise<void> {
  const box = await Sandbox.create({ mode: 'auto', pool: { size: 2, max: 8 } });
  const warm = async () => (await box.run(HELLO)).status === 'ok';
  await new Promise((r) => setTimeout(r, 500));
  for (let i = 0; i < 10; i++) await warm();
  const bareMs: number[] = [];
  const backToBack: number[] = [];
  const spaced: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    for (let i = 0; i < BLOCK; i++) await timed(bare, bareMs);
    for (let i = 0; i < BLOCK; i++) await timed(warm, backToBack);
    for (let i = 0; i < BLOCK / 3; i++) {
      await new Promise((res) => setTimeout(res, 10));
      await timed(warm, spaced);
    }
  }
  const b50 = quantile(bareMs, 0.5);
  const summary = {
    path: box.mode.active,
    bare: { p50: b50, p99: quantile(bareMs, 0.99) },
    backToBack: { p50: quantile(backToBack, 0.5), p99: quantile(backToBack, 0.99), n: backToBack.length },
    spaced: { p50: quantile(spaced, 0.5), p99: quantile(spaced, 0.99), n: spaced.length },
    ratios: {
      p50: Math.round((quantile(backToBack, 0.5) / b50) * 1000) / 1000,
      p99: Math.round((quantile(backToBack, 0.99) / b50) * 1000) / 1000,
      spacedP50: Math.round((quantile(spaced, 0.5) / b50) * 1000) / 1000,
    },
    pathCounts: box.pathCounts,
  };
  await box.close();
  process.stdout.write(JSON.stringify(summary) + '\n');
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
