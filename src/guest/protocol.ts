import { z } from 'zod';
import type { PythonError } from '../core/result.js';
import { normaliseWorkspacePath } from '../core/workspace-path.js';
import type { CollectMatcher } from '../core/glob.js';
import { MAX_OUTPUTS } from '../core/outputs.js';
import { DisplayCollector, displayHeaderSchema } from './display-frames.js';
import { frameHeader } from './host-call-frames.js';

/** What the host sends on the guest's fd 3, once, before the program runs. */
export interface GuestRequest {
  code: string;
  filename: string;
  argv: string[];
  /** [resource name, soft, hard]; the guest lowers both before the program runs. */
  rlimits: [string, number, number][];
  /** [workspace-relative path, content]: sent as marshal bytes */
  files: [string, Uint8Array][];
  collect: string[];
  maxFiles: number;
  maxFileBytes: number;
  policy: 'strict' | 'off';
  /** Under 'strict': the BPF program the guest stacks before the program runs (empty under 'off'). */
  seccomp: Uint8Array;
  extraPaths: string[];
  /** A session: the guest keeps fd 3 and runs cells from it (src/guest/python/session.py). */
  session?: boolean;
  /** input() and sys.stdin ask the host for each line (a run with onInput). */
  hostInput?: boolean;
  /** Modules imported before the program (a no-op where a zygote or a pooled jail already did). */
  preload?: readonly string[];
  /** Rich output's budget (the guest drops what does not fit; the host holds it to it too). */
  maxDisplayBytes: number;
  /** Host functions the program may call (src/guest/python/host_calls.py), and the bound of one call's arguments. */
  hostFunctions?: readonly string[];
  hostCallBytes?: number;
}

/**
 * What the guest sends on fd 4, every frame [u32 big-endian length][payload]:
 *  - control frames: a JSON object of at most MAX_CONTROL_FRAME_BYTES (ready, warm, error);
 *  - a file: the control frame {t:"file", path, size}, then exactly `size` raw bytes
 *    (no length prefix of their own, no base64);
 *  - rich output: the control frame {t:"display", size, at}, then `size` bytes of its
 *    bundle (src/guest/display-frames.ts).
 * Anything else is ignored: the guest is not trusted.
 */
export const MAX_CONTROL_FRAME_BYTES = 64 * 1024;
/** All control frames of one run together (the file headers of MAX_COLLECT_FILES fit). */
export const MAX_CONTROL_BYTES_PER_RUN = 2 * 1024 * 1024;
export const MAX_COLLECT_FILES = 1000;
/** Input requests one run with onInput may make (each a frame; all within the run's control bytes too). */
export const MAX_INPUT_REQUESTS = 65_536;
/** Collected bytes of one run: its workspace, and never more than this. */
export const MAX_COLLECT_BYTES = 1024 * 1024 * 1024;
/** Host time one run may cost in matching the paths it sends against its collect patterns. */
export const MATCH_BUDGET_MS = 100;

/** What one run may make the host hold in collected files. */
export function collectBudgetBytes(workspaceMiB: number): number {
  return Math.min(workspaceMiB * 1024 * 1024, MAX_COLLECT_BYTES);
}

export const errorFrameSchema = z.object({
  t: z.literal('error'),
  type: z.string().max(256).regex(/^[A-Za-z_][A-Za-z0-9_.]*$/), // an identifier: no terminal escapes
  message: z.string().max(8 * 1024),
  traceback: z.string().max(MAX_CONTROL_FRAME_BYTES),
});
/** input() or sys.stdin asks the host for line `seq` (runs with onInput, and sessions). */
export const inputFrameSchema = z.object({
  t: z.literal('input'),
  seq: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  prompt: z.string().max(4096),
});
const fileHeader = z.object({
  t: z.literal('file'),
  path: z.string().min(1).max(4096),
  size: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
});
const readyFrame = z.object({ t: z.literal('ready') });
/** A zygote's child is set up and waits for its request (nothing of a program has run yet). */
const warmFrame = z.object({ t: z.literal('warm') });
const frameSchema = z.discriminatedUnion('t', [readyFrame, warmFrame, errorFrameSchema, inputFrameSchema, fileHeader, displayHeaderSchema]);

/**
 * [u32 big-endian length][payload]: how every message between host and guest is framed
 * (frames on fd 4, the request and the zygote's configuration on fd 3, the precompiled
 * bootstrap in front of them).
 */
