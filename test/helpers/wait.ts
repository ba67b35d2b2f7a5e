/**
 * Waiting for what a test needs to have happened (a jail up, a line printed), never for a
 * fixed time that is too short on a loaded machine and wasted on an idle one.
 */
import type { RunOptions, RunResult, Sandbox } from '../../src/index.js';
import { scaled } from './time-scale.js';

/** Resolves once `condition()` holds (checked every 10 ms); throws after `timeoutMs`. */
export async function until(condition: () => boolean, { timeoutMs = scaled(10_000), what = 'the condition' } = {}): Promise<void> {
  for (const end = Date.now() + timeoutMs; !condition(); ) {
    if (Date.now() > end) throw new Error(`${what} did not hold within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/**
 * Every value `read()` gives over `ms` (every 20 ms): for a check that something stays
 * as it is (no event marks that nothing happened).
 */
export async function samplesOver<T>(ms: number, read: () => T): Promise<T[]> {
  const seen = [read()];
  for (const end = Date.now() + ms; Date.now() < end; ) {
    await new Promise((r) => setTimeout(r, 20));
    seen.push(read());
  }
  return seen;
}

/**
 * Starts a run and resolves `printed` once its stdout holds `text` (rejects if the run
 * ends first): the run is then live, at that line of its program.
 */
export function runUntilPrinted(sandbox: Sandbox, code: string, text: string, options: RunOptions = {}): { result: Promise<RunResult>; printed: Promise<void> } {
  let stdout = '';
  let seen: () => void = () => undefined;
  const printed = new Promise<void>((resolve) => (seen = resolve));
  const result = sandbox.run(code, {
    ...options,
    onStdout: (chunk) => {
      stdout += chunk;
      if (stdout.includes(text)) seen();
    },
  });
  const endedFirst = result.then((r) => {
    throw new Error(`the run ended (${r.status}) before it printed ${JSON.stringify(text)}: ${r.stdout}${r.stderr}`);
  });
  return { result, printed: Promise.race([printed, endedFirst]) };
}

/** A stdin that gives the program nothing and ends at `release()`: a program reading it waits until then. */
export function heldStdin(): { stdin: AsyncIterable<string>; release: () => void } {
  let release: () => void = () => undefined;
  const released = new Promise<void>((resolve) => (release = resolve));
  async function* nothingUntilReleased(): AsyncGenerator<string> {
    await released;
  }
  return { stdin: nothingUntilReleased(), release };
}
