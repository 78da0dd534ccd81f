// Lfm2Tokenizer (src/tokenizer/): the GGUF-built and the tokenizer.json-built tokenizers agree; decode inverts
// encode; control tokens in user text stay text; the stream decoder never splits a character; `sampleable` masks
// padding and ids beyond the vocabulary; bad GGUF metadata fails naming its key; the real LiquidAI
// tokenizer_config.json loads with the synthetic-mini tokenizer.json. llama.cpp agreement: tokenizer-golden.test.ts.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TOKENIZER_CORPUS } from '../golden/tokenizer-golden.js';
import { bytesSource } from '../reference/bytes.js';
import { ConfigError, FormatError } from '../reference/errors.js';
import { concatParts, gv, GgufValueType, readGguf, writeGguf, type GgufFile, type GgufValue } from '../reference/gguf.js';
import { synthGgufMetadata, synthModel } from '../src/synth/random-model.js';
import { TINY_SHAPES } from '../src/synth/shapes.js';
import { vocabToTokenizerConfig, vocabToTokenizerJson } from '../src/synth/tokenizer-json.js';
import { bytesToUnicode, LFM2_CONTROL_TOKENS, makeVocab, TokenType, type Vocab } from '../src/synth/vocab.js';
import { LFM2_SPLIT_PATTERN } from '../src/tokenizer/hf-json.js';
import { Lfm2Tokenizer } from '../src/tokenizer/tokenizer.js';
import { SHARED_ASSETS, SHARED_SKIP_REASON } from './shared.js';

// --- fixtures ---------------------------------------------------------------------------------------------------

type Meta = [string, GgufValue][];

/** The tokenizer metadata our model maker writes for a vocabulary of `V` tokens (tensors are not needed). */
function synthMeta(V: number): Meta {
  return synthGgufMetadata(synthModel({ ...TINY_SHAPES[0], vocab_size: V }), 'F32');
}

async function ggufOf(meta: Meta, name = 'tok.gguf'): Promise<GgufFile> {
  return readGguf(bytesSource(concatParts(writeGguf({ metadata: meta, tensors: [] })), name));
}

/** `meta` with `key` replaced (value given) or removed (undefined). */
function edit(meta: Meta, key: string, value: GgufValue | undefined): Meta {
  const out = meta.filter(([k]) => k !== key);
  return value === undefined ? out : [...out, [key, value]];
}

const VOCAB_SIZES = [512, 4000];
const vocabs = new Map<number, Vocab>(VOCAB_SIZES.map((V) => [V, makeVocab(V)]));
const fromGguf = new Map<number, Lfm2Tokenizer>();
const fromJson = new Map<number, Lfm2Tokenizer>();
for (const V of VOCAB_SIZES) {
  const v = vocabs.get(V)!;
  fromGguf.set(V, Lfm2Tokenizer.fromGguf(await ggufOf(synthMeta(V))));
  // Through text, as a file would arrive.
  fromJson.set(V, Lfm2Tokenizer.fromJson(JSON.stringify(vocabToTokenizerJson(v)), JSON.stringify(vocabToTokenizerConfig(v))));
}

/** Strings built from pieces that stress boundaries: specials, multi-byte characters, whitespace, digits, and
 * U+FFFD itself (a character users can type: the stream decoder must pass it through, and add no other). */
const PIECES = ['\uFFFD', '<|im_end|>', '<|im_start|>', '<think>', '</think>', '<|tool_call_start|>', '<|', '|>', '<', "'s", "'RE", ' ', '  ', '\n', '\r\n', '\t', '1234567', '👍🏽', '👨‍👩‍👧', '🇫🇷', '人工知能', 'é', 'e\u0301', 'ال', '한', 'x', 'The'];
const mixedText = fc.array(fc.oneof(fc.constantFrom(...PIECES), fc.string({ unit: 'binary', maxLength: 6 }), fc.string({ unit: 'grapheme', maxLength: 4 })), { maxLength: 12 }).map((a) => a.join(''));

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

// --- (a) GGUF-built == JSON-built -------------------------------------------------------------------------------

