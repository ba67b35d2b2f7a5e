import { z } from 'zod';
import { marshal } from './marshal.js';
import { lengthPrefixed } from './protocol.js';

/**
 * Host calls on the guest's pipes (src/guest/python/host_calls.py). The guest sends a call
 * on fd 4 as a frame whose length has CALL_FRAME_FLAG set: [u32 (0x80000000 | n)][n bytes of
 * JSON {t:"call", id, name, args}]. The flag lets a decoder know at the header that the
 * frame is a call, so a call's size is bounded by the run's hostCallBytes (not by the 64 KiB
 * of a control frame) and does not spend the control budget; a run without host functions
 * refuses it at the header like any other oversized frame. The host answers on fd 3 with a
 * marshal frame {t:"ret", id, ok, value (JSON text) | error}.
 */
export const CALL_FRAME_FLAG = 0x8000_0000;
/** What a call frame holds besides its arguments' JSON: {"t":"call","id":…,"name":"…","args":…}. */
export const CALL_FRAME_OVERHEAD = 256;

/** The largest call frame a run with this hostCallBytes accepts. */
export function maxCallFrameBytes(hostCallBytes: number): number {
  return hostCallBytes + CALL_FRAME_OVERHEAD;
}

export const callFrameSchema = z
  .object({
    t: z.literal('call'),
    id: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
    name: z.string().min(1).max(64),
    args: z.array(z.unknown()),
  })
  .strict();

export type CallFrame = z.infer<typeof callFrameSchema>;

/**
 * Parses a call frame's payload; null when it is not one. Checked by hand, to the letter of
 * callFrameSchema (test/host-functions.test.ts holds them equal): it is on every call's path.
 */
export function parseCallFrame(payload: Buffer): CallFrame | null {
  let v: unknown;
  try {
    v = JSON.parse(payload.toString('utf8'));
  } catch {
    return null;
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return null;
  const f = v as Record<string, unknown>;
  const keys = Object.keys(f);
  if (keys.length !== 4 || f.t !== 'call' || !Array.isArray(f.args)) return null;
  const { id, name } = f;
  if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 1) return null;
  if (typeof name !== 'string' || name.length < 1 || name.length > 64) return null;
  return { t: 'call', id, name, args: f.args as unknown[] };
}

const RET_HEAD = Buffer.from('{z\x01tz\x03retz\x02idi', 'latin1');

/**
 * The answer to call `id`: the result's JSON text, or the message of the HostError it
 * raises. The marshal of {t:"ret", id, ok, value | error}, built in one buffer (it is on
 * every call's path; `marshal` of the same dict reads back the same).
 */
export function encodeReturn(id: number, answer: { ok: true; json: string } | { ok: false; error: string }): Buffer {
  const text = answer.ok ? answer.json : answer.error;
  if (id > 0x7fff_ffff) return lengthPrefixed(marshal(answer.ok ? { t: 'ret', id, ok: true, value: text } : { t: 'ret', id, ok: false, error: text }));
  const tail = answer.ok ? 'z\x02okTz\x05valueu' : 'z\x02okFz\x05erroru';
  const textBytes = Buffer.byteLength(text, 'utf8');
  const size = RET_HEAD.length + 4 + tail.length + 4 + textBytes + 1;
  const b = Buffer.allocUnsafe(4 + size);
  let at = b.writeUInt32BE(size, 0);
  at += RET_HEAD.copy(b, at);
  at = b.writeInt32LE(id, at);
  at += b.write(tail, at, 'latin1');
  at = b.writeInt32LE(textBytes, at);
  at += b.write(text, at, 'utf8');
  b.write('0', at, 'latin1');
  return b;
}

/**
 * Reads one frame header for a decoder of fd 4: a call (flag set) of at most `maxCall`
 * bytes when the run takes calls, or a control frame of at most `maxControl`. Null: the
 * header is out of line (zero, too long, or a call the run does not take).
 */
export function frameHeader(word: number, maxControl: number, maxCall: number | null): { call: boolean; size: number } | null {
  const call = (word & CALL_FRAME_FLAG) !== 0;
  const size = word & ~CALL_FRAME_FLAG;
  if (size === 0) return null;
  if (call) return maxCall !== null && size <= maxCall ? { call, size } : null;
  return size <= maxControl ? { call, size } : null;
}
