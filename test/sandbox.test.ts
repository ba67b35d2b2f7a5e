/** The library API as a caller sees it: inputs in, results out, errors typed. */
import { describe, expect, it } from 'vitest';
import { PyboxError, Sandbox } from '../src/index.js';
import { idleWarmJails } from '../src/backends/native/pool/inventory.js';
import { jailCgroupNames } from './helpers/host-state.js';
import { sandboxesForBlock } from './helpers/sandboxes.js';
import { heldStdin, runUntilPrinted, until } from './helpers/wait.js';
import { COLD_CGROUPS_KEPT } from '../src/backends/native/jail/environment.js';

const { sandbox, cold } = sandboxesForBlock({ sandbox: { limits: { timeoutMs: 5000 } }, cold: { limits: { timeoutMs: 5000 }, mode: 'cold' } });

describe('running code', () => {
  it('runs as __main__ from main.py in /workspace with the given argv and stdin', async () => {
    const r = await sandbox.run(
      'import os, sys\nprint(__name__, __file__, os.getcwd(), sys.argv)\nprint(sys.stdin.read().upper())',
      { argv: ['a', 'b c'], stdin: 'from stdin' },
    );
    expect(r.status).toBe('ok');
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toBe("__main__ main.py /workspace ['main.py', 'a', 'b c']\nFROM STDIN\n");
    expect(r.error).toBeNull();
    expect(r.durationMs).toBeGreaterThan(0);
    expect(r.memoryPeakBytes === null || r.memoryPeakBytes > 0).toBe(true);
  });

  it('passes binary stdin and unicode output through unchanged', async () => {
    const r = await sandbox.run('import sys\nsys.stdout.buffer.write(sys.stdin.buffer.read()[::-1])\nprint("\\nπ ✓ 𝄞")', {
      stdin: new Uint8Array([1, 2, 3]),
    });
    expect(Buffer.from(r.stdout, 'utf8').subarray(0, 3)).toEqual(Buffer.from([3, 2, 1]));
    expect(r.stdout.endsWith('π ✓ 𝄞\n')).toBe(true);
  });

  it('reports an uncaught exception with a traceback of the user’s frames only', async () => {
    const r = await sandbox.run('def f():\n    raise KeyError("k")\n\nf()');
    expect(r.status).toBe('error');
    expect(r.exitCode).toBe(1);
    expect(r.error?.type).toBe('KeyError');
    expect(r.error?.message).toBe("'k'");
    expect(r.error?.traceback).toContain('File "main.py", line 4, in <module>');
    expect(r.error?.traceback).toContain('    raise KeyError("k")');
    expect(r.error?.traceback).not.toContain('<string>');
    expect(r.stderr).toBe(r.error?.traceback);
  });

  it('reports syntax errors and chained exceptions', async () => {
    const syntax = await sandbox.run('def broken(:\n  pass');
    expect(syntax.status).toBe('error');
    expect(syntax.error?.type).toBe('SyntaxError');
    expect(syntax.stderr).toContain('main.py');
    const chained = await sandbox.run('try:\n    1/0\nexcept Exception as e:\n    raise ValueError("wrapped") from e');
    expect(chained.error?.type).toBe('ValueError');
    expect(chained.error?.traceback).toContain('ZeroDivisionError');
    expect(chained.error?.traceback).not.toContain('<string>');
  });

  it('names the program main.py everywhere, and only the program', async () => {
    const code = [
      'import sys, warnings',
      'def f(): return sys._getframe().f_code.co_filename',
      'warnings.simplefilter("always")',
      'with warnings.catch_warnings(record=True) as w:',
      '    warnings.warn("x")',
      'g = {}',
      'exec("def h(): pass", g)',
      'print(sys._getframe().f_code.co_filename, f(), w[0].filename, g["h"].__code__.co_filename)',
    ].join('\n');
    for (const sb of [sandbox, cold]) {
      const r = await sb.run(code);
      expect(r.stdout).toBe('main.py main.py main.py <string>\n');
      const bad = await sb.run('print(1)\nx = (');
      expect(bad.error?.type).toBe('SyntaxError');
      expect(bad.stderr).toContain('File "main.py", line 2');
    }
  });

  it('maps sys.exit to the exit code', async () => {
    expect((await sandbox.run('import sys; sys.exit(0)')).status).toBe('ok');
    const code = await sandbox.run('import sys; sys.exit(42)');
    expect(code).toMatchObject({ status: 'error', exitCode: 42, error: { type: 'SystemExit', message: '42' } });
    const msg = await sandbox.run('import sys; sys.exit("bye")');
    expect(msg).toMatchObject({ status: 'error', exitCode: 1 });
    expect(msg.stderr).toBe('bye\n');
  });

  it('keeps no state between runs', async () => {
    await sandbox.run('import builtins\nbuiltins.print = None\nopen("left.txt", "w").write("x")\nopen("/tmp/left", "w").write("x")');
    const r = await sandbox.run('import os\nprint(os.listdir("."), os.listdir("/tmp"))');
    expect(r.stdout).toBe('[] []\n');
  });
});

