import { performance } from 'node:perf_hooks';
import type { CellResult, SessionEndReason } from '../../../core/backend.js';
import type { RunHooks } from '../../../core/hooks.js';
import type { Limits } from '../../../core/limits.js';
import type { PythonError, RunStatus } from '../../../core/result.js';
import type { DisplayCollector } from '../../../guest/display-frames.js';
import type { CgroupStats } from '../cgroup/cgroups.js';
import type { CappedOutput } from '../jail/capped-output.js';
import type { InputLines } from '../jail/input-lines.js';
import type { JailExit } from '../jail/live-jail.js';
import { signalName } from '../jail/verdict.js';

/** A session's running cell: what it was given and what the host has seen of it so far. */
export interface RunningCell {
  n: number;
  limits: Limits;
  started: number;
  cpuAtStart: number;
  output: CappedOutput;
  display: DisplayCollector;
  error: PythonError | null;
  /** Why the host interrupted it, if it did. */
  interruptedBy: 'interrupt' | 'timeout' | 'output_limit' | null;
  /** Its SIGINT waits for the guest's started frame (the cell came with drain). */
  held: boolean;
  timers: NodeJS.Timeout[];
  input: InputLines;
  hooks: RunHooks;
  resolve: (result: CellResult) => void;
}

/** What a cell's result is made from besides its status. */
export interface Settlement {
  /** The repr of its last expression (only from a done frame). */
  value?: string | null;
  cpuMs: number;
  /** How the interpreter ended, when the session's end settles the cell. */
  exit?: { code: number | null; signal: string | null };
  /** The one read of the cgroup's counters the status came from (null without a cgroup). */
  stats: CgroupStats | null;
}

/** What the host saw when a cell ended: its counters decide before anything the guest said. */
interface Seen {
  stats: CgroupStats | null;
  oom: boolean;
  processLimitHit: boolean;
  cpuMs: number;
}

/** The status of a cell whose done frame came. */
export function doneStatus(cell: RunningCell, { stats, oom, processLimitHit, cpuMs }: Seen): RunStatus {
  if (oom || (!stats && cell.error?.type === 'MemoryError')) return 'memory_limit';
  if (processLimitHit) return 'process_limit';
  if (cpuMs >= cell.limits.cpuMs) return 'cpu_limit';
  if (cell.interruptedBy && cell.error?.type === 'KeyboardInterrupt') return cell.interruptedBy === 'interrupt' ? 'interrupted' : cell.interruptedBy;
  if (cell.interruptedBy === 'output_limit') return 'output_limit';
  return cell.error ? 'error' : 'ok';
}

/** Session ends a running cell's status names (the others are timeout, or the interpreter's own end). */
const ENDS_AS_STATUS: ReadonlySet<SessionEndReason> = new Set(['timeout', 'cpu_limit', 'memory_limit', 'process_limit', 'output_limit', 'interrupted']);

/** The status of a cell the session's end cut short, and how its interpreter ended (128 + n: killed by signal n). */
export function endedStatus(cell: RunningCell, reason: SessionEndReason, jailExit: JailExit, oom: boolean, cpuMs: number): { status: RunStatus; exit: NonNullable<Settlement['exit']> } {
  const killedBy = jailExit.code !== null && jailExit.code > 128 ? jailExit.code - 128 : null;
  const code = killedBy === null ? jailExit.code : null;
  const signal = jailExit.signal ?? (killedBy === null ? null : signalName(killedBy));
  const status: RunStatus = oom
    ? 'memory_limit'
    : ENDS_AS_STATUS.has(reason)
      ? (reason as RunStatus)
      : reason === 'lifetime' || reason === 'idle'
        ? 'timeout'
        : cpuMs >= cell.limits.cpuMs
          ? 'cpu_limit'
          : code === 0
            ? 'ok'
            : signal
              ? 'killed'
              : 'error';
  return { status, exit: { code, signal } };
}

/** A settled cell's result. */
export function cellResult(cell: RunningCell, status: RunStatus, { value = null, cpuMs, exit, stats }: Settlement): CellResult {
  const error = status === 'error' || status === 'memory_limit' || status === 'interrupted' || status === 'timeout' ? cell.error : null;
  return {
    status,
    exitCode: exit ? exit.code : status === 'ok' ? 0 : status === 'error' ? 1 : null,
    signal: exit?.signal ?? null,
    ...cell.output.text(),
    truncated: { ...cell.output.truncated, display: cell.display.truncated },
    durationMs: Math.round((performance.now() - cell.started) * 1000) / 1000,
    cpuMs: Math.round(cpuMs * 1000) / 1000,
    memoryPeakBytes: stats?.memoryPeakBytes ?? null,
    error,
    files: {},
    outputs: cell.display.outputs(cell.output.stdoutBytes()),
    value: value === null ? null : cell.display.valueData ? { text: value, data: cell.display.valueData } : { text: value },
  };
}
