// The fuzz harness itself: what it counts as a failure (so that a loader defect cannot pass unnoticed), and that
// a case replays from its seed.

import { describe, expect, it } from 'vitest';
import { FormatError, TensorError } from '../../reference/errors.js';
import { classify, coverageGaps, fuzz, type FuzzCase } from './lib/census.js';
import { parseRawGguf, writeRawGguf } from './lib/gguf-raw.js';
import { jsonText } from './lib/mutate.js';
import { ggufSeeds } from './lib/seeds.js';
import { deepJson } from './lib/values.js';

describe('fuzz harness', () => {
  it('counts untyped errors, typed errors that do not name the input, and hangs as failures', async () => {
    const kinds = [
      () => {
        throw new FormatError('in.gguf', 'magic', 'bad');
      },
      () => {
        throw new TypeError('x is undefined');
      },
      () => {
        throw new TensorError('elsewhere.gguf', 'w', 'bad');
      },
      () => ({ outcome: 'ok' }),
    ];
    const r = await fuzz('self-test', (c: FuzzCase) => c.index % kinds.length, (k) => kinds[k](), { cases: 8, names: ['in.gguf'] });
    expect(Object.fromEntries(r.counts)).toEqual({ FormatError: 2, 'untyped TypeError': 2, 'unnamed TensorError': 2, ok: 2 });
    expect(r.failures.map((f) => f.outcome)).toEqual(['untyped TypeError', 'unnamed TensorError', 'untyped TypeError', 'unnamed TensorError']);
    expect(coverageGaps(r, 0.5, ['ConfigError'])).toEqual(['only 25.0% of the cases loaded (expected at least 50%)', 'no case ended in a ConfigError']);
    expect(classify(new RangeError('Maximum call stack size exceeded'), []).outcome).toBe('untyped RangeError');
  });

  it('a case draws the same mutations every time (replay by FUZZ_SEED and FUZZ_CASE)', async () => {
    const draws = async () => (await fuzz('replay', (c) => [c.rng.u32(), c.rng.u32()], (x) => ({ outcome: 'ok', detail: String(x) }), { cases: 5, names: [] })).fields;
    expect(await draws()).toEqual(await draws());
  });

  it('the unchecked GGUF writer writes each seed byte for byte as reference/gguf.ts did', async () => {
    for (const s of ggufSeeds()) expect(Buffer.from(writeRawGguf(await parseRawGguf(s.bytes)).bytes).equals(s.bytes), s.label).toBe(true);
  });

  it('writes JSON nested deeper than JSON.stringify can', () => {
    const text = jsonText({ a: [1, deepJson(20_000, false)], b: deepJson(20_000, true) });
    expect(text.length).toBeGreaterThan(100_000);
    expect(() => JSON.parse(text)).not.toThrow();
  });
});
