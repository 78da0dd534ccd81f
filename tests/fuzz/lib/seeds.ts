// The valid inputs every fuzz case starts from: tiny seeded LFM2 models (src/synth) as GGUF in each stored type,
// as HF folders (single file in F32/F16/BF16, and sharded with an index), and the tokenizer files.
//
// The models are as small as the formats allow (D 32, one conv and one attention layer, GQA 2:1, the 272-token
// minimum vocabulary), so that a mutated file that still loads costs about a millisecond per engine.

import { GgmlType } from '../../../reference/ggml-type.js';
import { concatParts, gv, GgufValueType, writeGguf, type GgufValue } from '../../../reference/gguf.js';
import { f32ToF16 } from '../../../reference/f16.js';
import { quantize } from '../../../reference/quant.js';
import { writeSafetensors } from '../../../reference/safetensors.js';
import { hfToGguf } from '../../../reference/tensor-names.js';
import { synthGguf, synthGgufMetadata, synthHfFolder, synthModel, type SynthModel, type SynthSpec } from '../../../src/synth/random-model.js';
import { Rng } from '../../../src/synth/rng.js';
import { vocabToTokenizerConfig, vocabToTokenizerJson } from '../../../src/synth/tokenizer-json.js';
import { makeVocab } from '../../../src/synth/vocab.js';

/** Layers conv, attention; head_dim 16; every matrix width a multiple of 32 (Q4_0 / Q8_0 blocks). */
export const FUZZ_SPEC: SynthSpec = {
  name: 'fuzz-tiny', seed: 77, hidden_size: 32, num_hidden_layers: 2, attn_layers: [1], num_attention_heads: 2,
  num_key_value_heads: 1, ffn: 32, vocab_size: 272, max_position_embeddings: 64,
};

/** Widths of 256 for K-quant super-blocks. */
export const FUZZ_KQUANT_SPEC: SynthSpec = {
  name: 'fuzz-kquant', seed: 78, hidden_size: 256, num_hidden_layers: 2, attn_layers: [1], num_attention_heads: 4,
  num_key_value_heads: 1, ffn: 256, vocab_size: 272, max_position_embeddings: 64,
};

let tiny: SynthModel | undefined;
export function tinyModel(): SynthModel {
  return (tiny ??= synthModel(FUZZ_SPEC));
}

/** Random K-quant blocks with small finite scales (the reference has no K-quant quantizer; values do not matter). */
export function randomKQuant(type: number, n: number, seed: number): Uint8Array {
  const geo = { [GgmlType.Q4_K]: [144, [0, 2]], [GgmlType.Q5_K]: [176, [0, 2]], [GgmlType.Q6_K]: [210, [208]] } as Record<number, [number, number[]]>;
  const [size, scales] = geo[type];
  const r = new Rng(seed);
  const out = new Uint8Array((n / 256) * size);
  for (let i = 0; i < out.length; i++) out[i] = r.u32() & 0xff;
  for (let b = 0; b < out.length; b += size) {
    for (const o of scales) {
      const h = f32ToF16(0.0005 + r.uniform() * 0.002);
      out[b + o] = h & 0xff;
      out[b + o + 1] = h >>> 8;
    }
  }
  return out;
}

/** The K-quant model: matrices in Q4_K, Q5_K, Q6_K, BF16 and F16, norms and the conv kernel in F32. */
export function kquantGguf(): Uint8Array {
  const m = synthModel(FUZZ_KQUANT_SPEC);
  const pick: Record<string, number> = {
    'token_embd.weight': GgmlType.Q6_K, 'ffn_gate.weight': GgmlType.Q5_K, 'ffn_up.weight': GgmlType.Q4_K, 'ffn_down.weight': GgmlType.BF16,
    'attn_q.weight': GgmlType.Q4_K, 'attn_k.weight': GgmlType.F16, 'attn_v.weight': GgmlType.Q6_K, 'attn_output.weight': GgmlType.Q5_K,
    'shortconv.in_proj.weight': GgmlType.Q4_K, 'shortconv.out_proj.weight': GgmlType.Q6_K,
  };
  const overrides = new Map<string, { type: number; data: Uint8Array }>();
  m.tensors.forEach((t, i) => {
    const name = hfToGguf(t.name);
    const type = pick[name.replace(/^blk\.\d+\./, '')];
    if (type === undefined) return;
    const n = t.shape.reduce((a, b) => a * b, 1);
    const data = type === GgmlType.BF16 || type === GgmlType.F16 ? quantize(type, t.make()) : randomKQuant(type, n, 1000 + i);
    overrides.set(name, { type, data });
  });
  return concatParts(synthGguf(m, 'F32', overrides));
}

