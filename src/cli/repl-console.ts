import { blockState } from './repl-blocks.js';
import { runCell, type CellContext, type ReplEnd } from './repl-cells.js';

export const PS1 = '>>> ';
export const PS2 = '... ';

/**
 * The read-run loop: lines gather into a block until Python's rules say it is whole
 * (repl-blocks.ts), then the block runs as one cell. `prompts` is false for a piped
 * program, which runs block by block without them. Resolves with how the console ends.
 */
export async function consoleLoop(ctx: CellContext, { prompts }: { prompts: boolean }): Promise<ReplEnd> {
  const { lines, out } = ctx;
  let block: string[] = [];
  for (;;) {
    const read = await lines.read(prompts ? (block.length === 0 ? PS1 : PS2) : '');
    if (read.kind === 'interrupt') {
      // Ctrl-C at a prompt drops the block typed so far, as Python's console does.
      out.stderr('\nKeyboardInterrupt\n');
      block = [];
      continue;
    }
    if (read.kind === 'eof') {
      if (prompts) out.stdout('\n');
      // A piped program's last block runs even without the empty line that would end it.
      else if (block.length > 0 && blockState(block.join('\n')) !== 'empty') return (await runCell(ctx, block.join('\n'))) ?? { exitCode: 0, line: null };
      return { exitCode: 0, line: null };
    }
    block.push(read.text);
    for (;;) {
      const state = blockState(block.join('\n'));
      if (state === 'incomplete') break;
      if (state === 'empty') {
        block = [];
        break;
      }
      // 'dedent': the block ends before its last line, which starts the next one.
      const next = state === 'dedent' ? block.splice(-1) : [];
      const end = await runCell(ctx, block.join('\n'));
      if (end !== null) return end;
      block = next;
      if (block.length === 0) break;
    }
  }
}
