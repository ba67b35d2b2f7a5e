import type { ChildProcess } from 'node:child_process';
import { PyboxError } from '../../../core/errors.js';
import type { Limits } from '../../../core/limits.js';
import { BOOTSTRAP_STUB, precompiledBootstrap } from '../../../guest/precompile.js';
import { childPids, killUidProcesses, processStartTime, processTreeCpuMs, waitForJailGone } from '../../../host/processes.js';
import type { TakenCgroup } from '../cgroup/cgroup-recycler.js';
import { jailCgroupLimits, nextJailName, type CgroupBaseline, type CgroupLimits, type JailCgroup } from '../cgroup/cgroups.js';
import { bwrapInvocation, JAIL_FD_COUNT, JAIL_FDS } from './bwrap-argv.js';
import { jailFd, jailStdio, sendStartFiles, spawnJail, unrefJail } from './bwrap-spawn.js';
import type { JailEnvironment, JailExit, LiveJail } from './live-jail.js';

// A bwrap jail's lifetime, for the cold path and the pool: its cgroup and uid, the spawn,
// moving its pid 1 into the cgroup before anything runs, kill, and teardown.

const MiB = 1024 * 1024;
/** How long a kill waits for bwrap to report its sandbox pid before killing bwrap alone. */
const KILL_BEFORE_INFO_GRACE_MS = 2000;
/**
 * Run by /bin/sh as the jail's uid: `sh -c SCRIPT pybox-join <n> <n files> bwrap <argv>`.
 * The shell exports PWD on its own; bwrap, whose pid 1 the jail can read, starts with nothing.
 */
const SELF_JOIN_SCRIPT = 'unset PWD; n=$1; shift; while [ "$n" -gt 0 ]; do echo 0 > "$1" || exit 125; shift; n=$((n - 1)); done; exec "$@"';

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

/** A pooled jail's bootstrap arguments: `warm`, then its preload and the site paths to find it on. */
function warmArgs(env: JailEnvironment): string[] {
  const preload = env.preload ?? [];
  return preload.length ? ['warm', String(preload.length), ...preload, ...env.facts.sitePaths] : ['warm'];
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
    pythonArgs: options.warm ? warmArgs(env) : [],
    usrSymlinks: facts.usrSymlinks,
    alternatives: facts.alternatives,
    extraReadOnly: facts.extraReadOnly,
    procMasks: facts.procMasks,
    hasLdCache: facts.ldCache !== null,
    workspaceBytes: limits.workspaceMiB * MiB,
    tmpBytes: limits.workspaceMiB * MiB,
  });

  let child: ChildProcess | null = null;
  let spawnError: Error | null = null;
  const stdio = jailStdio();
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
    child = spawnJail(command, args, stdio, uid);
  } catch (error) {
    spawnError = error as Error;
  }
  const fd = (n: number) => jailFd(child, n);

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
  if (child) sendStartFiles(child, bwrap.args, facts.ldCache);
  fd(JAIL_FDS.seccomp)?.end(env.seccomp);
  if (prefix) fd(JAIL_FDS.ctrlIn)?.write(prefix);

  const endedPromise = new Promise<JailExit>((resolve) => {
    if (!child) {
      ended = true;
      resolve({ code: null, signal: null, error: spawnError });
      return;
    }
    child.on('error', (error) => {
      spawnError = error;
      // bwrap could not be started at all (EACCES, ENOENT...): Node says so with 'error'
      // and never emits 'exit'; nothing of the jail exists.
      if (child?.pid === undefined) {
        ended = true;
        resolve({ code: null, signal: null, error: new Error(`bwrap (${facts.bwrap}) could not be started: ${error.message}`) });
      }
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

  if (options.warm && child) unrefJail(child);

  let released = false;
  return {
    path: options.path,
    ownPids,
    io: { stdin: fd(0), stdout: fd(1), stderr: fd(2), ctrlIn: fd(JAIL_FDS.ctrlIn), ctrlOut: fd(JAIL_FDS.ctrlOut) },
    cgroup,
    contained,
    workspaceMiB: limits.workspaceMiB,
    ended: endedPromise,
    programExited: endedPromise,
    get hasEnded() {
      return ended;
    },
    kill,
    sampleCpuMs: () => processTreeCpuMs(sandboxPid),
    guestPid: () => (sandboxPid === null || ended ? null : (childPids(sandboxPid)[0] ?? null)),
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


/**
 * A bwrap jail started for one run or session, and what gives it back (`done`, once it
 * has ended). Its cgroup is a new one, made ahead when it can be: not one kept from an
 * earlier bwrap jail, as after each the pids controller keeps a charge with no process
 * behind it (seen on kernel 6.18, v1: pids.current grows by one per run), so its limit
 * would shrink.
 */
export async function startColdJail(env: JailEnvironment, limits: Limits): Promise<{ jail: LiveJail; baseline: CgroupBaseline | null; done: () => Promise<void> }> {
  const spares = env.bwrapCgroups;
  const cgroupLimits = bwrapCgroupLimits(env, limits);
  let taken: TakenCgroup | null = null;
  try {
    taken = spares ? await spares.take(cgroupLimits) : null;
  } catch (error) {
    throw new PyboxError('E_JAIL_UNAVAILABLE', `cannot create the jail's cgroup: ${(error as Error).message}`, { cause: error });
  }
  const jail = startBwrapJail(env, { limits, path: 'cold', warm: false, cgroup: taken });
  return {
    jail,
    baseline: taken?.baseline ?? null,
    done: async () => {
      await jail.release();
      if (spares) setImmediate(() => spares.prepare(cgroupLimits)); // for the next cold jail
    },
  };
}
