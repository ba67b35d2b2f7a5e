import { z } from 'zod';
import { frameHeader } from './host-call-frames.js';
import { isInt32, marshal, type MarshalValue } from './marshal.js';
import { displayHeaderSchema, type DisplayBody, type DisplayCollector } from './display-frames.js';
import { errorFrameSchema, inputFrameSchema, lengthPrefixed, MAX_CONTROL_BYTES_PER_RUN, MAX_CONTROL_FRAME_BYTES } from './protocol.js';

/**
 * The session protocol (see src/guest/python/session.py). The host sends marshal frames on
 * fd 3: a cell, or the answer to an input request. The guest sends JSON frames on fd 4:
 * ready, an input request, an error, rich output (a header, then its body's raw bytes),
 * a cell's end. Every frame the guest sends is checked
 * here: its length before anything is allocated, its shape against the schema, and what
 * one cell may send in all. The first frame out of line ends the session.
 */

/** The repr of a cell's last expression, as the guest cuts it (MAX_VALUE_CHARS there). */
export const MAX_VALUE_CHARS = 10_000;

const sessionFrameSchema = z.discriminatedUnion('t', [
  z.object({ t: z.literal('ready') }),
  z.object({ t: z.literal('warm') }),
  z.object({ t: z.literal('started'), n: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER) }),
  errorFrameSchema,
  inputFrameSchema,
  displayHeaderSchema,
  z.object({ t: z.literal('done'), n: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER), value: z.string().max(MAX_VALUE_CHARS + 3).nullable() }),
]);

export type SessionFrame = z.infer<typeof sessionFrameSchema>;
type DoneFrame = Extract<SessionFrame, { t: 'done' }>;

/** `value` as a done frame (what the schema takes: extra keys are dropped), or null for zod to judge. */
function doneFrame(value: unknown): DoneFrame | null {
  if (typeof value !== 'object' || value === null || (value as { t?: unknown }).t !== 'done') return null;
  const { n, value: text } = value as { n?: unknown; value?: unknown };
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) return null;
  if (text !== null && (typeof text !== 'string' || text.length > MAX_VALUE_CHARS + 3)) return null;
  return { t: 'done', n, value: text };
}

/** A cell for the guest: [length][marshal]. `drain`: the host sent a SIGINT during the cell before (see session.py). */
export function encodeCell(n: number, code: string, cpuSeconds: number, displayBytes: number, drain = false): Buffer {
  if (![n, cpuSeconds, displayBytes].every(isInt32)) {
    const cell: MarshalValue = { t: 'cell', n, code, cpuSeconds, displayBytes };
    return lengthPrefixed(marshal(drain ? { ...cell, drain } : cell));
  }
  // Every cell sends one: written into one buffer, byte for byte what marshal(cell) makes.
  const codeBytes = Buffer.byteLength(code, 'utf8');
  const tail = drain ? CELL_PARTS.drainTail : CELL_PARTS.tail;
  const size = CELL_PARTS.head.length + 4 + CELL_PARTS.code.length + 4 + codeBytes + CELL_PARTS.cpu.length + 4 + CELL_PARTS.display.length + 4 + tail.length;
  const b = Buffer.allocUnsafe(4 + size);
  let at = b.writeUInt32BE(size, 0);
  at += CELL_PARTS.head.copy(b, at);
  at = b.writeInt32LE(n, at);
  at += CELL_PARTS.code.copy(b, at);
  at = b.writeInt32LE(codeBytes, at);
  at += b.write(code, at, 'utf8');
  at += CELL_PARTS.cpu.copy(b, at);
  at = b.writeInt32LE(cpuSeconds, at);
  at += CELL_PARTS.display.copy(b, at);
  at = b.writeInt32LE(displayBytes, at);
  tail.copy(b, at);
  return b;
}

/** A marshalled str: 'u', its length, its bytes (the keys are ASCII). */
const mstr = (s: string): string => `u${String.fromCharCode(s.length & 0xff, s.length >> 8, 0, 0)}${s}`;
const CELL_PARTS = {
  head: Buffer.from(`{${mstr('t')}${mstr('cell')}${mstr('n')}i`, 'latin1'),
  code: Buffer.from(`${mstr('code')}u`, 'latin1'),
  cpu: Buffer.from(`${mstr('cpuSeconds')}i`, 'latin1'),
  display: Buffer.from(`${mstr('displayBytes')}i`, 'latin1'),
  tail: Buffer.from('0', 'latin1'),
  drainTail: Buffer.from(`${mstr('drain')}T0`, 'latin1'),
};

