import { closeSync, constants as fsc, openSync, readSync, writeSync } from 'node:fs';
import { Socket } from 'node:net';
import { setPriority } from 'node:os';
import { WARM_FRAME } from '../../../guest/protocol.js';
import { childPids, processStatus, statusField } from '../../../host/processes.js';
import type { CgroupLimits, JailCgroup } from '../cgroup/cgroups.js';
import { O_CLOEXEC } from '../jail/inherited-fds.js';
import type { JailExit, LiveJail } from '../jail/live-jail.js';
import type { CgroupSlot } from './cgroup-slots.js';
import { setGroupBackground } from './background-group.js';
import { closeCommand } from './line-protocol.js';

// A zygote's child, once forked: finding it on the host, opening its pipes, putting it in
// its cgroup, and the LiveJail a run gets of it.

/** R, the pid 1 of each run (G is the program). */
export const ZYGOTE_CHILD_OWN_PIDS = 1;
/** Where the gate and the done pipe are among a child's pipes (stdin, stdout, stderr, ctrl-in, ctrl-out, gate, done). */
const GATE = 5;
const DONE = 6;

export interface ZygoteChildLimits {
  workspaceMiB: number;
  memoryMiB: number;
  processes: number;
}

/** A forked, not yet claimed run: its jail (pid 1 + G waiting for its request). */
export interface ZygoteChild extends LiveJail {
  readonly path: 'zygote';
  /** Host pid of the run's pid 1. */
  readonly hostPid: number;
  /** Back to normal priority (the zygote makes children at a lower one): once warm, or at the claim. */
  promote(): void;
  /**
   * Its scheduling group in the background (its set-up and warm-up while its zygote has a
   * readied spare, its pid 1's exit once its run has answered) or not (background-group.ts).
   */
  setBackground(background: boolean): void;
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


/** What a child's set-up needs of its zygote. */
export interface ChildParent {
  /** Host pids of its children already matched to a fork (spares, running runs). */
  readonly knownChildren: Set<number>;
  command(line: string): void;
  /** A kept empty cgroup, or a new one, with these limits. */
  takeCgroup(limits: CgroupLimits): Promise<{ name: string; cgroup: JailCgroup }>;
  /** The cgroup of a child whose namespace is gone. */
  giveBackCgroup(slot: CgroupSlot | null, name: string, cgroup: JailCgroup | null): Promise<void>;
}

/** A child the zygote reported forked (`P id pid fds`), as set-up gets it. */
export interface ChildSetUp {
  id: string;
  limits: ZygoteChildLimits;
  cgroupLimits: CgroupLimits;
  pid: number;
  fds: number[];
  zhost: number;
  ended: Promise<JailExit>;
  isEnded: () => boolean;
  slot: CgroupSlot | null;
}

/** Opens the child's pipes, puts it into its cgroup, and lets it go on (the gate). */
export async function setUpChild(parent: ChildParent, c: ChildSetUp): Promise<ZygoteChild> {
  const { id, limits, cgroupLimits, pid, fds, zhost, ended, isEnded, slot } = c;
  let cgroup: JailCgroup | null = null;
  let cgroupName = '';
  const opened: number[] = [];
  let hostPid = 0;
  try {
    // Set-up runs while other children serve runs: it goes in short steps, between which
    // their I/O (output, exits) is handled, instead of one block of ~0.5 ms.
    await yieldToIo();
    hostPid = findChildByNsPid(zhost, pid, parent.knownChildren);
    parent.knownChildren.add(hostPid);
    void ended.then(() => parent.knownChildren.delete(hostPid));
    const flags = [
      fsc.O_WRONLY, // stdin
      fsc.O_RDONLY, // stdout
      fsc.O_RDONLY, // stderr
      fsc.O_WRONLY, // ctrl-in
      fsc.O_RDONLY, // ctrl-out
      fsc.O_WRONLY, // gate
      fsc.O_RDONLY, // done
    ];
    fds.forEach((n, i) => opened.push(openSync(`/proc/${zhost}/fd/${n}`, (flags[i] as number) | fsc.O_NONBLOCK | O_CLOEXEC)));
    parent.command(closeCommand(id));
    await yieldToIo();
    if (slot) {
      ({ name: cgroupName, cgroup } = slot); // R moves itself in: no gate
    } else {
      ({ name: cgroupName, cgroup } = await parent.takeCgroup(cgroupLimits)); // a kept one, or new
      await cgroup.attachAsync([hostPid]);
      writeSync(opened[GATE] as number, 'g'); // R may now fork the run's process, inside the cgroup
    }
    closeSync(opened[GATE] as number);
    opened[GATE] = -1;
  } catch (error) {
    const why = readWhatIsThere(opened[2]);
    if (why) (error as Error).message += ` (${why.trim().split('\n').slice(-2).join(' | ')})`;
    if (hostPid) safeKill(hostPid);
    for (const f of opened) if (f >= 0) closeSafe(f);
    parent.command(closeCommand(id));
    await ended;
    await parent.giveBackCgroup(slot, cgroupName, cgroup);
    throw error;
  }
  const pipe = (n: number, readable: boolean) => {
    const s = new Socket({ fd: opened[n] as number, readable, writable: !readable });
    s.on('error', () => undefined);
    s.unref();
    return s;
  };
  const io = { stdin: pipe(0, false), stdout: pipe(1, true), stderr: pipe(2, true), ctrlIn: pipe(3, false), ctrlOut: pipe(4, true) };
  const donePipe = pipe(DONE, true);
  // R writes G's status here once G and everything it left are reaped (end_run in the
  // bootstrap); only R ever holds the other end. A pid 1 killed first writes nothing:
  // then the run is over when its namespace is gone.
  const programExited = Promise.race([
    new Promise<JailExit>((resolve) => donePipe.once('data', (chunk: Buffer) => resolve({ code: chunk[0] as number, signal: null, error: null }))),
    ended,
  ]);
  // The first thing G writes is its warm frame, before its request (nothing else can come
  // before it). Claimed earlier, the run's frame decoder sees it too and ignores it.
  const warm = new Promise<void>((resolve) => io.ctrlOut.once('data', (chunk: Buffer) => chunk.equals(WARM_FRAME) && resolve()));
  const cg = cgroup;
  let released = false;
  let inBackground = false;
  const setBackground = (background: boolean) => {
    if (background === inBackground || isEnded()) return;
    inBackground = background;
    setGroupBackground(hostPid, background);
  };
  return {
    path: 'zygote',
    ownPids: ZYGOTE_CHILD_OWN_PIDS,
    hostPid,
    io,
    cgroup: cg,
    workspaceMiB: limits.workspaceMiB,
    ended,
    warm,
    programExited,
    contained: Promise.resolve(),
    get hasEnded() {
      return isEnded();
    },
    kill() {
      if (!isEnded()) safeKill(hostPid); // SIGKILL to a namespace's pid 1 kills the namespace
      cg.killAll();
    },
    sampleCpuMs: () => null,
    guestPid: () => (isEnded() ? null : (childPids(hostPid)[0] ?? null)),
    promote() {
      setBackground(false);
      for (const pid of [hostPid, ...childPids(hostPid)]) {
        try {
          setPriority(pid, 0);
        } catch {
          /* gone, or not permitted */
        }
      }
    },
    setBackground,
    get rootPid() {
      return isEnded() ? null : hostPid;
    },
    cgroupName,
    async release() {
      if (released) return;
      released = true;
      for (const s of [...Object.values(io), donePipe]) s.destroy();
      await parent.giveBackCgroup(slot, cgroupName, cg); // the child's namespace is gone: its cgroup is empty
    },
    inCgroup: () => cg.holds(hostPid),
    joinedItself: slot !== null,
  };
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

export function closeSafe(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    /* closed */
  }
}

/**
 * The host pid of the zygote's child whose pid in the zygote's namespace is `nsPid`.
 * `known` holds the children already matched to another fork (spares, running runs):
 * their status files are not read again.
 */
function findChildByNsPid(zygoteHostPid: number, nsPid: number, known: ReadonlySet<number>): number {
  for (const c of childPids(zygoteHostPid)) {
    if (known.has(c)) continue;
    const status = processStatus(c);
    if (status === null) continue; // exited
    const levels = (statusField(status, 'NSpid') ?? '').split(/\s+/).map(Number);
    // host, zygote's namespace, the run's own namespace (where it is 1)
    if (levels.length >= 2 && levels[levels.length - 2] === nsPid) return c;
  }
  throw new Error(`cannot find the zygote's child ${nsPid} on the host`);
}
