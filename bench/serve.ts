/**
 * Bench section for `pybox serve`: the same hello run through the library and over
 * HTTP (POST /v1/run on 127.0.0.1), one MCP call (the SDK's Client over streamable
 * HTTP), and one session cell over the WebSocket vs through the library. Load is a fixed
 * number of callers for a fixed time, so it stops by itself; the HTTP load runs in a
 * worker thread (http-load-worker.ts), apart from the server's event loop, with a client
 * about as cheap as the library's callers (a prebuilt request per keep-alive connection),
 * and library and HTTP rounds take turns so that the machine's drift hits both alike.
 */
import { Writable } from 'node:stream';
import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import WebSocket from 'ws';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { Sandbox } from '../src/sandbox/index.js';
import { SERVE_DEFAULTS, startServer } from '../src/server/serve.js';

const HELLO = 'print("hello")';

export interface Percentiles {
  n: number;
  p50: number;
  p99: number;
}

export function percentiles(samples: number[]): Percentiles {
  const s = [...samples].sort((a, b) => a - b);
  const q = (p: number) => Math.round((s[Math.min(s.length - 1, Math.floor(p * s.length))] ?? 0) * 1000) / 1000;
  return { n: s.length, p50: q(0.5), p99: q(0.99) };
}

async function timed(fn: () => Promise<boolean>, n: number, warmup: number): Promise<Percentiles> {
  for (let i = 0; i < warmup; i++) await fn();
  const samples: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    if (!(await fn())) throw new Error('a bench run failed');
    samples.push(performance.now() - t);
  }
  return percentiles(samples);
}

/** Runs per second with `callers` loops for `ms` (after a short warm-up at that concurrency). */
export async function rate(fn: () => Promise<boolean>, callers: number, ms: number): Promise<number> {
  const loop = async (until: number, count: { n: number }) => {
    while (performance.now() < until) if (await fn()) count.n++;
  };
  const warm = { n: 0 };
  const warmUntil = performance.now() + Math.min(1000, ms / 3);
  await Promise.all(Array.from({ length: callers }, () => loop(warmUntil, warm)));
  const count = { n: 0 };
  const start = performance.now();
  await Promise.all(Array.from({ length: callers }, () => loop(start + ms, count)));
  return Math.round((count.n / ((performance.now() - start) / 1000)) * 10) / 10;
}

export interface ServeBench {
  rate8: { library: number; http: number; ratio: number; rounds: { library: number; http: number }[] };
  latency: { library: Percentiles; http: Percentiles };
  mcp: { call: Percentiles; library: Percentiles };
  cell: { ws: Percentiles; library: Percentiles };
}

