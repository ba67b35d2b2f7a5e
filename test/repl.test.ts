/**
 * `pybox repl`, for real: in a terminal (tmux gives it a pty; keys are typed, the screen
 * is read back), and with a program piped in. Every step waits for what the screen shows.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { duration } from '../src/cli/session-flags.js';
import { pybox, ROOT } from './helpers/cli.js';
import { scaled } from './helpers/time-scale.js';
import { Terminal } from './helpers/tmux.js';

const terminals: Terminal[] = [];

/** `pybox repl ...flags` in a fresh terminal, once its first prompt shows. */
async function repl(...flags: string[]): Promise<Terminal> {
  const term = Terminal.start([process.execPath, 'bin/pybox', 'repl', ...flags], { cwd: ROOT });
  terminals.push(term);
  await term.waitForEnd('>>> ');
  return term;
}

afterEach(() => {
  for (const term of terminals.splice(0)) term.close();
});

describe('pybox repl in a terminal', () => {
  it('shows a banner and prompts, runs a multi-line def, prints reprs, keeps state, and exits 0 at Ctrl-D', async () => {
    const term = await repl();
    const banner = term.screen();
    expect(banner).toMatch(/^Python 3\.\d+\.\d+ .* in a pybox \d+\.\d+\.\d+\S* jail\n/);
    expect(banner).toMatch(/exit\(\) or Ctrl-D leaves/);

    term.type('def double(a):');
    await term.waitForEnd('... ');
    term.type('    return a * 2');
    await term.waitForEnd('... ');
    term.type('');
    await term.waitFor((s) => s.endsWith('... \n>>>'), 'the prompt after the def');
    term.type('double(21)');
    await term.waitFor((s) => s.endsWith('>>> double(21)\n42\n>>>'), 'the repr 42');

    term.type('names = ["a", "b"]');
    await term.waitFor((s) => s.endsWith('>>> names = ["a", "b"]\n>>>'), 'the prompt after an assignment');
    term.type('names + [double.__name__]');
    await term.waitFor((s) => s.endsWith("\n['a', 'b', 'double']\n>>>"), 'a repr from state kept across cells');
    term.type('None');
    await term.waitFor((s) => s.endsWith('>>> None\n>>>'), 'no repr for None');
    term.type('exit');
    await term.waitFor((s) => s.endsWith('Use exit() or Ctrl-D (i.e. EOF) to exit\n>>>'), "exit's repr");

    term.keys('C-d');
    expect(await term.exitStatus()).toBe(0);
  });

  it('prints a traceback and the session lives on with its state', async () => {
    const term = await repl();
    term.type('x = 10');
    await term.waitFor((s) => s.endsWith('>>> x = 10\n>>>'), 'the prompt');
    term.type('x / 0');
    const screen = await term.waitFor((s) => s.endsWith('ZeroDivisionError: division by zero\n>>>'), 'the traceback');
    expect(screen).toMatch(/Traceback \(most recent call last\):\n {2}File "<cell \d+>", line 1, in <module>/);
    term.type('x = = 1');
    await term.waitFor((s) => s.endsWith('SyntaxError: invalid syntax\n>>>'), 'the syntax error');
    term.type('x + 1');
    await term.waitFor((s) => s.endsWith('>>> x + 1\n11\n>>>'), 'state after the error');
  });

  it('answers input() from the terminal, with its prompt shown', async () => {
    const term = await repl();
    term.type('name = input("who are you? ")');
    await term.waitForEnd('who are you? ');
    term.type('Ada');
    await term.waitFor((s) => s.endsWith('who are you? Ada\n>>>'), 'the prompt after the answer');
    term.type('print("hello,", name)');
    await term.waitFor((s) => s.endsWith('\nhello, Ada\n>>>'), 'the answer used');

    // Ctrl-C while input() waits: KeyboardInterrupt in the cell, and the session goes on.
    term.type('again = input("again? ")');
    await term.waitForEnd('again? ');
    term.keys('C-c');
    await term.waitFor((s) => s.endsWith('KeyboardInterrupt\n>>>'), 'input() interrupted');
    expect(term.screen()).toMatch(/again = input\("again\? "\)\n\s*\^+\nKeyboardInterrupt\n>>>$/);
    // A prompt continues the line the output left unfinished, as Python's does.
    term.type('print("no newline", end="")');
    await term.waitFor((s) => s.endsWith('\nno newline>>>'), 'the prompt after the unfinished line');
  });

  it('Ctrl-C interrupts a running cell and the next cell works; at a prompt it drops the line', async () => {
    const term = await repl();
    term.type('def spin():');
    await term.waitForEnd('... ');
    term.type('    print("spinning", flush=True)');
    await term.waitForEnd('... ');
    term.type('    while True: pass');
    await term.waitForEnd('... ');
    term.type('');
    await term.waitForEnd('>>> ');
    term.type('spin()');
    await term.waitFor((s) => s.endsWith('>>> spin()\nspinning'), 'the cell running');
    term.keys('C-c');
    const screen = await term.waitFor((s) => s.endsWith('KeyboardInterrupt\n>>>'), 'the interrupted cell');
    // The guest may be preempted right after its print and take the interrupt there, before the loop.
    expect(screen).toMatch(/in spin\n {4}(while True: pass|print\("spinning", flush=True\))\nKeyboardInterrupt\n>>>$/);
    term.type('6 * 7');
    await term.waitFor((s) => s.endsWith('>>> 6 * 7\n42\n>>>'), 'the next cell');

    term.type('if True:');
    await term.waitForEnd('... ');
    term.type('unfinished', { enter: false });
    term.keys('C-c');
    await term.waitFor((s) => s.endsWith('\nKeyboardInterrupt\n>>>'), 'a fresh prompt');
    term.type('"after"');
    await term.waitFor((s) => s.endsWith(`>>> "after"\n'after'\n>>>`), 'a cell after the dropped block');
  });

  it('streams output while the cell runs', async () => {
    const term = await repl('--timeout', '600000');
    term.type('import time; print("before", flush=True); time.sleep(600); print("after")');
    // The cell is asleep (no prompt follows), and its first print is on the screen already.
    await term.waitFor((s) => s.endsWith('\nbefore'), 'the print before the sleep, the cell still running');
    term.keys('C-c');
    const screen = await term.waitFor((s) => s.endsWith('KeyboardInterrupt\n>>>'), 'the sleep interrupted');
    expect(screen.split('\n')).not.toContain('after');
  });

  it('exit(3) exits 3', async () => {
    const term = await repl();
    term.type('exit(3)');
    expect(await term.exitStatus()).toBe(3);
  });

  it('left alone past --idle-timeout, it ends at its prompt: one line says why, and the exit code is 124', async () => {
    const idleMs = scaled(1500);
    // Not repl(): the session may idle out before its first prompt is seen.
    const term = Terminal.start([process.execPath, 'bin/pybox', 'repl', '--idle-timeout', String(idleMs)], { cwd: ROOT });
    terminals.push(term);
    expect(await term.exitStatus()).toBe(124);
    expect(term.screen()).toMatch(new RegExp(`\\n>>> ?\\npybox: idle: no cell ran for ${duration(idleMs)} \\(--idle-timeout\\); the session has ended\\n`));
  });

  it('a memory limit ends the session: one line says why, and the exit code is 137', async () => {
    const term = await repl('--memory', '64');
    term.type('hog = b"x" * (512 * 1024 * 1024)');
    expect(await term.exitStatus()).toBe(137);
    expect(term.screen()).toMatch(/pybox: memory_limit: the session exceeded its 64 MiB memory limit; the session has ended/);
  });
});

