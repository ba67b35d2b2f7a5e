/**
 * The console's block rules (src/cli/repl-blocks.ts) against Python's own: every case is
 * also given to `codeop.compile_command` in /usr/bin/python3, whose answer is the expected
 * one. "More lines" must agree exactly; Python's "complete" and "SyntaxError" are both
 * "run it" for the console (the session reports the error).
 */
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { blockState } from '../src/cli/repl-blocks.js';

/** Sources as the console joins the lines typed so far (the last one may be the empty line that ends a block). */
const CASES: string[] = [
  // Simple statements and expressions.
  '',
  '   ',
  '# a comment',
  '# one\n# two',
  'x = 1',
  'x = 1\n',
  'x = 1\n\n',
  'x = 1;',
  '1 + 1',
  'print("hi")',
  'lambda: 1',
  'match = 1',
  'case = 2',
  'import os',
  'del x',
  'x: int = 1',
  'match: int',
  'f(x) if y else z',
  '"a" "b"',
  "x = 'it''s'",
  'x = 1  # comment with ( and """',
  // Open brackets go on, blank lines or not.
  'x = (',
  'x = (1,',
  'x = (1,\n2)',
  'x = [\n',
  'x = [\n\n',
  'x = {1:',
  'f(a,\n  b,\n',
  'f(a,\n  b)',
  'x = ((1)',
  'x = )',
  'x = [1, 2)',
  'x = (]',
  'd = {"a": [1, (2,\n3)]}',
  // Strings.
  "x = '''a",
  "x = '''a\n\n",
  "x = '''a\n'''",
  'x = """a\nb"""',
  'x = "a',
  "x = 'abc",
  "x = 'abc\\",
  "x = 'a\\\nb'",
  "x = 'a\\'b'",
  'x = "(" + \')\'',
  "x = r'\\'",
  "f'{x'",
  "x = f'{y}'",
  "x = b'\\x00'",
  // Backslash continuation.
  'x = 1 \\',
  'x = 1 + \\\n2',
  'x = 1 \\\n',
  // Compound statements need an empty line.
  'if x:',
  'if x:\n',
  'if x:\n\n\n',
  'if x: pass',
  'if x: pass\n',
  'if x',
  'if x:\n  pass',
  'if x:\n  pass\n',
  'if x:\n  pass\n  ',
  'if x:\n  pass\n \n',
  'if x:\n  pass\n# c',
  'if x:\n  pass\n# c\n',
  'if x:\n  # c\n',
  'if x:  # c\n',
  'if x:\n\tpass',
  'if x:\n  if y:\n',
  'if x:\n  y = (1,\n',
  'if x:\n  y = (1,\n\n',
  'if x:\n  pass\nelse:',
  'if x:\n  pass\nelif y:\n  pass',
  'if x:\n  pass\nelse:\n  pass\n',
  'if x:\n  pass\ny = 1',
  'for i in range(3):\n    print(i)',
  'for i in range(3):\n    print(i)\n',
  'for x in y: pass\nelse: pass',
  'while True: pass',
  'while True: pass\n',
  'try:\n  pass\nfinally:',
  'try:\n  1/0\nexcept ZeroDivisionError:\n  pass\n',
  'with a: pass\n',
  'with open(f) as g,\\\n     open(h) as i:\n  pass',
  'def f():',
  'def f():\n    return 1',
  'def f():\n    return 1\n',
  'def f():\n    return 1\nprint(f())',
  "def f():\n  return '''\n\n'''\n",
  'def f(\n  a,\n  b):\n  return a\n',
  'async def f(): pass',
  'async def f(): pass\n',
  'class A: pass',
  'class A: pass\n',
  'class A:\n  def f(self):\n    pass\n\n',
  'class A:\n  def f(self):\n    pass\n',
  // Decorators.
  '@d',
  '@d\n',
  '@d\n@e',
  '@d\ndef f(): pass',
  '@d\ndef f(): pass\n',
  '@d\n@e\ndef f(): pass\n',
  '@d\n\ndef f(): pass',
  '@d\nx = 1',
  // match (a soft keyword).
  'match x:',
  'match(x):',
  'match x:\n  case 1:\n    pass\n',
  'match x:\n  case 1:\n    pass',
  // Malformed.
  '  x = 1',
  'else:',
];

/** codeop's verdict for each case: true when it wants more lines. */
function pythonWantsMore(cases: string[]): boolean[] {
  const program = [
    'import codeop, json, sys, warnings',
    'warnings.simplefilter("ignore")',
    'out = []',
    'for source in json.load(sys.stdin):',
    '    try:',
    '        out.append(codeop.compile_command(source) is None)',
    '    except (SyntaxError, ValueError, OverflowError):',
    '        out.append(False)',
    'print(json.dumps(out))',
  ].join('\n');
  return JSON.parse(execFileSync('/usr/bin/python3', ['-I', '-c', program], { input: JSON.stringify(cases), encoding: 'utf8' })) as boolean[];
}

describe('console blocks (against codeop.compile_command)', () => {
  const expected = pythonWantsMore(CASES);

  it.each(CASES.map((source, i) => ({ source, more: expected[i]! })))('$source', ({ source, more }) => {
    expect(blockState(source) === 'incomplete').toBe(more);
  });

  it('tells nothing-to-run and a block ended by a line at the margin apart', () => {
    expect(blockState('')).toBe('empty');
    expect(blockState('# only a comment')).toBe('empty');
    expect(blockState('x = 1')).toBe('complete');
    expect(blockState('def f():\n    return 1\nprint(f())')).toBe('dedent');
    expect(blockState('if x:\n  pass\ny = 1')).toBe('dedent');
    expect(blockState('if x:\n  pass\nelse:')).toBe('incomplete');
  });
});
