/** Assertions on pybox's typed errors. */
import { expect } from 'vitest';
import { PyboxError } from '../../src/index.js';

/** Asserts that `promise` rejects with a PyboxError of `code`. */
export async function rejectsWith(promise: Promise<unknown>, code: string): Promise<void> {
  await expect(promise).rejects.toSatisfy((e: unknown) => e instanceof PyboxError && e.code === code);
}
