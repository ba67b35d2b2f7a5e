/**
 * Bench section for rich output: a figure's capture (a line plot, returned as an
 * image/png output) in a warm sandbox vs `savefig` of the same figure in a bare python3
 * that imported everything, in turns (one of each per round). Only the figure's part is
 * timed, inside each program: in pybox plt.show(), the path a figure left open at the end
 * takes too (drawn, encoded, sent to the host as a display frame); in bare python3 its
 * savefig to memory. Both first draw one small figure, as warm_figures does in a zygote
 * that preloads matplotlib: renderer and fonts are loaded in both before the clock starts.
 * Runs alone as `node dist/bench/figure.js [--quick]`.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Sandbox } from '../src/sandbox/index.js';
import { percentiles, type Percentiles } from './serve.js';

const PYTHON = '/usr/bin/python3';
const PNG_BASE64 = 'iVBORw0KGgo';

const program = (timed: string) =>
  [
    'import io, time',
    'import matplotlib.pyplot as plt',
    'w = plt.figure(figsize=(1, 1)); w.gca().plot([0, 1]); w.gca().set_title("x"); w.savefig(io.BytesIO(), format="png"); plt.close(w)',
    'fig = plt.figure()',
    'plt.plot(range(1000), [(i * i) % 97 for i in range(1000)], label="line")',
    'plt.title("a line plot"); plt.legend()',
    't = time.perf_counter()',
    timed,
    'print((time.perf_counter() - t) * 1000)',
  ].join('\n');

/** In pybox: the capture of every open figure, as at the end of a run. */
export const CAPTURE_PROGRAM = program('plt.show()');
/** In bare python3: the same figure, saved to memory. */
export const SAVEFIG_PROGRAM = program('fig.savefig(io.BytesIO(), format="png")');

export interface FigureBench {
  captureMs: Percentiles;
  savefigMs: Percentiles;
  /** Median of the per-round ratios (capture / savefig). */
  ratio: number;
  /** Ratio of the medians. */
  ratioOfMedians: number;
  pngBytes: number;
  target: number;
}

function bareSavefig(configDir: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const env = { MPLBACKEND: 'Agg', MPLCONFIGDIR: configDir, MATPLOTLIBRC: '/usr/share/matplotlib/mpl-data', OPENBLAS_NUM_THREADS: '1', LANG: 'C.UTF-8' };
    const child = spawn(PYTHON, ['-I', '-c', SAVEFIG_PROGRAM], { stdio: ['ignore', 'pipe', 'pipe'], env });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.on('close', (code) => (code === 0 ? resolve(Number(out.trim())) : reject(new Error(`bare savefig failed: ${err}`))));
  });
}

/** Whether this host has matplotlib for /usr/bin/python3 (Debian's python3-matplotlib). */
export async function hasMatplotlib(): Promise<boolean> {
  return new Promise((resolve) => {
    const child = spawn(PYTHON, ['-I', '-c', 'import matplotlib'], { stdio: 'ignore' });
    child.on('close', (code) => resolve(code === 0));
    child.on('error', () => resolve(false));
  });
}

export async function benchFigure(rounds: number): Promise<FigureBench | null> {
  if (!(await hasMatplotlib())) return null;
  const configDir = mkdtempSync(join(tmpdir(), 'pybox-bench-mpl-'));
  const sandbox = await Sandbox.create({ mode: 'auto', pool: { size: 1, max: 2 }, limits: { timeoutMs: 60_000, cpuMs: 30_000, memoryMiB: 512 } });
  const capture: number[] = [];
  const savefig: number[] = [];
  const ratios: number[] = [];
  let pngBytes = 0;
  try {
    const boxed = async (): Promise<number> => {
      const r = await sandbox.run(CAPTURE_PROGRAM);
      const png = r.outputs[0]?.data['image/png'];
      if (r.status !== 'ok' || r.outputs.length !== 1 || !png?.startsWith(PNG_BASE64)) throw new Error(`the capture run failed: ${r.status} ${r.stderr}`);
      pngBytes = Buffer.from(png, 'base64').length;
      return Number(r.stdout.trim());
    };
    await boxed();
    await bareSavefig(configDir);
    for (let i = 0; i < rounds; i++) {
      const a = await boxed();
      const b = await bareSavefig(configDir);
      capture.push(a);
      savefig.push(b);
      ratios.push(a / b);
    }
  } finally {
    await sandbox.close();
    rmSync(configDir, { recursive: true, force: true });
  }
  const c = percentiles(capture);
  const s = percentiles(savefig);
  const r3 = (x: number) => Math.round(x * 1000) / 1000;
  return { captureMs: c, savefigMs: s, ratio: r3(percentiles(ratios).p50), ratioOfMedians: r3(c.p50 / s.p50), pngBytes, target: 1.2 };
}

/** The bench table's rows for it. */
export function figureRows(f: FigureBench | null): string[] {
  if (!f) return ['| figure capture vs savefig | n/a (no matplotlib for /usr/bin/python3) | | | ≤ 1.2 | n/a |'];
  const met = f.ratio <= f.target ? 'met' : 'MISSED';
  return [
    `| figure capture (plt.show() of a 640×480 line plot, ${Math.round(f.pngBytes / 1024)} KiB PNG, to the host) vs savefig to memory in bare python3, ms p50 / p99 (ratio: median of ${f.captureMs.n} rounds in turns) | ${f.captureMs.p50} / ${f.captureMs.p99} | ${f.savefigMs.p50} / ${f.savefigMs.p99} | ${f.ratio} | ≤ ${f.target} | ${met} |`,
  ];
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const f = await benchFigure(process.argv.includes('--quick') ? 6 : 20);
  console.log(JSON.stringify(f, null, 2));
  console.log(figureRows(f).join('\n'));
}
