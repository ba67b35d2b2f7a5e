import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import type { Readable, Writable } from 'node:stream';
import { encodeRequest, FrameDecoder, type GuestRequest } from '../guest/protocol.js';
import { PyboxError } from '../sandbox/errors.js';
import type { Limits } from '../sandbox/limits.js';
import type { RunResult } from '../sandbox/result.js';
import type { HostFacts } from '../host/probe.js';
import { buildBwrapArgv, etcGroup, etcPasswd, JAIL_FD_COUNT, JAIL_FDS } from './bwrap-argv.js';
import type { CgroupProvider, JailCgroup } from './cgroups.js';
import { devNullFd, leakableFds } from './inherited-fds.js';
import { processStartTime, waitForJailGone } from './reap.js';
import { guestRlimits } from './rlimits.js';
import type { UidPool } from './uid-pool.js';
import { decideVerdict, type KillReason } from './verdict.js';

export interface JailEnvironment {
  facts: HostFacts;
  cgroups: CgroupProvider;
  /** Present when we run as root: bwrap then runs as one of these uids. */
  uids: UidPool | null;
  seccomp: Buffer;
  bootstrapSource: string;
}

export interface JailRun {
  limits: Limits;
  request: Omit<GuestRequest, 'rlimits'>;
  stdin: Buffer | null;
}

const MiB = 1024 * 1024;
/** How long we let already-written output drain after the jail is dead. Never a wait on the guest. */
const DRAIN_GRACE_MS = 250;
const CPU_POLL_MS = 20;
let jailCounter = 0;

/**
 * Runs one program in a fresh jail and returns its verdict. Everything the guest
 * sends is bounded as it arrives; the status comes from exit status, cgroup
 * counters and our own timers.
 */
export async function superviseJail(env: JailEnvironment, run: JailRun): Promise<RunResult> {
  const { limits } = run;
  const name = `jail-${process.pid}-${++jailCounter}`;
  let cgroup: JailCgroup | null = null;
  try {
    if (env.cgroups.mode !== 'none') cgroup = env.cgroups.create(name, { memoryBytes: limits.memoryMiB * MiB, pids: limits.processes + 1 });
  } catch (error) {
    throw new PyboxError('E_JAIL_UNAVAILABLE', `cannot create the jail's cgroup: ${(error as Error).message}`, { cause: error });
  }

  let uid: number | undefined;
  if (env.uids) {
    const acquired = env.uids.acquire();
    if (acquired === null) {
      await cgroup?.destroy();
      throw new PyboxError('E_JAIL_UNAVAILABLE', 'no free sandbox uid: too many jails at once');
    }
    uid = acquired;
  }

  try {
    return await runOnce(env, run, cgroup, uid);
  } finally {
    const clean = cgroup ? await cgroup.destroy() : true;
    // A uid whose processes could not be reaped stays out of circulation.
    if (uid !== undefined && clean) env.uids?.release(uid);
  }
}

