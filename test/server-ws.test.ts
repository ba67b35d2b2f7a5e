/**
 * A session's WebSocket (GET /v1/sessions/:id/ws) with the `ws` client against a real
 * server in this process: output streamed in order, input asked for and answered,
 * interrupts, results, refused cells, and every close code (unknown or ended session,
 * bad message, too big, bad origin, bad key, drain).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { expectNoRunLeftovers } from './helpers/leftovers.js';
import { post, startTestServer, type TestServer } from './helpers/server.js';

const KEY_A = 'ws-key-a-0123456789abcdef';
const KEY_B = 'ws-key-b-0123456789abcdef';

type Message = { type: string; id?: string; data?: unknown; prompt?: string; result?: Record<string, unknown>; error?: { code: string } };

interface Client {
  ws: WebSocket;
  /** The next message that satisfies `pick` (messages before it are kept in `seen`). */
  next(pick?: (m: Message) => boolean): Promise<Message>;
  seen: Message[];
  closed: Promise<{ code: number; reason: string }>;
  send(m: unknown): void;
}

function connect(url: string, options: WebSocket.ClientOptions & { protocols?: string[] } = {}): Client {
  const { protocols, ...rest } = options;
  const ws = new WebSocket(url.replace(/^http/, 'ws'), protocols ?? [], rest);
  const seen: Message[] = [];
  const waiters: { pick: (m: Message) => boolean; resolve: (m: Message) => void }[] = [];
  let cursor = 0;
  ws.on('message', (data) => {
    seen.push(JSON.parse(data.toString()) as Message);
    for (const w of [...waiters]) {
      while (cursor < seen.length) {
        const m = seen[cursor++] as Message;
        if (w.pick(m)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(m);
          break;
        }
      }
    }
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  ws.on('error', () => {});
  return {
    ws,
    seen,
    closed,
    send: (m) => (ws.readyState === WebSocket.OPEN ? ws.send(typeof m === 'string' || Buffer.isBuffer(m) ? m : JSON.stringify(m)) : ws.once('open', () => ws.send(typeof m === 'string' || Buffer.isBuffer(m) ? m : JSON.stringify(m)))),
    next: (pick = () => true) =>
      new Promise((resolve) => {
        while (cursor < seen.length) {
          const m = seen[cursor++] as Message;
          if (pick(m)) return resolve(m);
        }
        waiters.push({ pick, resolve });
      }),
  };
}

const isResult = (id: string) => (m: Message) => m.type === 'result' && m.id === id;

/** Adjacent chunks of one stream as one: how reads cut them does not matter. */
function streams(messages: Message[], id: string): [string, string][] {
  const out: [string, string][] = [];
  for (const m of messages) {
    if (m.id !== id || (m.type !== 'stdout' && m.type !== 'stderr')) continue;
    const last = out[out.length - 1];
    if (last && last[0] === m.type) last[1] += String(m.data);
    else out.push([m.type, String(m.data)]);
  }
  return out;
}

async function openSession(server: TestServer, headers: Record<string, string> = {}): Promise<string> {
  const r = await post(`${server.url}/v1/sessions`, {}, headers);
  expect(r.status).toBe(201);
  return (r.body as { id: string }).id;
}

describe('session WebSocket without keys', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ maxBodyMiB: 1, limits: { timeoutMs: 10_000 } });
  });
  afterAll(async () => {
    await server.drain();
    expect(await expectNoRunLeftovers()).toEqual([]);
  });

  it('streams stdout and stderr as written (each stream in order), then the result; state persists', async () => {
    const id = await openSession(server);
    const c = connect(`${server.url}/v1/sessions/${id}/ws`);
    c.send({ type: 'run', id: 'c1', code: 'import sys\nprint("a", flush=True)\nsys.stderr.write("b\\n"); sys.stderr.flush()\nprint("c")\nx = 40\nx + 2' });
    const result = await c.next(isResult('c1'));
    expect(result.result).toMatchObject({ status: 'ok', stdout: 'a\nc\n', stderr: 'b\n', value: { text: '42' } });
    // Two pipes: the order within each stream holds, not the order across them.
    const chunks = (type: string) => c.seen.filter((m) => m.type === type && m.id === 'c1').map((m) => String(m.data)).join('');
    expect([chunks('stdout'), chunks('stderr')]).toEqual(['a\nc\n', 'b\n']);
    expect(c.seen.indexOf(result)).toBe(c.seen.length - 1);
    c.send({ type: 'run', id: 'c2', code: 'x' });
    expect((await c.next(isResult('c2'))).result).toMatchObject({ value: { text: '40' } });
    c.ws.close(1000);
    expect((await c.closed).code).toBe(1000);
    expect((await fetch(`${server.url}/v1/sessions/${id}`).then((r) => r.json())) as object).toMatchObject({ alive: true, cells: 2 }); // the socket is not the session
  });

  it('asks for input with input_request and takes the input message as the answer', async () => {
    const id = await openSession(server);
    const c = connect(`${server.url}/v1/sessions/${id}/ws`);
    c.send({ type: 'run', id: 'ask', code: 'print("before")\nname = input("who? ")\nprint("hi", name)' });
    const request = await c.next((m) => m.type === 'input_request');
    expect(request).toEqual({ type: 'input_request', id: 'ask', prompt: 'who? ' });
    expect(streams(c.seen, 'ask')).toEqual([['stdout', 'before\n']]); // what was written before the request came first
    c.send({ type: 'input', data: 'bob' });
    expect((await c.next(isResult('ask'))).result).toMatchObject({ status: 'ok', stdout: 'before\nhi bob\n' });
    c.ws.close();
  });

  it('interrupt stops the running cell (status interrupted); the session takes the next cell', async () => {
    const id = await openSession(server);
    const c = connect(`${server.url}/v1/sessions/${id}/ws`);
    c.send({ type: 'run', id: 'spin', code: 'n = 0\nprint("spinning", flush=True)\nwhile True: n += 1' });
    await c.next((m) => m.type === 'stdout' && m.id === 'spin');
    c.send({ type: 'interrupt' });
    expect((await c.next(isResult('spin'))).result).toMatchObject({ status: 'interrupted', error: { type: 'KeyboardInterrupt' } });
    // n >= 0, not n > 0: the guest may be preempted right after its print, and the interrupt land before the loop.
    c.send({ type: 'run', id: 'after', code: 'n >= 0' });
    expect((await c.next(isResult('after'))).result).toMatchObject({ status: 'ok', value: { text: 'True' } });
    c.ws.close();
  });

  it('a cell that cannot start gets an error message; the socket stays open', async () => {
    const id = await openSession(server);
    const c = connect(`${server.url}/v1/sessions/${id}/ws`);
    c.send('{"type":"run","id":"bad","code":"\\ud800"}'); // an unpaired surrogate is not UTF-8
    expect(await c.next((m) => m.id === 'bad')).toEqual({ type: 'error', id: 'bad', error: { code: 'E_CODE_INVALID', message: expect.any(String) } });
    c.send({ type: 'run', id: 'ok', code: '1' });
    expect((await c.next(isResult('ok'))).result).toMatchObject({ status: 'ok' });
    c.ws.close();
  });

  it('close codes: 4404 unknown session, 4410 ended session (before and while connected)', async () => {
    expect(await connect(`${server.url}/v1/sessions/no-such-session/ws`).closed).toEqual({ code: 4404, reason: expect.stringMatching(/^E_NOT_FOUND/) });
    const id = await openSession(server);
    const c = connect(`${server.url}/v1/sessions/${id}/ws`);
    await new Promise((resolve) => c.ws.once('open', resolve));
    expect((await fetch(`${server.url}/v1/sessions/${id}`, { method: 'DELETE' })).status).toBe(204);
    expect(await c.closed).toEqual({ code: 4410, reason: expect.stringMatching(/^E_SESSION_ENDED/) });
    expect(await connect(`${server.url}/v1/sessions/${id}/ws`).closed).toEqual({ code: 4410, reason: expect.stringMatching(/^E_SESSION_ENDED/) });
  });

  it('close codes: 1008 for a message that is not valid, 1009 for one over --max-body', async () => {
    const id = await openSession(server);
    for (const bad of ['not json', JSON.stringify({ type: 'run', id: 'x' }), JSON.stringify({ type: 'shell', cmd: 'ls' }), JSON.stringify({ type: 'interrupt', extra: 1 }), Buffer.from([1, 2, 3])]) {
      const c = connect(`${server.url}/v1/sessions/${id}/ws`);
      c.send(bad);
      expect(await c.closed).toEqual({ code: 1008, reason: expect.stringMatching(/^E_BAD_REQUEST/) });
    }
    const c = connect(`${server.url}/v1/sessions/${id}/ws`);
    c.send(JSON.stringify({ type: 'run', id: 'big', code: 'x'.repeat(1024 * 1024 + 10) }));
    expect((await c.closed).code).toBe(1009);
    const still = connect(`${server.url}/v1/sessions/${id}/ws`);
    still.send({ type: 'run', id: 'alive', code: '"yes"' });
    expect((await still.next(isResult('alive'))).result).toMatchObject({ value: { text: "'yes'" } });
    still.ws.close();
  });

  it('close code 1008 E_FORBIDDEN_ORIGIN for a page that is not on loopback; a loopback page is let in', async () => {
    const id = await openSession(server);
    const evil = connect(`${server.url}/v1/sessions/${id}/ws`, { origin: 'https://attacker.example' });
    expect(await evil.closed).toEqual({ code: 1008, reason: expect.stringMatching(/^E_FORBIDDEN_ORIGIN/) });
    const rebound = connect(`${server.url}/v1/sessions/${id}/ws`, { headers: { host: 'attacker.example' } });
    expect(await rebound.closed).toEqual({ code: 1008, reason: expect.stringMatching(/^E_FORBIDDEN_HOST/) });
    const local = connect(`${server.url}/v1/sessions/${id}/ws`, { origin: 'http://localhost:3000' });
    local.send({ type: 'run', id: 'l', code: '1' });
    expect((await local.next(isResult('l'))).result).toMatchObject({ status: 'ok' });
    local.ws.close();
  });

  it('a path that is not a session socket is refused with 404', async () => {
    const c = connect(`${server.url}/v1/nothing/ws`);
    const status = await new Promise<number>((resolve) => c.ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0)));
    expect(status).toBe(404);
  });
});