describe('files', () => {
  it('writes input files (nested too) and collects outputs by glob', async () => {
    const r = await sandbox.run(
      'import os\nopen("out/a.txt", "w").write(open("data/in.txt").read() * 2)\nopen("out/b.bin", "wb").write(bytes(range(256)))\nopen("skip.log", "w").write("no")',
      { files: { 'data/in.txt': 'ab', '/workspace/out/.keep': new Uint8Array(0) }, collect: ['out/*.txt', 'out/*.bin'] },
    );
    expect(r.status).toBe('ok');
    expect(Object.keys(r.files).sort()).toEqual(['out/a.txt', 'out/b.bin']);
    expect(Buffer.from(r.files['out/a.txt']!).toString()).toBe('abab');
    expect(Buffer.from(r.files['out/b.bin']!)).toEqual(Buffer.from(Array.from({ length: 256 }, (_, i) => i)));
  });

  it('collects files after an uncaught exception too', async () => {
    const r = await sandbox.run('open("partial.txt", "w").write("p")\nraise RuntimeError("late")', { collect: ['partial.txt'] });
    expect(r.status).toBe('error');
    expect(Buffer.from(r.files['partial.txt']!).toString()).toBe('p');
  });

  it('handles hostile but valid names literally', async () => {
    const name = 'we ird/$(id);`x` \'"*?.txt';
    const r = await sandbox.run('import os\nprint(os.listdir("we ird")[0])', { files: { [name]: 'v' }, collect: ['we ird/*'] });
    expect(r.stdout).toBe('$(id);`x` \'"*?.txt\n');
    expect(Object.keys(r.files)).toEqual([name]);
  });
});

