// Vitest setup file (every vitest config lists it): one fast-check seed per run, taken from FC_SEED, so any
// property failure can be replayed exactly.
//
//   FC_SEED=343 npx vitest run tests/tokenizer.test.ts      (replays the run that printed "FC_SEED=343")
//
// Without FC_SEED the vitest config draws a fresh seed for the run (property tests keep exploring) and hands it
// to every test file through the environment (tests/setup/fc-seed-config.ts). A failing test prints the line to
// replay it; fast-check's own message also names the seed and the counterexample's shrink path.

import fc from 'fast-check';
import { beforeEach, onTestFailed } from 'vitest';
import { fcSeedFromEnv } from './fc-seed-config.js';

const seed = fcSeedFromEnv(process.env);
fc.configureGlobal({ seed });

beforeEach(() => {
  onTestFailed(({ task }) => {
    const messages = (task.result?.errors ?? []).map((e) => String(e.message ?? ''));
    if (!messages.some((m) => m.includes('Property failed'))) return; // not a fast-check failure: no seed to give
    console.error(`[fast-check] property failed; replay with FC_SEED=${seed} (${task.file?.name ?? ''} > ${task.name})`);
  });
});
