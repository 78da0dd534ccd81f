// Fuzz: the tokenizer loaders. Lfm2Tokenizer.fromJson (tokenizer.json + tokenizer_config.json, as text or parsed)
// and Lfm2Tokenizer.fromGguf (a tokenizer-only GGUF, mutated as metadata and as bytes); an accepted tokenizer must
// encode and decode sample texts with every id inside its vocabulary (drive.ts driveTokenizer).

import { describe, expect, it } from 'vitest';
import { GgufValueType as VT, type GgufValue } from '../../reference/gguf.js';
import { coverageGaps, fuzz, formatCensus, type FuzzRng } from './lib/census.js';
import { driveTokenizerGguf, driveTokenizerJson } from './lib/drive.js';
import { writeRawGguf } from './lib/gguf-raw.js';
import { jsonText, mutateBytes, mutateJson, mutateJsonText } from './lib/mutate.js';
import { tokenizerGgufKvs, tokenizerJsonSeeds } from './lib/seeds.js';
import type { Lfm2TokenizerOptions } from '../../src/tokenizer/tokenizer.js';

const GGUF_NAME = 'fuzz-tokenizer.gguf';
import { randomGgufValue } from './lib/values.js';

const TOKENIZER_FOCUS = [
  ['model'], ['model', 'type'], ['model', 'vocab'], ['model', 'merges'], ['model', 'merges', 0], ['model', 'merges', 3], ['model', 'byte_fallback'],
  ['model', 'ignore_merges'], ['model', 'unk_token'], ['added_tokens'], ['added_tokens', 0], ['added_tokens', 0, 'id'], ['added_tokens', 1, 'content'],
  ['added_tokens', 14, 'special'], ['added_tokens', 14, 'id'], ['decoder'], ['decoder', 'type'], ['normalizer'], ['pre_tokenizer'],
  ['pre_tokenizer', 'pretokenizers', 0, 'pattern', 'Regex'], ['pre_tokenizer', 'pretokenizers', 1], ['post_processor'],
  ['post_processor', 'single', 0], ['post_processor', 'special_tokens'], ['model', 'vocab', 'a'], ['model', 'vocab', '<|im_end|>'],
];
const CONFIG_FOCUS = [
  ['bos_token'], ['eos_token'], ['pad_token'], ['added_tokens_decoder'], ['added_tokens_decoder', '0'], ['added_tokens_decoder', '7', 'content'],
  ['added_tokens_decoder', '1'], ['chat_template'], ['add_bos_token'],
];

function ggufTokenizer(r: FuzzRng, kvs: [string, GgufValue][], log: string[]): Uint8Array {
  const m = kvs.map(([k, v]) => [k, v] as [string, GgufValue]);
  const n = r.chance(0.6) ? r.between(1, 2) : 0;
  for (let i = 0; i < n; i++) {
    const j = r.int(m.length);
    const [key, old] = m[j];
    const listed = old.type === VT.ARRAY && (old.itemType === VT.STRING || old.itemType === VT.INT32) && (old.value as ArrayLike<unknown>).length > 0;
    if (listed && r.chance(0.5)) {
      // One entry of a list: a token, a type, a merge (the seed's lists are STRING or INT32).
      const items = Array.from(old.value as ArrayLike<string | number>);
      const at = r.int(items.length);
      const v = old.itemType === VT.STRING
        ? r.pick(['', ' ', 'a b', 'Ġ Ġ', 'zz qq', String(items[(at + 1) % items.length]), '<think>', 'x'.repeat(1000), 'ab'])
        : r.pick([0, 2, 3, 4, 5, 6, 7, 255, -1]);
      items[at] = v;
      m[j] = [key, { type: VT.ARRAY, itemType: old.itemType, value: old.itemType === VT.STRING ? items : Int32Array.from(items as number[]) } as GgufValue];
      log.push(`${key}[${at}] := ${JSON.stringify(v).slice(0, 30)}`);
    } else if (r.chance(0.15)) {
      m.splice(j, 1);
      log.push(`delete ${key}`);
    } else {
      m[j] = [key, randomGgufValue(r, old)];
      log.push(`${key} := value of type ${m[j][1].type}`);
    }
  }
  const w = writeRawGguf({ version: 3, kvs: m, tensors: [], alignment: 32 });
  let bytes = w.bytes;
  if (n === 0 || r.chance(0.2)) bytes = mutateBytes(r, bytes, { headerEnd: bytes.length, fields: w.fields }, log);
  return bytes;
}

describe('fuzz: tokenizer loaders', () => {
  it('every mutated tokenizer loads and round-trips text, or fails with a typed error naming the file', async () => {
    const seeds = tokenizerJsonSeeds();
    const kvs = tokenizerGgufKvs();
    type Input = { gguf: Uint8Array; opts: Lfm2TokenizerOptions } | { json: string | object; config: string | object | undefined; opts: Lfm2TokenizerOptions };
    const report = await fuzz(
      'tokenizer',
      (c): Input => {
        const r = c.rng;
        const opts = r.chance(0.7) ? {} : { embeddingRows: r.pick([0, 1, 272, 399, 400, 401, 65536, 1.5]) };
        if (r.chance(0.35)) {
          c.log.push(`gguf ${JSON.stringify(opts)}`);
          return { gguf: ggufTokenizer(r, kvs, c.log), opts };
        }
        c.log.push(`json ${JSON.stringify(opts)}`);
        let tok: unknown = seeds.tokenizer;
        let cfg: unknown = seeds.config;
        const n = r.between(1, 2);
        for (let i = 0; i < n; i++) {
          if (r.chance(0.6)) tok = mutateJson(r, tok, c.log, TOKENIZER_FOCUS);
          else cfg = mutateJson(r, cfg, c.log, CONFIG_FOCUS);
        }
        if (r.chance(0.2)) return { json: tok as object, config: cfg as object, opts };
        let tokText = jsonText(tok);
        let cfgText: string | undefined = jsonText(cfg);
        if (r.chance(0.15)) tokText = mutateJsonText(r, tokText, c.log);
        if (r.chance(0.1)) cfgText = mutateJsonText(r, cfgText, c.log);
        if (r.chance(0.05)) cfgText = undefined;
        return { json: tokText, config: cfgText, opts };
      },
      (input) => ('gguf' in input ? driveTokenizerGguf(input.gguf, GGUF_NAME, input.opts) : driveTokenizerJson(input.json, input.config, input.opts)),
      {
        names: ['tokenizer.json', 'tokenizer_config.json', GGUF_NAME],
        files: (input): Record<string, Uint8Array | string> =>
          'gguf' in input
            ? { [GGUF_NAME]: input.gguf }
            : {
                'tokenizer.json': typeof input.json === 'string' ? input.json : jsonText(input.json),
                ...(input.config === undefined ? {} : { 'tokenizer_config.json': typeof input.config === 'string' ? input.config : jsonText(input.config) }),
              },
      },
    );
    console.log(formatCensus(report, 'tests/fuzz/tokenizer.test.ts'));
    expect(report.failures.map((f) => `case ${f.index}: ${f.outcome}: ${f.detail.split('\n')[0]}`)).toEqual([]);
    if (report.cases > 1000) expect(coverageGaps(report, 0.1, ['FormatError', 'ConfigError'])).toEqual([]);
  }, 600_000);
});
