// The model descriptor shared by the host and assembly/model.ts: word offsets, weight type codes, tap names.
// Keep in sync with the constants at the top of assembly/model.ts.

/** Descriptor words (i32 index). */
export const M = {
  D: 0, H: 1, K: 2, HD: 3, F: 4, V: 5, LC: 6, NLAYERS: 7, EPS: 8, CAPACITY: 9, POS: 10, TMAX: 11,
  EMBED: 12, EMBED_T: 13, HEAD: 14, HEAD_T: 15, FINAL_NORM: 16, ROPE: 17, TAPS: 18,
  H_BUF: 19, XB: 20, OB: 21, BCX: 22, BX: 23, Q: 24, KB: 25, VB: 26, ATTN: 27,
  GATE: 28, UP: 29, ACT: 30, ATTN_WORK: 31, LOGITS: 32, CONV_OUT: 33, CONV_Y: 34,
  TOKENS: 35, NTOK: 36, ALL_LOGITS: 37, CTL: 38, KV_F16: 39, ATTN_PARTS: 40, ATTN_ML: 41,
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

/** Weight layouts in WASM memory, by their descriptor code (the GGML type id of the block format). */
export const WeightCode = { F32: 0, Q4_0_X4: 2, Q8_0_X4: 8 } as const;
export type WeightCode = (typeof WeightCode)[keyof typeof WeightCode];

/** Bytes of a weight matrix (R, K) in a layout: x4 layouts pad R to a multiple of 4 (GGML's bytes per weight). */
export function weightBytes(code: WeightCode, R: number, K: number): number {
  const R4 = Math.ceil(R / 4) * 4;
  if (code === WeightCode.Q4_0_X4) return (R4 * K * 18) / 32;
  if (code === WeightCode.Q8_0_X4) return (R4 * K * 34) / 32;
  return R * K * 4;
}

const MODEL_TAPS = ['model.embed_tokens', 'model.embedding_norm', 'lm_head'];
const LAYER_TAPS = [
  '', 'operator_norm', 'conv.in_proj', 'conv.conv', 'conv.out_proj', 'self_attn.q_proj', 'self_attn.k_proj', 'self_attn.v_proj',
  'self_attn.q_layernorm', 'self_attn.k_layernorm', 'self_attn.q_rope', 'self_attn.k_rope', 'self_attn.attn', 'self_attn.out_proj',
  'ffn_norm', 'feed_forward.w1', 'feed_forward.w3', 'feed_forward.w2', '',
];
const LAYER_OUTPUT = 18;

/** The oracle's tap name (reference/model.ts) for a tap id 32 * (layer + 1) + code. */
export function tapName(id: number): string {
  const layer = (id >> 5) - 1;
  const code = id & 31;
  if (layer < 0) return MODEL_TAPS[code];
  return code === LAYER_OUTPUT ? `model.layers.${layer}` : `model.layers.${layer}.${LAYER_TAPS[code]}`;
}