describe('session WebSocket with keys', () => {
  let server: TestServer;
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'pybox-ws-keys-'));
    writeFileSync(join(dir, 'keys'), `${KEY_A}\n${KEY_B}\n`);
    server = await startTestServer({ apiKeysFile: join(dir, 'keys') });
  });
  afterAll(async () => {
    if (server) await server.drain().catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  });

  it('auth by Authorization header or by the bearer subprotocol; no key is 1008, another key 4404', async () => {
    const id = await openSession(server, { authorization: `Bearer ${KEY_A}` });
    const url = `${server.url}/v1/sessions/${id}/ws`;
    expect(await connect(url).closed).toEqual({ code: 1008, reason: expect.stringMatching(/^E_UNAUTHORIZED/) });
    expect(await connect(url, { protocols: ['pybox.v1', 'pybox.bearer.wrong-key-0123456789'] }).closed).toEqual({ code: 1008, reason: expect.stringMatching(/^E_UNAUTHORIZED/) });
    expect((await connect(url, { headers: { authorization: `Bearer ${KEY_B}` } }).closed).code).toBe(4404);
    const byHeader = connect(url, { headers: { authorization: `Bearer ${KEY_A}` } });
    byHeader.send({ type: 'run', id: 'h', code: 'v = 1' });
    expect((await byHeader.next(isResult('h'))).result).toMatchObject({ status: 'ok' });
    byHeader.ws.close();
    const browser = connect(url, { protocols: ['pybox.v1', `pybox.bearer.${KEY_A}`] });
    browser.send({ type: 'run', id: 'b', code: 'v + 1' });
    expect((await browser.next(isResult('b'))).result).toMatchObject({ value: { text: '2' } });
    expect(browser.ws.protocol).toBe('pybox.v1');
    browser.ws.close();
  });

  it('a drain lets the running cell finish and send its result, then closes with 1001', async () => {
    const id = await openSession(server, { authorization: `Bearer ${KEY_A}` });
    const c = connect(`${server.url}/v1/sessions/${id}/ws`, { headers: { authorization: `Bearer ${KEY_A}` } });
    c.send({ type: 'run', id: 'slow', code: 'print("go", flush=True)\nimport time; time.sleep(1)\n"finished"' });
    await c.next((m) => m.type === 'stdout');
    const drained = server.drain();
    expect((await c.next(isResult('slow'))).result).toMatchObject({ status: 'ok', value: { text: "'finished'" } });
    expect((await c.closed).code).toBe(1001);
    await drained;
    expect(await expectNoRunLeftovers()).toEqual([]);
  });
});
