import type { CollectMatcher } from './glob.js';
import type { Limits } from './limits.js';

/** The language-level layer inside the guest: `strict` (audit hooks + import policy) or `off` (OS jail alone). */
export type GuestPolicy = 'strict' | 'off';

/** A run's stdin once validated: all of it at once, or a stream read as the program takes it. */
export type RunStdin = Buffer | AsyncIterable<Uint8Array | string>;

/**
 * A run as every backend gets it: validated and resolved (limits merged with the
 * sandbox's, file names normalised, collect patterns compiled) by prepareRun, so a backend
 * never sees caller input it would have to check again.
 */
export interface PreparedRun {
  code: string;
  limits: Limits;
  policy: GuestPolicy;
  stdin: RunStdin | null;
  argv: string[];
  /** [workspace-relative path, content], written into /workspace before the run. */
  files: [string, Uint8Array][];
  /** The collect patterns, compiled: what the host accepts back. */
  collect: CollectMatcher;
  /** Names of the host functions the program may call (the caller's hooks answer them). */
  hostFunctions?: readonly string[];
}
