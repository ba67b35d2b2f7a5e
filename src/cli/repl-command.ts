import { constants } from 'node:os';
import { Command } from 'commander';
import { isPyboxError, Sandbox, type Session } from '../sandbox/index.js';
import { readCode } from './inputs.js';
import { writeAll, type CliIO } from './io.js';
import { addGuestOptions, addLimitOptions, pickGuestOptions, pickLimits, type LimitFlags } from './limit-flags.js';
import { SETUP_CELL, type ReplEnd } from './repl-cells.js';
import { consoleLoop } from './repl-console.js';
import { ScriptLines, TerminalLines, type LineSource } from './repl-lines.js';
import { ReplOutput } from './repl-output.js';
import type { CliContext } from './run-command.js';
import { EXIT, oneLine, UsageError } from './usage-error.js';
import { addSessionTimeOptions, duration, expiryLine, sessionTimes, type SessionTimeFlags, type SessionTimes } from './session-flags.js';
import { pyboxVersion } from './version.js';

export const REPL_HELP = `
An interactive console like python3's, in one session: names, imports and /workspace
persist from cell to cell. ">>> " and "... " prompts; a compound statement (if, def, class...)
ends with an empty line, or with a line back at the left margin. The last expression's repr
is printed. Ctrl-C interrupts the running cell (the session lives on) or clears the line;
Ctrl-D or exit() leaves. --timeout and --cpu hold for each cell; --memory, --processes and
--workspace for the whole session. The session ends after --idle-timeout without a cell
(10 min; time at a prompt counts) or --max-lifetime after it opened (1 h).

With stdin not a terminal, the program piped in runs block by block as if typed (no banner
or prompts; reprs printed; an exception is reported and the next block runs), and input()
reads the lines that follow it.

Exit codes:
  0     Ctrl-D, end of the piped program, exit()
  <n>   exit(n) / SystemExit(n) in a cell
  2     usage error
  3     the session could not open here (run \`pybox doctor\`)
  124   a timeout or cpu_limit ended the session, or --idle-timeout or --max-lifetime did
        (one "pybox: ..." line on stderr: "pybox: idle: ...", "pybox: lifetime: ...")
  125   internal error
  137   memory_limit, output_limit, process_limit or killed ended the session

Examples:
  pybox repl
  pybox repl --memory 512 --timeout 60000
  pybox repl --idle-timeout 3600000 --max-lifetime 28800000
  printf 'x = 6\\nx * 7\\n' | pybox repl`;

export function replCommand(ctx: CliContext): Command {
  const command = new Command('repl').description('an interactive Python console in a jail (one session)').addHelpText('after', REPL_HELP);
  return addSessionTimeOptions(addGuestOptions(addLimitOptions(command))).action(async (flags: ReplFlags) => {
    ctx.exitCode = await executeRepl(ctx.io, flags);
  });
}

type ReplFlags = LimitFlags & SessionTimeFlags;

/** `pybox repl`: opens a session, runs the console on it, and returns the exit code. */
export async function executeRepl(io: CliIO, flags: ReplFlags): Promise<number> {
  if (flags.python !== undefined && !flags.python.startsWith('/')) {
    throw new UsageError(`--python must be an absolute path, got ${JSON.stringify(flags.python)}`);
  }
  const interactive = (io.stdin as { isTTY?: boolean }).isTTY === true;
  // A piped program is read whole first: a usage error (too long, not UTF-8) before anything runs.
  const script = interactive ? null : await readCode('-', io.stdin);

  // One session: a cold jail opens it sooner than a pool or fork-server would start.
  const sandbox = await Sandbox.create({
    mode: 'cold',
    limits: pickLimits(flags),
    ...pickGuestOptions(flags),
  });
  const times = sessionTimes(flags);
  try {
    const session = await openSession(sandbox, times);
    if (typeof session === 'string') {
      await writeAll(io.stderr, session + '\n');
      return EXIT.unavailable;
    }
    const setup = await session.run(SETUP_CELL);
    if (setup.status !== 'ok' || !session.alive) {
      await writeAll(io.stderr, `pybox: internal_error: the session did not start (${setup.status}: ${oneLine(setup.stderr)})\n`);
      return EXIT.internal;
    }
    const out = new ReplOutput(io);
    let lines: LineSource;
    if (script === null) {
      out.stderr(banner(setup.stdout.trim(), session, times));
      lines = new TerminalLines(io.stdin, io.stdout, out);
    } else {
      lines = new ScriptLines(script, out);
    }
    // A closed terminal (SIGHUP) or SIGTERM ends the console and closes the session before pybox exits.
    let stoppedBy: NodeJS.Signals | null = null;
    const stop = (signal: NodeJS.Signals): void => {
      stoppedBy ??= signal;
      lines.close();
      void session.close();
    };
    process.on('SIGHUP', stop).on('SIGTERM', stop);
    // Idle or lifetime expiry while the console waits at a prompt ends it there, not at the next line typed.
    void session.ended.then(() => {
      if (expiryLine(session, times) !== null) lines.close();
    });
    let end: ReplEnd;
    try {
      end = await consoleLoop({ session, lines, out, times }, { prompts: script === null });
    } finally {
      process.off('SIGHUP', stop).off('SIGTERM', stop);
      lines.close();
    }
    if (stoppedBy !== null) return 128 + constants.signals[stoppedBy];
    // The input closed by expiry reads as an end of input: the console says why instead.
    const expired = expiryLine(session, times);
    if (expired !== null && end.line === null) end = { exitCode: EXIT.timeLimit, line: expired };
    if (end.line !== null) out.stderr((out.tail === '' ? '' : '\n') + end.line + '\n');
    await writeAll(io.stderr, '');
    return end.exitCode;
  } finally {
    await sandbox.close();
  }
}

/** The session, or the line saying why it could not open. */
async function openSession(sandbox: Sandbox, times: SessionTimes): Promise<Session | string> {
  try {
    return await sandbox.openSession(times);
  } catch (error) {
    if (!isPyboxError(error)) throw error;
    return `pybox: the session could not open: ${oneLine(error.message)} (run \`pybox doctor\` to see what this host is missing)`;
  }
}

function banner(pythonVersion: string, session: Session, times: SessionTimes): string {
  const l = session.limits;
  return (
    `Python ${pythonVersion} in a pybox ${pyboxVersion()} jail\n` +
    `Limits: ${l.timeoutMs} ms and ${l.cpuMs} ms of CPU per cell, ${l.memoryMiB} MiB for the session.\n` +
    `The session ends after ${duration(times.idleTimeoutMs)} without a cell, or ${duration(times.maxLifetimeMs)} after it opened.\n` +
    'Ctrl-C interrupts a running cell; exit() or Ctrl-D leaves.\n'
  );
}
