import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { BackendSession, CellResult, PreparedCell, SessionEndReason } from '../../../core/backend.js';
import { PyboxError } from '../../../core/errors.js';
import type { HostCallHandler, RunHooks } from '../../../core/hooks.js';
import type { Limits } from '../../../core/limits.js';
import { textListener } from '../../../core/output.js';
import { DisplayCollector } from '../../../guest/display-frames.js';
import type { RunStatus } from '../../../core/result.js';
import { encodeCell, encodeLine, SessionFrameReader, type SessionFrame } from '../../../guest/session-frames.js';
import { processStartTime, withDescendants } from '../../../host/processes.js';
import type { CgroupBaseline, CgroupStats } from '../cgroup/cgroups.js';
import { writeIfOpen } from '../jail/exchange.js';
import { HostCallDoor } from '../jail/host-calls.js';
import { keepAlive } from '../jail/keepalive.js';
import type { JailExit, LiveJail } from '../jail/live-jail.js';
import { CappedOutput } from '../jail/capped-output.js';
import { OutputTap } from '../jail/output-tap.js';
import { rlimitCpuSeconds } from '../jail/rlimits.js';
import { askInputHandler, InputLines } from '../jail/input-lines.js';
import { BetweenCells } from './between-cells.js';
import { cellResult, doneStatus, endedStatus, type RunningCell, type Settlement } from './running-cell.js';

/** How long a cell has to stop after its interrupt (or its timeout's) before the session is ended. */
export const INTERRUPT_GRACE_MS = 2000;
/** Cells that may wait behind the running one; one more is refused with E_SESSION_BUSY. */
export const MAX_QUEUED_CELLS = 16;
const CPU_POLL_MS = 20;
/** Between cells the CPU of what the session left running is still counted, less often. */
const IDLE_CPU_POLL_MS = 250;

/** Why the session ended; a running cell's status names it when it is a status. */
type EndReason = SessionEndReason;

export interface JailSessionOptions {
  limits: Limits;
  idleTimeoutMs: number;
  maxLifetimeMs: number;
  withCgroups: boolean;
  baseline: CgroupBaseline | null;
  /** Gives the jail back (release, zygote free again); called once, when the session is gone. */
  done: () => Promise<void>;
  /** The session's host functions (its request names them), or null. */
  hostCalls?: { names: readonly string[]; handler: HostCallHandler } | null;
}

/**
 * A session in one live jail: the guest runs the session loop (src/guest/python/session.py)
 * and this side sends it one cell at a time. Every verdict is the host's own: the wall
 * clock and CPU of each cell from its timers and the cgroup's counters, memory from the
 * cgroup, the end of the interpreter from the OS. The guest's frames only carry what the
 * program said (its value, its exception, its input requests), checked as they come.
 */
export class JailSession implements BackendSession {
  readonly id = randomUUID();
  private reason: EndReason | null = null;
  private readonly gonePromise: Promise<void>;
  private endedResolve!: (reason: EndReason) => void;
  readonly ended = new Promise<EndReason>((resolve) => (this.endedResolve = resolve));
  /** pids.events' max count when the session opened: any fork refused on the pids limit since is the session's. */
  private pidsMaxAtOpen = 0;
  private readonly betweenCells = new BetweenCells();
  private readonly queue: (() => void)[] = [];
  private busy = false;
  /** A cell is on its way in (see run()): an interrupt now is meant for it. */
  private starting = false;
  private interruptOnStart = false;
  /** A SIGINT went to the guest since the last cell was sent: the next one drains it. */
  private sigintSent = false;
  private cell: RunningCell | null = null;
  private cellCount = 0;
  private guest: { pid: number; start: string | null } | null = null;
  private readonly reader: SessionFrameReader;
  private idleDisplay: DisplayCollector | null = null;
  private readonly door: HostCallDoor | null;
  private idleTimer: NodeJS.Timeout | null = null;
  private lifetimeTimer: NodeJS.Timeout | null = null;
  private cpuTimer: NodeJS.Timeout | null = null;
  private turnCpuStart = 0;
  private turnCpuLimit: number;
  private lastCpuMs = 0;
  private readyResolve!: (ok: boolean) => void;
  private readonly ready: Promise<boolean>;

