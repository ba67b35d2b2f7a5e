/**
 * /v1/sessions against a real server in this process, called with fetch: every route,
 * code and shape, ownership (another key sees 404), the key's session quota, the
 * server's --max-sessions, a run on an ended session (409), a full cell queue, a drain
 * that ends live sessions, and fuzzing of the session routes (never a 500).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_QUEUED_CELLS } from '../src/sandbox/index.js';
import { expectNoRunLeftovers } from './helpers/leftovers.js';
import { post, startTestServer, type TestServer } from './helpers/server.js';

const KEY_A = 'sess-key-a-0123456789abcdef';
const KEY_B = 'sess-key-b-0123456789abcdef';
const auth = (key: string) => ({ authorization: `Bearer ${key}` });
const b64 = (s: string) => Buffer.from(s).toString('base64');
const errorOf = (code: string) => ({ error: { code, message: expect.any(String) } });

async function call(method: string, url: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Headers; body: unknown }> {
  const res = await fetch(url, { method, headers });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text === '' ? null : (JSON.parse(text) as unknown) };
}

async function open(server: TestServer, body: unknown = {}, headers: Record<string, string> = {}): Promise<string> {
  const r = await post(`${server.url}/v1/sessions`, body, headers);
  expect([r.status, r.body]).toEqual([201, { id: expect.any(String) }]);
  return (r.body as { id: string }).id;
}

const metric = async (server: TestServer, name: string): Promise<number> => Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(await (await fetch(`${server.url}/metrics`)).text())?.[1]);

describe('/v1/sessions without keys', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ maxSessions: 3, limits: { timeoutMs: 5000 }, quotas: { concurrentRuns: 64, runsPerMinute: 10_000, sessions: 8 } });
  });
  afterAll(async () => {
    await server.drain();
    expect(await expectNoRunLeftovers()).toEqual([]);
  });

  it('open (201 {id}), cells that share state, look, interrupt (202), end (204), then 409 and alive: false', async () => {
    const id = await open(server, { files: { 'in.txt': b64('from the host') }, limits: { timeoutMs: 3000 } });
    const base = `${server.url}/v1/sessions/${id}`;
    const first = await post(`${base}/run`, { code: 'x = open("in.txt").read()\nname = input()' , stdin: 'typed\n' });
    expect([first.status, first.body]).toEqual([200, expect.objectContaining({ status: 'ok', value: null, stdout: '', files: {} })]);
    const second = await post(`${base}/run`, { code: 'print(name)\nx.upper()' });
    expect(second.body).toMatchObject({ status: 'ok', stdout: 'typed\n', value: { text: "'FROM THE HOST'" }, error: null });
    const failed = await post(`${base}/run`, { code: '1/0' });
    expect(failed.body).toMatchObject({ status: 'error', error: { type: 'ZeroDivisionError' }, value: null });
    expect(await call('GET', base)).toMatchObject({ status: 200, body: { id, alive: true, createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/), cells: 3 } });
    expect(await metric(server, 'pybox_live_sessions')).toBe(1);
    expect((await call('POST', `${base}/interrupt`)).status).toBe(202);
    expect((await call('DELETE', base)).status).toBe(204);
    expect(await call('GET', base)).toMatchObject({ status: 200, body: { id, alive: false, cells: 3 } });
    const late = await post(`${base}/run`, { code: 'x' });
    expect([late.status, late.body]).toEqual([409, errorOf('E_SESSION_ENDED')]);
    expect(await metric(server, 'pybox_live_sessions')).toBe(0);
  });

  it('interrupt stops the running cell: its status is interrupted and the session lives on', async () => {
    const id = await open(server);
    const base = `${server.url}/v1/sessions/${id}`;
    // n is set by a cell of its own: the interrupt may land before the spinning cell's first line.
    expect((await post(`${base}/run`, { code: 'n = 0' })).body).toMatchObject({ status: 'ok' });
    const running = post(`${base}/run`, { code: 'while True: n += 1' });
    await expect.poll(() => metric(server, 'pybox_cells_in_flight')).toBe(1);
    // One interrupt, even if it lands before the cell has started: it is kept for the cell.
    expect((await call('POST', `${base}/interrupt`)).status).toBe(202);
    expect((await running).body).toMatchObject({ status: 'interrupted' });
    expect((await post(`${base}/run`, { code: 'n >= 0' })).body).toMatchObject({ status: 'ok', value: { text: 'True' } });
    expect((await call('DELETE', base)).status).toBe(204);
  });

  it('404 for an unknown session on every route; 400 for bad bodies and limits over the server\'s', async () => {
    const base = `${server.url}/v1/sessions/no-such-session`;
    for (const r of [await post(`${base}/run`, { code: '1' }), await call('POST', `${base}/interrupt`), await call('GET', base), await call('DELETE', base)]) {
      expect([r.status, r.body]).toEqual([404, errorOf('E_NOT_FOUND')]);
    }
    const cases: [unknown, string][] = [
      [{ limits: { timeoutMs: 5001 } }, 'E_LIMIT_INVALID'],
      [{ policy: 'off' }, 'E_OPTIONS_INVALID'],
      [{ files: { '../x': b64('x') } }, 'E_FILE_INVALID'],
      [{ extra: 1 }, 'E_BAD_REQUEST'],
      ['[', 'E_BAD_REQUEST'],
    ];
    for (const [body, code] of cases) {
      const r = await post(`${server.url}/v1/sessions`, body);
      expect([r.status, r.body]).toEqual([400, errorOf(code)]);
    }
    const id = await open(server);
    for (const [body, code] of [[{ code: 1 }, 'E_BAD_REQUEST'], [{ code: 'x', argv: [] }, 'E_BAD_REQUEST'], ['{"code": "\\ud800"}', 'E_CODE_INVALID']] as [unknown, string][]) {
      const r = await post(`${server.url}/v1/sessions/${id}/run`, body);
      expect([r.status, r.body]).toEqual([400, errorOf(code)]);
    }
    expect((await call('DELETE', `${server.url}/v1/sessions/${id}`)).status).toBe(204);
  });

  it(`503 E_SESSION_BUSY once ${MAX_QUEUED_CELLS} cells wait behind the running one`, async () => {
    const id = await open(server);
    const run = (code: string) => post(`${server.url}/v1/sessions/${id}/run`, { code });
    const blocker = run('import time; time.sleep(30)');
    await expect.poll(() => metric(server, 'pybox_cells_in_flight'), { timeout: 30_000 }).toBe(1);
    // The running cell, MAX_QUEUED_CELLS waiting, and two more than the session holds.
    const others = Array.from({ length: MAX_QUEUED_CELLS + 2 }, () => run('1'));
    // A loaded machine takes its time to deliver 18 requests: wait for the event, not a clock.
    await expect.poll(() => metric(server, 'pybox_cells_in_flight'), { timeout: 60_000 }).toBe(1 + MAX_QUEUED_CELLS);
    const refused = await Promise.race(others);
    expect([refused.status, refused.body]).toEqual([503, errorOf('E_SESSION_BUSY')]);
    expect(refused.headers.get('retry-after')).toBe('1');
    expect((await call('DELETE', `${server.url}/v1/sessions/${id}`)).status).toBe(204);
    expect([200, 409]).toContain((await blocker).status);
    const statuses = (await Promise.all(others)).map((r) => r.status);
    expect(statuses.filter((s) => s === 503)).toHaveLength(2);
    expect(statuses.filter((s) => s !== 503).every((s) => s === 409)).toBe(true);
  });

  it('503 E_TOO_MANY_SESSIONS with Retry-After at --max-sessions', async () => {
    const ids = [await open(server), await open(server), await open(server)];
    const over = await post(`${server.url}/v1/sessions`, {});
    expect([over.status, over.body]).toEqual([503, errorOf('E_TOO_MANY_SESSIONS')]);
    expect(Number(over.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    for (const id of ids) expect((await call('DELETE', `${server.url}/v1/sessions/${id}`)).status).toBe(204);
    await open(server).then((id) => call('DELETE', `${server.url}/v1/sessions/${id}`));
  });

  it('OpenAPI describes the session routes from their schemas', async () => {
    const doc = (await (await fetch(`${server.url}/openapi.json`)).json()) as { paths: Record<string, Record<string, { requestBody?: { content: Record<string, { schema: { properties: object } }> } }>> };
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/v1/sessions', '/v1/sessions/{id}', '/v1/sessions/{id}/run', '/v1/sessions/{id}/interrupt', '/v1/sessions/{id}/ws']));
    expect(Object.keys(doc.paths['/v1/sessions/{id}/run']?.post?.requestBody?.content['application/json']?.schema.properties ?? {})).toEqual(['code', 'stdin']);
    expect(Object.keys(doc.paths['/v1/sessions']?.post?.requestBody?.content['application/json']?.schema.properties ?? {})).toEqual(['limits', 'policy', 'files']);
  });

  it('fuzz: any body on the session routes is answered below 500, as JSON errors', async () => {
    const id = await open(server);
    const paths = ['/v1/sessions', `/v1/sessions/${id}`, `/v1/sessions/${id}/run`, `/v1/sessions/${id}/interrupt`, '/v1/sessions/%00/run', '/v1/sessions/x/ws', `/v1/sessions/${'é'.repeat(300)}`];
    const body = fc.oneof(
      fc.jsonValue(),
      fc.record({ code: fc.oneof(fc.string(), fc.constant('1+1')), stdin: fc.oneof(fc.string({ unit: 'binary' }), fc.jsonValue()) }, { requiredKeys: [] }),
      fc.record({ limits: fc.jsonValue(), policy: fc.jsonValue(), files: fc.dictionary(fc.string(), fc.string()) }, { requiredKeys: [] }),
      fc.string({ unit: 'binary', maxLength: 300 }),
    );
    const opened: string[] = [];
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...paths), fc.constantFrom('GET', 'POST', 'DELETE'), body, async (path, method, value) => {
        const res = await fetch(server.url + path, { method, headers: { 'content-type': 'application/json' }, ...(method === 'GET' ? {} : { body: JSON.stringify(value) }) });
        const text = await res.text();
        expect(res.status).toBeLessThan(500 + (res.status === 503 ? 1 : 0) * 100); // 503 is a full server, never a crash
        if (res.status === 503) expect(JSON.parse(text)).toEqual(errorOf('E_TOO_MANY_SESSIONS'));
        expect(text).not.toMatch(/\n\s+at /);
        if (res.status === 201) opened.push((JSON.parse(text) as { id: string }).id);
        if (res.status >= 400) expect(JSON.parse(text)).toEqual({ error: { code: expect.stringMatching(/^E_/), message: expect.any(String) } });
        for (const o of opened.splice(0)) await call('DELETE', `${server.url}/v1/sessions/${o}`);
      }),
      { numRuns: 100 },
    );
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
  });
});

describe('/v1/sessions with keys', () => {
  let server: TestServer;
  let dir: string;
  let idA = '';
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'pybox-sessions-keys-'));
    writeFileSync(join(dir, 'keys'), `${KEY_A}\n${KEY_B}\n`);
    server = await startTestServer({ apiKeysFile: join(dir, 'keys'), quotas: { concurrentRuns: 4, runsPerMinute: 1000, sessions: 1 } });
  });
  afterAll(async () => {
    await server.drain();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a session belongs to its key: another key gets 404 on every route, no key 401', async () => {
    idA = await open(server, {}, auth(KEY_A));
    const base = `${server.url}/v1/sessions/${idA}`;
    for (const r of [await post(`${base}/run`, { code: '1' }, auth(KEY_B)), await call('POST', `${base}/interrupt`, auth(KEY_B)), await call('GET', base, auth(KEY_B)), await call('DELETE', base, auth(KEY_B))]) {
      expect([r.status, r.body]).toEqual([404, errorOf('E_NOT_FOUND')]);
    }
    expect((await call('GET', base)).status).toBe(401);
    expect((await post(`${base}/run`, { code: '6*7' }, auth(KEY_A))).body).toMatchObject({ value: { text: '42' } });
  });

  it("429 E_QUOTA with Retry-After over a key's live sessions; another key is not held back", async () => {
    const over = await post(`${server.url}/v1/sessions`, {}, auth(KEY_A));
    expect([over.status, over.body]).toEqual([429, errorOf('E_QUOTA')]);
    expect(Number(over.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    await open(server, {}, auth(KEY_B));
    expect(await metric(server, 'pybox_live_sessions')).toBe(2);
  });

  it('a drain lets the running cell finish, then ends every session', async () => {
    const running = post(`${server.url}/v1/sessions/${idA}/run`, { code: 'import time; time.sleep(1); "done"' }, auth(KEY_A));
    await expect.poll(() => metric(server, 'pybox_cells_in_flight')).toBe(1);
    const drained = server.drain();
    const done = await running;
    expect([done.status, done.body]).toEqual([200, expect.objectContaining({ status: 'ok', value: { text: "'done'" } })]);
    await drained;
    expect(await expectNoRunLeftovers()).toEqual([]);
  });
});
