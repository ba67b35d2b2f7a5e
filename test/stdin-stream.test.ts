/**
 * A run's stdin as a stream and its output as it comes (`stdin: AsyncIterable`,
 * `onStdout`, `onStderr`), on every path: the program gets each chunk when it is written, answers
 * before the next one is, a source is never read further than the program's pipe takes,
 * and a source the program leaves unread is let go when the run ends.
 */
import { PassThrough, Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { PyboxError, Sandbox } from '../src/index.js';
import { PATHS, sandboxesForBlock } from './helpers/sandboxes.js';

/** Prints a prompt, answers each line it reads, one answer per line. */
const INTERACTIVE = [
  'while True:',
  '    try: line = input("> ")',
  '    except EOFError: break',
  '    print("got", line.upper(), flush=True)',
].join('\n');

describe.each(PATHS)('path %s', (mode) => {
  const { sandbox } = sandboxesForBlock({ sandbox: { mode, limits: { timeoutMs: 10_000 } } });

  it('reads a Readable to its end as the program reads stdin', async () => {
    const r = await sandbox.run('import sys\na = input()\nb = input()\nprint(int(a) + int(b), repr(sys.stdin.read()))', {
      stdin: Readable.from(['3\n', Buffer.from('4\nrest')]),
    });
    expect(r.status).toBe('ok');
    expect(r.stdout).toBe("7 'rest'\n");
  });

  it('writes each line only after the answer to the one before came out (interactive through a pipe)', async () => {
    const seen: string[] = [];
    let answered: () => void = () => undefined;
    const onStdout = (chunk: string) => {
      seen.push(`stdout:${chunk}`);
      if (seen.join('').includes('got ONE\n')) answered();
    };
    const written: string[] = [];
    async function* lines(): AsyncGenerator<string> {
      written.push('one');
      yield 'one\n';
      await new Promise<void>((resolve) => (answered = resolve)); // the reply to line 1, live
      written.push(`two, after: ${seen.join('')}`);
      yield 'two\n';
    }
    const r = await sandbox.run(INTERACTIVE, { stdin: lines(), onStdout });
    expect(r.status).toBe('ok');
    expect(r.stdout).toBe('> got ONE\n> got TWO\n> ');
    expect(written[1]).toContain('got ONE');
    expect(written[1]).not.toContain('TWO');
    // The listener saw exactly the result's output.
    expect(seen.filter((s) => s.startsWith('stdout:')).map((s) => s.slice(7)).join('')).toBe(r.stdout);
  });

  it('pulls an endless source only as far as the program reads, and lets it go at the end', async () => {
    let pulled = 0;
    const chunk = Buffer.alloc(64 * 1024, 'y\n');
    const endless = new Readable({
      read() {
        pulled += chunk.length;
        this.push(chunk);
      },
    });
    const r = await sandbox.run('print(input())', { stdin: endless });
    expect(r.status).toBe('ok');
    expect(r.stdout).toBe('y\n');
    expect(endless.destroyed).toBe(true);
    // The program's pipe and one chunk in flight, not the source's whole endless stream.
    expect(pulled).toBeLessThan(4 * 1024 * 1024);
  });

  it('ends a run whose program does not read a source that never ends', async () => {
    const silent = new PassThrough(); // never written, never ended
    const r = await sandbox.run('print("done")', { stdin: silent });
    expect(r.status).toBe('ok');
    expect(r.stdout).toBe('done\n');
    expect(silent.destroyed).toBe(true);
  });

  it('gives a source that fails the program as the end of its stdin', async () => {
    async function* failing(): AsyncGenerator<Uint8Array> {
      yield Buffer.from('first\n');
      throw new Error('the source broke');
    }
    const r = await sandbox.run('import sys\nprint(repr(sys.stdin.read()))', { stdin: failing() });
    expect(r.status).toBe('ok');
    expect(r.stdout).toBe("'first\\n'\n");
  });

  it('streams stdout and stderr each in its own order, characters whole', async () => {
    const events: string[] = [];
    const r = await sandbox.run(
      'import sys\nfor i in range(3):\n    print("out", i, flush=True)\n    print("err", i, file=sys.stderr, flush=True)\n' +
        'sys.stdout.buffer.write(b"\\xc3"); sys.stdout.flush(); sys.stdout.buffer.write(b"\\xa9\\n"); sys.stdout.flush()',
      { onStdout: (chunk) => events.push(`1:${chunk}`), onStderr: (chunk) => events.push(`2:${chunk}`) },
    );
    expect(r.status).toBe('ok');
    // Two pipes: the order between them is the host's reads, each one's own order is kept.
    expect(events.filter((e) => e.startsWith('2:')).map((e) => e.slice(2)).join('')).toBe('err 0\nerr 1\nerr 2\n');
    expect(events.filter((e) => e.startsWith('1:')).map((e) => e.slice(2)).join('')).toBe(r.stdout);
    expect(r.stdout.endsWith('\u00e9\n')).toBe(true);
    expect(events.some((e) => e.includes('\ufffd'))).toBe(false);
  });

  it('hands the listener its output up to the limit, and survives a listener that throws', async () => {
    const got = { stdout: '', stderr: '' };
    const r = await sandbox.run('import sys\nsys.stderr.write("e" * 10)\nsys.stdout.flush()\nprint("x" * 5000)', {
      limits: { outputBytes: 1000 },
      onStdout: (chunk) => void (got.stdout += chunk),
      onStderr: (chunk) => void (got.stderr += chunk),
    });
    expect(r.status).toBe('output_limit');
    expect(got).toEqual({ stdout: r.stdout, stderr: r.stderr });
    const thrown = await sandbox.run('print("still here")', {
      onStdout: () => {
        throw new Error('listener bug');
      },
    });
    expect(thrown.status).toBe('ok');
    expect(thrown.stdout).toBe('still here\n');
  });
});

describe('validation', () => {
  it('refuses a stdin or a listener of the wrong kind before anything runs', async () => {
    const sandbox = await Sandbox.create({ mode: 'cold' });
    try {
      for (const options of [{ stdin: 42 }, { stdin: { read: () => 'x' } }, { onStdout: 'stdout' }, { onStderr: 42 }]) {
        const error = await sandbox.run('pass', options as never).then(() => null, (e: unknown) => e);
        expect(error).toBeInstanceOf(PyboxError);
        expect((error as PyboxError).code).toBe('E_OPTIONS_INVALID');
      }
    } finally {
      await sandbox.close();
    }
  });
});
