// The seeded tiny models and token sequences the llama.cpp goldens are made from. The golden script and the
// tests both rebuild the models from these seeds; the manifest records each file's sha256 so a change to the
// model maker shows up as "stale goldens", not as a mysterious numeric mismatch.

import { GgmlType } from '../reference/ggml-type.js';
import type { SynthFileType, SynthSpec } from '../src/synth/random-model.js';
import { KQUANT_SHAPE, shapeSequences, TINY_SHAPES } from '../src/synth/shapes.js';

export { KQUANT_SHAPE };

/** Bump when the golden file layout changes; the test refuses other versions. */
export const GOLDEN_FORMAT_VERSION = 1;

/** The golden shapes (src/synth/shapes.ts): GQA ratios 3-5, attention at various layers, hidden 64-256. */
export const GOLDEN_SHAPES: SynthSpec[] = TINY_SHAPES;

export const GOLDEN_FILE_TYPES: SynthFileType[] = ['F32', 'F16', 'BF16', 'Q8_0', 'Q4_0'];

/**
 * The stock K-quant mixes (llama-quantize's per-tensor choice, src/synth/random-model.ts kquantTensorType) on a
 * golden shape whose rows are all multiples of 256, so every matrix is a K-quant as in LFM2.5-1.2B's files (its
 * one attention layer's attn_v, its last ffn_down and the tied embedding are Q6_K, the rest the preset's type).
 * The shape is small on purpose: the tests rebuild these files with the JS K-quant quantizers, ~1 s each.
 */
export const KQUANT_FILE_TYPES: SynthFileType[] = ['Q4_K_M', 'Q5_K_M', 'Q6_K'];
export const KQUANT_GOLDEN_SHAPES: SynthSpec[] = [KQUANT_SHAPE];
/** Shapes whose llama-quantize type choices are recorded (golden/mix-golden.ts): lfm2-pattern has the real layer
 * pattern, so the same Q6_K picks as the full-size model. */
export const MIX_GOLDEN_SHAPES: SynthSpec[] = [TINY_SHAPES.find((s) => s.name === 'lfm2-pattern')!, KQUANT_SHAPE];

/** Every (shape, file type) golden case made from our model maker alone. */
export const GOLDEN_CASES: { spec: SynthSpec; type: SynthFileType }[] = [
  ...TINY_SHAPES.flatMap((spec) => GOLDEN_FILE_TYPES.map((type) => ({ spec, type }))),
  ...KQUANT_GOLDEN_SHAPES.flatMap((spec) => KQUANT_FILE_TYPES.map((type) => ({ spec, type }))),
];

/** The token sequences each golden model is evaluated on. */
export const goldenSequences = shapeSequences;

/** Tolerance classes (max |logit difference| against llama.cpp), by file type. */
export type ToleranceClass = 'float' | 'bf16' | 'q8_0' | 'q4_0' | 'kquant';
export const TOLERANCE_CLASS: Record<SynthFileType, ToleranceClass> = {
  F32: 'float', F16: 'float', BF16: 'bf16', Q8_0: 'q8_0', Q4_0: 'q4_0', Q4_K_M: 'kquant', Q5_K_M: 'kquant', Q6_K: 'kquant',
};

export function caseId(spec: SynthSpec, type: SynthFileType): string {
  return `${spec.name}.${type.toLowerCase()}`;
}

/**
 * A "stock" mixed file, as llama-quantize makes them: Q4_0 matrices, but the (tied) token embedding in Q6_K, and
 * a few matrices in Q4_K / Q5_K as Q4_K_M files have. K-quant blocks hold 256 values, so every row length here is a
 * multiple of 256. The K-quant tensors are quantized by ggml itself when the goldens are made, and their bytes are
 * committed (golden/logits/<case>.kquants.gguf), since this project has no K-quant quantizer of its own.
 */
export const KQUANT_BASE_TYPE: SynthFileType = 'Q4_0';
export const KQUANT_TENSORS: Record<string, number> = {
  'token_embd.weight': GgmlType.Q6_K,
  'blk.0.ffn_gate.weight': GgmlType.Q4_K,
  'blk.0.ffn_down.weight': GgmlType.Q5_K,
  'blk.1.attn_q.weight': GgmlType.Q4_K,
  'blk.2.shortconv.out_proj.weight': GgmlType.Q5_K,
};
export const KQUANT_CASE_ID = 'kmix-d256.q4_0-kquants';
