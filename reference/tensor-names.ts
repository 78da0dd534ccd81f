// The one table that maps HF tensor names to GGUF names (spec §5.1), with each tensor's expected shape.
//
// Shapes are in HF order: (out, in) for matrices, outermost first. GGUF lists dims innermost first, so a GGUF
// tensor with dims {in, out} has HF shape [out, in]; the conv kernel, (D, 1, Lc) in HF, is stored squeezed as
// {Lc, D}. Nothing is transposed and q/k are not permuted by the converter.

import type { Lfm2Dims } from './config.js';

export type TensorRole = 'all' | 'conv' | 'attention';

export interface TensorNameEntry {
  /** HF name relative to `model.layers.{l}.` (per-layer) or the full name (global). */
  hf: string;
  gguf: string;
  /** Other GGUF names seen in published files. */
  ggufAliases?: string[];
  role: TensorRole;
  shape(d: Lfm2Dims): number[];
}

/** Tensors outside the layers. lm_head is absent in tied checkpoints (all LFM2 models). */
export const GLOBAL_TENSORS: TensorNameEntry[] = [
  { hf: 'model.embed_tokens.weight', gguf: 'token_embd.weight', role: 'all', shape: (d) => [d.V, d.D] },
  // The FINAL norm: llama.cpp calls it token_embd_norm, one ollama converter output_norm.
  { hf: 'model.embedding_norm.weight', gguf: 'token_embd_norm.weight', ggufAliases: ['output_norm.weight'], role: 'all', shape: (d) => [d.D] },
];

/** An untied output head, accepted when present. */
export const LM_HEAD: TensorNameEntry = { hf: 'lm_head.weight', gguf: 'output.weight', role: 'all', shape: (d) => [d.V, d.D] };

/** Tensors of layer l: `model.layers.{l}.<hf>` <-> `blk.{l}.<gguf>`. */
export const LAYER_TENSORS: TensorNameEntry[] = [
  { hf: 'operator_norm.weight', gguf: 'attn_norm.weight', role: 'all', shape: (d) => [d.D] },
  { hf: 'ffn_norm.weight', gguf: 'ffn_norm.weight', role: 'all', shape: (d) => [d.D] },
  { hf: 'feed_forward.w1.weight', gguf: 'ffn_gate.weight', role: 'all', shape: (d) => [d.F, d.D] },
  { hf: 'feed_forward.w3.weight', gguf: 'ffn_up.weight', role: 'all', shape: (d) => [d.F, d.D] },
  { hf: 'feed_forward.w2.weight', gguf: 'ffn_down.weight', role: 'all', shape: (d) => [d.D, d.F] },
  { hf: 'conv.in_proj.weight', gguf: 'shortconv.in_proj.weight', role: 'conv', shape: (d) => [3 * d.D, d.D] },
  { hf: 'conv.conv.weight', gguf: 'shortconv.conv.weight', role: 'conv', shape: (d) => [d.D, d.Lc] },
  { hf: 'conv.out_proj.weight', gguf: 'shortconv.out_proj.weight', role: 'conv', shape: (d) => [d.D, d.D] },
  { hf: 'self_attn.q_proj.weight', gguf: 'attn_q.weight', role: 'attention', shape: (d) => [d.H * d.hd, d.D] },
  { hf: 'self_attn.k_proj.weight', gguf: 'attn_k.weight', role: 'attention', shape: (d) => [d.K * d.hd, d.D] },
  { hf: 'self_attn.v_proj.weight', gguf: 'attn_v.weight', role: 'attention', shape: (d) => [d.K * d.hd, d.D] },
  { hf: 'self_attn.out_proj.weight', gguf: 'attn_output.weight', role: 'attention', shape: (d) => [d.D, d.H * d.hd] },
  { hf: 'self_attn.q_layernorm.weight', gguf: 'attn_q_norm.weight', role: 'attention', shape: (d) => [d.hd] },
  { hf: 'self_attn.k_layernorm.weight', gguf: 'attn_k_norm.weight', role: 'attention', shape: (d) => [d.hd] },
];

/** HF name -> GGUF name, for any tensor of an LFM2 model. */
export function hfToGguf(hf: string): string {
  const g = [...GLOBAL_TENSORS, LM_HEAD].find((e) => e.hf === hf);
  if (g) return g.gguf;
  const m = /^model\.layers\.(\d+)\.(.+)$/.exec(hf);
  const e = m && LAYER_TENSORS.find((x) => x.hf === m[2]);
  if (!m || !e) throw new RangeError(`'${hf}' is not an LFM2 tensor name`);
  return `blk.${m[1]}.${e.gguf}`;
}
