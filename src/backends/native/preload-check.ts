import { compileCollect } from '../../core/glob.js';
import { PyboxError } from '../../core/errors.js';
import type { Limits } from '../../core/limits.js';
import { buildGuestRequest } from '../../guest/request.js';
import type { JailEnvironment } from './jail/live-jail.js';
import { superviseJail } from './jail/supervise.js';

/** Time the check may take: a first import of a data stack (and matplotlib's font cache) is slow. */
const CHECK_TIME_MS = 120_000;
/** Marks the check's answer among whatever the modules print while they load. */
const ANSWER_MARK = 'pybox-preload-check:';

/**
 * Imports each module once in a cold jail under the strict policy (as a run would), and
 * throws E_OPTIONS_INVALID naming each one that is missing, fails to import, or whose import
 * the policy refuses, with Python's one-line reason. A zygote imports its preload with no
 * policy installed: only what passes here may go there.
 */
export async function checkPreload(env: JailEnvironment, limits: Readonly<Limits>, modules: readonly string[]): Promise<void> {
  if (modules.length === 0) return;
  const code = [
    'import json, sys',
    'failed = []',
    `for name in ${JSON.stringify(modules)}:`,
    '    try:',
    '        __import__(name)',
    '    except BaseException as exc:',
    '        reason = (str(exc).strip().splitlines() or [""])[0][:300]',
    '        failed.append([name, type(exc).__name__ + (": " + reason if reason else "")])',
    'sys.stdout.flush()',
    `print(${JSON.stringify(ANSWER_MARK)} + json.dumps(failed))`,
  ].join('\n');
  const checkLimits: Limits = { ...limits, timeoutMs: Math.max(limits.timeoutMs, CHECK_TIME_MS), cpuMs: Math.max(limits.cpuMs, CHECK_TIME_MS) };
  const run = { code, limits: checkLimits, policy: 'strict' as const, stdin: null, argv: [], files: [], collect: compileCollect([]) };
  const result = await superviseJail(env, {
    limits: checkLimits,
    stdin: null,
    onOutput: null,
    collect: run.collect,
    request: buildGuestRequest(run, { strictSeccomp: env.strictSeccomp, sitePaths: env.facts.sitePaths }),
  });
  const line = result.stdout.split('\n').findLast((l) => l.startsWith(ANSWER_MARK));
  if (result.status !== 'ok' || line === undefined) {
    const why = result.error ? `${result.error.type}: ${result.error.message}` : result.stderr.trim().split('\n').at(-1) ?? '';
    throw new PyboxError('E_OPTIONS_INVALID', `preload: importing ${modules.join(', ')} in a jail ended with status ${result.status}${why ? ` (${why.slice(0, 300)})` : ''}`);
  }
  const failed = parseFailures(line.slice(ANSWER_MARK.length));
  if (failed.length > 0) {
    throw new PyboxError('E_OPTIONS_INVALID', `preload: ${failed.map(([name, reason]) => `${name} does not import in the jail (${reason})`).join('; ')}`);
  }
}

function parseFailures(text: string): [string, string][] {
  try {
    const parsed = JSON.parse(text) as unknown;
    if (Array.isArray(parsed)) return parsed.map((p) => [String((p as unknown[])[0]), String((p as unknown[])[1])]);
  } catch {
    /* below */
  }
  return [['?', text.slice(0, 300)]];
}
