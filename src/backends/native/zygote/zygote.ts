import type { ChildProcess } from 'node:child_process';
import { setPriority } from 'node:os';
import type { Readable, Writable } from 'node:stream';
import { bwrapInvocation, JAIL_FD_COUNT, JAIL_FDS, PTYS_PER_RUN } from '../jail/bwrap-argv.js';
import { jailFd, jailStdio, sendStartFiles, spawnJail, unrefJail } from '../jail/bwrap-spawn.js';
import { jailCgroupLimits, type JailCgroup } from '../cgroup/cgroups.js';
import { killUidProcesses, processStartTime, waitForJailGone } from '../../../host/processes.js';
import { mayRestorePriority } from '../../../host/priority.js';
import type { JailEnvironment, JailExit } from '../jail/live-jail.js';
import { CgroupRecycler } from '../cgroup/cgroup-recycler.js';
import { lengthPrefixed } from '../../../guest/protocol.js';
import { keepAlive } from '../jail/keepalive.js';
import { CgroupSlots, type CgroupSlot } from './cgroup-slots.js';
import { marshal } from '../../../guest/marshal.js';
import { BOOTSTRAP_STUB, precompiledBootstrap } from '../../../guest/precompile.js';
import { zygoteSeccompFilter } from './zygote-seccomp.js';
import { EventLines, forkCommand, type ZygoteEvent } from './line-protocol.js';
import { closeSafe, setUpChild, ZYGOTE_CHILD_OWN_PIDS, type ChildSetUp, type ZygoteChild, type ZygoteChildLimits } from './child.js';

const MiB = 1024 * 1024;
/** tmpfs mount points of the zygote's own jail; each run mounts its own over them. */
const ZYGOTE_TMPFS_BYTES = 1024 * 1024;
/** The zygote's /tmp while it imports a preload (matplotlib's font cache: tens of KiB); read-only after. */
const PRELOAD_TMP_BYTES = 16 * MiB;
/** Only against a hang: under emulation (the VM suites) and load a zygote took over 20 s to start. */
const START_TIMEOUT_MS = 60_000;
/** More start-up time for a zygote that imports a preload (a data stack takes seconds on a loaded host). */
const PRELOAD_START_EXTRA_MS = 60_000;
/** Empty cgroups a zygote keeps for its next children. */
const MAX_FREE_CGROUPS = 8;
/** Nice value of the zygote and of the children it makes, until one is claimed. */
const BACKGROUND_NICE = 10;

export type { ZygoteChild, ZygoteChildLimits } from './child.js';

interface PendingSpawn {
  resolve: (value: { pid: number; fds: number[] }) => void;
  reject: (error: Error) => void;
}

/**
 * One fork-server: a bwrap jail running the bootstrap in zygote mode (see the long
 * comment in src/guest/python/fork_server.py). It is started once, as its own pool uid, and
 * forks one fresh jail per run. It never sees a request: the host writes requests
 * straight into the child's pipes.
 */
export class Zygote {
  private child: ChildProcess | null = null;
  private hostPid: number | null = null;
  private startTime: string | null = null;
  private readonly events = new EventLines();
  private nextId = 0;
  private readonly spawns = new Map<string, PendingSpawn>();
  private readonly exits = new Map<string, (exit: JailExit) => void>();
  private uid: number | undefined;
  private alive = false;
  private stopped = false;
  readonly ended: Promise<void>;
  private resolveEnded!: () => void;
  /** Set while one of its children runs a program: one run at a time per zygote (see pool.ts). */
  busy = false;
  lastUsed = Date.now();

  private constructor(private readonly env: JailEnvironment) {
    this.ended = new Promise((r) => (this.resolveEnded = r));
    this.cgroups = new CgroupRecycler(env.cgroups, 'zygote', MAX_FREE_CGROUPS);
    this.slots = new CgroupSlots(env.cgroups);
  }

  get isAlive(): boolean {
    return this.alive;
  }

  get pid(): number | null {
    return this.hostPid;
  }

