/**
 * Sandbox.create({ preload }): the modules are imported before each run on every path (a
 * zygote before it forks, a pooled jail at start, a cold jail before the program), each run
 * still gets its own state (numpy's random seed, pyplot's figures, /tmp), limits still hold,
 * and a module that does not import in the jail is refused at create.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PyboxError } from '../src/index.js';
import { bootstrapModuleSource } from '../src/guest/bootstrap-source.js';
import { idleWarmJails } from '../src/backends/native/pool/inventory.js';
import { preloadHint } from '../src/cli/doctor-data.js';
import { pybox } from './helpers/cli.js';
import { PATHS, sandboxesClosedAfterEach, sandboxesForBlock } from './helpers/sandboxes.js';

/** The Debian packages are optional (README, set-up): without them there is nothing to preload. */
const installed = (() => {
  try {
    execFileSync('/usr/bin/python3', ['-I', '-c', 'import numpy, pandas, matplotlib'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

const PRELOAD = ['numpy', 'pandas', 'matplotlib.pyplot'];
const LIMITS = { timeoutMs: 60_000, cpuMs: 30_000, memoryMiB: 512 };
const py = (lines: string[]) => lines.join('\n');

describe.runIf(installed).each(PATHS)('preload on path %s (needs python3-numpy/pandas/matplotlib)', (mode) => {
  const { sandbox } = sandboxesForBlock({ sandbox: { mode, pool: { size: 1, min: 1, max: 1 }, preload: PRELOAD, limits: LIMITS } }, { eachTest: true });

  it('the modules are imported when the program starts, and it runs as without them', async () => {
    const r = await sandbox.run(
      py([
        'import sys',
        `print([m in sys.modules for m in ${JSON.stringify(PRELOAD)}])`,
        'import numpy as np, pandas as pd, matplotlib, matplotlib.pyplot as plt',
        'df = pd.DataFrame({"x": np.arange(1000)})',
        'print(df.x.mean(), matplotlib.get_backend(), plt.get_fignums())',
        'print(sys.path[0], "/workspace" in sys.path)',
      ]),
    );
    expect(r.stderr).toBe('');
    expect(r.status).toBe('ok');
    expect(r.stdout).toBe('[True, True, True]\n499.5 agg []\n/workspace True\n');
    expect(sandbox.pathCounts[mode]).toBeGreaterThan(0);
  });

  it("matplotlib's namespace package is made as `site` makes it: no pkg_resources that a bare python3 would not load", async () => {
    const probe = 'import sys, mpl_toolkits.mplot3d; print("pkg_resources" in sys.modules, mpl_toolkits.__path__)';
    const bare = execFileSync('/usr/bin/python3', ['-I', '-c', `import numpy, pandas, matplotlib\nmatplotlib.use("Agg")\nimport matplotlib.pyplot\n${probe}`], { encoding: 'utf8' });
    const r = await sandbox.run(probe);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(bare);
  });

  it('a session finds them imported too', async () => {
    const session = await sandbox.openSession();
    try {
      const cell = await session.run(`import sys\n[m in sys.modules for m in ${JSON.stringify(PRELOAD)}]`);
      expect(cell.status, cell.stderr).toBe('ok');
      expect(cell.value?.text).toBe('[True, True, True]');
    } finally {
      await session.close();
    }
  });

  it("numpy's random state differs in every run (and Python's)", async () => {
    const seen = new Set<string>();
    for (let i = 0; i < 3; i++) {
      const r = await sandbox.run('import numpy, random\nprint(numpy.random.randint(0, 2**62), numpy.random.default_rng().integers(0, 2**62), random.getrandbits(62))');
      expect(r.status, r.stderr).toBe('ok');
      seen.add(r.stdout);
      for (const part of r.stdout.trim().split(' ')) seen.add(part);
    }
    expect(seen.size).toBe(3 + 9);
  });

  it('a figure made in one run is not in the next', async () => {
    const first = await sandbox.run('import matplotlib.pyplot as plt\nplt.figure(); plt.plot([1, 2, 3])\nprint(plt.get_fignums())');
    expect(first.stdout, first.stderr).toBe('[1]\n');
    const next = await sandbox.run('import matplotlib.pyplot as plt\nprint(plt.get_fignums(), plt.figure().number)');
    expect(next.stdout, next.stderr).toBe('[] 1\n');
  });

  it("each run's /tmp is its own and writable, with matplotlib's font cache in it", async () => {
    const code = py([
      'import os, matplotlib',
      'print(os.path.exists("/tmp/mine"), any(n.startswith("fontlist") for n in os.listdir(matplotlib.get_cachedir())))',
      'open("/tmp/mine", "w").write("x")',
    ]);
    for (let i = 0; i < 2; i++) {
      const r = await sandbox.run(code);
      expect(r.status, r.stderr).toBe('ok');
      expect(r.stdout).toBe('False True\n');
    }
  });

  it('memory and CPU limits still hold', async () => {
    const memory = await sandbox.run('import numpy\nx = numpy.ones(1 << 28)\nprint(x.sum())', { limits: { memoryMiB: 256 } });
    expect(memory.status).toBe('memory_limit');
    const cpu = await sandbox.run('import numpy\nwhile True: numpy.ones(10).sum()', { limits: { cpuMs: 500 } });
    expect(cpu.status).toBe('cpu_limit');
  });
});

describe.runIf(installed)('the zygote with a preload', () => {
  const { sandbox } = sandboxesForBlock({ sandbox: { mode: 'zygote', pool: { size: 1, min: 1, max: 1 }, preload: ['matplotlib.pyplot'], limits: LIMITS } });

  it("keeps its own /tmp read-only once the modules are in", async () => {
    await sandbox.run('pass');
    const zygotes = idleWarmJails().pids.filter((pid) => {
      try {
        const nspid = /NSpid:\s+(.*)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]?.trim().split(/\s+/) ?? [];
        return readFileSync(`/proc/${pid}/comm`, 'utf8').startsWith('python') && nspid.length === 2;
      } catch {
        return false;
      }
    });
    expect(zygotes.length).toBeGreaterThan(0);
    for (const pid of zygotes) {
      const tmp = readFileSync(`/proc/${pid}/mountinfo`, 'utf8').split('\n').map((l) => l.split(' ')).filter((f) => f[4] === '/tmp');
      expect(tmp.length).toBe(1);
      expect(tmp[0]?.[5]?.split(',')).toContain('ro');
    }
  });
});

describe('namespace packages of a preload (declare_namespace_packages in the guest)', () => {
  it('are made from the name tuples of *-nspkg.pth, as site makes them, and nothing of the file runs', () => {
    const site = mkdtempSync(join(tmpdir(), 'pybox-nspkg-'));
    try {
      const marker = join(site, 'ran');
      // setuptools' line, with a statement of its own in front that must not run
      const line = (parts: string) => `import os; open(${JSON.stringify(marker)}, 'w'); p = os.path.join(sys._getframe(1).f_locals['sitedir'], *(${parts}))`;
      writeFileSync(join(site, 'dist-1.0-nspkg.pth'), [line("'nsx',"), line("'nsx', 'sub'"), line("'../etc',"), 'import junk', ''].join('\n'));
      writeFileSync(join(site, 'broken-nspkg.pth'), '*((( not python');
      mkdirSync(join(site, 'nsx', 'sub'), { recursive: true });
      writeFileSync(join(site, 'nsx', '__init__.py'), 'raise RuntimeError("the __init__ ran")\n');
      writeFileSync(join(site, 'nsx', 'mod.py'), 'X = 1\n');
      writeFileSync(join(site, 'nsx', 'sub', 'leaf.py'), 'Y = 2\n');
      const program = [
        ...(['prelude', 'paths', 'warm'] as const).map(bootstrapModuleSource),
        `declare_namespace_packages([${JSON.stringify(site)}, "/nonexistent"])`,
        'import nsx.mod, nsx.sub.leaf',
        'print(nsx.mod.X, nsx.sub.leaf.Y, nsx.sub is sys.modules["nsx.sub"], sorted(m for m in sys.modules if "etc" in m))',
      ].join('\n\n');
      const out = execFileSync('/usr/bin/python3', ['-I', '-S', '-c', program], { encoding: 'utf8' });
      expect(out).toBe('1 2 True []\n');
      expect(() => readFileSync(marker)).toThrow();
    } finally {
      rmSync(site, { recursive: true, force: true });
    }
  });
});

describe('preload that cannot be loaded', () => {
  const { make } = sandboxesClosedAfterEach();
  const refused = async (preload: string[], mode: 'cold' | 'zygote' = 'cold'): Promise<string> => {
    const error = await make({ mode, preload }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(PyboxError);
    expect((error as PyboxError).code).toBe('E_OPTIONS_INVALID');
    return (error as PyboxError).message;
  };

  it('a name that is not a module name', async () => {
    expect(await refused(['numpy; import os'])).toMatch(/module name/);
    expect(await refused(['os.'])).toMatch(/module name/);
    expect(await refused([''])).toMatch(/module name/);
  });

  it('a module that is not there, with the module and the reason', async () => {
    expect(await refused(['json', 'no_such_module_xyz'], 'zygote')).toBe(
      "preload: no_such_module_xyz does not import in the jail (ModuleNotFoundError: No module named 'no_such_module_xyz')",
    );
  });

  it('a module whose import fails', async () => {
    expect(await refused(['asyncio.windows_events'])).toBe('preload: asyncio.windows_events does not import in the jail (ImportError: win32 only)');
  });

  it('a module the policy refuses', async () => {
    expect(await refused(['_testcapi'])).toBe("preload: _testcapi does not import in the jail (ModuleNotFoundError: pybox: import of '_testcapi' is not allowed)");
  });
});

describe('pybox run --preload', () => {
  it('imports the modules before the program; a bad list is a usage error', async () => {
    const ok = await pybox(['run', '--preload', 'json, textwrap', '-'], { input: 'import sys\nprint("json" in sys.modules, "textwrap" in sys.modules)\n' });
    expect(ok.stderr).toBe('');
    expect(ok.stdout).toBe('True True\n');
    const bad = await pybox(['run', '--preload', 'json;os', '-'], { input: 'pass\n' });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--preload expects module names/);
    const missing = await pybox(['run', '--preload', 'no_such_module_xyz', '-'], { input: 'pass\n' });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/no_such_module_xyz does not import in the jail/);
  });
});

describe('pybox doctor', () => {
  it('hints at a preload when the data stack is slow to import, not when it is quick', () => {
    expect(preloadHint(['numpy', 'matplotlib'], 1200)).toMatch(/took 1200 ms .*--preload numpy,matplotlib\.pyplot/);
    expect(preloadHint(['numpy', 'matplotlib'], 100)).toBe('');
  });
});
