/**
 * The attack corpus: one small Python file per attack under attacks/<category>/,
 * each opening with a header of `# key: value` lines. Parsed here, never run here.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RunStatus } from '../sandbox/index.js';

export const CATEGORIES = [
  'introspection',
  'language',
  'filesystem',
  'network',
  'process',
  'resources',
  'leaks',
  'protocol',
] as const;
export type Category = (typeof CATEGORIES)[number];

/**
 * What an attack tries to reach. `token`, `secret`, `net` and `canary` are checked on
 * every run whatever the header says; the others switch on extra checks.
 */
export const DETECTORS = ['token', 'secret', 'net', 'canary', 'followup', 'daemon', 'limit', 'verdict', 'supervisor', 'fds', 'procs', 'fill', 'tty', 'pools', 'zygote'] as const;
export type Detector = (typeof DETECTORS)[number];

export const LIMIT_STATUSES: readonly RunStatus[] = ['timeout', 'cpu_limit', 'memory_limit', 'output_limit', 'process_limit', 'killed'];

export interface Attack {
  id: string;
  category: Category;
  description: string;
  source: string;
  /** How success is detected, as written in the header. */
  detectText: string;
  detect: Detector[];
  /** For `limit` attacks: the statuses that mean pybox contained it. */
  expect: RunStatus[];
  /** For `verdict` attacks: the status an honest supervisor reports. */
  truth: RunStatus | null;
  /** The ladder level the talk breaks with this attack (`talk: L3`). */
  talk: string | null;
  /** Run alone (nothing else in flight) against pybox, so host-side process checks are exact. */
  exclusive: boolean;
  /** A run by "another user" right before this one, leaving a secret behind. */
  setupOtherRun: boolean;
  /** Shared preludes from attacks/harness/prelude/ (`uses: prove, syscall`), put before the code. */
  uses: string[];
  /** The Python, header lines blanked (line numbers kept; preludes, if any, come first). */
  code: string;
  file: string;
}

export class CorpusError extends Error {
  override readonly name = 'CorpusError';
}

const REQUIRED = ['id', 'category', 'description', 'source', 'detect'] as const;
const STATUSES: readonly RunStatus[] = ['ok', 'error', 'timeout', 'cpu_limit', 'memory_limit', 'output_limit', 'process_limit', 'killed', 'internal_error'];

/** pybox's package root (where attacks/ lives), from src/attack or dist/src/attack. */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, 'attacks', 'harness', 'lab.py')) && existsSync(join(dir, 'package.json'))) return dir;
    dir = dirname(dir);
  }
  throw new CorpusError('cannot find the attacks/ directory above ' + fileURLToPath(import.meta.url));
}

export function attacksDir(root = packageRoot()): string {
  return join(root, 'attacks');
}

