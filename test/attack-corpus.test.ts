/**
 * The attack lab without the jail: the corpus and its headers, the ladder files,
 * the judges on synthetic results, the matrix contract, the doc generator, the CLI
 * flags. Fast; the real corpus in the real jail is test/attack-lab.test.ts.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CATEGORIES, CorpusError, loadCorpus, loadHarness, loadLadder, parseAttack, type Attack } from '../src/attack/corpus.js';
import { contextBlock } from '../src/attack/context.js';
import { COUNTS_BEGIN, COUNTS_END, countsMarkdown, updateDoc } from '../src/attack/docs.js';
import { excerpt, FOLLOWUP_OUTPUT, judgeLab, judgePybox, lyingVerdict, splitLabOutput, type LabReport } from '../src/attack/evidence.js';
import { virtualHost } from '../src/attack/host.js';
import { HOST_POOLS, watchHostPools } from '../src/attack/host-pools.js';
import { buildMatrix } from '../src/attack/matrix.js';
import { languagePolicySource, preflight } from '../src/attack/runner.js';
import type { Sandbox } from '../src/sandbox/sandbox.js';
import { formatReport } from '../src/attack/table.js';
import { capLimits, findTarget, LAB_LIMITS, LIMIT_CAPS, PYBOX_LIMITS, TARGETS } from '../src/attack/targets.js';
import { BOOTSTRAP_SOURCE } from '../src/guest/index.js';
import type { RunResult } from '../src/core/result.js';
import { CommanderError } from 'commander';
import { attackCommand } from '../src/attack/cli.js';
import { main } from '../src/cli/main.js';

const corpus = loadCorpus();

function result(over: Partial<RunResult> = {}): RunResult {
  return {
    status: 'ok',
    exitCode: 0,
    signal: null,
    stdout: '',
    stderr: '',
    truncated: { stdout: false, stderr: false, display: false },
    durationMs: 100,
    cpuMs: 50,
    memoryPeakBytes: 10 << 20,
    error: null,
    files: {},
    outputs: [],
    ...over,
  };
}

const BASE_ATTACK = parseAttack('# id: test-attack\n# category: filesystem\n# description: d\n# source: s\n# detect: token\nprint(1)\n', 'x.py');
const attack = (over: Partial<Attack> = {}): Attack => ({ ...BASE_ATTACK, ...over });

const report = (over: Partial<LabReport> = {}): LabReport => ({
  exit: 0,
  hits: { tcp: 0, udp: 0, unix: 0, abstract: 0 },
  received: '',
  survivors: [],
  canaryChanged: false,
  newHostFiles: [],
  out: null,
  maxFds: 5,
  maxProcs: 1,
  full: [],
  servers: [],
  ...over,
});
const withReport = (stdout: string, r: LabReport, tag = 'TAG') => `${stdout}\n@@LAB-REPORT ${tag} ${JSON.stringify(r)}\n`;

describe('the corpus', () => {
  it('has at least 120 attacks with complete headers and unique ids', () => {
    expect(corpus.length).toBeGreaterThanOrEqual(120);
    expect(new Set(corpus.map((a) => a.id)).size).toBe(corpus.length);
    for (const a of corpus) {
      expect(a.description.length, a.file).toBeGreaterThan(10);
      expect(a.source.length, a.file).toBeGreaterThan(5);
      expect(a.detectText.length, a.file).toBeGreaterThan(3);
      expect(a.code.trim().length, a.file).toBeGreaterThan(0);
    }
  });

  it('puts the shared preludes an attack uses before its code', () => {
    const uses = corpus.filter((a) => a.uses.length > 0);
    expect(uses.length).toBeGreaterThan(0);
    for (const a of uses) {
      if (a.uses.includes('prove')) expect(a.code, a.file).toMatch(/^import os\n[\s\S]*def prove\(\):[\s\S]*def breach\(detail\):/);
      if (a.uses.includes('syscall')) expect(a.code, a.file).toContain('def syscall(name, *args):');
    }
  });

  it('covers every category', () => {
    for (const c of CATEGORIES) expect(corpus.filter((a) => a.category === c).length, c).toBeGreaterThanOrEqual(8);
  });

  it('names the talk\'s attack for every ladder level, exactly once', () => {
    for (const level of ['L0', 'L1', 'L2', 'L3', 'L4', 'L5', 'L6']) {
      expect(corpus.filter((a) => a.talk === level).map((a) => a.id), level).toHaveLength(1);
    }
  });

  it('blanks header and comment lines so a keyword blacklist judges code only', () => {
    const a = parseAttack('# id: x-y-z\n# category: leaks\n# description: open eval exec\n# source: s\n# detect: secret\nx = 1  # open\n# open\ny = 2\n', 'f.py');
    expect(a.code).toBe('\n\n\n\n\nx = 1  # open\n\ny = 2\n');
  });

  it('refuses bad headers with the file name', () => {
    const ok = '# id: x-y-z\n# category: leaks\n# description: d\n# source: s\n# detect: secret\nx = 1\n';
    expect(() => parseAttack(ok.replace('leaks', 'nope'), 'a.py')).toThrow(/a\.py: unknown category/);
    expect(() => parseAttack(ok.replace('secret', 'magic'), 'a.py')).toThrow(/unknown detector/);
    expect(() => parseAttack(ok.replace('# source: s\n', ''), 'a.py')).toThrow(/lacks "source"/);
    expect(() => parseAttack(ok.replace('secret', 'limit'), 'a.py')).toThrow(/expect/);
    expect(() => parseAttack(ok.replace('x-y-z', 'Bad Id'), 'a.py')).toThrow(CorpusError);
  });

  it('every attack compiles as Python (checked through the header parser\'s output)', () => {
    // Syntax is checked for real by the lab run; here: no tabs/CRLF surprises and a context name in use.
    for (const a of corpus) {
      expect(a.code.includes('\r'), a.file).toBe(false);
    }
  });
});

describe('the ladder, the harness and the context', () => {
  it('has seven cumulative levels, each adding its defence to DEFENCES', () => {
    const levels = loadLadder();
    expect(levels).toHaveLength(7);
    expect(levels[0]).toContain('class Sandbox');
    for (const [i, src] of levels.entries()) if (i > 0) expect(src, `L${i}`).toContain('DEFENCES.append(');
    expect(levels[2]).toContain('DEFENCES.remove(keyword_blacklist)');
    expect(levels[5]).toMatch(/ctypes/);
    expect(levels[6]).toContain("pop('__code__'");
  });

  it('extracts pybox\'s real language policy from the bootstrap', () => {
    const policy = languagePolicySource();
    expect(policy).toContain('def install_policy(');
    expect(policy).toContain('WRITABLE_ROOTS');
    expect(BOOTSTRAP_SOURCE).toContain(policy.trim().split('\n')[0] as string);
  });

  it('gives the attack names, never a secret', () => {
    const host = virtualHost('abc');
    const block = contextBlock({ nonce: 'abc', token: 'PWNED-abc', out: host.out, host });
    expect(block).toContain('TOKEN = "PWNED-abc"');
    expect(block).toContain(`SECRET_PATH = "${host.secretFile}"`);
    expect(block).not.toMatch(/secret-[0-9a-f]{8}/);
    // the keyword blacklist (L1) must not trip on the context itself
    for (const word of ['file', 'open', 'eval', 'exec', 'compile', 'quit', 'exit', '__import__', 'input']) {
      expect(block.replace(/^#.*$/gm, ''), word).not.toContain(word);
    }
  });

  it('has a harness that reads its config from stdin', () => {
    expect(loadHarness()).toContain('sys.stdin.buffer.read()');
  });
});

describe('judging a weaker target (in the jail)', () => {
  const fs = attack({ id: 'a', detect: ['token'] });
  const L0 = findTarget('L0')!;
  const base = { attack: fs, target: L0, limits: LAB_LIMITS, tag: 'TAG', token: 'PWNED-1', decoySecret: 'decoy-secret-0123456789' };

  it('is contained with a report and no evidence', () => {
    const j = judgeLab({ ...base, result: result({ stdout: withReport('hello', report()) }) });
    expect(j.verdict).toBe('contained');
  });

  it('is escaped by the token in the fake host file, in stdout, or in a delivered file', () => {
    expect(judgeLab({ ...base, result: result({ stdout: withReport('', report({ out: 'PWNED-1' })) }) }).verdict).toBe('escaped');
    expect(judgeLab({ ...base, result: result({ stdout: withReport('x PWNED-1 y', report()) }) }).evidence[0]).toMatch(/stdout/);
    const files = { 'pwned-1.txt': new TextEncoder().encode('PWNED-1') };
    expect(judgeLab({ ...base, result: result({ files, stdout: withReport('', report()) }) }).verdict).toBe('escaped');
  });

  it('is escaped by the decoy secret anywhere, by listener hits and by host-file changes', () => {
    expect(judgeLab({ ...base, result: result({ stderr: 'decoy-secret-0123456789', stdout: withReport('', report()) }) }).verdict).toBe('escaped');
    expect(judgeLab({ ...base, result: result({ stdout: withReport('', report({ hits: { tcp: 1, udp: 0, unix: 0, abstract: 0 } })) }) }).verdict).toBe('escaped');
    expect(judgeLab({ ...base, result: result({ stdout: withReport('', report({ newHostFiles: ['x'] })) }) }).verdict).toBe('escaped');
  });

  it('never takes the harness\'s own lines for the attack\'s output', () => {
    const stdout = `a\n@@FOLLOWUP-BEGIN TAG\n${FOLLOWUP_OUTPUT}\n@@FOLLOWUP-END TAG\n` + withReport('', report({ received: 'PWNED-1' }));
    const split = splitLabOutput(stdout, 'TAG');
    expect(split.followup).toBe(FOLLOWUP_OUTPUT);
    expect(split.report?.received).toBe('PWNED-1');
    expect(split.stdout).not.toContain('PWNED-1');
  });

  it('judges resource attacks by whether the jail had to step in', () => {
    const bomb = attack({ id: 'b', detect: ['limit'], expect: ['cpu_limit'] });
    expect(judgeLab({ ...base, attack: bomb, result: result({ status: 'cpu_limit' }) }).verdict).toBe('escaped');
    expect(judgeLab({ ...base, attack: bomb, result: result({ status: 'error', stdout: withReport('', report()) }) }).verdict).toBe('contained');
    expect(judgeLab({ ...base, result: result({ status: 'timeout' }) }).verdict).toBe('error');
  });

  it('judges a follow-up run and survivors only when the attack asks for it', () => {
    const tamper = attack({ id: 'c', detect: ['followup'] });
    const changed = `\n@@FOLLOWUP-BEGIN TAG\nowned\n@@FOLLOWUP-END TAG\n`;
    expect(judgeLab({ ...base, attack: tamper, result: result({ stdout: withReport(changed, report()) }) }).verdict).toBe('escaped');
    expect(judgeLab({ ...base, result: result({ stdout: withReport(changed, report({ survivors: ['5 sleep'] })) }) }).verdict).toBe('contained');
  });
});

describe('judging pybox', () => {
  const base = {
    attack: attack({ id: 'p', detect: ['token'] }),
    limits: PYBOX_LIMITS,
    token: 'PWNED-2',
    collect: ['**'],
    secrets: ['host-secret-abcdef0123'],
    hostChanges: [] as string[],
    hits: { tcp: 0, udp: 0, unix: 0, abstract: 0 },
    received: '',
    followup: result({ stdout: FOLLOWUP_OUTPUT }),
    leftovers: [] as string[],
  };

  it('is contained when the host is untouched and the next run works', () => {
    expect(judgePybox({ ...base, result: result({ status: 'error' }) }).verdict).toBe('contained');
  });

  it('is escaped by any host-side evidence', () => {
    expect(judgePybox({ ...base, result: result(), hostChanges: ['host file x was created'] }).verdict).toBe('escaped');
    expect(judgePybox({ ...base, result: result(), hits: { tcp: 0, udp: 1, unix: 0, abstract: 0 } }).verdict).toBe('escaped');
    expect(judgePybox({ ...base, result: result({ stdout: 'host-secret-abcdef0123' }) }).verdict).toBe('escaped');
    expect(judgePybox({ ...base, result: result(), followup: result({ status: 'internal_error' }) }).verdict).toBe('escaped');
    expect(judgePybox({ ...base, result: result(), leftovers: ['pid 1'] }).verdict).toBe('escaped');
    expect(judgePybox({ ...base, result: result({ durationMs: 60_000 }) }).verdict).toBe('escaped');
    expect(judgePybox({ ...base, result: result({ files: { '../x': new Uint8Array() } }) }).verdict).toBe('escaped');
  });

  it('holds resource attacks to their expected statuses', () => {
    const bomb = attack({ id: 'r', detect: ['limit'], expect: ['memory_limit'] });
    expect(judgePybox({ ...base, attack: bomb, result: result({ status: 'memory_limit' }) }).verdict).toBe('contained');
    expect(judgePybox({ ...base, attack: bomb, result: result({ status: 'ok' }) }).verdict).toBe('error');
  });

  it('calls a verdict a lie only when it invents or hides a limit or a failure', () => {
    expect(lyingVerdict('cpu_limit', 'error')).toBe(true);
    expect(lyingVerdict('ok', 'error')).toBe(true);
    expect(lyingVerdict('killed', 'error')).toBe(false); // exit codes > 128: documented in SECURITY.md
    expect(lyingVerdict('timeout', 'timeout')).toBe(false);
  });
});

describe('host-wide kernel pools sampled on the host', () => {
  it('reports a counter that rose past its allowance during the run, not one that stayed within it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pybox-pools-'));
    try {
      const path = join(dir, 'nr');
      writeFileSync(path, '10\n');
      const pool = { name: 'test.nr', path, allowed: 4, what: 'a test pool' };
      const quiet = watchHostPools([pool]);
      writeFileSync(path, '14\n');
      expect(quiet.stop()).toEqual([]);
      const loud = watchHostPools([pool]);
      writeFileSync(path, '19\n');
      expect(loud.stop()).toEqual(["the host's test.nr rose from 14 to 19 during the run (a test pool; a run may take 4)"]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the pool attacks are judged by the host counters and run alone', () => {
    for (const id of ['pool-aio-setup', 'pool-pty-exhaust']) {
      const a = corpus.find((x) => x.id === id);
      expect(a?.detect).toContain('pools');
      expect(a?.exclusive).toBe(true);
    }
    expect(HOST_POOLS.map((p) => p.path)).toEqual(['/proc/sys/fs/aio-nr', '/proc/sys/kernel/pty/nr']);
  });
});

describe('the matrix and its report', () => {
  const attacks = corpus.slice(0, 3);
  const targets = TARGETS.filter((t) => ['L0', 'L6', 'pybox'].includes(t.name));
  const m = buildMatrix({
    attacks,
    targets,
    results: (a, t) => ({ verdict: t.name === 'L0' ? 'escaped' : 'contained', status: 'ok', durationMs: 1, evidence: ['\x1b[31mred'] }),
    startedAt: new Date(0).toISOString(),
    durationMs: 1000,
    cgroupMode: 'v2',
    pyboxPath: 'zygote',
    concurrency: 2,
    limits: { pybox: PYBOX_LIMITS, lab: LAB_LIMITS },
    leftovers: [],
  });

  it('has the --json contract fields', () => {
    const json = JSON.parse(JSON.stringify(m)) as { targets: string[]; attacks: { id: string; category: string; results: Record<string, string> }[] };
    expect(json.targets).toEqual(['L0', 'L6', 'pybox']);
    for (const a of json.attacks) {
      expect(typeof a.id).toBe('string');
      expect(CATEGORIES).toContain(a.category);
      expect(Object.keys(a.results)).toEqual(['L0', 'L6', 'pybox']);
      for (const v of Object.values(a.results)) expect(['contained', 'escaped', 'error']).toContain(v);
    }
    expect(m.ok).toBe(true);
    expect(m.totals.byTarget.L0?.escaped).toBe(3);
  });

  it('fails without a positive control', () => {
    const none = buildMatrix({ ...{ attacks, targets, startedAt: '', durationMs: 0, cgroupMode: 'v2', pyboxPath: 'zygote', concurrency: 1, limits: { pybox: PYBOX_LIMITS, lab: LAB_LIMITS }, leftovers: [] }, results: () => ({ verdict: 'contained', status: 'ok', durationMs: 1, evidence: [] }) });
    expect(none.ok).toBe(false);
    expect(none.problems[0]).toMatch(/no positive control/);
  });

  it('prints no raw control characters from evidence', () => {
    const text = formatReport(m);
    expect(text).toContain('ESCAPED');
    expect(text).not.toContain('\x1b');
    expect(excerpt('a\x1b]0;x\x07b\u009b')).toBe('a\\x1b]0;x\\x07b\\x9b');
  });

  it('rewrites only the generated counts section of the doc', () => {
    const dir = mkdtempSync(join(tmpdir(), 'attack-doc-'));
    try {
      const path = join(dir, 'doc.md');
      writeFileSync(path, `intro\n${COUNTS_BEGIN}\nold\n${COUNTS_END}\noutro\n`);
      updateDoc(path, m);
      const text = readFileSync(path, 'utf8');
      expect(text).toContain(countsMarkdown(m));
      expect(text.startsWith('intro\n')).toBe(true);
      expect(text.endsWith(`${COUNTS_END}\noutro\n`)).toBe(true);
      expect(text).not.toContain('\nold\n');
      writeFileSync(path, 'no markers');
      expect(() => updateDoc(path, m)).toThrow(/counts section/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('keeps the documented counts section in docs/building-and-breaking.md', () => {
    const doc = readFileSync(new URL('../docs/building-and-breaking.md', import.meta.url), 'utf8');
    expect(doc).toContain(COUNTS_BEGIN);
    expect(doc).toContain(COUNTS_END);
  });
});

describe('limits of the lab itself', () => {
  const fake = (stdout: string, status: RunResult['status'] = 'ok') => ({ run: async () => result({ status, stdout }) }) as unknown as Sandbox;

  it('refuses to run attacks in a sandbox that does not look like a jail', async () => {
    await expect(preflight(fake('2 pybox False False False\n'))).resolves.toBeUndefined();
    await expect(preflight(fake('4242 pybox False False False\n'))).rejects.toThrow(/refusing to run attacks.*pid 4242/);
    await expect(preflight(fake('2 pybox True False False\n'))).rejects.toThrow(/temp directory is visible/);
    await expect(preflight(fake('2 pybox False True False\n'))).rejects.toThrow(/environment is visible/);
    await expect(preflight(fake('', 'internal_error'))).rejects.toThrow(/status internal_error/);
  });

  it('caps every run', () => {
    const wild = capLimits({ timeoutMs: 10 ** 7, cpuMs: 10 ** 7, memoryMiB: 10 ** 5, processes: 4096, openFiles: 10 ** 5, outputBytes: 10 ** 9, displayBytes: 10 ** 9, workspaceMiB: 10 ** 4, hostCallTimeoutMs: 10 ** 6, hostCalls: 10 ** 6, hostCallBytes: 10 ** 7 });
    expect(wild).toEqual(LIMIT_CAPS);
    for (const l of [PYBOX_LIMITS, LAB_LIMITS]) expect(capLimits(l)).toEqual(l);
    expect(PYBOX_LIMITS.timeoutMs).toBeLessThanOrEqual(3000);
    expect(PYBOX_LIMITS.processes).toBeLessThanOrEqual(16);
  });
});

function quietIO() {
  const sink = { write: (_s: string, cb?: () => void) => (cb?.(), true) };
  return { stdin: process.stdin, stdout: sink as never, stderr: sink as never };
}

describe('pybox attack (CLI flags, no jail needed)', () => {
  async function cli(argv: string[]) {
    let stdout = '';
    let stderr = '';
    const sink = (append: (s: string) => void) => ({
      write: (s: string | Uint8Array, cb?: () => void) => {
        append(String(s));
        cb?.();
        return true;
      },
    });
    const cmd = attackCommand({ stdout: sink((s) => (stdout += s)) as never, stderr: sink((s) => (stderr += s)) as never })
      .exitOverride()
      .configureOutput({ writeOut: (s) => (stdout += s), writeErr: (s) => (stderr += s) });
    try {
      await cmd.parseAsync(argv, { from: 'user' });
      return { code: Number(process.exitCode ?? 0), stdout, stderr };
    } catch (error) {
      if (error instanceof CommanderError) return { code: error.exitCode, stdout, stderr };
      throw error;
    } finally {
      process.exitCode = undefined;
    }
  }

  it('lists the corpus', async () => {
    const r = await cli(['--list', '--category', 'protocol']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split('\n').length).toBe(corpus.filter((a) => a.category === 'protocol').length);
  });

  it('refuses an unknown target, category or id', async () => {
    expect((await cli(['--target', 'L7'])).stderr).toMatch(/unknown target "L7"/);
    expect((await cli(['--category', 'magic'])).stderr).toMatch(/unknown category "magic"/);
    expect((await cli(['--id', 'no-such-attack', '--list'])).stderr).toMatch(/unknown attack id/);
    for (const argv of [['attack', '--target', 'L7'], ['attack', '--category', 'magic'], ['attack', '--id', 'nope', '--list']]) {
      expect(await main(argv, quietIO()), argv.join(' ')).toBe(2);
    }
  });

  it('is registered in the pybox CLI', async () => {
    let help = '';
    const code = await main(['attack', '--help'], {
      stdin: process.stdin,
      stdout: { write: (s: string, cb?: () => void) => ((help += s), cb?.(), true) } as never,
      stderr: { write: (s: string, cb?: () => void) => ((help += s), cb?.(), true) } as never,
    });
    expect(code).toBe(0);
    expect(help).toMatch(/--target <name>/);
    expect(help).toMatch(/--category <c>/);
    expect(help).toMatch(/--json/);
  });
});
