import type { RunHooks } from './hooks.js';
import type { Limits } from './limits.js';
import type { SandboxMode } from './options.js';
import type { GuestPolicy, PreparedRun, RunStdin } from './prepared-run.js';
import type { RunResult } from './result.js';

/**
 * One way of running code: every backend (the native jails today, a WASM one later)
 * implements this, and the public `Sandbox` is a thin façade over exactly one of them.
 * A backend gets runs already validated (core/options.ts prepareRun) and answers with
 * verdicts it decided itself; it never trusts what the guest says.
 *
 * Life cycle: `start()` once, then any number of concurrent `run`s and `openSession`s,
 * then `close()`, which waits until nothing of the backend is left on the host.
 */
export interface Backend {
  /** Brings the backend up (warm jails, fork-servers...). Rejects when it cannot run here. */
  start(): Promise<void>;
  /**
   * Runs one program in an environment no other run has used, and resolves with its
   * verdict (it rejects only for a fault of pybox or the host: a PyboxError). Hooks are
   * called while it runs.
   */
  run(run: PreparedRun, hooks?: RunHooks): Promise<RunResult>;
  /**
   * Starts a live interpreter whose state persists from cell to cell. A backend that
   * cannot keep one rejects with PyboxError `E_UNSUPPORTED`.
   */
  openSession(options: SessionOptions, hooks?: RunHooks): Promise<BackendSession>;
  /** What runs use now and why, for `Sandbox.mode` and `pybox doctor`. */
  describe(): BackendDescription;
  /**
   * Everything the backend holds on the host now that no run is using: warm or idle
   * processes, cgroups and temporary directories. A check that a run left nothing behind
   * discounts these; after `close()` it is empty.
   */
  inventory(): BackendInventory;
  /** Stops everything (runs in flight are the caller's to wait for) and waits until it is gone. */
  close(): Promise<void>;
}

/** A session as its backend keeps it: one cell at a time, in its persistent interpreter. */
export interface BackendSession {
  readonly id: string;
  /** False once the session has ended (closed, a limit, idle or lifetime expiry). */
  readonly alive: boolean;
  /** Why it ended; null while it is alive. */
  readonly endReason: SessionEndReason | null;
  /** Resolves with the end reason once it has ended (its cell, if any, settled); never rejects. */
  readonly ended: Promise<SessionEndReason>;
  /** Resolves once the session has ended, however, and nothing of it is left. */
  readonly gone: Promise<void>;
  /** Runs one cell in the session's `__main__`; the result carries its last expression's repr. */
  run(cell: PreparedCell, hooks?: RunHooks): Promise<CellResult>;
  /** Raises KeyboardInterrupt in the running cell, if any. */
  interrupt(): Promise<void>;
  /** Ends the session and waits until nothing of it is left. */
  close(): Promise<void>;
}

/**
 * Why a session ended: `closed` (by its caller or the sandbox's close), `idle` / `lifetime`
 * (expiry), a limit that ends it (`memory_limit`, `cpu_limit`, `process_limit`), a cell
 * that did not stop within the grace after its `timeout`, `interrupted` or `output_limit`
 * interrupt, `exited` (the program ended the interpreter: exit(), os._exit) or `crashed`
 * (killed by a signal of its own, or the guest broke the session protocol).
 */
export type SessionEndReason =
  | 'closed'
  | 'idle'
  | 'lifetime'
  | 'memory_limit'
  | 'cpu_limit'
  | 'process_limit'
  | 'timeout'
  | 'interrupted'
  | 'output_limit'
  | 'exited'
  | 'crashed';

/** What a session is opened with, validated and resolved against the sandbox's defaults. */
export interface SessionOptions {
  /** memoryMiB, processes and workspaceMiB hold for the whole session; the rest per cell by default. */
  limits: Limits;
  policy: GuestPolicy;
  /** [workspace-relative path, content], written into /workspace when it opens. */
  files: [string, Uint8Array][];
  idleTimeoutMs: number;
  maxLifetimeMs: number;
  /** Names of the host functions every cell may call (the session's hooks answer them). */
  hostFunctions?: readonly string[];
}

/** One cell of a session, validated. */
export interface PreparedCell {
  code: string;
  /** timeoutMs and cpuMs apply to this cell. */
  limits: Limits;
  stdin: RunStdin | null;
}

/** A cell's result: a run's, plus the repr of its last expression (null when none, or None). */
export interface CellResult extends RunResult {
  value: { text: string; data?: Record<string, string> } | null;
}

/** How many runs took each of the native backend's paths. */
export interface PathCounts {
  cold: number;
  pool: number;
  zygote: number;
}

export interface BackendDescription {
  /** Which backend this is ('native'). */
  backend: string;
  /** The mode asked for. */
  requested: SandboxMode;
  /** The path runs take now ('zygote', 'pool' or 'cold'). */
  active: string;
  /** Why runs do not take the faster path asked for, or null. */
  reason: string | null;
  /** Environments ready for a run now (warm jails, forked spares). */
  warmJails: number;
  /** Fork-servers running. */
  zygotes: number;
  /** How many runs took each path so far. */
  counts: PathCounts;
  /** How limits are enforced: 'v1' / 'v2' cgroups, or 'none' (rlimits only). */
  cgroupMode: string;
}

export interface BackendInventory {
  /** Host pids of processes the backend keeps (idle jails, fork-servers) and no run uses. */
  pids: number[];
  /** Names of cgroups it keeps (under its cgroup parent) that hold no run. */
  cgroups: string[];
  /** Temporary directories it keeps on the host. */
  tempDirs: string[];
}
