/**
 * Collect patterns: what the guest's bootstrap globs with Python (glob.glob(pattern,
 * root_dir=/workspace, recursive=True), then fnmatch per component) and what the host
 * checks each returned path against. Both sides must agree, so the host compiles every
 * pattern once, when the run is prepared, into the same semantics:
 *  - a pattern is split on `/` first (a `[...]` never spans components);
 *  - `**` as a whole component spans zero or more components, none of them hidden (at
 *    the end, one or more: glob's answer for zero is a directory, `dir/`, which is skipped);
 *  - `*` and `?` stay within a component; `[...]` is fnmatch's class (`!` negates, a
 *    leading `]` is a member, a reversed range is dropped, `^` is a literal);
 *  - a component whose pattern does not start with `.` never matches a hidden name;
 *  - everything else, backslash included, is literal.
 * Each component becomes a picomatch regex; `**` is matched by a walk over components,
 * so no regex ever spans components and none can backtrack across the whole path.
 */
import picomatch from 'picomatch';

/** A pattern that cannot be honoured; the caller reports it as E_OPTIONS_INVALID. */
export class CollectPatternError extends Error {
  override readonly name = 'CollectPatternError';
}

/**
 * At most this many `*` runs in one component: a regex with k of them can backtrack
 * C(255, k) steps on a hostile 255-byte name (k = 3: ~10 ms, k = 4: ~50 s).
 */
export const MAX_STARS_PER_COMPONENT = 3;
export const MAX_COMPONENTS = 64;

const PICOMATCH_OPTIONS: picomatch.PicomatchOptions = {
  dot: false, // hidden names only for a component that starts with `.` (Python's glob)
  nobrace: true,
  noextglob: true,
  nonegate: true,
  posix: true,
  flags: 'u', // `?` is one code point, as in Python
  debug: true, // throw on a regex it cannot build instead of matching nothing
};

type Component = { kind: 'any' } | { kind: 'never' } | { kind: 'regex'; re: RegExp };

export interface CollectMatcher {
  /** The patterns as the guest gets them (prefix `/workspace/` and `.` components dropped). */
  readonly patterns: readonly string[];
  /**
   * Whether a normalised workspace path matches one of the patterns. Past `deadline`
   * (performance.now()) it stops and answers false: the caller bounds the host's time.
   */
  matches(path: string, deadline?: number): boolean;
}

/** Compiles collect patterns once; throws CollectPatternError naming the bad one. */
export function compileCollect(input: readonly string[]): CollectMatcher {
  const patterns: string[] = [];
  const compiled: Component[][] = [];
  for (const raw of input) {
    const parts = normalisePattern(raw);
    patterns.push(parts.join('/'));
    compiled.push(parts.map((part) => compileComponent(part, raw)));
  }
  return {
    patterns,
    matches(path, deadline = Infinity) {
      const names = path.split('/');
      return compiled.some((pattern) => performance.now() <= deadline && matchComponents(pattern, names, deadline));
    },
  };
}

function normalisePattern(raw: string): string[] {
  const bad = (why: string) => new CollectPatternError(`collect pattern ${why}: ${JSON.stringify(raw)}`);
  if (!raw.isWellFormed()) throw bad('has unpaired UTF-16 surrogates');
  const stripped = raw.startsWith('/workspace/') ? raw.slice('/workspace/'.length) : raw;
  if (stripped.startsWith('/')) throw bad('must stay inside /workspace');
  const parts = stripped.split('/').filter((p) => p !== '.');
  if (parts.includes('..')) throw bad('must stay inside /workspace');
  if (parts.length === 0) throw bad('names no file');
  if (parts.includes('')) throw bad('has an empty component (a trailing or doubled "/"): use dir/** for a directory');
  if (parts.length > MAX_COMPONENTS) throw bad(`has more than ${MAX_COMPONENTS} components`);
  return parts;
}

function compileComponent(part: string, raw: string): Component {
  if (part === '**') return { kind: 'any' };
  const chars = Array.from(part); // code points, as Python indexes them
  const hiddenAllowed = chars[0] === '.';
  let out = '';
  let stars = 0;
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i] as string;
    if (c === '*') {
      if (chars[i - 1] !== '*') {
        out += '*';
        stars++;
      }
    } else if (c === '?') out += '?';
    else if (c === '[') {
      const cls = fnmatchClass(chars, i + 1);
      if (!cls) {
        out += literal(c);
        continue;
      }
      let set = cls.negate ? complement(cls.ranges) : cls.ranges;
      set = subtract(set, 0x2f); // '/' is never in a name
      if (i === 0 && !hiddenAllowed) set = subtract(set, 0x2e);
      if (set.length === 0) return { kind: 'never' };
      out += '[' + set.map(([a, b]) => (a === b ? cp(a) : `${cp(a)}-${cp(b)}`)).join('') + ']';
      i = cls.end;
    } else out += literal(c);
  }
  if (stars > MAX_STARS_PER_COMPONENT) {
    throw new CollectPatternError(`collect pattern has more than ${MAX_STARS_PER_COMPONENT} "*" in one component: ${JSON.stringify(raw)}`);
  }
  try {
    return { kind: 'regex', re: picomatch.makeRe(out, PICOMATCH_OPTIONS) };
  } catch (error) {
    throw new CollectPatternError(`collect pattern cannot be compiled (${(error as Error).message}): ${JSON.stringify(raw)}`);
  }
}

