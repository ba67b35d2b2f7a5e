/**
 * Bench section for `pybox serve`: the same hello run through the library and over
 * HTTP (POST /v1/run on 127.0.0.1), and one MCP call (the SDK's Client over streamable
 * HTTP). Load is a fixed number of callers for a fixed time, so it stops by itself.
 */
import { Writable } from 'node:stream';
import { performance } from 'node:perf_hooks';
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
async function rate(fn: () => Promise<boolean>, callers: number, ms: number): Promise<number> {
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
  rate8: { library: number; http: number };
  latency: { library: Percentiles; http: Percentiles };
  mcp: { call: Percentiles; library: Percentiles };
}

export async function benchServe(runs: number, throughputMs: number): Promise<ServeBench> {
  const sandboxOptions = { mode: 'auto' as const };
  // The library first, on a Sandbox of its own, closed before the server starts its own.
  const lib = await Sandbox.create(sandboxOptions);
  const libRun = async () => (await lib.run(HELLO)).status === 'ok';
  const libLatency = await timed(libRun, runs, 10);
  const libRate = await rate(libRun, 8, throughputMs);
  await lib.close();

  const quiet = new Writable({ write: (_c, _e, done) => done() });
  const server = await startServer({ ...SERVE_DEFAULTS, quotas: { concurrentRuns: 64, runsPerMinute: 10_000_000, sessions: 4 }, host: '127.0.0.1', port: 0, version: 'bench', logDestination: quiet, logLevel: 'warn', ...sandboxOptions });
  try {
    const body = JSON.stringify({ code: HELLO });
    const httpRun = async () => {
      const res = await fetch(`${server.url}/v1/run`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      return res.status === 200 && ((await res.json()) as { status: string }).status === 'ok';
    };
    const httpLatency = await timed(httpRun, runs, 10);
    const httpRate = await rate(httpRun, 8, throughputMs);

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
    return { rate8: { library: libRate, http: httpRate }, latency: { library: libLatency, http: httpLatency }, mcp: { call: mcp, library: libLatency } };
  } finally {
    await server.drain();
  }
}

/** The section's rows of the bench table (measure | pybox | reference | ratio | target | met). */
export function serveRows(b: ServeBench): string[] {
  const r = (a: number, c: number) => (c ? Math.round((a / c) * 1000) / 1000 : 0);
  const rateRatio = r(b.rate8.http, b.rate8.library);
  return [
    `| runs/s over HTTP (POST /v1/run, 8 connections) vs the library (8 callers) | ${b.rate8.http} | ${b.rate8.library} | ${rateRatio} | ≥ 0.85 | ${rateRatio >= 0.85 ? 'met' : 'MISSED'} |`,
    `| run p50 / p99 over HTTP vs the library, back to back, ms | ${b.latency.http.p50} / ${b.latency.http.p99} | ${b.latency.library.p50} / ${b.latency.library.p99} | ${r(b.latency.http.p50, b.latency.library.p50)} / ${r(b.latency.http.p99, b.latency.library.p99)} | | |`,
    `| MCP run_python_code call (streamable HTTP, SDK Client) p50 / p99 vs a library run, ms | ${b.mcp.call.p50} / ${b.mcp.call.p99} | ${b.mcp.library.p50} / ${b.mcp.library.p99} | +${Math.round((b.mcp.call.p50 - b.mcp.library.p50) * 1000) / 1000} ms | | |`,
  ];
}
