// Placeholder: the attack lab's CLI is being written separately and replaces this file.
import { Command } from 'commander';

export function attackCommand(): Command {
  return new Command('attack').description('run the attack lab (not built yet)').action(() => {
    process.stderr.write('pybox attack: not built yet\n');
    process.exitCode = 1;
  });
}
