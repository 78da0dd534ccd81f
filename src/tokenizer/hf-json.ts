// The LFM2 tokenizer as Hugging Face `tokenizer.json` pieces, and the GGUF -> tokenizer.json conversion.
//
// The real LiquidAI tokenizer.json (spec §8, ../shared/assets/lfm2-tokenizer/SOURCE.md) is:
//   normalizer     null
//   pre_tokenizer  Sequence[ Split(LFM2_SPLIT_PATTERN, Isolated, invert false),
//                            ByteLevel(add_prefix_space false, trim_offsets true, use_regex false) ]
//   model          BPE, fuse_unk false, byte_fallback false, ignore_merges false, no unk token
//   decoder        ByteLevel(add_prefix_space true, trim_offsets true, use_regex true)
//   post_processor TemplateProcessing: <|startoftext|> $A
//   added_tokens   the control tokens (special: true) and a few plain added tokens (special: false)
//
// A GGUF (`tokenizer.ggml.model = "gpt2"`, `pre = "lfm2"`) holds the same vocabulary as three arrays; llama.cpp's
// converter wrote each added token's `special` flag as its token type (special -> CONTROL, else USER_DEFINED), and
// padded the list to the embedding rows with UNUSED entries. `ggufToTokenizerJson` turns those arrays back into the
// tokenizer.json above, so that one encoder (@huggingface/tokenizers) serves both file kinds.
//
// Deliberately left out: other tokenizer models (SentencePiece "llama", WordPiece) and other pre-tokenizers; they
// are rejected with an error naming the GGUF key.

import { FormatError } from '../../reference/errors.js';
import { ggufArray, ggufNumber, ggufNumbers, ggufString, GgufValueType, type GgufFile } from '../../reference/gguf.js';
import { TokenType } from '../synth/vocab.js';

/**
 * The LFM2 split regex exactly as tokenizer.json writes it (Oniguruma syntax: `(?i:...)`, `\p{L}`); this is the
 * Llama-3 pattern, which llama.cpp uses for pre-type "lfm2". @huggingface/tokenizers translates it for JS.
 */
export const LFM2_SPLIT_PATTERN =
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

/** The GGUF `tokenizer.ggml.pre` value this project reads. */
export const LFM2_GGUF_PRE = 'lfm2';

/** The pre-tokenizer object of the real tokenizer.json. */
export function lfm2PreTokenizerJson(): object {
  return {
    type: 'Sequence',
    pretokenizers: [
      { type: 'Split', pattern: { Regex: LFM2_SPLIT_PATTERN }, behavior: 'Isolated', invert: false },
      { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false },
    ],
  };
}

/** The decoder object of the real tokenizer.json. */
export function lfm2DecoderJson(): object {
  return { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true };
}

