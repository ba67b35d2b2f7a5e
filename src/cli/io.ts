import type { Readable, Writable } from 'node:stream';

/** Where a CLI command reads and writes; the real process streams at the entry point. */
export interface CliIO {
  stdout: Writable;
  stderr: Writable;
  stdin: Readable;
}

/** The process streams; stdin is touched only when a command reads it. */
export function processIO(): CliIO {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    get stdin() {
      return process.stdin;
    },
  };
}

/**
 * Writes and waits until the stream has taken the data, so a large JSON object is
 * handed to the OS before the caller reports an exit code. A closed reader (EPIPE)
 * is not an error of ours: the data is simply dropped.
 */
export function writeAll(stream: Writable, data: string | Uint8Array): Promise<void> {
  if (data.length === 0 || stream.destroyed || stream.writableEnded) return Promise.resolve();
  return new Promise((resolve) => {
    try {
      stream.write(data, () => resolve());
    } catch {
      resolve();
    }
  });
}

/** Reads a stream to its end, refusing more than `maxBytes` (returns null when exceeded). */
export async function readStreamBounded(stream: Readable, maxBytes: number): Promise<Buffer | null> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of stream) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : (chunk as Buffer);
    total += buf.length;
    if (total > maxBytes) {
      stream.destroy();
      return null;
    }
    chunks.push(buf);
  }
  return Buffer.concat(chunks);
}
