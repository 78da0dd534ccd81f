// Loading models: every way a model file can disagree with its config gets a TensorError / FormatError /
// ConfigError that names the file and the tensor or field.

import { describe, expect, it } from 'vitest';
import { GOLDEN_SHAPES } from '../golden/cases.js';
import { bytesSource, memoryFileSet } from '../reference/bytes.js';
import { ConfigError, FormatError, TensorError } from '../reference/errors.js';
import { concatParts, gv, readGguf, readGgufTensorBytes, writeGguf, type GgufValue } from '../reference/gguf.js';
import { GgmlType } from '../reference/ggml-type.js';
import { loadModel, type ModelInput } from '../reference/load.js';
import { forward, newState } from '../reference/model.js';
import { createWasmCore } from '../src/engine/wasm-core.js';
import { synthGguf, synthHfFolder, synthModel, type SynthFileType } from '../src/synth/random-model.js';
import { kquantGguf } from './fuzz/lib/seeds.js';
import { expectBitwiseEqual } from './compare.js';

const spec = GOLDEN_SHAPES[0]; // tiny-gqa4: layers conv, attention, conv, attention
const synth = synthModel(spec);
const original = concatParts(synthGguf(synth, 'F32'));

interface Edit {
  drop?: string[];
  rename?: Record<string, string>;
  add?: { name: string; dims: number[]; type: number; data: Uint8Array }[];
  meta?: Record<string, GgufValue | undefined>;
}

/** Rewrites the tiny model's GGUF with tensors dropped, renamed or added, or metadata changed. */
async function edited(e: Edit): Promise<Uint8Array> {
  const src = bytesSource(original, 'orig.gguf');
  const f = await readGguf(src);
  const tensors = [];
  for (const t of f.tensors) {
    if (e.drop?.includes(t.name)) continue;
    tensors.push({ name: e.rename?.[t.name] ?? t.name, dims: [...t.dims], type: t.type, data: await readGgufTensorBytes(f, src, t.name) });
  }
  const metadata = new Map(f.metadata);
  for (const [k, v] of Object.entries(e.meta ?? {})) v === undefined ? metadata.delete(k) : metadata.set(k, v);
  return concatParts(writeGguf({ metadata, tensors: [...tensors, ...(e.add ?? [])] }));
}

