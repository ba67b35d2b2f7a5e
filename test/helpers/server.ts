/**
 * A real pybox server for tests: in this process (startServer) or spawned (`node
 * bin/pybox serve`), always on 127.0.0.1 with a port the OS picks.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { Writable } from 'node:stream';
import { SERVE_DEFAULTS, startServer, type RunningServer, type ServeOptions } from '../../src/server/serve.js';

export const ROOT = new URL('../..', import.meta.url).pathname;

export interface TestServer extends RunningServer {
  logs: Record<string, unknown>[];
}

/** Starts a server in this process; its JSON log lines are kept in `logs`. */
export async function startTestServer(overrides: Partial<ServeOptions> = {}): Promise<TestServer> {
  const logs: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) logs.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const server = await startServer({ ...SERVE_DEFAULTS, quotas: { ...SERVE_DEFAULTS.quotas }, host: '127.0.0.1', port: 0, version: 'test', logDestination: sink, ...overrides });
  return { ...server, logs };
}

export interface SpawnedServer {
  child: ChildProcess;
  url: string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
  /** Resolves once the server has logged a line with this message (pino's `msg`). */
  logged: (msg: string) => Promise<void>;
}

/** `node bin/pybox serve --port 0 ...args`; resolves once its log says where it listens. */
export function spawnServer(args: string[] = []): Promise<SpawnedServer> {
  const child = spawn('node', ['bin/pybox', 'serve', '--host', '127.0.0.1', '--port', '0', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stderr })));
  return new Promise((resolve, reject) => {
    let buffered = '';
    const logged = (msg: string): Promise<void> =>
      new Promise((done) => {
        const check = (): void => {
          if (!buffered.includes(`"msg":${JSON.stringify(msg)}`)) return;
          child.stdout?.off('data', check);
          done();
        };
        child.stdout?.on('data', check);
        check();
      });
    child.stdout?.on('data', (c: Buffer) => {
      buffered += c.toString('utf8');
      const m = /"url":"(http:\/\/127\.0\.0\.1:\d+)"[^\n]*"pybox serve listening"/.exec(buffered);
      if (m?.[1]) resolve({ child, url: m[1], exited, logged });
    });
    void exited.then((e) => reject(new Error(`pybox serve exited (${e.code ?? e.signal}) before listening: ${e.stderr}`)));
  });
}

/** POST a JSON body (or a raw string) and return the status, headers and parsed body. */
export async function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; headers: Headers; body: unknown }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    /* not JSON: the test says what it expected */
  }
  return { status: res.status, headers: res.headers, body: parsed };
}