describe('the language layer', () => {
  it('turns blocked operations other than imports into clear PermissionErrors', async () => {
    const cases: [string, RegExp][] = [
      ['import subprocess; subprocess.run(["ls"])', /starting a program/],
      ['import socket; socket.create_connection(("1.1.1.1", 53))', /network access/],
      ['open("/usr/lib/x", "w")', /writing '\/usr\/lib\/x'/],
      ['import os; os.remove("/usr/bin/python3")', /os.remove on/],
    ];
    for (const [code, message] of cases) {
      const r = await sandbox.run(code);
      expect(r.status, code).toBe('error');
      expect(r.error?.type, code).toBe('PermissionError');
      expect(r.error?.message, code).toMatch(/^pybox: /);
      expect(r.error?.message, code).toMatch(message);
    }
  });

  it('denies an import with an ImportError, so `except ImportError` fallbacks work', async () => {
    const denied = await sandbox.run('import _testcapi');
    expect(denied.status).toBe('error');
    expect(denied.error?.type).toBe('ModuleNotFoundError');
    expect(denied.error?.message).toBe("pybox: import of '_testcapi' is not allowed");
    const r = await sandbox.run(
      [
        'try:',
        '    import _testcapi',
        'except ImportError as e:',
        '    print("fallback", type(e).__name__, e.name)',
        'try:',
        '    import _testinternalcapi',
        'except ImportError as e:',
        '    print("fallback", e.name, e)',
        'from test import support', // falls back when _testcapi is missing
        'print("test.support", support.unicode_legacy_string)',
      ].join('\n'),
    );
    expect(r.status, r.stderr).toBe('ok');
    expect(r.stdout).toBe("fallback ModuleNotFoundError _testcapi\nfallback _testinternalcapi pybox: import of '_testinternalcapi' is not allowed\ntest.support None\n");
  });

  it('allows what ordinary programs need', async () => {
    const r = await sandbox.run(
      [
        'import asyncio, json, re, math, threading, multiprocessing, tempfile, sqlite3',
        'async def main(): return 6 * 7',
        'print(asyncio.run(main()))',
        'with tempfile.NamedTemporaryFile("w") as f: f.write("x")',
        'db = sqlite3.connect("/workspace/db.sqlite"); db.execute("create table t(x)"); db.close()',
        'import os',
        'pid = os.fork()',
        'if pid == 0: os._exit(0)',
        'print(os.waitpid(pid, 0)[1])',
        // a link's target and a copy's source are only read: they may be anywhere
        'import shutil',
        'os.symlink("../dirB", "up"); os.symlink("/usr/lib/python3.11/os.py", "os-link.py")',
        'shutil.copyfile("/usr/lib/python3.11/os.py", "os-copy.py"); shutil.copytree("/usr/lib/python3.11/json", "json-copy")',
        'print(os.readlink("up"), os.path.exists("json-copy/__init__.py"))',
        'try: os.symlink("/workspace/os-copy.py", "/usr/lib/x")',
        'except PermissionError as e: print(e)',
        // removing or renaming a link touches the link, not its target
        'os.rename("os-link.py", "renamed-link.py"); os.remove("renamed-link.py")',
        'print(os.path.exists("/usr/lib/python3.11/os.py"), sorted(os.listdir(".")))',
        'try: os.remove("/workspace/../usr/lib/python3.11/os.py")',
        'except PermissionError as e: print(e)',
      ].join('\n'),
    );
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(
      "42\n0\n../dirB True\npybox: os.symlink on '/usr/lib/x' (outside /workspace and /tmp) is not allowed\n" +
        "True ['db.sqlite', 'json-copy', 'os-copy.py', 'up']\n" +
        "pybox: os.remove on '/workspace/../usr/lib/python3.11/os.py' (outside /workspace and /tmp) is not allowed\n",
    );
  });

  it('resolves paths for its write checks exactly as os.path.realpath does', async () => {
    // The bootstrap does not import os (a cold start would pay ~1.3 ms for it): its
    // realpath is its own, on posix calls. Found here through the runner's frame.
    const code = [
      'import os, json, sys',
      'mine = sys._getframe(1).f_globals["_realpath"]',
      'os.makedirs("/workspace/d/e")',
      'links = {"up": "..", "out": "/usr/lib", "rel": "d/e", "loop1": "loop2", "loop2": "loop1", "self": "self", "dangling": "nowhere/x", "chain": "rel/../../out", "abs": "/workspace/d"}',
      'for name, target in links.items(): os.symlink(target, "/workspace/" + name)',
      'os.symlink("../../up", "/workspace/d/e/back")',
      'cases = ["/workspace/x", "x", "./d/../x", "/workspace/up/etc/passwd", "/workspace/out/x", "rel/f", "rel/../../tmp",',
      '         "loop1/x", "self", "dangling", "chain/python3", "abs/e/back/x", "d/e/back/../x", "/", "//workspace//d", "/..", "/workspace/d/e/../../../usr", ""]',
      'print(json.dumps([[c, mine(c), os.path.realpath(c)] for c in cases]))',
    ].join('\n');
    for (const sb of [sandbox, cold]) {
      const r = await sb.run(code, { policy: 'off' });
      expect(r.stderr).toBe('');
      const rows = JSON.parse(r.stdout) as [string, string, string][];
      expect(rows.length).toBe(18);
      for (const [input, mine, theirs] of rows) expect(mine, input).toBe(theirs);
    }
  });

  it("policy 'off' leaves only the OS jail", async () => {
    const r = await sandbox.run('import ctypes, subprocess\nprint(subprocess.run(["echo", "hi"], capture_output=True).stdout)', { policy: 'off' });
    expect(r.status).toBe('ok');
    expect(r.stdout).toBe("b'hi\\n'\n");
  });
});

