import type { BackendSession, CellResult, SessionEndReason } from '../core/backend.js';
import type { Limits } from '../core/limits.js';
import { prepareCell, type CellOptions } from '../core/session-options.js';

/**
 * A live interpreter in a jail of its own: each `run` is a cell in the same `__main__`
 * (names, imports, open files and /workspace persist). One cell runs at a time; a `run`
 * while one runs waits its turn (at most MAX_QUEUED_CELLS wait: one more is refused with
 * E_SESSION_BUSY). Once the session has ended (closed, a memory, CPU or process limit, an interrupt
 * or timeout its cell did not stop at, idle or lifetime expiry) every `run` rejects with
 * E_SESSION_ENDED.
 */
export class Session {
  constructor(
    private readonly inner: BackendSession,
    /** memoryMiB, processes and workspaceMiB hold for its life; timeoutMs, cpuMs and outputBytes are each cell's defaults. */
    readonly limits: Readonly<Limits>,
  ) {}

  get id(): string {
    return this.inner.id;
  }

  /** Resolves once the session has ended (for any reason) and nothing of it is left. */
  get gone(): Promise<void> {
    return this.inner.gone;
  }

  /** False once the session has ended. */
  get alive(): boolean {
    return this.inner.alive;
  }

  /** Why the session ended ('closed', 'idle', 'lifetime', a limit...), or null while it is alive. */
  get endReason(): SessionEndReason | null {
    return this.inner.endReason;
  }

  /** Resolves with the end reason once the session has ended, however it ends; never rejects. */
  get ended(): Promise<SessionEndReason> {
    return this.inner.ended;
  }

  /** Runs one cell; `value` is the repr of its last expression, as Python's console shows it. */
  async run(code: string, options?: CellOptions): Promise<CellResult> {
    const { cell, hooks } = prepareCell(code, options, this.limits);
    return this.inner.run(cell, hooks);
  }

  /** Raises KeyboardInterrupt in the running cell (its status: 'interrupted'); nothing when none runs. */
  interrupt(): Promise<void> {
    return this.inner.interrupt();
  }

  /** Ends the session; resolves once nothing of it is left. */
  close(): Promise<void> {
    return this.inner.close();
  }
}
