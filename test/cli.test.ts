/**
 * The `pybox` command line, spawned for real: `node bin/pybox ...` against the built
 * dist/ (rebuilt before the tests when older than src/). Every test checks exit code,
 * stdout and stderr.
 */
import { closeSync, existsSync, lstatSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { PassThrough } from 'node:stream';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { programStdin } from '../src/cli/inputs.js';
import { outcome, pybox, ROOT, spawnPybox } from './helpers/cli.js';

/** The stderr of a pybox-level message: exactly one line starting with "pybox: ". */
function expectOneLine(stderr: string, pattern: RegExp): void {
  expect(stderr.endsWith('\n')).toBe(true);
  expect(stderr.trimEnd().split('\n')).toHaveLength(1);
  expect(stderr).toMatch(/^pybox: /);
  expect(stderr).toMatch(pattern);
  expect(stderr).not.toMatch(/\n\s+at /); // never a stack trace
}

let dir: string;
const file = (name: string, content: string | Buffer): string => {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
};

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'pybox-cli-test-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('pybox run, passthrough mode', () => {
  it('passes a hello world through and exits 0', async () => {
    const r = await pybox(['run', file('hello.py', 'print("hello, world")\n')]);
    expect(r).toEqual({ code: 0, stdout: 'hello, world\n', stderr: '' });
  });

  it("exits with the program's own exit code and passes its stderr through", async () => {
    const r = await pybox(['run', file('three.py', 'import sys\nprint("out")\nprint("bad thing", file=sys.stderr)\nsys.exit(3)\n')]);
    expect(r).toEqual({ code: 3, stdout: 'out\n', stderr: 'bad thing\n' });
  });

  it('exits 1 with the traceback on stderr for an uncaught exception', async () => {
    const r = await pybox(['run', file('raise.py', 'def f():\n    raise KeyError("k")\nf()\n')]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('File "main.py", line 3');
    expect(r.stderr).toContain("KeyError: 'k'");
  });

  it('passes arguments after -- to the program as sys.argv[1:]', async () => {
    const r = await pybox(['run', file('argv.py', 'import sys\nprint(sys.argv)\n'), '--', '--json', 'b c']);
    expect(r).toEqual({ code: 0, stdout: "['main.py', '--json', 'b c']\n", stderr: '' });
  });

  it('exits 124 with one "pybox: timeout:" line when the wall clock runs out', async () => {
    const r = await pybox(['run', '--timeout', '2000', '--cpu', '60000', file('loop.py', 'print("started", flush=True)\nwhile True: pass\n')]);
    expect(r.code).toBe(124);
    expect(r.stdout).toBe('started\n');
    expectOneLine(r.stderr, /^pybox: timeout: .*2000 ms/);
  });

  it('exits 124 with one "pybox: cpu_limit:" line when the CPU budget runs out', async () => {
    const r = await pybox(['run', '--cpu', '300', '--timeout', '30000', file('spin.py', 'while True: pass\n')]);
    expect(r.code).toBe(124);
    expectOneLine(r.stderr, /^pybox: cpu_limit: .*300 ms/);
  });

  it('exits 137 and truncates when the output flood passes --max-output', async () => {
    const r = await pybox(['run', '--max-output', '1000', file('flood.py', 'while True: print("x" * 100)\n')]);
    expect(r.code).toBe(137);
    expect(r.stdout.length).toBeLessThanOrEqual(1000);
    expect(r.stdout).toMatch(/^(x{100}\n)+x*$/);
    expectOneLine(r.stderr, /^pybox: output_limit: .*1000 bytes/);
  });

  it('puts the limit line on a line of its own after unterminated program stderr', async () => {
    const r = await pybox(['run', '--max-output', '1000', file('flood2.py', 'import sys\nsys.stderr.write("partial")\nsys.stderr.flush()\nwhile True: print("y" * 100)\n')]);
    expect(r.code).toBe(137);
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toBe('partial');
    expect(lines[1]).toMatch(/^pybox: output_limit: /);
  });

  it('exits 137 with one "pybox: memory_limit:" line over --memory', async () => {
    const r = await pybox(['run', '--memory', '32', file('hog.py', 'blocks = [bytearray(8 * 1024 * 1024) for _ in range(64)]\nprint("survived")\n')]);
    expect(r.code).toBe(137);
    expect(r.stdout).not.toContain('survived');
    expect(r.stderr.trimEnd().split('\n').at(-1)).toMatch(/^pybox: memory_limit: .*32 MiB/);
  });

  it('exits 137 with one "pybox: killed:" line when the program dies by a signal', async () => {
    const r = await pybox(['run', file('segv.py', 'import os, signal\nos.kill(os.getpid(), signal.SIGSEGV)\n')]);
    expect(r.code).toBe(137);
    expectOneLine(r.stderr, /^pybox: killed: .*SIGSEGV/);
  });
});

