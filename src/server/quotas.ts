import { HttpError } from './http-error.js';
import type { Principal } from './api-keys.js';

/** What one key may use at once and per minute. */
export interface QuotaLimits {
  concurrentRuns: number;
  runsPerMinute: number;
  sessions: number;
}

interface Usage {
  running: number;
  sessions: number;
  /** Start times (ms) of the runs of the last minute, oldest first. */
  recent: number[];
}

const MINUTE_MS = 60_000;

/**
 * Per-key accounting. `startRun` either counts a run and returns its release, or throws
 * a 429 with the seconds after which the same request could pass.
 */
export class Quotas {
  private readonly usage = new Map<string, Usage>();

  constructor(
    readonly limits: QuotaLimits,
    private readonly now: () => number = Date.now,
  ) {}

  private of(principal: Principal): Usage {
    let u = this.usage.get(principal.id);
    if (!u) this.usage.set(principal.id, (u = { running: 0, sessions: 0, recent: [] }));
    return u;
  }

  startRun(principal: Principal): () => void {
    const u = this.of(principal);
    const now = this.now();
    while (u.recent.length > 0 && (u.recent[0] as number) <= now - MINUTE_MS) u.recent.shift();
    if (u.running >= this.limits.concurrentRuns) {
      throw new HttpError(429, 'E_QUOTA', `this key already has ${u.running} runs in flight (its quota is ${this.limits.concurrentRuns})`, 1);
    }
    if (u.recent.length >= this.limits.runsPerMinute) {
      const wait = Math.max(1, Math.ceil(((u.recent[0] as number) + MINUTE_MS - now) / 1000));
      throw new HttpError(429, 'E_QUOTA', `this key made ${u.recent.length} runs in the last minute (its quota is ${this.limits.runsPerMinute})`, wait);
    }
    u.running++;
    u.recent.push(now);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      u.running--;
    };
  }

  /** Counts a live session (an MCP connection's workspace) against the key's quota. */
  openSession(principal: Principal): () => void {
    const u = this.of(principal);
    if (u.sessions >= this.limits.sessions) {
      throw new HttpError(429, 'E_QUOTA', `this key already has ${u.sessions} live sessions (its quota is ${this.limits.sessions})`, 5);
    }
    u.sessions++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      u.sessions--;
    };
  }

  get liveSessions(): number {
    let n = 0;
    for (const u of this.usage.values()) n += u.sessions;
    return n;
  }
}
