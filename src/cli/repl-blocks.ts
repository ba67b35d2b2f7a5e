/**
 * When a console line ends a block, decided on the host (the jail only ever sees whole
 * cells): Python's own rules, as `codeop.compile_command` applies them to the lines typed so
 * far (test/repl-blocks.test.ts checks them against it). A compound statement (if, def,
 * class, a decorator...) goes on until an empty line; an open bracket, an unterminated
 * triple-quoted string or a trailing backslash go on whatever comes. Malformed input is
 * "complete": the session compiles it and reports the SyntaxError, as Python would.
 */

export type BlockState =
  /** Nothing but blank lines and comments: nothing to run. */
  | 'empty'
  /** More lines are needed (`... `). */
  | 'incomplete'
  /** Ready to run as one cell. */
  | 'complete'
  /**
   * The last line is back at the left margin after a compound statement and does not
   * continue it (not else/elif/except/finally): the lines before it are a block, and
   * it starts the next. (Python's console reports a SyntaxError here.)
   */
  | 'dedent';

const COMPOUND = new Set(['if', 'while', 'for', 'try', 'with', 'def', 'class', 'async']);
const CONTINUES = new Set(['else', 'elif', 'except', 'finally']);
const OPENERS: Record<string, string> = { '(': ')', '[': ']', '{': '}' };

interface LogicalLine {
  /** Text of the logical line without its comments and strings' contents, trimmed. */
  code: string;
  /** Whether it starts at column 0. */
  atMargin: boolean;
}

interface Scan {
  lines: LogicalLine[];
  /** Open at the end: a bracket, a string, or a backslash continuation. */
  open: boolean;
  /** A bracket closed that was not open, an unterminated one-line string. */
  malformed: boolean;
}

/** Splits source into logical lines (joining bracketed, string and backslash continuations). */
function scan(source: string): Scan {
  const lines: LogicalLine[] = [];
  const brackets: string[] = [];
  let code = '';
  let lineStart = 0;
  let i = 0;
  const endLine = (): void => {
    const text = code.trim();
    if (text !== '') lines.push({ code: text, atMargin: !/[ \t\f]/.test(source[lineStart] ?? '') });
    code = '';
  };
  while (i < source.length) {
    const c = source[i]!;
    if (c === '#') {
      while (i < source.length && source[i] !== '\n') i++;
      continue;
    }
    if (c === '\\') {
      if (i + 1 === source.length) return { lines, open: true, malformed: false };
      if (source[i + 1] === '\n') {
        // A continued line: the logical line goes on (and wants more if nothing follows).
        if (i + 2 === source.length) return { lines, open: true, malformed: false };
        code += ' ';
        i += 2;
        continue;
      }
      code += c;
      i++;
      continue;
    }
    if (c === '"' || c === "'") {
      const triple = source.startsWith(c.repeat(3), i);
      const quote = triple ? c.repeat(3) : c;
      i += quote.length;
      for (;;) {
        if (i >= source.length) return { lines, open: triple || source.endsWith('\\'), malformed: !triple && !source.endsWith('\\') };
        const s = source[i]!;
        if (s === '\\') {
          i += 2;
          continue;
        }
        if (!triple && s === '\n') return { lines, open: false, malformed: true };
        if (source.startsWith(quote, i)) break;
        i++;
      }
      i += quote.length;
      code += '""';
      continue;
    }
    if (c in OPENERS) brackets.push(OPENERS[c]!);
    else if (c === ')' || c === ']' || c === '}') {
      if (brackets.pop() !== c) return { lines, open: false, malformed: true };
    }
    if (c === '\n') {
      i++;
      if (brackets.length > 0) {
        code += ' ';
        continue;
      }
      endLine();
      lineStart = i;
      continue;
    }
    code += c;
    i++;
  }
  const open = brackets.length > 0;
  if (!open) endLine();
  return { lines, open, malformed: false };
}

const firstWord = (code: string): string => /^[A-Za-z_][A-Za-z0-9_]*/.exec(code)?.[0] ?? '';

/** A compound statement's header: `if x:`, `match x:`, a decorator `@d`. */
function startsCompound(line: LogicalLine): boolean {
  if (line.code.startsWith('@')) return true;
  const word = firstWord(line.code);
  if (COMPOUND.has(word)) return true;
  // match / case are keywords only where a statement starts with them and ends with ':'.
  return (word === 'match' || word === 'case') && line.code.endsWith(':');
}

/** What the console does with `source` (the lines typed so far, joined by "\n"). */
export function blockState(source: string): BlockState {
  const { lines, open, malformed } = scan(source);
  if (open) return 'incomplete';
  if (malformed) return 'complete';
  const first = lines[0];
  if (first === undefined) return 'empty';
  if (!first.atMargin || !startsCompound(first)) return 'complete';
  // `if x` with no ':' is a SyntaxError already.
  if (!first.code.startsWith('@') && !first.code.includes(':')) return 'complete';
  const last = lines[lines.length - 1]!;
  if (lines.length > 1 && last.atMargin) {
    const word = firstWord(last.code);
    const decorated = first.code.startsWith('@') && lines.slice(0, -1).every((l) => l.code.startsWith('@'));
    const continues = CONTINUES.has(word) || (decorated && (startsCompound(last) || word === 'def' || word === 'class'));
    if (!continues) return 'dedent';
  }
  // An empty last line ends the statement, unless its last header has no body yet.
  const endsEmpty = source.endsWith('\n');
  const awaitingBody = last.code.endsWith(':') || last.code.startsWith('@');
  return endsEmpty && !awaitingBody ? 'complete' : 'incomplete';
}
