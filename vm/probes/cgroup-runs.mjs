// Run inside the VM (`npm run vm -- ... -- node vm/probes/cgroup-runs.mjs`): real pybox runs that each end
// on one of the cgroup limits, with limits scaled for software emulation (everything there is ~40-50x
// slower). Prints one JSON line per run, `{ name, status, ... }`, and the cgroup provider first.
import { Sandbox } from '../../dist/src/index.js';
import { sharedCgroups } from '../../dist/src/backends/native/jail/environment.js';

const mode = process.argv[2] ?? 'cold';
const SLOW = 40;
const py = (lines) => lines.join('\n');
const print = (obj) => process.stdout.write(`${JSON.stringify(obj)}\n`);

const sandbox = await Sandbox.create({ mode, policy: 'off', limits: { timeoutMs: 10_000 * SLOW, cpuMs: 5_000 * SLOW } });
const cgroups = sharedCgroups();
print({ name: 'cgroups', mode: cgroups.mode, detail: cgroups.detail, path: sandbox.mode.active });

async function run(name, code, limits = {}) {
  const r = await sandbox.run(code, { limits });
  print({ name, status: r.status, exitCode: r.exitCode, stdout: r.stdout.slice(0, 200), stderr: r.stderr.slice(-300), cpuMs: r.cpuMs, memoryPeakBytes: r.memoryPeakBytes, durationMs: r.durationMs });
  return r;
}

try {
  const hello = await run('hello', "print('hello')");
  await run('memory-hog', py(['chunks = []', 'while True: chunks.append(bytearray(8 << 20))']), { memoryMiB: 64 });
  // pids.max: 8 processes are the interpreter and 7 children.
  await run('process-limit', py([
    'import os, signal', 'n = 0',
    'try:',
    '    while True:',
    '        if os.fork() == 0: signal.pause()',
    '        n += 1',
    'except OSError: print("started", n, flush=True)',
  ]), { processes: 8 });
  await run('fork-bomb', py(['import os', 'while True:', '    try: os.fork()', '    except OSError: pass']), { processes: 16, cpuMs: Math.ceil(hello.cpuMs * 3 + 2_000), timeoutMs: Math.ceil(hello.durationMs * 20 + 5_000) });
  // A CPU limit above what start-up costs here, and a wall clock well above that.
  const cpuMs = Math.ceil(hello.cpuMs * 2 + 2_000);
  await run('cpu-loop', 'while True: pass', { cpuMs, timeoutMs: Math.ceil(cpuMs * 10 + hello.durationMs * 4) });
} finally {
  await sandbox.close();
}
