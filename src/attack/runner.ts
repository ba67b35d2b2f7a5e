/**
 * Runs attacks against targets and builds the matrix. Every attack and every weaker
 * target runs only through Sandbox.run (pybox's jail). The runner itself is bounded:
 * a global deadline, bounded concurrency, capped per-run limits, a watchdog per run.
 */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { LANGUAGE_POLICY_SOURCE } from '../guest/index.js';
import { Sandbox, type Limits, type RunResult, type SandboxMode } from '../sandbox/index.js';
import { attackProgram, type RunContext } from './context.js';
import { loadCorpus, loadHarness, loadLadder, packageRoot, type Attack, type Category } from './corpus.js';
import { excerpt, judgeLab, judgePybox, type Judgement } from './evidence.js';
import { watchHostPools } from './host-pools.js';
import { HostFixture, hostIdentity, jailLeftovers, randomId, SECRET_ENV, virtualHost } from './host.js';
import { buildMatrix, type Matrix } from './matrix.js';
import { zygoteEvidence, zygoteServers } from './zygote-watch.js';
import { capLimits, findTarget, LAB_LIMITS, PYBOX_LIMITS, TARGETS, type Target } from './targets.js';

export interface RunnerOptions {
  /** Default: the whole corpus under attacks/. */
  attacks?: Attack[];
  /** Target names; default all. */
  targets?: string[];
  categories?: string[];
  ids?: string[];
  /** Runs in flight at once (1..4, default 3). */
  concurrency?: number;
  /** The whole attack run stops starting new runs after this (default 15 minutes). */
  deadlineMs?: number;
  pyboxLimits?: Partial<Limits>;
  labLimits?: Partial<Limits>;
  /** How the pybox target gets its jails (default: what Sandbox.create() picks). */
  pyboxMode?: SandboxMode;
  onResult?: (attack: Attack, target: Target, judgement: Judgement, done: number, total: number) => void;
  root?: string;
}

export const DEFAULT_CONCURRENCY = 3;
export const MAX_CONCURRENCY = 4;
export const DEFAULT_DEADLINE_MS = 15 * 60_000;
/** An ordinary program, and what it prints when nothing has been tampered with. */
export const FOLLOWUP = 'print(6 * 7, True + 1)';

/** The policy of the real guest bootstrap (src/guest/python/paths.py, policy.py): pybox's language layer, verbatim. */
export function languagePolicySource(): string {
  return LANGUAGE_POLICY_SOURCE;
}

class Watchdog extends Error {}

function withWatchdog<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  const dog = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Watchdog(`${what}: no answer after ${ms} ms`)), ms);
  });
  return Promise.race([promise, dog]).finally(() => clearTimeout(timer));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Job {
  attack: Attack;
  target: Target;
}

export function selectAttacks(all: Attack[], opts: { categories?: string[]; ids?: string[] }): Attack[] {
  return all.filter(
    (a) => (!opts.categories?.length || opts.categories.includes(a.category)) && (!opts.ids?.length || opts.ids.includes(a.id)),
  );
}

