// The sampler's filters at their boundaries (src/generate/sampler.ts): which tokens top_k, top_p and min_p keep,
// on distributions whose kept sets are known exactly, alone, combined and at other temperatures. Basic cases
// (greedy, penalties, the seeded draw following the softmax) are in generate.test.ts. The one-pass top-k selection
// is held to the full sort it replaces.
//
// The kept set is read off the draws: logits = ln(p) make the softmax at temperature 1 exactly the distribution
// p (up to f32 rounding of the logits), every kept token has probability >= 5% after renormalisation, and DRAWS
// seeded draws miss such a token with probability < 0.95^DRAWS ~ 1e-45. The seeds are fixed, so the test is
// deterministic; the margins make it independent of the particular seed.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Sampler, type SamplingOptions, sortedIds, topKIds } from '../src/generate/sampler.js';

const DRAWS = 2000;
/** |observed share - expected share| for a kept token over DRAWS draws (~5 standard deviations at p = 0.5). */
const SHARE_TOL = 0.06;

/** Logits whose softmax (temperature 1) is `p` (normalised). */
const logitsOf = (p: number[]) => Float32Array.from(p, Math.log);

/** How often each id is drawn in DRAWS draws. */
function counts(logits: Float32Array, o: SamplingOptions, seed = 1): number[] {
  const s = new Sampler({ temperature: 1, seed, ...o });
  const c = new Array<number>(logits.length).fill(0);
  for (let i = 0; i < DRAWS; i++) c[s.sample(logits, [], [])]++;
  return c;
}

/** The ids ever drawn, ascending. */
const kept = (c: number[]) => c.flatMap((n, id) => (n > 0 ? [id] : []));

/** The kept set is `ids`, drawn in proportion to `p` renormalised over them. */
function expectKeeps(p: number[], o: SamplingOptions, ids: number[]): void {
  for (const seed of [1, 2]) {
    const c = counts(logitsOf(p), o, seed);
    expect(kept(c), `${JSON.stringify(o)} on p = ${JSON.stringify(p)} (seed ${seed})`).toEqual(ids);
    const mass = ids.reduce((a, id) => a + p[id], 0);
    for (const id of ids) expect(Math.abs(c[id] / DRAWS - p[id] / mass), `share of id ${id} under ${JSON.stringify(o)}`).toBeLessThan(SHARE_TOL);
  }
}

// Sorted by probability: id 2 (0.4), id 0 (0.3), id 3 (0.2), id 1 (0.1). Ids are shuffled so that a filter that
// forgets to sort, or keeps by id, fails.
const P = [0.3, 0.1, 0.4, 0.2];

describe('top_k', () => {
  it('keeps exactly the k most likely tokens, for every k', () => {
    expectKeeps(P, { top_k: 1 }, [2]);
    expectKeeps(P, { top_k: 2 }, [0, 2]);
    expectKeeps(P, { top_k: 3 }, [0, 2, 3]);
    expectKeeps(P, { top_k: 4 }, [0, 1, 2, 3]);
    expectKeeps(P, { top_k: 50 }, [0, 1, 2, 3]); // k > V: all
    expectKeeps(P, { top_k: 0 }, [0, 1, 2, 3]); // 0: off
  });

  it('breaks a tie at the k-th place by the lower id', () => {
    expectKeeps([0.2, 0.4, 0.2, 0.2], { top_k: 2 }, [0, 1]);
    expectKeeps([0.2, 0.4, 0.2, 0.2], { top_k: 3 }, [0, 1, 2]);
  });
});