/** Parses one attack file's header. Throws CorpusError naming the file and the problem. */
export function parseAttack(text: string, file: string): Attack {
  const lines = text.split('\n');
  const header: Record<string, string> = {};
  let end = 0;
  for (; end < lines.length; end++) {
    const line = lines[end] as string;
    const m = /^#\s*([a-z-]+):\s*(.*)$/.exec(line);
    if (m) {
      const key = m[1] as string;
      if (key in header) throw new CorpusError(`${file}: header key "${key}" twice`);
      header[key] = (m[2] as string).trim();
      continue;
    }
    if (/^#\s{2,}\S/.test(line) && end > 0) {
      // a continuation line of the previous key
      const keys = Object.keys(header);
      const last = keys[keys.length - 1];
      if (last) header[last] += ' ' + line.replace(/^#\s+/, '');
      continue;
    }
    break;
  }
  for (const key of REQUIRED) {
    if (!header[key]) throw new CorpusError(`${file}: header lacks "${key}"`);
  }
  const id = header.id as string;
  if (!/^[a-z0-9][a-z0-9-]{2,63}$/.test(id)) throw new CorpusError(`${file}: id "${id}" must be lowercase words joined by -`);
  const category = header.category as Category;
  if (!CATEGORIES.includes(category)) throw new CorpusError(`${file}: unknown category "${category}" (one of ${CATEGORIES.join(', ')})`);
  const detect = (header.detect as string)
    .split(/[\s,;(]+/)[0]!
    .split('+')
    .map((d) => d.trim()) as Detector[];
  for (const d of detect) {
    if (!DETECTORS.includes(d)) throw new CorpusError(`${file}: unknown detector "${d}" (one of ${DETECTORS.join(', ')})`);
  }
  const statusList = (value: string | undefined, key: string): RunStatus[] =>
    (value ?? '')
      .split('|')
      .map((s) => s.trim())
      .filter(Boolean)
      .map((s) => {
        if (!STATUSES.includes(s as RunStatus)) throw new CorpusError(`${file}: ${key}: unknown status "${s}"`);
        return s as RunStatus;
      });
  const expect = statusList(header.expect, 'expect');
  if (detect.includes('limit') && expect.length === 0) throw new CorpusError(`${file}: a limit attack needs "expect: <status>|..."`);
  const truth = statusList(header.truth, 'truth')[0] ?? null;
  if (detect.includes('verdict') && !truth) throw new CorpusError(`${file}: a verdict attack needs "truth: <status>"`);
  const talk = header.talk ?? null;
  if (talk !== null && !/^L[0-6]$/.test(talk)) throw new CorpusError(`${file}: talk must be L0..L6`);

  // Blank the header (keeps line numbers) and full-line comments: a keyword
  // blacklist judges the code, not its commentary.
  const code = lines
    .map((line, i) => (i < end || /^\s*#/.test(line) ? '' : line))
    .join('\n')
    .replace(/\s+$/, '\n');
  if (!code.trim()) throw new CorpusError(`${file}: no code after the header`);
  return {
    id,
    category,
    description: header.description as string,
    source: header.source as string,
    detectText: header.detect as string,
    detect,
    expect,
    truth,
    talk,
    exclusive: /^(yes|true)$/i.test(header.exclusive ?? ''),
    setupOtherRun: header.setup === 'other-run',
    uses: (header.uses ?? '').split(',').map((u) => u.trim()).filter(Boolean),
    code,
    file,
  };
}

function pythonFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir).sort()) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) out.push(...pythonFiles(path));
    else if (entry.endsWith('.py')) out.push(path);
  }
  return out;
}

/** Every attack under attacks/<category>/ (not the harness or the ladder), checked for unique ids. */
export function loadCorpus(root = packageRoot()): Attack[] {
  const base = attacksDir(root);
  const attacks: Attack[] = [];
  const seen = new Map<string, string>();
  for (const category of CATEGORIES) {
    const dir = join(base, category);
    if (!existsSync(dir)) continue;
    const inCategory: Attack[] = [];
    for (const path of pythonFiles(dir)) {
      const file = relative(root, path);
      const attack = parseAttack(readFileSync(path, 'utf8'), file);
      attack.code = attack.uses.map((name) => prelude(base, name, file)).join('') + attack.code;
      if (attack.category !== category) throw new CorpusError(`${file}: category "${attack.category}" but it lives in attacks/${category}/`);
      const other = seen.get(attack.id);
      if (other) throw new CorpusError(`${file}: id "${attack.id}" is also used by ${other}`);
      seen.set(attack.id, file);
      inCategory.push(attack);
    }
    attacks.push(...inCategory.sort((a, b) => a.id.localeCompare(b.id)));
  }
  return attacks;
}

const preludes = new Map<string, string>();

/** A prelude's source; a name with no file under attacks/harness/prelude/ is a corpus error. */
function prelude(base: string, name: string, file: string): string {
  const path = join(base, 'harness', 'prelude', `${name}.py`);
  let text = preludes.get(path);
  if (text === undefined) {
    if (!/^[a-z][a-z0-9_]*$/.test(name) || !existsSync(path)) throw new CorpusError(`${file}: unknown prelude "${name}"`);
    // Comments dropped as in the attacks: a keyword blacklist judges code, not commentary.
    text = readFileSync(path, 'utf8')
      .split('\n')
      .filter((line) => !/^\s*#/.test(line))
      .join('\n')
      .replace(/\s+$/, '\n\n');
    preludes.set(path, text);
  }
  return text;
}

/** The ladder's level sources L0..L6, in order. */
export function loadLadder(root = packageRoot()): string[] {
  return [0, 1, 2, 3, 4, 5, 6].map((n) => readFileSync(join(attacksDir(root), 'ladder', `L${n}.py`), 'utf8'));
}

export function loadHarness(root = packageRoot()): string {
  return readFileSync(join(attacksDir(root), 'harness', 'lab.py'), 'utf8');
}
