import { writeAll, type CliIO } from './io.js';

/**
 * The console's stdout and stderr, in the order written. It remembers what follows the
 * last newline (on either: one terminal shows both), so a prompt can continue that line
 * (`print('x', end='')` then `>>> ` shows `x>>> `, as Python's does): a terminal prompt
 * is redrawn from column 0.
 */
export class ReplOutput {
  private lineTail = '';

  constructor(private readonly io: CliIO) {}

  stdout(text: string): void {
    this.track(text);
    void writeAll(this.io.stdout, text);
  }

  stderr(text: string): void {
    this.track(text);
    void writeAll(this.io.stderr, text);
  }

  /** What has been written on the current line (empty after a newline). */
  get tail(): string {
    return this.lineTail;
  }

  /** The current line has ended elsewhere (the user pressed Enter after a prompt). */
  newLine(): void {
    this.lineTail = '';
  }

  private track(text: string): void {
    const nl = text.lastIndexOf('\n');
    this.lineTail = nl < 0 ? this.lineTail + text : text.slice(nl + 1);
    // A progress bar redrawn with \r: only what follows the last \r stays on the line.
    const cr = this.lineTail.lastIndexOf('\r');
    if (cr >= 0) this.lineTail = this.lineTail.slice(cr + 1);
  }
}
