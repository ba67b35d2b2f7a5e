/**
 * The HTTP load client of the serve bench, in a worker thread of its own so that it does
 * not compete with the server for the main thread's event loop (that made HTTP look
 * slower than it is). `callers` loops POST the body for `ms` after a warm-up; the worker
 * answers the runs that succeeded in the measured window and how long that was.
 */
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

async function once(): Promise<boolean> {
  const res = await fetch(job.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: job.body });
  return res.status === 200 && ((await res.json()) as { status: string }).status === 'ok';
}

async function loops(until: number, count: { n: number }): Promise<void> {
  await Promise.all(
    Array.from({ length: job.callers }, async () => {
      while (performance.now() < until) if (await once()) count.n++;
    }),
  );
}

await loops(performance.now() + job.warmMs, { n: 0 });
const count = { n: 0 };
const start = performance.now();
await loops(start + job.ms, count);
parentPort?.postMessage({ runs: count.n, seconds: (performance.now() - start) / 1000 });
