// Fuzz: model configs. HF config.json objects through configFromHf, GGUF metadata through configFromGguf, both
// then through deriveDims; an accepted config must give sizes a forward pass can use (drive.ts checkDims).
// Text-level damage to config.json is fuzzed with the folders (safetensors.test.ts), where the loader parses it.

import { describe, expect, it } from 'vitest';
import type { GgufFile, GgufTensorInfo, GgufValue } from '../../reference/gguf.js';
import { synthGgufMetadata } from '../../src/synth/random-model.js';
import { coverageGaps, fuzz, formatCensus, type FuzzRng } from './lib/census.js';
import { driveConfigGguf, driveConfigHf } from './lib/drive.js';
import { CONFIG_FOCUS } from './lib/mutate-hf.js';
import { mutateJson } from './lib/mutate.js';
import { tinyModel } from './lib/seeds.js';
import { randomGgufValue } from './lib/values.js';

/** HF configs in each published style: block_ff_dim + auto-adjust, full_attn_idxs, rope_parameters, eos list. */
function hfConfigs(): Record<string, unknown>[] {
  const base = tinyModel().config;
  const { layer_types: _l, ...noTypes } = base;
  return [
    base,
    { ...base, intermediate_size: undefined, block_ff_dim: 48, block_auto_adjust_ff_dim: true, block_ffn_dim_multiplier: 1.0, block_multiple_of: 32 },
    { ...noTypes, full_attn_idxs: [1] },
    { ...base, rope_theta: undefined, rope_parameters: { rope_theta: 1e6, rope_type: 'default' }, eos_token_id: [7, 2], head_dim: 16 },
  ];
}

const GGUF_KEYS = [
  'general.architecture', 'lfm2.block_count', 'lfm2.context_length', 'lfm2.embedding_length', 'lfm2.feed_forward_length',
  'lfm2.attention.head_count', 'lfm2.attention.head_count_kv', 'lfm2.rope.freq_base', 'lfm2.attention.layer_norm_rms_epsilon',
  'lfm2.vocab_size', 'lfm2.shortconv.l_cache', 'lfm2.attention.key_length', 'tokenizer.ggml.bos_token_id',
  'tokenizer.ggml.eos_token_id', 'tokenizer.ggml.padding_token_id',
];

function ggufFile(r: FuzzRng, log: string[]): GgufFile {
  const meta = new Map<string, GgufValue>(synthGgufMetadata(tinyModel(), 'F32').filter(([k]) => !k.startsWith('tokenizer.ggml.t') && k !== 'tokenizer.ggml.merges'));
  if (r.chance(0.3)) meta.set('lfm2.attention.key_length', { type: 4, value: 16 });
  const n = r.between(1, 3);
  for (let i = 0; i < n; i++) {
    const key = r.pick(GGUF_KEYS);
    if (r.chance(0.15)) {
      meta.delete(key);
      log.push(`delete ${key}`);
    } else {
      const v = randomGgufValue(r, meta.get(key));
      meta.set(key, v);
      log.push(`${key} := ${v.type === 9 ? `ARRAY of ${v.itemType} [${Array.from(v.value as ArrayLike<unknown>).slice(0, 4).join(',')}]` : `${v.type} ${String(v.value)}`}`);
    }
  }
  const tensors: GgufTensorInfo[] = r.chance(0.3) ? [] : [{ name: 'token_embd.weight', dims: [32, r.pick([272, 0, 1, 7, 2 ** 40])], type: 0, offset: 0, nbytes: 0, nelements: 0 }];
  return { name: 'fuzz-config.gguf', version: 3, metadata: meta, tensors, tensorsByName: new Map(tensors.map((t) => [t.name, t])), alignment: 32, dataOffset: 0 };
}

describe('fuzz: configs', () => {
  it('every mutated config is accepted with usable sizes or rejected with a ConfigError naming the field', async () => {
    const configs = hfConfigs();
    const report = await fuzz(
      'config',
      (c): { gguf: GgufFile } | { hf: unknown } => {
        if (c.rng.chance(0.5)) {
          c.log.push('gguf metadata');
          return { gguf: ggufFile(c.rng, c.log) };
        }
        let json: unknown = c.rng.pick(configs);
        const n = c.rng.between(1, 3);
        for (let i = 0; i < n; i++) json = mutateJson(c.rng, json, c.log, CONFIG_FOCUS);
        return { hf: json };
      },
      (input) => ('gguf' in input ? driveConfigGguf(input.gguf) : driveConfigHf(input.hf)),
      { names: ['config.json', 'fuzz-config.gguf'] },
    );
    console.log(formatCensus(report, 'tests/fuzz/config.test.ts'));
    expect(report.failures.map((f) => `case ${f.index}: ${f.outcome}: ${f.detail.split('\n')[0]}`)).toEqual([]);
    if (report.cases > 1000) expect(coverageGaps(report, 0.05, ['ConfigError'])).toEqual([]);
  }, 600_000);
});
