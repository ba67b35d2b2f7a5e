/**
 * Judging one run. An escape is proven by what the attack left behind -- the token
 * where the target forbids it, a planted secret in the output, a listener hit, a
 * changed canary, a limit the weak target did not enforce, a next run that changed --
 * never by the attack saying it failed.
 */
import { compileCollect } from '../core/glob.js';
import { normaliseWorkspacePath } from '../core/workspace-path.js';
import type { Limits, RunResult, RunStatus } from '../sandbox/index.js';
import { LIMIT_STATUSES, type Attack } from './corpus.js';
import type { Hits } from './host.js';
import type { Target } from './targets.js';

/** What the follow-up program (`print(6 * 7, True + 1)`) prints when nothing was tampered with. */
export const FOLLOWUP_OUTPUT = '42 2\n';

export type Verdict = 'contained' | 'escaped' | 'error';

export interface Judgement {
  verdict: Verdict;
  status: RunStatus | 'not-run';
  durationMs: number;
  /** Why: what was found (escaped), what the run ended with (contained), what went wrong (error). */
  evidence: string[];
}

/** Printable excerpt: guest text never reaches a terminal raw. */
export function excerpt(text: string, around?: string, width = 80): string {
  let start = 0;
  if (around) {
    const at = text.indexOf(around);
    if (at >= 0) start = Math.max(0, at - Math.floor((width - around.length) / 2));
  }
  const slice = text.slice(start, start + width);
  // eslint-disable-next-line no-control-regex
  return slice.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g, (c) =>
    c === '\n' ? '\\n' : `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`,
  );
}

const sumHits = (h: Partial<Hits> | undefined): number => (h ? (h.tcp ?? 0) + (h.udp ?? 0) + (h.unix ?? 0) + (h.abstract ?? 0) : 0);
const hitsText = (h: Partial<Hits>): string =>
  Object.entries(h)
    .filter(([, n]) => (n ?? 0) > 0)
    .map(([k, n]) => `${k}=${n}`)
    .join(' ');

function fileTexts(files: Record<string, Uint8Array>): [string, string][] {
  return Object.entries(files).map(([k, v]) => [k, Buffer.from(v).toString('utf8')]);
}

function findSecrets(where: [string, string][], secrets: string[]): string[] {
  const found: string[] = [];
  for (const secret of secrets) {
    for (const [label, text] of where) {
      if (text.includes(secret)) {
        found.push(`planted secret leaked in ${label}: "${excerpt(text, secret)}"`);
        break;
      }
    }
  }
  return found;
}

function outputs(r: RunResult, stdout = r.stdout): [string, string][] {
  return [
    ['stdout', stdout],
    ['stderr', r.stderr],
    ['error', r.error ? `${r.error.type}: ${r.error.message}\n${r.error.traceback}` : ''],
    ...fileTexts(r.files).map(([k, v]): [string, string] => [`file ${k}`, v]),
  ];
}

// --- targets hosted in the jail (ladder, decoy, pybox-language) ---

export interface LabReport {
  exit: number;
  hits: Hits;
  received: string;
  survivors: string[];
  canaryChanged: boolean;
  newHostFiles: string[];
  out: string | null;
  maxFds: number;
  maxProcs: number;
  full: string[];
  servers: string[];
  decoy?: { collected: Record<string, string>; verdict: string; wrote: string[]; errorType: string | null };
}

/** Thresholds for the lab's samplers: a crowd of processes, a full fd table. */
export const PROCS_THRESHOLD = 8;
export const FDS_MARGIN = 8;

