import type { Sandbox } from '../sandbox/index.js';

export interface Health {
  ok: boolean;
  mode: string;
  detail: string | null;
}

const FRESH_MS = 10_000;

/**
 * "Can jails be made here": a real run of an empty program, at most once per FRESH_MS
 * (a load balancer polling every second costs nothing), concurrent checks share one run.
 */
export class HealthProbe {
  private last: { at: number; health: Health } | null = null;
  private pending: Promise<Health> | null = null;

  constructor(private readonly sandbox: Sandbox) {}

  async check(): Promise<Health> {
    if (this.last && performance.now() - this.last.at < FRESH_MS) return this.last.health;
    this.pending ??= this.probe().finally(() => (this.pending = null));
    return this.pending;
  }

  private async probe(): Promise<Health> {
    let health: Health;
    try {
      const r = await this.sandbox.run('');
      health = { ok: r.status === 'ok', mode: this.sandbox.mode.active, detail: r.status === 'ok' ? null : `a test run ended ${r.status}` };
    } catch (error) {
      health = { ok: false, mode: this.sandbox.mode.active, detail: error instanceof Error ? error.message.split('\n')[0] ?? null : 'unknown' };
    }
    this.last = { at: performance.now(), health };
    return health;
  }
}
