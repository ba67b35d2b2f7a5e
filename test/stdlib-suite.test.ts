/**
 * CPython's own test suite in the jail: a broad set of the standard library's test modules,
 * run bare (/usr/bin/python3) and in pybox (zygote path) with policy 'off' and 'strict',
 * compared test by test. Under 'off' every test that passes bare passes in the jail except
 * what the jail's isolation explains; under 'strict' except what strict denies. Both lists,
 * with a reason per entry, are in test/stdlib/expected.json; an entry that no longer
 * explains a failure is stale and fails the test too.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Sandbox } from '../src/index.js';
import { inTurns, passed, runBare, runJailed, type ModuleRun } from './stdlib/suite.js';

/** Language core, text, data structures, numbers, files and OS, processes, logging over localhost. */
const MODULES = [
  'test_int', 'test_list', 'test_dict', 'test_unicode', 'test_re', 'test_json', 'test_math', 'test_itertools',
  'test_functools', 'test_collections', 'test_exceptions', 'test_fstring', 'test_enum', 'test_dataclasses',
  'test_struct', 'test_random', 'test_textwrap', 'test_string', 'test_csv', 'test_argparse', 'test_traceback',
  'test_zlib', 'test_tempfile', 'test_pathlib', 'test_os', 'test_shutil', 'test_sys', 'test_time', 'test_uuid',
  'test_logging',
];
const LIMITS = { timeoutMs: 120_000, cpuMs: 120_000, memoryMiB: 1024, processes: 256, openFiles: 1024, outputBytes: 64 << 20, workspaceMiB: 512 };
/** Two modules at a time: the machine has two CPUs. */
const WIDTH = 2;

interface Expected {
  reason: string;
  /** Test ids, or a module or class: every test under it. */
  tests: string[];
}
const EXPECTED = JSON.parse(readFileSync(new URL('./stdlib/expected.json', import.meta.url), 'utf8')) as {
  off: Expected[];
  strict: Expected[];
  strictModulesNotRun: Record<string, string>;
};

const covers = (entry: string, id: string) => id === entry || id.startsWith(`${entry}.`);

let bare: ModuleRun[];
const rates: string[] = [];

beforeAll(async () => {
  bare = await inTurns(MODULES, WIDTH, (m) => runBare(m, LIMITS.timeoutMs));
  rates.push(rate('bare', bare));
}, 300_000);

afterAll(() => {
  console.log(`stdlib tests passed / run:\n${rates.join('\n')}`);
});

function rate(label: string, runs: ModuleRun[]): string {
  const run = runs.reduce((n, r) => n + r.outcomes.size, 0);
  const ok = runs.reduce((n, r) => n + passed(r).size, 0);
  return `  ${label}: ${ok} / ${run} (${((100 * ok) / run).toFixed(1)} %)`;
}

it('bare: every module runs to its end and passes tests', () => {
  for (const r of bare) {
    expect(r.finished, `${r.module}: ${r.ended}`).toBe(true);
    expect(passed(r).size, r.module).toBeGreaterThan(0);
  }
});

describe.each(['off', 'strict'] as const)('policy %s', (policy) => {
  let sandbox: Sandbox;
  beforeAll(async () => {
    sandbox = await Sandbox.create({ policy, limits: LIMITS });
  });
  afterAll(async () => {
    await sandbox.close();
  });

  it('passes every test that passes bare, except the listed ones, for the listed reasons', async () => {
    const modules = MODULES.filter((m) => policy === 'off' || !(m in EXPECTED.strictModulesNotRun));
    const jailed = await inTurns(modules, WIDTH, async (m) => (await runJailed(sandbox, m)).run);
    rates.push(rate(`pybox ${policy}`, jailed));
    const entries = policy === 'off' ? EXPECTED.off : [...EXPECTED.off, ...EXPECTED.strict];
    const used = new Set<string>();
    const unexplained: string[] = [];
    for (const run of jailed) {
      expect(run.finished, `${run.module} did not run to its end: ${run.ended}`).toBe(true);
      const bareRun = bare[MODULES.indexOf(run.module)] as ModuleRun;
      const ok = passed(run);
      for (const id of passed(bareRun)) {
        if (ok.has(id)) continue;
        const why = entries.flatMap((e) => e.tests).filter((t) => covers(t, id));
        why.forEach((t) => used.add(t));
        if (why.length === 0) unexplained.push(`${id}: ${run.outcomes.get(id) ?? 'not run'} ${run.details.get(id) ?? ''}`);
      }
    }
    expect(unexplained).toEqual([]);
    const ran = new Set(jailed.map((r) => `test.${r.module}`));
    const stale = entries.flatMap((e) => e.tests).filter((t) => !used.has(t) && [...ran].some((m) => covers(m, t)));
    expect(stale, 'listed, yet passed (or not run bare): remove them').toEqual([]);
  }, 300_000);
});
