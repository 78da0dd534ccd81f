// The model descriptor shared by the host and assembly/model.ts: word offsets, weight type codes, tap ids and
// names, the threads' control block. assembly/ has its own copy of each number (AssemblyScript cannot import
// this file); tests/layout.test.ts reads those constants out of the assembly sources and checks they agree.

/** Descriptor words (i32 index). */
export const M = {
  D: 0, H: 1, K: 2, HD: 3, F: 4, V: 5, LC: 6, NLAYERS: 7, EPS: 8, CAPACITY: 9, POS: 10, TMAX: 11,
  EMBED: 12, EMBED_T: 13, HEAD: 14, HEAD_T: 15, FINAL_NORM: 16, ROPE: 17, TAPS: 18,
  H_BUF: 19, XB: 20, OB: 21, BCX: 22, BX: 23, Q: 24, KB: 25, VB: 26, ATTN: 27,
  GATE: 28, UP: 29, ACT: 30, ATTN_WORK: 31, LOGITS: 32, CONV_OUT: 33, CONV_Y: 34,
  TOKENS: 35, NTOK: 36, ALL_LOGITS: 37, CTL: 38, KV_F16: 39, ATTN_PARTS: 40, ATTN_ML: 41,
  ACTK: 42, XF16: 43, XBF16: 44,
  LAYERS: 64, LAYER_WORDS: 24,
} as const;

/** Positions per attention softmax block and per K cache tile (assembly/attention.ts ATT_BLOCK, KV_TILE). */
export const ATT_BLOCK = 256;
export const KV_TILE = 8;

/**
 * The threads' control block (i32 words, in shared memory; CTL_BYTES long): COUNT and GEN are the barrier's
 * (assembly/threads.ts); START is bumped by the leading thread to start a step, CMD says what to do (RUN or EXIT),
 * DESC is the descriptor's address.
 */
export const CTL = { COUNT: 0, GEN: 1, START: 2, CMD: 3, DESC: 4 } as const;
export const CTL_BYTES = 64;
export const CMD = { RUN: 1, EXIT: 2 } as const;

/** Words of one layer's entry (at M.LAYERS + l * M.LAYER_WORDS). */
export const L = {
  KIND: 0, OP_NORM: 1, FFN_NORM: 2, W1: 3, W1_T: 4, W3: 5, W3_T: 6, W2: 7, W2_T: 8,
  // conv layers
  IN: 9, IN_T: 10, CONV: 11, OUT: 12, OUT_T: 13, STATE: 14,
  // attention layers
  QP: 9, QP_T: 10, KP: 11, KP_T: 12, VP: 13, VP_T: 14, OP: 15, OP_T: 16, QN: 17, KN: 18, KC: 19, VC: 20,
} as const;

/**
 * Weight layouts in WASM memory, by their descriptor code (the GGML type id of the block format). F32, F16 and
 * BF16 are GGML's row-major rows; the others are 4-row interleaved repacks (assembly/quant.ts, assembly/kquants.ts).
 */
export const WeightCode = { F32: 0, F16: 1, Q4_0_X4: 2, Q8_0_X4: 8, Q4_K_X4: 12, Q5_K_X4: 13, Q6_K_X4: 14, BF16: 30 } as const;
export type WeightCode = (typeof WeightCode)[keyof typeof WeightCode];

/** Bytes of a weight matrix (R, K) in a layout: x4 layouts pad R to a multiple of 4 (GGML's bytes per weight). */
export function weightBytes(code: WeightCode, R: number, K: number): number {
  const R4 = Math.ceil(R / 4) * 4;
  switch (code) {
    case WeightCode.Q4_0_X4: return (R4 * K * 18) / 32;
    case WeightCode.Q8_0_X4: return (R4 * K * 34) / 32;
    case WeightCode.Q4_K_X4: return (R4 * K * 144) / 256;
    case WeightCode.Q5_K_X4: return (R4 * K * 176) / 256;
    case WeightCode.Q6_K_X4: return (R4 * K * 210) / 256;
    case WeightCode.F16:
    case WeightCode.BF16: return R * K * 2;
    default: return R * K * 4;
  }
}

/**
 * One line for the load message from WasmCore.weightLayouts ("tensor" -> "stored -> layout"): counts per mapping,
 * e.g. "as stored: 98 Q4_K, 19 Q6_K" or "converted: 98 Q4_K -> Q8_0, 19 Q6_K -> Q8_0".
 */
export function describeWeightLayouts(layouts: ReadonlyMap<string, string>): string {
  const counts = new Map<string, number>();
  for (const l of layouts.values()) counts.set(l, (counts.get(l) ?? 0) + 1);
  const same = (l: string) => l.split(' -> ')[0] === l.split(' -> ')[1];
  const part = (keep: (l: string) => boolean, name: (l: string) => string) =>
    [...counts].filter(([l]) => keep(l)).sort((a, b) => b[1] - a[1]).map(([l, n]) => `${n} ${name(l)}`).join(', ');
  const stored = part(same, (l) => l.split(' -> ')[0]);
  const converted = part((l) => !same(l), (l) => l);
  return [stored && `as stored: ${stored}`, converted && `converted: ${converted}`].filter(Boolean).join('; ');
}

/** Model-level tap codes (tap id = code) and their oracle names. assembly/model.ts: T_EMBED, T_FINAL_NORM, T_LM_HEAD. */
export const MODEL_TAP = { EMBED: 0, FINAL_NORM: 1, LM_HEAD: 2 } as const;
const MODEL_TAP_NAMES: Record<number, string> = { 0: 'model.embed_tokens', 1: 'model.embedding_norm', 2: 'lm_head' };

/** Layer tap codes (tap id = 32 * (layer + 1) + code) and their oracle names (after `model.layers.<l>.`). */
export const LAYER_TAP = {
  OP_NORM: 1, IN_PROJ: 2, CONV: 3, CONV_OUT: 4, Q: 5, K: 6, V: 7, QN: 8, KN: 9, QR: 10, KR: 11, ATTN: 12, ATTN_OUT: 13,
  FFN_NORM: 14, W1: 15, W3: 16, W2: 17, LAYER: 18,
} as const;
const LAYER_TAP_NAMES: Record<number, string> = {
  1: 'operator_norm', 2: 'conv.in_proj', 3: 'conv.conv', 4: 'conv.out_proj', 5: 'self_attn.q_proj', 6: 'self_attn.k_proj', 7: 'self_attn.v_proj',
  8: 'self_attn.q_layernorm', 9: 'self_attn.k_layernorm', 10: 'self_attn.q_rope', 11: 'self_attn.k_rope', 12: 'self_attn.attn', 13: 'self_attn.out_proj',
  14: 'ffn_norm', 15: 'feed_forward.w1', 16: 'feed_forward.w3', 17: 'feed_forward.w2',
};

/** The oracle's tap name (reference/model.ts) for a tap id 32 * (layer + 1) + code. */
export function tapName(id: number): string {
  const layer = (id >> 5) - 1;
  const code = id & 31;
  if (layer < 0) return MODEL_TAP_NAMES[code];
  return code === LAYER_TAP.LAYER ? `model.layers.${layer}` : `model.layers.${layer}.${LAYER_TAP_NAMES[code]}`;
}
