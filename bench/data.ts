/**
 * Bench section for preloaded interpreters (Sandbox.create({ preload })): the data program
 * (import numpy, pandas and matplotlib.pyplot; a 1000-row DataFrame; its mean, printed) on
 * a warm preloaded Sandbox vs the same program in a bare /usr/bin/python3, in turns; and the
 * memory of an idle preloaded zygote child (PSS from /proc/<pid>/smaps_rollup).
 * Standalone: `node dist/bench/data.js [--quick]`.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Sandbox } from '../src/index.js';
import { idleWarmJails } from '../src/backends/native/pool/inventory.js';

const PYTHON = '/usr/bin/python3';
export const DATA_PRELOAD = ['numpy', 'pandas', 'matplotlib.pyplot'];
export const DATA_PROGRAM = 'import numpy as np, pandas as pd, matplotlib.pyplot as plt\ndf = pd.DataFrame({"x": np.arange(1000)})\nprint(df.x.mean())';
const MiB = 1024;

interface Percentiles {
  n: number;
  p50: number;
  p99: number;
}

function percentiles(samples: number[]): Percentiles {
  const s = [...samples].sort((a, b) => a - b);
  const q = (p: number) => Math.round((s[Math.min(s.length - 1, Math.floor(p * s.length))] ?? 0) * 1000) / 1000;
  return { n: s.length, p50: q(0.5), p99: q(0.99) };
}

/** The program in a bare python3 (site packages on, as the jail has them), matplotlib's cache kept between runs as a user's would be. */
function bare(code: string, mplDir: string): Promise<boolean> {
  return new Promise((resolve) => {
    const child = spawn(PYTHON, ['-I', '-c', code], { stdio: ['ignore', 'pipe', 'pipe'], env: { MPLBACKEND: 'Agg', MPLCONFIGDIR: mplDir, OPENBLAS_NUM_THREADS: '1' } });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.resume();
    child.on('close', (code) => resolve(code === 0 && out === '499.5\n'));
  });
}

/** KiB of one process's memory, from smaps_rollup. */
interface Memory {
  rss: number;
  pss: number;
  private: number;
  anonymous: number;
  pssAnon: number;
  pssFile: number;
}

function memoryOf(pid: number): Memory | null {
  try {
    const text = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
    const kib = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(text)?.[1] ?? 0);
    return { rss: kib('Rss'), pss: kib('Pss'), private: kib('Private_Clean') + kib('Private_Dirty'), anonymous: kib('Anonymous'), pssAnon: kib('Pss_Anon'), pssFile: kib('Pss_File') };
  } catch {
    return null;
  }
}

/** The idle zygotes (pid 1 of their namespace) and their children (R and G, a namespace below: pids 1 and 2 there), by pid. */
function zygoteProcesses(): { servers: number[]; children: number[]; reapers: number[] } {
  const servers: number[] = [];
  const children: number[] = [];
  const reapers: number[] = [];
  for (const pid of idleWarmJails().pids) {
    try {
      if (!readFileSync(`/proc/${pid}/comm`, 'utf8').startsWith('python')) continue;
      const nspid = /NSpid:\s+(.*)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]?.trim().split(/\s+/) ?? [];
      if (nspid.length === 2) servers.push(pid);
      else if (nspid.length === 3) {
        children.push(pid);
        if (nspid[2] === '1') reapers.push(pid);
      }
    } catch {
      /* gone */
    }
  }
  return { servers, children, reapers };
}

const sum = (ms: (Memory | null)[], key: keyof Memory) => ms.reduce((a, m) => a + (m?.[key] ?? 0), 0);
const mib = (kib: number) => Math.round((kib / MiB) * 10) / 10;

