import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Jails are real processes on a small machine: keep file-level parallelism modest.
    maxWorkers: 2,
  },
});