function runOnce(env: JailEnvironment, run: JailRun, cgroup: JailCgroup | null, uid: number | undefined): Promise<RunResult> {
  const { limits, facts } = { limits: run.limits, facts: env.facts };
  const argv = buildBwrapArgv({
    python: facts.python,
    bootstrapSource: env.bootstrapSource,
    usrSymlinks: facts.usrSymlinks,
    extraReadOnly: facts.extraReadOnly,
    procMasks: facts.procMasks,
    hasLdCache: facts.hasLdCache,
    workspaceBytes: limits.workspaceMiB * MiB,
    tmpBytes: limits.workspaceMiB * MiB,
  });
  const request = encodeRequest({ ...run.request, rlimits: guestRlimits(limits, cgroup !== null) });

  return new Promise<RunResult>((resolve) => {
    const started = performance.now();
    let child: ChildProcess;
    const stdio: ('pipe' | 'ignore' | number)[] = Array.from({ length: JAIL_FD_COUNT }, () => 'pipe' as const);
    for (const leaked of leakableFds()) {
      while (stdio.length <= leaked) stdio.push('ignore');
      if (leaked >= JAIL_FD_COUNT) stdio[leaked] = devNullFd();
    }
    try {
      child = spawn(facts.bwrap, argv, {
        stdio,
        env: {},
        ...(uid !== undefined ? { uid, gid: uid } : {}),
      });
    } catch (error) {
      resolve(internalError(`cannot start bwrap: ${(error as Error).message}`, 0));
      return;
    }
    const fd = (n: number) => child.stdio[n] as (Readable & Writable) | null;
    for (let n = 0; n < JAIL_FD_COUNT; n++) fd(n)?.on('error', () => undefined);

    let killReason: KillReason | null = null;
    let sandboxPid: number | null = null;
    let sandboxStart: string | null = null;
    let lastCpuMs = 0;
    const kill = (reason: KillReason | null) => {
      if (reason && !killReason) killReason = reason;
      child.kill('SIGKILL'); // bwrap's pid 1 gets SIGKILL with it (--die-with-parent), and so does its namespace
      cgroup?.killAll();
    };

    // Output: counted as it arrives, stored only up to the limit.
    const out = { stdout: [] as Buffer[], stderr: [] as Buffer[] };
    const truncated = { stdout: false, stderr: false };
    let outputTotal = 0;
    const collect = (stream: 'stdout' | 'stderr') => (chunk: Buffer) => {
      const room = limits.outputBytes - outputTotal;
      outputTotal += chunk.length;
      if (room > 0) out[stream].push(room >= chunk.length ? chunk : chunk.subarray(0, room));
      if (chunk.length > room) {
        truncated[stream] = true;
        kill('output_limit');
      }
    };
    fd(1)?.on('data', collect('stdout'));
    fd(2)?.on('data', collect('stderr'));

    const frames = new FrameDecoder({
      collect: run.request.collect,
      maxFrameBytes: limits.workspaceMiB * MiB * 2 + MiB,
      maxFiles: 1000,
      maxTotalFileBytes: limits.workspaceMiB * MiB,
    });
    fd(JAIL_FDS.ctrlOut)?.on('data', (chunk: Buffer) => frames.push(chunk));

    // bwrap tells us its sandbox pid; we put it into the cgroups before letting it exec.
    let info = '';
    fd(JAIL_FDS.info)?.on('data', (chunk: Buffer) => {
      if (sandboxPid !== null) return;
      info += chunk.toString('utf8');
      if (info.length > 4096) return kill(null);
      const match = /"child-pid"\s*:\s*(\d+)/.exec(info);
      if (!match) return;
      sandboxPid = Number(match[1]);
      sandboxStart = processStartTime(sandboxPid);
      try {
        cgroup?.attach(sandboxPid);
      } catch {
        return kill(null); // never run outside the limits we promised
      }
      fd(JAIL_FDS.block)?.end('x');
    });
    fd(JAIL_FDS.seccomp)?.end(env.seccomp);
    fd(JAIL_FDS.passwd)?.end(etcPasswd());
    fd(JAIL_FDS.group)?.end(etcGroup());
    fd(JAIL_FDS.ctrlIn)?.end(request);
    fd(0)?.end(run.stdin ?? undefined);

    const wallTimer = setTimeout(() => kill('timeout'), limits.timeoutMs);
    const cpuTimer = setInterval(() => {
      lastCpuMs = cgroup?.cpuUsageMs() ?? sampleCpuMs(sandboxPid) ?? lastCpuMs;
      if (lastCpuMs >= limits.cpuMs) kill('cpu_limit');
    }, CPU_POLL_MS);

    let spawnError: Error | null = null;
    child.on('error', (error) => {
      spawnError = error;
    });

    child.on('exit', (code, signal) => {
      const durationMs = performance.now() - started;
      clearTimeout(wallTimer);
      clearInterval(cpuTimer);
      cgroup?.killAll(); // the namespace is dying with its pid 1; this is belt and braces

      const finish = () => {
        for (let n = 0; n < JAIL_FD_COUNT; n++) fd(n)?.destroy();
        const stats = cgroup?.stats() ?? null;
        const cpuMs = stats?.cpuUsageMs ?? lastCpuMs;
        const report = frames.report;
        const verdict = decideVerdict({
          killReason,
          exit: { code, signal },
          started: report.ready,
          cgroup: stats,
          cpuMs,
          cpuLimitMs: limits.cpuMs,
          reportedErrorType: report.error?.type ?? null,
        });
        const stdout = Buffer.concat(out.stdout).toString('utf8');
        const stderr = Buffer.concat(out.stderr).toString('utf8');
        if (verdict.status === 'internal_error') {
          const why = spawnError ? String(spawnError.message) : stderr.trim().split('\n').slice(-3).join(' | ');
          resolve(internalError(`the jail did not start: ${why || `bwrap exited with ${code ?? signal}`}`, durationMs));
          return;
        }
        let error = verdict.status === 'error' || verdict.status === 'memory_limit' ? report.error : null;
        if (verdict.status === 'error' && !error) {
          error = { type: 'SystemExit', message: String(verdict.exitCode), traceback: '' };
        }
        resolve({
          status: verdict.status,
          exitCode: verdict.exitCode,
          signal: verdict.signal,
          stdout,
          stderr,
          truncated,
          durationMs: Math.round(durationMs * 1000) / 1000,
          cpuMs: Math.round(cpuMs * 1000) / 1000,
          memoryPeakBytes: stats?.memoryPeakBytes ?? null,
          error,
          files: verdict.status === 'ok' || verdict.status === 'error' ? report.files : {},
        });
      };
      // Give output already in the pipes a moment to drain; never wait for the guest to close them.
      const drainThenFinish = () => {
        const streams = [1, 2, JAIL_FDS.ctrlOut].map(fd).filter((s): s is Readable & Writable => s !== null && !s.readableEnded);
        if (streams.length === 0) return finish();
        let open = streams.length;
        const grace = setTimeout(finish, DRAIN_GRACE_MS);
        for (const s of streams) {
          s.once('close', () => {
            if (--open === 0) {
              clearTimeout(grace);
              finish();
            }
          });
        }
      };
      // The verdict is ready, but the run is over only when the whole jail is gone.
      void waitForJailGone(sandboxPid, sandboxStart).then(drainThenFinish);
    });
  });
}

function internalError(message: string, durationMs: number): RunResult {
  return {
    status: 'internal_error',
    exitCode: null,
    signal: null,
    stdout: '',
    stderr: `pybox: ${message}\n`,
    truncated: { stdout: false, stderr: false },
    durationMs,
    cpuMs: 0,
    memoryPeakBytes: null,
    error: null,
    files: {},
  };
}

/** Without cgroups: CPU of the sandbox's pid 1 and its children, sampled from /proc. */
function sampleCpuMs(pid: number | null): number | null {
  if (pid === null) return null;
  try {
    const ticksPerMs = 100 / 1000; // USER_HZ is 100 on Linux
    const stat = (p: number | string) => {
      const text = readFileSync(`/proc/${p}/stat`, 'utf8');
      const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
      // utime, stime, cutime, cstime are fields 14-17 (index 11-14 after the comm)
      return [11, 12, 13, 14].reduce((sum, i) => sum + Number(fields[i] ?? 0), 0);
    };
    let ticks = stat(pid);
    const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
    for (const c of children ? children.split(' ') : []) ticks += stat(c);
    return ticks / ticksPerMs;
  } catch {
    return null;
  }
}
