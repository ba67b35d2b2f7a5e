import { Option, type Command } from 'commander';
import { DEFAULT_LIMITS, preloadSchema, type GuestPolicy, type Limits } from '../sandbox/index.js';
import { integerOption } from './inputs.js';
import { UsageError } from './usage-error.js';

/** The limit flags `run`, `serve` and `mcp` share, as commander parses them. */
export interface LimitFlags {
  timeout?: number;
  cpu?: number;
  memory?: number;
  processes?: number;
  maxOutput?: number;
  maxDisplay?: number;
  openFiles?: number;
  workspace?: number;
  python?: string;
  policy?: GuestPolicy;
  preload?: string[];
}

/** Adds --timeout ... --workspace, --python and --policy to a command. */
export function addLimitOptions(command: Command): Command {
  const d = DEFAULT_LIMITS;
  return command
    .option('--timeout <ms>', `wall-clock limit (default ${d.timeoutMs})`, integerOption('--timeout', 'timeoutMs', 'milliseconds'))
    .option('--cpu <ms>', `CPU-time limit of the whole jail (default ${d.cpuMs})`, integerOption('--cpu', 'cpuMs', 'milliseconds'))
    .option('--memory <MiB>', `memory limit (default ${d.memoryMiB})`, integerOption('--memory', 'memoryMiB', 'MiB'))
    .option('--processes <n>', `processes and threads at once (default ${d.processes})`, integerOption('--processes', 'processes', 'processes'))
    .option('--max-output <bytes>', `stdout + stderr bytes before the run is killed (default ${d.outputBytes})`, integerOption('--max-output', 'outputBytes', 'bytes'))
    .option('--max-display <bytes>', `rich output (display(), figures) bytes kept; past it they are dropped (default ${d.displayBytes})`, integerOption('--max-display', 'displayBytes', 'bytes'))
    .option('--open-files <n>', `open files per process (default ${d.openFiles})`, integerOption('--open-files', 'openFiles', 'files'))
    .option('--workspace <MiB>', `size of /workspace and /tmp (default ${d.workspaceMiB})`, integerOption('--workspace', 'workspaceMiB', 'MiB'));
}

/** Adds --python, --policy and --preload. */
export function addGuestOptions(command: Command): Command {
  return command
    .option('--python <path>', 'absolute path of the interpreter (default /usr/bin/python3)')
    .addOption(new Option('--policy <mode>', 'guest language layer: audit hooks + import policy (strict, the default) or none (off)').choices(['strict', 'off']))
    .option('--preload <modules>', 'modules every run finds imported, comma-separated (e.g. numpy,pandas,matplotlib.pyplot)', preloadOption);
}

/** `--preload a,b.c`: module names, each checked as the library checks them. */
function preloadOption(value: string): string[] {
  const names = value.split(',').map((n) => n.trim()).filter((n) => n !== '');
  const parsed = preloadSchema.safeParse(names);
  if (!parsed.success) throw new UsageError(`--preload expects module names separated by commas (e.g. numpy,matplotlib.pyplot), got ${JSON.stringify(value)}`);
  return parsed.data;
}

/** The Sandbox options the guest flags give. */
export function pickGuestOptions(flags: LimitFlags): { python?: string; policy?: GuestPolicy; preload?: string[] } {
  return {
    ...(flags.python !== undefined ? { python: flags.python } : {}),
    ...(flags.policy !== undefined ? { policy: flags.policy } : {}),
    ...(flags.preload !== undefined ? { preload: flags.preload } : {}),
  };
}

export function pickLimits(flags: LimitFlags): Partial<Limits> {
  const limits: Partial<Limits> = {};
  const set = (key: keyof Limits, value: number | undefined) => {
    if (value !== undefined) limits[key] = value;
  };
  set('timeoutMs', flags.timeout);
  set('cpuMs', flags.cpu);
  set('memoryMiB', flags.memory);
  set('processes', flags.processes);
  set('outputBytes', flags.maxOutput);
  set('displayBytes', flags.maxDisplay);
  set('openFiles', flags.openFiles);
  set('workspaceMiB', flags.workspace);
  return limits;
}