describe('GGUF-built and tokenizer.json-built tokenizers agree', () => {
  for (const V of VOCAB_SIZES) {
    const v = vocabs.get(V)!;
    const g = fromGguf.get(V)!;
    const j = fromJson.get(V)!;
    const real = v.tokens.map((_, id) => id).filter((id) => v.tokenTypes[id] !== TokenType.UNUSED);

    it(`V=${V}: same ids, special ids and token types for every real token`, () => {
      expect(g.vocabSize).toBe(V);
      expect(j.vocabSize).toBe(real.length); // the JSON, like the real tokenizer.json, has no padding entries
      for (const t of [g, j]) {
        expect([t.bosId, t.eosId, t.padId]).toEqual([1, 7, 0]);
        expect(t.stopIds).toEqual([7, 2]);
        expect([t.toolCallStartId, t.toolCallEndId]).toEqual([10, 11]);
        expect([t.thinkStartId, t.thinkEndId]).toEqual([v.tokens.indexOf('<think>'), v.tokens.indexOf('</think>')]);
      }
      for (const id of real) {
        expect(j.idToToken(id)).toBe(v.tokens[id]);
        expect(g.idToToken(id)).toBe(v.tokens[id]);
        expect(j.tokenToId(v.tokens[id])).toBe(id);
        expect(j.tokenTypes[id], `type of ${id}`).toBe(v.tokenTypes[id]);
        expect(g.tokenTypes[id], `type of ${id}`).toBe(v.tokenTypes[id]);
      }
      const rows = { embeddingRows: V };
      expect(Lfm2Tokenizer.fromJson(vocabToTokenizerJson(v), vocabToTokenizerConfig(v), rows).sampleable).toEqual(g.sampleable);
    });

    it(`V=${V}: same ids on the multilingual corpus, both modes, and decode gives the text back`, () => {
      for (const text of TOKENIZER_CORPUS) {
        const plain = g.encode(text);
        const special = g.encodeTemplate(text);
        expect(j.encode(text), JSON.stringify(text)).toEqual(plain);
        expect(j.encodeTemplate(text), JSON.stringify(text)).toEqual(special);
        for (const t of [g, j]) {
          expect(t.decode(plain)).toBe(text);
          expect(t.decode(special)).toBe(text);
        }
      }
    });

    it(`V=${V}: same ids on random text (property)`, () => {
      fc.assert(
        fc.property(mixedText, (text) => {
          expect(j.encode(text)).toEqual(g.encode(text));
          expect(j.encodeTemplate(text)).toEqual(g.encodeTemplate(text));
        }),
        { numRuns: 300 },
      );
    });
  }

  it('the merges are used: common words become single tokens, not bytes', () => {
    const g = fromGguf.get(4000)!;
    expect(g.encode(' the').length).toBe(1);
    expect(g.encode('the quick brown fox').length).toBeLessThan('the quick brown fox'.length / 2);
  });

  it('template mode equals @huggingface/tokenizers run on the same JSON (our wrapper adds nothing)', () => {
    const v = vocabs.get(4000)!;
    const hf = new Tokenizer(vocabToTokenizerJson(v), vocabToTokenizerConfig(v));
    const t = fromGguf.get(4000)!;
    for (const text of TOKENIZER_CORPUS) {
      expect(t.encodeTemplate(text)).toEqual(hf.encode(text, { add_special_tokens: false }).ids);
      // With add_special_tokens, HF's TemplateProcessing prepends <|startoftext|>: our addBos.
      expect(t.encode(text, { addBos: true, parseSpecial: true })).toEqual(hf.encode(text).ids);
    }
  });
});

// --- (b) decode(encode(x)) == x ---------------------------------------------------------------------------------