export async function runAttacks(options: RunnerOptions = {}): Promise<Matrix> {
  const started = Date.now();
  const root = options.root ?? packageRoot();
  const attacks = selectAttacks(options.attacks ?? loadCorpus(root), options);
  const targetNames = options.targets?.length ? options.targets : TARGETS.map((t) => t.name);
  const targets = targetNames.map((name) => {
    const t = findTarget(name);
    if (!t) throw new Error(`unknown target "${name}" (one of ${TARGETS.map((x) => x.name).join(', ')})`);
    return t;
  });
  // Keep the table in the canonical order whatever order the flags came in.
  targets.sort((a, b) => TARGETS.indexOf(a) - TARGETS.indexOf(b));
  const concurrency = Math.max(1, Math.min(MAX_CONCURRENCY, options.concurrency ?? DEFAULT_CONCURRENCY));
  const deadline = started + (options.deadlineMs ?? DEFAULT_DEADLINE_MS);
  const pyboxLimits = capLimits({ ...PYBOX_LIMITS, ...options.pyboxLimits });
  const labLimits = capLimits({ ...LAB_LIMITS, ...options.labLimits });

  const ladder = loadLadder(root);
  const harness = loadHarness(root);
  const policy = languagePolicySource();

  const needLab = targets.some((t) => t.kind !== 'pybox');
  const needPybox = targets.some((t) => t.kind === 'pybox');
  const lab = needLab ? await Sandbox.create({ policy: 'off', limits: labLimits }) : null;
  const prod = needPybox ? await Sandbox.create({ policy: 'strict', limits: pyboxLimits, ...(options.pyboxMode ? { mode: options.pyboxMode } : {}) }) : null;
  const pyboxPath = prod?.mode.active ?? null;
  const cgroupMode = (prod ?? lab)?.cgroupMode ?? 'none';
  // A broken build must not turn the corpus loose on this machine.
  try {
    for (const sandbox of [lab, prod]) if (sandbox) await preflight(sandbox);
  } catch (error) {
    await lab?.close();
    await prod?.close();
    throw error;
  }

  // The planted environment secret lives in the runner's own process for the whole run.
  const envSecret = `env-secret-${randomId(12)}`;
  const previousEnv = process.env[SECRET_ENV];
  process.env[SECRET_ENV] = envSecret;

  const results = new Map<string, Judgement>();
  const key = (a: Attack, t: Target) => `${a.id}\u0000${t.name}`;
  const jobs: Job[] = [];
  const exclusive: Job[] = [];
  for (const attack of attacks) {
    for (const target of targets) (target.kind === 'pybox' && attack.exclusive ? exclusive : jobs).push({ attack, target });
  }
  const total = jobs.length + exclusive.length;
  let done = 0;

  const runJob = async (job: Job): Promise<void> => {
    let judgement: Judgement;
    if (Date.now() > deadline) {
      judgement = { verdict: 'error', status: 'not-run', durationMs: 0, evidence: ['not run: the attack run reached its global deadline'] };
    } else {
      try {
        judgement =
          job.target.kind === 'pybox'
            ? await runPybox(prod as Sandbox, job.attack, pyboxLimits, envSecret, cgroupMode !== 'none', job.attack.exclusive)
            : await runLab(lab as Sandbox, job.attack, job.target, labLimits, { ladder, harness, policy });
      } catch (error) {
        judgement = { verdict: 'error', status: 'not-run', durationMs: 0, evidence: [`lab failure: ${excerpt(String((error as Error).message ?? error), undefined, 200)}`] };
      }
    }
    results.set(key(job.attack, job.target), judgement);
    done++;
    options.onResult?.(job.attack, job.target, judgement, done, total);
  };

  try {
    // Spread slow (resource) attacks out so they do not all share the CPU at once.
    const queue = interleave(jobs);
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        for (let job = queue.shift(); job; job = queue.shift()) await runJob(job);
      }),
    );
    for (const job of exclusive) await runJob(job);
  } finally {
    if (previousEnv === undefined) delete process.env[SECRET_ENV];
    else process.env[SECRET_ENV] = previousEnv;
    await lab?.close();
    await prod?.close();
  }

  const finalLeftovers = needPybox || needLab ? jailLeftovers(cgroupMode !== 'none') : [];
  return buildMatrix({
    attacks,
    targets,
    results: (a, t) => results.get(key(a, t)) ?? { verdict: 'error', status: 'not-run', durationMs: 0, evidence: ['no result'] },
    startedAt: new Date(started).toISOString(),
    durationMs: Date.now() - started,
    cgroupMode,
    pyboxPath,
    limits: { pybox: pyboxLimits, lab: labLimits },
    concurrency,
    leftovers: finalLeftovers,
  });
}

/**
 * Before any attack runs: the sandbox must look like a jail from the inside -- its own
 * pid namespace and host name, none of the host's files, the host's environment gone.
 * Throws (and no attack runs) otherwise.
 */
export async function preflight(sandbox: Sandbox): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'pybox-lab-preflight-'));
  const marker = join(dir, 'host-marker');
  writeFileSync(marker, 'host');
  chmodSync(dir, 0o755);
  const key = `PYBOX_LAB_PREFLIGHT_${randomId(4)}`;
  process.env[key] = 'host-environment';
  try {
    const probe = [
      'import os',
      `print(os.getpid(), os.uname().nodename, os.path.exists(${JSON.stringify(marker)}), ${JSON.stringify(key)} in os.environ, os.path.exists("/home"))`,
    ].join('\n');
    const r = await withWatchdog(sandbox.run(probe, { limits: { timeoutMs: 5000 } }), 30_000, 'preflight');
    const [pid, host, sees, env, home] = r.stdout.trim().split(' ');
    const problems = [
      r.status !== 'ok' && `status ${r.status}: ${excerpt(r.stderr, undefined, 200)}`,
      !(Number(pid) > 0 && Number(pid) < 10) && `pid ${pid} (not a fresh pid namespace)`,
      host === hostname() && host !== 'pybox' && `the host's name (${host})`,
      sees !== 'False' && 'the host\'s temp directory is visible',
      env !== 'False' && 'the host\'s environment is visible',
      home !== 'False' && '/home is visible',
    ].filter(Boolean);
    if (problems.length) throw new Error(`refusing to run attacks: the sandbox does not look like a jail (${problems.join('; ')})`);
  } finally {
    delete process.env[key];
    rmSync(dir, { recursive: true, force: true });
  }
}