export interface DataBench {
  pybox: Percentiles;
  bare: Percentiles;
  p50Ratio: number;
  p99Ratio: number;
  mode: string;
  memory: {
    /** Idle children (each R + G) of one zygote, measured together. */
    children: number;
    /** Per child, MiB: PSS (its share of what it shares with the zygote and its siblings), RSS, and what it alone holds. */
    perChild: { pssMiB: number; rssMiB: number; privateMiB: number; anonymousMiB: number };
    /** The same child's PSS by process (R, G: PSS / private) and by kind (anonymous, file-backed), MiB. */
    split: { r: { pssMiB: number; privateMiB: number }; g: { pssMiB: number; privateMiB: number }; pssAnonMiB: number; pssFileMiB: number };
    /** The zygote: its anonymous memory is what every child maps (the preload's objects and C heap). */
    zygote: { pssMiB: number; rssMiB: number; privateMiB: number; anonymousMiB: number };
    /** Per child, with the zygote's own PSS split over its children too. */
    withZygoteShareMiB: number;
    /** A child's PSS if the zygote had this many idle children: its own pages, and 2 of the 2n + 1 shares of the zygote's. */
    projectedPssMiB: Record<string, number>;
    /**
     * A child's PSS if its pid 1 mapped none of the zygote's pages and cost nothing: G's own
     * pages, its file-backed PSS, and its shared anonymous pages split over the zygote and n G
     * (n + 1 instead of 2n + 1): a lower bound for any redesign of R.
     */
    leanReaperPssMiB: number;
  } | null;
}

export async function benchData(quick: boolean): Promise<DataBench> {
  const rounds = quick ? 8 : 20;
  const perRound = 5;
  const mplDir = mkdtempSync(join(tmpdir(), 'pybox-bench-mpl-'));
  const sandbox = await Sandbox.create({ mode: 'auto', pool: { size: 1, min: 1, max: 1 }, preload: DATA_PRELOAD, limits: { memoryMiB: 512 } });
  try {
    const box = async () => (await sandbox.run(DATA_PROGRAM)).stdout === '499.5\n';
    await bare(DATA_PROGRAM, mplDir); // builds its font cache, as the preload did
    for (let i = 0; i < 5; i++) await box();
    const b: number[] = [];
    const p: number[] = [];
    let failures = 0;
    for (let r = 0; r < rounds; r++) {
      let t = performance.now();
      if (!(await bare(DATA_PROGRAM, mplDir))) failures++;
      b.push(performance.now() - t);
      for (let i = 0; i < perRound; i++) {
        t = performance.now();
        if (!(await box())) failures++;
        p.push(performance.now() - t);
      }
    }
    if (failures) console.error(`  data program: ${failures} runs failed`);
    const [pybox, bareP] = [percentiles(p), percentiles(b)];
    console.error(`  data program: pybox p50 ${pybox.p50} ms p99 ${pybox.p99} ms; bare p50 ${bareP.p50} ms p99 ${bareP.p99} ms`);

    // Idle: every spare forked and warm, no run in flight.
    await new Promise((r) => setTimeout(r, 1500));
    const { servers, children, reapers } = zygoteProcesses();
    let memory: DataBench['memory'] = null;
    if (servers.length === 1 && children.length >= 2) {
      const kids = children.map(memoryOf);
      const n = children.length / 2;
      const z = memoryOf(servers[0] as number);
      const per = { pss: sum(kids, 'pss') / n, rss: sum(kids, 'rss') / n, private: sum(kids, 'private') / n, anonymous: sum(kids, 'anonymous') / n };
      const rs = reapers.map(memoryOf);
      const gs = children.filter((p) => !reapers.includes(p)).map(memoryOf);
      const g = { private: sum(gs, 'private') / n, anonymous: sum(gs, 'anonymous') / n, pssFile: sum(gs, 'pssFile') / n };
      const of = (ms: (Memory | null)[]) => ({ pssMiB: mib(sum(ms, 'pss') / n), privateMiB: mib(sum(ms, 'private') / n) });
      // R and G each map the zygote's pages: with n children, 2n + 1 processes share them.
      const sharedPerProcess = (per.rss - per.private) / 2;
      memory = {
        children: n,
        perChild: { pssMiB: mib(per.pss), rssMiB: mib(per.rss), privateMiB: mib(per.private), anonymousMiB: mib(per.anonymous) },
        split: { r: of(rs), g: of(gs), pssAnonMiB: mib(sum(kids, 'pssAnon') / n), pssFileMiB: mib(sum(kids, 'pssFile') / n) },
        zygote: { pssMiB: mib(z?.pss ?? 0), rssMiB: mib(z?.rss ?? 0), privateMiB: mib(z?.private ?? 0), anonymousMiB: mib(z?.anonymous ?? 0) },
        withZygoteShareMiB: mib(per.pss + (z?.pss ?? 0) / n),
        projectedPssMiB: Object.fromEntries([n, 8, 32].map((k) => [String(k), mib(per.private + (2 * sharedPerProcess) / (2 * k + 1))])),
        leanReaperPssMiB: mib(g.private + g.pssFile + Math.max(0, g.anonymous - g.private) / (n + 1)),
      };
      console.error(`  idle preloaded child (${n} idle): PSS ${memory.perChild.pssMiB} MiB, RSS ${memory.perChild.rssMiB} MiB, its own ${memory.perChild.privateMiB} MiB`);
    }
    return { pybox, bare: bareP, p50Ratio: ratio(pybox.p50, bareP.p50), p99Ratio: ratio(pybox.p99, bareP.p99), mode: sandbox.mode.active, memory };
  } finally {
    await sandbox.close();
    rmSync(mplDir, { recursive: true, force: true });
  }
}

