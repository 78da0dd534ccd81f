// `npm run test:relaxed`: the kernel and engine tests with the relaxed-SIMD build on Node 20, where relaxed SIMD
// exists only behind --experimental-wasm-relaxed-simd and is correct only in TurboFan (--no-liftoff; Liftoff
// doubles the relaxed dot, which the load-time self-test would otherwise catch and fall back from).
// On Node >= 22 / Deno / Bun the default `npm test` already runs the relaxed build.

import { defineConfig } from 'vitest/config';
import { runSeed } from '../tests/setup/fc-seed-config.js';

export default defineConfig({
  root: new URL('..', import.meta.url).pathname,
  test: {
    include: ['tests/kernels.test.ts', 'tests/engine-*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    execArgv: ['--experimental-wasm-relaxed-simd', '--no-liftoff'],
    env: { FC_SEED: runSeed() },
    setupFiles: ['tests/setup/fc-seed.ts'],
  },
});
