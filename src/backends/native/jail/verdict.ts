import { constants } from 'node:os';
import type { CgroupStats } from '../cgroup/cgroups.js';
import type { RunStatus } from '../../../core/result.js';

/** 'protocol': the guest broke the host-call protocol (a forged or out-of-line frame); its status is 'killed'. */
export type KillReason = 'timeout' | 'output_limit' | 'cpu_limit' | 'protocol';

export interface VerdictInput {
  /** Why the supervisor killed the jail, if it did. */
  killReason: KillReason | null;
  /** bwrap's own exit: the guest's code, or 128 + signal for a guest killed by a signal. */
  exit: { code: number | null; signal: NodeJS.Signals | null };
  /** The guest bootstrap started (its first frame came before anything of the user's ran). */
  started: boolean;
  cgroup: CgroupStats | null;
  cpuMs: number;
  cpuLimitMs: number;
  /** Guest-reported exception type; consulted only for MemoryError without a memory cgroup. */
  reportedErrorType: string | null;
}

export interface Verdict {
  status: RunStatus;
  exitCode: number | null;
  signal: string | null;
}

/** Without a cgroup CPU counter: the share of the budget the last sample must show for a SIGXCPU/SIGKILL to be the CPU limit's. */
const SAMPLED_CPU_TRUST = 0.5;

const SIGNAL_NAMES = new Map<number, string>(
  Object.entries(constants.signals).map(([name, num]) => [num, name]),
);

export function signalName(num: number): string {
  return SIGNAL_NAMES.get(num) ?? `SIG${num}`;
}

/**
 * Decides how a run ended from what the OS and our own timers say. The guest's
 * words (frames, output) never turn a limit into success or the reverse.
 */
export function decideVerdict(v: VerdictInput): Verdict {
  // Guest status as bwrap's pid 1 propagated it: 128 + n means killed by signal n.
  let exitCode: number | null = v.exit.code;
  let signal: string | null = v.exit.signal;
  if (exitCode !== null && exitCode > 128 && exitCode <= 128 + 64) {
    signal = signalName(exitCode - 128);
    exitCode = null;
  }
  const killedBySignal = signal !== null;

  if (v.killReason) return { status: v.killReason === 'protocol' ? 'killed' : v.killReason, exitCode: null, signal: 'SIGKILL' };
  if (v.cgroup && v.cgroup.oomKills > 0) return { status: 'memory_limit', exitCode, signal };
  // Only measured CPU decides: a guest can exit with 152 (128 + SIGXCPU) without using any.
  // Used up is over, even if the program got to finish between two samples. The cgroup
  // counter is read once the program's processes are gone, so it is exact, and with it RLIMIT_CPU is only a
  // backstop far past the budget (see CPU_BACKSTOP_FACTOR): its SIGXCPU, or SIGKILL a second
  // later, comes only after the counter has passed the budget.
  if (v.cpuMs >= v.cpuLimitMs) return { status: 'cpu_limit', exitCode, signal };
  // Without a cgroup CPU counter the CPU is the last /proc sample, taken up to a poll (or a
  // busy event loop) before the death: the rlimit's signal is believed once half the budget was seen.
  const sampled = (v.cgroup?.cpuUsageMs ?? null) === null;
  if (sampled && (signal === 'SIGXCPU' || signal === 'SIGKILL') && v.cpuMs >= v.cpuLimitMs * SAMPLED_CPU_TRUST) {
    return { status: 'cpu_limit', exitCode, signal };
  }
  if (!v.started) return { status: 'internal_error', exitCode, signal };
  if (killedBySignal) return { status: 'killed', exitCode, signal };
  if (exitCode === 0) return { status: 'ok', exitCode, signal };
  if (!v.cgroup && v.reportedErrorType === 'MemoryError') return { status: 'memory_limit', exitCode, signal };
  return { status: 'error', exitCode, signal };
}
