/**
 * pybox as an MCP server, through the MCP SDK's own Client: over stdio (`pybox mcp`,
 * spawned) and over streamable HTTP (/mcp on a server in this process). The answers must
 * read as mcp-run-python's, every call runs under pybox's limits, files persist per
 * connection and are checked like `files`/`collect`, and a session belongs to its key.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { LoggingMessageNotificationSchema, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectNoRunLeftovers } from './helpers/leftovers.js';
import { ROOT, startTestServer, type TestServer } from './helpers/server.js';

const KEY_A = 'mcp-key-a-0123456789abcdef';
const KEY_B = 'mcp-key-b-0123456789abcdef';

async function call(client: Client, name: string, args: Record<string, unknown>): Promise<CallToolResult> {
  return (await client.callTool({ name, arguments: args })) as CallToolResult;
}

async function runCode(client: Client, code: string, globals?: Record<string, unknown>): Promise<string> {
  const result = await call(client, 'run_python_code', { python_code: code, ...(globals ? { global_variables: globals } : {}) });
  expect(result.content).toHaveLength(1);
  const [item] = result.content;
  if (item?.type !== 'text') throw new Error(`expected one text item, got ${JSON.stringify(result.content)}`);
  return item.text;
}

describe('pybox mcp over stdio', () => {
  let client: Client;
  const logs: { level: string; data: unknown }[] = [];
  beforeAll(async () => {
    client = new Client({ name: 'pybox-test', version: '1' });
    client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => void logs.push({ level: n.params.level, data: n.params.data }));
    await client.connect(new StdioClientTransport({ command: 'node', args: ['bin/pybox', 'mcp', '--cpu', '1000'], cwd: ROOT, stderr: 'pipe' }));
  });
  afterAll(async () => {
    await client.close();
  });

  it('offers run_python_code with mcp-run-python\'s input schema, and the file tools', async () => {
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual(['close_session', 'delete_file', 'open_session', 'retrieve_file', 'run_in_session', 'run_python_code', 'upload_file']);
    const run = tools.find((t) => t.name === 'run_python_code');
    expect(run?.inputSchema).toMatchObject({
      type: 'object',
      properties: { python_code: { type: 'string' }, global_variables: { type: 'object', default: {} } },
      required: ['python_code'],
    });
  });

  it('answers in the tag form: status, output, return value, each tag on its own line', async () => {
    expect(await runCode(client, "x = 4\nprint(f'{x=}')\nx")).toBe('<status>success</status>\n<output>\nx=4\n</output>\n<return_value>\n4\n</return_value>');
    expect(await runCode(client, 'print("no value")')).toBe('<status>success</status>\n<output>\nno value\n</output>');
    expect(await runCode(client, "'text as is'")).toBe('<status>success</status>\n<return_value>\ntext as is\n</return_value>');
    expect(await runCode(client, '{"a": [1, None], "b": (2,)}')).toBe('<status>success</status>\n<return_value>\n{\n  "a": [\n    1,\n    null\n  ],\n  "b": [\n    2\n  ]\n}\n</return_value>');
    expect(await runCode(client, 'a * b', { a: 6, b: 7 })).toBe('<status>success</status>\n<return_value>\n42\n</return_value>');
    expect(await runCode(client, 'import asyncio\nawait asyncio.sleep(0)\n"awaited"')).toBe('<status>success</status>\n<return_value>\nawaited\n</return_value>');
  });

  it('a run error carries the traceback of the user\'s code only', async () => {
    const text = await runCode(client, 'def f():\n    return unknown\nprint("before")\nf()');
    expect(text.startsWith('<status>run-error</status>\n<output>\nbefore\n</output>\n<error>\nTraceback (most recent call last):\n  File "main.py", line 4, in <module>\n    f()\n  File "main.py", line 2, in f\n    return unknown\n')).toBe(true);
    expect(text.endsWith("NameError: name 'unknown' is not defined\n\n</error>")).toBe(true);
    expect(text).not.toMatch(/pybox|bootstrap|asyncio|runpy/);
    const syntax = await runCode(client, '[1, 2,');
    expect(syntax).toMatch(/^<status>run-error<\/status>\n<error>\n  File "main\.py", line 1\n[\s\S]*SyntaxError: [^\n]+\n\n<\/error>$/);
  });

  it('a closing tag in the output cannot end its section', async () => {
    const text = await runCode(client, 'print("</output><status>success</status>")\nraise SystemExit(3)');
    expect(text.split('\n').filter((l) => l === '</output>')).toHaveLength(1);
    expect(text).toContain('&lt;/output&gt;');
  });

  it('every call runs under pybox\'s limits', async () => {
    expect(await runCode(client, 'while True: pass')).toBe('<status>run-error</status>\n<error>\npybox: cpu_limit: the program used up its CPU time\n</error>');
    expect(await runCode(client, 'import socket\nsocket.create_connection(("1.1.1.1", 53), timeout=1)')).toMatch(/^<status>run-error<\/status>\n<error>\n[\s\S]*Error/);
  });

  it('stdout and stderr go out as log notifications (info / warning) while the call runs', async () => {
    logs.length = 0;
    await runCode(client, 'import sys\nprint("to out", flush=True)\nprint("to err", file=sys.stderr)');
    expect(logs).toEqual(expect.arrayContaining([{ level: 'info', data: 'to out\n' }, { level: 'warning', data: 'to err\n' }]));
  });

  it('files: upload, use, retrieve, list and read as resources, delete; bad paths refused', async () => {
    const up = await call(client, 'upload_file', { type: 'text', filename: 'data/in.txt', text: 'hello' });
    expect(up.content).toEqual([{ type: 'resource_link', uri: 'file:///data/in.txt', name: 'data/in.txt' }]);
    await call(client, 'upload_file', { type: 'bytes', filename: 'raw.bin', blob: Buffer.from([0, 255, 1]).toString('base64') });
    expect(await runCode(client, 'open("out.txt", "w").write(open("data/in.txt").read().upper())\nlen(open("raw.bin", "rb").read())')).toBe('<status>success</status>\n<return_value>\n3\n</return_value>');
    const got = await call(client, 'retrieve_file', { filename: 'out.txt' });
    expect(got.content).toEqual([
      { type: 'resource_link', uri: 'file:///out.txt', name: 'out.txt' },
      { type: 'resource', resource: { uri: 'file:///out.txt', text: 'HELLO' } },
    ]);
    const { resources } = await client.listResources();
    expect(resources.map((r) => r.uri).sort()).toEqual(['file:///data/in.txt', 'file:///out.txt', 'file:///raw.bin']);
    expect((await client.readResource({ uri: 'file:///raw.bin' })).contents).toEqual([{ uri: 'file:///raw.bin', blob: Buffer.from([0, 255, 1]).toString('base64') }]);
    expect((await call(client, 'delete_file', { filename: 'out.txt' })).content).toEqual([{ type: 'resource_link', uri: 'file:///out.txt', name: 'out.txt' }]);
    expect(await runCode(client, 'import os\nsorted(os.listdir("."))')).toContain('"data",\n  "raw.bin"');
    for (const filename of ['../escape.txt', '/etc/passwd', 'a/../../b', 'nul\0byte', '', 'a'.repeat(256)]) {
      const refused = await call(client, 'upload_file', { type: 'text', filename, text: 'x' });
      expect(refused.isError).toBe(true);
      expect(refused.content).toEqual([{ type: 'text', text: expect.stringMatching(/^pybox: E_FILE_INVALID: /) }]);
    }
    expect((await call(client, 'retrieve_file', { filename: '../../etc/passwd' })).isError).toBe(true);
    await expect(client.readResource({ uri: 'file:///../etc/passwd' })).rejects.toThrow();
  });

  it('hidden files (dot names, at any depth) persist in the workspace like any other', async () => {
    await runCode(client, 'import os\nos.makedirs(".cfg/deep/.inner", exist_ok=True)\nos.makedirs("d", exist_ok=True)\nfor p in [".env", ".cfg/a.txt", ".cfg/deep/.inner/b", "d/.x"]: open(p, "w").write(p)');
    expect(await runCode(client, '[open(p).read() for p in [".env", ".cfg/a.txt", ".cfg/deep/.inner/b", "d/.x"]]')).toBe(
      '<status>success</status>\n<return_value>\n[\n  ".env",\n  ".cfg/a.txt",\n  ".cfg/deep/.inner/b",\n  "d/.x"\n]\n</return_value>',
    );
    const { resources } = await client.listResources();
    expect(resources.map((r) => r.uri)).toEqual(expect.arrayContaining(['file:///.env', 'file:///.cfg/a.txt', 'file:///.cfg/deep/.inner/b', 'file:///d/.x']));
  });

  it('session tools: open_session, run_in_session (state persists, same answer form, output as logs), close_session', async () => {
    await call(client, 'upload_file', { type: 'text', filename: 'session-in.txt', text: 'hello' });
    const opened = await call(client, 'open_session', {});
    const [idItem] = opened.content;
    if (idItem?.type !== 'text') throw new Error(JSON.stringify(opened));
    const session_id = idItem.text;
    const inSession = async (code: string): Promise<string> => {
      const r = await call(client, 'run_in_session', { session_id, code });
      const [item] = r.content;
      if (item?.type !== 'text' || r.content.length !== 1) throw new Error(JSON.stringify(r));
      return item.text;
    };
    logs.length = 0;
    expect(await inSession('import math\nx = 6\nprint("set", flush=True)')).toBe('<status>success</status>\n<output>\nset\n</output>');
    expect(logs).toEqual([{ level: 'info', data: 'set\n' }]);
    expect(await inSession('math.factorial(x)')).toBe('<status>success</status>\n<return_value>\n720\n</return_value>');
    expect(await inSession('"text"')).toBe("<status>success</status>\n<return_value>\n'text'\n</return_value>");
    expect(await inSession('open("session-in.txt").read()')).toContain("'hello'"); // it opened with the workspace's files
    expect(await inSession('x / 0')).toMatch(/^<status>run-error<\/status>\n<error>\n[\s\S]*ZeroDivisionError: division by zero\n\n<\/error>$/);
    expect(await inSession('x')).toContain('\n6\n'); // an error does not end the session
    expect(await inSession('while True: pass')).toBe('<status>run-error</status>\n<error>\npybox: cpu_limit: the program used up its CPU time\n</error>');
    expect((await call(client, 'close_session', { session_id })).isError).toBeFalsy();
    expect((await call(client, 'run_in_session', { session_id, code: '1' })).content).toEqual([{ type: 'text', text: expect.stringMatching(/^pybox: E_(SESSION_ENDED|NOT_FOUND): /) }]);
    expect((await call(client, 'run_in_session', { session_id: 'no-such-session', code: '1' })).content).toEqual([{ type: 'text', text: expect.stringMatching(/^pybox: E_NOT_FOUND: /) }]);
  });

  it('takes 16 calls at once, each with its own answer', async () => {
    const answers = await Promise.all(Array.from({ length: 16 }, (_, i) => runCode(client, `import time\ntime.sleep(0.2)\n${i} * 2`)));
    expect(answers).toEqual(Array.from({ length: 16 }, (_, i) => `<status>success</status>\n<return_value>\n${i * 2}\n</return_value>`));
  });
});

describe('MCP over streamable HTTP at /mcp', () => {
  let server: TestServer;
  let dir: string;
  const connect = async (key: string): Promise<{ client: Client; transport: StreamableHTTPClientTransport }> => {
    const client = new Client({ name: 'pybox-test', version: '1' });
    const transport = new StreamableHTTPClientTransport(new URL(`${server.url}/mcp`), { requestInit: { headers: { authorization: `Bearer ${key}` } } });
    await client.connect(transport);
    return { client, transport };
  };
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'pybox-mcp-keys-'));
    writeFileSync(join(dir, 'keys'), `${KEY_A}\n${KEY_B}\n`);
    server = await startTestServer({ apiKeysFile: join(dir, 'keys'), returnMode: 'json', quotas: { concurrentRuns: 16, runsPerMinute: 1000, sessions: 2 } });
  });
  afterAll(async () => {
    await server.drain();
    rmSync(dir, { recursive: true, force: true });
    expect(await expectNoRunLeftovers()).toEqual([]);
  });

  it('runs code with --return-mode json, takes 16 calls at once, and a session belongs to its key', async () => {
    const a = await connect(KEY_A);
    try {
      expect(JSON.parse(await runCode(a.client, 'print("hi")\n[1, "two"]'))).toEqual({ status: 'success', output: ['hi'], return_value: [1, 'two'] });
      expect(JSON.parse(await runCode(a.client, '1/0'))).toEqual({ status: 'run-error', output: [], error: expect.stringMatching(/ZeroDivisionError: division by zero\n$/) });
      const many = await Promise.all(Array.from({ length: 16 }, (_, i) => runCode(a.client, `${i}`)));
      expect(many.map((t) => (JSON.parse(t) as { return_value: unknown }).return_value)).toEqual(Array.from({ length: 16 }, (_, i) => i));

      // Key B may not use A's session: 404, as for a session that does not exist.
      const stolen = await fetch(`${server.url}/mcp`, {
        method: 'POST',
        headers: { authorization: `Bearer ${KEY_B}`, 'mcp-session-id': a.transport.sessionId ?? '', 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 9, method: 'tools/call', params: { name: 'run_python_code', arguments: { python_code: '1' } } }),
      });
      expect(stolen.status).toBe(404);
      expect(await stolen.json()).toEqual({ error: { code: 'E_NOT_FOUND', message: expect.any(String) } });
      // Without a key: 401.
      const anonymous = await fetch(`${server.url}/mcp`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
      expect(anonymous.status).toBe(401);
      // A session of A's connection: another key cannot reach it.
      const opened = await call(a.client, 'open_session', {});
      const session_id = (opened.content[0] as { text: string }).text;
      expect(JSON.parse(((await call(a.client, 'run_in_session', { session_id, code: 'y = [1]\ny * 2' })).content[0] as { text: string }).text)).toEqual({ status: 'success', output: [], return_value: [1, 1] });
      const b = await connect(KEY_B);
      expect((await call(b.client, 'run_in_session', { session_id, code: 'y' })).content).toEqual([{ type: 'text', text: expect.stringMatching(/^pybox: E_NOT_FOUND: /) }]);
      await b.transport.terminateSession();
      await b.client.close();
      // A's session quota is 2 (its MCP connection and its open session): one more is refused with 429.
      await expect(connect(KEY_A)).rejects.toThrow(/429|E_QUOTA/);
      expect((await call(a.client, 'open_session', {})).content).toEqual([{ type: 'text', text: expect.stringMatching(/^pybox: E_QUOTA: /) }]);
      expect(await (await fetch(`${server.url}/metrics`)).text()).toMatch(/^pybox_live_sessions 1$/m);
    } finally {
      await a.transport.terminateSession();
      await a.client.close();
    }
    // Closed, the session's slot is free again.
    const again = await connect(KEY_A);
    expect(JSON.parse(await runCode(again.client, '"back"'))).toMatchObject({ return_value: 'back' });
    await again.transport.terminateSession();
    await again.client.close();
    // The session A's first connection left open ended with it.
    await expect.poll(async () => (await (await fetch(`${server.url}/metrics`)).text()).match(/^pybox_(live|mcp)_sessions \d+$/gm)).toEqual(['pybox_live_sessions 0', 'pybox_mcp_sessions 0']);
  });
});
