// Writes the regression reproducers listed in cases.ts: `npx tsx tests/fuzz/regressions/make.ts`.
//
// Each is the smallest file that shows its defect: the GGUF ones are a 32-wide, 2-layer model with a 32-token
// vocabulary and no tokenizer (about 20 KB), the others a config or tokenizer file with one thing wrong.
// Deterministic: running it again rewrites the same bytes.

import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ffnWidth } from '../../../reference/config.js';
import { GgmlType } from '../../../reference/ggml-type.js';
import { concatParts, gv, GgufValueType, writeGguf, type GgufTensorSpec, type GgufValue } from '../../../reference/gguf.js';
import { quantize } from '../../../reference/quant.js';
import { writeSafetensors } from '../../../reference/safetensors.js';
import { hfToGguf } from '../../../reference/tensor-names.js';
import { synthModel } from '../../../src/synth/random-model.js';
import { Rng } from '../../../src/synth/rng.js';
import { vocabToTokenizerConfig, vocabToTokenizerJson } from '../../../src/synth/tokenizer-json.js';
import { makeVocab } from '../../../src/synth/vocab.js';
import { writeRawGguf } from '../lib/gguf-raw.js';
import { FUZZ_SPEC } from '../lib/seeds.js';

const DIR = dirname(fileURLToPath(import.meta.url));

// --- a tiny GGUF model without tokenizer ---------------------------------------------------------------------

const D = 32;
const V = 32;
const F = 32;
const H = 2;
const K = 1;
const HD = 16;
const LC = 3;

/** [name, HF shape] of every tensor: layer 0 conv, layer 1 attention. */
function tensorShapes(): [string, number[]][] {
  const out: [string, number[]][] = [['token_embd.weight', [V, D]], ['token_embd_norm.weight', [D]]];
  for (const l of [0, 1]) {
    const p = `blk.${l}`;
    out.push([`${p}.attn_norm.weight`, [D]], [`${p}.ffn_norm.weight`, [D]], [`${p}.ffn_gate.weight`, [F, D]], [`${p}.ffn_up.weight`, [F, D]], [`${p}.ffn_down.weight`, [D, F]]);
    if (l === 0) out.push([`${p}.shortconv.in_proj.weight`, [3 * D, D]], [`${p}.shortconv.conv.weight`, [D, LC]], [`${p}.shortconv.out_proj.weight`, [D, D]]);
    else {
      out.push([`${p}.attn_q.weight`, [H * HD, D]], [`${p}.attn_k.weight`, [K * HD, D]], [`${p}.attn_v.weight`, [K * HD, D]], [`${p}.attn_output.weight`, [D, H * HD]]);
      out.push([`${p}.attn_q_norm.weight`, [HD]], [`${p}.attn_k_norm.weight`, [HD]]);
    }
  }
  return out;
}

function metadata(): [string, GgufValue][] {
  return [
    ['general.architecture', gv.str('lfm2')],
    ['general.name', gv.str('regression-tiny')],
    ['lfm2.block_count', gv.u32(2)],
    ['lfm2.context_length', gv.u32(64)],
    ['lfm2.embedding_length', gv.u32(D)],
    ['lfm2.feed_forward_length', gv.u32(F)],
    ['lfm2.attention.head_count', gv.u32(H)],
    ['lfm2.attention.head_count_kv', gv.arr(GgufValueType.INT32, [0, K])],
    ['lfm2.rope.freq_base', gv.f32(1e6)],
    ['lfm2.attention.layer_norm_rms_epsilon', gv.f32(1e-5)],
    ['lfm2.vocab_size', gv.u32(V)],
    ['lfm2.shortconv.l_cache', gv.u32(LC)],
  ];
}

/** The tiny model's tensors: matrices in `type`, norms and the conv kernel in F32 (as llama-quantize leaves them). */
function tensors(type: number): GgufTensorSpec[] {
  return tensorShapes().map(([name, shape], i) => {
    const r = new Rng(1000 + i);
    const n = shape.reduce((a, b) => a * b, 1);
    const isNorm = shape.length === 1;
    const x = Float32Array.from({ length: n }, () => (isNorm ? 1 + r.symmetric(0.1) : r.symmetric(Math.sqrt(3 / shape[shape.length - 1]))));
    const t = shape.length === 2 && !name.includes('shortconv.conv') ? type : GgmlType.F32;
    return { name, dims: [...shape].reverse(), type: t, data: quantize(t, x) };
  });
}

