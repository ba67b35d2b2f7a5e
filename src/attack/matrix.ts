/** The attack x target matrix: the `--json` contract and its totals. */
import type { Limits } from '../sandbox/index.js';
import { CATEGORIES, type Attack } from './corpus.js';
import type { Judgement, Verdict } from './evidence.js';
import type { Target } from './targets.js';

export interface MatrixAttack {
  id: string;
  category: string;
  description: string;
  source: string;
  detect: string;
  /** The ladder level the talk breaks with this attack, if any. */
  talk: string | null;
  results: Record<string, Verdict>;
  status: Record<string, string>;
  evidence: Record<string, string[]>;
  durationMs: Record<string, number>;
  /** Weaker targets (not pybox) this attack escaped: proof that it works at all. */
  positiveControl: string[];
}

export type Tally = Record<Verdict, number>;

export interface Matrix {
  targets: string[];
  attacks: MatrixAttack[];
  totals: {
    byTarget: Record<string, Tally>;
    byCategory: Record<string, Record<string, Tally>>;
    attacksByCategory: Record<string, number>;
    attacks: number;
  };
  /** Everything that makes the run fail: pybox escapes, missing positive controls, errors. */
  problems: string[];
  ok: boolean;
  startedAt: string;
  durationMs: number;
  cgroupMode: string;
  /** The run path the pybox target took (cold, pool or zygote), null without that target. */
  pyboxPath: string | null;
  concurrency: number;
  limits: { pybox: Limits; lab: Limits };
}

/** What the runner saw; the matrix carries the run's facts over as they are. */
export interface BuildInput extends Pick<Matrix, 'startedAt' | 'durationMs' | 'cgroupMode' | 'pyboxPath' | 'concurrency' | 'limits'> {
  attacks: Attack[];
  targets: Target[];
  results: (attack: Attack, target: Target) => Judgement;
  leftovers: string[];
}

const zero = (): Tally => ({ contained: 0, escaped: 0, error: 0 });

export function buildMatrix(input: BuildInput): Matrix {
  const { attacks, targets } = input;
  const rows: MatrixAttack[] = attacks.map((a) => {
    const row: MatrixAttack = {
      id: a.id,
      category: a.category,
      description: a.description,
      source: a.source,
      detect: a.detectText,
      talk: a.talk,
      results: {},
      status: {},
      evidence: {},
      durationMs: {},
      positiveControl: [],
    };
    for (const t of targets) {
      const j = input.results(a, t);
      row.results[t.name] = j.verdict;
      row.status[t.name] = j.status;
      row.evidence[t.name] = j.evidence;
      row.durationMs[t.name] = Math.round(j.durationMs);
      if (t.kind !== 'pybox' && j.verdict === 'escaped') row.positiveControl.push(t.name);
    }
    return row;
  });

  const byTarget: Record<string, Tally> = {};
  const byCategory: Record<string, Record<string, Tally>> = {};
  const attacksByCategory: Record<string, number> = {};
  for (const t of targets) byTarget[t.name] = zero();
  for (const c of CATEGORIES) {
    const n = rows.filter((r) => r.category === c).length;
    if (n === 0) continue;
    attacksByCategory[c] = n;
    byCategory[c] = {};
    for (const t of targets) byCategory[c][t.name] = zero();
  }
  for (const row of rows) {
    for (const t of targets) {
      const v = row.results[t.name] as Verdict;
      (byTarget[t.name] as Tally)[v]++;
      (byCategory[row.category]?.[t.name] as Tally)[v]++;
    }
  }

  const problems: string[] = [];
  const weak = targets.some((t) => t.kind !== 'pybox');
  for (const row of rows) {
    for (const t of targets) {
      const v = row.results[t.name];
      if (t.kind === 'pybox' && v === 'escaped') problems.push(`ESCAPE: ${row.id} escaped pybox: ${(row.evidence[t.name] ?? []).join('; ')}`);
      if (v === 'error') problems.push(`error: ${row.id} on ${t.name}: ${(row.evidence[t.name] ?? []).join('; ')}`);
    }
    if (weak && row.positiveControl.length === 0) {
      problems.push(`no positive control: ${row.id} escaped none of ${targets.filter((t) => t.kind !== 'pybox').map((t) => t.name).join(', ')} (an attack that succeeds nowhere proves nothing)`);
    }
  }
  for (const l of input.leftovers) problems.push(`left on the host after the whole run: ${l}`);

  return {
    targets: targets.map((t) => t.name),
    attacks: rows,
    totals: { byTarget, byCategory, attacksByCategory, attacks: rows.length },
    problems,
    ok: problems.length === 0,
    startedAt: input.startedAt,
    durationMs: input.durationMs,
    cgroupMode: input.cgroupMode,
    pyboxPath: input.pyboxPath,
    concurrency: input.concurrency,
    limits: input.limits,
  };
}