/** The answer to input request `seq`: a line (with its newline), or null for the end of input. Runs with onInput use it too. */
export function encodeLine(seq: number, text: string | null, echo: boolean): Buffer {
  return lengthPrefixed(marshal({ t: 'line', seq, text, echo }));
}

/**
 * Splits fd 4 of a session into checked frames. `onFrame` gets each; `push` answers false
 * once the guest broke the protocol (a frame too long, malformed, or over a cell's budget).
 */
export class SessionFrameReader {
  private readonly head = Buffer.alloc(4);
  private headFill = 0;
  private payload: Buffer | null = null;
  private payloadFill = 0;
  private body: DisplayBody | null = null;
  private bodyOf: DisplayCollector | null = null;
  private payloadIsCall = false;
  private cellBytes = 0;
  private broken = false;

  /**
   * `display`: where the running cell's rich output goes (between cells: one that is dropped).
   * `calls`: a session with host functions, and its call frames' bound (see host-call-frames.ts).
   */
  constructor(
    private readonly onFrame: (frame: SessionFrame) => void,
    private readonly display: () => DisplayCollector,
    private readonly calls: { maxFrameBytes: number; onCall: (payload: Buffer) => void } | null = null,
  ) {}

  /** A new cell: its frames get a new budget. */
  nextCell(): void {
    this.cellBytes = 0;
  }

  get ok(): boolean {
    return !this.broken;
  }

  push(chunk: Buffer): boolean {
    let at = 0;
    while (at < chunk.length && !this.broken) {
      if (this.body) {
        const body = this.body;
        const n = Math.min(body.left, chunk.length - at);
        body.data?.set(chunk.subarray(at, at + n), body.data.length - body.left);
        body.left -= n;
        at += n;
        if (body.left === 0) this.endBody(body);
        continue;
      }
      if (this.payload) {
        const n = Math.min(this.payload.length - this.payloadFill, chunk.length - at);
        chunk.copy(this.payload, this.payloadFill, at, at + n);
        this.payloadFill += n;
        at += n;
        if (this.payloadFill === this.payload.length) {
          const payload = this.payload;
          this.payload = null;
          if (this.payloadIsCall) this.calls?.onCall(payload);
          else this.accept(payload);
        }
        continue;
      }
      const n = Math.min(4 - this.headFill, chunk.length - at);
      chunk.copy(this.head, this.headFill, at, at + n);
      this.headFill += n;
      at += n;
      if (this.headFill < 4) continue;
      this.headFill = 0;
      const header = frameHeader(this.head.readUInt32BE(0), MAX_CONTROL_FRAME_BYTES, this.calls?.maxFrameBytes ?? null);
      const size = header?.size ?? 0;
      if (header && !header.call) this.cellBytes += 4 + size; // calls have their own bounds (host-calls.ts)
      if (!header || this.cellBytes > MAX_CONTROL_BYTES_PER_RUN) this.broken = true;
      else {
        this.payloadIsCall = header.call;
        this.payload = Buffer.allocUnsafe(size);
        this.payloadFill = 0;
      }
    }
    return !this.broken;
  }

  private accept(payload: Buffer): void {
    let value: unknown;
    try {
      value = JSON.parse(payload.toString('utf8'));
    } catch {
      this.broken = true;
      return;
    }
    // A cell's end is the one frame every cell sends: checked by hand (as strictly), not by zod.
    const done = doneFrame(value);
    if (done) return this.onFrame(done);
    const frame = sessionFrameSchema.safeParse(value);
    if (!frame.success) {
      this.broken = true;
      return;
    }
    const f = frame.data;
    if (f.t !== 'display') return this.onFrame(f);
    // A body over the cell's budget is not what the guest's own bookkeeping sends: out of line.
    const collector = this.display();
    const body = collector.begin(f);
    if (!body) {
      this.broken = true;
      return;
    }
    this.bodyOf = collector;
    if (body.left === 0) this.endBody(body);
    else this.body = body;
  }

  private endBody(body: DisplayBody): void {
    this.body = null;
    this.bodyOf?.end(body);
    this.bodyOf = null;
  }
}
