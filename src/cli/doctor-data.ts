import { execFileSync } from 'node:child_process';
import { Sandbox } from '../sandbox/index.js';
import { oneLine } from './usage-error.js';

/** The optional data stack pybox supports from Debian (README, set-up). */
export const DATA_PACKAGES = ['numpy', 'pandas', 'matplotlib', 'scipy'] as const;
export const DATA_STACK_INSTALL = 'apt-get install -y python3-numpy python3-pandas python3-matplotlib python3-scipy';

export interface DataStackCheck {
  status: 'ok' | 'warn';
  detail: string;
  fix?: string;
}

/** An import of the data stack slower than this per run is worth a preload. */
const SLOW_IMPORT_MS = 300;

/** Each package's import in the jail, as `name` -> null (it imported) or why not, and how long they took together. */
const JAIL_PROBE = (names: readonly string[]) => `import json, importlib, time
out = {}
started = time.perf_counter()
for name in ${JSON.stringify(names)}:
    try:
        importlib.import_module(name)
        out[name] = None
    except BaseException as e:
        out[name] = type(e).__name__ + ": " + str(e).splitlines()[0][:200] if str(e) else type(e).__name__
print(json.dumps({"verdicts": out, "ms": round((time.perf_counter() - started) * 1000)}))`;

/** When importing the stack costs a run noticeable time: how to pay it once instead. */
export function preloadHint(found: readonly string[], ms: number): string {
  if (ms < SLOW_IMPORT_MS) return '';
  const modules = found.map((n) => (n === 'matplotlib' ? 'matplotlib.pyplot' : n)).join(',');
  return `; importing them took ${ms} ms in the jail, paid by every run that imports them: preload them (--preload ${modules}, or Sandbox.create({ preload: [...] })) and runs find them imported`;
}

/**
 * Which data packages this interpreter has, and whether each imports in a real jail under
 * the default (strict) policy. None installed is fine: they are optional.
 */
export async function checkDataStack(python: string): Promise<DataStackCheck> {
  let found: string[];
  try {
    const probe = `import importlib.util, json; print(json.dumps([n for n in ${JSON.stringify(DATA_PACKAGES)} if importlib.util.find_spec(n)]))`;
    found = JSON.parse(execFileSync(python, ['-I', '-c', probe], { encoding: 'utf8', env: {}, timeout: 10_000 })) as string[];
  } catch (error) {
    return { status: 'warn', detail: `could not look for the data packages: ${oneLine((error as Error).message)}` };
  }
  if (found.length === 0) return { status: 'ok', detail: `none installed (optional: ${DATA_STACK_INSTALL})` };
  let sandbox: Sandbox | null = null;
  try {
    sandbox = await Sandbox.create({ mode: 'cold', python, limits: { timeoutMs: 60_000, cpuMs: 30_000, memoryMiB: 512 } });
    const result = await sandbox.run(JAIL_PROBE(found));
    const probed = result.status === 'ok' ? (JSON.parse(result.stdout) as { verdicts: Record<string, string | null>; ms: number }) : null;
    const verdicts = probed?.verdicts;
    if (!probed || !verdicts) return { status: 'warn', detail: `found ${found.join(', ')}; the jail's import check ended ${result.status}: ${oneLine(result.stderr).slice(-300)}` };
    const failed = found.filter((n) => verdicts[n] !== null);
    const detail = found.map((n) => (verdicts[n] === null ? `${n}: imports in the jail` : `${n}: fails in the jail (${verdicts[n]})`)).join('; ');
    const missing = DATA_PACKAGES.filter((n) => !found.includes(n));
    const rest = missing.length > 0 ? `; not installed: ${missing.join(', ')}` : '';
    if (failed.length > 0) return { status: 'warn', detail: detail + rest, fix: DATA_STACK_INSTALL };
    return { status: 'ok', detail: detail + rest + preloadHint(found, probed.ms) };
  } catch (error) {
    return { status: 'warn', detail: `found ${found.join(', ')}; no jail to check them in: ${oneLine((error as Error).message)}` };
  } finally {
    await sandbox?.close();
  }
}
