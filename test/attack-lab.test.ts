/**
 * The CI gate of the attack lab: the real corpus against the real targets in the real
 * jail. Every weaker target (the talk's ladder, the decoy, pybox's language layer
 * alone) runs inside pybox's jail, and the runner guards the whole run itself: a
 * global deadline, bounded concurrency, capped per-run limits, a watchdog per run.
 *
 *  - pybox contains every attack (host canaries, planted secrets, loopback listeners,
 *    limit statuses, the next run), on the default path and on the cold path;
 *  - every attack escapes at least one weaker target (its positive control);
 *  - each ladder level falls to the attack the talk uses against it, and that attack
 *    is stopped by the next level's defence; L6 falls to a frame walk.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAttacks, type Matrix } from '../src/attack/index.js';
import { jailLeftovers } from '../src/attack/host.js';
import { Sandbox } from '../src/index.js';

/**
 * Real escapes of pybox that the lab found and reported, with where they live.
 * The gate asserts they STILL escape, so fixing one fails this test until its entry
 * is deleted: the list can only shrink, and never hides a new escape.
 */
const KNOWN_PYBOX_ESCAPES: Record<string, string> = {};

/** The talk's attack against each level (attacks/*: `talk: Ln`). */
const TALK: Record<string, string> = {
  L0: 'fs-direct-write',
  L1: 'intro-rot13-builtin',
  L2: 'intro-import-os',
  L3: 'builtins-restore-import',
  L4: 'intro-subclasses-walk',
  L5: 'intro-code-replace-import-hook',
  L6: 'intro-frames-gi-frame',
};

const WHOLE_RUN_DEADLINE_MS = 12 * 60_000;
let matrix: Matrix;
let jailWorks = false;
let why = '';

beforeAll(async () => {
  try {
    const probe = await Sandbox.create({ limits: { timeoutMs: 3000 } });
    const r = await probe.run('print(6 * 7)');
    await probe.close();
    jailWorks = r.status === 'ok' && r.stdout === '42\n';
    why = jailWorks ? '' : `the jail does not work here: ${r.status} ${r.stderr.slice(0, 200)}`;
  } catch (error) {
    why = `the jail cannot be built here: ${(error as Error).message}`;
  }
  if (!jailWorks) return;
  matrix = await runAttacks({ concurrency: 3, deadlineMs: WHOLE_RUN_DEADLINE_MS });
}, WHOLE_RUN_DEADLINE_MS + 120_000);

afterAll(() => {
  if (!matrix) return;
  const t = matrix.totals.byTarget;
  process.stdout.write(
    `\nattack lab: ${matrix.totals.attacks} attacks, ${Math.round(matrix.durationMs / 1000)} s; escaped: ` +
      matrix.targets.map((name) => `${name} ${t[name]?.escaped}`).join(', ') +
      '\n',
  );
});

const row = (id: string) => {
  const r = matrix.attacks.find((a) => a.id === id);
  if (!r) throw new Error(`no attack ${id} in the corpus`);
  return r;
};
const evidence = (id: string, target: string) => (row(id).evidence[target] ?? []).join('; ');

