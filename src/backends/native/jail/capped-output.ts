import type { OutputTap } from './output-tap.js';

type Stream = 'stdout' | 'stderr';

/**
 * A program's stdout and stderr as they arrive: counted in full, kept (and handed to the
 * tap) only up to the output limit. Past it, `overLimit` is called (once per chunk over).
 */
export class CappedOutput {
  private readonly kept: Record<Stream, Buffer[]> = { stdout: [], stderr: [] };
  readonly truncated: Record<Stream, boolean> = { stdout: false, stderr: false };
  private total = 0;

  constructor(
    private readonly limitBytes: number,
    private readonly tap: OutputTap,
    private readonly overLimit: () => void,
  ) {}

  push(stream: Stream, chunk: Buffer): void {
    const room = this.limitBytes - this.total;
    this.total += chunk.length;
    if (room > 0) {
      const kept = room >= chunk.length ? chunk : chunk.subarray(0, room);
      this.kept[stream].push(kept);
      this.tap.push(stream, kept);
    }
    if (chunk.length > room) {
      this.truncated[stream] = true;
      this.overLimit();
    }
  }

  /** The stdout bytes kept so far (what `text().stdout` decodes). */
  stdoutBytes(): Buffer {
    const kept = this.kept.stdout;
    if (kept.length > 1) this.kept.stdout = [Buffer.concat(kept)];
    return this.kept.stdout[0] ?? Buffer.alloc(0);
  }

  text(): { stdout: string; stderr: string } {
    return { stdout: Buffer.concat(this.kept.stdout).toString('utf8'), stderr: Buffer.concat(this.kept.stderr).toString('utf8') };
  }
}
