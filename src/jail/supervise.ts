import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import type { Readable, Writable } from 'node:stream';
import type { CollectMatcher } from '../guest/glob.js';
import { FrameDecoder, lengthPrefixed, type GuestRequest } from '../guest/protocol.js';
import { PyboxError } from '../sandbox/errors.js';
import type { Limits } from '../sandbox/limits.js';
import type { RunResult } from '../sandbox/result.js';
import type { HostFacts } from '../host/probe.js';
import { marshal, tuple } from '../zygote/marshal.js';
import { BOOTSTRAP_STUB, precompiledBootstrap } from '../zygote/precompile.js';
import { BWRAP_SPAWN_OPTIONS, bwrapInvocation, jailEtcFiles, JAIL_FD_COUNT, JAIL_FDS } from './bwrap-argv.js';
import type { CgroupRecycler, TakenCgroup } from './cgroup-recycler.js';
import { jailCgroupLimits, nextJailName, sinceBaseline, type CgroupBaseline, type CgroupLimits, type CgroupProvider, type JailCgroup } from './cgroups.js';
import { devNullFd, leakableFds } from './inherited-fds.js';
import { childPids, processStartTime, waitForJailGone } from './reap.js';
import { OutputTap, type OutputListener } from './output-tap.js';
import { guestRlimits, PER_UID_RLIMITS } from './rlimits.js';
import { feedStdin, type RunStdin } from './stdin-feed.js';
import type { UidPool } from './uid-pool.js';
import { decideVerdict, type KillReason } from './verdict.js';

export interface JailEnvironment {
  facts: HostFacts;
  cgroups: CgroupProvider;
  /** Present when we run as root: bwrap then runs as one of these uids. */
  uids: UidPool | null;
  seccomp: Buffer;
  /** The strict policy's filter (src/jail/seccomp/strict.ts), sent in each strict run's request. */
  strictSeccomp: Buffer;
  bootstrapSource: string;
  /** This Sandbox's bwrap-jail cgroups: made ahead for cold runs, removed after in the background (null without cgroups). */
  bwrapCgroups: CgroupRecycler | null;
}

export interface JailRun {
  limits: Limits;
  request: Omit<GuestRequest, 'rlimits'>;
  stdin: RunStdin | null;
  /** The program's output as it arrives (the bytes the result gets), or null. */
  onOutput: OutputListener | null;
  /** The request's collect patterns, compiled: what the host accepts back. */
  collect: CollectMatcher;
}

/** How a run got its jail: started for it, taken warm from the pool, or forked by a zygote. */
export type JailPath = 'cold' | 'pool' | 'zygote';

/** The host's ends of a jail's pipes. */
export interface JailIo {
  stdin: Writable | null;
  stdout: Readable | null;
  stderr: Readable | null;
  ctrlIn: Writable | null;
  ctrlOut: Readable | null;
}

/** How the jail's outermost process ended (bwrap, or the run's pid 1 under a zygote). */
export interface JailExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The jail could not be started at all (spawn failure). */
  error: Error | null;
}

/** A jail whose processes exist: everything a run needs from it, whatever made it. */
export interface LiveJail {
  readonly path: JailPath;
  readonly io: JailIo;
  readonly cgroup: JailCgroup | null;
  /** Processes of the jail itself in its cgroup, besides the program's: its pid limit is processes + this. */
  readonly ownPids: number;
  /** Size of its /workspace and /tmp tmpfs, fixed when the jail was made. */
  readonly workspaceMiB: number;
  /** Resolves once no process of the jail is left. */
  readonly ended: Promise<JailExit>;
  /**
   * Resolves once every process of the jail is in its cgroup: only then may the request,
   * and with it the user's code, go in. Rejects when that cannot be done (the jail is killed).
   */
  readonly contained: Promise<void>;
  readonly hasEnded: boolean;
  /** SIGKILLs the whole jail. */
  kill(): void;
  /** CPU of the jail from /proc, for hosts without cgroups. */
  sampleCpuMs(): number | null;
  /** After `ended`: removes its cgroup and gives back its uid. */
  release(): Promise<void>;
  /** Host pid of the jail's outermost process (bwrap, or the run's pid 1), while it lives. */
  readonly rootPid: number | null;
  /** Name of its cgroup directory (under the provider's parent), if any. */
  readonly cgroupName: string | null;
}