describe('top_p', () => {
  it('keeps the smallest set whose mass reaches p, the token that crosses p included', () => {
    // Cumulative mass in order: 0.4, 0.7, 0.9, 1.0.
    expectKeeps(P, { top_p: 0.3 }, [2]); // the first token alone reaches 0.3
    expectKeeps(P, { top_p: 0.45 }, [0, 2]); // 0.4 < 0.45: the crossing token (id 0) is kept
    expectKeeps(P, { top_p: 0.65 }, [0, 2]);
    expectKeeps(P, { top_p: 0.75 }, [0, 2, 3]); // 0.7 < 0.75: id 3 crosses
    expectKeeps(P, { top_p: 0.95 }, [0, 1, 2, 3]); // 0.9 < 0.95: the last token crosses
    expectKeeps(P, { top_p: 1 }, [0, 1, 2, 3]); // 1: off
  });

  it('measures the mass at the sampling temperature', () => {
    // At temperature 2 the distribution is p^(1/2) renormalised: [0.548, 0.316, 0.632, 0.447] / 1.943
    // = 0.282, 0.163, 0.325, 0.230; cumulative in order 0.325, 0.607, 0.837. top_p 0.65 now needs three tokens
    // (at temperature 1 it needed two).
    const c = counts(logitsOf(P), { temperature: 2, top_p: 0.65 });
    expect(kept(c)).toEqual([0, 2, 3]);
  });
});

describe('min_p', () => {
  it('keeps the tokens at least min_p times as likely as the most likely one', () => {
    // Ratios to the top (0.4): id 0 0.75, id 3 0.5, id 1 0.25.
    expectKeeps(P, { min_p: 0.8 }, [2]);
    expectKeeps(P, { min_p: 0.7 }, [0, 2]);
    expectKeeps(P, { min_p: 0.4 }, [0, 2, 3]);
    expectKeeps(P, { min_p: 0.2 }, [0, 1, 2, 3]);
    expectKeeps(P, { min_p: 0 }, [0, 1, 2, 3]); // 0: off
  });

  it('is relative to the top probability, not an absolute floor', () => {
    // A flat tail: 10 tokens of 0.05 and one of 0.5. min_p 0.09 -> floor 0.045: every token stays (an absolute
    // floor of 0.09 would keep only the top one). min_p 0.11 -> floor 0.055: only the top one.
    const flat = [0.5, ...new Array<number>(10).fill(0.05)];
    expect(kept(counts(logitsOf(flat), { min_p: 0.09 }))).toEqual(flat.map((_, i) => i));
    expect(kept(counts(logitsOf(flat), { min_p: 0.11 }))).toEqual([0]);
  });
});

describe('filters combined (HF order: top_k -> top_p -> min_p, each on what the previous kept)', () => {
  it('top_k then top_p: the mass is over the renormalised top k', () => {
    // top_k 2 keeps ids 2 and 0: renormalised 0.571, 0.429. top_p 0.55: 0.571 already reaches it -> id 2 only
    // (over the full distribution 0.4 < 0.55 would have kept id 0 too).
    expectKeeps(P, { top_k: 2, top_p: 0.55 }, [2]);
    expectKeeps(P, { top_k: 3, top_p: 0.95 }, [0, 2, 3]);
  });

  it('top_p then min_p; min_p bounded by top_k', () => {
    expectKeeps(P, { top_p: 0.95, min_p: 0.6 }, [0, 2]);
    expectKeeps(P, { top_k: 2, min_p: 0.2 }, [0, 2]);
  });
});

describe('top-k selection (one pass) == the first k of the full sort', () => {
  it('for any logits (ties, -Infinity, all equal) and any k, the same ids in the same order', () => {
    const logit = fc.oneof(fc.constantFrom(-Infinity, 0, 1, -1, 2.5), fc.double({ min: -30, max: 30, noNaN: true }));
    fc.assert(
      fc.property(fc.array(logit, { minLength: 1, maxLength: 300 }), fc.integer({ min: 1, max: 320 }), (zs, k) => {
        const z = Float64Array.from(zs);
        const full = Array.from(sortedIds(z, new Int32Array(z.length)));
        expect(Array.from(topKIds(z, k, new Int32Array(k)))).toEqual(full.slice(0, k));
      }),
    );
  });
});
