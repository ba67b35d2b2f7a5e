import type { SessionOptions } from '../../../core/backend.js';
import type { HostCallHandler } from '../../../core/hooks.js';
import { encodeGuestRequest, type GuestRequestBody } from '../../../guest/request.js';
import { startColdJail } from '../jail/bwrap-jail.js';
import type { JailEnvironment } from '../jail/live-jail.js';
import { guestRlimits, PER_UID_RLIMITS } from '../jail/rlimits.js';
import type { RunPaths } from '../pool/pool.js';
import { JailSession } from './jail-session.js';

/**
 * Opens a session in a jail of its own: a zygote's child or a warm jail when one is free
 * (kept for the session's whole life), else a bwrap jail started for it. Resolves once the
 * guest is ready for its first cell.
 */
export async function openJailSession(
  env: JailEnvironment,
  paths: RunPaths | null,
  session: SessionOptions,
  request: GuestRequestBody,
  onHostCall: HostCallHandler | null = null,
): Promise<JailSession> {
  const { jail, baseline, done } = (paths ? await paths.claimForSession(session.limits) : null) ?? (await startColdJail(env, session.limits));
  const withCgroups = jail.cgroup !== null;
  // As for a run (see superviseRun), but without RLIMIT_CPU: a session's CPU is counted
  // per cell, and the guest sets the rlimit before each (session.py). With cgroups, without
  // RLIMIT_NPROC either: the cgroup's pids.max is the limit then, and its refusals are what
  // tells the host the session hit it (JailSession.processLimitHit).
  const perUid = !(jail.path === 'zygote' && withCgroups);
  const rlimits = guestRlimits(session.limits, withCgroups).filter(
    ([name]) => (perUid || !PER_UID_RLIMITS.includes(name)) && name !== 'RLIMIT_CPU' && !(withCgroups && name === 'RLIMIT_NPROC'),
  );
  const s = new JailSession(jail, { limits: session.limits, idleTimeoutMs: session.idleTimeoutMs, maxLifetimeMs: session.maxLifetimeMs, withCgroups, baseline, done,
    hostCalls: onHostCall && request.hostFunctions?.length ? { names: request.hostFunctions, handler: onHostCall } : null,
  });
  await s.open(encodeGuestRequest({ ...request, session: true }, rlimits));
  return s;
}
