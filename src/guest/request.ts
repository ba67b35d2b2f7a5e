import type { PreparedRun } from '../core/prepared-run.js';
import { marshal, tuple } from './marshal.js';
import { collectBudgetBytes, lengthPrefixed, MAX_COLLECT_FILES, type GuestRequest } from './protocol.js';

/** The name the user's code runs under, in tracebacks and sys.argv[0]. */
export const MAIN_FILENAME = 'main.py';
/** A run under policy 'off' stacks no filter of its own. */
const NO_FILTER = new Uint8Array(0);

/** A request before the jail adds the rlimits it enforces with. */
export type GuestRequestBody = Omit<GuestRequest, 'rlimits'>;

/** What of the host the request carries: the strict policy's filter and the interpreter's site paths. */
export interface RequestContext {
  strictSeccomp: Uint8Array;
  sitePaths: string[];
}

/** The guest's request for a prepared run: the code, its files and what it may send back. */
export function buildGuestRequest(run: PreparedRun, context: RequestContext): GuestRequestBody {
  return {
    code: run.code,
    filename: MAIN_FILENAME,
    argv: run.argv,
    files: run.files,
    collect: [...run.collect.patterns],
    maxFiles: MAX_COLLECT_FILES,
    maxFileBytes: collectBudgetBytes(run.limits.workspaceMiB),
    policy: run.policy,
    seccomp: run.policy === 'strict' ? context.strictSeccomp : NO_FILTER,
    extraPaths: context.sitePaths,
    maxDisplayBytes: run.limits.displayBytes,
    hostFunctions: run.hostFunctions ?? [],
    hostCallBytes: run.limits.hostCallBytes,
  };
}

/**
 * The request as the guest reads it: [u32 big-endian length][a marshalled dict] (see
 * read_request_frame in src/guest/python/framing.py, which reads to the length, not to EOF).
 */
export function encodeGuestRequest(r: GuestRequestBody, rlimits: readonly GuestRequest['rlimits'][number][]): Buffer {
  return lengthPrefixed(
    marshal({
      code: r.code,
      filename: r.filename,
      argv: r.argv,
      rlimits: rlimits.map(([name, soft, hard]) => tuple(name, soft, hard)),
      files: r.files.map(([path, data]) => tuple(path, data)),
      collect: r.collect,
      maxFiles: r.maxFiles,
      maxFileBytes: r.maxFileBytes,
      policy: r.policy,
      seccomp: r.seccomp,
      extraPaths: r.extraPaths,
      session: r.session === true,
      hostInput: r.hostInput === true,
      preload: [...(r.preload ?? [])],
      maxDisplayBytes: r.maxDisplayBytes,
      hostFunctions: [...(r.hostFunctions ?? [])],
      hostCallBytes: r.hostCallBytes ?? 0,
    }),
  );
}
