/**
 * pybox as an MCP server, a drop-in for mcp-run-python: run_python_code, its file tools
 * (upload_file, retrieve_file, delete_file) and the workspace's files as resources.
 * One McpServer per connection: each has its own workspace and log level.
 */
import { McpServer, ResourceTemplate } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import { SetLevelRequestSchema, type CallToolResult, type LoggingLevel, type ServerNotification, type ServerRequest } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { isPyboxError } from '../sandbox/index.js';
import { runInSession, runPythonCode, type McpRunner, type McpSessionTools, type ReturnMode, type ToolAnswer } from './run-python-code.js';
import { Workspace, WorkspaceError } from './workspace.js';

export interface PyboxMcpOptions {
  run: McpRunner;
  /** The session tools (open_session, run_in_session, close_session); without it they are not offered. */
  sessions?: McpSessionTools;
  returnMode: ReturnMode;
  /** The workspace's size: the runs' workspace limit. */
  workspaceBytes: number;
  version: string;
  /** One line on the limits every call runs under, for the tool's description. */
  limitsText: string;
}

const LEVELS: LoggingLevel[] = ['debug', 'info', 'notice', 'warning', 'error', 'critical', 'alert', 'emergency'];
const MAX_UPLOAD_CHARS = 64 * 1024 * 1024;

/** A tool's failure as its answer: agents read it; the connection stays up. */
function toolError(error: unknown): CallToolResult {
  const text =
    error instanceof WorkspaceError
      ? `pybox: E_FILE_INVALID: ${error.message}`
      : isPyboxError(error)
        ? `pybox: ${error.code}: ${error.message.split('\n')[0]}`
        : error instanceof Error && 'code' in error && typeof error.code === 'string' && error.code.startsWith('E_')
          ? `pybox: ${error.code}: ${error.message}` // the server's queue and quotas (E_BUSY, E_QUOTA...)
          : 'pybox: E_INTERNAL: the call failed';
  return { isError: true, content: [{ type: 'text', text }] };
}

const textOrBlob = (data: Uint8Array): { text: string } | { blob: string } => {
  const text = new TextDecoder('utf-8', { fatal: true });
  try {
    return { text: text.decode(data) };
  } catch {
    return { blob: Buffer.from(data).toString('base64') };
  }
};

const answer = (a: ToolAnswer): CallToolResult => ({ content: [{ type: 'text', text: a.text }, ...a.images] });

export interface PyboxMcp {
  server: McpServer;
  workspace: Workspace;
  /** Ends the sessions this connection opened and did not close (call when it goes). */
  closeSessions(): Promise<void>;
}

