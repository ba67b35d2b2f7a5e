/**
 * Sandboxes for a test file's lifetime: opened before the tests that use them, closed
 * after, and then nothing of them (warm or not) may be left on the host.
 */
import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import { Sandbox, type SandboxOptions } from '../../src/index.js';
import { allOurJails, expectNoRunLeftovers } from './leftovers.js';

/** The ways a run gets its jail; what must hold on every path is tested once per path. */
export const PATHS = ['cold', 'pool', 'zygote'] as const;

/**
 * Sandboxes opened in the enclosing block's beforeAll and closed in its afterAll, which
 * then checks that none of their jails remain. With `eachTest`, nothing of a run may
 * remain after each test either. Each returned Sandbox stands for the one opened in
 * beforeAll (so the block's tests use it by name).
 */
export function sandboxesForBlock<K extends string>(options: Record<K, SandboxOptions>, { eachTest = false } = {}): Record<K, Sandbox> {
  const opened = new Map<K, Sandbox>();
  const names = Object.keys(options) as K[];
  beforeAll(async () => {
    for (const name of names) opened.set(name, await Sandbox.create(options[name]));
  });
  afterAll(async () => {
    for (const sandbox of opened.values()) await sandbox.close();
    opened.clear();
    expect(allOurJails()).toEqual([]);
  });
  if (eachTest) {
    afterEach(async () => {
      expect(await expectNoRunLeftovers()).toEqual([]);
    });
  }
  return Object.fromEntries(names.map((name) => [name, standIn(name, () => opened.get(name))])) as Record<K, Sandbox>;
}

/** A Sandbox made with `make` in a test is closed after it, and then nothing of it (warm or not) may be left. */
export function sandboxesClosedAfterEach(): { make: (options?: SandboxOptions) => Promise<Sandbox> } {
  const open: Sandbox[] = [];
  afterEach(async () => {
    for (const s of open.splice(0)) await s.close();
    expect(allOurJails()).toEqual([]);
  });
  return {
    async make(options) {
      const s = await Sandbox.create(options);
      open.push(s);
      return s;
    },
  };
}

/** Forwards to the Sandbox `current()` returns once it is open (getters and methods alike). */
function standIn(name: string, current: () => Sandbox | undefined): Sandbox {
  return new Proxy({} as Sandbox, {
    get(_, key) {
      const sandbox = current();
      if (!sandbox) throw new Error(`sandbox "${name}" is used outside the tests of its block (it opens in beforeAll)`);
      const value: unknown = Reflect.get(sandbox, key, sandbox);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(sandbox) : value;
    },
  });
}
