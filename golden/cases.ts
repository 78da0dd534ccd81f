// The seeded tiny models and token sequences the llama.cpp goldens are made from. The golden script and the
// tests both rebuild the models from these seeds; the manifest records each file's sha256 so a change to the
// model maker shows up as "stale goldens", not as a mysterious numeric mismatch.

import { Rng } from '../src/synth/rng.js';
import { GgmlType } from '../reference/ggml-type.js';
import type { SynthFileType, SynthSpec } from '../src/synth/random-model.js';

/** Bump when the golden file layout changes; the test refuses other versions. */
export const GOLDEN_FORMAT_VERSION = 1;

export const GOLDEN_SHAPES: SynthSpec[] = [
  // GQA ratio 4, attention at the odd layers, smallest everything.
  { name: 'tiny-gqa4', seed: 101, hidden_size: 64, num_hidden_layers: 4, attn_layers: [1, 3], num_attention_heads: 4, num_key_value_heads: 1, ffn: 128, vocab_size: 300 },
  // Hidden 96 (a multiple of 32, not a power of two), GQA ratio 3, attention at 2 and 5 as in the real model.
  { name: 'd96-gqa3', seed: 202, hidden_size: 96, num_hidden_layers: 6, attn_layers: [2, 5], num_attention_heads: 6, num_key_value_heads: 2, ffn: 256, vocab_size: 320 },
  // The real layer pattern (16 layers, attention at 2,5,8,10,12,14), head_dim 64 as in LFM2.5, GQA ratio 4.
  { name: 'lfm2-pattern', seed: 303, hidden_size: 256, num_hidden_layers: 16, attn_layers: [2, 5, 8, 10, 12, 14], num_attention_heads: 4, num_key_value_heads: 1, ffn: 512, vocab_size: 384 },
  // Attention as the very first layer and hidden 160 (5 x 32), GQA ratio 5.
  { name: 'd160-attn0', seed: 404, hidden_size: 160, num_hidden_layers: 5, attn_layers: [0, 3], num_attention_heads: 10, num_key_value_heads: 2, ffn: 416, vocab_size: 288 },
];

export const GOLDEN_FILE_TYPES: SynthFileType[] = ['F32', 'F16', 'Q8_0', 'Q4_0'];

/** Two sequences per shape: one starting with BOS, one of arbitrary ids (including control tokens). */
export function goldenSequences(spec: SynthSpec): number[][] {
  const r = new Rng(spec.seed ^ 0x5eed);
  const bos = [1, ...Array.from({ length: 47 }, () => 14 + r.int(spec.vocab_size - 14))];
  const any = Array.from({ length: 40 }, () => r.int(spec.vocab_size));
  return [bos, any];
}

/** Tolerance classes (max |logit difference| against llama.cpp), by file type. */
export type ToleranceClass = 'float' | 'q8_0' | 'q4_0';
export const TOLERANCE_CLASS: Record<SynthFileType, ToleranceClass> = { F32: 'float', F16: 'float', Q8_0: 'q8_0', Q4_0: 'q4_0' };

export function caseId(spec: SynthSpec, type: SynthFileType): string {
  return `${spec.name}.${type.toLowerCase()}`;
}

/**
 * A "stock" mixed file, as llama-quantize makes them: Q4_0 matrices, but the (tied) token embedding in Q6_K, and
 * a few matrices in Q4_K / Q5_K as Q4_K_M files have. K-quant blocks hold 256 values, so every row length here is a
 * multiple of 256. The K-quant tensors are quantized by ggml itself when the goldens are made, and their bytes are
 * committed (golden/logits/<case>.kquants.gguf), since this project has no K-quant quantizer of its own.
 */
export const KQUANT_SHAPE: SynthSpec = { name: 'kmix-d256', seed: 505, hidden_size: 256, num_hidden_layers: 3, attn_layers: [1], num_attention_heads: 4, num_key_value_heads: 1, ffn: 256, vocab_size: 288 };
export const KQUANT_BASE_TYPE: SynthFileType = 'Q4_0';
export const KQUANT_TENSORS: Record<string, number> = {
  'token_embd.weight': GgmlType.Q6_K,
  'blk.0.ffn_gate.weight': GgmlType.Q4_K,
  'blk.0.ffn_down.weight': GgmlType.Q5_K,
  'blk.1.attn_q.weight': GgmlType.Q4_K,
  'blk.2.shortconv.out_proj.weight': GgmlType.Q5_K,
};
export const KQUANT_CASE_ID = 'kmix-d256.q4_0-kquants';