  /** Cgroups of this zygote's children and its slots, from their creation until removed. */
  get childCgroups(): ReadonlySet<string> {
    return new Set([...this.cgroups.inUse, ...this.slots.names]);
  }
  /** Cgroups its children join by themselves (see cgroup-slots.ts). */
  private readonly slots: CgroupSlots;
  /** Host pids of this zygote's live children (each run's pid 1). */
  private readonly childPids = new Set<number>();
  /** Empty cgroups of finished children, kept for the next ones. */
  private readonly cgroups: CgroupRecycler;

  /** Host pids of the zygote's own processes (bwrap and the server), not of its children. */
  get ownPids(): number[] {
    const pids: number[] = [];
    if (this.child?.pid !== undefined && this.child.exitCode === null && this.child.signalCode === null) pids.push(this.child.pid);
    if (this.hostPid !== null && processStartTime(this.hostPid) === this.startTime) pids.push(this.hostPid);
    return pids;
  }

  /** Starts a zygote and waits until it serves; rejects with the reason it cannot. */
  static async start(env: JailEnvironment): Promise<Zygote> {
    const z = new Zygote(env);
    Zygote.booting.add(z);
    try {
      await keepAlive(z.boot());
    } finally {
      Zygote.booting.delete(z);
    }
    return z;
  }

  /** Zygotes still starting (their processes exist; no run has them yet). */
  static readonly booting = new Set<Zygote>();

  /** Host pids of the zygote's bwrap, while it starts or runs. */
  get bwrapPid(): number | null {
    return this.child?.pid ?? null;
  }