describe('pybox repl with a program piped in', () => {
  it('runs it block by block: reprs, compound statements, a last block without its empty line', async () => {
    const program = ['x = 6', 'x * 7', 'def f():', '    return x', 'f()', 'for i in range(2):', '    print(i)', '', '"a" + "b"', 'if x:', '    print("yes")'].join('\n');
    const r = await pybox(['repl'], { input: program });
    // Only a block's last top-level expression shows its repr (not one inside the for loop's body).
    expect(r).toEqual({ code: 0, stdout: "42\n6\n0\n1\n'ab'\nyes\n", stderr: '' });
  });

  it('reports an exception and runs the next block; input() reads the lines that follow it', async () => {
    const r = await pybox(['repl'], { input: '1/0\nname = input("who? ")\nAda\nprint("hello,", name)\n' });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('who? hello, Ada\n');
    expect(r.stderr).toMatch(/^Traceback \(most recent call last\):\n[\s\S]*ZeroDivisionError: division by zero\n$/);
  });

  it('SystemExit(n) exits n and runs nothing after it', async () => {
    const r = await pybox(['repl'], { input: 'print("one")\nimport sys; sys.exit(4)\nprint("two")\n' });
    expect(r).toEqual({ code: 4, stdout: 'one\n', stderr: '' });
  });

  it('a cell past its timeout is interrupted and the session goes on', async () => {
    const r = await pybox(['repl', '--timeout', '1000'], { input: 'import time\ntime.sleep(60)\nprint("next")\n' });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('next\n');
    expect(r.stderr).toMatch(/KeyboardInterrupt\npybox: timeout: the cell ran longer than 1000 ms and was interrupted\n$/);
  });

  it('a memory limit ends it with exit 137 and one line', async () => {
    const r = await pybox(['repl', '--memory', '64'], { input: 'hog = b"x" * (512 * 1024 * 1024)\nprint("never")\n' });
    expect(r.code).toBe(137);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe('pybox: memory_limit: the session exceeded its 64 MiB memory limit; the session has ended\n');
  });

  it('--max-lifetime ends it in the middle of a cell with exit 124 and one line', async () => {
    const lifetimeMs = scaled(1500);
    const r = await pybox(['repl', '--timeout', String(scaled(60_000)), '--max-lifetime', String(lifetimeMs)], { input: 'import time\ntime.sleep(600)\nprint("never")\n' });
    expect(r.code).toBe(124);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(`pybox: lifetime: the session reached its maximum lifetime of ${duration(lifetimeMs)} (--max-lifetime) and has ended\n`);
  });

  it('--preload imports its modules before the first cell; one that does not import is refused', async () => {
    const cell = 'import sys\n"fractions" in sys.modules\n';
    expect(await pybox(['repl', '--preload', 'fractions'], { input: cell })).toEqual({ code: 0, stdout: 'True\n', stderr: '' });
    expect(await pybox(['repl'], { input: cell })).toEqual({ code: 0, stdout: 'False\n', stderr: '' });
    const bad = await pybox(['repl', '--preload', 'no_such_mod'], { input: '1\n' });
    expect(bad).toMatchObject({ code: 2, stdout: '' });
    expect(bad.stderr).toMatch(/^pybox: preload: no_such_mod does not import in the jail \(ModuleNotFoundError[^\n]*\)\n$/);
  });

  it('refuses a bad --idle-timeout or --max-lifetime with exit 2 and one line', async () => {
    for (const [flag, value, message] of [
      ['--idle-timeout', 'abc', 'pybox: --idle-timeout expects a whole number of milliseconds, got "abc"'],
      ['--idle-timeout', '0', 'pybox: --idle-timeout must be between 100 and 604800000 milliseconds, got 0'],
      ['--max-lifetime', '-5', 'pybox: --max-lifetime expects a whole number of milliseconds, got "-5"'],
    ] as const) {
      const r = await pybox(['repl', flag, value], { input: 'print(1)\n' });
      expect({ flag, value, ...r }).toEqual({ flag, value, code: 2, stdout: '', stderr: message + '\n' });
    }
  });

  it('refuses a bad flag with exit 2 before anything runs', async () => {
    const r = await pybox(['repl', '--memory', 'lots'], { input: 'print(1)\n' });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^pybox: --memory expects a whole number of MiB/);
  });
});