export function createPyboxMcpServer(options: PyboxMcpOptions): PyboxMcp {
  const workspace = new Workspace(options.workspaceBytes);
  const server = new McpServer(
    { name: 'pybox', version: options.version },
    {
      instructions:
        'Call "run_python_code" with Python code to run it in a fresh jail; files persist between calls (upload_file, retrieve_file, delete_file).' +
        (options.sessions ? ' For state that persists (variables, imports), open_session, then run_in_session, then close_session.' : ''),
      capabilities: { logging: {}, resources: { listChanged: true } },
    },
  );
  let minLevel: LoggingLevel = 'debug';
  server.server.setRequestHandler(SetLevelRequestSchema, (request) => {
    minLevel = request.params.level;
    return {};
  });
  const loud = (level: LoggingLevel) => LEVELS.indexOf(level) >= LEVELS.indexOf(minLevel);
  const link = (path: string) => ({ type: 'resource_link' as const, uri: Workspace.uri(path), name: path });
  const changed = () => void server.sendResourceListChanged();
  /** A call's stdout and stderr as log notifications (info / warning) while it runs; `flush` waits until they are sent. */
  const notifier: Notifier = (extra) => {
    const logs: Promise<void>[] = [];
    return {
      onOutput: (stream: 'stdout' | 'stderr', data: string) => {
        const level = stream === 'stdout' ? 'info' : 'warning';
        if (loud(level)) logs.push(extra.sendNotification({ method: 'notifications/message', params: { level, logger: stream, data } }).catch(() => {}));
      },
      flush: () => Promise.all(logs),
    };
  };

  server.registerTool(
    'run_python_code',
    {
      title: 'Run Python code',
      description:
        'Run Python code (CPython 3, standard library) in a fresh isolated jail and return what it printed and the value of its last expression.\n\n' +
        `The code may use top-level await. Files written in the working directory persist between calls. ${options.limitsText}`,
      inputSchema: {
        python_code: z.string().describe('Python code to run'),
        global_variables: z.record(z.string(), z.unknown()).default({}).describe('Map of global variables in context when the code is executed'),
      },
    },
    async ({ python_code, global_variables }, extra) => {
      const out = notifier(extra);
      try {
        const result = await runPythonCode(options.run, workspace, { code: python_code, globals: global_variables, returnMode: options.returnMode, onOutput: out.onOutput });
        await out.flush();
        changed();
        return answer(result);
      } catch (error) {
        await out.flush();
        return toolError(error);
      }
    },
  );

  const opened = new Set<string>();
  if (options.sessions) registerSessionTools(server, options.sessions, opened, workspace, options, notifier);

  server.registerTool(
    'upload_file',
    {
      title: 'Upload a file',
      description: 'Put a file into the working directory of the Python code (text, or bytes as base64).',
      inputSchema: {
        type: z.enum(['text', 'bytes']).describe("'text' for UTF-8 text, 'bytes' for base64 in blob"),
        filename: z.string().max(4096).describe('the file name, relative to the working directory'),
        text: z.string().max(MAX_UPLOAD_CHARS).optional().describe("the content when type is 'text'"),
        blob: z.base64().max(MAX_UPLOAD_CHARS).optional().describe("the base64 content when type is 'bytes'"),
      },
    },
    async ({ type, filename, text, blob }) => {
      try {
        const content = type === 'text' ? text : blob;
        if (content === undefined) throw new WorkspaceError(`type '${type}' needs ${type === 'text' ? 'text' : 'blob'}`);
        const data = type === 'text' ? new TextEncoder().encode(content) : new Uint8Array(Buffer.from(content, 'base64'));
        const path = workspace.put(filename, data);
        changed();
        return { content: [link(path)] };
      } catch (error) {
        return toolError(error);
      }
    },
  );

  server.registerTool(
    'retrieve_file',
    {
      title: 'Retrieve a file',
      description: 'Read a file from the working directory: a link to it and its content.',
      inputSchema: { filename: z.string().max(4096) },
    },
    async ({ filename }) => {
      try {
        const path = Workspace.path(filename);
        const data = workspace.get(path);
        if (!data) throw new WorkspaceError(`no file ${path} in the workspace`);
        return { content: [link(path), { type: 'resource', resource: { uri: Workspace.uri(path), ...textOrBlob(data) } }] };
      } catch (error) {
        return toolError(error);
      }
    },
  );

  server.registerTool(
    'delete_file',
    {
      title: 'Delete a file',
      description: 'Remove a file from the working directory.',
      inputSchema: { filename: z.string().max(4096) },
    },
    async ({ filename }) => {
      try {
        const path = Workspace.path(filename);
        if (!workspace.delete(path)) throw new WorkspaceError(`no file ${path} in the workspace`);
        changed();
        return { content: [link(path)] };
      } catch (error) {
        return toolError(error);
      }
    },
  );

  server.registerResource(
    'workspace',
    new ResourceTemplate('file:///{+path}', {
      list: async () => ({ resources: workspace.list().map((path) => ({ uri: Workspace.uri(path), name: path })) }),
    }),
    { title: 'Workspace files', description: 'Files in the working directory of the Python code' },
    async (uri) => {
      const path = Workspace.path(uri.href);
      const data = workspace.get(path);
      if (!data) throw new WorkspaceError(`no file ${path} in the workspace`);
      return { contents: [{ uri: Workspace.uri(path), ...textOrBlob(data) }] };
    },
  );

  return {
    server,
    workspace,
    closeSessions: async () => {
      await Promise.allSettled([...opened].map((id) => options.sessions?.close(id)));
      opened.clear();
    },
  };
}

type Notifier = (extra: Pick<RequestHandlerExtra<ServerRequest, ServerNotification>, 'sendNotification'>) => { onOutput: (stream: 'stdout' | 'stderr', data: string) => void; flush: () => Promise<unknown> };

/** open_session, run_in_session, close_session: a live interpreter whose names persist from call to call. */
function registerSessionTools(server: McpServer, tools: McpSessionTools, opened: Set<string>, workspace: Workspace, options: PyboxMcpOptions, notifier: Notifier): void {
  server.registerTool(
    'open_session',
    {
      title: 'Open a Python session',
      description:
        "Start a Python interpreter whose variables, imports and files persist from one run_in_session call to the next, in a jail of its own (it starts with the workspace's files). " +
        `Answers the session_id. Close it with close_session when done; it also ends after a while idle. ${options.limitsText}`,
      inputSchema: {},
    },
    async () => {
      try {
        const id = await tools.open(Object.fromEntries(workspace.snapshot()));
        opened.add(id);
        return { content: [{ type: 'text', text: id }] };
      } catch (error) {
        return toolError(error);
      }
    },
  );

  server.registerTool(
    'run_in_session',
    {
      title: 'Run Python code in a session',
      description: "Run Python code in an open session (see open_session): its answer is run_python_code's, the return value being the repr of the last expression.",
      inputSchema: { session_id: z.string().max(200).describe('what open_session answered'), code: z.string().describe('Python code to run') },
    },
    async ({ session_id, code }, extra) => {
      const out = notifier(extra);
      try {
        const result = await runInSession(tools, session_id, { code, returnMode: options.returnMode, onOutput: out.onOutput });
        await out.flush();
        return answer(result);
      } catch (error) {
        await out.flush();
        return toolError(error);
      }
    },
  );

  server.registerTool(
    'close_session',
    {
      title: 'Close a Python session',
      description: 'End a session opened with open_session (its interpreter and files are gone).',
      inputSchema: { session_id: z.string().max(200) },
    },
    async ({ session_id }) => {
      try {
        await tools.close(session_id);
        opened.delete(session_id);
        return { content: [{ type: 'text', text: `closed ${session_id}` }] };
      } catch (error) {
        return toolError(error);
      }
    },
  );
}