function gguf(type: number, edit: (t: GgufTensorSpec[]) => void = () => {}, meta = metadata()): Uint8Array {
  const ts = tensors(type);
  edit(ts);
  return concatParts(writeGguf({ metadata: meta, tensors: ts }));
}

function setU16(t: GgufTensorSpec, at: number, v: number): void {
  const d = (t.data as Uint8Array<ArrayBuffer>).slice();
  new DataView(d.buffer).setUint16(at, v, true);
  Object.assign(t, { data: d });
}
function setF32(t: GgufTensorSpec, i: number, v: number): void {
  const d = (t.data as Uint8Array<ArrayBuffer>).slice();
  new DataView(d.buffer).setFloat32(4 * i, v, true);
  Object.assign(t, { data: d });
}
const named = (ts: GgufTensorSpec[], n: string) => ts.find((t) => t.name === n)!;

// --- the files --------------------------------------------------------------------------------------------------

function write(path: string, data: Uint8Array | string): void {
  const p = join(DIR, path);
  mkdirSync(dirname(p), { recursive: true });
  writeFileSync(p, data);
}

function makeGguf(): void {
  const meta = metadata().map(([k, v]): [string, GgufValue] => (k === 'lfm2.context_length' ? [k, gv.arr(GgufValueType.INT64, [64n, 64n])] : [k, v]));
  write('gguf-i64-array-as-scalar.gguf', gguf(GgmlType.Q8_0, undefined, meta));

  write('gguf-q8_0-nan-scale.gguf', gguf(GgmlType.Q8_0, (ts) => setU16(named(ts, 'blk.1.attn_q.weight'), 5 * 34, 0x7e00)));
  write('gguf-q4_0-inf-scale.gguf', gguf(GgmlType.Q4_0, (ts) => setU16(named(ts, 'blk.0.ffn_down.weight'), 0, 0xfc00)));
  write('gguf-f32-nan-norm.gguf', gguf(GgmlType.Q8_0, (ts) => setF32(named(ts, 'blk.0.ffn_norm.weight'), 7, NaN)));
  write('gguf-f16-inf-weight.gguf', gguf(GgmlType.F16, (ts) => setU16(named(ts, 'blk.1.ffn_up.weight'), 200, 0x7c00)));

  // Laid out with alignment 32, but general.alignment says 16. Key and value are chosen so that the header ends
  // 16 bytes past a 32-byte boundary: the 16-aligned data section then starts 16 bytes before the real one.
  const base = { version: 3, tensors: tensors(GgmlType.Q8_0).map((t) => ({ ...t, dims: [...t.dims] })), alignment: 32 };
  let shifted: Uint8Array | undefined;
  for (let pad = 0; pad < 32 && !shifted; pad++) {
    const kvs: [string, GgufValue][] = [...metadata(), ['general.alignment', gv.u32(16)], ['general.comment', gv.str('x'.repeat(pad))]];
    const w = writeRawGguf({ ...base, kvs });
    const headerEnd = w.fields.at(-1)!.pos + 8;
    if (headerEnd % 32 > 0 && headerEnd % 32 <= 16) shifted = w.bytes;
  }
  write('gguf-alignment-shifted.gguf', shifted!);

  // Two same-shaped tensors with their offsets swapped: each offset aligned, in the file, no overlap.
  const ts = tensors(GgmlType.Q8_0);
  const sizes = ts.map((t) => Math.ceil(t.data.length / 32) * 32);
  const offsets = sizes.map((_, i) => sizes.slice(0, i).reduce((a, b) => a + b, 0));
  const a = ts.findIndex((t) => t.name === 'blk.0.shortconv.out_proj.weight');
  const b = ts.findIndex((t) => t.name === 'blk.0.ffn_gate.weight');
  [offsets[a], offsets[b]] = [offsets[b], offsets[a]];
  const raw = ts.map((t, i) => ({ ...t, dims: [...t.dims], offset: offsets[i] }));
  write('gguf-offsets-swapped.gguf', writeRawGguf({ version: 3, kvs: metadata(), tensors: raw, alignment: 32 }).bytes);
}