describe('pybox repl, the rest', () => {
  it('is in --help, with its exit codes in its own help', async () => {
    const help = await pybox(['--help']);
    expect(help.stdout).toMatch(/^ {2}repl\b/m);
    const own = await pybox(['repl', '--help']);
    expect(own.code).toBe(0);
    expect(own.stdout).toMatch(/--memory <MiB>/);
    expect(own.stdout).toMatch(/^ {2}--idle-timeout <ms> /m);
    expect(own.stdout).toMatch(/^ {2}--max-lifetime <ms> /m);
    expect(own.stdout).toMatch(/^ {2}137 /m);
  });

  it("the CI script installs what the README's test command installs (tmux among them)", () => {
    const packages = (text: string): string[] =>
      [...text.replace(/\\\n/g, ' ').matchAll(/apt-get install ([^&\n>]*)/g)]
        .flatMap((m) => m[1]!.split(/\s+/))
        .filter((word) => word !== '' && !word.startsWith('-'))
        .sort();
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const testCommand = readme.slice(readme.indexOf('Pass its tests'), readme.indexOf('npm test'));
    const ci = packages(readFileSync(join(ROOT, '.ci/run'), 'utf8'));
    expect(ci).toContain('tmux');
    expect(ci).toEqual(packages(testCommand));
  });
});