export function lengthPrefixed(payload: Uint8Array): Buffer {
  const head = Buffer.allocUnsafe(4);
  head.writeUInt32BE(payload.length, 0);
  return Buffer.concat([head, payload]);
}

/** The warm frame, byte for byte as the bootstrap writes it (WARM_FRAME there). */
export const WARM_FRAME = lengthPrefixed(Buffer.from('{"t":"warm"}', 'utf8'));

export interface GuestReport {
  /** The bootstrap read its request: bwrap set the jail up and Python started. */
  ready: boolean;
  error: PythonError | null;
  files: Record<string, Uint8Array>;
}

export interface FrameLimits {
  /** Collect patterns of the run: a file for anything else was not asked for. */
  collect: CollectMatcher;
  maxFiles: number;
  /** Raw file bytes the run may send (kept or skipped): the collect budget. */
  maxTotalFileBytes: number;
  /** The run's rich outputs: a display body is sized only within its displayBytes (none without). */
  display?: DisplayCollector;
  /** Called for each input request of a run with onInput; without it an input frame is out of line. */
  onInput?: (seq: number, prompt: string) => void;
  /**
   * A run with host functions: each call frame's payload (at most maxFrameBytes), and the
   * first frame out of line (the run ends: its program may be waiting for an answer).
   */
  calls?: { maxFrameBytes: number; onCall: (payload: Buffer) => void; onViolation: (why: string) => void };
}

/** Raw bytes after a header (a file's, a display bundle's) as they arrive: kept (data) or skipped (null). */
interface RawBytes {
  data: Buffer | null;
  left: number;
  end: () => void;
}

/**
 * Incrementally decodes fd 4. What it holds is bounded by its limits, not by anything
 * the guest announces: a length is checked before anything is allocated for it, a file's
 * buffer is sized only once its length fits the run's remaining collect budget. It stops
 * for good at the first malformed frame or exhausted budget, and never throws.
 */
export class FrameDecoder {
  private readonly head = Buffer.alloc(4);
  private headFill = 0;
  private payload: Buffer | null = null;
  private payloadFill = 0;
  private raw: RawBytes | null = null;
  private payloadIsCall = false;
  private stopped = false;
  private controlBytes = 0;
  private frames = 0;
  /** Display headers: up to a run's worth of outputs they do not count among its other frames. */
  private displayFrames = 0;
  private fileBytes = 0;
  private fileCount = 0;
  private matchMs = 0;
  private received = 0;
  readonly report: GuestReport = { ready: false, error: null, files: Object.create(null) as Record<string, Uint8Array> };

  private readonly display: DisplayCollector;

  constructor(private readonly limits: FrameLimits) {
    this.display = limits.display ?? new DisplayCollector(0);
  }

  /**
   * Takes the next bytes of fd 4. After a stop it still drains (and drops) what comes, so
   * a program's own writes to fd 4 do not fail, up to a run's worth: then it answers false
   * and the caller closes the pipe (the guest's next write fails, and costs the host nothing).
   */
  push(chunk: Buffer): boolean {
    this.received += chunk.length;
    if (this.received > this.limits.maxTotalFileBytes + this.display.room + MAX_CONTROL_BYTES_PER_RUN) {
      this.stop();
      return false;
    }
    try {
      let at = 0;
      while (at < chunk.length && !this.stopped) at = this.step(chunk, at);
    } catch {
      this.stop(); // a bug of ours costs the guest its report, never the host its process
    }
    return true;
  }

  /** Whether it stopped reading (malformed input or a budget spent). */
  get done(): boolean {
    return this.stopped;
  }

  private stop(why?: string): void {
    if (why && !this.stopped) this.limits.calls?.onViolation(why);
    this.stopped = true;
    this.payload = null;
    this.raw = null;
  }

