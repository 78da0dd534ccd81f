// Hugging Face tokenizer.json + tokenizer_config.json for a project-made vocabulary (src/synth/vocab.ts), laid out
// like LiquidAI's real files (../shared/assets/lfm2-tokenizer/SOURCE.md): the LFM2 Split regex + ByteLevel
// pre-tokenizer, BPE with fuse_unk/byte_fallback/ignore_merges false and no unk token, a ByteLevel decoder, a
// TemplateProcessing post-processor that puts <|startoftext|> first, and the control tokens (special) and
// <think>/</think> (not special: GGUF USER_DEFINED) as added tokens.
//
// The UNUSED `<|pad_N|>` padding is left out, as the real tokenizer.json has no entries for the embedding rows
// beyond its vocabulary (llama.cpp's converter adds that padding to the GGUF). So a tokenizer built from this JSON
// has a shorter token list than one built from the same vocabulary's GGUF; the ids of real tokens are the same.
//
// Written into synth HF folders (random-model.ts synthHfFolder), and used to check that the JSON-built and the
// GGUF-built tokenizers agree (tests/tokenizer.test.ts).

import { addedTokenJson, lfm2TokenizerJson, splitGgufMerge, type AddedTokenJson } from '../tokenizer/hf-json.js';
import { TokenType, type Vocab } from './vocab.js';

function addedTokens(v: Vocab): AddedTokenJson[] {
  const out: AddedTokenJson[] = [];
  v.tokens.forEach((t, id) => {
    const type = v.tokenTypes[id];
    if (type === TokenType.CONTROL) out.push(addedTokenJson(id, t, true));
    else if (type === TokenType.USER_DEFINED) out.push(addedTokenJson(id, t, false));
  });
  return out;
}

/** The tokenizer.json object for `v` (serialise with JSON.stringify). */
export function vocabToTokenizerJson(v: Vocab): object {
  const vocab: Record<string, number> = Object.create(null);
  v.tokens.forEach((t, id) => {
    if (v.tokenTypes[id] !== TokenType.UNUSED) vocab[t] = id;
  });
  const merges = v.merges.map((m) => {
    const pair = splitGgufMerge(m);
    if (!pair) throw new RangeError(`merge ${JSON.stringify(m)} is not "left right"`);
    return pair;
  });
  return lfm2TokenizerJson({ vocab, merges, added: addedTokens(v), bos: v.tokens[v.bos], bosId: v.bos });
}

/** The tokenizer_config.json object for `v`, with the keys LiquidAI's has (bos/eos/pad, added_tokens_decoder). */
export function vocabToTokenizerConfig(v: Vocab, chatTemplate?: string): object {
  const decoder: Record<string, object> = {};
  for (const a of addedTokens(v)) {
    decoder[String(a.id)] = { content: a.content, lstrip: a.lstrip, normalized: a.normalized, rstrip: a.rstrip, single_word: a.single_word, special: a.special };
  }
  return {
    add_bos_token: true,
    add_eos_token: false,
    added_tokens_decoder: decoder,
    bos_token: v.tokens[v.bos],
    clean_up_tokenization_spaces: true,
    eos_token: v.tokens[v.eos],
    legacy: false,
    pad_token: v.tokens[v.pad],
    spaces_between_special_tokens: false,
    tokenizer_class: 'PreTrainedTokenizerFast',
    use_default_system_prompt: false,
    use_fast: true,
    ...(chatTemplate === undefined ? {} : { chat_template: chatTemplate }),
  };
}
