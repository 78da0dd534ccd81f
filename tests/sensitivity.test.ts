// The llama.cpp golden comparison must be able to fail. Each classic LFM2 mistake (spec §9) is injected here
// through the weights or the dims (the code stays as it is) and must move the logits far past the tolerance the
// golden test allows. If the test models were too weak to expose a mistake, this test would say so.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { GOLDEN_SHAPES } from '../golden/cases.js';
import { decodeLogitsGolden, type LogitsGoldenSequence } from '../golden/logits-file.js';
import { bytesSource } from '../reference/bytes.js';
import { concatParts } from '../reference/gguf.js';
import { loadModel, type LoadedModel } from '../reference/load.js';
import { forward, newState, type Lfm2Weights } from '../reference/model.js';
import { synthGguf, synthModel } from '../src/synth/random-model.js';
import { diff, LLAMACPP_MAX_ABS_FLOAT } from './compare.js';

/** A mistake must move some logit by at least this many F32 tolerances. */
const MIN_MISTAKE_EFFECT = 20;

const spec = GOLDEN_SHAPES.find((s) => s.name === 'd96-gqa3')!; // conv layers 0,1,3,4; attention at 2 and 5
let model: LoadedModel;
let golden: LogitsGoldenSequence[];

beforeAll(async () => {
  model = await loadModel({ gguf: bytesSource(concatParts(synthGguf(synthModel(spec), 'F32')), 'd96.gguf') });
  golden = decodeLogitsGolden(readFileSync(join(import.meta.dirname, '..', 'golden', 'logits', 'd96-gqa3.f32.bin')), 'd96-gqa3.f32.bin').sequences;
});

function maxDiffToLlama(w: Lfm2Weights, dims = model.dims): number {
  let worst = 0;
  for (const s of golden) worst = Math.max(worst, diff(forward(w, dims, newState(dims), s.tokens, { allLogits: true }), s.logits).maxAbs);
  return worst;
}

/** A deep copy of the weights with `edit` applied to every layer. */
function mutate(edit: (l: Lfm2Weights['layers'][number], d: typeof model.dims) => void): Lfm2Weights {
  const w = structuredClone(model.weights);
  w.layers.forEach((l) => edit(l, model.dims));
  return w;
}

describe('the golden comparison catches the classic mistakes', () => {
  it('the unmodified oracle is within tolerance (baseline)', () => {
    expect(maxDiffToLlama(model.weights)).toBeLessThanOrEqual(LLAMACPP_MAX_ABS_FLOAT);
  });

  const mistakes: [string, () => number][] = [
    ['conv kernel taps reversed (tap 0 on the current token)', () =>
      maxDiffToLlama(mutate((l, d) => {
        if (!l.conv) return;
        for (let ch = 0; ch < d.D; ch++) l.conv.conv.subarray(ch * d.Lc, (ch + 1) * d.Lc).reverse();
      }))],
    ['conv gates B and C swapped', () =>
      maxDiffToLlama(mutate((l, d) => {
        if (!l.conv) return;
        const p = l.conv.in_proj;
        const b = p.slice(0, d.D * d.D);
        p.copyWithin(0, d.D * d.D, 2 * d.D * d.D);
        p.set(b, d.D * d.D);
      }))],
    ['SwiGLU with silu on w3 instead of w1', () =>
      maxDiffToLlama(mutate((l) => {
        [l.feed_forward.w1, l.feed_forward.w3] = [l.feed_forward.w3, l.feed_forward.w1];
      }))],
    ['GPT-J (interleaved) RoPE pairs instead of NeoX halves', () =>
      // Permuting q and k rows within each head the same way leaves q.k unchanged, but changes which
      // dimensions RoPE rotates together: exactly the interleaved-vs-half-split mistake.
      maxDiffToLlama(mutate((l, d) => {
        if (!l.self_attn) return;
        const perm = Array.from({ length: d.hd }, (_, i) => (i % 2 === 0 ? i / 2 : d.hd / 2 + (i - 1) / 2));
        for (const [W, heads, norm] of [[l.self_attn.q_proj, d.H, l.self_attn.q_layernorm], [l.self_attn.k_proj, d.K, l.self_attn.k_layernorm]] as const) {
          const src = W.slice();
          for (let h = 0; h < heads; h++) for (let i = 0; i < d.hd; i++) W.set(src.subarray((h * d.hd + perm[i]) * d.D, (h * d.hd + perm[i] + 1) * d.D), (h * d.hd + i) * d.D);
          const n = norm.slice();
          for (let i = 0; i < d.hd; i++) norm[i] = n[perm[i]];
        }
      }))],
    ['RoPE theta 1e4 instead of 1e6', () => maxDiffToLlama(model.weights, { ...model.dims, ropeTheta: 1e4 })],
    ['kv head g serving query heads g, g+K, ... (repeat_kv interleaved)', () =>
      // Permute q heads so head h takes the place of head (h % K) * group + floor(h / K).
      maxDiffToLlama(mutate((l, d) => {
        if (!l.self_attn) return;
        const group = d.H / d.K;
        const q = l.self_attn.q_proj.slice();
        const o = l.self_attn.out_proj.slice();
        for (let h = 0; h < d.H; h++) {
          const to = (h % d.K) * group + Math.floor(h / d.K);
          l.self_attn.q_proj.set(q.subarray(h * d.hd * d.D, (h + 1) * d.hd * d.D), to * d.hd * d.D);
          for (let r = 0; r < d.D; r++) for (let i = 0; i < d.hd; i++) l.self_attn.out_proj[r * d.H * d.hd + to * d.hd + i] = o[r * d.H * d.hd + h * d.hd + i];
        }
      }))],
  ];

  for (const [what, run] of mistakes) {
    it(`${what} moves the logits by >= ${MIN_MISTAKE_EFFECT}x the F32 tolerance`, () => {
      const d = run();
      expect(d, `${what}: max |Δ| to llama.cpp is only ${d}`).toBeGreaterThan(MIN_MISTAKE_EFFECT * LLAMACPP_MAX_ABS_FLOAT);
      console.log(`mistake '${what}': max |Δ| to llama.cpp ${d.toExponential(2)}`);
    });
  }
});
