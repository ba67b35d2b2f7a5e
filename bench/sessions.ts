/**
 * Bench section for sessions, against a bare `python3 -I -S -c pass` spawn measured in the
 * same section: a cell `n += 1` in a warm session, opening a session until its first cell
 * can run (in turns with the bare spawn), the first streamed chunk after a flushed print
 * (the program's clock against ours, at rest), and the memory (PSS) of a session after 100
 * cells and of 100 idle sessions.
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { Sandbox, type Session } from '../src/sandbox/index.js';

const PYTHON = '/usr/bin/python3';
const IDLE_SESSIONS = 100;

export interface Percentiles {
  n: number;
  p50: number;
  p99: number;
}

export interface SessionBench {
  path: string;
  bare: Percentiles;
  cell: Percentiles;
  open: Percentiles;
  bareInTurnsWithOpen: Percentiles;
  firstChunk: Percentiles;
  hundredCellPssKiB: number;
  idleSessions: number;
  idlePssKiBPerSession: number;
}

function percentiles(samples: number[]): Percentiles {
  const s = [...samples].sort((a, b) => a - b);
  const q = (p: number) => Math.round((s[Math.min(s.length - 1, Math.floor(p * s.length))] ?? 0) * 1000) / 1000;
  return { n: s.length, p50: q(0.5), p99: q(0.99) };
}

function barePass(): Promise<boolean> {
  return new Promise((resolve) => {
    const child = spawn(PYTHON, ['-I', '-S', '-c', 'pass'], { stdio: 'ignore', env: {} });
    child.on('close', (code) => resolve(code === 0));
  });
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** PSS (KiB) of a session's interpreter (found by its working directory, `marker`) and its jail's pid 1. */
function sessionPssKiB(marker: string): number {
  let total = 0;
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (!readlinkSync(`/proc/${name}/cwd`).includes(marker)) continue;
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1];
      for (const pid of [name, ppid]) total += Number(/^Pss:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))?.[1] ?? 0);
    } catch {
      /* gone */
    }
  }
  return total;
}

/** Moves the session's interpreter into a directory named `marker`, for sessionPssKiB. */
async function mark(session: Session, marker: string): Promise<void> {
  const r = await session.run(`import os\nos.makedirs("/tmp/${marker}", exist_ok=True)\nos.chdir("/tmp/${marker}")`);
  if (r.status !== 'ok') throw new Error(`a bench cell failed: ${r.status} ${r.stderr}`);
}

export async function benchSessions(runs: number): Promise<SessionBench> {
  const sandbox = await Sandbox.create({ mode: 'auto', maxSessions: IDLE_SESSIONS + 2 });
  try {
    await sleep(500);
    const bare: number[] = [];
    for (let i = 0; i < runs; i++) bare.push(await timed(barePass));

    // A cell in a warm session, back to back.
    const s = await sandbox.openSession();
    await s.run('n = 0');
    for (let i = 0; i < 20; i++) await s.run('n += 1');
    const cell: number[] = [];
    for (let i = 0; i < runs; i++) cell.push(await timed(() => s.run('n += 1')));

    // The first chunk of a flushed print: the program's wall clock at the print, ours at the chunk.
    const chunk: number[] = [];
    for (let i = 0; i < Math.min(runs, 100); i++) {
      await sleep(10);
      let at = 0;
      let printed = 0;
      await s.run('import time\nprint(repr(time.time()), flush=True)\ntime.sleep(0.005)', {
        onStdout: (text) => {
          if (at) return;
          at = (performance.timeOrigin + performance.now()) / 1000;
          printed = Number(text.trim().split('\n')[0]);
        },
      });
      if (at && printed) chunk.push((at - printed) * 1000);
    }
    // A session after 100 cells (the ones above and more).
    for (let i = 0; i < 100; i++) await s.run('n += 1');
    const hundredMarker = `pybox-bench-100-${process.pid}`;
    await mark(s, hundredMarker);
    const hundredCellPssKiB = sessionPssKiB(hundredMarker);
    await s.close();

    // Opening a session until its first cell can run, in turns with the bare spawn.
    const open: number[] = [];
    const bareTurns: number[] = [];
    const openRounds = Math.max(20, Math.floor(runs / 3));
    for (let i = 0; i < openRounds; i++) {
      bareTurns.push(await timed(barePass));
      let session: Session | null = null;
      open.push(await timed(async () => (session = await sandbox.openSession())));
      await (session as Session | null)?.close();
    }

    // Idle sessions, each after one cell.
    const idleMarker = `pybox-bench-idle-${process.pid}`;
    const idle: Session[] = [];
    for (let i = 0; i < IDLE_SESSIONS; i++) {
      const session = await sandbox.openSession();
      await mark(session, `${idleMarker}-${i}-`);
      idle.push(session);
    }
    await sleep(500);
    const idlePss = sessionPssKiB(idleMarker);
    await Promise.all(idle.map((session) => session.close()));

    return {
      path: sandbox.mode.active,
      bare: percentiles(bare),
      cell: percentiles(cell),
      open: percentiles(open),
      bareInTurnsWithOpen: percentiles(bareTurns),
      firstChunk: percentiles(chunk),
      hundredCellPssKiB,
      idleSessions: IDLE_SESSIONS,
      idlePssKiBPerSession: Math.round(idlePss / IDLE_SESSIONS),
    };
  } finally {
    await sandbox.close();
  }
}

const ratio = (a: number, b: number) => Math.round((a / b) * 1000) / 1000;
const mib = (kib: number) => (kib / 1024).toFixed(1);

/** Targets of the session rows (ratios against the bare spawn measured alongside). */
export function sessionTargets(b: SessionBench) {
  return {
    sessionCellP50: { value: ratio(b.cell.p50, b.bare.p50), target: 0.02 },
    sessionOpenP50: { value: ratio(b.open.p50, b.bareInTurnsWithOpen.p50), target: 0.3 },
    idleSessionPssMiB: { value: Math.round((b.idlePssKiBPerSession / 1024) * 10) / 10, target: 10 },
  };
}

/** The session rows of the bench table. */
export function sessionRows(b: SessionBench, met: (t: { value: number | null; target: number }) => string): string[] {
  const t = sessionTargets(b);
  return [
    `| session cell \`n += 1\`, warm session, p50 / p99 ms (${b.path}; bare: \`-c pass\`) | ${b.cell.p50} / ${b.cell.p99} | ${b.bare.p50} / ${b.bare.p99} | ${t.sessionCellP50.value} / ${ratio(b.cell.p99, b.bare.p50)} | p50 ≤ 0.02 | ${met(t.sessionCellP50)} |`,
    `| opening a session until its first cell can run, p50 / p99 ms (in turns with bare \`-c pass\`) | ${b.open.p50} / ${b.open.p99} | ${b.bareInTurnsWithOpen.p50} / ${b.bareInTurnsWithOpen.p99} | ${t.sessionOpenP50.value} | ≤ 0.3 | ${met(t.sessionOpenP50)} |`,
    `| first streamed chunk after a flushed print, at rest, p50 / p99 ms | ${b.firstChunk.p50} / ${b.firstChunk.p99} | | | | |`,
    `| a session after 100 cells (its pid 1 + interpreter), PSS MiB | ${mib(b.hundredCellPssKiB)} | | | | |`,
    `| ${b.idleSessions} idle sessions, PSS per session MiB | ${mib(b.idlePssKiBPerSession)} | | | ≤ 10 | ${met(t.idleSessionPssMiB)} |`,
  ];
}