  constructor(
    private readonly jail: LiveJail,
    private readonly options: JailSessionOptions,
  ) {
    this.turnCpuLimit = options.limits.cpuMs;
    this.ready = new Promise((resolve) => (this.readyResolve = resolve));
    const { io } = jail;
    const calls = options.hostCalls ?? null;
    this.door = calls
      ? new HostCallDoor({ ...calls, limits: options.limits, answer: (frame) => writeIfOpen(io, frame), violation: (why) => this.end('crashed', `the guest broke the host-call protocol: ${why}`) })
      : null;
    // Rich output between cells (a thread a cell left running) is nobody's: counted and dropped.
    this.reader = new SessionFrameReader(
      (frame) => this.onFrame(frame),
      () => this.cell?.display ?? (this.idleDisplay ??= new DisplayCollector(options.limits.displayBytes)),
      this.door ? { maxFrameBytes: this.door.maxFrameBytes, onCall: this.door.onCall } : null,
    );
    io.ctrlOut?.on('data', (chunk: Buffer) => {
      if (!this.reader.push(chunk)) this.end('crashed', 'the guest broke the session protocol');
    });
    io.stdout?.on('data', (chunk: Buffer) => this.onOutput('stdout', chunk));
    io.stderr?.on('data', (chunk: Buffer) => this.onOutput('stderr', chunk));
    io.stdin?.end();
    this.gonePromise = jail.ended.then((exit) => this.onJailEnded(exit));
  }

  /** Resolves once the session has ended and nothing of it is left. */
  get gone(): Promise<void> {
    return this.gonePromise;
  }

  get alive(): boolean {
    return this.reason === null && !this.jail.hasEnded;
  }

  get endReason(): EndReason | null {
    return this.alive ? null : (this.reason ?? 'crashed');
  }

  /** Sends the session's request and waits until the guest is ready for cells. */
  open(request: Buffer): Promise<void> {
    return keepAlive(this.start(request));
  }

  private async start(request: Buffer): Promise<void> {
    try {
      await this.jail.contained;
    } catch (error) {
      await this.close();
      throw new PyboxError('E_JAIL_UNAVAILABLE', `the session's jail could not be contained: ${(error as Error).message}`, { cause: error });
    }
    this.jail.io.ctrlIn?.write(request);
    if (!(await this.ready)) {
      await this.close();
      throw new PyboxError('E_JAIL_UNAVAILABLE', 'the session did not start');
    }
    const pid = this.jail.guestPid();
    this.guest = pid === null ? null : { pid, start: processStartTime(pid) };
    this.turnCpuStart = this.cpuNow();
    this.pidsMaxAtOpen = this.jail.cgroup?.stats().pidsMaxEvents ?? 0;
    this.pollCpu(IDLE_CPU_POLL_MS);
    this.lifetimeTimer = setTimeout(() => this.end('lifetime'), this.options.maxLifetimeMs);
    this.lifetimeTimer.unref();
    this.armIdle();
  }

  run(cell: PreparedCell, hooks: RunHooks = {}): Promise<CellResult> {
    if (!this.alive) return Promise.reject(endedError(this.reason));
    if (this.busy && this.queue.length >= MAX_QUEUED_CELLS) {
      return Promise.reject(new PyboxError('E_SESSION_BUSY', `${MAX_QUEUED_CELLS} cells already wait for this session`));
    }
    // A zygote's pipes do not hold Node's event loop open: a caller waiting for a cell does.
    return keepAlive(new Promise<CellResult>((resolve, reject) => {
      const begin = () => {
        this.starting = false;
        if (!this.alive) {
          this.interruptOnStart = false;
          this.next();
          return reject(endedError(this.reason));
        }
        this.startCell(cell, hooks, (result) => {
          resolve(result);
          this.next();
        });
      };
      // Output of what the program left running that is already in the pipes (a socket
      // holds more than 64 KiB) was written while no cell ran: a poll of the event loop
      // reads it first, into that time's bound, before this cell claims the pipes.
      const start = () => {
        this.starting = true;
        afterPendingOutput(begin);
      };
      if (this.busy) this.queue.push(start);
      else {
        this.busy = true;
        start();
      }
    }));
  }

  private next(): void {
    const start = this.queue.shift();
    if (start) start();
    else this.busy = false;
  }

  async interrupt(): Promise<void> {
    if (this.cell && !this.cell.interruptedBy) this.interruptCell(this.cell, 'interrupt');
    else if (!this.cell && this.starting) this.interruptOnStart = true; // the cell asked for first is on its way in
  }

  close(): Promise<void> {
    this.end('closed');
    return keepAlive(this.gonePromise);
  }

  // --- one cell ---

