import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, constants as fsc, openSync, readFileSync, readSync, writeSync } from 'node:fs';
import { Socket } from 'node:net';
import { constants as osConstants, setPriority } from 'node:os';
import type { Readable, Writable } from 'node:stream';
import { BWRAP_SPAWN_OPTIONS, bwrapInvocation, jailEtcFiles, JAIL_FD_COUNT, JAIL_FDS, PTYS_PER_RUN } from '../jail/bwrap-argv.js';
import { jailCgroupLimits, type CgroupLimits, type JailCgroup } from '../cgroup/cgroups.js';
import { devNullFd, leakableFds, O_CLOEXEC } from '../jail/inherited-fds.js';
import { childPids, killUidProcesses, processStartTime, waitForJailGone } from '../../../host/processes.js';
import type { JailEnvironment, JailExit, LiveJail } from '../jail/live-jail.js';
import { CgroupRecycler } from '../cgroup/cgroup-recycler.js';
import { lengthPrefixed, WARM_FRAME } from '../../../guest/protocol.js';
import { keepAlive } from '../jail/keepalive.js';
import { CgroupSlots, type CgroupSlot } from './cgroup-slots.js';
import { marshal } from '../../../guest/marshal.js';
import { BOOTSTRAP_STUB, precompiledBootstrap } from '../../../guest/precompile.js';
import { zygoteSeccompFilter } from './zygote-seccomp.js';

const MiB = 1024 * 1024;
/** tmpfs mount points of the zygote's own jail; each run mounts its own over them. */
const ZYGOTE_TMPFS_BYTES = 1024 * 1024;
const START_TIMEOUT_MS = 20_000;
/** Empty cgroups a zygote keeps for its next children. */
const MAX_FREE_CGROUPS = 8;
/** R, the pid 1 of each run (G is the program). */
const ZYGOTE_CHILD_OWN_PIDS = 1;
/** Nice value of the zygote and of the children it makes, until one is claimed. */
const BACKGROUND_NICE = 10;
/** Longer than any event the zygote writes ("P id pid fd fd fd fd fd fd"). */
const MAX_EVENT_LINE_CHARS = 4096;

export interface ZygoteChildLimits {
  workspaceMiB: number;
  memoryMiB: number;
  processes: number;
}

