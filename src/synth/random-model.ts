// Seeded random LFM2 models of any shape, written as GGUF (F32, F16, BF16, Q8_0, Q4_0, and the stock K-quant mixes
// Q4_K_M, Q5_K_M, Q6_K) and, from the same weights, as an HF folder (config.json + model.safetensors).
//
// Used for: the llama.cpp goldens (tiny shapes), the format and oracle tests, and the benchmarks (the full
// LFM2.5-1.2B shape: speed does not depend on weight values). Each tensor is generated on its own from a seed
// derived from (model seed, tensor name), so tensors can be made one at a time and a full-size model never has
// to sit in memory as f32.
//
// Weight scales are chosen so that the models are well conditioned, because the goldens compare us with
// llama.cpp, which rounds activations to Q8_0 and keeps K, V and the softmax in f16 (about 0.5% relative error
// per rounding). Those errors pass through every block; the scales keep them from swamping the tolerances:
//   - linear weights have variance 1/in, so each projection keeps its input's scale;
//   - the embedding rows have unit RMS, like the normed block inputs;
//   - the output projections of each residual branch (conv.out_proj, self_attn.out_proj, feed_forward.w2) are
//     scaled by RESIDUAL_SCALE / sqrt(2 * layers) (GPT-2's residual init), so the blocks together add about half
//     the embedding's magnitude: plenty to expose any structural mistake, not so much that rounding dominates;
//   - the final norm's weights are +-LOGIT_SD / sqrt(D) (+-10%, random signs), so logits have a standard deviation
//     near LOGIT_SD and no bias towards repeating the input token.

import { ffnWidth } from '../../reference/config.js';
import { GgmlType } from '../../reference/ggml-type.js';
import { gv, GgufValueType, writeGguf, type GgufValue } from '../../reference/gguf.js';
import { quantize } from '../../reference/quant.js';
import { hfToGguf } from '../../reference/tensor-names.js';
import { writeSafetensors } from '../../reference/safetensors.js';
import { hashString, Rng } from './rng.js';
import { vocabToTokenizerConfig, vocabToTokenizerJson } from './tokenizer-json.js';
import { makeVocab, type Vocab } from './vocab.js';

/** Standard deviation of the logits of a synthetic model (see the file comment). */
export const LOGIT_SD = 0.5;
/** Total scale of the residual branches relative to the embedding (see the file comment). */
export const RESIDUAL_SCALE = 0.5;

export interface SynthSpec {
  /** Used in general.name and file names. */
  name: string;
  seed: number;
  hidden_size: number;
  num_hidden_layers: number;
  /** Indices of the attention layers; all others are conv layers. */
  attn_layers: number[];
  num_attention_heads: number;
  num_key_value_heads: number;
  /** The real FFN width (w1 rows). */
  ffn: number;
  /** Embedding rows (= GGUF token count). */
  vocab_size: number;
  conv_L_cache?: number;
  rope_theta?: number;
  norm_eps?: number;
  max_position_embeddings?: number;
  /**
   * Write the HF config the way LiquidAI does: `block_ff_dim` before the auto-adjust rule, which must give
   * `ffn` back. Without it the config holds `intermediate_size = ffn` with auto-adjust off.
   */
  block_ff_dim?: number;
}

/** The shape of LFM2.5-1.2B (spec §0): 2048 wide, 16 layers, attention at 2,5,8,10,12,14, FFN 8192. */
export const LFM2_5_1_2B_SHAPE: Omit<SynthSpec, 'name' | 'seed'> = {
  hidden_size: 2048,
  num_hidden_layers: 16,
  attn_layers: [2, 5, 8, 10, 12, 14],
  num_attention_heads: 32,
  num_key_value_heads: 8,
  ffn: 8192,
  block_ff_dim: 12288,
  vocab_size: 65536,
  max_position_embeddings: 128000,
};

export interface SynthTensor {
  /** HF name, e.g. model.layers.0.conv.in_proj.weight */
  name: string;
  /** HF shape (out, in) */
  shape: number[];
  /** Makes the f32 values (deterministic; call again for a fresh copy). */
  make(): Float32Array;
}

export interface SynthModel {
  spec: SynthSpec;
  /** The HF config.json object. */
  config: Record<string, unknown>;
  tensors: SynthTensor[];
  vocab: Vocab;
}