/** Splits the harness's own lines (report, follow-up section) out of the attack's stdout. */
export function splitLabOutput(stdout: string, tag: string): { stdout: string; report: LabReport | null; followup: string | null } {
  let report: LabReport | null = null;
  let followup: string | null = null;
  let rest = stdout;
  const begin = `\n@@FOLLOWUP-BEGIN ${tag}\n`;
  const end = `\n@@FOLLOWUP-END ${tag}\n`;
  const b = rest.lastIndexOf(begin);
  if (b >= 0) {
    const e = rest.indexOf(end, b);
    followup = e >= 0 ? rest.slice(b + begin.length, e) : rest.slice(b + begin.length);
    rest = rest.slice(0, b) + (e >= 0 ? rest.slice(e + end.length) : '');
  }
  const marker = `\n@@LAB-REPORT ${tag} `;
  const r = rest.lastIndexOf(marker);
  if (r >= 0) {
    const lineEnd = rest.indexOf('\n', r + marker.length);
    const json = rest.slice(r + marker.length, lineEnd < 0 ? undefined : lineEnd);
    try {
      report = JSON.parse(json) as LabReport;
    } catch {
      report = null;
    }
    rest = rest.slice(0, r) + (lineEnd < 0 ? '' : rest.slice(lineEnd + 1));
  }
  return { stdout: rest, report, followup };
}

export interface LabJudgeInput {
  attack: Attack;
  target: Target;
  limits: Limits;
  result: RunResult;
  tag: string;
  token: string;
  decoySecret: string;
}

export function judgeLab({ attack, target, limits, result, tag, token, decoySecret }: LabJudgeInput): Judgement {
  const { stdout, report, followup } = splitLabOutput(result.stdout, tag);
  const ev: string[] = [];
  const detect = new Set(attack.detect);

  if (stdout.includes(token)) ev.push(`token reached stdout (the forbidden channel): "${excerpt(stdout, token)}"`);
  for (const [name, text] of fileTexts(result.files)) {
    if (text.includes(token)) ev.push(`token in workspace file ${name} delivered to the host`);
  }
  if (report?.out?.includes(token)) ev.push(`token written to the (fake) host file OUT: "${excerpt(report.out, token)}"`);
  const where = outputs(result, stdout);
  if (report?.decoy) where.push(...Object.entries(report.decoy.collected).map(([k, v]): [string, string] => [`host-collected out/${k}`, v]));
  if (report?.received) where.push(['a host listener', report.received]);
  ev.push(...findSecrets(where, [decoySecret]));
  if (report && sumHits(report.hits) > 0) ev.push(`host listener hit: ${hitsText(report.hits)}${report.received ? ` "${excerpt(report.received)}"` : ''}`);
  if (report && report.servers.length > 0) ev.push(`started a server on the host's network: ${report.servers.join(', ')}`);
  if (report?.canaryChanged) ev.push('host canary file modified');
  if (report && report.newHostFiles.length > 0) ev.push(`host directory gained ${report.newHostFiles.map((n) => excerpt(n, undefined, 40)).join(', ')}`);
  if (report?.decoy && report.decoy.wrote.some((p) => !p.startsWith('/workspace/collected/') || p.includes('/../'))) {
    ev.push(`the host wrote a guest-named file outside its output dir: ${excerpt(report.decoy.wrote.find((p) => p.includes('..') || !p.startsWith('/workspace/collected/')) ?? '')}`);
  }

  if (detect.has('followup') && report) {
    if (followup === null) ev.push('the next run through the same sandbox never ran');
    else if (followup !== FOLLOWUP_OUTPUT) ev.push(`the next run through the same sandbox printed "${excerpt(followup)}" instead of "${excerpt(FOLLOWUP_OUTPUT)}"`);
  }
  if (detect.has('daemon') && report && report.survivors.length > 0) ev.push(`outlived its run: ${report.survivors.map((s) => excerpt(s, undefined, 50)).join('; ')}`);
  if (detect.has('verdict') && target.kind === 'decoy' && report?.decoy && attack.truth && lyingVerdict(report.decoy.verdict, attack.truth)) {
    ev.push(`the naive host reported "${excerpt(report.decoy.verdict)}" for a run that was "${attack.truth}"`);
  }
  if (detect.has('fds') && report && report.maxFds >= limits.openFiles - FDS_MARGIN) {
    ev.push(`filled its fd table: ${report.maxFds} open fds; only pybox's rlimit (${limits.openFiles}) stopped it`);
  }
  if (detect.has('procs') && report && report.maxProcs >= PROCS_THRESHOLD) ev.push(`ran ${report.maxProcs} processes at once`);
  if (detect.has('fill') && report && report.full.length > 0) ev.push(`filled ${report.full.join(', ')} (under 10 % free)`);
  // eslint-disable-next-line no-control-regex
  const control = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/;
  if (detect.has('tty') && report?.decoy?.errorType && control.test(report.decoy.errorType)) {
    ev.push(`the naive host got an error type with raw control characters to print: "${excerpt(report.decoy.errorType)}"`);
  }
  const limitHit = LIMIT_STATUSES.includes(result.status);
  if (detect.has('limit')) {
    if (limitHit) ev.push(`the ${target.name} defence did not stop it; pybox's jail had to (${result.status} after ${Math.round(result.durationMs)} ms)`);
    else if (report && report.exit < 0) ev.push(`the sandboxed interpreter died of signal ${-report.exit}`);
  }
  if (detect.has('supervisor') && !report && ['ok', 'error', 'killed'].includes(result.status)) {
    ev.push(`the weak sandbox's supervisor died: no report (status ${result.status}${result.signal ? `, ${result.signal}` : ''})`);
  }

  if (ev.length > 0) return { verdict: 'escaped', status: result.status, durationMs: result.durationMs, evidence: ev };
  if (result.status === 'internal_error') return { verdict: 'error', status: result.status, durationMs: result.durationMs, evidence: [`internal_error: ${excerpt(result.stderr)}`] };
  if (!report) {
    if (detect.has('verdict') && attack.truth === result.status) {
      return { verdict: 'contained', status: result.status, durationMs: result.durationMs, evidence: [`${result.status}, as it really was`] };
    }
    if (limitHit && !detect.has('limit')) {
      return { verdict: 'error', status: result.status, durationMs: result.durationMs, evidence: [`the run hit ${result.status} before the lab could report`] };
    }
    return { verdict: 'error', status: result.status, durationMs: result.durationMs, evidence: [`no lab report (status ${result.status}): ${excerpt(result.stderr.slice(-300))}`] };
  }
  return { verdict: 'contained', status: result.status, durationMs: result.durationMs, evidence: [containedWhy(result, stdout)] };
}

