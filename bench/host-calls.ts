/**
 * Bench section for host functions: a host call's round trip from Python (`add(1, 1)` in a
 * loop, each call timed inside the program) vs a raw pipe round trip from a bare `python3`
 * to this Node process (a line out on stdout, a line back on stdin, each timed the same
 * way). Batches of the two alternate, so both see the same moments of the machine.
 * Can run alone: node dist/bench/host-calls.js [--quick].
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Sandbox } from '../src/sandbox/index.js';

const PYTHON = '/usr/bin/python3';

/** Each call's time in µs, as one JSON list on the given stream. */
const timedLoop = (n: number, call: string, out: string) => `
import time, json, sys
times = []
for i in range(${n}):
    t = time.perf_counter()
    ${call}
    times.append((time.perf_counter() - t) * 1e6)
${out}.write(json.dumps(times))
${out}.flush()
`;

const PIPE_CALL = `os.write(1, b"x\\n"); os.read(0, 64)`;

/** The same loop in a bare python3, each round trip a line to this process and a line back. */
function pipeBatch(n: number): Promise<number[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(PYTHON, ['-I', '-S', '-c', `import os\n${timedLoop(n, PIPE_CALL, 'sys.stderr')}`], { stdio: ['pipe', 'pipe', 'pipe'], env: {} });
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => {
      for (let i = 0; i < chunk.length; i++) if (chunk[i] === 10) child.stdin.write('y\n');
    });
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.stdin.on('error', () => undefined);
    child.on('close', (code) => (code === 0 ? resolve(JSON.parse(err) as number[]) : reject(new Error(`bare python3 failed: ${err}`))));
  });
}

async function hostBatch(sandbox: Sandbox, n: number): Promise<number[]> {
  const r = await sandbox.run(timedLoop(n, 'add(1, 1)', 'sys.stdout'), { functions: { add: (a: number, b: number) => a + b }, limits: { timeoutMs: 60_000, cpuMs: 60_000 } });
  if (r.status !== 'ok') throw new Error(`host-call batch: ${r.status} ${r.stderr}`);
  return JSON.parse(r.stdout) as number[];
}

export interface HostCallBench {
  callsPerBatch: number;
  batches: number;
  /** µs per call */
  hostCall: { p50: number; p99: number };
  rawPipe: { p50: number; p99: number };
  /** hostCall.p50 / rawPipe.p50 */
  ratio: number;
}

function pct(samples: number[]): { p50: number; p99: number } {
  const s = [...samples].sort((a, b) => a - b);
  const q = (p: number) => Math.round((s[Math.min(s.length - 1, Math.floor(p * s.length))] ?? 0) * 10) / 10;
  return { p50: q(0.5), p99: q(0.99) };
}

export async function benchHostCalls(quick: boolean): Promise<HostCallBench> {
  const n = quick ? 500 : 2000;
  const batches = quick ? 4 : 10;
  const sandbox = await Sandbox.create({ mode: 'auto', pool: { size: 1, max: 2 } });
  try {
    await hostBatch(sandbox, 200); // warm-up of both
    await pipeBatch(200);
    const host: number[] = [];
    const pipe: number[] = [];
    for (let i = 0; i < batches; i++) {
      // each goes first in half of the rounds
      if (i % 2 === 0) {
        host.push(...(await hostBatch(sandbox, n)));
        pipe.push(...(await pipeBatch(n)));
      } else {
        pipe.push(...(await pipeBatch(n)));
        host.push(...(await hostBatch(sandbox, n)));
      }
    }
    const hostCall = pct(host);
    const rawPipe = pct(pipe);
    const result = { callsPerBatch: n, batches, hostCall, rawPipe, ratio: Math.round((hostCall.p50 / rawPipe.p50) * 1000) / 1000 };
    console.error(`  host call p50 ${hostCall.p50} µs (p99 ${hostCall.p99}), raw pipe p50 ${rawPipe.p50} µs (p99 ${rawPipe.p99}): ${result.ratio}x`);
    return result;
  } finally {
    await sandbox.close();
  }
}

export function hostCallRows(b: HostCallBench): string[] {
  return [
    `| host call round trip (\`add(1, 1)\` from Python, ${b.batches} × ${b.callsPerBatch} calls) vs a raw pipe round trip to a bare python3, µs p50 / p99 | ${b.hostCall.p50} / ${b.hostCall.p99} | ${b.rawPipe.p50} / ${b.rawPipe.p99} | ${b.ratio} | ≤ 3.0 | ${b.ratio <= 3 ? 'met' : 'MISSED'} |`,
  ];
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const b = await benchHostCalls(process.argv.includes('--quick'));
  console.log(hostCallRows(b).join('\n'));
}
