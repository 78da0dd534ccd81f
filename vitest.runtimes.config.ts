// `npm run test:runtimes`: the cross-runtime smoke test (tests/runtimes/runtimes.rt.ts), kept out of `npm test`
// (whose include is tests/**/*.test.ts) because it starts Deno, Bun, Chromium and workerd and may apt-get one.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/runtimes/**/*.rt.ts'],
    testTimeout: 300_000,
    hookTimeout: 300_000,
    pool: 'forks',
    globalSetup: ['build/vitest-global-setup.ts'],
  },
});