/** TemplateProcessing that puts `bos` first (single: `<bos> $A`; pair: `<bos> $A <bos> $B`). */
export function bosPostProcessorJson(bos: string, bosId: number): object {
  return {
    type: 'TemplateProcessing',
    single: [{ SpecialToken: { id: bos, type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
    pair: [
      { SpecialToken: { id: bos, type_id: 0 } },
      { Sequence: { id: 'A', type_id: 0 } },
      { SpecialToken: { id: bos, type_id: 1 } },
      { Sequence: { id: 'B', type_id: 1 } },
    ],
    special_tokens: { [bos]: { id: bos, ids: [bosId], tokens: [bos] } },
  };
}

/** One entry of tokenizer.json `added_tokens`. */
export interface AddedTokenJson {
  id: number;
  content: string;
  single_word: boolean;
  lstrip: boolean;
  rstrip: boolean;
  normalized: boolean;
  special: boolean;
}

export function addedTokenJson(id: number, content: string, special: boolean): AddedTokenJson {
  return { id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special };
}

/** Splits a GGUF merge "left right" the way llama.cpp does: at the first space after the first character. */
export function splitGgufMerge(m: string): [string, string] | null {
  const pos = m.indexOf(' ', 1);
  return pos < 0 ? null : [m.slice(0, pos), m.slice(pos + 1)];
}

/** The GGUF tokenizer metadata, read and checked. */
export interface GgufTokenizerData {
  tokens: string[];
  /** GGUF token type per id (TokenType). */
  tokenTypes: Uint8Array;
  merges: [string, string][];
  bosId: number;
  eosId: number;
  padId: number | undefined;
  chatTemplate: string | undefined;
}

/**
 * Reads and checks `tokenizer.ggml.*`. Every problem is a FormatError whose `field` is the offending key:
 * model other than "gpt2", pre other than "lfm2", missing tokens/token_type/merges, length mismatches, token types
 * outside 1..6, malformed merges, special-token ids outside the list.
 */
export function readGgufTokenizer(file: GgufFile): GgufTokenizerData {
  const name = file.name;
  const model = ggufString(file, 'tokenizer.ggml.model', { required: true });
  if (model !== 'gpt2') {
    throw new FormatError(name, 'tokenizer.ggml.model', `unsupported tokenizer model "${model}": LFM2 uses "gpt2" (byte-level BPE)`);
  }
  const pre = ggufString(file, 'tokenizer.ggml.pre');
  if (pre !== LFM2_GGUF_PRE) {
    throw new FormatError(
      name,
      'tokenizer.ggml.pre',
      pre === undefined ? `missing; expected "${LFM2_GGUF_PRE}"` : `unsupported pre-tokenizer "${pre}": only "${LFM2_GGUF_PRE}" (the Llama-3 split regex) is implemented`,
    );
  }
  const tokens = ggufArray(file, 'tokenizer.ggml.tokens', { required: true, itemType: GgufValueType.STRING });
  if (tokens.length === 0) throw new FormatError(name, 'tokenizer.ggml.tokens', 'empty token list');
  const types = ggufNumbers(file, 'tokenizer.ggml.token_type', { required: true });
  if (types.length !== tokens.length) {
    throw new FormatError(name, 'tokenizer.ggml.token_type', `${types.length} entries for ${tokens.length} tokens (tokenizer.ggml.tokens)`);
  }
  const tokenTypes = new Uint8Array(types.length);
  for (let i = 0; i < types.length; i++) {
    const t = types[i];
    if (!(t >= TokenType.NORMAL && t <= TokenType.BYTE)) {
      throw new FormatError(name, 'tokenizer.ggml.token_type', `entry ${i} (${JSON.stringify(tokens[i])}) is ${t}, expected 1..6`);
    }
    tokenTypes[i] = t;
  }
  const rawMerges = ggufArray(file, 'tokenizer.ggml.merges', { required: true, itemType: GgufValueType.STRING });
  const merges: [string, string][] = new Array(rawMerges.length);
  for (let i = 0; i < rawMerges.length; i++) {
    const m = splitGgufMerge(rawMerges[i]);
    if (!m) throw new FormatError(name, 'tokenizer.ggml.merges', `entry ${i} ${JSON.stringify(rawMerges[i])} is not "left right"`);
    merges[i] = m;
  }
  const id = (key: string): number | undefined => {
    const v = ggufNumber(file, key);
    if (v !== undefined && !(Number.isInteger(v) && v >= 0 && v < tokens.length)) {
      throw new FormatError(name, key, `token id ${v} is outside the token list (0..${tokens.length - 1})`);
    }
    return v;
  };
  const byString = (s: string) => {
    const i = tokens.lastIndexOf(s);
    return i < 0 ? undefined : i;
  };
  const bosId = id('tokenizer.ggml.bos_token_id') ?? byString('<|startoftext|>');
  const eosId = id('tokenizer.ggml.eos_token_id') ?? byString('<|im_end|>');
  if (bosId === undefined) throw new FormatError(name, 'tokenizer.ggml.bos_token_id', 'missing, and no <|startoftext|> token');
  if (eosId === undefined) throw new FormatError(name, 'tokenizer.ggml.eos_token_id', 'missing, and no <|im_end|> token');
  const padId = id('tokenizer.ggml.padding_token_id') ?? byString('<|pad|>');
  const chatTemplate = ggufString(file, 'tokenizer.chat_template');
  return { tokens, tokenTypes, merges, bosId, eosId, padId, chatTemplate };
}

/**
 * The tokenizer.json equivalent of GGUF tokenizer data. Every token goes into `model.vocab` (UNUSED padding
 * included, so ids stay contiguous; a string listed twice maps to its LAST id, as llama.cpp's token_to_id does).
 * CONTROL and UNKNOWN tokens become special added tokens, USER_DEFINED ones plain added tokens.
 * `ignoreMerges` is the BPE flag (see Lfm2TokenizerOptions.ignoreMerges).
 */
export function ggufToTokenizerJson(d: GgufTokenizerData, ignoreMerges = false): object {
  const vocab: Record<string, number> = Object.create(null);
  const added: AddedTokenJson[] = [];
  for (let i = 0; i < d.tokens.length; i++) {
    vocab[d.tokens[i]] = i;
    const t = d.tokenTypes[i];
    if (t === TokenType.CONTROL || t === TokenType.UNKNOWN) added.push(addedTokenJson(i, d.tokens[i], true));
    else if (t === TokenType.USER_DEFINED) added.push(addedTokenJson(i, d.tokens[i], false));
  }
  return lfm2TokenizerJson({ vocab, merges: d.merges, added, bos: d.tokens[d.bosId], bosId: d.bosId, ignoreMerges });
}

/**
 * A tokenizer.json object with LiquidAI's LFM2 layout (SOURCE.md): no normalizer, the LFM2 Split + ByteLevel
 * pre-tokenizer, a BOS-prepending post-processor, the ByteLevel decoder, and a BPE model without unk token.
 */
export function lfm2TokenizerJson(t: {
  vocab: Record<string, number>;
  merges: readonly (string | readonly [string, string])[];
  added: AddedTokenJson[];
  bos: string;
  bosId: number;
  ignoreMerges?: boolean;
}): object {
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: t.added,
    normalizer: null,
    pre_tokenizer: lfm2PreTokenizerJson(),
    post_processor: bosPostProcessorJson(t.bos, t.bosId),
    decoder: lfm2DecoderJson(),
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: t.ignoreMerges ?? false,
      vocab: t.vocab,
      merges: t.merges,
    },
  };
}