async function loadError(bytes: Uint8Array, name = 'bad.gguf'): Promise<Error> {
  try {
    await loadModel({ gguf: bytesSource(bytes, name) });
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected the load to fail');
}

describe('GGUF model files that disagree with their config', () => {
  it('a missing tensor names it and the layer kind', async () => {
    const e = await loadError(await edited({ drop: ['blk.1.attn_k.weight'] }));
    expect(e).toBeInstanceOf(TensorError);
    expect(e.message).toBe("bad.gguf: tensor 'blk.1.attn_k.weight': is missing (layer 1 is a full_attention layer)");
  });

  it('a missing final norm', async () => {
    const e = await loadError(await edited({ drop: ['token_embd_norm.weight'] }));
    expect(e).toBeInstanceOf(TensorError);
    expect(e.message).toMatch(/token_embd_norm\.weight.*is missing/);
  });

  it('a misshapen tensor gives expected and actual shapes', async () => {
    const f = new Float32Array(64 * 3);
    const e = await loadError(await edited({ drop: ['blk.0.attn_norm.weight'], add: [{ name: 'blk.0.attn_norm.weight', dims: [64, 3], type: GgmlType.F32, data: new Uint8Array(f.buffer) }] }));
    expect(e).toBeInstanceOf(TensorError);
    expect(e.message).toMatch(/blk\.0\.attn_norm\.weight.*expected shape \[64\] \(HF order\), got \[3, 64\]/);
  });

  it('an FFN width that disagrees with the config points at the width rule', async () => {
    const e = await loadError(await edited({ meta: { 'lfm2.feed_forward_length': gv.u32(192) } }));
    expect(e).toBeInstanceOf(TensorError);
    expect(e.message).toMatch(/expected shape \[192, 64\].*got \[128, 64\].*FFN width from the config is 192 but the weights have 128/);
  });

  it('an attention tensor moved into a conv layer is reported (its attention layer now misses it)', async () => {
    const e = await loadError(await edited({ rename: { 'blk.1.attn_q.weight': 'blk.0.attn_q.weight' } }));
    expect(e).toBeInstanceOf(TensorError);
    expect(e.message).toMatch(/blk\.1\.attn_q\.weight.*is missing/);
  });

  it('a stray tensor is reported, not ignored', async () => {
    const e = await loadError(await edited({ add: [{ name: 'blk.9.ffn_up.weight', dims: [4], type: GgmlType.F32, data: new Uint8Array(16) }] }));
    expect(e).toBeInstanceOf(TensorError);
    expect(e.message).toMatch(/'blk\.9\.ffn_up\.weight': is not part of an LFM2 model with this config \(4 layers/);
  });

  it('a layer count that disagrees with head_count_kv is a ConfigError', async () => {
    const e = await loadError(await edited({ meta: { 'lfm2.block_count': gv.u32(5) } }));
    expect(e).toBeInstanceOf(ConfigError);
    expect(e.message).toMatch(/^bad\.gguf: lfm2\.attention\.head_count_kv: has 4 entries but block_count is 5/);
  });

  it('a GGUF of another architecture is a ConfigError naming it', async () => {
    const e = await loadError(await edited({ meta: { 'general.architecture': gv.str('llama') } }));
    expect(e).toBeInstanceOf(ConfigError);
    expect(e.message).toMatch(/general\.architecture: expected "lfm2", got "llama"/);
  });

  it('a truncated file is a FormatError naming the file and the tensor cut off', async () => {
    const e = await loadError(original.subarray(0, original.length - 1000), 'cut.gguf');
    expect(e).toBeInstanceOf(FormatError);
    expect(e.message).toMatch(/^cut\.gguf: tensor '.*'.*(past the end|truncated)/);
  });

  it('a safetensors file passed as a GGUF says what it looks like', async () => {
    const st = synthHfFolder(synth)['model.safetensors'] as Uint8Array;
    const e = await loadError(st, 'model.safetensors');
    expect(e).toBeInstanceOf(FormatError);
    expect(e.message).toMatch(/^model\.safetensors: magic/);
  });

  it('closes the byte source when the header is bad (no leaked file handle)', async () => {
    let closed = 0;
    const src = { ...bytesSource(new TextEncoder().encode('not a gguf file at all'), 'junk.gguf'), close: async () => void closed++ };
    await expect(loadModel({ gguf: src })).rejects.toThrow(FormatError);
    const ok = { ...bytesSource(original, 'ok.gguf'), close: async () => void closed++ };
    await loadModel({ gguf: ok });
    expect(closed).toBe(2);
  });

  it('accepts output_norm.weight (an ollama converter name) for the final norm', async () => {
    const a = await loadModel({ gguf: bytesSource(original, 'a.gguf') });
    const b = await loadModel({ gguf: bytesSource(await edited({ rename: { 'token_embd_norm.weight': 'output_norm.weight' } }), 'b.gguf') });
    expectBitwiseEqual('output_norm alias', forward(b.weights, b.dims, newState(b.dims), [1, 2, 3]), forward(a.weights, a.dims, newState(a.dims), [1, 2, 3]));
  });

  it('uses an untied output.weight when the file has one', async () => {
    const V = spec.vocab_size;
    const head = new Float32Array(V * 64); // all-zero head: every logit must be 0
    const m = await loadModel({ gguf: bytesSource(await edited({ add: [{ name: 'output.weight', dims: [64, V], type: GgmlType.F32, data: new Uint8Array(head.buffer) }] }), 'untied.gguf') });
    expect(m.weights.lm_head).not.toBe(m.weights.embed_tokens);
    expect(Array.from(forward(m.weights, m.dims, newState(m.dims), [1, 2])).every((x) => x === 0)).toBe(true);
  });
});

describe('HF folders that disagree with their config', () => {
  const folder = synthHfFolder(synth);
  const withConfig = (over: Record<string, unknown>) => memoryFileSet({ ...folder, 'config.json': JSON.stringify({ ...synth.config, ...over }) }, 'hf');

  it('a block_ff_dim whose adjusted width does not match w1 points at the width rule', async () => {
    // 192 raw -> floor(2*192/3) = 128 with auto-adjust: the same tensors load; 288 -> 192 does not.
    await expect(loadModel({ hf: withConfig({ intermediate_size: undefined, block_ff_dim: 192, block_auto_adjust_ff_dim: true, block_multiple_of: 32 }) })).resolves.toBeTruthy();
    await expect(loadModel({ hf: withConfig({ intermediate_size: undefined, block_ff_dim: 288, block_auto_adjust_ff_dim: true, block_multiple_of: 32 }) })).rejects.toThrow(
      /model\.layers\.0\.feed_forward\.w1\.weight.*FFN width from the config is 192 but the weights have 128.*spec §1\.2/,
    );
  });

  it('a config with inconsistent sizes fails before any tensor is read', async () => {
    await expect(loadModel({ hf: withConfig({ num_key_value_heads: 3 }) })).rejects.toThrow(ConfigError);
    await expect(loadModel({ hf: withConfig({ num_key_value_heads: 3 }) })).rejects.toThrow(/^hf\/config\.json: num_key_value_heads: 3 does not divide num_attention_heads 4/);
  });

  it('a missing weights file names the folder and both file names', async () => {
    const e = await loadModel({ hf: memoryFileSet({ 'config.json': folder['config.json'] }, 'empty') }).catch((x: Error) => x);
    expect(e).toBeInstanceOf(FormatError);
    expect((e as Error).message).toMatch(/model\.safetensors.*model\.safetensors\.index\.json/);
  });
});

// --- NaN and Inf weights (issue 7): both engines reject them at load, naming the tensor -----------------------------

describe('NaN and Inf weights are a TensorError at load, in the oracle and in the WASM engine', () => {
  type Poisoned = { label: string; input: () => ModelInput; tensor: string; msg: RegExp };
  const poisonedGguf = async (type: SynthFileType, tensor: string, at: number, bytes: number[], msg: RegExp): Promise<Poisoned> => {
    const file = concatParts(synthGguf(synth, type));
    const f = await readGguf(bytesSource(file));
    file.set(bytes, f.tensorsByName.get(tensor)!.offset + at);
    return { label: `${type} ${tensor}`, input: () => ({ gguf: bytesSource(file, 'nan.gguf') }), tensor, msg };
  };
  const poisonedHf = (dtype: 'F32' | 'F16' | 'BF16', tensor: string, value: number, msg: RegExp): Poisoned => {
    const m = { ...synth, tensors: synth.tensors.map((t) => (t.name === tensor ? { ...t, make: () => Object.assign(t.make(), { 5: value }) } : t)) };
    const files = synthHfFolder(m, dtype);
    return { label: `HF ${dtype} ${tensor}`, input: () => ({ hf: memoryFileSet(files, 'nan-hf') }), tensor, msg };
  };

  const cases = async (): Promise<Poisoned[]> => [
    await poisonedGguf('F32', 'blk.1.attn_k.weight', 4 * 9, [0x00, 0x00, 0xc0, 0x7f], /element 9 is NaN/),
    await poisonedGguf('F16', 'token_embd.weight', 2 * 100, [0x00, 0xfc], /element 100 is -Inf/),
    await poisonedGguf('Q8_0', 'blk.2.ffn_down.weight', 34 * 3, [0x00, 0x7c], /Q8_0 block 3 \(elements 96\.\.127\) has scale d = \+Inf/),
    await poisonedGguf('Q4_0', 'blk.3.attn_output.weight', 18 * 7, [0x00, 0x7e], /Q4_0 block 7 .* scale d = NaN/),
    await poisonedGguf('Q4_0', 'blk.0.shortconv.conv.weight', 4 * 2, [0x00, 0x00, 0x80, 0x7f], /element 2 is \+Inf/), // F32 kernel in a Q4_0 file
    await poisonedGguf('Q8_0', 'token_embd_norm.weight', 0, [0x01, 0x00, 0x80, 0xff], /element 0 is NaN/),
    poisonedHf('F32', 'model.layers.1.self_attn.q_layernorm.weight', NaN, /element 5 is NaN/),
    poisonedHf('F16', 'model.layers.2.feed_forward.w3.weight', Infinity, /element 5 is \+Inf/),
    poisonedHf('BF16', 'model.embed_tokens.weight', -Infinity, /element 5 is -Inf/),
  ];

  it('each stored type, in both engines', async () => {
    for (const c of await cases()) {
      for (const [engine, load] of [['reference', () => loadModel(c.input())], ['wasm', () => createWasmCore(c.input(), { contextLength: 4 })]] as const) {
        const e = await (load as () => Promise<unknown>)().then(() => null, (x: unknown) => x);
        expect(e, `${c.label} (${engine})`).toBeInstanceOf(TensorError);
        expect((e as TensorError).tensor, `${c.label} (${engine})`).toBe(c.tensor);
        expect((e as Error).message, `${c.label} (${engine})`).toMatch(c.msg);
      }
    }
  });

  it('a K-quant dmin (Q4_K) or d (Q6_K) that is not finite', async () => {
    const file = kquantGguf();
    const f = await readGguf(bytesSource(file));
    for (const [tensor, at, msg] of [['blk.0.ffn_up.weight', 144 + 2, /Q4_K block 1 .* min dmin = \+Inf/], ['token_embd.weight', 210 * 4 + 208, /Q6_K block 4 .* scale d = \+Inf/]] as const) {
      const bad = file.slice();
      bad.set([0x00, 0x7c], f.tensorsByName.get(tensor)!.offset + at);
      for (const load of [() => loadModel({ gguf: bytesSource(bad, 'k.gguf') }), () => createWasmCore({ gguf: bytesSource(bad, 'k.gguf') }, { contextLength: 4 })]) {
        await expect((load as () => Promise<unknown>)()).rejects.toThrow(msg);
      }
    }
  });

  it('the unpoisoned files load in both engines (the scan rejects nothing a real model holds)', async () => {
    for (const input of [() => ({ gguf: bytesSource(kquantGguf()) }), () => ({ gguf: bytesSource(concatParts(synthGguf(synth, 'F16'))) }), () => ({ hf: memoryFileSet(synthHfFolder(synth, 'BF16')) })]) {
      await expect(loadModel(input())).resolves.toBeTruthy();
      await expect(createWasmCore(input(), { contextLength: 4 })).resolves.toBeTruthy();
    }
  });
});