const MiB = 1024 * 1024;
/** How long we let already-written output drain after the jail is dead. Never a wait on the guest. */
const DRAIN_GRACE_MS = 250;
const CPU_POLL_MS = 20;
/** How long a kill waits for bwrap to report its sandbox pid before killing bwrap alone. */
const KILL_BEFORE_INFO_GRACE_MS = 2000;
/**
 * Run by /bin/sh as the jail's uid: `sh -c SCRIPT pybox-join <n> <n files> bwrap <argv>`.
 * The shell exports PWD on its own; bwrap, whose pid 1 the jail can read, starts with nothing.
 */
const SELF_JOIN_SCRIPT = 'unset PWD; n=$1; shift; while [ "$n" -gt 0 ]; do echo 0 > "$1" || exit 125; shift; n=$((n - 1)); done; exec "$@"';

/**
 * The request as the guest reads it: [u32 big-endian length][a marshalled dict] (see
 * read_request in src/guest/python/framing.py, which reads to the length, not to EOF).
 * `perUidProcessLimit: false` leaves the per-uid rlimits (PER_UID_RLIMITS) out: in a
 * zygote's user namespace the zygote and its other (idle) children share the run's uid, so
 * a per-uid count would not be the run's own; the run's cgroup (pids.max, mandatory for
 * zygotes) holds its processes exactly.
 */
export function encodeGuestRequest(run: JailRun, withCgroups: boolean, perUidProcessLimit = true): Buffer {
  const r = run.request;
  const rlimits = guestRlimits(run.limits, withCgroups).filter(([name]) => perUidProcessLimit || !PER_UID_RLIMITS.includes(name));
  return lengthPrefixed(
    marshal({
      code: r.code,
      filename: r.filename,
      argv: r.argv,
      rlimits: rlimits.map(([name, soft, hard]) => tuple(name, soft, hard)),
      files: r.files.map(([path, data]) => tuple(path, data)),
      collect: r.collect,
      maxFiles: r.maxFiles,
      maxFileBytes: r.maxFileBytes,
      policy: r.policy,
      seccomp: r.seccomp,
      extraPaths: r.extraPaths,
    }),
  );
}

/**
 * Runs one program in a fresh jail and returns its verdict. Everything the guest
 * sends is bounded as it arrives; the status comes from exit status, cgroup
 * counters and our own timers.
 */
export async function superviseJail(env: JailEnvironment, run: JailRun): Promise<RunResult> {
  // A new cgroup per run, made ahead when it can be: not one kept from an earlier bwrap
  // jail, as after each the pids controller keeps a charge with no process behind it
  // (seen on kernel 6.18, v1: pids.current grows by one per run), so its limit would shrink.
  const spares = env.bwrapCgroups;
  const cgroupLimits = bwrapCgroupLimits(env, run.limits);
  let taken: TakenCgroup | null = null;
  try {
    taken = spares ? await spares.take(cgroupLimits) : null;
  } catch (error) {
    throw new PyboxError('E_JAIL_UNAVAILABLE', `cannot create the jail's cgroup: ${(error as Error).message}`, { cause: error });
  }
  const jail = startBwrapJail(env, { limits: run.limits, path: 'cold', warm: false, cgroup: taken });
  try {
    return await superviseRun(jail, run, { withCgroups: jail.cgroup !== null, baseline: taken?.baseline ?? null });
  } finally {
    await jail.release();
    if (spares) setImmediate(() => spares.prepare(cgroupLimits)); // for the next cold run
  }
}

/**
 * Where the cgroup allows it, a bwrap jail is born inside: a shell, already running as the
 * jail's uid, moves itself in and execs bwrap (see selfJoinFiles). bwrap's outer process
 * is then in it too, besides its pid 1.
 */
function bornInside(env: JailEnvironment): boolean {
  return env.facts.shell !== null && env.cgroups.selfJoin;
}

/** bwrap's processes in a bwrap jail's cgroup: its pid 1, and its outer one when born inside. */
function bwrapOwnPids(env: JailEnvironment): number {
  return bornInside(env) ? 2 : 1;
}

/** The cgroup limits of a bwrap jail that runs a program with these limits. */
export function bwrapCgroupLimits(env: JailEnvironment, limits: Limits): CgroupLimits {
  return jailCgroupLimits(limits, bwrapOwnPids(env));
}