describe('decode(encode(x)) == x', () => {
  for (const V of VOCAB_SIZES) {
    const t = fromGguf.get(V)!;
    it(`V=${V}: any Unicode string, user and template mode (property)`, () => {
      fc.assert(
        fc.property(fc.oneof(fc.string({ unit: 'binary' }), fc.string({ unit: 'grapheme' }), mixedText), (text) => {
          expect(t.decode(t.encode(text))).toBe(text);
          expect(t.decode(t.encodeTemplate(text))).toBe(text);
        }),
        { numRuns: 500 },
      );
    });
  }

  it('addBos puts <|startoftext|> first; decode keeps it unless skipSpecial', () => {
    const t = fromGguf.get(512)!;
    const ids = t.encode('Hi', { addBos: true });
    expect(ids[0]).toBe(1);
    expect(ids.slice(1)).toEqual(t.encode('Hi'));
    expect(t.decode(ids)).toBe('<|startoftext|>Hi');
    expect(t.decode(ids, { skipSpecial: true })).toBe('Hi');
  });

  it('skipSpecial drops control tokens only: <think> is a plain added token and stays', () => {
    const t = fromGguf.get(512)!;
    const ids = t.encodeTemplate('<|im_start|>assistant\n<think>hm</think>ok<|im_end|>');
    expect(t.decode(ids, { skipSpecial: true })).toBe('assistant\n<think>hm</think>ok');
  });

  it('decode of an id outside the vocabulary is an error, not silent text', () => {
    const t = fromJson.get(4000)!;
    expect(() => t.decode([t.vocabSize])).toThrow(/not in the vocabulary/);
    expect(() => t.decode([-1])).toThrow(/not in the vocabulary/);
    expect(() => t.decode([1.5])).toThrow(/not in the vocabulary/);
  });
});

// --- (c) special tokens in user text ----------------------------------------------------------------------------

describe('special tokens: user text vs template text', () => {
  const t = fromGguf.get(4000)!;
  const controlIds = LFM2_CONTROL_TOKENS.map((_, id) => id);

  it('<|im_end|> typed by a user is ordinary text with encode(), a control token with encodeTemplate()', () => {
    const user = t.encode('<|im_end|>');
    expect(user).not.toContain(7);
    expect(user.length).toBeGreaterThan(1);
    expect(t.decode(user)).toBe('<|im_end|>');
    expect(t.decode(user, { skipSpecial: true })).toBe('<|im_end|>'); // it is text, so it is not skipped
    expect(t.encodeTemplate('<|im_end|>')).toEqual([7]);
    expect(t.encode('<|im_end|>', { parseSpecial: true })).toEqual([7]);
  });

  it('every control token, in any surroundings, stays text in user mode (property)', () => {
    fc.assert(
      fc.property(mixedText, fc.constantFrom(...LFM2_CONTROL_TOKENS), mixedText, (a, tok, b) => {
        const ids = t.encode(a + tok + b);
        for (const id of controlIds) expect(ids).not.toContain(id);
        expect(t.encodeTemplate(a + tok + b)).toContain(LFM2_CONTROL_TOKENS.indexOf(tok));
      }),
      { numRuns: 300 },
    );
  });

  it('a rendered chat prompt: control tokens recognised, no second BOS', () => {
    const ids = t.encodeTemplate('<|startoftext|><|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n');
    expect(ids.slice(0, 2)).toEqual([1, 6]);
    expect(ids.filter((x) => x === 1)).toHaveLength(1);
    expect(ids.filter((x) => x === 6)).toHaveLength(2);
    expect(ids).toContain(7);
    expect(t.decode(ids)).toBe('<|startoftext|><|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n');
  });

  it('<think> (USER_DEFINED, a plain added token) is recognised in both modes, as llama.cpp and HF do', () => {
    for (const ids of [t.encode('a<think>b</think>c'), t.encodeTemplate('a<think>b</think>c')]) {
      expect(ids).toContain(t.thinkStartId);
      expect(ids).toContain(t.thinkEndId);
    }
  });

  it('near-misses and UNUSED padding names are never special', () => {
    for (const s of ['<|im_end|', '<im_end|>', '<|IM_END|>', '<|pad_0|>', '<|pad_3|>']) {
      const ids = t.encodeTemplate(s);
      expect(ids.every((id) => t.tokenTypes[id] === TokenType.NORMAL), s).toBe(true);
      expect(t.decode(ids)).toBe(s);
    }
  });
});

// --- (d) stream decoding ----------------------------------------------------------------------------------------

