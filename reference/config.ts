// The LFM2 model configuration, read from an HF `config.json` or from GGUF metadata, and the one function that
// derives every size the forward pass needs.
//
// Mirrors transformers' `Lfm2Config` (configuration_lfm2.py) and llama.cpp's LFM2 hparams loading. Field names
// are HF's. Every key variant spec §1.1 lists is accepted: `layer_types` or the older `full_attn_idxs`,
// `block_ff_dim` (wins over `intermediate_size`), `tie_embedding`, `rope_theta` / `theta` / `rope_parameters`.
// Left out: LFM2-MoE and the VL/audio towers (a different `model_type` is rejected by name).

import { describeValue } from './describe.js';
import { ConfigError } from './errors.js';

export type LayerType = 'conv' | 'full_attention';

/** The HF config, normalised: every key present, aliases resolved. */
export interface Lfm2Config {
  vocab_size: number;
  hidden_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  num_key_value_heads: number;
  head_dim: number;
  max_position_embeddings: number;
  norm_eps: number;
  conv_bias: boolean;
  conv_L_cache: number;
  /** FFN width as written in the config (block_ff_dim or intermediate_size), BEFORE the auto-adjust rule. */
  intermediate_size: number;
  block_auto_adjust_ff_dim: boolean;
  block_ffn_dim_multiplier: number | null;
  block_multiple_of: number;
  layer_types: LayerType[];
  rope_theta: number;
  tie_word_embeddings: boolean;
  bos_token_id: number;
  eos_token_id: number;
  pad_token_id: number;
}

/**
 * Sizes used by the forward pass, with the shape legend used in every model file:
 *   D hidden, H query heads, K kv heads, hd head dim, F FFN width (real, adjusted), V vocab (embedding rows),
 *   Lc conv kernel length, nLayers layers.
 */
export interface Lfm2Dims {
  D: number;
  H: number;
  K: number;
  hd: number;
  F: number;
  V: number;
  Lc: number;
  nLayers: number;
  layerTypes: LayerType[];
  /** Indices of the attention layers, in order (each has a KV cache). */
  attnLayers: number[];
  ropeTheta: number;
  eps: number;
  maxPositions: number;
}

/**
 * The real FFN width (spec §1.2). llama.cpp's rule: the multiple_of rounding is always applied. transformers
 * applies it only when a multiplier is set; every released config sets 1.0, so the two agree.
 * LFM2.5-1.2B: 12288 -> 8192. LFM2-350M: 6656 -> 4608.
 */
export function ffnWidth(c: Pick<Lfm2Config, 'intermediate_size' | 'block_auto_adjust_ff_dim' | 'block_ffn_dim_multiplier' | 'block_multiple_of'>): number {
  let ff = c.intermediate_size;
  if (!c.block_auto_adjust_ff_dim) return ff;
  ff = Math.floor((2 * ff) / 3);
  if (c.block_ffn_dim_multiplier !== null) ff = Math.floor(c.block_ffn_dim_multiplier * ff);
  return c.block_multiple_of * Math.ceil(ff / c.block_multiple_of);
}