export interface BwrapJailOptions {
  /** Memory and pids for the cgroup, tmpfs sizes for the mounts. */
  limits: Limits;
  path: 'cold' | 'pool';
  /** A pooled jail: loads common modules while it waits, and does not keep Node alive while idle. */
  warm: boolean;
  /** A cgroup made for it ahead (see env.bwrapCgroups); else one is made now. */
  cgroup?: TakenCgroup | null;
}

/**
 * Starts bwrap with the guest bootstrap. The cgroup is created and the sandbox's pid 1
 * moved into it (between --info-fd and --block-fd) before anything runs in the jail.
 * Throws PyboxError when the cgroup or a uid cannot be had.
 */
export function startBwrapJail(env: JailEnvironment, options: BwrapJailOptions): LiveJail {
  const { limits, facts } = { limits: options.limits, facts: env.facts };
  let cgroup: JailCgroup | null = options.cgroup?.cgroup ?? null;
  let cgroupName = options.cgroup?.name ?? null;
  const joins = bornInside(env);
  const ownPids = bwrapOwnPids(env);
  try {
    if (!cgroup && env.cgroups.mode !== 'none') {
      cgroupName = nextJailName('jail');
      cgroup = env.cgroups.create(cgroupName, bwrapCgroupLimits(env, limits));
    }
  } catch (error) {
    throw new PyboxError('E_JAIL_UNAVAILABLE', `cannot create the jail's cgroup: ${(error as Error).message}`, { cause: error });
  }
  // Removed in the background where the Sandbox keeps track of it (env.bwrapCgroups), else now.
  const removeCgroup = (cg: JailCgroup): Promise<boolean> =>
    env.bwrapCgroups && cgroupName ? env.bwrapCgroups.retire(cgroupName, cg) : cg.destroy();
  let uid: number | undefined;
  if (env.uids) {
    const acquired = env.uids.acquire();
    if (acquired === null) {
      if (cgroup) void removeCgroup(cgroup);
      throw new PyboxError('E_JAIL_UNAVAILABLE', 'no free sandbox uid: too many jails at once');
    }
    uid = acquired;
  }

  const prefix = precompiledBootstrap(facts.python, env.bootstrapSource);
  const bwrap = bwrapInvocation({
    python: facts.python,
    bootstrapSource: prefix ? BOOTSTRAP_STUB : env.bootstrapSource,
    pythonArgs: options.warm ? ['warm'] : [],
    usrSymlinks: facts.usrSymlinks,
    extraReadOnly: facts.extraReadOnly,
    procMasks: facts.procMasks,
    hasLdCache: facts.ldCache !== null,
    workspaceBytes: limits.workspaceMiB * MiB,
    tmpBytes: limits.workspaceMiB * MiB,
  });

  let child: ChildProcess | null = null;
  let spawnError: Error | null = null;
  const stdio: ('pipe' | 'ignore' | number)[] = Array.from({ length: JAIL_FD_COUNT }, () => 'pipe' as const);
  for (const leaked of leakableFds()) {
    while (stdio.length <= leaked) stdio.push('ignore');
    if (leaked >= JAIL_FD_COUNT) stdio[leaked] = devNullFd();
  }
  let joinFiles: string[] | null = null;
  try {
    joinFiles = joins ? (cgroup?.selfJoinFiles(uid ?? null) ?? null) : null;
  } catch (error) {
    if (cgroup) void removeCgroup(cgroup);
    if (uid !== undefined) env.uids?.release(uid);
    throw new PyboxError('E_JAIL_UNAVAILABLE', `cannot prepare the jail's cgroup: ${(error as Error).message}`, { cause: error });
  }
  const [command, args] = joinFiles && facts.shell ? [facts.shell, ['-c', SELF_JOIN_SCRIPT, 'pybox-join', String(joinFiles.length), ...joinFiles, facts.bwrap, ...bwrap.argv]] : [facts.bwrap, bwrap.argv];
  try {
    child = spawn(command, args, { stdio, ...BWRAP_SPAWN_OPTIONS, ...(uid !== undefined ? { uid, gid: uid } : {}) });
  } catch (error) {
    spawnError = error as Error;
  }
  const fd = (n: number) => (child?.stdio[n] ?? null) as (Readable & Writable) | null;
  for (let n = 0; n < JAIL_FD_COUNT; n++) fd(n)?.on('error', () => undefined);

  let sandboxPid: number | null = null;
  let sandboxStart: string | null = null;
  let ended = false;
  let killRequested = false;
  let killTimer: NodeJS.Timeout | null = null;
  const bwrapRunning = () => child !== null && child.exitCode === null && child.signalCode === null;
  const kill = () => {
    killRequested = true;
    // Until bwrap has reported its sandbox pid, its child may still wait for bwrap to
    // write its uid map: killed then, that child is orphaned outside any cgroup and
    // waits forever. So a kill waits for the pid (bounded), then kills both.
    if (sandboxPid === null && bwrapRunning()) {
      killTimer ??= setTimeout(() => child?.kill('SIGKILL'), KILL_BEFORE_INFO_GRACE_MS);
      return;
    }
    child?.kill('SIGKILL'); // bwrap's pid 1 gets SIGKILL with it (--die-with-parent), and so does its namespace
    if (sandboxPid !== null && processStartTime(sandboxPid) === sandboxStart) {
      try {
        process.kill(sandboxPid, 'SIGKILL'); // and directly: a namespace dies with its pid 1
      } catch {
        /* gone */
      }
    }
    cgroup?.killAll();
  };

  // bwrap tells us its sandbox pid. A jail born in its cgroup is checked to be there and
  // goes on. Otherwise: a warm jail waits (--block-fd) until its pid 1 is in the cgroup,
  // so even Python's start-up is counted; a cold jail goes on at once: a move can wait for
  // an RCU grace period, which then overlaps Python's start-up. Its pid 1 and the
  // interpreter are moved meanwhile, and the request (the user's code) is written only
  // after both are in (`contained`). The bootstrap forks nothing before it has its
  // request, so no process of the jail is left outside.
  let info = '';
  let containedResolve!: () => void;
  let containedReject!: (e: Error) => void;
  const contained = new Promise<void>((resolve, reject) => {
    containedResolve = resolve;
    containedReject = reject;
  });
  contained.catch(() => undefined);
  fd(JAIL_FDS.info)?.on('data', (chunk: Buffer) => {
    if (sandboxPid !== null) return;
    info += chunk.toString('utf8');
    if (info.length > 4096) return kill();
    const match = /"child-pid"\s*:\s*(\d+)/.exec(info);
    if (!match) return;
    const pid = Number(match[1]);
    sandboxPid = pid;
    sandboxStart = processStartTime(pid);
    if (killRequested) return kill();
    const release = () => fd(JAIL_FDS.block)?.end('x');
    const fail = (error: Error) => {
      kill(); // never run outside the limits we promised
      containedReject(error);
    };
    if (!cgroup) {
      release();
      return containedResolve();
    }
    const cg = cgroup;
    if (joinFiles) {
      if (!cg.holds(pid)) return fail(new Error('the jail is not in its cgroup'));
      release();
      return containedResolve();
    }
    if (options.warm) {
      cg.attachAsync([pid]).then(() => {
        release();
        containedResolve();
      }, fail);
      return;
    }
    release();
    cg.attachAsync([pid])
      .then(() => cg.attachAsync(childPids(pid)))
      .then(containedResolve, fail);
  });
  fd(JAIL_FDS.args)?.end(bwrap.args);
  fd(JAIL_FDS.seccomp)?.end(env.seccomp);
  for (const [n, data] of jailEtcFiles(facts.ldCache)) fd(n)?.end(data);
  if (prefix) fd(JAIL_FDS.ctrlIn)?.write(prefix);

  const endedPromise = new Promise<JailExit>((resolve) => {
    if (!child) {
      ended = true;
      resolve({ code: null, signal: null, error: spawnError });
      return;
    }
    child.on('error', (error) => {
      spawnError = error;
    });
    child.on('exit', (code, signal) => {
      if (killTimer) clearTimeout(killTimer);
      cgroup?.killAll(); // the namespace is dying with its pid 1; this is belt and braces
      // The verdict is ready, but the jail is over only when the whole jail is gone.
      void waitForJailGone(sandboxPid, sandboxStart).then(() => {
        ended = true;
        resolve({ code, signal, error: spawnError });
      });
    });
  });

  if (options.warm && child) {
    child.unref();
    for (let n = 0; n < JAIL_FD_COUNT; n++) (fd(n) as unknown as { unref?: () => void } | null)?.unref?.();
  }

  let released = false;
  return {
    path: options.path,
    ownPids,
    io: { stdin: fd(0), stdout: fd(1), stderr: fd(2), ctrlIn: fd(JAIL_FDS.ctrlIn), ctrlOut: fd(JAIL_FDS.ctrlOut) },
    cgroup,
    contained,
    workspaceMiB: limits.workspaceMiB,
    ended: endedPromise,
    get hasEnded() {
      return ended;
    },
    kill,
    sampleCpuMs: () => sampleCpuMs(sandboxPid),
    get rootPid() {
      return ended ? null : (child?.pid ?? null);
    },
    cgroupName,
    async release() {
      if (released) return;
      released = true;
      for (let n = 0; n < JAIL_FD_COUNT; n++) fd(n)?.destroy();
      // Never told its pid (bwrap died or was killed early): look for its processes by uid.
      const clean = uid !== undefined && sandboxPid === null ? await killUidProcesses(uid) : true;
      // Called once no process of the jail is left: its cgroup is empty.
      const removed = cgroup ? removeCgroup(cgroup) : Promise.resolve(true);
      // A uid whose processes could not be reaped stays out of circulation.
      const releaseUid = (gone: boolean) => {
        if (uid !== undefined && clean && gone) env.uids?.release(uid);
      };
      if (env.bwrapCgroups) void removed.then(releaseUid);
      else releaseUid(await removed);
    },
  };
}