  private boot(): Promise<void> {
    const { env } = this;
    const facts = env.facts;
    if (env.cgroups.mode === 'none') return Promise.reject(new Error('the zygote needs cgroups: each run must be in its own cgroup before its code runs'));
    const prefix = precompiledBootstrap(facts.python, env.bootstrapSource);
    if (!prefix) return Promise.reject(new Error(`cannot precompile the bootstrap with ${facts.python}`));
    if (env.uids) {
      const uid = env.uids.acquire();
      if (uid === null) return Promise.reject(new Error('no free sandbox uid for a zygote'));
      this.uid = uid;
    }
    const bwrap = bwrapInvocation({
      python: facts.python,
      bootstrapSource: BOOTSTRAP_STUB,
      pythonArgs: ['zygote'],
      usrSymlinks: facts.usrSymlinks,
      alternatives: facts.alternatives,
      extraReadOnly: facts.extraReadOnly,
      procMasks: facts.procMasks,
      hasLdCache: facts.ldCache !== null,
      workspaceBytes: ZYGOTE_TMPFS_BYTES,
      tmpBytes: ZYGOTE_TMPFS_BYTES,
      zygote: true,
    });
    const stdio = jailStdio();
    stdio[0] = 'ignore';
    stdio[1] = 'ignore';
    stdio[JAIL_FDS.block] = 'ignore';
    stdio[JAIL_FDS.seccomp] = 'ignore';
    const { slotFds, hostFds } = this.slots.open(stdio);
    let stderr = '';
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      const fail = (error: Error) => {
        if (!settled) {
          settled = true;
          reject(error);
        }
        this.stop();
      };
      let child: ChildProcess;
      try {
        child = spawnJail(facts.bwrap, bwrap.argv, stdio, this.uid);
      } catch (error) {
        hostFds.forEach(closeSafe);
        this.releaseUid(true);
        void this.slots.close().finally(() => this.resolveEnded());
        reject(error as Error);
        return;
      }
      hostFds.forEach(closeSafe); // the zygote has its own copies
      this.child = child;
      unrefJail(child);
      const fd = (n: number) => jailFd(child, n);
      const startTimeout = START_TIMEOUT_MS + (env.preload?.length ? PRELOAD_START_EXTRA_MS : 0);
      const timer = setTimeout(() => fail(new Error(`the zygote did not start within ${startTimeout} ms: ${stderr.trim()}`)), startTimeout);
      timer.unref();
      fd(2)?.on('data', (c: Buffer) => {
        if (stderr.length < 4096) stderr += c.toString('utf8');
      });
      let info = '';
      fd(JAIL_FDS.info)?.on('data', (chunk: Buffer) => {
        if (this.hostPid !== null) return;
        info += chunk.toString('utf8');
        const m = /"child-pid"\s*:\s*(\d+)/.exec(info);
        if (m) {
          this.hostPid = Number(m[1]);
          this.startTime = processStartTime(this.hostPid);
          if (this.stopped) this.killNow();
        }
      });
      sendStartFiles(child, bwrap.args, facts.ldCache);
      const config = marshal({
        seccomp: env.seccomp,
        zygoteSeccomp: zygoteSeccompFilter(),
        // Non-dumpable, its /proc entries belong to host root: only a root host can still
        // open the children's pipes through /proc/<zygote>/fd (see SECURITY.md, "The zygote").
        dumpable: env.uids === null,
        procMasks: { files: facts.procMasks.files, dirs: facts.procMasks.dirs },
        slots: slotFds,
        ptys: PTYS_PER_RUN,
        backgroundNice: BACKGROUND_NICE,
        preload: [...(env.preload ?? [])],
        sitePaths: facts.sitePaths,
        tmpBytes: PRELOAD_TMP_BYTES,
      });
      fd(JAIL_FDS.ctrlIn)?.write(Buffer.concat([prefix, lengthPrefixed(config)]));
      // The zygote's event lines. It runs no user code, but its jail is not trusted with
      // the host's process either: a line too long, or an event we fail on, stops it.
      fd(JAIL_FDS.ctrlOut)?.on('data', (chunk: Buffer) => {
        try {
          onLines(chunk);
        } catch (error) {
          fail(new Error(`the zygote's events could not be read: ${(error as Error)?.message ?? String(error)}`));
        }
      });
      const onLines = (chunk: Buffer) => {
        for (const event of this.events.push(chunk)) {
          if (event.kind === 'hello') {
            clearTimeout(timer);
            if (this.hostPid === null) return fail(new Error('the zygote started but bwrap did not report its pid'));
            this.alive = true;
            settled = true;
            // Making jails is background work: it runs at a lower priority than runs do.
            // A claimed child is set back to normal priority (promote()), before its code
            // runs; a supervisor that cannot set it back makes them at normal priority.
            if (mayRestorePriority()) {
              try {
                setPriority(this.hostPid, BACKGROUND_NICE);
              } catch {
                /* not permitted: everything runs at one priority */
              }
            }
            resolve();
          } else this.onEvent(event);
        }
      };
      const gone = (spawnFailure: string | null) => {
        clearTimeout(timer);
        this.alive = false;
        void waitForJailGone(this.hostPid, this.startTime).then((gone) => {
          for (const [, p] of this.spawns) p.reject(new Error('the zygote exited'));
          this.spawns.clear();
          // Its namespace, and every child in it, died with it.
          for (const [, done] of this.exits) done({ code: null, signal: 'SIGKILL', error: new Error('its zygote exited') });
          this.exits.clear();
          if (this.hostPid === null && this.uid !== undefined) {
            const uid = this.uid;
            this.uid = undefined;
            void killUidProcesses(uid).then((clean) => clean && this.env.uids?.release(uid));
          } else this.releaseUid(gone);
          if (!settled) fail(new Error(spawnFailure ?? `the zygote exited during start-up: ${stderr.trim().split('\n').slice(-3).join(' | ') || 'no message'}`));
          void Promise.all([this.cgroups.close(), this.slots.close()]).finally(() => this.resolveEnded());
        });
      };
      child.on('exit', () => gone(null));
      // bwrap could not be started at all (EACCES, ENOENT...): Node emits 'error' and never 'exit'.
      child.on('error', (error) => {
        if (child.pid === undefined) gone(`bwrap (${facts.bwrap}) could not be started: ${error.message}`);
      });
    });
  }

  /** Its slot is reused once empty, unless the zygote is stopping. */
  private releaseSlot(slot: CgroupSlot): void {
    this.slots.release(slot, () => !this.stopped);
  }

  /** The cgroup of a child whose namespace is gone: its slot, or a kept cgroup, for the next children. */
  private async giveBackCgroup(slot: CgroupSlot | null, name: string, cgroup: JailCgroup | null): Promise<void> {
    if (slot) this.releaseSlot(slot);
    else if (cgroup) await this.cgroups.giveBack(name, cgroup);
  }

  private releaseUid(clean: boolean): void {
    if (this.uid !== undefined && clean) this.env.uids?.release(this.uid);
    this.uid = undefined;
  }

  private onEvent(event: Exclude<ZygoteEvent, { kind: 'hello' }>): void {
    const p = this.spawns.get(event.id);
    this.spawns.delete(event.id);
    if (event.kind === 'forked') p?.resolve({ pid: event.pid, fds: event.fds });
    else if (event.kind === 'fork-failed') p?.reject(new Error(`the zygote could not fork: ${event.message}`));
    else {
      const done = this.exits.get(event.id);
      this.exits.delete(event.id);
      p?.reject(new Error('the child exited before it was set up'));
      done?.(event.exit);
    }
  }

  private command(line: string): void {
    (this.child?.stdio[JAIL_FDS.ctrlIn] as Writable | null)?.write(line + '\n');
  }

  /**
   * Forks a fresh jail: new pid, mount, net, ipc, uts and cgroup namespaces, its own
   * tmpfs, in a new cgroup with these limits before its program exists. Resolves when
   * the child is set up and waits for its request.
   */
  fork(limits: ZygoteChildLimits): Promise<ZygoteChild> {
    return keepAlive(this.forkChild(limits));
  }

  private async forkChild(limits: ZygoteChildLimits): Promise<ZygoteChild> {
    if (!this.alive || this.hostPid === null) throw new Error('the zygote is not running');
    const zhost = this.hostPid;
    const id = String(++this.nextId);
    let exitResolve!: (exit: JailExit) => void;
    let hasEnded = false;
    const ended = new Promise<JailExit>((r) => {
      exitResolve = (exit) => {
        hasEnded = true;
        r(exit);
      };
    });
    this.exits.set(id, exitResolve);
    const spawned = new Promise<{ pid: number; fds: number[] }>((resolve, reject) => this.spawns.set(id, { resolve, reject }));
    // The zygote may exit while a slot is being readied, before `spawned` is awaited below.
    spawned.catch(() => undefined);
    const cgroupLimits = jailCgroupLimits(limits, ZYGOTE_CHILD_OWN_PIDS);
    const slot = await this.slots.take(cgroupLimits);
    const bytes = limits.workspaceMiB * MiB;
    this.command(forkCommand(id, bytes, bytes, slot?.index ?? -1));
    let started: { pid: number; fds: number[] };
    try {
      started = await spawned;
    } catch (error) {
      if (slot) void ended.then(() => this.releaseSlot(slot)); // R may still be on its way out
      throw error;
    }
    return this.setUpChild({ id, limits, cgroupLimits, ...started, zhost, ended, isEnded: () => hasEnded, slot });
  }

  /** Opens the child's pipes, puts it into its cgroup, and lets it go on (child.ts). */
  private setUpChild(c: ChildSetUp): Promise<ZygoteChild> {
    return setUpChild(
      {
        knownChildren: this.childPids,
        command: (line) => this.command(line),
        takeCgroup: (limits) => this.cgroups.take(limits),
        giveBackCgroup: (slot, name, cgroup) => this.giveBackCgroup(slot, name, cgroup),
      },
      c,
    );
  }

  /** Kills the zygote and, with its namespace, every child it made. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.alive = false;
    // Before bwrap reports the zygote's pid its child may still wait for its uid map:
    // killed then, it would be orphaned. Wait for the pid (bounded), as for jails.
    const running = this.child !== null && this.child.exitCode === null && this.child.signalCode === null;
    if (this.hostPid === null && running) {
      setTimeout(() => this.killNow(), 2000).unref();
      return;
    }
    this.killNow();
  }

  private killNow(): void {
    this.child?.kill('SIGKILL');
    if (this.hostPid !== null && processStartTime(this.hostPid) === this.startTime) {
      try {
        process.kill(this.hostPid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    for (let n = 0; n < JAIL_FD_COUNT; n++) (this.child?.stdio[n] as Readable | null)?.destroy();
  }
}
