import { Command, Option } from 'commander';
import { Sandbox, type SandboxOptions } from '../sandbox/index.js';
import { addGuestOptions, addLimitOptions, pickGuestOptions, pickLimits, type LimitFlags } from './limit-flags.js';
import { pyboxVersion } from './version.js';
import type { CliContext } from './run-command.js';
import { SERVE_DEFAULTS } from '../server/serve-defaults.js';
import { countOption, untilSignal } from './service-flags.js';
import { EXIT, UsageError } from './usage-error.js';

interface McpFlags extends LimitFlags {
  returnMode: 'xml' | 'json';
  maxConcurrent: number;
}

const MCP_HELP = `
Speaks MCP on stdin/stdout (nothing else is written to stdout) until stdin closes or
SIGTERM; a drop-in for mcp-run-python's stdio server. Tools: run_python_code
{ python_code, global_variables? }, upload_file, retrieve_file, delete_file, and the
session tools open_session, run_in_session { session_id, code }, close_session.

Claude Desktop (claude_desktop_config.json):
  { "mcpServers": { "pybox": { "command": "/path/to/pybox/bin/pybox", "args": ["mcp"] } } }`;

export function mcpCommand(ctx: CliContext): Command {
  const command = new Command('mcp')
    .description('serve MCP over stdio (run_python_code and file tools), every call in a fresh jail')
    .addOption(new Option('--return-mode <mode>', 'run_python_code answers in tags (xml) or JSON').choices(['xml', 'json']).default('xml'))
    .option('--max-concurrent <n>', 'calls in their jails at once (more wait)', countOption('--max-concurrent', 1, 1024), SERVE_DEFAULTS.maxConcurrent)
    .addHelpText('after', MCP_HELP);
  return addGuestOptions(addLimitOptions(command)).action(async (flags: McpFlags) => {
    if (flags.python !== undefined && !flags.python.startsWith('/')) throw new UsageError(`--python must be an absolute path, got ${JSON.stringify(flags.python)}`);
    // Loaded here: the MCP SDK costs `pybox run` start-up time it has no use for.
    const [{ limitsText }, { serveMcpStdio }, { ANONYMOUS }, { ServerMetrics }, { Quotas }, { RunQueue }, { RunService }, { SessionService }] = await Promise.all([
      import('../mcp/limits-text.js'),
      import('../mcp/stdio.js'),
      import('../server/api-keys.js'),
      import('../server/metrics.js'),
      import('../server/quotas.js'),
      import('../server/run-queue.js'),
      import('../server/run-service.js'),
      import('../server/session-service.js'),
    ]);
    const options: SandboxOptions = { limits: pickLimits(flags), ...pickGuestOptions(flags) };
    const sandbox = await Sandbox.create(options);
    const queue = new RunQueue(flags.maxConcurrent, SERVE_DEFAULTS.maxQueue);
    const quotas = new Quotas({ concurrentRuns: Number.MAX_SAFE_INTEGER, runsPerMinute: Number.MAX_SAFE_INTEGER, sessions: sandbox.maxSessions });
    const metrics = new ServerMetrics({ queueDepth: () => queue.depth, running: () => queue.active, warmJails: () => sandbox.mode.warmJails, liveSessions: () => sandbox.sessionCount, mcpSessions: () => 1, cellsInFlight: (): number => sessions.cellsInFlight });
    const service = new RunService(sandbox, queue, quotas, metrics);
    const sessions = new SessionService(service, sandbox.maxSessions);
    try {
      await serveMcpStdio(
        {
          run: (code, opts) => service.run(ANONYMOUS, code, opts),
          sessions: sessions.toolsFor(ANONYMOUS),
          returnMode: flags.returnMode,
          workspaceBytes: sandbox.limits.workspaceMiB * 1024 * 1024,
          version: pyboxVersion(),
          limitsText: limitsText(sandbox.limits),
        },
        untilSignal().then(() => undefined),
      );
      await queue.drain();
      await sessions.drain();
    } finally {
      await sandbox.close();
    }
    ctx.exitCode = EXIT.ok;
  });
}
