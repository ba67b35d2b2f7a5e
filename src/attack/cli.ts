/**
 * `pybox attack`: runs the corpus against the ladder, the decoy, pybox's language
 * layer alone and the full product, and prints the matrix. Exit 0 when pybox
 * contained everything and every attack has a positive control; 1 otherwise;
 * 2 for a usage error.
 */
import type { Writable } from 'node:stream';
import { Command, InvalidArgumentError, Option } from 'commander';
import type { SandboxMode } from '../sandbox/index.js';
import { CATEGORIES, loadCorpus } from './corpus.js';
import { updateDoc } from './docs.js';
import { DEFAULT_CONCURRENCY, DEFAULT_DEADLINE_MS, MAX_CONCURRENCY, runAttacks, selectAttacks } from './runner.js';
import { formatReport } from './table.js';
import { TARGET_NAMES } from './targets.js';

const repeat = (value: string, previous: string[]) => [...previous, value];

function oneOf(kind: string, allowed: readonly string[]) {
  return (value: string, previous: string[]) => {
    if (!allowed.includes(value)) throw new InvalidArgumentError(`unknown ${kind} "${value}" (one of ${allowed.join(', ')})`);
    return [...previous, value];
  };
}

function intIn(min: number, max: number) {
  return (value: string) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`must be an integer from ${min} to ${max}`);
    return n;
  };
}

interface AttackFlags {
  json?: boolean;
  target: string[];
  category: string[];
  id: string[];
  concurrency: number;
  deadline: number;
  updateDoc?: string;
  list?: boolean;
  mode?: SandboxMode;
}

const HELP = `
Every attack and every weaker target runs inside pybox's jail (the ladder levels and the
decoy are Python programs run with policy 'off'); the host is only ever touched by the
runner's own canaries, secrets and loopback listeners, which the attacks must not reach.

Targets: ${TARGET_NAMES.join(', ')}
Categories: ${CATEGORIES.join(', ')}

Exit codes: 0 pybox contained every attack and every attack escaped a weaker target;
1 an escape, an attack without a positive control, or a run the lab could not judge; 2 usage.

Examples:
  pybox attack
  pybox attack --target L6 --target pybox --category introspection
  pybox attack --json > matrix.json
  pybox attack --update-doc docs/building-and-breaking.md`;

/** Where the command writes; the process streams unless a test passes its own. */
export interface AttackOutput {
  stdout: Pick<Writable, 'write'>;
  stderr: Pick<Writable, 'write'> & { isTTY?: boolean };
}

function write(stream: Pick<Writable, 'write'>, text: string): Promise<void> {
  return new Promise((resolve) => {
    try {
      stream.write(text, () => resolve());
    } catch {
      resolve(); // a closed reader is not our problem
    }
  });
}

export function attackCommand(out: AttackOutput = { stdout: process.stdout, stderr: process.stderr }): Command {
  return new Command('attack')
    .description('run the attack corpus against the talk\'s ladder, a decoy, pybox\'s language layer and pybox; print the matrix')
    .option('--json', 'print the whole matrix as one JSON object')
    .option('--target <name>', 'a target to attack (repeatable; default all)', oneOf('target', TARGET_NAMES), [])
    .option('--category <c>', 'only attacks of this category (repeatable)', oneOf('category', CATEGORIES), [])
    .option('--id <id>', 'only this attack (repeatable)', repeat, [])
    .option('--concurrency <n>', `runs in flight at once (1-${MAX_CONCURRENCY})`, intIn(1, MAX_CONCURRENCY), DEFAULT_CONCURRENCY)
    .option('--deadline <seconds>', 'stop starting runs after this long', intIn(10, 7200), DEFAULT_DEADLINE_MS / 1000)
    .addOption(new Option('--mode <mode>', "how the pybox target gets its jails (default: what Sandbox.create() picks)").choices(['auto', 'cold', 'pool', 'zygote']))
    .option('--update-doc <file>', 'rewrite the generated counts section of this markdown file from this run')
    .option('--list', 'list the attacks and exit')
    .addHelpText('after', HELP)
    .action(async function (this: Command, flags: AttackFlags) {
      const corpus = loadCorpus();
      const attacks = selectAttacks(corpus, { categories: flags.category, ids: flags.id });
      const unknown = flags.id.filter((id) => !corpus.some((a) => a.id === id));
      if (unknown.length) this.error(`pybox: unknown attack id ${unknown.map((u) => JSON.stringify(u)).join(', ')}`, { exitCode: 2 });
      if (attacks.length === 0) this.error('pybox: no attack matches the filters', { exitCode: 2 });
      if (flags.list) {
        await write(out.stdout, attacks.map((a) => `${a.id.padEnd(40)} ${a.category.padEnd(14)} ${a.description}\n`).join(''));
        process.exitCode = 0;
        return;
      }
      const tty = out.stderr.isTTY === true && !flags.json;
      const matrix = await runAttacks({
        attacks,
        targets: flags.target,
        concurrency: flags.concurrency,
        deadlineMs: flags.deadline * 1000,
        ...(flags.mode ? { pyboxMode: flags.mode } : {}),
        onResult: tty ? (_a, _t, _j, done, total) => void out.stderr.write(`\r${done}/${total} runs`) : undefined,
      });
      if (tty) out.stderr.write('\r\x1b[K');
      if (flags.updateDoc) updateDoc(flags.updateDoc, matrix);
      await write(out.stdout, flags.json ? JSON.stringify(matrix, null, 2) + '\n' : formatReport(matrix));
      process.exitCode = matrix.ok ? 0 : 1;
    });
}