describe('stream decoder', () => {
  const t = fromGguf.get(4000)!;

  function streamed(ids: number[], skipSpecial = false): string[] {
    const d = t.createStreamDecoder({ skipSpecial });
    return [...ids.map((id) => d.push(id)), d.flush()];
  }

  it('emoji and CJK split across byte tokens come out whole, never U+FFFD or a lone surrogate', () => {
    const fatal = new TextDecoder('utf-8', { fatal: true });
    const partial = (id: number) => {
      try {
        fatal.decode(t.pieceBytes(id));
        return false;
      } catch {
        return true;
      }
    };
    for (const text of ['👨‍👩‍👧‍👦 family 👍🏽🇫🇷', '人工知能は言語を理解します。鑫龘齉', '한국어 🧑🏿‍🚀 é', 'e\u0301👩‍❤️‍💋‍👨']) {
      const ids = t.encode(text);
      const parts = streamed(ids);
      // The test must exercise buffering: some tokens are not whole characters on their own.
      expect(ids.some(partial), text).toBe(true);
      for (const p of parts) {
        expect(p).not.toContain('\uFFFD');
        expect(LONE_SURROGATE.test(p), JSON.stringify(p)).toBe(false);
      }
      expect(parts.join('')).toBe(text);
      expect(parts.join('')).toBe(t.decode(ids));
    }
  });

  it('concatenated pushes + flush == decode, with and without skipSpecial; no U+FFFD added (property)', () => {
    // The text may hold U+FFFD itself (fc.string({ unit: 'binary' }) draws it; so does PIECES): the true property
    // is that the stream adds none, i.e. its parts hold exactly as many as the text, and no lone surrogate.
    const replacements = (s: string) => s.split('\uFFFD').length - 1;
    fc.assert(
      fc.property(fc.oneof(mixedText, fc.string({ unit: 'binary' })), fc.boolean(), (text, skipSpecial) => {
        const ids = t.encodeTemplate(text);
        const parts = streamed(ids, skipSpecial);
        expect(parts.join('')).toBe(t.decode(ids, { skipSpecial }));
        expect(parts.reduce((n, p) => n + replacements(p), 0)).toBe(replacements(text));
        for (const p of parts) expect(LONE_SURROGATE.test(p), JSON.stringify(p)).toBe(false);
      }),
      { numRuns: 300 },
    );
  });

  it('arbitrary id sequences (broken UTF-8 included): stream == decode, U+FFFD only where decode has it', () => {
    const real = Array.from({ length: t.vocabSize }, (_, id) => id).filter((id) => t.sampleable[id]);
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...real), { maxLength: 30 }), (ids) => {
        expect(streamed(ids).join('')).toBe(t.decode(ids));
      }),
      { numRuns: 300 },
    );
    // A lone lead byte followed by ASCII: invalid, so one U+FFFD, then the letter.
    const b2u = bytesToUnicode();
    const lead = t.tokenToId(b2u[0xf0])!;
    expect(streamed([lead, t.tokenToId('a')!]).join('')).toBe('\uFFFDa');
    expect(streamed([lead]).join('')).toBe('\uFFFD'); // flush reports the incomplete tail
  });
});

// --- (e) sampleable ---------------------------------------------------------------------------------------------

describe('sampleable', () => {
  it('1 for NORMAL, CONTROL, USER_DEFINED; 0 for UNUSED padding and ids beyond the token list', async () => {
    const v = vocabs.get(4000)!;
    const t = Lfm2Tokenizer.fromGguf(await ggufOf(synthMeta(4000)), { embeddingRows: 4096 });
    expect(t.sampleable.length).toBe(4096);
    for (let id = 0; id < 4096; id++) {
      const type = v.tokenTypes[id];
      const want = type === TokenType.NORMAL || type === TokenType.CONTROL || type === TokenType.USER_DEFINED ? 1 : 0;
      expect(t.sampleable[id], `id ${id} (${type === undefined ? 'beyond the list' : `type ${type}`})`).toBe(want);
    }
    expect(t.sampleable[7]).toBe(1); // <|im_end|> must be sampleable, or generation never stops
    expect(t.sampleable[10]).toBe(1); // <|tool_call_start|>
    expect(t.sampleable[t.thinkStartId!]).toBe(1);
    expect(v.tokenTypes.filter((x) => x === TokenType.UNUSED).length).toBeGreaterThan(1000);
  });

  it('defaults to one entry per token; fewer embedding rows than real tokens is a ConfigError', async () => {
    const g = fromGguf.get(512)!;
    expect(g.sampleable.length).toBe(512);
    const err = await caught(async () => Lfm2Tokenizer.fromGguf(await ggufOf(synthMeta(512)), { embeddingRows: 300 }));
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).field).toBe('embeddingRows');
    // Padding may be cut: V=4000 has real tokens only below 731.
    expect(Lfm2Tokenizer.fromGguf(await ggufOf(synthMeta(4000)), { embeddingRows: 800 }).sampleable.length).toBe(800);
  });
});

