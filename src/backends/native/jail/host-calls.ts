import type { HostCallHandler } from '../../../core/hooks.js';
import { encodeHostResult, type EncodedResult } from '../../../core/host-functions.js';
import type { Limits } from '../../../core/limits.js';
import { encodeReturn, maxCallFrameBytes, parseCallFrame } from '../../../guest/host-call-frames.js';

/** A HostError's message as the guest gets it: the JS error's message, cut. */
const MAX_ERROR_CHARS = 8 * 1024;

export interface HostCallDoorOptions {
  /** The functions the program was told of: a call of any other name is forged. */
  names: readonly string[];
  handler: HostCallHandler;
  limits: Pick<Limits, 'hostCallTimeoutMs' | 'hostCalls' | 'hostCallBytes'>;
  /** Writes an answer frame to the guest (fd 3). */
  answer: (frame: Buffer) => void;
  /** The guest broke the call protocol: the caller ends the run or session (it may wait on an answer that will not come). */
  violation: (why: string) => void;
}

/**
 * The only way out of the jail a caller can open: each call frame the guest sends (already
 * bounded in size by the frame decoder) is checked here, then handed to the caller's
 * function, and its answer written back. One call is in flight at a time (the guest
 * serialises its threads' calls; a second frame before the answer is forged, as is a name
 * the run did not register or a frame of the wrong shape): anything out of line is a
 * violation, never an exception. Each call is held to hostCallTimeoutMs, each run (or
 * cell) to hostCalls, each result to hostCallBytes.
 */
export class HostCallDoor {
  readonly maxFrameBytes: number;
  private readonly names: ReadonlySet<string>;
  private inFlight: { id: number; name: string } | null = null;
  private calls = 0;
  private closed = false;
  /** One timer, restarted at each call (cheaper than one per call): when it fires, the call in flight has taken hostCallTimeoutMs. */
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly options: HostCallDoorOptions) {
    this.names = new Set(options.names);
    this.maxFrameBytes = maxCallFrameBytes(options.limits.hostCallBytes);
  }

  private armTimer(): void {
    if (this.timer) this.timer.refresh();
    else {
      const ms = this.options.limits.hostCallTimeoutMs;
      this.timer = setTimeout(() => {
        const call = this.inFlight;
        if (call) this.settle(call, { ok: false, error: `host function ${call.name} timed out after ${ms} ms (hostCallTimeoutMs)` });
      }, ms);
      this.timer.unref(); // the run (or a session's caller) holds the event loop, not a call
    }
  }

  /** A session's next cell: its calls are counted anew. */
  nextCell(): void {
    this.calls = 0;
  }

  /** A call frame's payload, from the decoder of fd 4. */
  readonly onCall = (payload: Buffer): void => {
    if (this.closed) return;
    const frame = parseCallFrame(payload);
    if (!frame) return this.violate('a malformed host call frame');
    if (this.inFlight) return this.violate('a host call before the answer to the one in flight');
    if (!this.names.has(frame.name)) return this.violate(`a call of ${JSON.stringify(frame.name)}, which is no host function of this run`);
    const { hostCalls } = this.options.limits;
    if (++this.calls > hostCalls) return this.send(frame.id, { ok: false, error: `host call limit reached (hostCalls: ${hostCalls})` });
    const call = { id: frame.id, name: frame.name };
    this.inFlight = call;
    this.armTimer();
    const settle = (answer: EncodedResult) => this.settle(call, answer);
    const { handler } = this.options;
    Promise.resolve()
      .then(() => handler(frame.name, frame.args))
      .then(
        (value) => settle(this.checked(frame.name, encodeHostResult(value))),
        (error: unknown) => settle({ ok: false, error: errorMessage(error) }),
      )
      .catch(() => undefined); // settle never throws (send guards the write): nothing to report
  };

  private settle(call: { id: number; name: string }, answer: EncodedResult): void {
    if (this.inFlight !== call) return; // timed out already, or the run is over
    this.inFlight = null;
    this.send(call.id, answer);
  }

  /** The run or session is over: answers still to come are dropped. */
  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.inFlight = null;
  }

  private checked(name: string, result: EncodedResult): EncodedResult {
    if (!result.ok) return result;
    const bytes = Buffer.byteLength(result.json, 'utf8');
    const max = this.options.limits.hostCallBytes;
    return bytes <= max ? result : { ok: false, error: `the result of ${name} is ${bytes} bytes of JSON; the limit (hostCallBytes) is ${max}` };
  }

  private send(id: number, answer: EncodedResult): void {
    if (this.closed) return;
    try {
      this.options.answer(encodeReturn(id, answer));
    } catch {
      /* the guest's pipe is gone: the run is ending */
    }
  }

  private violate(why: string): void {
    this.close();
    this.options.violation(why);
  }
}

function errorMessage(error: unknown): string {
  let text: string;
  try {
    text = error instanceof Error ? error.message : String(error);
  } catch {
    text = 'the host function failed';
  }
  return text.length <= MAX_ERROR_CHARS ? text : text.slice(0, MAX_ERROR_CHARS) + '...';
}
