import type { Readable } from 'node:stream';
import type { DisplayOutput } from '../../../core/outputs.js';
import { DisplayCollector } from '../../../guest/display-frames.js';
import { FrameDecoder, type GuestReport } from '../../../guest/protocol.js';
import { encodeGuestRequest } from '../../../guest/request.js';
import { encodeLine } from '../../../guest/session-frames.js';
import { HostCallDoor } from './host-calls.js';
import { askInputHandler } from './input-lines.js';
import type { JailIo, JailRun } from './live-jail.js';
import { CappedOutput } from './capped-output.js';
import { OutputTap } from './output-tap.js';
import type { Rlimit } from './rlimits.js';
import { feedStdin } from './stdin-feed.js';

/**
 * How long the verdict waits for EOF on the guest's pipes once no process of the run is
 * left. EOF is due at once then: only a run that keeps a pipe open through an fd in flight
 * over SCM_RIGHTS (freed by the kernel's unix GC) can delay it, and only by this much. Long,
 * for hosts whose event loop stalls for seconds (seen in loaded VMs under emulation, where a
 * 250 ms grace is the suspect for runs answered without output they had written).
 */
const DRAIN_BOUND_MS = 2000;
/** At the bound, how long what the pipes still hold is read, one poll at a time. */
const DRAIN_READ_MS = 250;

/** Wraps a pipe handler so that a failure of ours ends the run instead of throwing into Node's event loop. */
export type Guard = <A extends unknown[]>(what: string, handler: (...args: A) => void) => (...args: A) => void;

type Stream = 'stdout' | 'stderr';

/**
 * The exchange with the guest for one program: the request (and then stdin) in, output
 * and control frames out, each bounded as it arrives. It decides nothing: the jail's
 * lifetime (supervise.ts) owns the timers, the kill and the verdict, and a session will
 * hold one exchange per cell in the same jail.
 */
export class GuestExchange {
  private readonly captured: CappedOutput;
  private readonly tap: OutputTap;
  private readonly frames: FrameDecoder;
  private readonly display: DisplayCollector;
  private readonly door: HostCallDoor | null;
  private stopStdin: () => void = () => undefined;
  /** Bytes read from each of the guest's pipes (for the host's own diagnostics). */
  readonly received = { stdout: 0, stderr: 0, control: 0 };

  /**
   * `overLimit` is called once output passes the run's outputBytes, `broken` once the guest
   * broke the host-call protocol (the caller kills the jail for either).
   */
  constructor(
    private readonly io: JailIo,
    private readonly run: JailRun,
    guard: Guard,
    overLimit: () => void,
    broken: (why: string) => void = () => undefined,
  ) {
    this.tap = new OutputTap(run.onOutput);
    // Output: counted as it arrives, stored only up to the limit.
    this.captured = new CappedOutput(run.limits.outputBytes, this.tap, overLimit);
    const collect = (stream: Stream) => (chunk: Buffer) => {
      this.received[stream] += chunk.length;
      this.captured.push(stream, chunk);
    };
    io.stdout?.on('data', guard('reading stdout', collect('stdout')));
    io.stderr?.on('data', guard('reading stderr', collect('stderr')));

    // The budget the guest was sent is the one the host holds it to.
    const onInput = run.onInput ?? null;
    this.display = new DisplayCollector(run.request.maxDisplayBytes, run.onDisplay ?? undefined, () => this.captured.stdoutBytes());
    const names = run.request.hostFunctions ?? [];
    this.door =
      run.onHostCall && names.length > 0
        ? new HostCallDoor({ names, handler: run.onHostCall, limits: run.limits, answer: (frame) => writeIfOpen(io, frame), violation: broken })
        : null;
    const door = this.door;
    this.frames = new FrameDecoder({
      display: this.display,
      collect: run.collect,
      maxFiles: run.request.maxFiles,
      maxTotalFileBytes: run.request.maxFileBytes,
      ...(onInput ? { onInput: (seq: number, prompt: string) => void askInputHandler(onInput, prompt).then((line) => io.ctrlIn?.write(encodeLine(seq, line, false))) } : {}),
      ...(door ? { calls: { maxFrameBytes: door.maxFrameBytes, onCall: door.onCall, onViolation: broken } } : {}),
    });
    // Once the decoder has what it may take (or the guest broke the protocol), fd 4 is
    // closed: the guest's next write fails, and it costs the host nothing more.
    io.ctrlOut?.on(
      'data',
      guard('reading control frames', (chunk: Buffer) => {
        this.received.control += chunk.length;
        if (!this.frames.push(chunk)) io.ctrlOut?.destroy();
        if (this.frames.report.ready) this.tap.open();
      }),
    );
  }

