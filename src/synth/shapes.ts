// Named shapes for seeded random LFM2 models: the tiny ones the llama.cpp goldens and the tests use, and the
// full LFM2.5-1.2B shape for benchmarks. `lfm synth --shape <name>` takes these names.

import { Rng } from './rng.js';
import { LFM2_5_1_2B_SHAPE, type SynthSpec } from './random-model.js';

/** The tiny shapes of the llama.cpp goldens (golden/cases.ts). */
export const TINY_SHAPES: SynthSpec[] = [
  // GQA ratio 4, attention at the odd layers, smallest everything.
  { name: 'tiny-gqa4', seed: 101, hidden_size: 64, num_hidden_layers: 4, attn_layers: [1, 3], num_attention_heads: 4, num_key_value_heads: 1, ffn: 128, vocab_size: 300 },
  // Hidden 96 (a multiple of 32, not a power of two), GQA ratio 3, attention at 2 and 5 as in the real model.
  { name: 'd96-gqa3', seed: 202, hidden_size: 96, num_hidden_layers: 6, attn_layers: [2, 5], num_attention_heads: 6, num_key_value_heads: 2, ffn: 256, vocab_size: 320 },
  // The real layer pattern (16 layers, attention at 2,5,8,10,12,14), head_dim 64 as in LFM2.5, GQA ratio 4.
  { name: 'lfm2-pattern', seed: 303, hidden_size: 256, num_hidden_layers: 16, attn_layers: [2, 5, 8, 10, 12, 14], num_attention_heads: 4, num_key_value_heads: 1, ffn: 512, vocab_size: 384 },
  // Attention as the very first layer and hidden 160 (5 x 32), GQA ratio 5.
  { name: 'd160-attn0', seed: 404, hidden_size: 160, num_hidden_layers: 5, attn_layers: [0, 3], num_attention_heads: 10, num_key_value_heads: 2, ffn: 416, vocab_size: 288 },
];

/** Every dim a multiple of 256, for K-quant blocks (the golden stock-style Q4_0 + K-quant file). */
export const KQUANT_SHAPE: SynthSpec = { name: 'kmix-d256', seed: 505, hidden_size: 256, num_hidden_layers: 3, attn_layers: [1], num_attention_heads: 4, num_key_value_heads: 1, ffn: 256, vocab_size: 288 };

export const FULL_SHAPE_NAME = 'lfm2.5-1.2b';

/** All named shapes: the tiny ones, the K-quant one, and the full LFM2.5-1.2B shape (seed 1). */
export const SYNTH_SHAPES: SynthSpec[] = [...TINY_SHAPES, KQUANT_SHAPE, { name: FULL_SHAPE_NAME, seed: 1, ...LFM2_5_1_2B_SHAPE }];

/** Two token sequences per shape (seeded): 48 ids starting with BOS, and 40 arbitrary ids (control tokens included). */
export function shapeSequences(spec: SynthSpec): number[][] {
  const r = new Rng(spec.seed ^ 0x5eed);
  const bos = [1, ...Array.from({ length: 47 }, () => 14 + r.int(spec.vocab_size - 14))];
  const any = Array.from({ length: 40 }, () => r.int(spec.vocab_size));
  return [bos, any];
}
