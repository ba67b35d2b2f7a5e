/**
 * `pybox serve` as a library call: builds the sandbox, the HTTP API and /mcp, listens,
 * and drains on request. The CLI command wraps it with flags and signals.
 */
import pino from 'pino';
import { Sandbox, type GuestPolicy, type Limits, type SandboxOptions } from '../sandbox/index.js';
import { ApiKeys } from './api-keys.js';
import { buildApp } from './app.js';
import { HealthProbe } from './health.js';
import { isLoopback } from './loopback.js';
import { McpSessions } from './mcp-route.js';
import { ServerMetrics } from './metrics.js';
import { Quotas, type QuotaLimits } from './quotas.js';
import { RunQueue } from './run-queue.js';
import { RunService } from './run-service.js';
import { SessionService } from './session-service.js';
import { SessionSockets } from './session-socket.js';
import type { ReturnMode } from '../mcp/run-python-code.js';
import { limitsText } from '../mcp/limits-text.js';
export { SERVE_DEFAULTS } from './serve-defaults.js';

export interface ServeOptions {
  host: string;
  port: number;
  /** File of API keys, one per line; without it only a loopback host is allowed. */
  apiKeysFile?: string;
  maxConcurrent: number;
  maxQueue: number;
  maxSessions: number;
  maxBodyMiB: number;
  quotas: QuotaLimits;
  limits?: Partial<Limits>;
  policy?: GuestPolicy;
  allowPolicyOff: boolean;
  returnMode: ReturnMode;
  sessionIdleMs: number;
  /** The idle timeout of sessions (HTTP and MCP tools) in ms; default the library's (10 min). */
  sessionIdleTimeoutMs?: number;
  /** The lifetime of sessions in ms; default the library's (1 h). */
  sessionMaxLifetimeMs?: number;
  mode?: SandboxOptions['mode'];
  python?: string;
  /** Modules every run finds imported (SandboxOptions.preload). */
  preload?: string[];
  version: string;
  /** Where the JSON log lines go (default stdout). */
  logDestination?: NodeJS.WritableStream;
  logLevel?: string;
}

export interface RunningServer {
  /** http://host:port, with the port the OS chose for port 0. */
  url: string;
  /** Stops taking requests, lets runs and cells in flight finish within their limits, ends sessions and MCP sessions, closes every jail. */
  drain(): Promise<void>;
}

/** A reason the server must not start, fit for one line on stderr. */
export class ServeRefused extends Error {
  override readonly name = 'ServeRefused';
}

export async function startServer(options: ServeOptions): Promise<RunningServer> {
  let keys: ApiKeys | null = null;
  if (options.apiKeysFile !== undefined) {
    try {
      keys = ApiKeys.load(options.apiKeysFile);
    } catch (error) {
      throw new ServeRefused((error as Error).message);
    }
  } else if (!isLoopback(options.host)) {
    throw new ServeRefused(`refusing to listen on ${options.host} without --api-keys: without keys only a loopback address (127.0.0.1, ::1, localhost) is allowed`);
  }

  const logger = pino({ level: options.logLevel ?? 'info', base: { service: 'pybox' } }, options.logDestination ?? process.stdout);
  const sandboxOptions: SandboxOptions = {};
  if (options.limits) sandboxOptions.limits = options.limits;
  if (options.policy) sandboxOptions.policy = options.policy;
  if (options.mode) sandboxOptions.mode = options.mode;
  if (options.python) sandboxOptions.python = options.python;
  if (options.preload) sandboxOptions.preload = options.preload;
  sandboxOptions.maxSessions = options.maxSessions;
  const sandbox = await Sandbox.create(sandboxOptions);

  const queue = new RunQueue(options.maxConcurrent, options.maxQueue);
  const quotas = new Quotas(options.quotas);
  let mcp: McpSessions | null = null;
  const metrics = new ServerMetrics({
    queueDepth: () => queue.depth,
    running: () => queue.active,
    warmJails: () => sandbox.mode.warmJails,
    liveSessions: () => sandbox.sessionCount,
    mcpSessions: () => mcp?.size ?? 0,
    cellsInFlight: (): number => sessions.cellsInFlight,
  });
  const service = new RunService(sandbox, queue, quotas, metrics);
  const sessions = new SessionService(service, options.maxSessions, {
    ...(options.sessionIdleTimeoutMs !== undefined ? { idleTimeoutMs: options.sessionIdleTimeoutMs } : {}),
    ...(options.sessionMaxLifetimeMs !== undefined ? { maxLifetimeMs: options.sessionMaxLifetimeMs } : {}),
  });
  let draining = false;
  const app = buildApp({
    service,
    sessions,
    keys,
    policy: { limits: sandbox.limits, allowPolicyOff: options.allowPolicyOff },
    metrics,
    health: new HealthProbe(sandbox),
    logger,
    maxBodyBytes: Math.round(options.maxBodyMiB * 1024 * 1024),
    version: options.version,
    draining: () => draining,
  });
  mcp = new McpSessions({
    service,
    sessions,
    maxSessions: options.maxSessions,
    idleMs: options.sessionIdleMs,
    mcp: { returnMode: options.returnMode, workspaceBytes: sandbox.limits.workspaceMiB * 1024 * 1024, version: options.version, limitsText: limitsText(sandbox.limits) },
  });
  mcp.register(app);
  const sockets = new SessionSockets({
    sessions,
    keys,
    maxMessageBytes: Math.round(options.maxBodyMiB * 1024 * 1024),
    draining: () => draining,
    onError: (error) => logger.error({ err: error }, 'session socket failed'),
  });
  sockets.attach(app.server);

  try {
    await app.listen({ host: options.host, port: options.port });
  } catch (error) {
    await sandbox.close();
    throw new ServeRefused(`cannot listen on ${options.host}:${options.port}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  const url = `http://${host}:${port}`;
  logger.info({ url, mode: sandbox.mode.active, keys: keys?.size ?? 0 }, 'pybox serve listening');

  let drained: Promise<void> | null = null;
  return {
    url,
    drain: () =>
      (drained ??= (async () => {
        draining = true;
        logger.info({ running: queue.active, queued: queue.depth }, 'draining');
        await queue.drain();
        // Cells in flight finish within their limits; then sockets go (1001) and sessions end.
        await sessions.drain(() => sockets.closeAll());
        await mcp?.closeAll();
        await app.close();
        await sandbox.close();
        logger.info('drained');
        logger.flush();
      })()),
  };
}