function containedWhy(r: RunResult, stdout: string): string {
  const lastErr = r.stderr.trim().split('\n').filter(Boolean).slice(-1)[0];
  if (r.error) return `${r.status}: ${excerpt(`${r.error.type}: ${r.error.message}`, undefined, 120)}`;
  if (lastErr) return `${r.status}: ${excerpt(lastErr, undefined, 120)}`;
  const lastOut = stdout.trim().split('\n').filter(Boolean).slice(-1)[0];
  return `${r.status}${lastOut ? `: ${excerpt(lastOut)}` : ''}`;
}

/**
 * A verdict lies when it invents or hides a limit, or turns failure into success or
 * back. Exit codes above 128 read as signals are documented (SECURITY.md) and not a lie.
 */
export function lyingVerdict(status: string, truth: string): boolean {
  if (status === truth) return false;
  const limits: readonly string[] = ['timeout', 'cpu_limit', 'memory_limit', 'output_limit'];
  return limits.includes(status) || limits.includes(truth) || (status === 'ok') !== (truth === 'ok');
}

// --- the product ---

export interface PyboxJudgeInput {
  attack: Attack;
  result: RunResult;
  limits: Limits;
  token: string;
  collect: string[];
  secrets: string[];
  hostChanges: string[];
  hits: Hits;
  received: string;
  followup: RunResult | null;
  leftovers: string[];
}

/** Slack on top of a limit before "within its bound" fails: timers, scheduling, teardown. */
export const BOUND_SLACK_MS = 2000;

