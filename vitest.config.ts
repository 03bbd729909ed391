import { defineConfig } from 'vitest/config';

// Two cores on CI: run files in parallel on forks, but never more than the machine has.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['test/parity-big/**'],
    pool: 'forks',
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
