import type { OutputListener } from '../../../core/output.js';

/**
 * Hands a run's output to the caller's listener while the run goes on. Output is held
 * until the guest's `ready` frame: before it, only bwrap or the bootstrap can write (a jail
 * that never came up is reported as internal_error, not as the program's output). Each
 * chunk is a copy, so the listener cannot change the result. A listener that throws is
 * not called again; the result still holds the whole output.
 */
export class OutputTap {
  private held: ['stdout' | 'stderr', Buffer][] | null = [];

  constructor(private listener: OutputListener | null) {}

  push(stream: 'stdout' | 'stderr', chunk: Buffer): void {
    if (!this.listener || chunk.length === 0) return;
    if (this.held) this.held.push([stream, chunk]);
    else this.deliver(stream, chunk);
  }

  /** The guest is up: what was held, then everything as it comes. */
  open(): void {
    const held = this.held ?? [];
    this.held = null;
    for (const [stream, chunk] of held) this.deliver(stream, chunk);
  }

  private deliver(stream: 'stdout' | 'stderr', chunk: Buffer): void {
    try {
      this.listener?.(stream, new Uint8Array(chunk));
    } catch {
      this.listener = null;
    }
  }
}