// --- (f) ids looked up by string --------------------------------------------------------------------------------

describe('think and tool-call ids are looked up by string', () => {
  it('found wherever they are; undefined when absent', async () => {
    for (const V of VOCAB_SIZES) {
      const t = fromGguf.get(V)!;
      expect(t.idToToken(t.thinkStartId!)).toBe('<think>');
      expect(t.idToToken(t.thinkEndId!)).toBe('</think>');
      expect(t.thinkStartId).toBe(14 + 256 + vocabs.get(V)!.merges.length);
    }
    const v = makeVocab(512);
    const tokens = v.tokens.map((s) => (s === '<think>' ? '<reason>' : s === '</think>' ? '</reason>' : s));
    const t = Lfm2Tokenizer.fromGguf(await ggufOf(edit(synthMeta(512), 'tokenizer.ggml.tokens', gv.strArr(tokens))));
    expect(t.thinkStartId).toBeUndefined();
    expect(t.thinkEndId).toBeUndefined();
    expect(t.tokenToId('<reason>')).toBe(v.tokens.indexOf('<think>'));
  });
});

// --- (g) bad GGUF metadata --------------------------------------------------------------------------------------

async function caught(f: () => Promise<unknown>): Promise<unknown> {
  try {
    await f();
  } catch (e) {
    return e;
  }
  throw new Error('expected an error');
}

describe('bad GGUF tokenizer metadata', () => {
  const base = synthMeta(512);
  const v = makeVocab(512);
  const cases: [string, Meta, string, RegExp][] = [
    ['missing tokens', edit(base, 'tokenizer.ggml.tokens', undefined), 'tokenizer.ggml.tokens', /missing/],
    ['model "llama"', edit(base, 'tokenizer.ggml.model', gv.str('llama')), 'tokenizer.ggml.model', /"llama"/],
    ['missing model', edit(base, 'tokenizer.ggml.model', undefined), 'tokenizer.ggml.model', /missing/],
    ['pre "qwen2"', edit(base, 'tokenizer.ggml.pre', gv.str('qwen2')), 'tokenizer.ggml.pre', /"qwen2"/],
    ['missing pre', edit(base, 'tokenizer.ggml.pre', undefined), 'tokenizer.ggml.pre', /missing/],
    ['token_type shorter than tokens', edit(base, 'tokenizer.ggml.token_type', gv.arr(GgufValueType.INT32, v.tokenTypes.slice(1))), 'tokenizer.ggml.token_type', /511 entries for 512 tokens/],
    ['token_type value 9', edit(base, 'tokenizer.ggml.token_type', gv.arr(GgufValueType.INT32, [9, ...v.tokenTypes.slice(1)])), 'tokenizer.ggml.token_type', /entry 0/],
    ['missing merges', edit(base, 'tokenizer.ggml.merges', undefined), 'tokenizer.ggml.merges', /missing/],
    ['a merge without a space', edit(base, 'tokenizer.ggml.merges', gv.strArr([...v.merges, 'abc'])), 'tokenizer.ggml.merges', /entry 240/],
    ['a merge of non-tokens', edit(base, 'tokenizer.ggml.merges', gv.strArr(['Ġt qq', ...v.merges])), 'tokenizer.ggml.merges', /entry 0/],
    ['tokens of the wrong type', edit(base, 'tokenizer.ggml.tokens', gv.arr(GgufValueType.INT32, [1, 2])), 'tokenizer.ggml.tokens', /ARRAY of STRING/],
    ['bos id beyond the list', edit(base, 'tokenizer.ggml.bos_token_id', gv.u32(512)), 'tokenizer.ggml.bos_token_id', /outside/],
    ['a byte symbol missing', edit(base, 'tokenizer.ggml.tokens', gv.strArr(v.tokens.map((s) => (s === 'Ā' ? 'Ā!' : s)))), 'tokenizer.ggml.tokens', /byte 0x00/],
  ];
  for (const [what, meta, key, message] of cases) {
    it(`${what} -> FormatError naming ${key}`, async () => {
      const err = await caught(async () => Lfm2Tokenizer.fromGguf(await ggufOf(meta, 'bad.gguf')));
      expect(err).toBeInstanceOf(FormatError);
      expect((err as FormatError).field).toBe(key);
      expect((err as FormatError).file).toBe('bad.gguf');
      expect((err as Error).message).toMatch(message);
    });
  }
});

