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

export const GOLDEN_FILE_TYPES: SynthFileType[] = ['F32', 'F16', 'Q8_0', 'Q4_0'];

/** The token sequences each golden model is evaluated on. */
export const goldenSequences = shapeSequences;

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
export const KQUANT_BASE_TYPE: SynthFileType = 'Q4_0';
export const KQUANT_TENSORS: Record<string, number> = {
  'token_embd.weight': GgmlType.Q6_K,
  'blk.0.ffn_gate.weight': GgmlType.Q4_K,
  'blk.0.ffn_down.weight': GgmlType.Q5_K,
  'blk.1.attn_q.weight': GgmlType.Q4_K,
  'blk.2.shortconv.out_proj.weight': GgmlType.Q5_K,
};
export const KQUANT_CASE_ID = 'kmix-d256.q4_0-kquants';
