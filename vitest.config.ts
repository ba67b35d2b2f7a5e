import { defineConfig } from 'vitest/config';
import { scaled } from './test/helpers/time-scale.js';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Scaled where jails run slower (PYBOX_TEST_TIME_SCALE, e.g. inside an emulated VM).
    testTimeout: scaled(60_000),
    hookTimeout: scaled(60_000),
    // Containment tests check that no jail process or cgroup is left on the host after
    // each run; other files' live jails would blur that, so files run one at a time.
    fileParallelism: false,
    // The CLI tests run the built dist/: rebuild it first if any source is newer.
    globalSetup: ['./test/helpers/fresh-build.ts'],
    reporters: ['default', './test/helpers/summary-reporter.ts'],
  },
});
