/**
 * pybox serve's HTTP API against a real server in this process (127.0.0.1, port 0), called
 * with fetch: runs, every error code and its shape, keys, quotas, the queue, metrics,
 * OpenAPI, and fuzzing of every endpoint (never a 500, never a crash).
 */
import { request } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectNoRunLeftovers } from './helpers/leftovers.js';
import { post, startTestServer, type TestServer } from './helpers/server.js';

const KEY_A = 'key-a-0123456789abcdef';
const KEY_B = 'key-b-0123456789abcdef';
const auth = (key: string) => ({ authorization: `Bearer ${key}` });
const b64 = (s: string) => Buffer.from(s).toString('base64');
const errorShape = (body: unknown, code: string) => expect(body).toEqual({ error: { code, message: expect.any(String) } });

describe('pybox serve without keys', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ maxBodyMiB: 1, limits: { timeoutMs: 5000 } });
  });
  afterAll(async () => {
    await server.drain();
    expect(await expectNoRunLeftovers()).toEqual([]);
  });

  it('POST /v1/run answers the RunResult, files in and out as base64', async () => {
    const r = await post(`${server.url}/v1/run`, {
      code: 'import sys\nprint(open("in.txt").read().upper(), sys.argv[1:], input())\nopen("out.bin", "wb").write(bytes([0, 255]))',
      stdin: 'typed\n',
      argv: ['-v'],
      files: { 'in.txt': b64('hello') },
      collect: ['*.bin'],
    });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ status: 'ok', exitCode: 0, stdout: "HELLO ['-v'] typed\n", error: null, files: { 'out.bin': Buffer.from([0, 255]).toString('base64') } });
  });

  it('a program that fails or hits a limit is still a 200 with its verdict', async () => {
    const failed = await post(`${server.url}/v1/run`, { code: 'raise ValueError("no")' });
    expect(failed.status).toBe(200);
    expect(failed.body).toMatchObject({ status: 'error', error: { type: 'ValueError', message: 'no' } });
    const slow = await post(`${server.url}/v1/run`, { code: 'while True: pass', limits: { timeoutMs: 300, cpuMs: 5000 } });
    expect(slow.body).toMatchObject({ status: 'timeout' });
  });

  it('400 for bad JSON, a bad schema, pybox-invalid input and limits over the server\'s', async () => {
    const cases: [unknown, string][] = [
      ['{"code": ', 'E_BAD_REQUEST'],
      [{ code: 1 }, 'E_BAD_REQUEST'],
      [{ code: 'x', extra: true }, 'E_BAD_REQUEST'],
      [{ code: 'x', files: { 'a.txt': 'not base64!' } }, 'E_BAD_REQUEST'],
      [{ code: 'x', files: { '../escape': b64('x') } }, 'E_FILE_INVALID'],
      [{ code: 'x', collect: ['*a*b*c*d*'] }, 'E_OPTIONS_INVALID'],
      ['{"code": "\\ud800"}', 'E_CODE_INVALID'], // an unpaired surrogate
      [{ code: 'x', limits: { timeoutMs: 5001 } }, 'E_LIMIT_INVALID'],
      [{ code: 'x', limits: { memoryMiB: 1 } }, 'E_BAD_REQUEST'],
      [{ code: 'x', policy: 'off' }, 'E_OPTIONS_INVALID'],
    ];
    for (const [body, code] of cases) {
      const r = await post(`${server.url}/v1/run`, body);
      expect([r.status, r.body]).toEqual([400, { error: { code, message: expect.any(String) } }]);
    }
  });

  it('404 for an unknown path, 413 over --max-body, 415 for a body that is not JSON', async () => {
    const missing = await fetch(`${server.url}/v2/nothing`);
    expect(missing.status).toBe(404);
    errorShape(await missing.json(), 'E_NOT_FOUND');
    const big = await post(`${server.url}/v1/run`, { code: 'x'.repeat(1024 * 1024 + 10) });
    expect(big.status).toBe(413);
    errorShape(big.body, 'E_BODY_TOO_LARGE');
    const text = await fetch(`${server.url}/v1/run`, { method: 'POST', headers: { 'content-type': 'application/xml' }, body: '<code/>' });
    expect(text.status).toBe(415);
    errorShape(await text.json(), 'E_UNSUPPORTED_MEDIA_TYPE');
  });

  it('answers only to a loopback Host (a DNS-rebinding page sends its own name)', async () => {
    // fetch will not send a Host of its own choosing; node:http will.
    const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(`${server.url}/healthz`, { headers: { host: 'attacker.example' } }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString('utf8')));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('error', reject);
      req.end();
    });
    expect(answer.status).toBe(403);
    errorShape(JSON.parse(answer.body), 'E_FORBIDDEN_HOST');
  });

  it('/healthz, /readyz, /openapi.json and /metrics', async () => {
    expect(await (await fetch(`${server.url}/healthz`)).json()).toMatchObject({ ok: true });
    const ready = await fetch(`${server.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ ready: true, queued: 0 });
    const doc = (await (await fetch(`${server.url}/openapi.json`)).json()) as { paths: Record<string, { post?: { requestBody: { content: Record<string, { schema: { properties: object } }> } } }> };
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/v1/run', '/healthz', '/readyz', '/metrics', '/mcp']));
    expect(Object.keys(doc.paths['/v1/run']?.post?.requestBody.content['application/json']?.schema.properties ?? {})).toEqual(['code', 'stdin', 'argv', 'files', 'collect', 'limits', 'policy']);
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toMatch(/^pybox_runs_total\{status="ok"\} [1-9]/m);
    expect(metrics).toMatch(/^pybox_runs_total\{status="timeout"\} [1-9]/m);
    expect(metrics).toMatch(/^pybox_run_duration_seconds_count\{status="ok"\} [1-9]/m);
    for (const gauge of ['pybox_queue_depth 0', 'pybox_live_sessions 0', 'pybox_runs_in_flight 0']) expect(metrics).toContain(`\n${gauge}\n`);
    expect(metrics).toMatch(/^pybox_warm_jails \d+$/m);
  });

  it('logs JSON lines with no Authorization header and no stack, one line per request', () => {
    expect(server.logs.some((l) => l.msg === 'pybox serve listening')).toBe(true);
    expect(JSON.stringify(server.logs)).not.toMatch(/authorization|\n\s+at /i);
    const requests = server.logs.filter((l) => l.msg === 'request completed');
    expect(requests.find((l) => l.url === '/v1/run' && l.statusCode === 200)).toMatchObject({ reqId: expect.any(String), method: 'POST', responseTime: expect.any(Number) });
    expect(new Set(requests.map((l) => l.reqId)).size).toBe(requests.length);
    expect(server.logs.some((l) => l.msg === 'incoming request')).toBe(false);
  });

  it('fuzz: any JSON body on any endpoint and method is answered below 500, as JSON errors', async () => {
    const paths = ['/v1/run', '/healthz', '/readyz', '/metrics', '/openapi.json', '/mcp', '/', '/v1', '/v1/run/x', '/%00', '/v1/sessions'];
    const body = fc.oneof(
      fc.jsonValue(),
      fc.record({ code: fc.oneof(fc.string(), fc.string({ unit: 'grapheme', maxLength: 50 })), limits: fc.jsonValue(), files: fc.dictionary(fc.string(), fc.string()) }, { requiredKeys: [] }),
      fc.record({ code: fc.constant('print(1)'), argv: fc.array(fc.string({ unit: 'binary' })), collect: fc.array(fc.string()), stdin: fc.string({ unit: 'binary' }) }, { requiredKeys: ['code'] }),
      fc.string({ unit: 'binary', maxLength: 300 }),
    );
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...paths), fc.constantFrom('GET', 'POST', 'PUT', 'DELETE'), body, fc.boolean(), async (path, method, value, asText) => {
        const res = await fetch(server.url + path, {
          method,
          headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
          ...(method === 'GET' ? {} : { body: asText && typeof value === 'string' ? value : JSON.stringify(value) }),
        });
        const text = await res.text();
        expect(res.status).toBeLessThan(500);
        expect(text).not.toMatch(/\n\s+at /);
        if (res.status >= 400 && path !== '/mcp') expect(JSON.parse(text)).toEqual({ error: { code: expect.stringMatching(/^E_/), message: expect.any(String) } });
      }),
      { numRuns: 150 },
    );
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200); // still up
  });
});

describe('pybox serve with keys and quotas', () => {
  let server: TestServer;
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'pybox-serve-keys-'));
    writeFileSync(join(dir, 'keys'), `# the API's keys\n${KEY_A}\n\n${KEY_B}\n`);
    server = await startTestServer({ apiKeysFile: join(dir, 'keys'), maxConcurrent: 2, maxQueue: 1, quotas: { concurrentRuns: 1, runsPerMinute: 4, sessions: 1 } });
  });
  afterAll(async () => {
    await server.drain();
    rmSync(dir, { recursive: true, force: true });
    expect(await expectNoRunLeftovers()).toEqual([]);
  });

  it('401 without a key or with a wrong one; health stays open', async () => {
    for (const headers of [{}, auth('key-c-0123456789abcdef'), { authorization: KEY_A }, auth(KEY_A.slice(0, -1))]) {
      const r = await post(`${server.url}/v1/run`, { code: 'print(1)' }, headers);
      expect(r.status).toBe(401);
      expect(r.headers.get('www-authenticate')).toBe('Bearer');
      errorShape(r.body, 'E_UNAUTHORIZED');
    }
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    expect((await post(`${server.url}/v1/run`, { code: 'print(1)' }, auth(KEY_B))).status).toBe(200);
  });

  it('429 with Retry-After over a key\'s concurrent runs; another key is not held back', async () => {
    const slow = post(`${server.url}/v1/run`, { code: 'import time; time.sleep(1)' }, auth(KEY_A));
    // The slow run holds A's only slot once the server has counted it.
    await expect.poll(async () => (await (await fetch(`${server.url}/metrics`)).text()).includes('\npybox_runs_in_flight 1\n')).toBe(true);
    const over = await post(`${server.url}/v1/run`, { code: 'print(2)' }, auth(KEY_A));
    expect(over.status).toBe(429);
    expect(Number(over.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    errorShape(over.body, 'E_QUOTA');
    expect((await post(`${server.url}/v1/run`, { code: 'print(3)' }, auth(KEY_B))).status).toBe(200);
    expect((await slow).status).toBe(200);
  });

  it('429 with Retry-After over a key\'s runs per minute', async () => {
    const statuses: number[] = [];
    let retryAfter = 0;
    for (let i = 0; i < 5; i++) {
      const r = await post(`${server.url}/v1/run`, { code: 'pass' }, auth(KEY_B));
      statuses.push(r.status);
      if (r.status === 429) retryAfter = Number(r.headers.get('retry-after'));
    }
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThan(0);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
  });

  it("a request's log line names its key by a hash prefix, never the key", () => {
    const lines = server.logs.filter((l) => l.msg === 'request completed' && l.statusCode === 200 && l.url === '/v1/run');
    expect(lines.length).toBeGreaterThan(0);
    for (const l of lines) expect(l.key).toMatch(/^key-[0-9a-f]{12}$/);
    expect(JSON.stringify(server.logs)).not.toContain(KEY_A);
    expect(JSON.stringify(server.logs)).not.toContain(KEY_B);
  });
});

describe('pybox serve queue', () => {
  it('503 with Retry-After once the bounded queue is full', async () => {
    const server = await startTestServer({ maxConcurrent: 1, maxQueue: 1 });
    try {
      const sleep = { code: 'import time; time.sleep(1)' };
      const first = post(`${server.url}/v1/run`, sleep);
      await expect.poll(async () => (await (await fetch(`${server.url}/metrics`)).text()).includes('\npybox_runs_in_flight 1\n')).toBe(true);
      const second = post(`${server.url}/v1/run`, sleep);
      await expect.poll(async () => (await (await fetch(`${server.url}/metrics`)).text()).includes('\npybox_queue_depth 1\n')).toBe(true);
      const third = await post(`${server.url}/v1/run`, sleep);
      expect(third.status).toBe(503);
      expect(third.headers.get('retry-after')).toBe('1');
      errorShape(third.body, 'E_BUSY');
      expect([(await first).status, (await second).status]).toEqual([200, 200]);
    } finally {
      await server.drain();
    }
    expect(await expectNoRunLeftovers()).toEqual([]);
  });
});