function interleave(jobs: Job[]): Job[] {
  const slow = jobs.filter((j) => j.attack.detect.includes('limit'));
  const fast = jobs.filter((j) => !j.attack.detect.includes('limit'));
  const out: Job[] = [];
  const ratio = slow.length ? Math.max(1, Math.floor(fast.length / slow.length)) : 0;
  while (slow.length || fast.length) {
    if (slow.length) out.push(slow.shift() as Job);
    for (let i = 0; i < ratio && fast.length; i++) out.push(fast.shift() as Job);
    if (!slow.length) out.push(...fast.splice(0));
  }
  return out;
}

interface LabSources {
  ladder: string[];
  harness: string;
  policy: string;
}

const watchdogMs = (l: Limits) => l.timeoutMs * 3 + 15_000;

async function runLab(lab: Sandbox, attack: Attack, target: Target, limits: Limits, src: LabSources): Promise<Judgement> {
  const nonce = randomId(8);
  const token = `PWNED-${nonce}`;
  const host = virtualHost(nonce);
  const ctx: RunContext = { nonce, token, out: target.kind === 'language' ? '/dev/stdout' : host.out, host };
  const tag = randomId(8);
  const decoySecret = `decoy-secret-${randomId(12)}`;
  const cfg = {
    mode: target.kind,
    levels: target.kind === 'ladder' ? src.ladder.slice(0, target.level + 1) : [],
    policy: target.kind === 'language' ? src.policy : '',
    attack: attackProgram(ctx, attack.code),
    harness: src.harness,
    hostDir: host.dir,
    out: host.out,
    canary: `canary-${randomId(8)}`,
    secret: decoySecret,
    envName: SECRET_ENV,
    tcp: host.tcp,
    udp: host.udp,
    unix: host.unix,
    abstract: host.abstract,
    tag,
    followup: attack.detect.includes('followup'),
  };
  const result = await withWatchdog(
    lab.run(src.harness, { stdin: JSON.stringify(cfg), collect: ['pwned-*'], limits }),
    watchdogMs(limits),
    `${attack.id} on ${target.name}`,
  );
  return judgeLab({ attack, target, limits, result, tag, token, decoySecret });
}

async function runPybox(prod: Sandbox, attack: Attack, limits: Limits, envSecret: string, withCgroups: boolean, exclusive: boolean): Promise<Judgement> {
  const nonce = randomId(8);
  const token = `PWNED-${nonce}`;
  const fixture = await HostFixture.create(nonce);
  try {
    const secrets = [fixture.secret, envSecret, ...hostIdentity()];
    if (attack.setupOtherRun) {
      // "Another user" runs first and leaves a secret everywhere a run can write.
      const other = `other-run-secret-${randomId(12)}`;
      secrets.push(other);
      const setup = [
        `s = ${JSON.stringify(other)}`,
        "for p in ('/workspace/result.txt', '/tmp/other-run.txt', '/dev/shm/other-run.txt'):",
        '    open(p, "w").write(s)',
      ].join('\n');
      const r = await withWatchdog(prod.run(setup, { limits }), watchdogMs(limits), 'other-run setup');
      if (r.status !== 'ok') throw new Error(`the other run failed: ${r.status} ${r.stderr.slice(-200)}`);
    }
    const ctx: RunContext = { nonce, token, out: fixture.shape.out, host: fixture.shape };
    const collect = ['**', 'pwned-*'];
    // Host-wide kernel counters, sampled on the host for as long as the run lasts.
    const pools = attack.detect.includes('pools') ? watchHostPools() : null;
    let poolChanges: string[] = [];
    const zygotes = attack.detect.includes('zygote') ? zygoteServers() : null;
    const result: RunResult = await withWatchdog(
      prod.run(attackProgram(ctx, attack.code), { collect, limits }),
      watchdogMs(limits),
      `${attack.id} on pybox`,
    ).finally(() => (poolChanges = pools?.stop() ?? []));
    await sleep(100); // a datagram or connection still in flight
    const leftovers = exclusive ? await settleLeftovers(withCgroups) : [];
    const followup = await withWatchdog(prod.run(FOLLOWUP, { limits }), watchdogMs(limits), 'follow-up run');
    return judgePybox({
      attack,
      result,
      limits,
      token,
      collect,
      secrets,
      hostChanges: [...fixture.changes(), ...poolChanges, ...(zygotes ? zygoteEvidence(zygotes, result) : [])],
      hits: { ...fixture.hits },
      received: fixture.received,
      followup,
      leftovers,
    });
  } finally {
    await fixture.close();
  }
}

/** Leftover jail processes, looked at twice: right after the run and a moment later. */
async function settleLeftovers(withCgroups: boolean): Promise<string[]> {
  const first = jailLeftovers(withCgroups);
  await sleep(300);
  const second = jailLeftovers(withCgroups);
  return [...new Set([...first, ...second])];
}

export type { Matrix } from './matrix.js';
export type { Category };
