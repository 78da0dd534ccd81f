import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { configFromGguf, configFromHf, deriveDims, ffnWidth } from '../reference/config.js';
import { ConfigError } from '../reference/errors.js';
import { SHARED_ASSETS } from './shared.js';

const LFM2_5_PATTERN = ['conv', 'conv', 'full_attention', 'conv', 'conv', 'full_attention', 'conv', 'conv', 'full_attention', 'conv', 'full_attention', 'conv', 'full_attention', 'conv', 'full_attention', 'conv'];

/** [[...[1]...]] nested `n` deep, built without recursion. */
const deep = (n: number): unknown => {
  let v: unknown = 1;
  for (let i = 0; i < n; i++) v = [v];
  return v;
};

/** A minimal valid HF config; tests override fields. */
const base = (over: Record<string, unknown> = {}) => ({
  model_type: 'lfm2',
  vocab_size: 65536,
  hidden_size: 2048,
  num_hidden_layers: 16,
  num_attention_heads: 32,
  num_key_value_heads: 8,
  block_ff_dim: 12288,
  full_attn_idxs: [2, 5, 8, 10, 12, 14],
  ...over,
});

describe.skipIf(!SHARED_ASSETS)('real LiquidAI config.json files (../shared)', () => {
  const load = (dir: string) => configFromHf(JSON.parse(readFileSync(join(SHARED_ASSETS!, dir, 'config.json'), 'utf8')), `${dir}/config.json`);

  it('LFM2-1.2B: FFN width 8192 (block_ff_dim 12288 adjusted), attention at 2,5,8,10,12,14', () => {
    const d = deriveDims(load('lfm2-1.2b'));
    expect(d).toMatchObject({ D: 2048, H: 32, K: 8, hd: 64, F: 8192, V: 65536, Lc: 3, nLayers: 16, ropeTheta: 1e6 });
    expect(d.attnLayers).toEqual([2, 5, 8, 10, 12, 14]);
    expect(d.layerTypes).toEqual(LFM2_5_PATTERN);
    expect(d.eps).toBe(Math.fround(1e-5));
  });

  it('LFM2-350M: FFN width 4608 (6656 adjusted), 16 heads / 8 kv heads', () => {
    const d = deriveDims(load('lfm2-350m'));
    expect(d).toMatchObject({ D: 1024, H: 16, K: 8, hd: 64, F: 4608, nLayers: 16 });
  });
});

