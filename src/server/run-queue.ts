import { HttpError } from './http-error.js';

/**
 * A bounded queue in front of the sandbox: at most `concurrency` runs at once, at most
 * `capacity` more waiting. Past that a caller gets 503 at once instead of piling up
 * memory and latency; after `close()` every new caller does.
 */
export class RunQueue {
  private running = 0;
  private readonly waiting: (() => void)[] = [];
  private closed = false;
  private idleWaiters: (() => void)[] = [];

  constructor(
    readonly concurrency: number,
    readonly capacity: number,
  ) {}

  get depth(): number {
    return this.waiting.length;
  }

  get active(): number {
    return this.running;
  }

  /** Resolves to a release function once a slot is free; throws 503 when full or closed. */
  async acquire(): Promise<() => void> {
    if (this.closed) throw new HttpError(503, 'E_SHUTTING_DOWN', 'the server is shutting down', 5);
    if (this.running >= this.concurrency) {
      if (this.waiting.length >= this.capacity) {
        throw new HttpError(503, 'E_BUSY', `the run queue is full (${this.capacity} waiting)`, 1);
      }
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else {
      this.running++;
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiting.shift();
      if (next) next(); // the slot passes straight to the next caller
      else {
        this.running--;
        if (this.running === 0) for (const w of this.idleWaiters.splice(0)) w();
      }
    };
  }

  /** Refuses new callers; resolves once every queued and running run is done. */
  async drain(): Promise<void> {
    this.closed = true;
    if (this.running === 0 && this.waiting.length === 0) return;
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }
}
