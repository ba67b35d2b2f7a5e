/**
 * What the attacks run against. Every target but `pybox` runs INSIDE pybox's jail
 * (policy 'off', the lab harness as the program, a fake host planted in the jail):
 * running them is always safe, and they show what each weaker defence misses.
 */
import { HOST_CALL_LIMITS, type Limits } from '../sandbox/index.js';

export type TargetKind = 'ladder' | 'language' | 'decoy' | 'pybox';

export interface Target {
  name: string;
  kind: TargetKind;
  /** Ladder targets: how many levels (L0..level) are stacked. */
  level: number;
  /** One line: the defence this target adds. */
  defence: string;
  /** What it claims to deny; an attack that reaches any of it escapes. */
  claim: string;
}

export const LADDER: readonly Target[] = [
  { name: 'L0', kind: 'ladder', level: 0, defence: 'plain exec', claim: 'nothing yet: the lab holds it to the talk\'s goal (no file writes, no host secrets, no network, no new programs)' },
  { name: 'L1', kind: 'ladder', level: 1, defence: 'keyword blacklist', claim: 'code that names open/file/eval/exec/... never runs' },
  { name: 'L2', kind: 'ladder', level: 2, defence: 'builtins whitelist', claim: 'open, eval, exec, compile... are gone from builtins' },
  { name: 'L3', kind: 'ladder', level: 3, defence: 'import whitelist via a hooked __import__', claim: 'only string and re can be imported' },
  { name: 'L4', kind: 'ladder', level: 4, defence: 'read-only builtins', claim: 'the code cannot change its builtins' },
  { name: 'L5', kind: 'ladder', level: 5, defence: '__subclasses__ and __bases__ deleted via ctypes', claim: 'no walking the class hierarchy to a dangerous class' },
  { name: 'L6', kind: 'ladder', level: 6, defence: 'function __code__ and code object construction deleted', claim: 'the talk\'s final sandbox, "80 % done"' },
];

export const TARGETS: readonly Target[] = [
  ...LADDER,
  {
    name: 'decoy',
    kind: 'decoy',
    level: -1,
    defence: 'a naive host: plain exec, collects output by path (follows links), believes the guest\'s frames',
    claim: 'the host\'s files, secrets, network and verdict are safe from the guest',
  },
  {
    name: 'pybox-language',
    kind: 'language',
    level: -1,
    defence: 'pybox\'s guest layer alone: the real audit hooks and import policy from src/guest/python/policy.py',
    claim: 'no writes outside /workspace and /tmp, no new programs, no sockets but unix ones, no ctypes',
  },
  {
    name: 'pybox',
    kind: 'pybox',
    level: -1,
    defence: 'the full product: policy strict, the OS jail, every limit',
    claim: 'the host is untouched: files, secrets, network, processes, limits, the verdict and the next run',
  },
];

export const TARGET_NAMES: readonly string[] = TARGETS.map((t) => t.name);

export function findTarget(name: string): Target | undefined {
  return TARGETS.find((t) => t.name === name);
}

/** Limits of a pybox-target run: tight, every one of them set. */
export const PYBOX_LIMITS: Limits = {
  timeoutMs: 3000,
  cpuMs: 2000,
  memoryMiB: 128,
  processes: 16,
  openFiles: 64,
  outputBytes: 256 * 1024,
  displayBytes: 1024 * 1024,
  workspaceMiB: 16,
  ...HOST_CALL_LIMITS,
};

/**
 * Limits of a run that hosts a weaker target. The harness itself needs a process
 * and a little memory; a resource attack here only has to show that the weak
 * defence did not stop it, so the jail stops it early.
 */
export const LAB_LIMITS: Limits = {
  timeoutMs: 2500,
  cpuMs: 1200,
  memoryMiB: 160,
  processes: 24,
  openFiles: 128,
  outputBytes: 256 * 1024,
  displayBytes: 1024 * 1024,
  workspaceMiB: 16,
  ...HOST_CALL_LIMITS,
};

/** Whatever a caller asks for, no run of the lab goes above these. */
export const LIMIT_CAPS: Limits = {
  timeoutMs: 5000,
  cpuMs: 4000,
  memoryMiB: 256,
  processes: 32,
  openFiles: 256,
  outputBytes: 1024 * 1024,
  displayBytes: 8 * 1024 * 1024,
  workspaceMiB: 32,
  ...HOST_CALL_LIMITS,
};

export function capLimits(limits: Limits): Limits {
  const capped = { ...limits };
  for (const key of Object.keys(LIMIT_CAPS) as (keyof Limits)[]) capped[key] = Math.min(capped[key], LIMIT_CAPS[key]);
  return capped;
}
