import type { Writable } from 'node:stream';
import type { RunStdin } from '../../../core/prepared-run.js';


/**
 * Writes a run's stdin into the guest's stdin pipe and closes the pipe at its end. A
 * stream is read one chunk at a time, the next only once the pipe has taken the last, so
 * what is held is one chunk plus the kernel's pipe buffer, however much the source has;
 * an interactive program gets each line as it is written. A source that fails, or yields
 * something that is not bytes, ends the program's stdin as EOF would. The returned stop()
 * (the run is over) stops reading: a Readable is destroyed, any other iterator returned.
 */
export function feedStdin(source: RunStdin | null, sink: Writable | null): () => void {
  if (!sink || source === null || Buffer.isBuffer(source)) {
    sink?.end(source ?? undefined);
    return () => undefined;
  }
  const iterator = source[Symbol.asyncIterator]();
  let stopped = false;
  void (async () => {
    try {
      for (;;) {
        const next = await iterator.next();
        if (next.done || stopped || sink.destroyed) break;
        const value: unknown = next.value;
        const chunk = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
        if (!(chunk instanceof Uint8Array)) break;
        if (chunk.length > 0 && !sink.write(chunk)) await drained(sink);
      }
    } catch {
      /* the source failed: the program sees the end of its stdin */
    }
    if (!sink.destroyed) sink.end();
  })();
  return () => {
    if (stopped) return;
    stopped = true;
    // A pending next() of a Readable's iterator settles only when the stream does.
    const destroy = (source as { destroy?: unknown }).destroy;
    if (typeof destroy === 'function') (destroy as () => void).call(source);
    Promise.resolve(iterator.return?.()).catch(() => undefined);
  };
}

/** Resolves once the pipe takes more, or is gone. */
function drained(sink: Writable): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      sink.off('drain', done);
      sink.off('close', done);
      resolve();
    };
    sink.on('drain', done);
    sink.on('close', done);
  });
}
