import { performance } from 'node:perf_hooks';
import type { RunResult } from '../../../core/result.js';
import { sinceBaseline, type CgroupBaseline } from '../cgroup/cgroups.js';
import { startColdJail } from './bwrap-jail.js';
import { GuestExchange, type Guard } from './exchange.js';
import type { JailEnvironment, JailRun, LiveJail } from './live-jail.js';
import { guestRlimits, PER_UID_RLIMITS } from './rlimits.js';
import { decideVerdict, type KillReason } from './verdict.js';

// One run's supervision in a live jail, whatever made it: its timers (wall clock, CPU),
// the kill, the accounting (cgroup counters) and the verdict. The exchange with the
// guest (request, stdin, output, frames) is exchange.ts.

const CPU_POLL_MS = 20;

/**
 * Runs one program in a fresh jail and returns its verdict. Everything the guest
 * sends is bounded as it arrives; the status comes from exit status, cgroup
 * counters and our own timers.
 */
export async function superviseJail(env: JailEnvironment, run: JailRun): Promise<RunResult> {
  const { jail, baseline, done } = await startColdJail(env, run.limits);
  try {
    return await superviseRun(jail, run, { withCgroups: jail.cgroup !== null, baseline });
  } finally {
    await done();
  }
}

export interface SuperviseOptions {
  withCgroups: boolean;
  /** Counters of a warm jail's cgroup at the claim, to count the run alone. */
  baseline?: CgroupBaseline | null;
}

/**
 * Supervises one run in a live jail: sends the request, bounds output and frames as they
 * arrive (GuestExchange), enforces wall clock and CPU, and decides the verdict once no
 * process that ran the program is left (jail.programExited) and its output is read.
 */
export function superviseRun(jail: LiveJail, run: JailRun, options: SuperviseOptions): Promise<RunResult> {
  const { limits } = run;
  const { cgroup } = jail;
  // In a zygote's user namespace the zygote and its other (idle) children share the run's
  // uid, so a per-uid count (PER_UID_RLIMITS) would not be the run's own: its cgroup
  // (pids.max, mandatory for zygotes) holds its processes exactly.
  const perUid = !(jail.path === 'zygote' && cgroup !== null);
  const rlimits = guestRlimits(limits, options.withCgroups).filter(([name]) => perUid || !PER_UID_RLIMITS.includes(name));
  const baseline = options.baseline ?? null;

  return new Promise<RunResult>((resolve) => {
    const started = performance.now();
    let killReason: KillReason | null = null;
    let lastCpuMs = 0;
    const kill = (reason: KillReason | null) => {
      if (reason && !killReason) killReason = reason;
      jail.kill();
    };
    // Nothing that handles the guest's pipes may throw into Node's event loop: a failure
    // of ours ends the run as internal_error.
    let internalFailure: string | null = null;
    const guarded: Guard =
      (what, handler) =>
      (...args) => {
        try {
          handler(...args);
        } catch (error) {
          internalFailure ??= `${what}: ${(error as Error)?.message ?? String(error)}`;
          kill(null);
        }
      };

    let protocolBreach: string | null = null;
    const exchange = new GuestExchange(jail.io, run, guarded, () => kill('output_limit'), (why) => {
      protocolBreach ??= why;
      kill('protocol');
    });
    jail.contained.then(() => exchange.send(rlimits), () => undefined); // on failure the jail is already being killed

    const wallTimer = setTimeout(() => kill('timeout'), limits.timeoutMs);
    const cpuTimer = setInterval(
      guarded('sampling CPU', () => {
        const cg = cgroup?.cpuUsageMs();
        lastCpuMs = (cg !== undefined && cg !== null ? cg - (baseline?.cpuMs ?? 0) : null) ?? jail.sampleCpuMs() ?? lastCpuMs;
        if (lastCpuMs >= limits.cpuMs) kill('cpu_limit');
      }),
      CPU_POLL_MS,
    );

    void jail.programExited.then(async (exit) => {
      const durationMs = performance.now() - started;
      clearTimeout(wallTimer);
      clearInterval(cpuTimer);
      exchange.stop();
      // Its sockets (and network namespace) go with the run, not after its result.
      await cgroup?.socketsReleased();
      await exchange.drained();
      try {
        resolve(decide());
      } catch (error) {
        resolve(internalError(`the verdict could not be made: ${(error as Error)?.message ?? String(error)}`, performance.now() - started));
      }

      function decide(): RunResult {
        exchange.close();
        if (internalFailure !== null) return internalError(`the supervisor failed: ${internalFailure}`, durationMs);
        const rawStats = cgroup?.stats() ?? null;
        const stats = rawStats ? sinceBaseline(rawStats, baseline) : null;
        const cpuMs = stats?.cpuUsageMs ?? lastCpuMs;
        const report = exchange.report;
        const output = exchange.output();
        const { stdout } = output;
        // Said by the host, after the program's own stderr: why the run was ended.
        const stderr = killReason === 'protocol' ? `${output.stderr}pybox: the run was ended: the program broke the host-call protocol (${protocolBreach})\n` : output.stderr;
        const verdict = decideVerdict({
          killReason,
          exit: { code: exit.code, signal: exit.signal },
          started: report.ready,
          cgroup: stats,
          cpuMs,
          cpuLimitMs: limits.cpuMs,
          reportedErrorType: report.error?.type ?? null,
        });
        if (exit.error && report.ready && !killReason && verdict.status !== 'memory_limit' && verdict.status !== 'cpu_limit') {
          // The jail was lost under the program (its zygote died): pybox failed, not the program.
          return internalError(`the jail was lost during the run: ${exit.error.message}`, durationMs);
        }
        if (verdict.status === 'internal_error') {
          const why = exit.error ? String(exit.error.message) : stderr.trim().split('\n').slice(-3).join(' | ');
          const { stdout: out, stderr: err, control } = exchange.received;
          const read = `read from it: ${out} B stdout, ${err} B stderr, ${control} B of frames`;
          return internalError(`the jail did not start: ${why || `${jail.path === 'zygote' ? 'its pid 1' : 'bwrap'} exited with ${exit.code ?? exit.signal}`} (${read})`, durationMs);
        }
        let error = verdict.status === 'error' || verdict.status === 'memory_limit' ? report.error : null;
        if (verdict.status === 'error' && !error) {
          error = { type: 'SystemExit', message: String(verdict.exitCode), traceback: '' };
        }
        return {
          status: verdict.status,
          exitCode: verdict.exitCode,
          signal: verdict.signal,
          stdout,
          stderr,
          truncated: exchange.truncated,
          durationMs: Math.round(durationMs * 1000) / 1000,
          cpuMs: Math.round(cpuMs * 1000) / 1000,
          memoryPeakBytes: stats?.memoryPeakBytes ?? null,
          error,
          files: verdict.status === 'ok' || verdict.status === 'error' ? report.files : {},
          outputs: exchange.outputs(),
        };
      }
    });
  });
}

export function internalError(message: string, durationMs: number): RunResult {
  return {
    status: 'internal_error',
    exitCode: null,
    signal: null,
    stdout: '',
    stderr: `pybox: ${message}\n`,
    truncated: { stdout: false, stderr: false, display: false },
    durationMs,
    cpuMs: 0,
    memoryPeakBytes: null,
    error: null,
    files: {},
    outputs: [],
  };
}