export interface GgufSeed {
  label: string;
  bytes: Uint8Array;
}

/** Every GGUF seed: the tiny model in F32, F16, Q8_0, Q4_0 (one with alignment 64, one with an untied head), and the K-quant model. */
export function ggufSeeds(): GgufSeed[] {
  const m = tinyModel();
  const seeds: GgufSeed[] = (['F32', 'F16', 'Q8_0', 'Q4_0'] as const).map((t) => ({ label: t, bytes: concatParts(synthGguf(m, t)) }));
  const meta = synthGgufMetadata(m, 'Q4_0');
  const q4 = m.tensors.map((t) => {
    const dims = t.shape.filter((d, i) => !(t.shape.length === 3 && i === 1 && d === 1)).reverse();
    const type = t.shape.length === 2 ? GgmlType.Q4_0 : GgmlType.F32;
    return { name: hfToGguf(t.name), dims, type, data: quantize(type, t.make()) };
  });
  seeds.push({ label: 'Q4_0 align64', bytes: concatParts(writeGguf({ metadata: meta, alignment: 64, tensors: q4 })) });
  const embd = q4.find((t) => t.name === 'token_embd.weight')!;
  seeds.push({ label: 'Q8_0 untied', bytes: concatParts(writeGguf({ metadata: synthGgufMetadata(m, 'Q8_0'), tensors: [...q4, { ...embd, name: 'output.weight' }] })) });
  seeds.push({ label: 'K-quants', bytes: kquantGguf() });
  return seeds;
}

export type Folder = Record<string, Uint8Array | string>;

/** HF folders: model.safetensors in F32, F16 and BF16, and a two-shard folder with its index. */
export function hfSeeds(): { label: string; files: Folder }[] {
  const m = tinyModel();
  const seeds: { label: string; files: Folder }[] = (['F32', 'F16', 'BF16'] as const).map((dt) => ({ label: dt, files: synthHfFolder(m, dt) }));
  const half = Math.ceil(m.tensors.length / 2);
  const shards = [m.tensors.slice(0, half), m.tensors.slice(half)];
  const names = ['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors'];
  const weightMap: Record<string, string> = {};
  const files: Folder = { 'config.json': JSON.stringify(m.config, null, 2) };
  let total = 0;
  shards.forEach((ts, i) => {
    const st = writeSafetensors(ts.map((t) => ({ name: t.name, dtype: 'BF16' as const, shape: t.shape, data: t.make() })), { format: 'pt' });
    files[names[i]] = st;
    total += st.length;
    for (const t of ts) weightMap[t.name] = names[i];
  });
  files['model.safetensors.index.json'] = JSON.stringify({ metadata: { total_size: total }, weight_map: weightMap }, null, 2);
  seeds.push({ label: 'sharded BF16', files });
  return seeds;
}

/** A vocabulary with merges (400 tokens: control tokens, bytes, 128 merges, think tokens). */
export function tokenizerVocab() {
  return makeVocab(400);
}

export const CHAT_TEMPLATE = "{{- bos_token -}}{%- for m in messages -%}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{%- endfor -%}";

/** tokenizer.json and tokenizer_config.json objects. */
export function tokenizerJsonSeeds(): { tokenizer: object; config: object } {
  const v = tokenizerVocab();
  return { tokenizer: vocabToTokenizerJson(v), config: vocabToTokenizerConfig(v, CHAT_TEMPLATE) };
}

/** GGUF metadata of a tokenizer-only file (no tensors): what Lfm2Tokenizer.fromGguf reads. */
export function tokenizerGgufKvs(): [string, GgufValue][] {
  const v = tokenizerVocab();
  return [
    ['general.architecture', gv.str('lfm2')],
    ['tokenizer.ggml.model', gv.str('gpt2')],
    ['tokenizer.ggml.pre', gv.str('lfm2')],
    ['tokenizer.ggml.tokens', gv.strArr(v.tokens)],
    ['tokenizer.ggml.token_type', gv.arr(GgufValueType.INT32, v.tokenTypes)],
    ['tokenizer.ggml.merges', gv.strArr(v.merges)],
    ['tokenizer.ggml.bos_token_id', gv.u32(v.bos)],
    ['tokenizer.ggml.eos_token_id', gv.u32(v.eos)],
    ['tokenizer.ggml.padding_token_id', gv.u32(v.pad)],
    ['tokenizer.ggml.add_bos_token', gv.bool(true)],
    ['tokenizer.chat_template', gv.str(CHAT_TEMPLATE)],
  ];
}
