/**
 * The HTTP API's bodies as zod schemas: requests are validated with them, and the same
 * schemas produce /openapi.json, so the document cannot drift from what is enforced.
 */
import { z } from 'zod';
import { limitsSchema, MAX_CODE_BYTES, RUN_STATUSES } from '../sandbox/index.js';

const path = z.string().min(1).max(4096);

export const runRequestSchema = z
  .object({
    code: z.string().max(MAX_CODE_BYTES).describe('the Python program (UTF-8, at most 1 MiB)'),
    stdin: z.string().max(16 * 1024 * 1024).optional().describe("the program's stdin (text)"),
    argv: z.array(z.string().max(4096)).max(1024).optional().describe('sys.argv[1:]'),
    files: z.record(path, z.base64()).optional().describe('written into /workspace before the run: path -> base64 bytes'),
    collect: z.array(z.string().max(4096)).max(256).optional().describe('workspace paths or globs returned after the run'),
    limits: limitsSchema.partial().optional().describe('limits of this run, within the server\'s own'),
    policy: z.enum(['strict', 'off']).optional().describe("the guest's language layer; 'off' only when the server allows it"),
  })
  .strict();

export type RunRequest = z.infer<typeof runRequestSchema>;

export const sessionOpenSchema = z
  .object({
    limits: runRequestSchema.shape.limits.describe("the session's limits, within the server's own: memoryMiB, processes and workspaceMiB for its life, the rest each cell's"),
    policy: runRequestSchema.shape.policy,
    files: runRequestSchema.shape.files.describe('written into /workspace when the session opens: path -> base64 bytes'),
  })
  .strict();

export type SessionOpenRequest = z.infer<typeof sessionOpenSchema>;

export const cellRequestSchema = z
  .object({
    code: runRequestSchema.shape.code.describe('the cell (UTF-8, at most 1 MiB): its names, imports and files persist to the next'),
    stdin: runRequestSchema.shape.stdin.describe("what this cell's input() and sys.stdin read"),
  })
  .strict();

export const sessionCreatedSchema = z.object({ id: z.string().describe("the session's id: its URL is /v1/sessions/{id}") });

export const sessionInfoSchema = z.object({
  id: z.string(),
  alive: z.boolean().describe('false once it has ended (closed, a limit, idle or lifetime expiry)'),
  createdAt: z.string().describe('ISO 8601'),
  cells: z.number().int().describe('cells run so far'),
});

export const runResponseSchema = z.object({
  status: z.enum(RUN_STATUSES as [string, ...string[]]),
  exitCode: z.number().int().nullable(),
  signal: z.string().nullable(),
  stdout: z.string(),
  stderr: z.string(),
  truncated: z.object({ stdout: z.boolean(), stderr: z.boolean(), display: z.boolean() }),
  durationMs: z.number(),
  cpuMs: z.number(),
  memoryPeakBytes: z.number().nullable(),
  error: z.object({ type: z.string(), message: z.string(), traceback: z.string() }).nullable(),
  files: z.record(z.string(), z.base64()).describe('collected files: path -> base64 bytes'),
  outputs: z
    .array(z.object({ type: z.literal('display'), data: z.record(z.string(), z.string()), metadata: z.record(z.string(), z.unknown()).optional(), stdoutOffset: z.number().int() }))
    .describe('rich outputs (display(), figures): MIME type -> text, or base64 for binary types'),
});

export const cellResponseSchema = runResponseSchema.extend({
  value: z.object({ text: z.string() }).nullable().describe("the repr of the cell's last expression, as Python's console shows it; null when it had none or it was None"),
});

export const errorSchema = z.object({
  error: z.object({ code: z.string().describe('a stable E_* code'), message: z.string() }),
});

export const healthSchema = z.object({ ok: z.boolean(), mode: z.string(), detail: z.string().nullable() });
export const readySchema = z.object({ ready: z.boolean(), warmJails: z.number().int(), queued: z.number().int(), running: z.number().int() });
