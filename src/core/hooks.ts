import type { DisplayListener } from './outputs.js';

/**
 * The caller's side of a run while it runs: what a backend calls back. Kept apart from
 * the prepared run, which is data only, so a session can pass new hooks with each cell.
 */
export interface RunHooks {
  /**
   * The program's stdout / stderr as it arrives, in the order it was written, as text
   * (UTF-8; a character split across reads comes whole): what `result.stdout` / `stderr`
   * get, up to the output limit. A hook that throws is not called again.
   */
  onStdout?: (chunk: string) => void;
  onStderr?: (chunk: string) => void;
  /**
   * Answers the program's input(prompt) (and each line sys.stdin reads, prompt ''): the
   * line, without its newline. A handler that throws or rejects ends the program's input
   * (EOFError). Without it, input() reads the run's (or the cell's) stdin.
   */
  onInput?: InputHandler;
  /**
   * Each rich output (display(), a matplotlib figure) as it arrives, in order: what
   * `result.outputs` gets. Its stdoutOffset counts the stdout read by then. A throw is ignored.
   */
  onDisplay?: DisplayListener;
  /**
   * A host function the guest calls by name (one of the run's or session's
   * `hostFunctions`). Its answer goes back to the guest; a rejection becomes the guest's
   * pybox.HostError. The backend holds each call to the host-call limits.
   */
  onHostCall?: HostCallHandler;
}

export type InputHandler = (prompt: string) => string | Promise<string>;

/** Answers a guest's call of host function `name` with `args` (decoded, untrusted). */
export type HostCallHandler = (name: string, args: unknown[]) => Promise<unknown>;