  /** Consumes what it can of chunk from `at`; returns the new position. */
  private step(chunk: Buffer, at: number): number {
    if (this.raw) {
      const raw = this.raw;
      const n = Math.min(raw.left, chunk.length - at);
      raw.data?.set(chunk.subarray(at, at + n), raw.data.length - raw.left);
      raw.left -= n;
      if (raw.left === 0) {
        this.raw = null;
        raw.end();
      }
      return at + n;
    }
    if (this.payload) {
      const n = Math.min(this.payload.length - this.payloadFill, chunk.length - at);
      chunk.copy(this.payload, this.payloadFill, at, at + n);
      this.payloadFill += n;
      if (this.payloadFill === this.payload.length) {
        const payload = this.payload;
        this.payload = null;
        if (this.payloadIsCall) this.limits.calls?.onCall(payload);
        else this.accept(payload);
      }
      return at + n;
    }
    const n = Math.min(4 - this.headFill, chunk.length - at);
    chunk.copy(this.head, this.headFill, at, at + n);
    this.headFill += n;
    if (this.headFill === 4) {
      this.headFill = 0;
      // Refused at the header: nothing is allocated for a length that does not fit. Host
      // calls have their own bounds (host-calls.ts), not the control budget.
      const header = frameHeader(this.head.readUInt32BE(0), MAX_CONTROL_FRAME_BYTES, this.limits.calls?.maxFrameBytes ?? null);
      const size = header?.size ?? 0;
      if (header?.call) this.received -= 4 + size; // (at most one call's bytes ahead of the drain bound)
      else if (header) {
        this.frames++;
        this.controlBytes += 4 + size;
      }
      if (!header) this.stop('a frame of a length out of line');
      else if (this.controlBytes > MAX_CONTROL_BYTES_PER_RUN || this.frames - Math.min(this.displayFrames, MAX_OUTPUTS + 1) > this.limits.maxFiles + 8 + (this.limits.onInput ? MAX_INPUT_REQUESTS : 0)) {
        this.stop();
      } else {
        this.payloadIsCall = header.call;
        this.payload = Buffer.allocUnsafe(size);
        this.payloadFill = 0;
      }
    }
    return at + n;
  }

  private accept(payload: Buffer): void {
    let value: unknown;
    try {
      value = JSON.parse(payload.toString('utf8'));
    } catch {
      return this.stop('a frame that is not JSON');
    }
    const frame = frameSchema.safeParse(value);
    if (!frame.success) return this.stop('a frame of no known shape');
    const f = frame.data;
    if (f.t === 'ready') this.report.ready = true;
    else if (f.t === 'warm') return; // for the pool, before the request (see zygote.ts)
    else if (f.t === 'error') this.report.error ??= { type: f.type, message: f.message, traceback: f.traceback };
    else if (f.t === 'input') {
      if (!this.limits.onInput) return this.stop();
      this.limits.onInput(f.seq, f.prompt);
    } else if (f.t === 'display') this.startDisplay(f);
    else this.startFile(f.path, f.size);
  }

  /** A display body over the run's budget was not announced by the guest's own bookkeeping: the decoder stops. */
  private startDisplay(header: z.infer<typeof displayHeaderSchema>): void {
    if (header.value) return this.stop(); // a session's alone
    this.displayFrames++;
    const body = this.display.begin(header);
    if (!body) return this.stop();
    this.expectRaw(body.data, body.left, () => this.display.end(body));
  }

  /** `left` raw bytes come next, into `data` (or dropped); then `end`. */
  private expectRaw(data: Buffer | null, left: number, end: () => void): void {
    if (left === 0) end();
    else this.raw = { data, left, end };
  }

  private startFile(rawPath: string, size: number): void {
    // Every byte announced counts against the budget, kept or skipped: a run cannot make
    // the host read more than its collect budget, whatever it sends.
    if (size > this.limits.maxTotalFileBytes - this.fileBytes) return this.stop();
    this.fileBytes += size;
    const path = normaliseWorkspacePath(rawPath);
    const wanted = path !== null && !(path in this.report.files) && this.fileCount < this.limits.maxFiles && this.asked(path);
    if (this.stopped) return;
    if (wanted) this.fileCount++;
    const data = wanted ? Buffer.allocUnsafe(size) : null;
    this.expectRaw(data, size, () => {
      if (data && path !== null) this.report.files[path] = new Uint8Array(data.buffer, data.byteOffset, data.length);
    });
  }

  /** Whether the run asked for this path, within the run's matching budget (spent: stop). */
  private asked(path: string): boolean {
    const started = performance.now();
    const yes = this.limits.collect.matches(path, started + MATCH_BUDGET_MS - this.matchMs);
    this.matchMs += performance.now() - started;
    if (this.matchMs > MATCH_BUDGET_MS) this.stop();
    return yes;
  }
}
