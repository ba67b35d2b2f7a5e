import type { RunOptions, RunResult, Sandbox } from '../sandbox/index.js';
import type { Principal } from './api-keys.js';
import type { ServerMetrics } from './metrics.js';
import type { Quotas } from './quotas.js';
import type { RunQueue } from './run-queue.js';

/**
 * The one way the HTTP API and the MCP tools reach the sandbox: the key's quota first
 * (429), then a slot in the bounded queue (503), then the run, counted in the metrics.
 */
export class RunService {
  constructor(
    readonly sandbox: Sandbox,
    readonly queue: RunQueue,
    readonly quotas: Quotas,
    private readonly metrics: ServerMetrics,
  ) {}

  async run(principal: Principal, code: string, options: RunOptions): Promise<RunResult> {
    const releaseQuota = this.quotas.startRun(principal);
    try {
      const releaseSlot = await this.queue.acquire();
      try {
        return this.count(await this.sandbox.run(code, options));
      } finally {
        releaseSlot();
      }
    } finally {
      releaseQuota();
    }
  }

  /** Counts a finished run or cell in the metrics. */
  count<R extends RunResult>(result: R): R {
    this.metrics.runs.inc({ status: result.status });
    this.metrics.runDuration.observe({ status: result.status }, result.durationMs / 1000);
    return result;
  }
}