describe('pybox run, inputs and outputs', () => {
  it('--json prints exactly one RunResult object with collected files as base64, and exits 0', async () => {
    const code = 'import os\nos.makedirs("out/deep")\nopen("out/deep/r.bin", "wb").write(bytes([0, 255, 1]) + b"data")\nprint("done")\n';
    const r = await pybox(['run', '--json', '--collect', 'out/**', file('collect.py', code)]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout.endsWith('\n')).toBe(true);
    expect(r.stdout.trimEnd().split('\n')).toHaveLength(1);
    const result = JSON.parse(r.stdout) as Record<string, unknown> & { files: Record<string, string> };
    expect(result.status).toBe('ok');
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toBe('done\n');
    expect(Object.keys(result.files)).toEqual(['out/deep/r.bin']);
    expect(Buffer.from(result.files['out/deep/r.bin'] as string, 'base64')).toEqual(Buffer.concat([Buffer.from([0, 255, 1]), Buffer.from('data')]));
  });

  it('--json exits 0 and reports the status even when the program fails or hits a limit', async () => {
    const failed = await pybox(['run', '--json', file('fail.py', 'import sys\nsys.exit(3)\n')]);
    expect(failed.code).toBe(0);
    expect(JSON.parse(failed.stdout)).toMatchObject({ status: 'error', exitCode: 3 });
    const slow = await pybox(['run', '--json', '--timeout', '300', file('slow.py', 'while True: pass\n')]);
    expect(slow.code).toBe(0);
    expect(slow.stderr).toBe('');
    expect(JSON.parse(slow.stdout)).toMatchObject({ status: 'timeout', files: {} });
  });

  it('--file copies a host file into /workspace', async () => {
    const data = file('data.csv', 'a,b\n1,2\n');
    const r = await pybox(['run', '--file', `inputs/data.csv=${data}`, file('read.py', 'print(open("/workspace/inputs/data.csv").read(), end="")\n')]);
    expect(r).toEqual({ code: 0, stdout: 'a,b\n1,2\n', stderr: '' });
  });

  it('--stdin supplies the program stdin from a host file', async () => {
    const r = await pybox(['run', '--stdin', file('in.txt', 'from a file\n'), file('upper.py', 'import sys\nprint(sys.stdin.read().upper(), end="")\n')]);
    expect(r).toEqual({ code: 0, stdout: 'FROM A FILE\n', stderr: '' });
  });

  it('- reads the code from stdin, and --stdin then feeds the program', async () => {
    const plain = await pybox(['run', '-'], { input: 'print(6 * 7)\n' });
    expect(plain).toEqual({ code: 0, stdout: '42\n', stderr: '' });
    const fed = await pybox(['run', '-', '--stdin', file('words.txt', 'stressed\n')], { input: 'print(input()[::-1])\n' });
    expect(fed).toEqual({ code: 0, stdout: 'desserts\n', stderr: '' });
  });

  it('--out-dir writes collected files, creating subdirectories', async () => {
    const out = join(dir, 'out-ok');
    const r = await pybox(['run', '--collect', 'res/*.txt', '--out-dir', out, file('w.py', 'import os\nos.makedirs("res")\nopen("res/a.txt","w").write("alpha")\nopen("res/b.txt","w").write("beta")\n')]);
    expect(r).toEqual({ code: 0, stdout: '', stderr: '' });
    expect(readFileSync(join(out, 'res/a.txt'), 'utf8')).toBe('alpha');
    expect(readFileSync(join(out, 'res/b.txt'), 'utf8')).toBe('beta');
  });

  it('--out-dir refuses pre-planted symlinks (file and directory) and leaves their targets untouched', async () => {
    const out = join(dir, 'out-trap');
    const outside = join(dir, 'outside');
    mkdirSync(join(out, 'res'), { recursive: true });
    mkdirSync(outside);
    writeFileSync(join(outside, 'victim.txt'), 'original');
    symlinkSync(join(outside, 'victim.txt'), join(out, 'res', 'a.txt'));
    symlinkSync(outside, join(out, 'via'));
    const code = 'import os\nfor d in ("res", "via"): os.makedirs(d)\nopen("res/a.txt","w").write("pwned")\nopen("via/victim.txt","w").write("pwned")\nopen("via/new.txt","w").write("pwned")\nopen("fine.txt","w").write("fine")\n';
    const r = await pybox(['run', '--collect', 'res/a.txt', '--collect', 'via/*', '--collect', 'fine.txt', '--out-dir', out, file('trap.py', code)]);
    expect(r.code).toBe(125);
    expect(r.stdout).toBe('');
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines.length).toBe(3);
    for (const line of lines) expect(line).toMatch(/^pybox: --out-dir: not written: .*symlink/);
    // Nothing went through the links, and the links are still links.
    expect(readFileSync(join(outside, 'victim.txt'), 'utf8')).toBe('original');
    expect(existsSync(join(outside, 'new.txt'))).toBe(false);
    expect(lstatSync(join(out, 'res', 'a.txt')).isSymbolicLink()).toBe(true);
    expect(lstatSync(join(out, 'via')).isSymbolicLink()).toBe(true);
    // The safe file was still written.
    expect(readFileSync(join(out, 'fine.txt'), 'utf8')).toBe('fine');
  });
});

