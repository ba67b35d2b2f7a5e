import { StringDecoder } from 'node:string_decoder';
import type { InputHandler } from '../../../core/hooks.js';
import type { RunStdin } from '../../../core/prepared-run.js';

/**
 * A cell's stdin as lines, for a session's input() and sys.stdin: each asked for when
 * the program reads one. A stream is read only as far as the lines asked for; a source
 * that fails ends the input as EOF would.
 */
export class InputLines {
  private buffered = '';
  private done: boolean;
  private readonly decoder = new StringDecoder('utf8');
  private readonly iterator: AsyncIterator<Uint8Array | string> | null;

  constructor(source: RunStdin | null) {
    if (source === null || Buffer.isBuffer(source)) {
      this.buffered = source ? source.toString('utf8') : '';
      this.iterator = null;
      this.done = true;
    } else {
      this.iterator = source[Symbol.asyncIterator]();
      this.done = false;
    }
  }

  /** The next line with its newline (the last one may have none), or null at the end. */
  async next(): Promise<string | null> {
    while (!this.buffered.includes('\n') && !this.done) {
      try {
        const step = await (this.iterator as AsyncIterator<Uint8Array | string>).next();
        if (step.done) this.done = true;
        else this.buffered += typeof step.value === 'string' ? step.value : this.decoder.write(Buffer.from(step.value));
      } catch {
        this.done = true;
      }
    }
    if (this.done) this.buffered += this.decoder.end();
    if (this.buffered === '') return null;
    const end = this.buffered.indexOf('\n') + 1 || this.buffered.length;
    const line = this.buffered.slice(0, end);
    this.buffered = this.buffered.slice(end);
    return line;
  }

  /** The cell is over: a stream is not read further. */
  stop(): void {
    this.done = true;
    Promise.resolve(this.iterator?.return?.()).catch(() => undefined);
  }
}

/** The caller's answer to input(prompt) as the guest takes it: a line with its newline, or null (EOFError) when the handler failed. */
export async function askInputHandler(onInput: InputHandler, prompt: string): Promise<string | null> {
  try {
    const answer = String(await onInput(prompt));
    return answer.endsWith('\n') ? answer : answer + '\n';
  } catch {
    return null;
  }
}
