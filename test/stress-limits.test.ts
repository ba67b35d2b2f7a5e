/**
 * Verdicts under load: runs that each hit one limit, eight at a time on two CPUs, on every
 * path. Every run must come back with its own limit's status, exactly: load must not turn a
 * limit's death into `killed`, nor into another limit's. Each case's other limits are far
 * enough away that only its own can be reached first (a CPU burner given a 30 s wall clock
 * needs about 4 s of it here). Nothing of any run may be left on the host.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Sandbox, type Limits, type RunResult, type RunStatus } from '../src/index.js';
import { hostLeftovers, snapshotHost, type HostSnapshot } from './helpers/host-state.js';
import { allOurJails, expectNoRunLeftovers } from './helpers/leftovers.js';
import { PATHS } from './helpers/sandboxes.js';

const py = (lines: string[]) => lines.join('\n');
const IN_FLIGHT = 8;
const ROUNDS = 5;
/** Every limit but the one a case hits: out of reach. */
const FAR: Partial<Limits> = { timeoutMs: 30_000, cpuMs: 30_000, memoryMiB: 64, processes: 16, outputBytes: 1 << 20 };

interface LimitCase {
  name: string;
  code: string;
  limits: Partial<Limits>;
  status: RunStatus;
  /** The exception type, for limits whose status is `error` (the program hit a refusal). */
  errorType?: string;
}

const CASES: LimitCase[] = [
  { name: 'wall clock', code: py(['import time', 'time.sleep(60)']), limits: { timeoutMs: 1000 }, status: 'timeout' },
  { name: 'CPU', code: 'while True: pass', limits: { cpuMs: 300 }, status: 'cpu_limit' },
  // A whole second: RLIMIT_CPU's unit, where its soft limit used to equal the budget.
  { name: 'CPU of a whole second', code: 'while True: pass', limits: { cpuMs: 1000 }, status: 'cpu_limit' },
  {
    name: 'memory',
    code: py(['chunks = []', 'while True: chunks.append(b"x" * (1 << 20))']),
    limits: { memoryMiB: 64 },
    status: 'memory_limit',
  },
  { name: 'output', code: py(['import sys', 'while True: sys.stdout.write("x" * 4096)']), limits: { outputBytes: 64 * 1024 }, status: 'output_limit' },
  {
    // The pids cgroup (and RLIMIT_NPROC) refuse the fork: the program dies of the uncaught
    // error, so the status is `error`; the process limit has no status of its own.
    name: 'processes',
    code: py(['import os, time', 'while True:', '    if os.fork() == 0:', '        time.sleep(60)', '        os._exit(0)']),
    limits: { processes: 8 },
    status: 'error',
    errorType: 'BlockingIOError',
  },
  {
    // res-huge-int-to-str: the digit limit lifted, a quadratic conversion only CPU can end.
    name: 'huge-int conversion, digit limit lifted',
    code: py(['import sys', 'sys.set_int_max_str_digits(0)', 'n = 10 ** 10000000 - 1', 'print(len(str(n)))']),
    limits: { cpuMs: 300 },
    status: 'cpu_limit',
  },
  {
    // CPython's own int/str digit limit refuses the conversion before it costs anything.
    name: 'huge-int conversion, digit limit kept',
    code: 'print(len(str(10 ** 100000)))',
    limits: { cpuMs: 300 },
    status: 'error',
    errorType: 'ValueError',
  },
];

/** Runs `jobs` through `run`, IN_FLIGHT at a time. */
async function inFlight<T, R>(jobs: T[], run: (job: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(jobs.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      for (let i = next++; i < jobs.length; i = next++) results[i] = await run(jobs[i] as T);
    }),
  );
  return results;
}

/** A run whose status (or error type) is not its limit's, with what tells why. */
function wrongVerdict(c: LimitCase, r: RunResult): object | null {
  if (r.status === c.status && (!c.errorType || r.error?.type === c.errorType)) return null;
  const { status, signal, exitCode, cpuMs, durationMs, memoryPeakBytes } = r;
  return { case: c.name, expected: c.status, status, signal, exitCode, cpuMs, durationMs, memoryPeakBytes, error: r.error?.type, stderr: r.stderr.slice(-200) };
}

describe.each(PATHS)('path %s', (mode) => {
  let sandbox: Sandbox;
  let before: HostSnapshot;

  beforeAll(async () => {
    before = snapshotHost();
    sandbox = await Sandbox.create({ mode, policy: 'strict', limits: FAR, pool: { size: IN_FLIGHT, max: IN_FLIGHT } });
  });
  afterAll(async () => {
    await sandbox.close();
    expect(allOurJails()).toEqual([]);
    expect(hostLeftovers(before)).toEqual([]);
  });

  it(`every run that hits a limit gets that limit's status, ${IN_FLIGHT} at a time`, async () => {
    const jobs = Array.from({ length: ROUNDS }, () => CASES).flat();
    const results = await inFlight(jobs, (c) => sandbox.run(c.code, { limits: { ...FAR, ...c.limits } }));
    expect(results).toHaveLength(jobs.length);
    expect(jobs.map((c, i) => wrongVerdict(c, results[i] as RunResult)).filter((w) => w !== null)).toEqual([]);
    const counts = sandbox.pathCounts;
    expect(counts.cold + counts.pool + counts.zygote).toBe(jobs.length);
    expect(counts[mode]).toBeGreaterThan(0); // warm paths send a run cold only when nothing warm is free
    expect(await expectNoRunLeftovers()).toEqual([]);
  }, 150_000);
});
