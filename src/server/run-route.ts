import type { Limits, RunOptions, RunResult } from '../sandbox/index.js';
import { HttpError } from './http-error.js';
import { formatZodIssues } from './zod-issues.js';
import { runRequestSchema, type RunRequest } from './schemas.js';

/** What the server lets a request ask for: limits within its own, policy 'off' only if allowed. */
export interface RunPolicy {
  limits: Readonly<Limits>;
  allowPolicyOff: boolean;
}

/** A POST /v1/run body as the façade's arguments, or a 400 that says what is wrong. */
export function parseRunRequest(body: unknown, policy: RunPolicy): { code: string; options: RunOptions } {
  const parsed = runRequestSchema.safeParse(body);
  if (!parsed.success) throw new HttpError(400, 'E_BAD_REQUEST', `invalid run request: ${formatZodIssues(parsed.error)}`);
  const req: RunRequest = parsed.data;
  checkAllowed(req, policy);
  const options: RunOptions = {};
  if (req.stdin !== undefined) options.stdin = req.stdin;
  if (req.argv !== undefined) options.argv = req.argv;
  if (req.collect !== undefined) options.collect = req.collect;
  if (req.limits !== undefined) options.limits = req.limits;
  if (req.policy !== undefined) options.policy = req.policy;
  if (req.files !== undefined) options.files = decodeFiles(req.files);
  return { code: req.code, options };
}

/** Limits within the server's own, and policy 'off' only where the server allows it: else a 400. */
export function checkAllowed(req: Pick<RunRequest, 'limits' | 'policy'>, policy: RunPolicy): void {
  for (const [key, value] of Object.entries(req.limits ?? {}) as [keyof Limits, number | undefined][]) {
    if (value !== undefined && value > policy.limits[key]) {
      throw new HttpError(400, 'E_LIMIT_INVALID', `limits.${key} ${value} is over this server's ${policy.limits[key]}`);
    }
  }
  if (req.policy === 'off' && !policy.allowPolicyOff) {
    throw new HttpError(400, 'E_OPTIONS_INVALID', "policy 'off' is not allowed on this server (pybox serve --allow-policy-off)");
  }
}

export function decodeFiles(files: Record<string, string>): Record<string, Uint8Array> {
  return Object.fromEntries(Object.entries(files).map(([path, b64]) => [path, new Uint8Array(Buffer.from(b64, 'base64'))]));
}

/** The RunResult as JSON: files (and only they are bytes) as base64. */
export function runResultJson(result: RunResult): Omit<RunResult, 'files'> & { files: Record<string, string> } {
  const files: Record<string, string> = {};
  for (const [name, data] of Object.entries(result.files)) files[name] = Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('base64');
  return { ...result, files };
}