describe('configFromHf', () => {
  it('takes block_ff_dim over an already-adjusted intermediate_size (re-exported configs)', () => {
    expect(deriveDims(configFromHf(base({ intermediate_size: 8192 }))).F).toBe(8192);
  });

  it('reads intermediate_size when block_ff_dim is absent, and honours auto-adjust off', () => {
    const c = base({ block_ff_dim: undefined, intermediate_size: 10752, block_auto_adjust_ff_dim: false });
    expect(deriveDims(configFromHf(c)).F).toBe(10752);
  });

  it('accepts layer_types, and ignores a spurious trailing entry (executorch configs list 17 for 16 layers)', () => {
    const d = deriveDims(configFromHf(base({ full_attn_idxs: undefined, layer_types: [...LFM2_5_PATTERN, 'conv'] })));
    expect(d.layerTypes).toEqual(LFM2_5_PATTERN);
  });

  it('reads rope theta from rope_theta, theta, or rope_parameters (transformers v5)', () => {
    expect(configFromHf(base({ rope_theta: 5e5 })).rope_theta).toBe(5e5);
    expect(configFromHf(base({ theta: 2e5 })).rope_theta).toBe(2e5);
    expect(configFromHf(base({ rope_parameters: { rope_theta: 3e5, rope_type: 'default' } })).rope_theta).toBe(3e5);
    expect(configFromHf(base()).rope_theta).toBe(1e6);
  });

  it('reads tie_embedding as tie_word_embeddings, explicit head_dim, list-valued eos_token_id', () => {
    const c = configFromHf(base({ tie_embedding: false, head_dim: 128, eos_token_id: [7, 2] }));
    expect(c.tie_word_embeddings).toBe(false);
    expect(c.head_dim).toBe(128);
    expect(c.eos_token_id).toBe(7);
  });

  it('applies the multiplier before rounding to block_multiple_of', () => {
    expect(ffnWidth({ intermediate_size: 12288, block_auto_adjust_ff_dim: true, block_ffn_dim_multiplier: 1.5, block_multiple_of: 256 })).toBe(12288);
    expect(ffnWidth({ intermediate_size: 1000, block_auto_adjust_ff_dim: true, block_ffn_dim_multiplier: null, block_multiple_of: 64 })).toBe(704);
  });

  it('width rule properties: a multiple of block_multiple_of, never below 2/3 of the raw width', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1 << 16 }), fc.integer({ min: 1, max: 1024 }), (raw, mult) => {
        const f = ffnWidth({ intermediate_size: raw, block_auto_adjust_ff_dim: true, block_ffn_dim_multiplier: null, block_multiple_of: mult });
        return f % mult === 0 && f >= Math.floor((2 * raw) / 3) && f - Math.floor((2 * raw) / 3) < mult;
      }),
    );
  });

  const bad: [string, Record<string, unknown>, string, RegExp][] = [
    ['hidden not divisible by heads', { hidden_size: 2000 }, 'hidden_size', /not divisible by num_attention_heads/],
    ['kv heads not dividing heads', { num_key_value_heads: 5 }, 'num_key_value_heads', /does not divide/],
    ['odd head_dim', { head_dim: 63 }, 'head_dim', /even/],
    ['too few layer_types', { full_attn_idxs: undefined, layer_types: ['conv', 'conv'] }, 'layer_types', /has 2 entries but num_hidden_layers is 16/],
    ['unknown layer type', { full_attn_idxs: undefined, layer_types: Array(16).fill('mamba') }, 'layer_types[0]', /"conv" or "full_attention"/],
    ['attention index out of range', { full_attn_idxs: [2, 16] }, 'full_attn_idxs[1]', /0\.\.15/],
    ['no layer kinds at all', { full_attn_idxs: undefined }, 'layer_types', /missing/],
    ['missing hidden_size', { hidden_size: undefined }, 'hidden_size', /missing/],
    ['string where a number belongs', { num_hidden_layers: '16' }, 'num_hidden_layers', /expected a number/],
    ['fractional layer count', { num_hidden_layers: 15.5 }, 'num_hidden_layers', /integer/],
    ['conv bias', { conv_bias: true }, 'conv_bias', /not supported/],
    ['other architecture', { model_type: 'lfm2_moe' }, 'model_type', /expected "lfm2"/],
    ['special id outside vocab', { vocab_size: 5 }, 'eos_token_id', /not below vocab_size/],
    // Values nested 10,000 deep used to overflow the stack in JSON.stringify while building the message.
    ['a deeply nested size', { hidden_size: deep(10_000) }, 'hidden_size', /expected a number, got a list of 1/],
    ['a deeply nested layer type', { full_attn_idxs: undefined, layer_types: [deep(10_000), ...Array(15).fill('conv')] }, 'layer_types[0]', /got a list of 1/],
    ['a deeply nested attention index', { full_attn_idxs: [deep(10_000)] }, 'full_attn_idxs[0]', /got a list of 1/],
    ['a deeply nested model_type', { model_type: deep(10_000) }, 'model_type', /got a list of 1/],
    ['a deeply nested flag', { tie_word_embeddings: deep(10_000) }, 'tie_word_embeddings', /expected true or false, got a list of 1/],
    // Sizes the engine cannot hold, and values that overflow f32 (they used to be accepted).
    ['a layer count beyond MAX_LAYERS', { num_hidden_layers: 2 ** 40 }, 'num_hidden_layers', /expected <= 4096, got 1099511627776/],
    ['a vocabulary beyond i32', { vocab_size: 2 ** 31 }, 'vocab_size', /expected <= 2147483647/],
    ['rope_theta beyond f32', { rope_theta: 1e39 }, 'rope_theta', /1e\+39 does not fit a 32-bit float/],
    ['norm_eps beyond f32', { norm_eps: 3.5e38 }, 'norm_eps', /does not fit a 32-bit float/],
    ['a huge FFN multiplier', { block_ffn_dim_multiplier: 1e300 }, 'block_ffn_dim_multiplier', /expected <= 1000000/],
    ['an FFN width beyond i32', { block_ffn_dim_multiplier: 1e6 }, 'intermediate_size', /gives FFN width 8192000000/],
  ];
  for (const [what, over, field, msg] of bad) {
    it(`rejects ${what}, naming the file and ${field}`, () => {
      try {
        configFromHf(base(over), 'some/config.json');
        expect.unreachable();
      } catch (e) {
        expect(e).toBeInstanceOf(ConfigError);
        expect((e as ConfigError).field).toBe(field);
        expect((e as Error).message).toMatch(/^some\/config\.json: /);
        expect((e as Error).message).toMatch(msg);
      }
    });
  }

  it('rejects a non-object', () => {
    expect(() => configFromHf([1, 2], 'x.json')).toThrow(ConfigError);
  });
});