const ratio = (a: number, b: number) => Math.round((a / b) * 1000) / 1000;

/** The section's rows in the bench table. */
export function dataRows(d: DataBench): string[] {
  const met = (v: number | null, target: number) => (v === null ? 'n/a' : v <= target ? 'met' : 'MISSED');
  const m = d.memory;
  const projected = m ? Object.entries(m.projectedPssMiB).map(([k, v]) => `${v} with ${k}`).join(', ') : '';
  return [
    `| data program (import numpy, pandas, matplotlib.pyplot; 1000-row DataFrame mean), preloaded ${d.mode} p50 ms (bare: \`python3 -I\`, in turns) | ${d.pybox.p50} | ${d.bare.p50} | ${d.p50Ratio} | ≤ 0.05 | ${met(d.p50Ratio, 0.05)} |`,
    `| the same, p99 ms | ${d.pybox.p99} | ${d.bare.p99} | ${d.p99Ratio} | | |`,
    `| idle preloaded zygote child (R + G), PSS MiB, ${m?.children ?? '?'} idle children of one zygote | ${m ? m.perChild.pssMiB : 'n/a'} | | | ≤ 15 | ${met(m?.perChild.pssMiB ?? null, 15)} |`,
    `| the same child: RSS / its own pages (private: what one more idle child costs) MiB; with the zygote's PSS split over its children | ${m ? `${m.perChild.rssMiB} / ${m.perChild.privateMiB}; ${m.withZygoteShareMiB}` : 'n/a'} | | | | |`,
    `| the same child's PSS by process, R (pid 1, reaper) / G (the interpreter), PSS (private) MiB; by kind, anonymous / file-backed MiB | ${m ? `${m.split.r.pssMiB} (${m.split.r.privateMiB}) / ${m.split.g.pssMiB} (${m.split.g.privateMiB}); ${m.split.pssAnonMiB} / ${m.split.pssFileMiB}` : 'n/a'} | | | | |`,
    `| a child's PSS projected with N idle children of one zygote (private + 2 × shared / (2N + 1): R and G each map the zygote's pages), MiB | ${projected || 'n/a'} | | | | |`,
    `| the zygote's anonymous memory (the preload's objects and C heap, mapped by every R and G) MiB; a child's PSS if R mapped none of it and cost nothing (G's own + G's file-backed PSS + G's shared anonymous / (N + 1)), a floor for any reaper | ${m ? `${m.zygote.anonymousMiB}; ${m.leanReaperPssMiB}` : 'n/a'} | | | | |`,
  ];
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const d = await benchData(process.argv.includes('--quick'));
  console.log(JSON.stringify(d, null, 2));
  console.log(dataRows(d).join('\n'));
}
