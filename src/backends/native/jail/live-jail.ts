import type { Readable, Writable } from 'node:stream';
import type { CollectMatcher } from '../../../core/glob.js';
import type { HostCallHandler, InputHandler } from '../../../core/hooks.js';
import type { Limits } from '../../../core/limits.js';
import type { DisplayListener } from '../../../core/outputs.js';
import type { OutputListener } from '../../../core/output.js';
import type { RunStdin } from '../../../core/prepared-run.js';
import type { GuestRequestBody } from '../../../guest/request.js';
import type { HostFacts } from '../../../host/probe.js';
import type { CgroupRecycler } from '../cgroup/cgroup-recycler.js';
import type { CgroupProvider, JailCgroup } from '../cgroup/cgroups.js';
import type { UidPool } from './uid-pool.js';

// What every source of jails (cold bwrap, the pool, a zygote) hands the supervisor: a
// live jail, and the run it is to serve.

export interface JailEnvironment {
  facts: HostFacts;
  cgroups: CgroupProvider;
  /** Present when we run as root: bwrap then runs as one of these uids. */
  uids: UidPool | null;
  seccomp: Buffer;
  /** The strict policy's filter (../seccomp/strict.ts), sent in each strict run's request. */
  strictSeccomp: Buffer;
  bootstrapSource: string;
  /** This Sandbox's bwrap-jail cgroups: made ahead for cold runs, removed after in the background (null without cgroups). */
  bwrapCgroups: CgroupRecycler | null;
  /** Modules every jail of this Sandbox imports before its program (SandboxOptions.preload). */
  preload?: readonly string[];
}

export interface JailRun {
  limits: Limits;
  request: GuestRequestBody;
  stdin: RunStdin | null;
  /** The program's output as it arrives (the bytes the result gets), or null. */
  onOutput: OutputListener | null;
  /** The request's collect patterns, compiled: what the host accepts back. */
  collect: CollectMatcher;
  /** Answers the program's input() (the request then has hostInput), or null. */
  onInput?: InputHandler | null;
  /** Each rich output as it arrives, or null. */
  onDisplay?: DisplayListener | null;
  /** Answers the program's host calls (the request names the functions), or null. */
  onHostCall?: HostCallHandler | null;
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
   * Resolves, with the program's exit, once no process that ran the user's code is left
   * and all are reaped; only the jail's own pid 1 may still be on its way out (and its
   * namespaces' teardown): `ended` follows. A jail whose pid 1 cannot tell: `ended` itself.
   */
  readonly programExited: Promise<JailExit>;
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
  /**
   * Host pid of the guest's Python (the only child of the jail's pid 1 until the program
   * forks), read from the kernel; null when there is none. A session reads it once its
   * guest is ready, before any cell ran, to interrupt cells with SIGINT.
   */
  guestPid(): number | null;
  /** After `ended`: removes its cgroup and gives back its uid. */
  release(): Promise<void>;
  /** Host pid of the jail's outermost process (bwrap, or the run's pid 1), while it lives. */
  readonly rootPid: number | null;
  /** Name of its cgroup directory (under the provider's parent), if any. */
  readonly cgroupName: string | null;
}