/** The HF config.json for a spec. */
export function synthConfig(s: SynthSpec): Record<string, unknown> {
  const cfg: Record<string, unknown> = {
    architectures: ['Lfm2ForCausalLM'],
    model_type: 'lfm2',
    vocab_size: s.vocab_size,
    hidden_size: s.hidden_size,
    num_hidden_layers: s.num_hidden_layers,
    num_attention_heads: s.num_attention_heads,
    num_key_value_heads: s.num_key_value_heads,
    max_position_embeddings: s.max_position_embeddings ?? 4096,
    norm_eps: s.norm_eps ?? 1e-5,
    conv_bias: false,
    conv_L_cache: s.conv_L_cache ?? 3,
    layer_types: Array.from({ length: s.num_hidden_layers }, (_, i) => (s.attn_layers.includes(i) ? 'full_attention' : 'conv')),
    rope_theta: s.rope_theta ?? 1e6,
    tie_embedding: true,
    bos_token_id: 1,
    eos_token_id: 7,
    pad_token_id: 0,
    torch_dtype: 'float32',
  };
  if (s.block_ff_dim !== undefined) {
    Object.assign(cfg, { block_ff_dim: s.block_ff_dim, block_auto_adjust_ff_dim: true, block_ffn_dim_multiplier: 1.0, block_multiple_of: 256 });
    const got = ffnWidth({ intermediate_size: s.block_ff_dim, block_auto_adjust_ff_dim: true, block_ffn_dim_multiplier: 1.0, block_multiple_of: 256 });
    if (got !== s.ffn) throw new RangeError(`block_ff_dim ${s.block_ff_dim} adjusts to ${got}, not ffn ${s.ffn}`);
  } else {
    Object.assign(cfg, { intermediate_size: s.ffn, block_auto_adjust_ff_dim: false });
  }
  return cfg;
}

/** Builds the model description; tensor values are made lazily. */
export function synthModel(s: SynthSpec): SynthModel {
  const D = s.hidden_size;
  const hd = D / s.num_attention_heads;
  const Lc = s.conv_L_cache ?? 3;
  const { ffn: F, vocab_size: V } = s;
  const tensors: SynthTensor[] = [];
  const add = (name: string, shape: number[], fill: (r: Rng) => number) =>
    tensors.push({
      name,
      shape,
      make() {
        const r = new Rng(hashString(name, s.seed));
        const a = new Float32Array(shape.reduce((x, y) => x * y, 1));
        for (let i = 0; i < a.length; i++) a[i] = fill(r);
        return a;
      },
    });
  const norm = (r: Rng) => 1 + r.normalish(0.1);
  const linear = (nIn: number, scale = 1) => (r: Rng) => r.symmetric(scale * Math.sqrt(3 / nIn));
  const branchOut = RESIDUAL_SCALE / Math.sqrt(2 * s.num_hidden_layers);

  add('model.embed_tokens.weight', [V, D], (r) => r.normalish(1));
  for (let l = 0; l < s.num_hidden_layers; l++) {
    const p = `model.layers.${l}`;
    add(`${p}.operator_norm.weight`, [D], norm);
    if (s.attn_layers.includes(l)) {
      add(`${p}.self_attn.q_proj.weight`, [s.num_attention_heads * hd, D], linear(D));
      add(`${p}.self_attn.k_proj.weight`, [s.num_key_value_heads * hd, D], linear(D));
      add(`${p}.self_attn.v_proj.weight`, [s.num_key_value_heads * hd, D], linear(D));
      add(`${p}.self_attn.out_proj.weight`, [D, s.num_attention_heads * hd], linear(D, branchOut));
      add(`${p}.self_attn.q_layernorm.weight`, [hd], norm);
      add(`${p}.self_attn.k_layernorm.weight`, [hd], norm);
    } else {
      add(`${p}.conv.in_proj.weight`, [3 * D, D], linear(D));
      add(`${p}.conv.conv.weight`, [D, 1, Lc], (r) => r.symmetric(0.6));
      add(`${p}.conv.out_proj.weight`, [D, D], linear(D, branchOut));
    }
    add(`${p}.ffn_norm.weight`, [D], norm);
    add(`${p}.feed_forward.w1.weight`, [F, D], linear(D));
    add(`${p}.feed_forward.w3.weight`, [F, D], linear(D));
    add(`${p}.feed_forward.w2.weight`, [D, F], linear(F, branchOut));
  }
  // Random signs: with tied embeddings and an embedding-dominated residual stream, all-positive weights would make
  // every position predict its own input token (the logit of token t is then sum_i w_i e_ti^2 > 0), so greedy
  // decoding would repeat one token forever and top-1 agreement would be trivially 100%.
  add('model.embedding_norm.weight', [D], (r) => (r.uniform() < 0.5 ? -1 : 1) * norm(r) * (LOGIT_SD / Math.sqrt(D)));
  return { spec: s, config: synthConfig(s), tensors, vocab: makeVocab(V) };
}

// ---------------------------------------------------------------------------------------------------------------
// GGUF

