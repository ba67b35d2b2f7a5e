import { z } from 'zod';
import type { PythonError } from '../sandbox/result.js';
import { matchesAnyGlob } from './glob.js';

/** What the host sends on the guest's fd 3, once, before the program runs. */
export interface GuestRequest {
  code: string;
  filename: string;
  argv: string[];
  /** [resource name, soft, hard]; the guest lowers both before the program runs. */
  rlimits: [string, number, number][];
  /** [workspace-relative path, base64 content] */
  files: [string, string][];
  collect: string[];
  maxFiles: number;
  maxFileBytes: number;
  policy: 'strict' | 'off';
  /** Under 'strict': the BPF program the guest stacks before the program runs (empty under 'off'). */
  seccomp: Uint8Array;
  extraPaths: string[];
}

export function encodeRequest(request: GuestRequest): Buffer {
  return Buffer.from(JSON.stringify(request), 'utf8');
}

/** Frames the guest may send on fd 4. Anything else is ignored: the guest is not trusted. */
const errorFrame = z.object({
  t: z.literal('error'),
  type: z.string().max(256).regex(/^[A-Za-z_][A-Za-z0-9_.]*$/), // an identifier: no terminal escapes
  message: z.string().max(64 * 1024),
  traceback: z.string().max(256 * 1024),
});
const fileFrame = z.object({
  t: z.literal('file'),
  path: z.string().min(1).max(4096),
  data: z.string(),
});
const readyFrame = z.object({ t: z.literal('ready') });
/** A zygote's child is set up and waits for its request (nothing of a program has run yet). */
const warmFrame = z.object({ t: z.literal('warm') });
const frameSchema = z.discriminatedUnion('t', [readyFrame, warmFrame, errorFrame, fileFrame]);

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
  /** Collect patterns of the run: a file frame for anything else was not asked for. */
  collect: readonly string[];
  maxFrameBytes: number;
  maxFiles: number;
  maxTotalFileBytes: number;
}

/**
 * Incrementally decodes the length-prefixed JSON frames of fd 4. It keeps at most
 * one frame in memory, stops at the first malformed frame, and never throws.
 */
export class FrameDecoder {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private broken = false;
  private fileBytes = 0;
  readonly report: GuestReport = { ready: false, error: null, files: Object.create(null) as Record<string, Uint8Array> };

  constructor(private readonly limits: FrameLimits) {}

  push(chunk: Buffer): void {
    if (this.broken) return;
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    // Join chunks only once a whole frame is there: a big frame arriving in many small
    // chunks must cost linear time, not quadratic.
    while (this.pendingBytes >= 4) {
      const head = this.pending[0]!.length >= 4 ? this.pending[0]! : Buffer.concat(this.pending, 4);
      const size = head.readUInt32BE(0);
      if (size > this.limits.maxFrameBytes) return this.fail();
      if (this.pendingBytes < 4 + size) return;
      const all = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending, this.pendingBytes);
      this.accept(all.subarray(4, 4 + size));
      if (this.broken) return;
      const rest = all.subarray(4 + size);
      this.pending = rest.length ? [rest] : [];
      this.pendingBytes = rest.length;
    }
  }

  private fail(): void {
    this.broken = true;
    this.pending = [];
    this.pendingBytes = 0;
  }

  private accept(payload: Buffer): void {
    let value: unknown;
    try {
      value = JSON.parse(payload.toString('utf8'));
    } catch {
      return this.fail();
    }
    const frame = frameSchema.safeParse(value);
    if (!frame.success) return this.fail();
    const f = frame.data;
    if (f.t === 'ready') {
      this.report.ready = true;
      return;
    }
    if (f.t === 'warm') return; // for the pool, before the request (see zygote.ts)
    if (f.t === 'error') {
      this.report.error ??= { type: f.type, message: f.message, traceback: f.traceback };
      return;
    }
    const path = normaliseWorkspacePath(f.path);
    if (path === null || path in this.report.files || !matchesAnyGlob(path, this.limits.collect)) return;
    if (Object.keys(this.report.files).length >= this.limits.maxFiles) return;
    const data = Buffer.from(f.data, 'base64');
    if (this.fileBytes + data.length > this.limits.maxTotalFileBytes) return;
    this.fileBytes += data.length;
    this.report.files[path] = new Uint8Array(data.buffer, data.byteOffset, data.length);
  }
}

/**
 * A safe workspace-relative path, or null. Accepts `a/b.txt` and `/workspace/a/b.txt`;
 * refuses absolute paths elsewhere, `..`, empty or dot components, NUL and control bytes.
 */
export function normaliseWorkspacePath(input: string): string | null {
  let path = input;
  if (path.startsWith('/workspace/')) path = path.slice('/workspace/'.length);
  if (path.length === 0 || path.length > 4096 || path.startsWith('/')) return null;
  const parts = path.split('/');
  for (const part of parts) {
    if (part === '' || part === '.' || part === '..' || part.length > 255) return null;
    // eslint-disable-next-line no-control-regex
    if (/[\u0000-\u001f\u007f]/.test(part)) return null;
  }
  return parts.join('/');
}