const cp = (n: number) => `\\u{${n.toString(16)}}`;

/**
 * A literal character for picomatch: letters and digits as they are, anything else as a
 * one-member class (picomatch's own backslash escapes are not reliable: `\\}` then `\\\\`
 * makes it loop forever).
 */
const literal = (c: string) => (/^[A-Za-z0-9_]$/.test(c) ? c : `[${cp(c.codePointAt(0) as number)}]`);

/**
 * fnmatch.translate's reading of a class whose `[` is just before `start` (CPython 3.11):
 * the members as code point ranges, or null when there is no closing `]` (then `[` is literal).
 */
function fnmatchClass(chars: string[], start: number): { end: number; negate: boolean; ranges: [number, number][] } | null {
  const n = chars.length;
  let j = start;
  if (j < n && chars[j] === '!') j++;
  if (j < n && chars[j] === ']') j++;
  while (j < n && chars[j] !== ']') j++;
  if (j >= n) return null;
  const negate = chars[start] === '!';
  // Split at the hyphens that make ranges, exactly as fnmatch does.
  const chunks: string[][] = [];
  let i = start;
  let k = negate ? start + 2 : start + 1;
  for (;;) {
    k = chars.indexOf('-', k);
    if (k < 0 || k >= j) break;
    chunks.push(chars.slice(i, k));
    i = k + 1;
    k += 3;
  }
  const last = chars.slice(i, j);
  if (last.length) chunks.push(last);
  else if (chunks.length) chunks[chunks.length - 1]!.push('-');
  else chunks.push(['-']);
  for (let c = chunks.length - 1; c > 0; c--) {
    const prev = chunks[c - 1]!;
    const cur = chunks[c]!;
    if (prev[prev.length - 1]!.codePointAt(0)! > cur[0]!.codePointAt(0)!) {
      chunks[c - 1] = [...prev.slice(0, -1), ...cur.slice(1)];
      chunks.splice(c, 1);
    }
  }
  if (negate) chunks[0] = chunks[0]!.slice(1);
  const ranges: [number, number][] = [];
  chunks.forEach((chunk, c) => {
    chunk.forEach((ch, x) => {
      const isEnd = c > 0 && x === 0; // the end of the range started by the previous chunk
      const isStart = c < chunks.length - 1 && x === chunk.length - 1;
      if (isStart) ranges.push([ch.codePointAt(0)!, chunks[c + 1]![0]!.codePointAt(0)!]);
      else if (!isEnd) ranges.push([ch.codePointAt(0)!, ch.codePointAt(0)!]);
    });
  });
  return { end: j, negate, ranges: mergeRanges(ranges) };
}

function mergeRanges(ranges: [number, number][]): [number, number][] {
  const sorted = [...ranges].sort((a, b) => a[0] - b[0]);
  const out: [number, number][] = [];
  for (const [a, b] of sorted) {
    const top = out[out.length - 1];
    if (top && a <= top[1] + 1) top[1] = Math.max(top[1], b);
    else out.push([a, b]);
  }
  return out;
}

function complement(ranges: [number, number][]): [number, number][] {
  const out: [number, number][] = [];
  let next = 0;
  for (const [a, b] of ranges) {
    if (a > next) out.push([next, a - 1]);
    next = Math.max(next, b + 1);
  }
  if (next <= 0x10ffff) out.push([next, 0x10ffff]);
  return out;
}

function subtract(ranges: [number, number][], point: number): [number, number][] {
  return ranges.flatMap(([a, b]): [number, number][] =>
    point < a || point > b ? [[a, b]] : ([[a, point - 1], [point + 1, b]] as [number, number][]).filter(([x, y]) => x <= y),
  );
}

/** Pattern components against path names; `**` takes zero or more non-hidden names. Each (i, j) is tried once. */
function matchComponents(pattern: Component[], names: string[], deadline: number): boolean {
  const failed = new Set<number>();
  const width = names.length + 1;
  const walk = (i: number, j: number): boolean => {
    if (i === pattern.length) return j === names.length;
    if (failed.has(i * width + j) || performance.now() > deadline) return false;
    const part = pattern[i] as Component;
    let ok: boolean;
    if (part.kind === 'any') {
      // A trailing ** takes one name at least: the bootstrap skips what glob returns for
      // zero (the directory itself, as "dir/").
      const last = i === pattern.length - 1;
      ok = (!last && walk(i + 1, j)) || (j < names.length && !(names[j] as string).startsWith('.') && (walk(i, j + 1) || (last && j + 1 === names.length)));
    }
    else ok = j < names.length && part.kind === 'regex' && part.re.test(names[j] as string) && walk(i + 1, j + 1);
    if (!ok) failed.add(i * width + j);
    return ok;
  };
  return walk(0, 0);
}