export type SynthFileType = 'F32' | 'F16' | 'BF16' | 'Q8_0' | 'Q4_0' | 'Q4_K_M' | 'Q5_K_M' | 'Q6_K';
/** Every GGUF file type synth writes, in the order `lfm synth --help` lists them. */
export const SYNTH_FILE_TYPES: readonly SynthFileType[] = ['F32', 'F16', 'BF16', 'Q8_0', 'Q4_0', 'Q4_K_M', 'Q5_K_M', 'Q6_K'];
/** Per file type: the matrices' default type and llama.cpp's llama_ftype id (general.file_type). */
const FILE_TYPES: Record<SynthFileType, { type: number; ftype: number }> = {
  F32: { type: GgmlType.F32, ftype: 0 },
  F16: { type: GgmlType.F16, ftype: 1 },
  BF16: { type: GgmlType.BF16, ftype: 32 },
  Q8_0: { type: GgmlType.Q8_0, ftype: 7 },
  Q4_0: { type: GgmlType.Q4_0, ftype: 2 },
  Q4_K_M: { type: GgmlType.Q4_K, ftype: 15 },
  Q5_K_M: { type: GgmlType.Q5_K, ftype: 17 },
  Q6_K: { type: GgmlType.Q6_K, ftype: 18 },
};

/**
 * The type llama-quantize gives one matrix of a K-quant file (llama.cpp src/llama-quant.cpp, llama_tensor_get_type
 * for LLAMA_FTYPE_MOSTLY_Q4_K_M / Q5_K_M / Q6_K, without an importance matrix), for LFM2's tensors:
 *   - the (tied) token embedding doubles as the output matrix: Q6_K, or Q8_0 when its rows are not a multiple of 256;
 *   - attn_v (Q4_K_M, Q5_K_M): Q6_K for the attention layers use_more_bits picks (counted among attention layers);
 *   - ffn_down (Q4_K_M, Q5_K_M): Q6_K for the layers use_more_bits picks;
 *   - everything else the file's default type (Q4_K, Q5_K, Q6_K);
 *   - then the shape fallback: a row length that is not a multiple of 256 cannot hold K-quant blocks; llama.cpp
 *     falls back to Q5_0 (for Q4_K), Q5_1 (Q5_K) or Q8_0 (Q6_K). lfm.ts does not read Q5_0 / Q5_1, so this writes
 *     Q8_0 for all three (only the tiny test shapes have such rows; LFM2.5-1.2B's are all multiples of 256).
 * `attnV` = (index of this layer among the attention layers, their count); `layer` = (layer index, layer count).
 */
export function kquantTensorType(fileType: SynthFileType, name: string, rowLength: number, attnV: [number, number], layer: [number, number]): number {
  const base = FILE_TYPES[fileType].type;
  const useMoreBits = (i: number, n: number) => i < Math.floor(n / 8) || i >= Math.floor((7 * n) / 8) || (i - Math.floor(n / 8)) % 3 === 2;
  const mostly = fileType === 'Q4_K_M' || fileType === 'Q5_K_M';
  let type = base;
  if (name === 'token_embd.weight') type = rowLength % 256 !== 0 ? GgmlType.Q8_0 : GgmlType.Q6_K;
  else if (name.includes('attn_v.weight')) type = mostly && useMoreBits(...attnV) ? GgmlType.Q6_K : base;
  else if (name.includes('ffn_down')) type = mostly && useMoreBits(...layer) ? GgmlType.Q6_K : base;
  if (rowLength % 256 !== 0 && (type === GgmlType.Q4_K || type === GgmlType.Q5_K || type === GgmlType.Q6_K)) type = GgmlType.Q8_0;
  return type;
}

/** The GGML type of each matrix of the model in a file of `fileType` (GGUF names); norms and the conv kernel: F32. */
export function synthTensorTypes(m: SynthModel, fileType: SynthFileType): Map<string, number> {
  const out = new Map<string, number>();
  const attnLayers = m.spec.attn_layers.slice().sort((a, b) => a - b);
  const nLayers = m.spec.num_hidden_layers;
  for (const t of m.tensors) {
    const name = hfToGguf(t.name);
    if (t.shape.length !== 2) {
      out.set(name, GgmlType.F32);
      continue;
    }
    const layer = Number(/^blk\.(\d+)\./.exec(name)?.[1] ?? -1);
    const kquant = fileType === 'Q4_K_M' || fileType === 'Q5_K_M' || fileType === 'Q6_K';
    out.set(name, kquant ? kquantTensorType(fileType, name, t.shape[1], [attnLayers.indexOf(layer), attnLayers.length], [layer, nLayers]) : FILE_TYPES[fileType].type);
  }
  return out;
}

