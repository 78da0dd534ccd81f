// `npm run test:relaxed`: the kernel and engine tests with the relaxed-SIMD build, and a check that it is the
// build under test (LFM_EXPECT_RELAXED=1 makes tests/kernels.test.ts fail if the runtime fell back to baseline).
// Node >= 22 has relaxed SIMD by default (CI runs this on Node 24, where `npm test` also picks relaxed).
// Node 20 has it only behind --experimental-wasm-relaxed-simd and correct only in TurboFan (--no-liftoff; Liftoff
// doubles the relaxed dot, which the load-time self-test would otherwise catch and fall back from); Node 24
// refuses that flag as a bad option, so it is passed to Node < 22 only.

import { defineConfig } from 'vitest/config';
import { runSeed } from '../tests/setup/fc-seed-config.js';

const NODE_MAJOR = Number(process.versions.node.split('.')[0]);

export default defineConfig({
  root: new URL('..', import.meta.url).pathname,
  test: {
    include: ['tests/kernels.test.ts', 'tests/kquant-kernels.test.ts', 'tests/engine-*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    globalSetup: ['build/vitest-global-setup.ts'],
    execArgv: NODE_MAJOR < 22 ? ['--experimental-wasm-relaxed-simd', '--no-liftoff'] : [],
    env: { FC_SEED: runSeed(), LFM_EXPECT_RELAXED: '1' },
    setupFiles: ['tests/setup/fc-seed.ts'],
  },
});