function makeHf(): void {
  const m = synthModel(FUZZ_SPEC);
  const config = JSON.stringify(m.config, null, 2);
  const st = (mutate: (name: string, x: Float32Array) => void) =>
    writeSafetensors(m.tensors.map((t) => {
      const x = t.make();
      mutate(t.name, x);
      return { name: t.name, dtype: 'BF16' as const, shape: t.shape, data: x };
    }));
  rmSync(join(DIR, 'hf-bf16-nan'), { recursive: true, force: true });
  write('hf-bf16-nan/config.json', config);
  write('hf-bf16-nan/model.safetensors', st((n, x) => n === 'model.layers.1.self_attn.k_proj.weight' && (x[3] = NaN)));

  // A header whose first tensor's shape is nested 10,000 deep (the data does not matter: the header is rejected).
  const deep = `${'['.repeat(10_000)}1${']'.repeat(10_000)}`;
  const json = new TextEncoder().encode(`{"model.embed_tokens.weight":{"dtype":"F32","shape":${deep},"data_offsets":[0,4]}}`);
  const file = new Uint8Array(8 + json.length + 4);
  new DataView(file.buffer).setBigUint64(0, BigInt(json.length), true);
  file.set(json, 8);
  write('hf-header-deep-shape/config.json', config);
  write('hf-header-deep-shape/model.safetensors', file);
}

function makeConfigs(): void {
  const c = synthModel(FUZZ_SPEC).config;
  write('config-deep-nesting.json', JSON.stringify({ ...c, hidden_size: 'DEEP' }).replace('"DEEP"', `${'['.repeat(10_000)}32${']'.repeat(10_000)}`));
  write('config-rope-theta-beyond-f32.json', JSON.stringify({ ...c, rope_theta: 1e39 }, null, 2));
  const { layer_types: _unused, ...noTypes } = c;
  write('config-layer-count-huge.json', JSON.stringify({ ...noTypes, num_hidden_layers: 2 ** 40, full_attn_idxs: [1] }, null, 2));
  const adjusted = { ...c, intermediate_size: undefined, block_ff_dim: 48, block_auto_adjust_ff_dim: true, block_multiple_of: 32 };
  if (ffnWidth({ intermediate_size: 48, block_auto_adjust_ff_dim: true, block_ffn_dim_multiplier: 1, block_multiple_of: 32 }) !== 32) throw new Error('FFN rule changed');
  write('config-ffn-multiplier-huge.json', JSON.stringify({ ...adjusted, block_ffn_dim_multiplier: 1e300 }, null, 2));
}

function makeTokenizers(): void {
  const v = makeVocab(272);
  const tok = vocabToTokenizerJson(v) as { model: { vocab: Record<string, number>; merges: unknown[] }; pre_tokenizer: { pretokenizers: { pattern?: { Regex: string } }[] }; post_processor: { single: unknown[] } };
  const cfg = vocabToTokenizerConfig(v) as { added_tokens_decoder: Record<string, unknown> };
  const dir = (name: string, t: object, c: object = cfg) => {
    write(`${name}/tokenizer.json`, JSON.stringify(t));
    write(`${name}/tokenizer_config.json`, JSON.stringify(c, null, 1));
  };
  const clone = () => structuredClone(tok);

  const huge = clone();
  huge.model.vocab.zz = 2 ** 31;
  dir('tokenizer-huge-id', huge);

  dir('tokenizer-null-added-token', tok, { ...cfg, added_tokens_decoder: { ...cfg.added_tokens_decoder, 1: null } });

  dir('tokenizer-unknown-pretokenizer', { ...clone(), pre_tokenizer: {} });

  const badRegex = clone();
  badRegex.pre_tokenizer.pretokenizers[0].pattern!.Regex = '(';
  dir('tokenizer-bad-split-regex', badRegex);

  // A merge nested 10,000 deep; merges are written as [left, right] pairs, one of which becomes the deep value.
  const deepMerge = { ...clone() };
  deepMerge.model.merges = ['DEEP', ...deepMerge.model.merges];
  write('tokenizer-deep-merge/tokenizer.json', JSON.stringify(deepMerge).replace('"DEEP"', `${'['.repeat(10_000)}"a"${']'.repeat(10_000)}`));
  write('tokenizer-deep-merge/tokenizer_config.json', JSON.stringify(cfg, null, 1));

  const post = clone();
  post.post_processor.single[0] = 1;
  dir('tokenizer-bad-post-processor', post);
}

makeGguf();
makeHf();
makeConfigs();
makeTokenizers();
console.log(`wrote the regression files in ${DIR}`);
