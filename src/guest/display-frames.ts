import { StringDecoder } from 'node:string_decoder';
import { z } from 'zod';
import { MAX_OUTPUTS, type DisplayListener, type DisplayOutput } from '../core/outputs.js';

/**
 * Rich output from the guest (src/guest/python/pybox_module.py): a control frame
 * {t:"display", size, at, value?}, then exactly `size` raw bytes, the bundle as UTF-8 JSON
 * {data, metadata?}. `at` is how many bytes the program had written through sys.stdout
 * before it; `value` marks a session cell's last expression. size 0: the guest dropped
 * one over its budget. Everything here is guest-made: each size is held to the run's
 * displayBytes before a byte is kept, each bundle to the schema below.
 */
export const displayHeaderSchema = z.object({
  t: z.literal('display'),
  size: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  at: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  value: z.boolean().optional(),
});
export type DisplayHeader = z.infer<typeof displayHeaderSchema>;

const MIME_TYPE = /^[a-z]+\/[A-Za-z0-9.+_-]{1,120}$/;
const bundleSchema = z
  .object({
    data: z.record(z.string().regex(MIME_TYPE), z.string()).refine((d) => Object.keys(d).length > 0 && Object.keys(d).length <= 32),
    metadata: z.record(z.string().max(256), z.unknown()).optional(),
  })
  .strict();

/** A display frame's body as it arrives: kept (within budget) or only counted. */
export interface DisplayBody {
  header: DisplayHeader;
  data: Buffer | null;
  left: number;
}

/** An output whose stdout position is still in bytes (converted once its stdout is known). */
interface PendingOutput {
  output: DisplayOutput;
  at: number;
}

/**
 * One run's (or cell's) rich outputs, checked and bounded: at most `limitBytes` of bodies
 * are ever allocated, at most MAX_OUTPUTS kept. What does not fit or does not parse is
 * dropped and marks `truncated`.
 */
export class DisplayCollector {
  private readonly pending: PendingOutput[] = [];
  private bytes = 0;
  truncated = false;
  /** A session cell's last expression's bundle (without text/plain). */
  valueData: Record<string, string> | null = null;

  constructor(
    private readonly limitBytes: number,
    private readonly onDisplay?: DisplayListener,
    /** Stdout bytes received so far: where a listener's output falls, as far as known. */
    private readonly stdoutSoFar: () => Buffer = () => Buffer.alloc(0),
  ) {}

  /** How many body bytes this run may still send. */
  get room(): number {
    return this.limitBytes - this.bytes;
  }

  /**
   * A header: the body to fill, or null when the header breaks the budget (the guest's
   * own bookkeeping never sends that: the caller treats it as a broken protocol).
   */
  begin(header: DisplayHeader): DisplayBody | null {
    if (header.size === 0) {
      this.truncated = true; // the guest dropped one itself
      return { header, data: null, left: 0 };
    }
    if (header.size > this.room) {
      this.truncated = true;
      return null;
    }
    this.bytes += header.size;
    const keep = header.value === true || this.pending.length < MAX_OUTPUTS;
    if (!keep) this.truncated = true;
    return { header, data: keep ? Buffer.allocUnsafe(header.size) : null, left: header.size };
  }

  /** The body is complete. */
  end(body: DisplayBody): void {
    if (!body.data) return;
    let parsed: z.infer<typeof bundleSchema>;
    try {
      const checked = bundleSchema.safeParse(JSON.parse(body.data.toString('utf8')));
      if (!checked.success) throw new Error('malformed');
      parsed = checked.data;
    } catch {
      this.truncated = true;
      return;
    }
    if (body.header.value) {
      const { ['text/plain']: _text, ...rest } = parsed.data;
      this.valueData = Object.keys(rest).length > 0 ? rest : null;
      return;
    }
    const output: DisplayOutput = { type: 'display', data: parsed.data, stdoutOffset: 0 };
    if (parsed.metadata && Object.keys(parsed.metadata).length > 0) output.metadata = parsed.metadata;
    this.pending.push({ output, at: body.header.at });
    if (this.onDisplay) {
      const listener = this.onDisplay;
      // What the program printed before it is in the stdout pipe already: read it first.
      setImmediate(() =>
        setImmediate(() => {
          try {
            listener({ ...output, stdoutOffset: charsIn(this.stdoutSoFar(), body.header.at) });
          } catch {
            /* a listener's failure is the caller's: the run goes on */
          }
        }),
      );
    }
  }

  /** The outputs, their stdout positions counted in the characters of `stdout` (the bytes kept). */
  outputs(stdout: Buffer): DisplayOutput[] {
    const offsets = [...new Set(this.pending.map((p) => p.at))].sort((a, b) => a - b);
    const chars = new Map<number, number>();
    const decoder = new StringDecoder('utf8');
    let bytes = 0;
    let count = 0;
    for (const at of offsets) {
      const end = Math.min(at, stdout.length);
      if (end > bytes) count += decoder.write(stdout.subarray(bytes, end)).length;
      bytes = Math.max(bytes, end);
      chars.set(at, count);
    }
    return this.pending.map((p) => ({ ...p.output, stdoutOffset: chars.get(p.at) ?? 0 }));
  }
}

/** Characters (UTF-16 units) in the first `at` bytes of `stdout`, whole characters only. */
function charsIn(stdout: Buffer, at: number): number {
  return new StringDecoder('utf8').write(stdout.subarray(0, Math.min(at, stdout.length))).length;
}