describe('errors before anything runs', () => {
  it('throws typed errors for invalid options', async () => {
    const code = async (fn: () => Promise<unknown>) => {
      try {
        await fn();
        return 'no error';
      } catch (e) {
        expect(e).toBeInstanceOf(PyboxError);
        return (e as PyboxError).code;
      }
    };
    expect(await code(() => sandbox.run('pass', { limits: { memoryMiB: 0 } }))).toBe('E_LIMIT_INVALID');
    expect(await code(() => sandbox.run('pass', { files: { '../etc/x': '' } }))).toBe('E_FILE_INVALID');
    expect(await code(() => Sandbox.create({ python: '/nope/python3' }))).toBe('E_PYTHON_NOT_FOUND');
    expect(await code(() => Sandbox.create({ limits: { timeoutMs: 'soon' as unknown as number } }))).toBe('E_LIMIT_INVALID');
    const closed = await Sandbox.create();
    await closed.close();
    expect(await code(() => closed.run('pass'))).toBe('E_SANDBOX_CLOSED');
  });

  it('a cold Sandbox makes the next jails’ cgroups ahead (no more than it keeps), lists them as idle, the next run takes one, close removes them', async () => {
    const before = new Set(idleWarmJails().cgroups);
    const sb = await Sandbox.create({ mode: 'cold' });
    for (let i = 0; i < 3; i++) expect((await sb.run('print(1)')).status).toBe('ok');
    // Listed: the ones made ahead, and finished ones until their removal in the background
    // is done; then only the ones made ahead are left, no more than a Sandbox keeps.
    const ours = () => idleWarmJails().cgroups.filter((c) => !before.has(c) && (jailCgroupNames()?.names ?? []).includes(c));
    await until(() => ours().length > 0 && ours().length <= COLD_CGROUPS_KEPT, { what: 'the cgroups made ahead, and only those' });
    const kept = ours();
    expect(kept.length).toBeGreaterThan(0);
    expect(kept.length).toBeLessThanOrEqual(COLD_CGROUPS_KEPT);
    // The next run takes one of them: it is retired after the run and goes.
    expect((await sb.run('print(1)')).status).toBe('ok');
    await until(() => !kept.every((c) => ours().includes(c)), { what: 'a kept cgroup taken and gone' });
    expect(kept.some((c) => !ours().includes(c))).toBe(true);
    const seen = [...kept, ...ours()];
    await sb.close();
    const after = jailCgroupNames()?.names ?? [];
    for (const name of seen) expect(after).not.toContain(name);
  });

  it('runs several jails at once', async () => {
    const results = await Promise.all(Array.from({ length: 6 }, (_, i) => sandbox.run(`print(${i} * 2)`)));
    expect(results.map((r) => r.stdout)).toEqual(['0\n', '2\n', '4\n', '6\n', '8\n', '10\n']);
    // at once: all six are live together (each waits on its stdin until all have started)
    const stdins = Array.from({ length: 6 }, () => heldStdin());
    const runs = stdins.map(({ stdin }, i) => runUntilPrinted(sandbox, `import sys\nprint("up", ${i}, flush=True)\nsys.stdin.read()`, 'up', { stdin }));
    await Promise.all(runs.map((r) => r.printed));
    for (const { release } of stdins) release();
    const live = await Promise.all(runs.map((r) => r.result));
    expect(live.map((r) => [r.status, r.stdout])).toEqual([0, 1, 2, 3, 4, 5].map((i) => ['ok', `up ${i}\n`]));
  });
});
