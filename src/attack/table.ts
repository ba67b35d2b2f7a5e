/** The matrix as a terminal report: the grid, the evidence, the totals, the problems. */
import { excerpt, type Verdict } from './evidence.js';
import type { Matrix, MatrixAttack } from './matrix.js';
import { findTarget } from './targets.js';

const CELL: Record<Verdict, string> = { contained: '-', escaped: 'ESCAPED', error: 'error' };

const pad = (s: string, n: number) => (s.length >= n ? s : s + ' '.repeat(n - s.length));

export function formatGrid(m: Matrix): string {
  const idWidth = Math.min(44, Math.max(6, ...m.attacks.map((a) => a.id.length))) + 2;
  const catWidth = Math.max(8, ...m.attacks.map((a) => a.category.length)) + 2;
  const widths = m.targets.map((t) => Math.max(t.length, 7) + 2);
  const lines: string[] = [];
  const head = pad('attack', idWidth) + pad('category', catWidth) + m.targets.map((t, i) => pad(t, widths[i] as number)).join('');
  lines.push(head.trimEnd(), '-'.repeat(head.trimEnd().length));
  let category = '';
  for (const a of m.attacks) {
    if (a.category !== category && category !== '') lines.push('');
    category = a.category;
    const row = pad(a.id.slice(0, idWidth - 2), idWidth) + pad(a.category, catWidth) + m.targets.map((t, i) => pad(CELL[a.results[t] as Verdict] ?? '?', widths[i] as number)).join('');
    lines.push(row.trimEnd());
  }
  lines.push('-'.repeat(head.trimEnd().length));
  for (const v of ['escaped', 'contained', 'error'] as Verdict[]) {
    const row = pad(v, idWidth + catWidth) + m.targets.map((t, i) => pad(String(m.totals.byTarget[t]?.[v] ?? 0), widths[i] as number)).join('');
    lines.push(row.trimEnd());
  }
  lines.push('', 'legend: - contained   ESCAPED the attack reached what the target denies (see the evidence)   error the lab could not judge');
  return lines.join('\n');
}

function firstEscape(a: MatrixAttack, targets: string[]): string | null {
  // The strongest weak target it breaks is the most telling positive control.
  const weak = targets.filter((t) => t !== 'pybox' && a.results[t] === 'escaped');
  const ladder = weak.filter((t) => /^L\d$/.test(t));
  const pick = weak.includes('pybox-language') ? 'pybox-language' : (ladder[ladder.length - 1] ?? weak[0]);
  return pick ?? null;
}

export function formatEvidence(m: Matrix): string {
  const lines: string[] = ['Evidence (one positive control per attack, and what pybox did):'];
  for (const a of m.attacks) {
    lines.push('', `${a.id}  [${a.category}]  ${excerpt(a.description, undefined, 110)}`);
    const escaped = m.targets.filter((t) => t !== 'pybox' && a.results[t] === 'escaped');
    const pick = firstEscape(a, m.targets);
    if (pick) lines.push(`   escaped ${escaped.join(' ')} -- ${pick}: ${excerpt((a.evidence[pick] ?? []).join('; '), undefined, 160)}`);
    else if (m.targets.some((t) => t !== 'pybox')) lines.push('   escaped no weaker target: NO POSITIVE CONTROL');
    for (const t of m.targets) {
      const v = a.results[t];
      const show = t === 'pybox' || (t === 'pybox-language' && v !== 'escaped' && pick !== t) || v === 'error';
      if (!show || t === pick) continue;
      lines.push(`   ${t}: ${v} -- ${excerpt((a.evidence[t] ?? []).join('; '), undefined, 160)}`);
    }
  }
  return lines.join('\n');
}

export function formatCategoryTotals(m: Matrix): string {
  const width = Math.max(...Object.keys(m.totals.byCategory).map((c) => c.length), 8) + 8;
  const widths = m.targets.map((t) => Math.max(t.length, 5) + 2);
  const lines = ['Escaped / attacks, per category:', pad('category', width) + m.targets.map((t, i) => pad(t, widths[i] as number)).join('')];
  for (const [category, byTarget] of Object.entries(m.totals.byCategory)) {
    const n = m.totals.attacksByCategory[category] ?? 0;
    lines.push(pad(`${category} (${n})`, width) + m.targets.map((t, i) => pad(String(byTarget[t]?.escaped ?? 0), widths[i] as number)).join(''));
  }
  return lines.map((l) => l.trimEnd()).join('\n');
}

export function formatReport(m: Matrix): string {
  const seconds = Math.round(m.durationMs / 1000);
  const parts = [
    `pybox attack lab: ${m.totals.attacks} attacks x ${m.targets.length} targets, cgroups ${m.cgroupMode}${m.pyboxPath ? `, pybox on the ${m.pyboxPath} path` : ''}, ${m.concurrency} at a time, ${seconds} s`,
    '',
    m.targets
      .map((t) => {
        const target = findTarget(t);
        return target ? `  ${pad(t, 16)}${target.defence}` : `  ${t}`;
      })
      .join('\n'),
    '',
    formatGrid(m),
    '',
    formatEvidence(m),
    '',
    formatCategoryTotals(m),
    '',
  ];
  if (m.problems.length) {
    parts.push(`FAILED: ${m.problems.length} problem(s)`, ...m.problems.map((p) => `  ${excerpt(p, undefined, 300)}`));
  } else {
    parts.push('OK: pybox contained every attack, and every attack escaped at least one weaker target.');
  }
  return parts.join('\n') + '\n';
}
