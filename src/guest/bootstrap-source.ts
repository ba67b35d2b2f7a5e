import { readFileSync } from 'node:fs';

/**
 * The guest bootstrap's files (src/guest/python/), in the order they are joined into one
 * source: each may use what the files before it define. One source, one global namespace:
 * the guest pays no import for the split, and the host precompiles it as one code object.
 */
export const BOOTSTRAP_MODULES = [
  'prelude',
  'framing',
  'paths',
  'workspace',
  'policy',
  'seccomp',
  'rlimits',
  'runner',
  'pybox_module',
  'warm',
  'fork_server',
  'session',
  'host_calls',
  'main',
] as const;

export type BootstrapModule = (typeof BOOTSTRAP_MODULES)[number];

/** One file of the bootstrap, as it is joined. */
export function bootstrapModuleSource(name: BootstrapModule): string {
  return readFileSync(new URL(`./python/${name}.py`, import.meta.url), 'utf8');
}

/** The guest bootstrap's source, passed to `python3 -c` (or precompiled) inside the jail. */
export const BOOTSTRAP_SOURCE: string = BOOTSTRAP_MODULES.map(bootstrapModuleSource).join('\n\n');

/** pybox's language layer on its own (path helpers, then the policy), as the attack lab installs it. */
export const LANGUAGE_POLICY_SOURCE: string = (['paths', 'policy'] as const).map(bootstrapModuleSource).join('\n\n');