export function judgePybox(i: PyboxJudgeInput): Judgement {
  const { attack, result: r, limits } = i;
  const ev: string[] = [];
  const detect = new Set(attack.detect);

  ev.push(...i.hostChanges);
  if (sumHits(i.hits) > 0) ev.push(`host listener hit: ${hitsText(i.hits)}${i.received ? ` "${excerpt(i.received)}"` : ''}`);
  ev.push(...findSecrets([...outputs(r), ['a host listener', i.received]], i.secrets));
  const breach = r.stdout.indexOf(i.token);
  if (breach >= 0) ev.push(`the attack verified an effect pybox denies: "${excerpt(r.stdout, i.token, 120)}"`);
  const asked = compileCollect(i.collect);
  for (const key of Object.keys(r.files)) {
    if (normaliseWorkspacePath(key) !== key) ev.push(`result.files has an unsafe path ${JSON.stringify(excerpt(key))}`);
    else if (!asked.matches(key)) ev.push(`result.files has ${JSON.stringify(excerpt(key))}, which no collect pattern asked for`);
  }
  if (i.followup && (i.followup.status !== 'ok' || i.followup.stdout !== FOLLOWUP_OUTPUT)) {
    ev.push(`the next ordinary run broke: ${i.followup.status} ${JSON.stringify(excerpt(i.followup.stdout + i.followup.stderr))}`);
  }
  if (i.leftovers.length > 0) ev.push(`outlived its run on the host: ${i.leftovers.map((l) => excerpt(l, undefined, 60)).join('; ')}`);
  if (r.durationMs > limits.timeoutMs + BOUND_SLACK_MS) ev.push(`ran ${Math.round(r.durationMs)} ms, past its ${limits.timeoutMs} ms wall-clock limit`);
  if (r.cpuMs > limits.cpuMs * 2 + BOUND_SLACK_MS) ev.push(`used ${Math.round(r.cpuMs)} ms of CPU against a ${limits.cpuMs} ms limit`);
  if (r.memoryPeakBytes !== null && r.memoryPeakBytes > limits.memoryMiB * 1024 * 1024 * 1.05 + 4 * 1024 * 1024) {
    ev.push(`peaked at ${Math.round(r.memoryPeakBytes / 1048576)} MiB against a ${limits.memoryMiB} MiB limit`);
  }
  const outputBytes = Buffer.byteLength(r.stdout) + Buffer.byteLength(r.stderr);
  if (outputBytes > limits.outputBytes) ev.push(`returned ${outputBytes} bytes of output against a ${limits.outputBytes} byte limit`);
  if (detect.has('verdict') && attack.truth && lyingVerdict(r.status, attack.truth)) {
    ev.push(`the verdict was "${r.status}" for a run that was "${attack.truth}"`);
  }
  for (const key of Object.keys(r.files)) {
    // eslint-disable-next-line no-control-regex
    if (/[\u0000-\u001f\u007f-\u009f]/.test(key)) ev.push(`result.files has a name with control characters: ${JSON.stringify(key)}`);
  }

  if (ev.length > 0) return { verdict: 'escaped', status: r.status, durationMs: r.durationMs, evidence: ev };
  if (r.status === 'internal_error') return { verdict: 'error', status: r.status, durationMs: r.durationMs, evidence: [`internal_error: ${excerpt(r.stderr)}`] };
  if (detect.has('limit') && !attack.expect.includes(r.status)) {
    return {
      verdict: 'error',
      status: r.status,
      durationMs: r.durationMs,
      evidence: [`status ${r.status}, expected ${attack.expect.join('|')}: the attack did not behave as designed (${containedWhy(r, r.stdout)})`],
    };
  }
  const how = detect.has('limit') ? `${r.status} within ${Math.round(r.durationMs)} ms; the next run works` : containedWhy(r, r.stdout);
  return { verdict: 'contained', status: r.status, durationMs: r.durationMs, evidence: [how] };
}
