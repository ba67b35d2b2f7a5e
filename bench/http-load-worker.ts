/**
 * The HTTP load client of the serve bench, in a worker thread of its own so that it does
 * not compete with the server for the main thread's event loop. Each caller owns one
 * keep-alive connection and sends the same prebuilt request over it, reading only the
 * status line, Content-Length and the body's `status`, the way load generators such as
 * autocannon do: the client's own cost per request stays small next to the server's
 * (fetch cost about 2 ms of CPU a request here, which on a 2-vCPU machine was CPU the
 * server and its jails did not get, while the library's callers cost nothing of the kind).
 * `callers` loops POST the body for `ms` after a warm-up; the worker answers the runs
 * that succeeded in the measured window and how long that was.
 */
import { connect, type Socket } from 'node:net';
import { parentPort, workerData } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';

interface LoadJob {
  url: string;
  body: string;
  callers: number;
  warmMs: number;
  ms: number;
}

const job = workerData as LoadJob;
const target = new URL(job.url);
const request = Buffer.from(
  `POST ${target.pathname} HTTP/1.1\r\nHost: ${target.host}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(job.body)}\r\n\r\n${job.body}`,
);
const HEADERS_END = Buffer.from('\r\n\r\n');

/** One keep-alive connection: one request in flight at a time, answered true when it was a 200 with status 'ok'. */
class Connection {
  private buffered: Buffer = Buffer.alloc(0);
  private pending: { resolve: (ok: boolean) => void; reject: (error: Error) => void } | null = null;

  private constructor(private readonly socket: Socket) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (error) => this.fail(error));
    socket.on('close', () => this.fail(new Error('the server closed the connection')));
  }

  static open(): Promise<Connection> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: target.hostname.replace(/^\[|\]$/g, ''), port: Number(target.port) });
      socket.once('connect', () => resolve(new Connection(socket))).once('error', reject);
    });
  }

  post(): Promise<boolean> {
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject };
      this.socket.write(request);
    });
  }

  close(): void {
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
    const end = this.buffered.indexOf(HEADERS_END);
    if (end < 0) return;
    const head = this.buffered.toString('latin1', 0, end);
    const length = /\r\ncontent-length: *(\d+)/i.exec(head);
    if (!length) return this.fail(new Error(`a response without Content-Length: ${head.split('\r\n')[0]}`));
    const bodyEnd = end + HEADERS_END.length + Number(length[1]);
    if (this.buffered.length < bodyEnd) return;
    const ok = head.startsWith('HTTP/1.1 200 ') && (JSON.parse(this.buffered.toString('utf8', end + HEADERS_END.length, bodyEnd)) as { status: string }).status === 'ok';
    this.buffered = this.buffered.subarray(bodyEnd);
    const pending = this.pending;
    this.pending = null;
    pending?.resolve(ok);
  }

  private fail(error: Error): void {
    const pending = this.pending;
    this.pending = null;
    pending?.reject(error);
  }
}

const connections = await Promise.all(Array.from({ length: job.callers }, () => Connection.open()));

async function loops(until: number, count: { n: number }): Promise<void> {
  await Promise.all(
    connections.map(async (c) => {
      while (performance.now() < until) if (await c.post()) count.n++;
    }),
  );
}

await loops(performance.now() + job.warmMs, { n: 0 });
const count = { n: 0 };
const start = performance.now();
await loops(start + job.ms, count);
for (const c of connections) c.close();
parentPort?.postMessage({ runs: count.n, seconds: (performance.now() - start) / 1000 });
