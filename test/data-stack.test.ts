/**
 * Debian's data stack (python3-numpy, -pandas, -matplotlib, -scipy) in the jail, on every
 * path, under the default strict policy: BLAS through the jail's /etc/alternatives links,
 * matplotlib on Agg with its cache in the run's /tmp, ctypes importable but unusable.
 */
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { PATHS, sandboxesForBlock } from './helpers/sandboxes.js';

/** The Debian packages are optional (README, set-up): without them there is nothing to run. */
const installed = (() => {
  try {
    execFileSync('/usr/bin/python3', ['-I', '-c', 'import numpy, pandas, matplotlib, scipy'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

const py = (lines: string[]) => lines.join('\n');

describe.runIf(installed).each(PATHS)('the data stack on path %s (needs python3-numpy/pandas/matplotlib/scipy)', (mode) => {
  const { sandbox } = sandboxesForBlock({
    sandbox: { mode, pool: { size: 1, min: 1, max: 1 }, limits: { timeoutMs: 60_000, cpuMs: 30_000, memoryMiB: 512 } },
  }, { eachTest: true });

  it('numpy (BLAS and LAPACK), pandas, scipy and matplotlib import and compute', async () => {
    const r = await sandbox.run(
      py([
        'import numpy as np, pandas as pd, scipy.linalg, matplotlib, matplotlib.pyplot as plt, io',
        'a = np.array([[4.0, 1.0], [2.0, 3.0]])',
        'print((np.round(np.linalg.inv(a) @ a, 6) + 0.0).tolist(), round(float(scipy.linalg.det(a)), 6))',
        'df = pd.DataFrame({"x": range(1000)})',
        'print(df.x.mean(), matplotlib.get_backend())',
        'fig = plt.figure(); plt.plot([1, 3, 2]); b = io.BytesIO(); fig.savefig(b, format="png")',
        'print(b.getvalue()[:8] == b"\\x89PNG\\r\\n\\x1a\\n")',
        'import os; print(matplotlib.get_cachedir())',
      ]),
    );
    expect(r.stderr).toBe('');
    expect(r.status).toBe('ok');
    expect(r.stdout).toBe('[[1.0, 0.0], [0.0, 1.0]] 10.0\n499.5 agg\nTrue\n/tmp/matplotlib\n');
  });

  it('strict: ctypes imports (pandas and scipy need it) but opens nothing, finds no symbol, reads no memory', async () => {
    const r = await sandbox.run(
      py([
        'import ctypes',
        'for f in (lambda: ctypes.CDLL("libc.so.6"), lambda: ctypes.CDLL(None).getpid, lambda: ctypes.string_at(id(1), 8), lambda: ctypes.c_char.from_address(id(1))):',
        '    try:',
        '        f()',
        '    except PermissionError as e:',
        '        print(e)',
      ]),
    );
    expect(r.status, r.stderr).toBe('ok');
    expect(r.stdout).toBe(
      ['dlopen', 'dlsym', 'string_at', 'cdata'].map((e) => `pybox: ctypes (ctypes.${e}) is not allowed\n`).join(''),
    );
  });

  it('the jail sees /etc/alternatives only as library links into /usr', async () => {
    const r = await sandbox.run(
      py([
        'import os',
        'names = os.listdir("/etc/alternatives")',
        'print(all(".so" in n for n in names), all(os.readlink("/etc/alternatives/" + n).startswith("/usr/") for n in names), "libblas.so.3-x86_64-linux-gnu" in names)',
        'print(sorted(os.listdir("/etc")))',
      ]),
    );
    expect(r.status, r.stderr).toBe('ok');
    expect(r.stdout).toBe("True True True\n['alternatives', 'group', 'hosts', 'ld.so.cache', 'nsswitch.conf', 'passwd']\n");
  });
});