describe("pybox run, the program's stdin", () => {
  const ADD = 'a = input()\nb = input()\nprint(int(a) + int(b))\n';

  it('gives a program run from a file pybox\'s own stdin, redirected from a file (`pybox run prog.py < input.txt`)', async () => {
    const input = openSync(file('numbers.txt', '3\n4\n'), 'r');
    try {
      const child = spawnPybox(['run', file('add.py', ADD)], input);
      expect(await outcome(child)).toEqual({ code: 0, stdout: '7\n', stderr: '' });
    } finally {
      closeSync(input);
    }
  });

  it('and piped (`... | pybox run prog.py`)', async () => {
    expect(await pybox(['run', file('add2.py', ADD)], { input: '30\n12\n' })).toEqual({ code: 0, stdout: '42\n', stderr: '' });
  });

  it('streams both ways: an interactive program answers line 1 before line 2 is written', async () => {
    const prog = file('chat.py', 'name = input("name? ")\nprint("hello", name, flush=True)\nage = input("age? ")\nprint("in ten years", int(age) + 10)\n');
    const child = spawnPybox(['run', prog]);
    const done = outcome(child);
    let stdout = '';
    const replied = new Promise<string>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk.toString('utf8');
        if (stdout.includes('hello ada\n')) resolve(stdout);
      });
      child.on('exit', () => reject(new Error(`pybox exited before the reply to line 1: ${JSON.stringify(stdout)}`)));
    });
    child.stdin.write('ada\n'); // line 1, and the pipe stays open
    expect(await replied).toMatch(/^name\? hello ada\n/);
    child.stdin.end('36\n'); // line 2, only now
    expect(await done).toEqual({ code: 0, stdout: 'name? hello ada\nage? in ten years 46\n', stderr: '' });
  });

  it('--stdin still wins over what is piped in', async () => {
    const r = await pybox(['run', '--stdin', file('from-file.txt', '1\n2\n'), file('add3.py', ADD)], { input: '100\n200\n' });
    expect(r).toEqual({ code: 0, stdout: '3\n', stderr: '' });
    const dash = await pybox(['run', '--stdin', '-', file('add4.py', ADD)], { input: '5\n6\n' });
    expect(dash).toEqual({ code: 0, stdout: '11\n', stderr: '' });
  });

  it('leaves a terminal out (empty stdin), and stdin spent on the code (-)', async () => {
    const tty = Object.assign(new PassThrough(), { isTTY: true });
    expect(await programStdin('prog.py', undefined, tty)).toBeUndefined();
    const pipe = new PassThrough();
    expect(await programStdin('prog.py', undefined, pipe)).toBe(pipe);
    expect(await programStdin('-', undefined, pipe)).toBeUndefined();
  });
});

describe('pybox run, usage errors: one line, exit 2, nothing runs', () => {
  const RAN = 'print("RAN")\n';

  it.each([
    ['an unknown flag', () => ['run', '--no-such-flag', file('u1.py', RAN)], /unknown option '--no-such-flag'/],
    ['a number with junk', () => ['run', '--timeout', '12abc', file('u2.py', RAN)], /--timeout .*"12abc"/],
    ['a fractional number', () => ['run', '--memory', '64.5', file('u3.py', RAN)], /--memory .*"64\.5"/],
    ['a limit out of range', () => ['run', '--processes', '0', file('u4.py', RAN)], /--processes must be between 1 and/],
    ['a missing code file', () => ['run', join(dir, 'does-not-exist.py')], /cannot read code file .*does-not-exist\.py.*no such file/],
    ['code over 1 MiB', () => ['run', file('big.py', RAN + '#'.repeat(1024 * 1024))], /is \d+ bytes; the maximum is 1048576 bytes/],
    ['non-UTF-8 code', () => ['run', file('latin.py', Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(RAN)]))], /not valid UTF-8/],
    ['bad --file syntax', () => ['run', '--file', 'no-equals-sign', file('u5.py', RAN)], /--file expects <sandbox-path>=<host-path>/],
    ['a --file escaping /workspace', () => ['run', '--file', `../x=${file('x.txt', 'x')}`, file('u6.py', RAN)], /sandbox path "\.\.\/x" is not allowed/],
    ['an unreadable --stdin', () => ['run', '--stdin', join(dir, 'no-stdin.txt'), file('u7.py', RAN)], /cannot read --stdin file/],
    ['a collect pattern outside /workspace (library E_OPTIONS_INVALID)', () => ['run', '--json', '--collect', '../etc/*', file('u8.py', RAN)], /collect pattern must stay inside \/workspace/],
    ['a missing subcommand argument', () => ['run'], /missing required argument 'file'/],
  ])('%s', async (_name, args, pattern) => {
    const r = await pybox(args());
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expectOneLine(r.stderr, pattern);
  });

  it('refuses code over 1 MiB on stdin', async () => {
    const r = await pybox(['run', '-'], { input: RAN + '#'.repeat(1024 * 1024) });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expectOneLine(r.stderr, /code on stdin is more than 1048576 bytes/);
  });

  it('a missing interpreter exits 3 with a hint to run pybox doctor', async () => {
    const r = await pybox(['run', '--python', '/nonexistent/python3', file('u9.py', RAN)]);
    expect(r.code).toBe(3);
    expect(r.stdout).toBe('');
    expectOneLine(r.stderr, /not found.*pybox doctor/);
  });
});

