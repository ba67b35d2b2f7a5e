import type { Readable } from 'node:stream';
import { FrameDecoder, type GuestReport } from '../../../guest/protocol.js';
import { encodeGuestRequest } from '../../../guest/request.js';
import type { JailIo, JailRun } from './live-jail.js';
import { OutputTap } from './output-tap.js';
import type { Rlimit } from './rlimits.js';
import { feedStdin } from './stdin-feed.js';

/** How long we let already-written output drain after the jail is dead. Never a wait on the guest. */
const DRAIN_GRACE_MS = 250;

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
  private readonly out: Record<Stream, Buffer[]> = { stdout: [], stderr: [] };
  readonly truncated: Record<Stream, boolean> = { stdout: false, stderr: false };
  private readonly tap: OutputTap;
  private readonly frames: FrameDecoder;
  private outputTotal = 0;
  private stopStdin: () => void = () => undefined;

  /** `overLimit` is called once output passes the run's outputBytes (the caller kills the jail). */
  constructor(
    private readonly io: JailIo,
    private readonly run: JailRun,
    guard: Guard,
    overLimit: () => void,
  ) {
    this.tap = new OutputTap(run.onOutput);
    // Output: counted as it arrives, stored only up to the limit.
    const collect = (stream: Stream) => (chunk: Buffer) => {
      const room = run.limits.outputBytes - this.outputTotal;
      this.outputTotal += chunk.length;
      if (room > 0) {
        const kept = room >= chunk.length ? chunk : chunk.subarray(0, room);
        this.out[stream].push(kept);
        this.tap.push(stream, kept);
      }
      if (chunk.length > room) {
        this.truncated[stream] = true;
        overLimit();
      }
    };
    io.stdout?.on('data', guard('reading stdout', collect('stdout')));
    io.stderr?.on('data', guard('reading stderr', collect('stderr')));

    // The budget the guest was sent is the one the host holds it to.
    this.frames = new FrameDecoder({ collect: run.collect, maxFiles: run.request.maxFiles, maxTotalFileBytes: run.request.maxFileBytes });
    // Once the decoder has what it may take (or the guest broke the protocol), fd 4 is
    // closed: the guest's next write fails, and it costs the host nothing more.
    io.ctrlOut?.on(
      'data',
      guard('reading control frames', (chunk: Buffer) => {
        if (!this.frames.push(chunk)) io.ctrlOut?.destroy();
        if (this.frames.report.ready) this.tap.open();
      }),
    );
  }

  /** Sends the request with these rlimits, then the program's stdin. Only once the jail is contained. */
  send(rlimits: readonly Rlimit[]): void {
    this.io.ctrlIn?.end(encodeGuestRequest(this.run.request, rlimits));
    this.stopStdin = feedStdin(this.run.stdin, this.io.stdin);
  }

  /** The program is over: its stdin source is no longer read. */
  stop(): void {
    this.stopStdin();
  }

  /** What the guest reported (guest-controlled: only its files and error text are used). */
  get report(): GuestReport {
    return this.frames.report;
  }

  /** The output kept, as text; hands the listener what came after the guest's ready frame. */
  output(): { stdout: string; stderr: string } {
    if (this.frames.report.ready) this.tap.open(); // output that came in after the frame did
    return { stdout: Buffer.concat(this.out.stdout).toString('utf8'), stderr: Buffer.concat(this.out.stderr).toString('utf8') };
  }

  /**
   * Resolves once output already in the pipes is read, or after DRAIN_GRACE_MS: never a
   * wait on the guest closing them.
   */
  drained(): Promise<void> {
    const { stdout, stderr, ctrlOut } = this.io;
    const streams = [stdout, stderr, ctrlOut].filter((s): s is Readable => s !== null && !s.readableEnded && !s.destroyed);
    if (streams.length === 0) return Promise.resolve();
    return new Promise((resolve) => {
      let open = streams.length;
      const grace = setTimeout(resolve, DRAIN_GRACE_MS);
      for (const s of streams) {
        s.once('close', () => {
          if (--open === 0) {
            clearTimeout(grace);
            resolve();
          }
        });
      }
    });
  }

  /** Closes the host's ends of the jail's pipes. */
  close(): void {
    const { stdin, stdout, stderr, ctrlIn, ctrlOut } = this.io;
    for (const s of [stdin, stdout, stderr, ctrlIn, ctrlOut]) s?.destroy();
  }
}
