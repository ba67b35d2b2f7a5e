/**
 * The run_python_code tool: wraps the code (python-wrapper.ts), runs it with the
 * connection's workspace files in and out, and answers in mcp-run-python's form.
 */
import { z } from 'zod';
import type { CellResult, RunOptions, RunResult } from '../sandbox/index.js';
import { asJson, asTagged, outputLines, type CallOutcome } from './answer.js';
import { imageContent } from './displays.js';
import { wrapProgram } from './python-wrapper.js';
import type { Workspace } from './workspace.js';

/** How the MCP layer reaches a sandbox (quota, queue and limits are the caller's). */
export type McpRunner = (code: string, options: RunOptions) => Promise<RunResult>;

export type ReturnMode = 'xml' | 'json';

/** What the driver writes; guest-written, so checked like any other guest text. */
const outcomeSchema = z.union([
  z.object({ ok: z.literal(true), value: z.string().nullable() }),
  z.object({ ok: z.literal(false), error: z.string() }),
]);

const LIMIT_TEXT: Record<string, string> = {
  timeout: 'the program ran past its time limit',
  cpu_limit: 'the program used up its CPU time',
  memory_limit: 'the program ran out of memory',
  output_limit: 'the program printed more than its output limit',
  process_limit: 'the program started more processes than its limit',
  killed: 'the program was killed by a signal',
  internal_error: 'pybox could not run the program',
};

export interface RunCall {
  code: string;
  globals: Record<string, unknown>;
  returnMode: ReturnMode;
  onOutput: (stream: 'stdout' | 'stderr', text: string) => void;
}

/**
 * Every file of the workspace, hidden ones (dot names) too: `**` skips hidden names, as
 * Python's glob does, so each hidden component needs a pattern that names it (`.*`).
 * Paths with up to HIDDEN_DEPTH hidden components are kept.
 */
const HIDDEN_DEPTH = 4;
export const WORKSPACE_PATTERNS: readonly string[] = ['**'].concat(
  Array.from({ length: HIDDEN_DEPTH }, (_, i) => {
    const hidden = Array.from({ length: i + 1 }, () => '**/.*').join('/');
    return [hidden, `${hidden}/**`];
  }).flat(),
);

/** A tool's answer: the text in mcp-run-python's form, then the images the code displayed. */
export interface ToolAnswer {
  text: string;
  images: { type: 'image'; data: string; mimeType: 'image/png' }[];
}

export async function runPythonCode(run: McpRunner, workspace: Workspace, call: RunCall): Promise<ToolAnswer> {
  const wrapped = wrapProgram(call.code, call.globals, call.returnMode === 'json');
  const before = workspace.snapshot();
  const output = teeOutput(call.onOutput);
  const result = await run(wrapped.code, {
    files: Object.fromEntries(before),
    collect: [...WORKSPACE_PATTERNS, wrapped.outcomePath],
    ...output.hooks,
  });
  const outcome = describe(result, wrapped.outcomePath, outputLines(output.printed()));
  const { [wrapped.outcomePath]: _outcomeFile, ...files } = result.files;
  // Only a program that got to its end has handed back its whole workspace.
  if (wrapped.outcomePath in result.files) workspace.settle(before, files);
  return { text: call.returnMode === 'json' ? asJson(outcome) : asTagged(outcome), images: imageContent(result) };
}

/** How an MCP connection reaches its sessions (ownership, quotas and limits are the caller's). */
export interface McpSessionTools {
  /** Opens a session with these files in its /workspace; resolves to its id. */
  open(files: Record<string, Uint8Array>): Promise<string>;
  run(id: string, code: string, hooks: { onStdout: (chunk: string) => void; onStderr: (chunk: string) => void }): Promise<CellResult>;
  close(id: string): Promise<void>;
}

/** run_in_session: one cell, answered like run_python_code (its value is the repr Python's console shows). */
export async function runInSession(tools: McpSessionTools, id: string, call: Omit<RunCall, 'globals'>): Promise<ToolAnswer> {
  const tee = teeOutput(call.onOutput);
  const result = await tools.run(id, call.code, tee.hooks);
  // A session writes a cell's traceback to stderr too: it is the answer's error, not its output.
  let printed = tee.printed();
  const traceback = result.error?.traceback;
  if (traceback && printed.endsWith(traceback)) printed = printed.slice(0, -traceback.length);
  const output = outputLines(printed);
  const outcome: CallOutcome =
    result.status === 'ok' ? { status: 'success', output, returnValue: result.value?.text ?? null, error: null } : { status: 'run-error', output, returnValue: null, error: failureText(result) };
  return { text: call.returnMode === 'json' ? asJson(outcome) : asTagged(outcome), images: imageContent(result) };
}

function describe(result: RunResult, outcomePath: string, output: string[]): CallOutcome {
  const file = result.files[outcomePath];
  if (result.status === 'ok' && file) {
    let parsed: z.infer<typeof outcomeSchema> | null = null;
    try {
      const p = outcomeSchema.safeParse(JSON.parse(Buffer.from(file).toString('utf8')));
      if (p.success) parsed = p.data;
    } catch {
      /* not JSON: the program wrote over it */
    }
    if (parsed?.ok) return { status: 'success', output, returnValue: parsed.value, error: null };
    if (parsed) return { status: 'run-error', output, returnValue: null, error: parsed.error };
  }
  return { status: 'run-error', output, returnValue: null, error: failureText(result) };
}

/** Why a run did not succeed: a limit, or the user's traceback. */
function failureText(result: RunResult): string {
  const detail = LIMIT_TEXT[result.status];
  if (detail) return `pybox: ${result.status}: ${detail}`;
  if (result.error) return result.error.traceback || `${result.error.type}: ${result.error.message}`;
  return `pybox: the program ended (${result.status}, exit code ${result.exitCode}) before its result was written`;
}

/** Streams a call's output to its listener and keeps it all, in order, for the answer's <output>. */
function teeOutput(onOutput: RunCall['onOutput']): {
  hooks: { onStdout: (chunk: string) => void; onStderr: (chunk: string) => void };
  printed: () => string;
} {
  let printed = '';
  return {
    hooks: {
      onStdout: (chunk) => {
        printed += chunk;
        onOutput('stdout', chunk);
      },
      onStderr: (chunk) => {
        printed += chunk;
        onOutput('stderr', chunk);
      },
    },
    printed: () => printed,
  };
}
