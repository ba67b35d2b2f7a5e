import { Command, CommanderError } from 'commander';
import { attackCommand } from '../attack/cli.js';
import { doctorCommand } from './doctor.js';
import { mcpCommand } from './mcp-command.js';
import { processIO, writeAll, type CliIO } from './io.js';
import { replCommand } from './repl-command.js';
import { runCommand, type CliContext } from './run-command.js';
import { serveCommand } from './serve-command.js';
import { describeError, EXIT, oneLine } from './usage-error.js';
import { pyboxVersion } from './version.js';

export { pyboxVersion };

const PROGRAM_HELP = `
Exit codes of "pybox run" (see "pybox run --help"): the program's own code; 2 usage error;
3 the jail cannot be built here; 124 timeout/cpu_limit; 125 internal error; 137 memory_limit,
output_limit or killed. "pybox doctor" exits 0 when pybox can run here, 1 otherwise.

Exit codes of "pybox repl" (see "pybox repl --help"): 0 when left; n for exit(n); 2, 3, 124, 125
and 137 as for run, when a limit ends the session.

Examples:
  pybox run hello.py
  pybox repl --memory 512
  pybox run --json --timeout 2000 job.py
  pybox serve --port 8000
  pybox mcp
  pybox doctor`;

/** Builds the commander program; commands report through `ctx` instead of exiting. */
export function buildProgram(ctx: CliContext): Command {
  const program = new Command('pybox')
    .description('Run untrusted Python in a Linux jail (bubblewrap + seccomp + cgroups/rlimits).')
    .version(`pybox ${pyboxVersion()}`, '-V, --version', 'print the version')
    .helpOption('-h, --help', 'show help')
    .exitOverride()
    .configureOutput({
      writeOut: (str) => void ctx.io.stdout.write(str),
      writeErr: (str) => void ctx.io.stderr.write(str),
      // Commander's parse errors ("error: unknown option ...", maybe a suggestion) as one line.
      outputError: (str, write) => write(`pybox: ${oneLine(str.replace(/^error:\s*/, '').replace(/\s*\n\s*(?=\S)/g, ' '))}\n`),
    })
    .addHelpText('after', PROGRAM_HELP);

  for (const command of [runCommand(ctx), replCommand(ctx), doctorCommand(ctx), serveCommand(ctx), mcpCommand(ctx), attackCommand()]) {
    command.copyInheritedSettings(program);
    program.addCommand(command);
  }
  return program;
}

function processExitCode(): number {
  const code = Number(process.exitCode ?? 0);
  return Number.isInteger(code) ? code : EXIT.internal;
}

/**
 * Runs the CLI with `argv` (without node and the script) and returns the exit code.
 * Never exits the process and never prints a stack trace: the entry point sets
 * process.exitCode and lets output drain.
 */
export async function main(argv: string[] = process.argv.slice(2), io: CliIO = processIO()): Promise<number> {
  const ctx: CliContext = { io, exitCode: null };
  try {
    const program = buildProgram(ctx);
    await program.parseAsync(argv, { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) {
      // Commander has printed the help, the version or the one-line error already.
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version') return EXIT.ok;
      if (error.code === 'commander.error') return error.exitCode; // a command's own this.error(...)
      return EXIT.usage;
    }
    const { line, exitCode } = describeError(error);
    await writeAll(io.stderr, line + '\n');
    return exitCode;
  }
  // A command that sets process.exitCode itself (rather than ctx) still gets its code.
  return ctx.exitCode ?? processExitCode();
}
