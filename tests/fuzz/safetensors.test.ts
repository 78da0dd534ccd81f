// Fuzz: HF model folders (config.json + model.safetensors, or shards + model.safetensors.index.json) through both
// loaders and one forward step. Seeds: tests/fuzz/lib/seeds.ts; mutations: tests/fuzz/lib/mutate-hf.ts.

import { describe, expect, it } from 'vitest';
import { coverageGaps, fuzz, formatCensus } from './lib/census.js';
import { driveHf } from './lib/drive.js';
import { mutateHf } from './lib/mutate-hf.js';
import { hfSeeds } from './lib/seeds.js';

const NAME = 'fuzz-hf';

describe('fuzz: safetensors / HF folders', () => {
  it('every mutated folder loads (finite logits in both engines) or fails with a typed error naming the file', async () => {
    const seeds = hfSeeds();
    const report = await fuzz(
      'safetensors',
      (c) => {
        const s = c.rng.pick(seeds);
        c.log.push(`seed ${s.label}`);
        return mutateHf(c.rng, s.files, c.log);
      },
      (files) => driveHf(files, NAME),
      { names: [NAME], files: (f) => f },
    );
    console.log(formatCensus(report, 'tests/fuzz/safetensors.test.ts'));
    expect(report.failures.map((f) => `case ${f.index}: ${f.outcome}: ${f.detail.split('\n')[0]}`)).toEqual([]);
    if (report.cases > 1000) expect(coverageGaps(report, 0.1, ['FormatError', 'TensorError', 'ConfigError'])).toEqual([]);
  }, 600_000);
});