export interface SuperviseOptions {
  withCgroups: boolean;
  /** Counters of a warm jail's cgroup at the claim, to count the run alone. */
  baseline?: CgroupBaseline | null;
}

/**
 * Supervises one run in a live jail: sends the request, bounds output and frames as they
 * arrive, enforces wall clock and CPU, and decides the verdict once the jail is gone.
 */
export function superviseRun(jail: LiveJail, run: JailRun, options: SuperviseOptions): Promise<RunResult> {
  const { limits } = run;
  const { io, cgroup } = jail;
  const request = encodeGuestRequest(run, options.withCgroups, !(jail.path === 'zygote' && cgroup !== null));
  const baseline = options.baseline ?? null;

  return new Promise<RunResult>((resolve) => {
    const started = performance.now();
    let killReason: KillReason | null = null;
    let lastCpuMs = 0;
    const kill = (reason: KillReason | null) => {
      if (reason && !killReason) killReason = reason;
      jail.kill();
    };
    // Nothing that handles the guest's pipes may throw into Node's event loop: a failure
    // of ours ends the run as internal_error.
    let internalFailure: string | null = null;
    const guarded =
      <A extends unknown[]>(what: string, handler: (...args: A) => void) =>
      (...args: A): void => {
        try {
          handler(...args);
        } catch (error) {
          internalFailure ??= `${what}: ${(error as Error)?.message ?? String(error)}`;
          kill(null);
        }
      };

    // Output: counted as it arrives, stored only up to the limit.
    const out = { stdout: [] as Buffer[], stderr: [] as Buffer[] };
    const truncated = { stdout: false, stderr: false };
    const tap = new OutputTap(run.onOutput);
    let outputTotal = 0;
    const collect = (stream: 'stdout' | 'stderr') => (chunk: Buffer) => {
      const room = limits.outputBytes - outputTotal;
      outputTotal += chunk.length;
      if (room > 0) {
        const kept = room >= chunk.length ? chunk : chunk.subarray(0, room);
        out[stream].push(kept);
        tap.push(stream, kept);
      }
      if (chunk.length > room) {
        truncated[stream] = true;
        kill('output_limit');
      }
    };
    io.stdout?.on('data', guarded('reading stdout', collect('stdout')));
    io.stderr?.on('data', guarded('reading stderr', collect('stderr')));

    // The budget the guest was sent is the one the host holds it to.
    const frames = new FrameDecoder({ collect: run.collect, maxFiles: run.request.maxFiles, maxTotalFileBytes: run.request.maxFileBytes });
    // Once the decoder has what it may take (or the guest broke the protocol), fd 4 is
    // closed: the guest's next write fails, and it costs the host nothing more.
    io.ctrlOut?.on(
      'data',
      guarded('reading control frames', (chunk: Buffer) => {
        if (!frames.push(chunk)) io.ctrlOut?.destroy();
        if (frames.report.ready) tap.open();
      }),
    );
    let stopStdin = (): void => undefined;
    const send = () => {
      io.ctrlIn?.end(request);
      stopStdin = feedStdin(run.stdin, io.stdin);
    };
    jail.contained.then(send, () => undefined); // on failure the jail is already being killed

    const wallTimer = setTimeout(() => kill('timeout'), limits.timeoutMs);
    const cpuTimer = setInterval(
      guarded('sampling CPU', () => {
        const cg = cgroup?.cpuUsageMs();
        lastCpuMs = (cg !== undefined && cg !== null ? cg - (baseline?.cpuMs ?? 0) : null) ?? jail.sampleCpuMs() ?? lastCpuMs;
        if (lastCpuMs >= limits.cpuMs) kill('cpu_limit');
      }),
      CPU_POLL_MS,
    );

    void jail.ended.then(async (exit) => {
      const durationMs = performance.now() - started;
      clearTimeout(wallTimer);
      clearInterval(cpuTimer);
      stopStdin();
      // Its sockets (and network namespace) go with the run, not after its result.
      await cgroup?.socketsReleased();

      let finished = false;
      const finish = () => {
        if (finished) return;
        finished = true;
        try {
          decide();
        } catch (error) {
          resolve(internalError(`the verdict could not be made: ${(error as Error)?.message ?? String(error)}`, performance.now() - started));
        }
      };
      const decide = () => {
        for (const s of [io.stdin, io.stdout, io.stderr, io.ctrlIn, io.ctrlOut]) s?.destroy();
        if (internalFailure !== null) {
          resolve(internalError(`the supervisor failed: ${internalFailure}`, durationMs));
          return;
        }
        const rawStats = cgroup?.stats() ?? null;
        const stats = rawStats ? sinceBaseline(rawStats, baseline) : null;
        const cpuMs = stats?.cpuUsageMs ?? lastCpuMs;
        const report = frames.report;
        if (report.ready) tap.open(); // output that came in after the frame did
        const verdict = decideVerdict({
          killReason,
          exit: { code: exit.code, signal: exit.signal },
          started: report.ready,
          cgroup: stats,
          cpuMs,
          cpuLimitMs: limits.cpuMs,
          reportedErrorType: report.error?.type ?? null,
        });
        const stdout = Buffer.concat(out.stdout).toString('utf8');
        const stderr = Buffer.concat(out.stderr).toString('utf8');
        if (exit.error && report.ready && !killReason && verdict.status !== 'memory_limit' && verdict.status !== 'cpu_limit') {
          // The jail was lost under the program (its zygote died): pybox failed, not the program.
          resolve(internalError(`the jail was lost during the run: ${exit.error.message}`, durationMs));
          return;
        }
        if (verdict.status === 'internal_error') {
          const why = exit.error ? String(exit.error.message) : stderr.trim().split('\n').slice(-3).join(' | ');
          resolve(internalError(`the jail did not start: ${why || `${jail.path === 'zygote' ? 'its pid 1' : 'bwrap'} exited with ${exit.code ?? exit.signal}`}`, durationMs));
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
      const streams = [io.stdout, io.stderr, io.ctrlOut].filter((s): s is Readable => s !== null && !s.readableEnded && !s.destroyed);
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
    });
  });
}

export function internalError(message: string, durationMs: number): RunResult {
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

/** SIGKILLs every process of a jail uid; true when none is left. */
export async function killUidProcesses(uid: number): Promise<boolean> {
  for (let attempt = 0; attempt < 50; attempt++) {
    let found = 0;
    for (const name of readdirSync('/proc')) {
      if (!/^\d+$/.test(name)) continue;
      try {
        const status = readFileSync(`/proc/${name}/status`, 'utf8');
        if (Number(/^Uid:\s+(\d+)/m.exec(status)?.[1]) !== uid || /^State:\s+Z/m.test(status)) continue;
        found++;
        process.kill(Number(name), 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    if (found === 0) return true;
    await new Promise((r) => setTimeout(r, 10));
  }
  return false;
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
    for (const c of childPids(pid)) ticks += stat(c);
    return ticks / ticksPerMs;
  } catch {
    return null;
  }
}
