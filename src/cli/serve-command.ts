import { Command, Option } from 'commander';
import { SERVE_DEFAULTS as D } from '../server/serve-defaults.js';
import { addGuestOptions, addLimitOptions, pickGuestOptions, pickLimits, type LimitFlags } from './limit-flags.js';
import { countOption, untilSignal } from './service-flags.js';
import { addSessionTimeOptions } from './session-flags.js';
import { pyboxVersion } from './version.js';
import type { CliContext } from './run-command.js';
import { EXIT, UsageError } from './usage-error.js';

interface ServeFlags extends LimitFlags {
  host: string;
  port: number;
  apiKeys?: string;
  maxSessions: number;
  maxConcurrent: number;
  maxQueue: number;
  maxBody: number;
  keyConcurrent?: number;
  keyRpm: number;
  keySessions: number;
  allowPolicyOff?: boolean;
  returnMode: 'xml' | 'json';
  sessionIdle: number;
  sessionIdleTimeout?: number;
  sessionMaxLifetime?: number;
}

const SERVE_HELP = `
Without --api-keys the server listens only on a loopback address and refuses any other
(exit 2). SIGTERM or SIGINT drains: no new requests, runs in flight finish within their
limits, MCP sessions end, every jail is removed, exit 0. Logs are JSON lines on stdout.

Examples:
  pybox serve --port 8000
  pybox serve --host 0.0.0.0 --api-keys /etc/pybox/keys --timeout 5000 --memory 128
  curl -s localhost:8000/v1/run -H 'content-type: application/json' -d '{"code":"print(1+1)"}'`;

export function serveCommand(ctx: CliContext): Command {
  const command = new Command('serve')
    .description('serve the HTTP API (POST /v1/run, /healthz, /readyz, /metrics, /openapi.json) and MCP at /mcp')
    .option('--host <address>', 'address to listen on', D.host)
    .option('--port <n>', 'port to listen on (0: any free port)', countOption('--port', 0, 65535), D.port)
    .option('--api-keys <file>', 'API keys, one per line: requests need Authorization: Bearer <key>')
    .option('--max-concurrent <n>', 'runs in their jails at once', countOption('--max-concurrent', 1, 1024), D.maxConcurrent)
    .option('--max-queue <n>', 'runs waiting for a slot before requests get 503', countOption('--max-queue', 0, 100_000), D.maxQueue)
    .option('--max-sessions <n>', 'live MCP sessions in all', countOption('--max-sessions', 1, 100_000), D.maxSessions)
    .option('--max-body <MiB>', 'largest request body', countOption('--max-body', 1, 1024), D.maxBodyMiB)
    .option('--key-concurrent <n>', "a key's runs at once (default: --max-concurrent)", countOption('--key-concurrent', 1, 100_000))
    .option('--key-rpm <n>', "a key's runs per minute", countOption('--key-rpm', 1, 10_000_000), D.quotas.runsPerMinute)
    .option('--key-sessions <n>', "a key's live MCP sessions", countOption('--key-sessions', 1, 100_000), D.quotas.sessions)
    .option('--session-idle <s>', 'end an MCP connection (its transport) after this many idle seconds', countOption('--session-idle', 1, 86_400), D.sessionIdleMs / 1000)
    .option('--allow-policy-off', "let requests ask for policy 'off' (the OS jail alone)")
    .addOption(new Option('--return-mode <mode>', 'run_python_code answers in tags (xml) or JSON').choices(['xml', 'json']).default(D.returnMode))
    .addHelpText('after', SERVE_HELP);
  addSessionTimeOptions(command, { prefix: 'session-', sessions: 'a session (/v1/sessions, MCP session tools)' });
  return addGuestOptions(addLimitOptions(command)).action(async (flags: ServeFlags) => {
    if (flags.python !== undefined && !flags.python.startsWith('/')) throw new UsageError(`--python must be an absolute path, got ${JSON.stringify(flags.python)}`);
    // Loaded here: the server's libraries cost `pybox run` start-up time it has no use for.
    const { startServer, ServeRefused } = await import('../server/serve.js');
    let server;
    try {
      server = await startServer({
        host: flags.host,
        port: flags.port,
        ...(flags.apiKeys !== undefined ? { apiKeysFile: flags.apiKeys } : {}),
        maxConcurrent: flags.maxConcurrent,
        maxQueue: flags.maxQueue,
        maxSessions: flags.maxSessions,
        maxBodyMiB: flags.maxBody,
        quotas: { concurrentRuns: flags.keyConcurrent ?? flags.maxConcurrent, runsPerMinute: flags.keyRpm, sessions: flags.keySessions },
        limits: pickLimits(flags),
        ...pickGuestOptions(flags),
        allowPolicyOff: flags.allowPolicyOff === true,
        returnMode: flags.returnMode,
        sessionIdleMs: flags.sessionIdle * 1000,
        ...(flags.sessionIdleTimeout !== undefined ? { sessionIdleTimeoutMs: flags.sessionIdleTimeout } : {}),
        ...(flags.sessionMaxLifetime !== undefined ? { sessionMaxLifetimeMs: flags.sessionMaxLifetime } : {}),
        version: pyboxVersion(),
      });
    } catch (error) {
      if (error instanceof ServeRefused) throw new UsageError(error.message);
      throw error;
    }
    await untilSignal();
    await server.drain();
    ctx.exitCode = EXIT.ok;
  });
}
