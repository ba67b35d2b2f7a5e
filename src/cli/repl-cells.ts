import { isPyboxError, type CellResult, type Session } from '../sandbox/index.js';
import type { LineSource } from './repl-lines.js';
import type { ReplOutput } from './repl-output.js';
import { expiryLine, type SessionTimes } from './session-flags.js';
import { exitCodeFor } from './run-command.js';
import { EXIT } from './usage-error.js';

/**
 * The session's first cell: `exit` and `quit` as Python's console has them (the jail's
 * interpreter runs without `site`, which defines them), then the version for the banner.
 * It leaves no name behind in `__main__`.
 */
export const SETUP_CELL = `def _pybox_setup():
    del globals()['_pybox_setup']
    import builtins, sys
    class Quitter:
        def __init__(self, name):
            self.name = name
        def __repr__(self):
            return f'Use {self.name}() or Ctrl-D (i.e. EOF) to exit'
        def __call__(self, code=None):
            raise SystemExit(code)
    builtins.exit = Quitter('exit')
    builtins.quit = Quitter('quit')
    print(sys.version.replace('\\n', ' '))
_pybox_setup()`;

/** How the console ends: its exit code, and the line saying why (null when the user chose to leave). */
export interface ReplEnd {
  exitCode: number;
  line: string | null;
}

/** What a cell does with the console: its output, input() answered from `lines`, Ctrl-C to interrupt it. */
export interface CellContext {
  session: Session;
  lines: LineSource;
  out: ReplOutput;
  /** The session's idle timeout and lifetime, for the line saying it expired. */
  times: SessionTimes;
}

/**
 * Runs one cell: its output streams as it comes, its value's repr follows, and input()
 * reads a line from the console. Resolves with how the console ends if the session
 * ended with this cell, or null if it lives on.
 */
export async function runCell({ session, lines, out, times }: CellContext, code: string): Promise<ReplEnd | null> {
  let result: CellResult;
  lines.onInterrupt = () => void session.interrupt();
  try {
    result = await session.run(code, {
      onStdout: (chunk) => out.stdout(chunk),
      onStderr: (chunk) => out.stderr(chunk),
      onInput: async (prompt) => {
        const read = await lines.read(prompt);
        if (read.kind === 'line') return read.text;
        // Ctrl-C: KeyboardInterrupt in input(), which waits for this answer; the end of the input: EOFError.
        if (read.kind === 'interrupt') await session.interrupt();
        throw new Error(read.kind);
      },
    });
  } catch (error) {
    if (isPyboxError(error) && error.code === 'E_SESSION_ENDED') {
      // Between two cells (a piped program's): the session idled out or reached its lifetime.
      return { exitCode: EXIT.timeLimit, line: expiryLine(session, times) ?? `pybox: the session has ended: ${String(session.endReason)}` };
    }
    throw error;
  } finally {
    lines.onInterrupt = null;
  }
  if (result.value !== null) out.stdout(result.value.text + '\n');
  // A lifetime reached while the cell ran ends it as a timeout: the line names the lifetime.
  const note = expiryLine(session, times) ?? cellNote(result, session);
  if (session.alive) {
    if (note !== null) out.stderr(note + '\n');
    return null;
  }
  // exit() / SystemExit(n) (Python has printed a message given instead of a number), or a limit.
  return { exitCode: exitCodeFor(result), line: note };
}

/** pybox's one line about a cell it stopped, or null for ok / error (and a plain Ctrl-C, whose traceback says it). */
function cellNote(result: CellResult, session: Session): string | null {
  const limits = session.limits;
  const ended = session.alive ? '' : '; the session has ended';
  switch (result.status) {
    case 'ok':
    case 'error':
      return null;
    case 'interrupted':
      return session.alive ? null : 'pybox: interrupted: the cell did not stop at KeyboardInterrupt; the session has ended';
    case 'timeout':
      return session.alive
        ? `pybox: timeout: the cell ran longer than ${limits.timeoutMs} ms and was interrupted`
        : `pybox: timeout: the cell ran longer than ${limits.timeoutMs} ms and did not stop; the session has ended`;
    case 'cpu_limit':
      return `pybox: cpu_limit: the cell used more than ${limits.cpuMs} ms of CPU time${ended}`;
    case 'memory_limit':
      return `pybox: memory_limit: the session exceeded its ${limits.memoryMiB} MiB memory limit${ended}`;
    case 'output_limit':
      return `pybox: output_limit: the cell's stdout and stderr exceeded ${limits.outputBytes} bytes and it was stopped${ended}`;
    case 'process_limit':
      return `pybox: process_limit: the cell started more than ${limits.processes} processes and threads${ended}`;
    case 'killed':
      return `pybox: killed: the session's interpreter was killed by ${result.signal ?? 'a signal'}${ended}`;
    case 'internal_error':
      return `pybox: internal_error: the session failed${ended} (run \`pybox doctor\`)`;
  }
}
