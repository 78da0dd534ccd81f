import { defineConfig } from 'vitest/config';
import { runSeed } from './tests/setup/fc-seed-config.js';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    globalSetup: ['build/vitest-global-setup.ts'],
    // One fast-check seed per run, from FC_SEED or drawn and printed; failures print how to replay them.
    env: { FC_SEED: runSeed() },
    setupFiles: ['tests/setup/fc-seed.ts'],
  },
});
