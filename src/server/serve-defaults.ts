import type { ReturnMode } from '../mcp/run-python-code.js';

/** What `pybox serve` uses for a flag not given (a module of its own: the CLI reads it without loading the server). */
export const SERVE_DEFAULTS = Object.freeze({
  host: '127.0.0.1',
  port: 8000,
  maxConcurrent: 16,
  maxQueue: 256,
  maxSessions: 64,
  maxBodyMiB: 16,
  quotas: Object.freeze({ concurrentRuns: 16, runsPerMinute: 600, sessions: 8 }),
  allowPolicyOff: false,
  returnMode: 'xml' as ReturnMode,
  sessionIdleMs: 600_000,
});
