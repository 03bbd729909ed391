import { defineConfig } from 'vitest/config';

// The big-model parity sweep (EfficientNetV2 L/XL, ResNeXt-101): run by `npm run parity` and CI.
export default defineConfig({
  test: {
    include: ['test/parity-big/**/*.test.ts'],
    pool: 'forks',
    poolOptions: { forks: { maxForks: 1, minForks: 1 } },
    testTimeout: 600_000,
  },
});
