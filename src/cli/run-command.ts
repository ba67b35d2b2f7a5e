import { Command } from 'commander';
import { DEFAULT_LIMITS, Sandbox, type DisplayOutput, type Limits, type RunResult } from '../sandbox/index.js';
import { displayImages, displayNote } from './display-notes.js';
import { checkOutDir, writeOutDir } from './out-dir.js';
import { addGuestOptions, addLimitOptions, pickGuestOptions, pickLimits, type LimitFlags } from './limit-flags.js';
import { parseFileSpec, programStdin, readCode, readHostFile } from './inputs.js';
import { writeAll, type CliIO } from './io.js';
import { EXIT, oneLine, UsageError } from './usage-error.js';

/** State shared by the commands of one `main()` call: the streams, and the exit code an action chose. */
export interface CliContext {
  io: CliIO;
  exitCode: number | null;
}

const MiB = 1024 * 1024;

export interface RunFlags extends LimitFlags {
  json?: boolean;
  file?: string[];
  collect?: string[];
  outDir?: string;
  stdin?: string;
}

const repeat = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];

export const RUN_EXIT_HELP = `
Exit codes (without --json):
  <n>   the program's own exit code (0 when it succeeded, 1 for an uncaught exception)
  2     usage error: bad flag or number, unreadable or invalid input; nothing ran
  3     the jail cannot be built on this host (run \`pybox doctor\`)
  124   timeout or cpu_limit          (one "pybox: <status>: <detail>" line on stderr)
  125   internal_error, or collected files could not be written to --out-dir
  137   memory_limit, output_limit, process_limit, killed or interrupted
With --json, exactly one JSON object (the RunResult, files as base64) goes to stdout and the
exit code is 0 whatever the program did; usage errors still exit 2 with one line on stderr.

Examples:
  pybox run hello.py
  echo 'print(input()[::-1])' | pybox run - --stdin words.txt
  pybox run --file data.csv=./data.csv --collect 'out/*.png' --out-dir ./results plot.py
  pybox run --json --timeout 2000 --memory 128 job.py -- --verbose`;

export function runCommand(ctx: CliContext): Command {
  const command = new Command('run')
    .description('run a Python program in a fresh jail')
    .argument('<file>', 'the Python file to run, or - to read the code from stdin (at most 1 MiB of UTF-8)')
    .argument('[args...]', "the program's arguments (sys.argv[1:]); put them after --")
    .option('--json', 'print the RunResult as one JSON object (files as base64) and exit 0')
    .option('--file <sandbox-path>=<host-path>', 'copy a host file into /workspace (repeatable)', repeat)
    .option('--collect <sandbox-path>', 'return a /workspace file or glob after the run (repeatable)', repeat)
    .option('--out-dir <dir>', 'write collected files, and images the program displayed (display-<n>.png), here (never through a symlink, never outside it)')
    .option('--stdin <host-path>', "the program's stdin: a host file, or - for pybox's own stdin (without it, a program run from a file gets pybox's own stdin as it arrives, unless that is a terminal)")
    .addHelpText('after', RUN_EXIT_HELP);
  return addGuestOptions(addLimitOptions(command)).action(async (file: string, args: string[], flags: RunFlags) => {
    ctx.exitCode = await executeRun(ctx.io, file, args, flags);
  });
}

/**
 * `pybox run`: validates every input (nothing runs if one is bad), runs the program,
 * reports it and returns the exit code. Throws UsageError / PyboxError for main() to report.
 */