/** A forked, not yet claimed run: its jail (pid 1 + G waiting for its request). */
export interface ZygoteChild extends LiveJail {
  readonly path: 'zygote';
  readonly zygote: Zygote;
  /** Host pid of the run's pid 1. */
  readonly hostPid: number;
  /** Back to normal priority (the zygote makes children at a lower one): once warm, or at the claim. */
  promote(): void;
  /**
   * Resolves once the child is set up and waits for its request (its warm frame), before
   * any program ran in it; never, if it is claimed or ends first and its frame comes late.
   */
  readonly warm: Promise<void>;
  /**
   * Whether its pid 1 is in its cgroup. A child that moves itself in (a slot) is checked
   * once warm, before a run is sent to it; a child the host moved in always is.
   */
  inCgroup(): boolean;
  /** Its pid 1 moved itself into its cgroup (a slot), rather than the host moving it. */
  readonly joinedItself: boolean;
}

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
  private buffer = '';
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
    const stdio: ('pipe' | 'ignore' | number)[] = Array.from({ length: JAIL_FD_COUNT }, () => 'pipe' as const);
    for (const leaked of leakableFds()) {
      while (stdio.length <= leaked) stdio.push('ignore');
      if (leaked >= JAIL_FD_COUNT) stdio[leaked] = devNullFd();
    }
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
        child = spawn(facts.bwrap, bwrap.argv, { stdio, ...BWRAP_SPAWN_OPTIONS, ...(this.uid !== undefined ? { uid: this.uid, gid: this.uid } : {}) });
      } catch (error) {
        hostFds.forEach(closeSafe);
        this.releaseUid(true);
        void this.slots.close().finally(() => this.resolveEnded());
        reject(error as Error);
        return;
      }
      hostFds.forEach(closeSafe); // the zygote has its own copies
      this.child = child;
      child.unref();
      const fd = (n: number) => child.stdio[n] as (Readable & Writable) | null;
      for (let n = 0; n < JAIL_FD_COUNT; n++) {
        const s = fd(n);
        s?.on('error', () => undefined);
        (s as unknown as { unref?: () => void } | null)?.unref?.();
      }
      const timer = setTimeout(() => fail(new Error(`the zygote did not start within ${START_TIMEOUT_MS} ms: ${stderr.trim()}`)), START_TIMEOUT_MS);
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
      fd(JAIL_FDS.args)?.end(bwrap.args);
      for (const [n, data] of jailEtcFiles(facts.ldCache)) fd(n)?.end(data);
      const config = marshal({
        seccomp: env.seccomp,
        zygoteSeccomp: zygoteSeccompFilter(),
        // Non-dumpable, its /proc entries belong to host root: only a root host can still
        // open the children's pipes through /proc/<zygote>/fd (see SECURITY.md, "The zygote").
        dumpable: env.uids === null,
        procMasks: { files: facts.procMasks.files, dirs: facts.procMasks.dirs },
        slots: slotFds,
        ptys: PTYS_PER_RUN,
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
        this.buffer += chunk.toString('utf8');
        if (this.buffer.length > MAX_EVENT_LINE_CHARS) return fail(new Error('the zygote wrote an event line too long'));
        let nl: number;
        while ((nl = this.buffer.indexOf('\n')) >= 0) {
          const line = this.buffer.slice(0, nl);
          this.buffer = this.buffer.slice(nl + 1);
          if (line.startsWith('hello ')) {
            clearTimeout(timer);
            if (this.hostPid === null) return fail(new Error('the zygote started but bwrap did not report its pid'));
            this.alive = true;
            settled = true;
            // Making jails is background work: it runs at a lower priority than runs do.
            // A claimed child is set back to normal priority (promote()), before its code runs.
            try {
              setPriority(this.hostPid, BACKGROUND_NICE);
            } catch {
              /* not permitted: everything runs at one priority */
            }
            resolve();
          } else this.onEvent(line);
        }
      };
      child.on('exit', () => {
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
          if (!settled) fail(new Error(`the zygote exited during start-up: ${stderr.trim().split('\n').slice(-3).join(' | ') || 'no message'}`));
          void Promise.all([this.cgroups.close(), this.slots.close()]).finally(() => this.resolveEnded());
        });
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

  private onEvent(line: string): void {
    const [kind, id, ...rest] = line.split(' ');
    if (id === undefined) return;
    if (kind === 'P') {
      const p = this.spawns.get(id);
      this.spawns.delete(id);
      const [pid, ...fds] = rest.map(Number);
      p?.resolve({ pid: pid as number, fds });
    } else if (kind === 'E') {
      const p = this.spawns.get(id);
      this.spawns.delete(id);
      p?.reject(new Error(`the zygote could not fork: ${rest.join(' ')}`));
    } else if (kind === 'X') {
      const status = Number(rest[0]);
      const done = this.exits.get(id);
      this.exits.delete(id);
      const p = this.spawns.get(id);
      if (p) {
        this.spawns.delete(id);
        p.reject(new Error('the child exited before it was set up'));
      }
      done?.(decodeWaitStatus(status));
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
    this.command(`S ${id} ${bytes} ${bytes} ${slot?.index ?? -1}`);
    let started: { pid: number; fds: number[] };
    try {
      started = await spawned;
    } catch (error) {
      if (slot) void ended.then(() => this.releaseSlot(slot)); // R may still be on its way out
      throw error;
    }
    return this.setUpChild({ id, limits, cgroupLimits, ...started, zhost, ended, isEnded: () => hasEnded, slot });
  }

  /** Opens the child's pipes, puts it into its cgroup, and lets it go on (the gate). */
  private async setUpChild(c: {
    id: string;
    limits: ZygoteChildLimits;
    cgroupLimits: CgroupLimits;
    pid: number;
    fds: number[];
    zhost: number;
    ended: Promise<JailExit>;
    isEnded: () => boolean;
    slot: CgroupSlot | null;
  }): Promise<ZygoteChild> {
    const { id, limits, cgroupLimits, pid, fds, zhost, ended, isEnded, slot } = c;
    let cgroup: JailCgroup | null = null;
    let cgroupName = '';
    const opened: number[] = [];
    let hostPid = 0;
    try {
      // Set-up runs while other children serve runs: it goes in short steps, between which
      // their I/O (output, exits) is handled, instead of one block of ~0.5 ms.
      await yieldToIo();
      hostPid = findChildByNsPid(zhost, pid, this.childPids);
      this.childPids.add(hostPid);
      void ended.then(() => this.childPids.delete(hostPid));
      const flags = [
        fsc.O_WRONLY, // stdin
        fsc.O_RDONLY, // stdout
        fsc.O_RDONLY, // stderr
        fsc.O_WRONLY, // ctrl-in
        fsc.O_RDONLY, // ctrl-out
        fsc.O_WRONLY, // gate
      ];
      fds.forEach((n, i) => opened.push(openSync(`/proc/${zhost}/fd/${n}`, (flags[i] as number) | fsc.O_NONBLOCK | O_CLOEXEC)));
      this.command(`C ${id}`);
      await yieldToIo();
      if (slot) {
        ({ name: cgroupName, cgroup } = slot); // R moves itself in: no gate
      } else {
        ({ name: cgroupName, cgroup } = await this.cgroups.take(cgroupLimits)); // a kept one, or new
        await cgroup.attachAsync([hostPid]);
        writeSync(opened[5] as number, 'g'); // R may now fork the run's process, inside the cgroup
      }
      closeSync(opened.pop() as number);
    } catch (error) {
      const why = readWhatIsThere(opened[2]);
      if (why) (error as Error).message += ` (${why.trim().split('\n').slice(-2).join(' | ')})`;
      if (hostPid) safeKill(hostPid);
      for (const f of opened) closeSafe(f);
      this.command(`C ${id}`);
      await ended;
      await this.giveBackCgroup(slot, cgroupName, cgroup);
      throw error;
    }
    const pipe = (n: number, readable: boolean) => {
      const s = new Socket({ fd: opened[n] as number, readable, writable: !readable });
      s.on('error', () => undefined);
      s.unref();
      return s;
    };
    const io = { stdin: pipe(0, false), stdout: pipe(1, true), stderr: pipe(2, true), ctrlIn: pipe(3, false), ctrlOut: pipe(4, true) };
    // The first thing G writes is its warm frame, before its request (nothing else can come
    // before it). Claimed earlier, the run's frame decoder sees it too and ignores it.
    const warm = new Promise<void>((resolve) => io.ctrlOut.once('data', (chunk: Buffer) => chunk.equals(WARM_FRAME) && resolve()));
    const cg = cgroup;
    let released = false;
    const zygote = this;
    return {
      path: 'zygote',
      ownPids: ZYGOTE_CHILD_OWN_PIDS,
      zygote,
      hostPid,
      io,
      cgroup: cg,
      workspaceMiB: limits.workspaceMiB,
      ended,
      warm,
      contained: Promise.resolve(),
      get hasEnded() {
        return isEnded();
      },
      kill() {
        if (!isEnded()) safeKill(hostPid); // SIGKILL to a namespace's pid 1 kills the namespace
        cg.killAll();
      },
      sampleCpuMs: () => null,
      promote() {
        for (const pid of [hostPid, ...childPids(hostPid)]) {
          try {
            setPriority(pid, 0);
          } catch {
            /* gone, or not permitted */
          }
        }
      },
      get rootPid() {
        return isEnded() ? null : hostPid;
      },
      cgroupName,
      async release() {
        if (released) return;
        released = true;
        for (const s of Object.values(io)) s.destroy();
        await zygote.giveBackCgroup(slot, cgroupName, cg); // the child's namespace is gone: its cgroup is empty
      },
      inCgroup: () => cg.holds(hostPid),
      joinedItself: slot !== null,
    };
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

/** Lets pending I/O callbacks run before the caller goes on. */
function yieldToIo(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** What the child's pid 1 wrote on its stderr before it failed (non-blocking). */
function readWhatIsThere(fd: number | undefined): string {
  if (fd === undefined) return '';
  try {
    const buf = Buffer.alloc(4096);
    const n = readSync(fd, buf, 0, buf.length, null);
    return buf.subarray(0, n).toString('utf8');
  } catch {
    return '';
  }
}

function safeKill(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    /* already gone */
  }
}

function closeSafe(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    /* closed */
  }
}

/** A wait status as the zygote's waitpid saw it. */
export function decodeWaitStatus(status: number): JailExit {
  const sig = status & 0x7f;
  if (sig === 0) return { code: (status >> 8) & 0xff, signal: null, error: null };
  const name = Object.entries(osConstants.signals).find(([, n]) => n === sig)?.[0] as NodeJS.Signals | undefined;
  return { code: null, signal: name ?? 'SIGKILL', error: null };
}

/**
 * The host pid of the zygote's child whose pid in the zygote's namespace is `nsPid`.
 * `known` holds the children already matched to another fork (spares, running runs):
 * their status files are not read again.
 */
function findChildByNsPid(zygoteHostPid: number, nsPid: number, known: ReadonlySet<number>): number {
  for (const c of childPids(zygoteHostPid)) {
    if (known.has(c)) continue;
    try {
      const m = /^NSpid:\s+(.*)$/m.exec(readFileSync(`/proc/${c}/status`, 'utf8'));
      const levels = m?.[1]?.trim().split(/\s+/).map(Number) ?? [];
      // host, zygote's namespace, the run's own namespace (where it is 1)
      if (levels.length >= 2 && levels[levels.length - 2] === nsPid) return c;
    } catch {
      /* exited */
    }
  }
  throw new Error(`cannot find the zygote's child ${nsPid} on the host`);
}
