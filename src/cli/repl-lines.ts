import { createInterface, type Interface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import type { ReplOutput } from './repl-output.js';

/** One read of the console: a line (without its newline), the end of input, or Ctrl-C. */
export type ReadResult = { kind: 'line'; text: string } | { kind: 'eof' } | { kind: 'interrupt' };

/** Where the console's lines come from: the terminal, or a piped program. */
export interface LineSource {
  /** The next line, after showing `prompt`. */
  read(prompt: string): Promise<ReadResult>;
  /** Called for Ctrl-C while no read waits (a cell is running). */
  onInterrupt: (() => void) | null;
  close(): void;
}

/**
 * Lines from a terminal through node's readline (line editing, history). A line typed
 * while no read waits (while a cell runs) is kept for the next read, as a terminal keeps
 * type-ahead; Ctrl-C drops it. A prompt continues the line the output left unfinished:
 * readline redraws its line from column 0.
 */
export class TerminalLines implements LineSource {
  onInterrupt: (() => void) | null = null;
  private readonly rl: Interface;
  private readonly typed: string[] = [];
  private waiting: ((result: ReadResult) => void) | null = null;
  private ended = false;

  constructor(
    input: Readable,
    output: Writable,
    private readonly out: ReplOutput,
  ) {
    this.rl = createInterface({ input, output, terminal: true, historySize: 1000 });
    this.rl.on('line', (text) => {
      this.out.newLine();
      if (this.waiting) this.answer({ kind: 'line', text });
      else this.typed.push(text);
    });
    this.rl.on('close', () => {
      this.ended = true;
      this.answer({ kind: 'eof' });
    });
    this.rl.on('SIGINT', () => {
      this.typed.length = 0;
      if (!this.waiting) {
        this.onInterrupt?.();
        return;
      }
      // Drop what was typed on the line (to its end, then to its start), as Python does.
      this.rl.write(null, { ctrl: true, name: 'e' });
      this.rl.write(null, { ctrl: true, name: 'u' });
      this.answer({ kind: 'interrupt' });
    });
  }

  read(prompt: string): Promise<ReadResult> {
    const text = this.typed.shift();
    if (text !== undefined) return Promise.resolve({ kind: 'line', text });
    if (this.ended) return Promise.resolve({ kind: 'eof' });
    return new Promise((resolve) => {
      this.waiting = resolve;
      this.rl.setPrompt(this.out.tail + prompt);
      this.rl.prompt();
    });
  }

  close(): void {
    this.rl.close();
  }

  private answer(result: ReadResult): void {
    const waiting = this.waiting;
    this.waiting = null;
    waiting?.(result);
  }
}

/** The lines of a piped program, read whole beforehand; a prompt (input()'s) goes to stdout. */
export class ScriptLines implements LineSource {
  onInterrupt: (() => void) | null = null;
  private next = 0;
  private readonly lines: string[];

  constructor(
    text: string,
    private readonly out: ReplOutput,
  ) {
    this.lines = text.split(/\r?\n/);
    // A final newline ends the last line; it does not start an empty one.
    if (this.lines[this.lines.length - 1] === '') this.lines.pop();
  }

  read(prompt: string): Promise<ReadResult> {
    if (prompt !== '') this.out.stdout(prompt);
    const text = this.lines[this.next++];
    return Promise.resolve(text === undefined ? { kind: 'eof' } : { kind: 'line', text });
  }

  close(): void {
    this.next = this.lines.length;
  }
}
