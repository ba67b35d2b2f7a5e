import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

/**
 * The source tree's layers point one way. Each folder of src/ has a rank; a file may
 * import from its own folder and from folders of a lower rank (or, for peers of the same
 * rank, when that makes no cycle), never from above, and no two folders may import each
 * other, directly or around a loop.
 */
const ROOT = resolve(import.meta.dirname, '..');
const SRC = join(ROOT, 'src');

/** Folder (relative to src/, by prefix, longest first) → rank. Higher may import lower. */
const LAYERS: [prefix: string, rank: number][] = [
  ['core', 0],
  ['guest', 1],
  ['host', 1],
  // Inside the native backend: seccomp, cgroup < jail < zygote < pool < session < the backend itself.
  ['backends/native/seccomp', 2.0],
  ['backends/native/cgroup', 2.0],
  ['backends/native/jail', 2.1],
  ['backends/native/zygote', 2.2],
  ['backends/native/pool', 2.3],
  ['backends/native/session', 2.35],
  ['backends/native', 2.4],
  ['backends', 2.5],
  ['sandbox', 3],
  ['cli', 4],
  ['attack', 4],
  ['server', 4],
  ['mcp', 4],
  ['.', 5], // src/index.ts: the package's entry
];

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(path);
    return e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [path] : [];
  });
}

/** The folder of a file, relative to src/ ('.' for src/ itself). */
function folderOf(file: string): string {
  return relative(SRC, dirname(file)) || '.';
}

function rankOf(folder: string): number | null {
  const sorted = [...LAYERS].sort((a, b) => b[0].length - a[0].length);
  for (const [prefix, rank] of sorted) {
    if (prefix === '.' ? folder === '.' : folder === prefix || folder.startsWith(prefix + '/')) return rank;
  }
  return null;
}

interface Edge {
  file: string;
  from: string;
  to: string;
  specifier: string;
}

/** Every relative import, export-from and dynamic import() of every src/**\/*.ts file, as folder edges. */
function importEdges(): Edge[] {
  const edges: Edge[] = [];
  for (const file of sourceFiles(SRC)) {
    const info = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
    for (const { fileName: specifier } of info.importedFiles) {
      if (!specifier.startsWith('.')) continue;
      const target = resolve(dirname(file), specifier);
      if (!target.startsWith(SRC + '/')) continue;
      edges.push({ file: relative(ROOT, file), from: folderOf(file), to: folderOf(target), specifier });
    }
  }
  return edges;
}

/** Folder cycles: strongly connected components of more than one folder (Tarjan). */
function folderCycles(edges: Edge[]): string[][] {
  const next = new Map<string, Set<string>>();
  for (const e of edges) {
    if (e.from === e.to) continue;
    if (!next.has(e.from)) next.set(e.from, new Set());
    next.get(e.from)?.add(e.to);
  }
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[][] = [];
  let counter = 0;
  const visit = (v: string): void => {
    index.set(v, counter);
    low.set(v, counter++);
    stack.push(v);
    onStack.add(v);
    for (const w of next.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v) as number, low.get(w) as number));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v) as number, index.get(w) as number));
    }
    if (low.get(v) === index.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop() as string;
        onStack.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1) out.push(scc.sort());
    }
  };
  for (const v of next.keys()) if (!index.has(v)) visit(v);
  return out;
}

describe('import graph of src/', () => {
  const edges = importEdges();

  it('reads the imports of every source file', () => {
    expect(edges.length).toBeGreaterThan(50);
  });

  it('every folder of src/ belongs to a layer', () => {
    const folders = [...new Set(sourceFiles(SRC).map(folderOf))];
    expect(folders.filter((f) => rankOf(f) === null)).toEqual([]);
  });

  it('no file imports from a higher layer', () => {
    const upward = edges
      .filter((e) => e.from !== e.to)
      .filter((e) => {
        const from = rankOf(e.from);
        const to = rankOf(e.to);
        return from === null || to === null || to > from;
      })
      .map((e) => `${e.file} -> ${e.specifier} (${e.from} -> ${e.to})`);
    expect(upward).toEqual([]);
  });

  it('no two folders import each other, directly or around a loop', () => {
    expect(folderCycles(edges)).toEqual([]);
  });
});