describe('pybox doctor, help and version', () => {
  it('doctor --json reports a host that can run pybox, with every check', async () => {
    const r = await pybox(['doctor', '--json']);
    expect(r.code).toBe(0);
    expect(r.stdout.trimEnd().split('\n')).toHaveLength(1);
    const report = JSON.parse(r.stdout) as { ok: boolean; checks: { name: string; status: string; detail: string; fix?: string }[] };
    expect(report.ok).toBe(true);
    const byName = new Map(report.checks.map((c) => [c.name, c]));
    for (const name of ['bwrap', 'python', 'userns', 'seccomp', 'cgroups']) expect(byName.has(name)).toBe(true);
    for (const name of ['bwrap', 'python', 'userns', 'seccomp']) expect(byName.get(name)?.status).toBe('ok');
    expect(['ok', 'warn']).toContain(byName.get('cgroups')?.status);
    expect(byName.get('bwrap')?.detail).toMatch(/bubblewrap \d/);
    expect(byName.get('python')?.detail).toMatch(/Python 3\.\d+/);
    expect(byName.get('userns')?.detail).toContain('print(1)');
    expect(byName.get('seccomp')?.detail).toContain('the test jail ran under it');
    expect(byName.get('cgroups')?.detail).toMatch(/cgroup v[12] under|no cgroups/);
    // Every run path was tried with a real run; on this host (cgroups writable) all three work.
    expect(byName.get('paths')?.detail).toMatch(/mode 'auto', which runs on the zygote path here/);
    expect(byName.get('paths')?.detail).toMatch(/cold: yes .*pool: yes .*zygote: yes /);
    for (const c of report.checks) expect(['ok', 'warn', 'fail']).toContain(c.status);
    // The optional data stack: each package this host has is named, with whether it imports in the jail.
    const data = byName.get('data');
    expect(data?.status).toBe('ok');
    expect(data?.detail).toMatch(/^none installed \(optional: apt-get install|^(\w+: imports in the jail(; |$))+/);
  });

  it('doctor (human form) prints one line per check and fails for a missing interpreter', async () => {
    const good = await pybox(['doctor']);
    expect(good.code).toBe(0);
    expect(good.stdout).toMatch(/^ok {4}bwrap /m);
    expect(good.stdout).toMatch(/^ok {4}userns /m);
    const bad = await pybox(['doctor', '--python', '/nonexistent/python3']);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/^FAIL {2}python .*\/nonexistent\/python3.*fix: apt-get install -y python3/m);
    expect(bad.stdout).toContain('pybox cannot run here');
  });

  it('--version prints the package version; --help lists the commands', async () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    expect(await pybox(['--version'])).toEqual({ code: 0, stdout: `pybox ${pkg.version}\n`, stderr: '' });
    const help = await pybox(['--help']);
    expect(help.code).toBe(0);
    for (const command of ['run', 'doctor', 'attack']) expect(help.stdout).toMatch(new RegExp(`^  ${command}\\b`, 'm'));
    const runHelp = await pybox(['run', '--help']);
    expect(runHelp.code).toBe(0);
    for (const flag of ['--json', '--timeout <ms>', '--cpu <ms>', '--memory <MiB>', '--processes <n>', '--max-output <bytes>', '--file', '--collect', '--out-dir', '--stdin']) {
      expect(runHelp.stdout).toContain(flag);
    }
    expect(runHelp.stdout).toMatch(/124 +timeout or cpu_limit/);
  });
});
