// `npm run test:pack`: the packed tarball installed into an empty project (tests/pack/pack.smoke.ts). Kept out of
// `npm test` (whose include is tests/**/*.test.ts) because it rebuilds dist/ through `npm pack`.
import { defineConfig } from 'vitest/config';
import { runSeed } from '../tests/setup/fc-seed-config.js';

export default defineConfig({
  root: new URL('..', import.meta.url).pathname,
  test: {
    include: ['tests/pack/**/*.smoke.ts'],
    testTimeout: 300_000,
    hookTimeout: 300_000,
    pool: 'forks',
    env: { FC_SEED: runSeed() },
    setupFiles: ['tests/setup/fc-seed.ts'],
  },
});
