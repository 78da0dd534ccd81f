// Fuzz: GGUF model files through both loaders (reference loadModel, WASM createWasmCore) and one forward step.
// Seeds: the tiny model in every stored type (src/synth); mutations: tests/fuzz/lib/mutate-gguf.ts. Replay and
// seeding: tests/fuzz/lib/census.ts.

import { describe, expect, it } from 'vitest';
import { coverageGaps, fuzz, formatCensus } from './lib/census.js';
import { driveGguf } from './lib/drive.js';
import { parseRawGguf } from './lib/gguf-raw.js';
import { mutateGguf } from './lib/mutate-gguf.js';
import { ggufSeeds } from './lib/seeds.js';

const NAME = 'fuzz.gguf';

describe('fuzz: GGUF model files', () => {
  it('every mutated file loads (finite logits in both engines) or fails with a typed error naming it', async () => {
    const seeds = await Promise.all(ggufSeeds().map(async (s) => ({ ...s, raw: await parseRawGguf(s.bytes) })));
    const weights = seeds.map((s) => (s.label === 'K-quants' ? 1 : 3));
    const report = await fuzz(
      'gguf',
      (c) => {
        const s = seeds[c.rng.weighted(weights)];
        c.log.push(`seed ${s.label}`);
        return mutateGguf(c.rng, s.raw, c.log);
      },
      (bytes) => driveGguf(bytes, NAME),
      { names: [NAME], files: (bytes) => ({ [NAME]: bytes }) },
    );
    console.log(formatCensus(report, 'tests/fuzz/gguf.test.ts'));
    expect(report.failures.map((f) => `case ${f.index}: ${f.outcome}: ${f.detail.split('\n')[0]}`)).toEqual([]);
    if (report.cases > 1000) expect(coverageGaps(report, 0.03, ['FormatError', 'TensorError', 'ConfigError'])).toEqual([]);
  }, 600_000);
});
