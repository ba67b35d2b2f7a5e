import type { Command } from 'commander';
import { DEFAULT_IDLE_TIMEOUT_MS, DEFAULT_MAX_LIFETIME_MS, MAX_SESSION_MS, MIN_SESSION_MS, type Session } from '../sandbox/index.js';
import { boundedIntegerOption } from './inputs.js';

/** --idle-timeout and --max-lifetime, as commander parses them. */
export interface SessionTimeFlags {
  idleTimeout?: number;
  maxLifetime?: number;
}

/** How long a session may idle, and live in all (ms). */
export interface SessionTimes {
  idleTimeoutMs: number;
  maxLifetimeMs: number;
}

/** Adds --idle-timeout and --max-lifetime, after `prefix` ('session-' for serve), with the bounds `openSession` takes. */
export function addSessionTimeOptions(command: Command, { prefix = '', sessions = 'the session' } = {}): Command {
  const ms = (flag: string) => boundedIntegerOption(flag, 'milliseconds', MIN_SESSION_MS, MAX_SESSION_MS);
  const idle = `--${prefix}idle-timeout`;
  const lifetime = `--${prefix}max-lifetime`;
  return command
    .option(`${idle} <ms>`, `end ${sessions} after this long without a cell (default ${DEFAULT_IDLE_TIMEOUT_MS}: ${duration(DEFAULT_IDLE_TIMEOUT_MS)})`, ms(idle))
    .option(`${lifetime} <ms>`, `end ${sessions} this long after it opened (default ${DEFAULT_MAX_LIFETIME_MS}: ${duration(DEFAULT_MAX_LIFETIME_MS)})`, ms(lifetime));
}

export function sessionTimes(flags: SessionTimeFlags): SessionTimes {
  return { idleTimeoutMs: flags.idleTimeout ?? DEFAULT_IDLE_TIMEOUT_MS, maxLifetimeMs: flags.maxLifetime ?? DEFAULT_MAX_LIFETIME_MS };
}

/** The line saying the session idled out or reached its lifetime, or null if it ended otherwise (or lives). */
export function expiryLine(session: Session, times: SessionTimes): string | null {
  switch (session.endReason) {
    case 'idle':
      return `pybox: idle: no cell ran for ${duration(times.idleTimeoutMs)} (--idle-timeout); the session has ended`;
    case 'lifetime':
      return `pybox: lifetime: the session reached its maximum lifetime of ${duration(times.maxLifetimeMs)} (--max-lifetime) and has ended`;
    default:
      return null;
  }
}

/** 600000 -> "10 min", 1500 -> "1500 ms": as a person would say it. */
export function duration(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000} h`;
  if (ms % 60_000 === 0) return `${ms / 60_000} min`;
  if (ms % 1000 === 0) return `${ms / 1000} s`;
  return `${ms} ms`;
}
