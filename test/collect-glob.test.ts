/**
 * Collect patterns: the host's matcher (src/core/glob.ts) against what the guest's
 * bootstrap really collects, i.e. Python's own glob.glob(recursive=True) over a real
 * directory tree, normalised and filtered to regular files as collect_files does.
 * One python3 process answers a whole fast-check generated batch.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { CollectPatternError, compileCollect } from '../src/core/glob.js';
import { normaliseWorkspacePath } from '../src/core/workspace-path.js';

const PYTHON = '/usr/bin/python3';

/** What collect_files in src/guest/python/workspace.py keeps of glob's answer. */
const REFERENCE = String.raw`
import glob, json, os, stat, sys
req = json.load(sys.stdin)
root = req["root"]
out = []
for pattern in req["patterns"]:
    try:
        found = set()
        for rel in glob.glob(pattern, root_dir=root, recursive=True):
            if rel.endswith("/"):
                continue
            rel = os.path.normpath(rel)
            if rel.startswith("../") or rel == ".." or rel.startswith("/"):
                continue
            try:
                if stat.S_ISREG(os.lstat(os.path.join(root, rel)).st_mode):
                    found.add(rel)
            except OSError:
                pass
        out.append(sorted(found))
    except Exception as e:
        out.append("error: %r" % e)
json.dump(out, sys.stdout)
`;

function pythonGlob(root: string, patterns: string[]): (string[] | string)[] {
  const text = execFileSync(PYTHON, ['-I', '-c', REFERENCE], { input: JSON.stringify({ root, patterns }), maxBuffer: 64 << 20 });
  return JSON.parse(text.toString('utf8')) as (string[] | string)[];
}

const roots: string[] = [];
afterAll(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

/** Makes the files (skipping a name that collides with a file or directory already there); returns the ones made. */
function makeTree(names: string[]): { root: string; files: string[] } {
  const root = mkdtempSync(join(tmpdir(), 'pybox-glob-'));
  roots.push(root);
  const files = new Set<string>();
  const dirs = new Set<string>();
  for (const name of names) {
    const parts = name.split('/');
    const prefixes = parts.slice(0, -1).map((_, i) => parts.slice(0, i + 1).join('/'));
    if (files.has(name) || dirs.has(name) || prefixes.some((p) => files.has(p))) continue;
    mkdirSync(join(root, ...parts.slice(0, -1)), { recursive: true });
    writeFileSync(join(root, name), 'x');
    files.add(name);
    prefixes.forEach((p) => dirs.add(p));
  }
  return { root, files: [...files] };
}

const nameChar = fc.constantFrom('a', 'b', 'c', '.', '-', '!', '^', '[', ']', '*', '?', '(', ')', '{', '}', '+', '@', '\\', '|', '$', ' ', 'é', '😀', 'Z');
const component = fc.array(nameChar, { minLength: 1, maxLength: 4 }).map((cs) => cs.join('')).filter((c) => c !== '.' && c !== '..');
const fileName = fc.array(component, { minLength: 1, maxLength: 3 }).map((cs) => cs.join('/'));
const patternToken = fc.constantFrom('a', 'b', 'c', '.', '*', '?', '[', ']', '!', '-', '^', '/', '\\', '**', '(', ')', '{', '}', '+', '@', '|', '$', 'é', '😀', 'Z', '[a-c]', '[!a]', '[z-a]', '*/', '**/', '.*');
// At most two '**': Python's glob walks the tree once per '**' in a pattern (the guest's own CPU, but a slow test).
const pattern = fc
  .array(patternToken, { minLength: 1, maxLength: 8 })
  .map((ts) => ts.join(''))
  .filter((p) => p.split('**').length <= 3);

describe('collect patterns match like the guest\'s Python glob', () => {
  it('agrees with python3 on generated patterns and trees', () => {
    const seeds = [1, 2, 3, 4];
    let compared = 0;
    for (const seed of seeds) {
      const { root, files } = makeTree(fc.sample(fileName, { numRuns: 300, seed }));
      const candidates = fc.sample(pattern, { numRuns: 400, seed: seed + 100 });
      const accepted: { raw: string; matcher: ReturnType<typeof compileCollect> }[] = [];
      for (const raw of candidates) {
        try {
          accepted.push({ raw, matcher: compileCollect([raw]) });
        } catch (error) {
          expect(error).toBeInstanceOf(CollectPatternError); // refused before the run, never a crash
        }
      }
      const python = pythonGlob(root, accepted.map((a) => a.matcher.patterns[0] as string));
      const mismatches: string[] = [];
      accepted.forEach(({ raw, matcher }, i) => {
        const found = python[i];
        if (typeof found === 'string') return void mismatches.push(`${JSON.stringify(raw)}: python ${found}`);
        const theirs = new Set(found);
        for (const f of files) {
          if (normaliseWorkspacePath(f) !== f) continue; // the host never sees such a name
          compared++;
          if (matcher.matches(f) !== theirs.has(f)) mismatches.push(`${JSON.stringify(raw)} on ${JSON.stringify(f)}: host ${!theirs.has(f)}, python ${theirs.has(f)}`);
        }
      });
      expect(mismatches.slice(0, 20)).toEqual([]);
    }
    expect(compared).toBeGreaterThan(100_000);
  });

  it('refuses what it cannot honour before the run, with the pattern named', () => {
    for (const bad of ['/etc/*', '../x', 'a/../b', '', '.', 'a//b', 'out/', '*a*b*c*d', '\ud800']) {
      expect(() => compileCollect([bad]), bad).toThrow(CollectPatternError);
    }
    expect(compileCollect(['[z-a]', '/workspace/./out/*.txt']).patterns).toEqual(['[z-a]', 'out/*.txt']);
    expect(compileCollect(['[z-a]']).matches('m')).toBe(false);
  });

  it('matches hostile names in bounded time', () => {
    const m = compileCollect(['**/*a*a*b/**/*a*a*b', '**/a/**/a/**/a/**/b']);
    const deadline = performance.now() + 50;
    expect(m.matches(('a'.repeat(255) + '/').repeat(15) + 'a', deadline)).toBe(false);
    expect(m.matches('a/'.repeat(2000) + 'a', deadline)).toBe(false);
  });
});