/** Every size the forward pass needs, from one place. */
export function deriveDims(c: Lfm2Config): Lfm2Dims {
  const layerTypes = c.layer_types.slice(0, c.num_hidden_layers);
  return {
    D: c.hidden_size,
    H: c.num_attention_heads,
    K: c.num_key_value_heads,
    hd: c.head_dim,
    F: ffnWidth(c),
    V: c.vocab_size,
    Lc: c.conv_L_cache,
    nLayers: c.num_hidden_layers,
    layerTypes,
    attnLayers: layerTypes.flatMap((t, i) => (t === 'full_attention' ? [i] : [])),
    // Both are f32 in practice: GGUF stores them as f32, and PyTorch adds eps to an fp32 tensor. Rounding here
    // makes a GGUF file and its HF folder give bit-identical results.
    ropeTheta: Math.fround(c.rope_theta),
    eps: Math.fround(c.norm_eps),
    maxPositions: c.max_position_embeddings,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// From HF config.json

type Json = Record<string, unknown>;

/**
 * Largest integer size accepted (hidden size, vocabulary, FFN width, context...): the engine holds sizes in i32.
 * A larger value is a corrupt config, and rejecting it here keeps later size arithmetic exact.
 */
export const MAX_CONFIG_INT = 0x7fffffff;
/** Most layers accepted: LFM2 models have 16 to 24; a corrupt count would otherwise size per-layer arrays. */
export const MAX_LAYERS = 4096;

interface NumOpts {
  int?: boolean;
  min?: number;
  /** Largest value (default MAX_CONFIG_INT for integers). */
  max?: number;
  def?: number;
  /** Used as an f32 (eps, theta): must stay finite when rounded to f32. */
  f32?: boolean;
}

function num(src: string, j: Json, key: string, opts: NumOpts = {}): number {
  const v = j[key];
  if (v === undefined || v === null) {
    if (opts.def !== undefined) return opts.def;
    throw new ConfigError(src, key, 'is missing');
  }
  return checkNum(src, key, v, opts);
}

function checkNum(src: string, key: string, v: unknown, opts: NumOpts): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new ConfigError(src, key, `expected a number, got ${describeValue(v)}`);
  if (opts.int && !Number.isInteger(v)) throw new ConfigError(src, key, `expected an integer, got ${v}`);
  if (opts.min !== undefined && v < opts.min) throw new ConfigError(src, key, `expected >= ${opts.min}, got ${v}`);
  const max = opts.max ?? (opts.int ? MAX_CONFIG_INT : undefined);
  if (max !== undefined && v > max) throw new ConfigError(src, key, `expected <= ${max}, got ${v}`);
  if (opts.f32 && !Number.isFinite(Math.fround(v))) throw new ConfigError(src, key, `${v} does not fit a 32-bit float (the engines use f32)`);
  return v;
}

function bool(src: string, j: Json, key: string, def: boolean): boolean {
  const v = j[key];
  if (v === undefined || v === null) return def;
  if (typeof v !== 'boolean') throw new ConfigError(src, key, `expected true or false, got ${describeValue(v)}`);
  return v;
}

/** Parses an HF `config.json` object (already JSON-parsed). `src` names the file in errors. */
export function configFromHf(json: unknown, src = 'config.json'): Lfm2Config {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new ConfigError(src, '(root)', 'expected a JSON object');
  const j = json as Json;
  if (j.model_type !== undefined && j.model_type !== 'lfm2') {
    throw new ConfigError(src, 'model_type', `expected "lfm2", got ${describeValue(j.model_type)} (only dense LFM2/LFM2.5 models are supported)`);
  }
  const n = num(src, j, 'num_hidden_layers', { int: true, min: 1, max: MAX_LAYERS });

  let layer_types: LayerType[];
  if (j.layer_types !== undefined && j.layer_types !== null) {
    if (!Array.isArray(j.layer_types)) throw new ConfigError(src, 'layer_types', 'expected a list of "conv" / "full_attention"');
    layer_types = j.layer_types.map((t, i) => {
      if (t !== 'conv' && t !== 'full_attention') throw new ConfigError(src, `layer_types[${i}]`, `expected "conv" or "full_attention", got ${describeValue(t)}`);
      return t;
    });
  } else if (Array.isArray(j.full_attn_idxs)) {
    const idx = j.full_attn_idxs;
    idx.forEach((v, i) => {
      if (!Number.isInteger(v) || (v as number) < 0 || (v as number) >= n) {
        throw new ConfigError(src, `full_attn_idxs[${i}]`, `expected a layer index in 0..${n - 1}, got ${describeValue(v)}`);
      }
    });
    const attn = new Set(idx as number[]);
    layer_types = Array.from({ length: n }, (_, i) => (attn.has(i) ? 'full_attention' : 'conv'));
  } else {
    throw new ConfigError(src, 'layer_types', 'is missing (and there is no full_attn_idxs either)');
  }

  const ropeParams = j.rope_parameters as Json | undefined;
  const rope_theta =
    typeof ropeParams === 'object' && ropeParams !== null && ropeParams.rope_theta !== undefined
      ? num(src, ropeParams, 'rope_theta', { min: 1, f32: true })
      : j.rope_theta !== undefined
        ? num(src, j, 'rope_theta', { min: 1, f32: true })
        : num(src, j, 'theta', { min: 1, def: 1e6, f32: true });

  const hidden = num(src, j, 'hidden_size', { int: true, min: 1 });
  const heads = num(src, j, 'num_attention_heads', { int: true, min: 1 });
  const mult = j.block_ffn_dim_multiplier;
  const cfg: Lfm2Config = {
    vocab_size: num(src, j, 'vocab_size', { int: true, min: 1, def: 65536 }),
    hidden_size: hidden,
    num_hidden_layers: n,
    num_attention_heads: heads,
    num_key_value_heads: num(src, j, 'num_key_value_heads', { int: true, min: 1, def: heads }),
    head_dim: j.head_dim !== undefined && j.head_dim !== null ? num(src, j, 'head_dim', { int: true, min: 2 }) : hidden / heads,
    max_position_embeddings: num(src, j, 'max_position_embeddings', { int: true, min: 1, def: 128000 }),
    norm_eps: num(src, j, 'norm_eps', { min: 0, def: 1e-5, f32: true }),
    conv_bias: bool(src, j, 'conv_bias', false),
    conv_L_cache: num(src, j, 'conv_L_cache', { int: true, min: 1, def: 3 }),
    // block_ff_dim wins: some re-exported configs hold the adjusted intermediate_size next to the raw block_ff_dim.
    intermediate_size:
      j.block_ff_dim !== undefined && j.block_ff_dim !== null
        ? num(src, j, 'block_ff_dim', { int: true, min: 1 })
        : num(src, j, 'intermediate_size', { int: true, min: 1 }),
    block_auto_adjust_ff_dim: bool(src, j, 'block_auto_adjust_ff_dim', true),
    block_ffn_dim_multiplier: mult === undefined || mult === null ? null : num(src, j, 'block_ffn_dim_multiplier', { min: 0, max: 1e6 }),
    block_multiple_of: num(src, j, 'block_multiple_of', { int: true, min: 1, def: 256 }),
    layer_types,
    rope_theta,
    tie_word_embeddings: j.tie_word_embeddings !== undefined ? bool(src, j, 'tie_word_embeddings', true) : bool(src, j, 'tie_embedding', true),
    bos_token_id: num(src, j, 'bos_token_id', { int: true, min: 0, def: 1 }),
    eos_token_id: firstId(src, j, 'eos_token_id', 7),
    pad_token_id: num(src, j, 'pad_token_id', { int: true, min: 0, def: 0 }),
  };
  return validateConfig(cfg, src);
}

/** eos_token_id may be a list in newer configs; the first entry is the turn end. */
function firstId(src: string, j: Json, key: string, def: number): number {
  const v = j[key];
  if (Array.isArray(v)) return num(src, { [key]: v[0] }, key, { int: true, min: 0, def });
  return num(src, j, key, { int: true, min: 0, def });
}

/** Checks that the sizes agree with each other; returns the config. */
export function validateConfig(c: Lfm2Config, src: string): Lfm2Config {
  if (c.layer_types.length < c.num_hidden_layers) {
    throw new ConfigError(src, 'layer_types', `has ${c.layer_types.length} entries but num_hidden_layers is ${c.num_hidden_layers}`);
  }
  // Some published configs list one spurious trailing "conv" (spec §1.3): only the first n are used.
  c.layer_types = c.layer_types.slice(0, c.num_hidden_layers);
  if (!Number.isInteger(c.head_dim)) {
    throw new ConfigError(src, 'hidden_size', `${c.hidden_size} is not divisible by num_attention_heads ${c.num_attention_heads} (and no head_dim is given)`);
  }
  if (c.head_dim % 2 !== 0) throw new ConfigError(src, 'head_dim', `must be even for rotary embeddings, got ${c.head_dim}`);
  if (c.num_attention_heads % c.num_key_value_heads !== 0) {
    throw new ConfigError(src, 'num_key_value_heads', `${c.num_key_value_heads} does not divide num_attention_heads ${c.num_attention_heads}`);
  }
  if (c.conv_bias) throw new ConfigError(src, 'conv_bias', 'true is not supported (no released LFM2 model has a conv bias)');
  if (c.conv_L_cache < 1) throw new ConfigError(src, 'conv_L_cache', `must be >= 1, got ${c.conv_L_cache}`);
  const ff = ffnWidth(c);
  if (!(Number.isSafeInteger(ff) && ff >= 1 && ff <= MAX_CONFIG_INT)) throw new ConfigError(src, 'intermediate_size', `gives FFN width ${ff}`);
  for (const id of ['bos_token_id', 'eos_token_id', 'pad_token_id'] as const) {
    if (c[id] >= c.vocab_size) throw new ConfigError(src, id, `${c[id]} is not below vocab_size ${c.vocab_size}`);
  }
  return c;
}

// ---------------------------------------------------------------------------------------------------------------
// From GGUF metadata (spec §5.2)

/**
 * Builds the config from GGUF metadata. `get(key)` returns the plain value (number, bigint, string, array) or
 * undefined. `feed_forward_length` is already the real width, so auto-adjust is off. `vocabRows` is the
 * token_embd row count, used when `lfm2.vocab_size` is absent.
 */
export function configFromGguf(get: (key: string) => unknown, src: string, vocabRows?: number): Lfm2Config {
  const arch = get('general.architecture');
  if (arch !== 'lfm2') {
    throw new ConfigError(src, 'general.architecture', `expected "lfm2", got ${describeValue(arch ?? null)}`);
  }
  /** A numeric scalar (u64/i64 arrive as bigint); an array or a string where a number belongs is an error. */
  const scalar = (key: string, opts: NumOpts): number | undefined => {
    const v = get(key);
    if (v === undefined) return opts.def;
    if (typeof v === 'bigint') {
      if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < -BigInt(Number.MAX_SAFE_INTEGER)) throw new ConfigError(src, key, `${v} does not fit a JS number exactly`);
      return checkNum(src, key, Number(v), opts);
    }
    if (typeof v !== 'number') throw new ConfigError(src, key, `expected a number, got ${describeValue(v)}${typeof v === 'object' ? ' (a GGUF array where a scalar belongs)' : ''}`);
    return checkNum(src, key, v, opts);
  };
  const m = (key: string, opts: NumOpts = {}): number => {
    const v = scalar(`lfm2.${key}`, opts);
    if (v === undefined) throw new ConfigError(src, `lfm2.${key}`, 'is missing');
    return v;
  };
  const n = m('block_count', { int: true, min: 1, max: MAX_LAYERS });
  const heads = m('attention.head_count', { int: true, min: 1 });
  // head_count_kv is per layer: 0 marks a ShortConv layer (llama.cpp's is_recurrent test).
  const kvKey = 'lfm2.attention.head_count_kv';
  const kvRaw = get(kvKey);
  if (!(Array.isArray(kvRaw) || (ArrayBuffer.isView(kvRaw) && !(kvRaw instanceof DataView)))) {
    throw new ConfigError(src, kvKey, `expected a per-layer array (0 = conv layer), got ${kvRaw === undefined ? 'nothing' : describeValue(kvRaw)}`);
  }
  const kvItems = kvRaw as ArrayLike<unknown>;
  if (kvItems.length !== n) throw new ConfigError(src, kvKey, `has ${kvItems.length} entries but block_count is ${n}`);
  const kvList = Array.from(kvItems, (k, i) => {
    const x = typeof k === 'bigint' && k >= 0n && k <= BigInt(MAX_CONFIG_INT) ? Number(k) : k;
    if (!(typeof x === 'number' && Number.isInteger(x) && x >= 0 && x <= MAX_CONFIG_INT)) {
      throw new ConfigError(src, `${kvKey}[${i}]`, `expected a kv head count (0 for a conv layer), got ${describeValue(x)}`);
    }
    return x;
  });
  const kvNonZero = [...new Set(kvList.filter((k) => k !== 0))];
  if (kvNonZero.length > 1) throw new ConfigError(src, kvKey, `attention layers disagree on the kv head count: ${kvNonZero.join(', ')}`);
  const hidden = m('embedding_length', { int: true, min: 1 });
  const keyLen = get('lfm2.attention.key_length');
  const idOr = (key: string, def: number): number => scalar(key, { int: true, min: 0, def })!;
  const vocab =
    get('lfm2.vocab_size') !== undefined
      ? m('vocab_size', { int: true, min: 1 })
      : vocabRows === undefined
        ? undefined
        : checkNum(src, 'token_embd.weight', vocabRows, { int: true, min: 1 }); // its row count stands in for the key
  if (vocab === undefined) throw new ConfigError(src, 'lfm2.vocab_size', 'is missing and the token_embd tensor is absent');
  const cfg: Lfm2Config = {
    vocab_size: vocab,
    hidden_size: hidden,
    num_hidden_layers: n,
    num_attention_heads: heads,
    num_key_value_heads: kvNonZero[0] ?? heads,
    head_dim: keyLen !== undefined ? m('attention.key_length', { int: true, min: 2 }) : hidden / heads,
    max_position_embeddings: m('context_length', { int: true, min: 1, def: 128000 }),
    norm_eps: m('attention.layer_norm_rms_epsilon', { min: 0, def: 1e-5, f32: true }),
    conv_bias: false,
    conv_L_cache: m('shortconv.l_cache', { int: true, min: 1, def: 3 }),
    intermediate_size: m('feed_forward_length', { int: true, min: 1 }),
    block_auto_adjust_ff_dim: false,
    block_ffn_dim_multiplier: null,
    block_multiple_of: 1,
    layer_types: kvList.map((k) => (k === 0 ? 'conv' : 'full_attention')),
    rope_theta: m('rope.freq_base', { min: 1, def: 1e6, f32: true }),
    tie_word_embeddings: true,
    bos_token_id: idOr('tokenizer.ggml.bos_token_id', 1),
    eos_token_id: idOr('tokenizer.ggml.eos_token_id', 7),
    pad_token_id: idOr('tokenizer.ggml.padding_token_id', 0),
  };
  return validateConfig(cfg, src);
}
