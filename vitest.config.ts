import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
    // zoo reads the Hugging Face and torch.hub caches: tests must see empty ones, never the user's
    // (a test that needs one points these at its own temporary folder).
    env: {
      HF_HUB_CACHE: join(tmpdir(), 'zoo-test-no-hf-cache'),
      TORCH_HOME: join(tmpdir(), 'zoo-test-no-torch-home'),
      HF_HUB_OFFLINE: '',
      HF_TOKEN: '',
    },
  },
});
