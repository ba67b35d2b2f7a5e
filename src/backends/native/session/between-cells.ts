/** What a session's program may write to each stream between cells (a thread or a daemon it left running), held for the next cell. */
export const BETWEEN_CELLS_BYTES = 64 * 1024;

type Stream = 'stdout' | 'stderr';

/**
 * Output that came while no cell ran: kept, up to BETWEEN_CELLS_BYTES a stream, for the
 * next cell, whose stdout and stderr get it first (and whose `truncated` marks a stream
 * that had more).
 */
export class BetweenCells {
  private chunks: [Stream, Buffer][] = [];
  private kept: Record<Stream, number> = { stdout: 0, stderr: 0 };
  private truncated: Record<Stream, boolean> = { stdout: false, stderr: false };

  push(stream: Stream, chunk: Buffer): void {
    const room = BETWEEN_CELLS_BYTES - this.kept[stream];
    if (chunk.length > room) this.truncated[stream] = true;
    if (room <= 0) return;
    const kept = chunk.length > room ? chunk.subarray(0, room) : chunk;
    this.chunks.push([stream, kept]);
    this.kept[stream] += kept.length;
  }

  /** Everything held (and which streams lost some), emptied for the next quiet time. */
  take(): { chunks: [Stream, Buffer][]; truncated: Record<Stream, boolean> } {
    const taken = { chunks: this.chunks, truncated: this.truncated };
    this.chunks = [];
    this.kept = { stdout: 0, stderr: 0 };
    this.truncated = { stdout: false, stderr: false };
    return taken;
  }
}