/** GGUF metadata for the model (spec §5.2), including the tokenizer llama.cpp needs. */
export function synthGgufMetadata(m: SynthModel, fileType: SynthFileType): [string, GgufValue][] {
  const s = m.spec;
  return [
    ['general.architecture', gv.str('lfm2')],
    ['general.name', gv.str(s.name)],
    ['general.file_type', gv.u32(FILE_TYPES[fileType].ftype)],
    ['general.quantization_version', gv.u32(2)],
    ['lfm2.block_count', gv.u32(s.num_hidden_layers)],
    ['lfm2.context_length', gv.u32(s.max_position_embeddings ?? 4096)],
    ['lfm2.embedding_length', gv.u32(s.hidden_size)],
    ['lfm2.feed_forward_length', gv.u32(s.ffn)],
    ['lfm2.attention.head_count', gv.u32(s.num_attention_heads)],
    ['lfm2.attention.head_count_kv', gv.arr(GgufValueType.INT32, Array.from({ length: s.num_hidden_layers }, (_, i) => (s.attn_layers.includes(i) ? s.num_key_value_heads : 0)))],
    ['lfm2.rope.freq_base', gv.f32(s.rope_theta ?? 1e6)],
    ['lfm2.attention.layer_norm_rms_epsilon', gv.f32(s.norm_eps ?? 1e-5)],
    ['lfm2.vocab_size', gv.u32(s.vocab_size)],
    ['lfm2.shortconv.l_cache', gv.u32(s.conv_L_cache ?? 3)],
    ['tokenizer.ggml.model', gv.str('gpt2')],
    ['tokenizer.ggml.pre', gv.str('lfm2')],
    ['tokenizer.ggml.tokens', gv.strArr(m.vocab.tokens)],
    ['tokenizer.ggml.token_type', gv.arr(GgufValueType.INT32, m.vocab.tokenTypes)],
    ['tokenizer.ggml.merges', gv.strArr(m.vocab.merges)],
    ['tokenizer.ggml.bos_token_id', gv.u32(m.vocab.bos)],
    ['tokenizer.ggml.eos_token_id', gv.u32(m.vocab.eos)],
    ['tokenizer.ggml.padding_token_id', gv.u32(m.vocab.pad)],
    ['tokenizer.ggml.add_bos_token', gv.bool(true)],
    ['tokenizer.ggml.add_eos_token', gv.bool(false)],
  ];
}

/**
 * The model as a GGUF file, returned in parts (header, then each tensor) so a caller can stream a large file.
 * F32 / F16 / BF16 / Q8_0 / Q4_0: every matrix in that type ("pure": token_embd too); Q4_K_M / Q5_K_M / Q6_K: the
 * per-tensor mix llama-quantize makes (kquantTensorType). Norms and conv kernels stay F32, as llama-quantize leaves
 * them. Quantization is ggml's reference quantizers' (reference/quant.ts), byte-identical to llama-quantize's.
 * `overrides` supplies ready-made bytes (and type) for some GGUF tensor names, e.g. K-quant blocks made by ggml.
 */
export function synthGguf(m: SynthModel, fileType: SynthFileType, overrides?: ReadonlyMap<string, { type: number; data: Uint8Array }>): Uint8Array[] {
  const types = synthTensorTypes(m, fileType);
  const tensors = m.tensors.map((t) => {
    const name = hfToGguf(t.name);
    // GGUF lists dims innermost first; the conv kernel (D, 1, Lc) is stored squeezed as {Lc, D}.
    const dims = t.shape.filter((d, i) => !(t.shape.length === 3 && i === 1 && d === 1)).reverse();
    const given = overrides?.get(name);
    if (given) return { name, dims, type: given.type, data: given.data };
    const type = types.get(name)!;
    return { name, dims, type, data: quantize(type, t.make()) };
  });
  return writeGguf({ metadata: synthGgufMetadata(m, fileType), tensors });
}

/**
 * The model as an HF folder: config.json, model.safetensors (F32 by default), and the tokenizer as LiquidAI ships
 * it (tokenizer.json + tokenizer_config.json, no chat template: the built-in LFM2.5 formatter applies), so the
 * folder can be chatted with as well as loaded.
 */
export function synthHfFolder(m: SynthModel, dtype: 'F32' | 'F16' | 'BF16' = 'F32'): Record<string, Uint8Array | string> {
  const st = writeSafetensors(
    m.tensors.map((t) => ({ name: t.name, dtype, shape: t.shape, data: t.make() })),
    { format: 'pt' },
  );
  return {
    'config.json': JSON.stringify(m.config, null, 2),
    'model.safetensors': st,
    'tokenizer.json': JSON.stringify(vocabToTokenizerJson(m.vocab)),
    'tokenizer_config.json': JSON.stringify(vocabToTokenizerConfig(m.vocab), null, 2),
  };
}