// --- BPE ignore_merges (GGUF option) ----------------------------------------------------------------------------

describe('ignoreMerges', () => {
  it('off (the HF default): merges by rank; on (llama.cpp pre "lfm2"): a whole-vocabulary pre-token is one token', async () => {
    // "b c" outranks "a b", so merging "abc" gives [a, bc]; "abc" itself is a token (made by "ab c").
    const b2u = bytesToUnicode();
    const tokens = [...LFM2_CONTROL_TOKENS, ...b2u, 'bc', 'ab', 'abc'];
    const types = tokens.map((_, i) => (i < LFM2_CONTROL_TOKENS.length ? TokenType.CONTROL : TokenType.NORMAL));
    const meta: Meta = [
      ['tokenizer.ggml.model', gv.str('gpt2')],
      ['tokenizer.ggml.pre', gv.str('lfm2')],
      ['tokenizer.ggml.tokens', gv.strArr(tokens)],
      ['tokenizer.ggml.token_type', gv.arr(GgufValueType.INT32, types)],
      ['tokenizer.ggml.merges', gv.strArr(['b c', 'a b', 'ab c'])],
    ];
    const file = await ggufOf(meta);
    const off = Lfm2Tokenizer.fromGguf(file);
    const on = Lfm2Tokenizer.fromGguf(file, { ignoreMerges: true });
    expect(off.encode('abc').map((id) => off.idToToken(id))).toEqual(['a', 'bc']);
    expect(on.encode('abc').map((id) => on.idToToken(id))).toEqual(['abc']);
    expect([off.bosId, off.eosId, off.padId]).toEqual([1, 7, 0]); // found by name when the id keys are absent
  });
});

// --- (h) the real LiquidAI tokenizer_config.json ----------------------------------------------------------------