/** Runs per second of POST /v1/run with `callers` connections, the load client in a worker thread. */
export function httpRate(url: string, callers: number, ms: number): Promise<number> {
  const worker = new Worker(new URL('./http-load-worker.js', import.meta.url), {
    workerData: { url: `${url}/v1/run`, body: JSON.stringify({ code: HELLO }), callers, warmMs: Math.min(1000, ms / 3), ms },
  });
  return new Promise((resolve, reject) => {
    worker.once('message', (m: { runs: number; seconds: number }) => resolve(Math.round((m.runs / m.seconds) * 10) / 10));
    worker.once('error', reject);
  });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

/** Cell round trips over a session's WebSocket: run sent -> result received. */
async function wsCells(url: string, n: number, warmup: number): Promise<Percentiles> {
  const { id } = (await (await fetch(`${url}/v1/sessions`, { method: 'POST' })).json()) as { id: string };
  const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/v1/sessions/${id}/ws`);
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  let k = 0;
  const cell = () =>
    new Promise<boolean>((resolve) => {
      const cellId = `c${k++}`;
      const onMessage = (data: WebSocket.RawData) => {
        const m = JSON.parse(data.toString()) as { type: string; id: string; result?: { status: string } };
        if (m.type !== 'result' || m.id !== cellId) return;
        ws.off('message', onMessage);
        resolve(m.result?.status === 'ok');
      };
      ws.on('message', onMessage);
      ws.send(JSON.stringify({ type: 'run', id: cellId, code: '1 + 1' }));
    });
  const p = await timed(cell, n, warmup);
  ws.close();
  await fetch(`${url}/v1/sessions/${id}`, { method: 'DELETE' });
  return p;
}

export async function benchServe(runs: number, throughputMs: number): Promise<ServeBench> {
  const sandboxOptions = { mode: 'auto' as const };
  const lib = await Sandbox.create(sandboxOptions);
  const libRun = async () => (await lib.run(HELLO)).status === 'ok';
  // The server logs at its default level (info: one line per request), into a sink.
  const quiet = new Writable({ write: (_c, _e, done) => done() });
  const server = await startServer({ ...SERVE_DEFAULTS, quotas: { concurrentRuns: 64, runsPerMinute: 10_000_000, sessions: 4 }, host: '127.0.0.1', port: 0, version: 'bench', logDestination: quiet, logLevel: 'info', ...sandboxOptions });
  try {
    const body = JSON.stringify({ code: HELLO });
    const httpRun = async () => {
      const res = await fetch(`${server.url}/v1/run`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      return res.status === 200 && ((await res.json()) as { status: string }).status === 'ok';
    };
    const libLatency = await timed(libRun, runs, 10);
    const httpLatency = await timed(httpRun, runs, 10);
    // Rounds in pairs, the pair's order alternating (library first, then HTTP first), so
    // that drift of the machine's load within a pair hits both sides alike; the ratio is
    // the median of the pairs' ratios.
    const rounds: { library: number; http: number }[] = [];
    const roundMs = throughputMs / 5;
    for (let i = 0; i < 6; i++) {
      if (i % 2 === 0) {
        const library = await rate(libRun, 8, roundMs);
        rounds.push({ library, http: await httpRate(server.url, 8, roundMs) });
      } else {
        const http = await httpRate(server.url, 8, roundMs);
        rounds.push({ library: await rate(libRun, 8, roundMs), http });
      }
    }
    const libRate = median(rounds.map((r) => r.library));
    const httpRateMedian = median(rounds.map((r) => r.http));
    const ratio = median(rounds.map((r) => r.http / r.library));

    const libSession = await lib.openSession();
    const libCell = await timed(async () => (await libSession.run('1 + 1')).status === 'ok', runs, 10);
    await libSession.close();
    const wsCell = await wsCells(server.url, runs, 10);

    const client = new Client({ name: 'pybox-bench', version: '1' });
    const transport = new StreamableHTTPClientTransport(new URL(`${server.url}/mcp`));
    await client.connect(transport);
    const mcpCall = async () => {
      const r = await client.callTool({ name: 'run_python_code', arguments: { python_code: HELLO } });
      return JSON.stringify(r.content).includes('<status>success</status>');
    };
    const mcp = await timed(mcpCall, Math.max(20, Math.round(runs / 3)), 5);
    await transport.terminateSession();
    await client.close();
    return {
      rate8: { library: libRate, http: httpRateMedian, ratio: Math.round(ratio * 1000) / 1000, rounds },
      latency: { library: libLatency, http: httpLatency },
      mcp: { call: mcp, library: libLatency },
      cell: { ws: wsCell, library: libCell },
    };
  } finally {
    await server.drain();
    await lib.close();
  }
}

/** The section's rows of the bench table (measure | pybox | reference | ratio | target | met). */
export function serveRows(b: ServeBench): string[] {
  const r = (a: number, c: number) => (c ? Math.round((a / c) * 1000) / 1000 : 0);
  const rateRatio = b.rate8.ratio;
  return [
    `| runs/s over HTTP (POST /v1/run, 8 connections, load client in a worker thread) vs the library (8 callers): medians of 6 rounds each, ratio the median of the rounds' ratios (pairs of rounds, order alternating) | ${b.rate8.http} | ${b.rate8.library} | ${rateRatio} | ≥ 0.85 | ${rateRatio >= 0.85 ? 'met' : 'MISSED'} |`,
    `| run p50 / p99 over HTTP vs the library, back to back, ms | ${b.latency.http.p50} / ${b.latency.http.p99} | ${b.latency.library.p50} / ${b.latency.library.p99} | ${r(b.latency.http.p50, b.latency.library.p50)} / ${r(b.latency.http.p99, b.latency.library.p99)} | | |`,
    `| session cell round trip over the WebSocket (run -> result) vs the library's session.run, p50 / p99 ms | ${b.cell.ws.p50} / ${b.cell.ws.p99} | ${b.cell.library.p50} / ${b.cell.library.p99} | ${r(b.cell.ws.p50, b.cell.library.p50)} / ${r(b.cell.ws.p99, b.cell.library.p99)} | | |`,
    `| MCP run_python_code call (streamable HTTP, SDK Client) p50 / p99 vs a library run, ms | ${b.mcp.call.p50} / ${b.mcp.call.p99} | ${b.mcp.library.p50} / ${b.mcp.library.p99} | +${Math.round((b.mcp.call.p50 - b.mcp.library.p50) * 1000) / 1000} ms | | |`,
  ];
}