  /** Sends the request with these rlimits, then the program's stdin. Only once the jail is contained. */
  send(rlimits: readonly Rlimit[]): void {
    // With onInput or host functions the guest keeps fd 3 for the answers: it closes with the run.
    const request = encodeGuestRequest(this.run.request, rlimits);
    if (this.run.onInput || this.door) this.io.ctrlIn?.write(request);
    else this.io.ctrlIn?.end(request);
    this.stopStdin = feedStdin(this.run.stdin, this.io.stdin);
  }

  /** The program is over: its stdin source is no longer read. */
  stop(): void {
    this.stopStdin();
    this.door?.close();
  }

  /** What the guest reported (guest-controlled: only its files and error text are used). */
  get report(): GuestReport {
    return this.frames.report;
  }

  get truncated(): Record<Stream | 'display', boolean> {
    return { ...this.captured.truncated, display: this.display.truncated };
  }

  /** The rich outputs kept, placed in the stdout kept. */
  outputs(): DisplayOutput[] {
    return this.display.outputs(this.captured.stdoutBytes());
  }

  /** The output kept, as text; hands the listener what came after the guest's ready frame. */
  output(): { stdout: string; stderr: string } {
    if (this.frames.report.ready) this.tap.open(); // output that came in after the frame did
    return this.captured.text();
  }

  /**
   * Resolves once every pipe is read to EOF, or after DRAIN_BOUND_MS: the writers are gone,
   * so this is never a wait on the guest.
   */
  drained(): Promise<void> {
    const { stdout, stderr, ctrlOut } = this.io;
    const streams = [stdout, stderr, ctrlOut].filter((s): s is Readable => s !== null && !s.readableEnded && !s.destroyed);
    if (streams.length === 0) return Promise.resolve();
    return new Promise((resolve) => {
      let open = streams.length;
      let chunks = 0;
      const counted = () => void chunks++;
      const finish = () => {
        clearTimeout(bound);
        for (const s of streams) s.off('data', counted);
        resolve();
      };
      // A starved event loop (a loaded host) runs its timers before it polls for I/O: at the
      // bound, what the pipes already hold is read first, one poll at a time while polls
      // still bring something (bounded: the writers are gone, or the time is up).
      const readWhatIsThere = (seen: number, until: number) =>
        setImmediate(() => (chunks > seen && performance.now() < until ? readWhatIsThere(chunks, until) : finish()));
      const bound = setTimeout(() => readWhatIsThere(chunks, performance.now() + DRAIN_READ_MS), DRAIN_BOUND_MS);
      for (const s of streams) {
        s.on('data', counted);
        s.once('close', () => {
          if (--open === 0) finish();
        });
      }
    });
  }

  /** Closes the host's ends of the jail's pipes. */
  close(): void {
    this.door?.close();
    const { stdin, stdout, stderr, ctrlIn, ctrlOut } = this.io;
    for (const s of [stdin, stdout, stderr, ctrlIn, ctrlOut]) s?.destroy();
  }
}

/** An answer for the guest on fd 3, unless the pipe is already closed (the run is ending). */
export function writeIfOpen(io: JailIo, frame: Buffer): void {
  if (io.ctrlIn && io.ctrlIn.writable) io.ctrlIn.write(frame);
}