describe.skipIf(!SHARED_ASSETS)(`real LiquidAI tokenizer files (${SHARED_ASSETS ? '../shared present' : SHARED_SKIP_REASON})`, () => {
  const dir = SHARED_ASSETS ?? '';
  const read = (f: string) => readFileSync(join(dir, f), 'utf8');

  it('synthetic-mini/tokenizer.json has the real layout: our split pattern, BPE flags', () => {
    const j = JSON.parse(read('synthetic-mini/tokenizer.json'));
    expect(j.pre_tokenizer.pretokenizers[0].pattern.Regex).toBe(LFM2_SPLIT_PATTERN);
    expect([j.model.fuse_unk, j.model.byte_fallback, j.model.ignore_merges, j.model.unk_token]).toEqual([false, false, false, null]);
  });

  it('loads with lfm2-1.2b/tokenizer_config.json; special tokens get their real ids', () => {
    const t = Lfm2Tokenizer.fromJson(read('synthetic-mini/tokenizer.json'), read('lfm2-1.2b/tokenizer_config.json'), { embeddingRows: 65536 });
    expect([t.padId, t.bosId, t.eosId]).toEqual([0, 1, 7]);
    expect(t.stopIds).toEqual([7, 2]);
    expect([t.toolCallStartId, t.toolCallEndId]).toEqual([10, 11]);
    expect([t.thinkStartId, t.thinkEndId]).toEqual([64400, 64401]);
    expect(t.vocabSize).toBe(64402);
    for (const [id, s] of LFM2_CONTROL_TOKENS.entries()) {
      expect(t.tokenToId(s)).toBe(id);
      expect(t.tokenTypes[id]).toBe(TokenType.CONTROL);
    }
    expect(t.tokenToId('<|reserved_4|>')).toBe(14);
    expect(t.tokenTypes[14]).toBe(TokenType.NORMAL); // not an added token, as in the real GGUF
    expect(t.tokenTypes[64014]).toBe(TokenType.USER_DEFINED); // "python": special false in the config
    expect(t.chatTemplate).toBeUndefined(); // LFM2's config keeps the template in chat_template.jinja

    // sampleable: real ids 1, holes in the sparse toy vocabulary and rows >= 64402 are 0.
    expect(t.sampleable.length).toBe(65536);
    expect([t.sampleable[7], t.sampleable[64400], t.sampleable[64401], t.sampleable[1000]]).toEqual([1, 1, 1, 1]);
    expect([t.sampleable[600], t.sampleable[64402], t.sampleable[65535]]).toEqual([0, 0, 0]);

    const prompt = '<|startoftext|><|im_start|>user\nHello world<|im_end|>\n<|im_start|>assistant\n';
    const ids = t.encodeTemplate(prompt);
    expect(ids.slice(0, 2)).toEqual([1, 6]);
    expect(ids).toContain(7);
    expect(t.decode(ids)).toBe(prompt);
    expect(t.encode('Hello<|im_end|>')).not.toContain(7);
    expect(t.encode('I like python')).toContain(64014); // plain added tokens are recognised in user text too
    expect(t.encode('Hello world', { addBos: true })[0]).toBe(1);
  });

  it('agrees with @huggingface/tokenizers given the same two files', () => {
    const json = JSON.parse(read('synthetic-mini/tokenizer.json'));
    const config = JSON.parse(read('lfm2-1.2b/tokenizer_config.json'));
    const hf = new Tokenizer(json, config);
    const t = Lfm2Tokenizer.fromJson(json, config);
    for (const text of TOKENIZER_CORPUS) {
      expect(t.encodeTemplate(text), JSON.stringify(text)).toEqual(hf.encode(text, { add_special_tokens: false }).ids);
      expect(t.encode(text, { addBos: true, parseSpecial: true })).toEqual(hf.encode(text).ids); // TemplateProcessing
      expect(t.decode(t.encode(text))).toBe(text);
    }
  });

  it('chat_template from the config or an option', () => {
    const template = read('lfm2.5-1.2b/chat_template.jinja');
    const config = { ...JSON.parse(read('lfm2-1.2b/tokenizer_config.json')), chat_template: template };
    expect(Lfm2Tokenizer.fromJson(read('synthetic-mini/tokenizer.json'), config).chatTemplate).toBe(template);
    expect(Lfm2Tokenizer.fromJson(read('synthetic-mini/tokenizer.json'), undefined, { chatTemplate: 'x' }).chatTemplate).toBe('x');
  });
});

describe('bad tokenizer.json', () => {
  const v = makeVocab(512);
  const good = vocabToTokenizerJson(v) as Record<string, any>;
  const cases: [string, object, string][] = [
    ['not BPE', { ...good, model: { ...good.model, type: 'Unigram' } }, 'model.type'],
    ['byte fallback', { ...good, model: { ...good.model, byte_fallback: true } }, 'model.byte_fallback'],
    ['a normalizer', { ...good, normalizer: { type: 'NFC' } }, 'normalizer'],
    ['a non-ByteLevel decoder', { ...good, decoder: { type: 'Metaspace' } }, 'decoder.type'],
    ['no merges', { ...good, model: { ...good.model, merges: undefined } }, 'model.merges'],
  ];
  for (const [what, json, field] of cases) {
    it(`${what} -> FormatError naming ${field}`, () => {
      let err: unknown;
      try {
        Lfm2Tokenizer.fromJson(json);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(FormatError);
      expect((err as FormatError).field).toBe(field);
    });
  }
  it('not JSON -> FormatError', () => {
    expect(() => Lfm2Tokenizer.fromJson('{nope')).toThrow(FormatError);
  });
  it('a config bos_token that is not in the vocabulary -> ConfigError naming bos_token', () => {
    expect(() => Lfm2Tokenizer.fromJson(good, { bos_token: '<s>' })).toThrow(/bos_token/);
  });
});
