// `npm run test:runtimes`: the cross-runtime smoke test (tests/runtimes/runtimes.rt.ts), kept out of `npm test`
// (whose include is tests/**/*.test.ts) because it starts Deno, Bun, Chromium and workerd and may apt-get one.
// With CI=true a missing runtime fails instead of skipping (see runtimes.rt.ts).
import { defineConfig } from 'vitest/config';
import { runSeed } from './tests/setup/fc-seed-config.js';

export default defineConfig({
  test: {
    include: ['tests/runtimes/**/*.rt.ts'],
    testTimeout: 300_000,
    hookTimeout: 300_000,
    pool: 'forks',
    globalSetup: ['build/vitest-global-setup.ts'],
    env: { FC_SEED: runSeed() },
    setupFiles: ['tests/setup/fc-seed.ts'],
  },
});