describe('the attack lab in the real jail', () => {
  it('runs: a host where the jail cannot be built fails the gate, it never skips it', () => {
    expect(why).toBe('');
    expect(jailWorks).toBe(true);
  });

  it('ran every attack against every target and judged every run', () => {
    expect(jailWorks, why).toBe(true);
    expect(matrix.totals.attacks).toBeGreaterThanOrEqual(120);
    expect(matrix.targets).toEqual(['L0', 'L1', 'L2', 'L3', 'L4', 'L5', 'L6', 'decoy', 'pybox-language', 'pybox']);
    const errors = matrix.attacks.flatMap((a) => matrix.targets.filter((t) => a.results[t] === 'error').map((t) => `${a.id} on ${t}: ${evidence(a.id, t)}`));
    expect(errors).toEqual([]);
  });

  it('pybox contains every attack', () => {
    expect(jailWorks, why).toBe(true);
    expect(matrix.pyboxPath).toBe('zygote'); // the default path on this host
    const escapes = matrix.attacks.filter((a) => a.results.pybox !== 'contained' && !(a.id in KNOWN_PYBOX_ESCAPES));
    expect(escapes.map((a) => `${a.id}: ${a.results.pybox}: ${evidence(a.id, 'pybox')}`)).toEqual([]);
  });

  it('pybox contains every attack on the cold path too (the one the CLI takes)', async () => {
    expect(jailWorks, why).toBe(true);
    const cold = await runAttacks({ targets: ['pybox'], pyboxMode: 'cold', concurrency: 3, deadlineMs: WHOLE_RUN_DEADLINE_MS });
    expect(cold.pyboxPath).toBe('cold');
    expect(cold.attacks.length).toBe(matrix.attacks.length);
    const escapes = cold.attacks.filter((a) => a.results.pybox !== 'contained' && !(a.id in KNOWN_PYBOX_ESCAPES));
    expect(escapes.map((a) => `${a.id}: ${a.results.pybox}: ${(a.evidence.pybox ?? []).join('; ')}`)).toEqual([]);
    expect(cold.problems).toEqual([]);
  }, WHOLE_RUN_DEADLINE_MS);

  it('still shows each known, reported pybox escape (delete its entry once core fixes it)', () => {
    expect(jailWorks, why).toBe(true);
    for (const [id, where] of Object.entries(KNOWN_PYBOX_ESCAPES)) {
      expect(row(id).results.pybox, `${id}: ${where}`).toBe('escaped');
    }
  });

  it('every attack escapes at least one weaker target (its positive control)', () => {
    expect(jailWorks, why).toBe(true);
    expect(matrix.attacks.filter((a) => a.positiveControl.length === 0).map((a) => a.id)).toEqual([]);
  });

  it('breaks each ladder level with the talk\'s attack, which the next level stops', () => {
    expect(jailWorks, why).toBe(true);
    for (const [level, id] of Object.entries(TALK)) {
      expect(row(id).talk, id).toBe(level);
      expect(row(id).results[level], `${id} against ${level}: ${evidence(id, level)}`).toBe('escaped');
      const next = `L${Number(level.slice(1)) + 1}`;
      if (next !== 'L7') expect(row(id).results[next], `${id} against ${next}: ${evidence(id, next)}`).toBe('contained');
    }
  });

  it('breaks L6, the talk\'s final sandbox, with what it left as "the remaining 20 %"', () => {
    expect(jailWorks, why).toBe(true);
    const broken = matrix.attacks.filter((a) => a.results.L6 === 'escaped').map((a) => a.id);
    // frames, tracebacks, function globals, whitelisted modules, format strings ...
    for (const id of ['intro-frames-gi-frame', 'intro-frames-traceback', 'intro-frames-cr-frame', 'intro-globals-import-hook', 'intro-whitelisted-module-walk', 'intro-format-string-walk']) {
      expect(broken, id).toContain(id);
    }
    expect(evidence('intro-frames-gi-frame', 'L6')).toMatch(/token written to the \(fake\) host file/);
  });

  it('shows what the language layer alone misses, and what the OS jail holds', () => {
    expect(jailWorks, why).toBe(true);
    for (const id of ['audit-hook-code-swap', 'spawn-posixsubprocess-fork-exec', 'audit-dirfd-relative-path']) {
      expect(row(id).results['pybox-language'], id).toBe('escaped');
      expect(row(id).results.pybox, id).toBe('contained');
    }
    expect(row('fs-direct-write').results['pybox-language']).toBe('contained');
  });

  it('leaves nothing of ours on the host', () => {
    expect(jailWorks, why).toBe(true);
    expect(matrix.problems.filter((p) => p.startsWith('left on the host'))).toEqual([]);
    expect(jailLeftovers(matrix.cgroupMode !== 'none')).toEqual([]);
  });
});