  private startCell(prepared: PreparedCell, hooks: RunHooks, resolve: (r: CellResult) => void): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    const n = ++this.cellCount;
    const tap = new OutputTap(textListener(hooks.onStdout, hooks.onStderr));
    tap.open();
    this.idleDisplay = null;
    const output: CappedOutput = new CappedOutput(prepared.limits.outputBytes, tap, () => this.interruptCell(cell, 'output_limit'));
    const cell: RunningCell = {
      n,
      limits: prepared.limits,
      started: performance.now(),
      cpuAtStart: this.cpuNow(),
      output,
      display: new DisplayCollector(prepared.limits.displayBytes, hooks.onDisplay, () => output.stdoutBytes()),
      error: null,
      interruptedBy: null,
      held: this.sigintSent,
      timers: [],
      input: new InputLines(prepared.stdin),
      hooks,
      resolve,
    };
    this.cell = cell;
    // What the program wrote while no cell ran comes first, as this cell's output.
    const earlier = this.betweenCells.take();
    for (const [stream, chunk] of earlier.chunks) cell.output.push(stream, chunk);
    if (earlier.truncated.stdout) cell.output.truncated.stdout = true;
    if (earlier.truncated.stderr) cell.output.truncated.stderr = true;
    this.turnCpuStart = cell.cpuAtStart;
    this.turnCpuLimit = prepared.limits.cpuMs;
    this.reader.nextCell();
    this.door?.nextCell();
    cell.timers.push(setTimeout(() => this.interruptCell(cell, 'timeout'), prepared.limits.timeoutMs));
    this.pollCpu(CPU_POLL_MS);
    // A SIGINT sent during the cell before may still be pending in the guest (sent after
    // it blocked SIGINT, before its done was read here): it was sent before this write, so
    // the guest drains it before it answers started, and this cell's own waits for that.
    this.sigintSent = false;
    this.jail.io.ctrlIn?.write(encodeCell(n, prepared.code, rlimitCpuSeconds(prepared.limits.cpuMs, this.options.withCgroups), prepared.limits.displayBytes, cell.held));
    if (this.interruptOnStart) {
      this.interruptOnStart = false;
      this.interruptCell(cell, 'interrupt');
    }
  }

  /** SIGINT to the guest (KeyboardInterrupt); a cell that does not stop within the grace ends the session. */
  private interruptCell(cell: RunningCell, why: 'interrupt' | 'timeout' | 'output_limit'): void {
    if (this.cell !== cell || cell.interruptedBy) return;
    cell.interruptedBy = why;
    if (!cell.held) this.signalGuest();
    cell.timers.push(setTimeout(() => this.end(why === 'interrupt' ? 'interrupted' : why), INTERRUPT_GRACE_MS));
  }

  private signalGuest(): void {
    const g = this.guest;
    // The pid was read from the kernel (the jail's pid 1's only child) before any cell ran;
    // its start time tells it from a later process with the same pid.
    if (!g || processStartTime(g.pid) !== g.start) return;
    this.sigintSent = true;
    try {
      process.kill(g.pid, 'SIGINT');
    } catch {
      /* gone: the jail's end reports it */
    }
  }

  private onOutput(stream: 'stdout' | 'stderr', chunk: Buffer): void {
    if (this.cell) this.cell.output.push(stream, chunk);
    else this.betweenCells.push(stream, chunk); // from what a cell left running: the next cell's
  }

  private onFrame(frame: SessionFrame): void {
    if (frame.t === 'ready') return this.readyResolve(true);
    const cell = this.cell;
    if (frame.t === 'warm' || !cell) return;
    if (frame.t === 'started') {
      if (frame.n !== cell.n || !cell.held) return this.end('crashed', 'the guest broke the session protocol: started out of turn');
      cell.held = false;
      if (cell.interruptedBy) this.signalGuest();
      return;
    }
    if (frame.t === 'error') cell.error ??= { type: frame.type, message: frame.message, traceback: frame.traceback };
    // Output written before the frame was ready in its pipe when the frame was: the poll
    // that read the frame reads it too, before setImmediate runs (the caller is asked for
    // input, or the result is made, after it).
    else if (frame.t === 'input') setImmediate(() => void this.answerInput(cell, frame.seq, frame.prompt));
    else if (frame.t === 'done' && frame.n === cell.n) setImmediate(() => this.finishCell(cell, frame.value));
  }

  private async answerInput(cell: RunningCell, seq: number, prompt: string): Promise<void> {
    let text: string | null;
    let echo = false;
    const onInput = cell.hooks.onInput;
    if (onInput) text = await askInputHandler(onInput, prompt);
    else {
      text = await cell.input.next();
      echo = true;
    }
    if (this.cell !== cell || !this.alive) return; // the cell is over: the answer is nobody's
    this.jail.io.ctrlIn?.write(encodeLine(seq, text, echo));
  }

  private finishCell(cell: RunningCell, value: string | null): void {
    if (this.cell !== cell) return;
    // One read of the cgroup's counters serves the verdict, the CPU and the memory peak.
    const stats = this.options.withCgroups ? (this.jail.cgroup?.stats() ?? null) : null;
    const oom = stats !== null && stats.oomKills > (this.options.baseline?.oomKills ?? 0);
    const cpuMs = this.cpuNow(stats) - cell.cpuAtStart;
    const status = doneStatus(cell, { stats, oom, processLimitHit: this.processLimitHit(stats), cpuMs });
    this.settle(cell, status, { value: status === 'ok' || status === 'error' ? value : null, cpuMs, stats });
    // An interpreter that hit memory, CPU or its process limit is not trusted with another
    // cell (a fork refused mid-way leaves it in no known state; a fork bomb's children run
    // the session loop too); output_limit that did not stop at the interrupt is ended by its
    // grace timer as it would be anyway.
    if (status === 'memory_limit' || status === 'cpu_limit' || status === 'process_limit') this.end(status);
    else this.armIdle();
  }

  /** The cell's result, once: from its done frame, or from the session's end. */
  private settle(cell: RunningCell, status: RunStatus, settlement: Settlement): void {
    if (this.cell !== cell) return;
    this.cell = null;
    for (const t of cell.timers) clearTimeout(t);
    cell.input.stop();
    this.pollCpu(IDLE_CPU_POLL_MS);
    cell.resolve(cellResult(cell, status, settlement));
  }

  // --- the session's life ---

  private armIdle(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    if (!this.alive) return;
    this.idleTimer = setTimeout(() => this.end('idle'), this.options.idleTimeoutMs);
    this.idleTimer.unref();
  }

  /** The session's CPU so far (from `stats` when the caller has just read them). */
  private cpuNow(stats?: CgroupStats | null): number {
    const cg = stats ? stats.cpuUsageMs : this.jail.cgroup?.cpuUsageMs();
    const v = (cg !== undefined && cg !== null ? cg - (this.options.baseline?.cpuMs ?? 0) : null) ?? this.jail.sampleCpuMs() ?? this.lastCpuMs;
    this.lastCpuMs = v;
    return v;
  }

  /** CPU is counted per turn (a cell and the idle time after it) against that cell's budget. */
  private pollCpu(everyMs: number): void {
    if (this.cpuTimer) clearInterval(this.cpuTimer);
    if (!this.alive) return;
    this.cpuTimer = setInterval(() => {
      if (this.cpuNow() - this.turnCpuStart >= this.turnCpuLimit) this.end('cpu_limit');
      else if (this.processLimitHit()) this.end('process_limit');
    }, everyMs);
    if (!this.cell) this.cpuTimer.unref();
  }

  /**
   * Whether the session ran into its process limit, as the OS tells it: with cgroups, a
   * fork the pids controller refused since the session opened (its pids.events `max`
   * count; the guest has no RLIMIT_NPROC then, so pids.max is what refuses); without, the
   * jail's processes counted from /proc at the limit (the next fork fails on RLIMIT_NPROC).
   */
  private processLimitHit(stats: CgroupStats | null = null): boolean {
    const { cgroup } = this.jail;
    if (this.options.withCgroups && cgroup) return (stats ?? cgroup.stats()).pidsMaxEvents > this.pidsMaxAtOpen;
    const root = this.jail.rootPid;
    return root !== null && withDescendants(root).length - this.jail.ownPids >= this.options.limits.processes;
  }

  /** Ends the session: its jail is killed (nothing it started survives), the running cell gets `reason`. */
  private end(reason: EndReason, why?: string): void {
    if (this.reason) return;
    this.reason = reason;
    void why;
    this.jail.io.ctrlIn?.end();
    this.jail.kill();
  }

  private async onJailEnded(exit: JailExit): Promise<void> {
    // Not ended by the host: the program ended its interpreter, or something killed it.
    this.reason ??= exit.signal !== null || (exit.code !== null && exit.code > 128) ? 'crashed' : 'exited';
    this.door?.close();
    for (const t of [this.idleTimer, this.lifetimeTimer]) if (t) clearTimeout(t);
    if (this.cpuTimer) clearInterval(this.cpuTimer);
    this.readyResolve(false);
    const cell = this.cell;
    if (cell) {
      const stats = this.jail.cgroup?.stats() ?? null;
      const oom = stats !== null && stats.oomKills > (this.options.baseline?.oomKills ?? 0);
      const cpuMs = this.cpuNow(stats) - cell.cpuAtStart;
      const ended = endedStatus(cell, this.reason, exit, oom, cpuMs);
      this.settle(cell, ended.status, { cpuMs, exit: ended.exit, stats });
    }
    for (const start of this.queue.splice(0)) start();
    this.endedResolve(this.reason);
    await this.options.done();
  }
}

/** After a poll of the event loop (one setImmediate called in the poll phase runs before the next). */
function afterPendingOutput(then: () => void): void {
  setImmediate(() => setImmediate(then));
}

function endedError(reason: EndReason | null): PyboxError {
  return new PyboxError('E_SESSION_ENDED', `the session has ended${reason && reason !== 'closed' ? ` (${reason})` : ''}`);
}