export async function executeRun(io: CliIO, file: string, args: string[], flags: RunFlags): Promise<number> {
  const fileSpecs = flags.file ?? [];
  const collect = flags.collect ?? [];
  const limits = pickLimits(flags);
  const workspaceBytes = (limits.workspaceMiB ?? DEFAULT_LIMITS.workspaceMiB) * MiB;
  if (file === '-' && flags.stdin === '-') {
    throw new UsageError('--stdin - cannot be used when the code itself is read from stdin (-)');
  }
  if (collect.length > 0 && !flags.json && flags.outDir === undefined) {
    throw new UsageError('--collect needs --out-dir <dir> or --json, or the collected files would be discarded');
  }
  if (flags.python !== undefined && !flags.python.startsWith('/')) {
    throw new UsageError(`--python must be an absolute path, got ${JSON.stringify(flags.python)}`);
  }
  if (flags.outDir !== undefined) checkOutDir(flags.outDir);

  const code = await readCode(file, io.stdin);

  const files: Record<string, Uint8Array> = {};
  for (const spec of fileSpecs) {
    const { sandboxPath, hostPath } = parseFileSpec(spec);
    if (sandboxPath in files) throw new UsageError(`--file: ${JSON.stringify(sandboxPath)} is given twice`);
    files[sandboxPath] = readHostFile(hostPath, workspaceBytes, `--file ${sandboxPath}: host file`);
  }

  const stdin = await programStdin(file, flags.stdin, io.stdin);

  // Library validation (limit ranges, file names, collect patterns) also happens before any process starts.
  // One run: a warm path would cost more to start than it saves.
  const sandbox = await Sandbox.create({
    mode: 'cold',
    limits,
    ...pickGuestOptions(flags),
  });
  let result: RunResult;
  try {
    result = await sandbox.run(code, {
      files,
      collect,
      argv: args,
      ...(stdin !== undefined ? { stdin } : {}),
      // Without --json the output passes through as it comes (an interactive program
      // answers each line before the next is read); with it, only the JSON object is printed.
      ...(flags.json ? {} : passThrough(io)),
    });
  } finally {
    await sandbox.close();
  }

  let outDirFailed = false;
  const outDirLines: string[] = [];
  if (flags.outDir !== undefined && (result.status === 'ok' || result.status === 'error')) {
    try {
      // Collected files keep their names; a displayed image never replaces one.
      const report = writeOutDir(flags.outDir, { ...displayImages(result.outputs), ...result.files });
      for (const refused of report.refused) outDirLines.push(`pybox: --out-dir: not written: ${oneLine(refused)}`);
      outDirFailed = report.refused.length > 0;
    } catch (error) {
      outDirLines.push(`pybox: --out-dir ${JSON.stringify(flags.outDir)}: ${oneLine((error as Error).message)}`);
      outDirFailed = true;
    }
  }

  if (flags.json) {
    await writeAll(io.stdout, JSON.stringify(resultToJson(result)) + '\n');
    for (const line of outDirLines) await writeAll(io.stderr, line + '\n');
    return outDirFailed ? EXIT.internal : EXIT.ok;
  }

  // The program's output has passed through; only pybox's own lines are left to write.
  const line = statusLine(result, sandbox.limits);
  if (line !== null) {
    const lastEnds = result.status === 'internal_error' || result.stderr.length === 0 || result.stderr.endsWith('\n');
    await writeAll(io.stderr, (lastEnds ? '' : '\n') + line + '\n');
  }
  for (const l of outDirLines) await writeAll(io.stderr, l + '\n');
  const exitCode = exitCodeFor(result);
  return outDirFailed && exitCode === EXIT.ok ? EXIT.internal : exitCode;
}

/**
 * Writes the program's output to ours as it arrives, stdout to stdout and stderr to
 * stderr, and a note on stderr for each rich output (a terminal cannot show an image).
 */
function passThrough(io: CliIO): { onStdout: (chunk: string) => void; onStderr: (chunk: string) => void; onDisplay: (output: DisplayOutput) => void } {
  return {
    onStdout: (chunk) => void writeAll(io.stdout, chunk),
    onStderr: (chunk) => void writeAll(io.stderr, chunk),
    onDisplay: (output) => void writeAll(io.stderr, displayNote(output) + '\n'),
  };
}

/** The RunResult as JSON: `files` as base64 strings, everything else as it is. */
export function resultToJson(result: RunResult): Omit<RunResult, 'files'> & { files: Record<string, string> } {
  const files: Record<string, string> = {};
  for (const [name, data] of Object.entries(result.files)) {
    files[name] = Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('base64');
  }
  return { ...result, files };
}

/** The CLI's exit code for a finished run (without --json). */
export function exitCodeFor(result: RunResult): number {
  switch (result.status) {
    case 'ok':
      return EXIT.ok;
    case 'error': {
      const code = result.exitCode;
      return code !== null && Number.isInteger(code) && code > 0 && code < 256 ? code : 1;
    }
    case 'timeout':
    case 'cpu_limit':
      return EXIT.timeLimit;
    case 'memory_limit':
    case 'output_limit':
    case 'process_limit':
    case 'killed':
    case 'interrupted':
      return EXIT.killed;
    case 'internal_error':
      return EXIT.internal;
  }
}

/** The one `pybox: <status>: <detail>` line for a run pybox stopped, or null for ok / error. */
export function statusLine(result: RunResult, limits: Readonly<Limits>): string | null {
  const ms = (n: number) => `${Math.round(n)} ms`;
  switch (result.status) {
    case 'ok':
    case 'error':
      return null;
    case 'timeout':
      return `pybox: timeout: the program ran longer than the ${limits.timeoutMs} ms wall-clock limit and was killed`;
    case 'cpu_limit':
      return `pybox: cpu_limit: the program used ${ms(result.cpuMs)} of CPU time; the limit is ${limits.cpuMs} ms`;
    case 'memory_limit': {
      const peak = result.memoryPeakBytes === null ? '' : ` (peak ${(result.memoryPeakBytes / MiB).toFixed(1)} MiB)`;
      return `pybox: memory_limit: the program exceeded the ${limits.memoryMiB} MiB memory limit${peak}`;
    }
    case 'output_limit':
      return `pybox: output_limit: stdout and stderr exceeded ${limits.outputBytes} bytes; the output above is truncated and the program was killed`;
    case 'process_limit':
      return `pybox: process_limit: the program hit the ${limits.processes}-process limit`;
    case 'killed':
      return `pybox: killed: the program was killed by ${result.signal ?? 'a signal'}`;
    case 'interrupted':
      return 'pybox: interrupted: the program was interrupted (KeyboardInterrupt)';
    case 'internal_error': {
      const why = oneLine(result.stderr.replace(/^pybox:\s*/, '')) || 'the jail failed without a message';
      return `pybox: internal_error: ${why} (run \`pybox doctor\`)`;
    }
  }
}