describe('configFromGguf', () => {
  const meta = (over: Record<string, unknown> = {}) => {
    const m: Record<string, unknown> = {
      'general.architecture': 'lfm2',
      'lfm2.block_count': 16,
      'lfm2.context_length': 128000,
      'lfm2.embedding_length': 2048,
      'lfm2.feed_forward_length': 8192,
      'lfm2.attention.head_count': 32,
      'lfm2.attention.head_count_kv': new Int32Array([0, 0, 8, 0, 0, 8, 0, 0, 8, 0, 8, 0, 8, 0, 8, 0]),
      'lfm2.rope.freq_base': 1e6,
      'lfm2.attention.layer_norm_rms_epsilon': Math.fround(1e-5),
      'lfm2.vocab_size': 65536,
      'lfm2.shortconv.l_cache': 3,
      ...over,
    };
    return (k: string) => m[k];
  };

  it('reads the LFM2.5-1.2B metadata of spec §5.2 (feed_forward_length is already the real width)', () => {
    const d = deriveDims(configFromGguf(meta(), 'x.gguf'));
    expect(d).toMatchObject({ D: 2048, H: 32, K: 8, hd: 64, F: 8192, V: 65536, Lc: 3 });
    expect(d.layerTypes).toEqual(LFM2_5_PATTERN);
  });

  it('reads u64 scalars (bigint) and 64-bit per-layer kv head counts', () => {
    const kv = BigInt64Array.from([0, 0, 8, 0, 0, 8, 0, 0, 8, 0, 8, 0, 8, 0, 8, 0].map(BigInt));
    const c = configFromGguf(meta({ 'lfm2.context_length': 4096n, 'lfm2.attention.head_count_kv': kv }), 'x.gguf');
    expect([c.max_position_embeddings, c.num_key_value_heads, c.layer_types]).toEqual([4096, 8, LFM2_5_PATTERN]);
  });

  it('checks the embedding rows it takes as the vocabulary', () => {
    expect(() => configFromGguf(meta({ 'lfm2.vocab_size': undefined }), 'x.gguf', 0)).toThrow(/x\.gguf: token_embd\.weight: expected >= 1, got 0/);
  });

  it('takes the vocabulary from the embedding rows when lfm2.vocab_size is absent; u64 values as bigint', () => {
    const c = configFromGguf(meta({ 'lfm2.vocab_size': undefined, 'lfm2.block_count': 16n }), 'x.gguf', 300);
    expect(c.vocab_size).toBe(300);
  });

  it.each([
    ['general.architecture', { 'general.architecture': 'llama' }, /expected "lfm2"/],
    ['lfm2.attention.head_count_kv', { 'lfm2.attention.head_count_kv': 8 }, /per-layer array/],
    ['lfm2.attention.head_count_kv', { 'lfm2.attention.head_count_kv': [0, 8] }, /2 entries but block_count is 16/],
    ['lfm2.attention.head_count_kv', { 'lfm2.attention.head_count_kv': [0, 0, 8, 0, 0, 4, 0, 0, 8, 0, 8, 0, 8, 0, 8, 0] }, /disagree/],
    ['lfm2.embedding_length', { 'lfm2.embedding_length': undefined }, /missing/],
    // A GGUF array where a scalar belongs, 64-bit integers included (it used to be a TypeError from JSON.stringify).
    ['lfm2.context_length', { 'lfm2.context_length': new BigInt64Array([4096n, 1n]) }, /expected a number, got a BigInt64Array of 2 \(a GGUF array where a scalar belongs\)/],
    ['lfm2.block_count', { 'lfm2.block_count': new BigUint64Array([16n]) }, /got a BigUint64Array of 1/],
    ['lfm2.attention.layer_norm_rms_epsilon', { 'lfm2.attention.layer_norm_rms_epsilon': [1e-5] }, /got a list of 1/],
    ['lfm2.embedding_length', { 'lfm2.embedding_length': '2048' }, /expected a number, got "2048"/],
    ['tokenizer.ggml.bos_token_id', { 'tokenizer.ggml.bos_token_id': new Int32Array([1]) }, /got a Int32Array of 1/],
    ['tokenizer.ggml.eos_token_id', { 'tokenizer.ggml.eos_token_id': true }, /expected a number, got true/],
    // u64 beyond 2^53 would round; sizes beyond i32 and layer counts beyond MAX_LAYERS are corruption.
    ['lfm2.context_length', { 'lfm2.context_length': 2n ** 53n + 1n }, /9007199254740993 does not fit a JS number exactly/],
    ['lfm2.feed_forward_length', { 'lfm2.feed_forward_length': 2 ** 31 }, /expected <= 2147483647/],
    ['lfm2.block_count', { 'lfm2.block_count': 5000 }, /expected <= 4096/],
    // Per-layer kv heads: integers >= 0 (bigints welcome), each bad entry named.
    ['lfm2.attention.head_count_kv[2]', { 'lfm2.attention.head_count_kv': [0, 0, 'x', ...Array(13).fill(0)] }, /got "x"/],
    ['lfm2.attention.head_count_kv[1]', { 'lfm2.attention.head_count_kv': [0, -8, ...Array(14).fill(0)] }, /got -8/],
    ['lfm2.attention.head_count_kv[0]', { 'lfm2.attention.head_count_kv': [[8], ...Array(15).fill(0)] }, /got a list of 1/],
    // f32 values: eps and theta must stay finite in f32.
    ['lfm2.rope.freq_base', { 'lfm2.rope.freq_base': 1e39 }, /does not fit a 32-bit float/],
    ['lfm2.attention.layer_norm_rms_epsilon', { 'lfm2.attention.layer_norm_rms_epsilon': Infinity }, /expected a number, got Infinity/],
  ])('rejects bad %s', (field, over, msg) => {
    try {
      configFromGguf(meta(over), 'm.gguf');
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      expect((e as ConfigError).field).toBe(field);
      expect((e as Error).message).toMatch(/^m\.gguf: /);
      expect((e as Error).message).toMatch(msg);
    }
  });
});
