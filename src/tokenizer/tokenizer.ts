// Lfm2Tokenizer: the LFM2 / LFM2.5 byte-level BPE tokenizer, built from a Hugging Face tokenizer.json (+
// tokenizer_config.json) or from a GGUF's `tokenizer.ggml.*` metadata. Runtime-agnostic: no node: imports.
//
// Mirrors: HF `tokenizers` (tokenizer.json semantics) for pre-tokenization and BPE, which run in
// @huggingface/tokenizers; llama.cpp `llama_vocab` for token types, "special tokens in user text" and decoding.
// A GGUF is first turned into the equivalent tokenizer.json (hf-json.ts), so both file kinds run the same encoder.
//
// Special tokens and user content (spec §8):
//   encode(text)              parseSpecial false (the default): CONTROL tokens written in the text (`<|im_end|>`)
//                             are NOT recognised and come out as ordinary byte-level tokens. Plain added tokens
//                             (USER_DEFINED in GGUF, `special: false` in tokenizer.json, e.g. `<think>`) ARE
//                             recognised, as both llama.cpp (parse_special = false) and HF do.
//   encodeTemplate(text)      parseSpecial true, no BOS added: for rendered chat-template text, which already starts
//                             with `<|startoftext|>`. Every added token is recognised (leftmost-longest match).
// Decoding maps each token's characters back to bytes (added tokens are their own UTF-8 text, UNUSED padding is
// empty, as in llama.cpp's token_to_piece) and decodes UTF-8 once, so a character split across tokens survives;
// the stream decoder keeps an incomplete UTF-8 tail between pushes.
//
// Left out: anything but byte-level BPE (no SentencePiece, no byte fallback), normalizers (LFM2 has none), and
// HF's `clean_up_tokenization_spaces` (LFM2's tokenizer_config sets it, but it is lossy: " ." -> "."; we decode
// exactly).

import { Tokenizer } from '@huggingface/tokenizers';
import { describeValue, isPlainObject } from '../../reference/describe.js';
import { ConfigError, FormatError, InputError } from '../../reference/errors.js';
import type { GgufFile } from '../../reference/gguf.js';
import { THINK_END, THINK_START, TOOL_CALL_END, TOOL_CALL_START } from '../chat/markers.js';
import { bytesToUnicode, TokenType } from '../synth/vocab.js';
import { ggufToTokenizerJson, readGgufTokenizer } from './hf-json.js';

export interface Lfm2TokenizerOptions {
  /**
   * Rows of the model's token embedding (65,536 for LFM2, more than the vocabulary has tokens). Sets the length of
   * `sampleable`. Default: vocabSize.
   */
  embeddingRows?: number;
  /** Use this chat template instead of the one in the file (GGUF `tokenizer.chat_template`, config `chat_template`). */
  chatTemplate?: string;
  /**
   * GGUF only: the BPE `ignore_merges` flag (a pre-token that is a whole vocabulary entry is emitted without
   * merging). The real tokenizer.json says false, and that is the default; llama.cpp sets it true for pre "lfm2".
   * The two differ only for a pre-token that is in the vocabulary but that the merges do not reach.
   */
  ignoreMerges?: boolean;
}

export interface EncodeOptions {
  /** Put `bosId` first. Default false (the chat template writes `<|startoftext|>` itself). */
  addBos?: boolean;
  /** Recognise control tokens (`<|im_end|>` ...) written in the text. Default false: for user content. */
  parseSpecial?: boolean;
}

export interface DecodeOptions {
  /** Leave out control tokens (`<|im_end|>`, `<|tool_call_start|>` ...). Plain added tokens (`<think>`) stay. */
  skipSpecial?: boolean;
}

export interface StreamDecoder {
  /** Text completed by this token: never a partial UTF-8 character (an incomplete tail waits for the next push). */
  push(id: number): string;
  /** Whatever is still buffered (an incomplete character becomes U+FFFD); the decoder can then be reused. */
  flush(): string;
}

/** An added token as the encoder needs it. */
interface Added {
  id: number;
  content: string;
  special: boolean;
  lstrip: boolean;
  rstrip: boolean;
}

/** Everything the constructor needs, from either file kind. */
interface Parts {
  source: string;
  json: Record<string, unknown>;
  /** Token string per id; undefined where a (sparse) tokenizer.json has no id. */
  tokens: (string | undefined)[];
  /** GGUF token type per id; 0 where there is no token. */
  tokenTypes: Uint8Array;
  merges: [string, string][];
  added: Added[];
  bosId: number;
  eosId: number;
  padId: number | undefined;
  chatTemplate: string | undefined;
}

/**
 * Token ids at or above this are corruption (the largest real vocabularies have about 262,000 tokens). The token
 * list is indexed by id, so an id of 2^31 in a tokenizer.json would otherwise mean a 2^31-entry list: a hang.
 */
export const MAX_TOKEN_ID = 1 << 21;

/** Run through a new tokenizer once, so that a file the library accepts but cannot run fails at load. */
const SAMPLE_TEXT = "Hi <|im_start|>user\n12 x's? <think>é漢</think>";

const BYTE_OF_CHAR: ReadonlyMap<string, number> = new Map(bytesToUnicode().map((c, b) => [c, b]));
const utf8 = new TextEncoder();
const EMPTY = new Uint8Array(0);

export class Lfm2Tokenizer {
  /** Length of the token list (highest id + 1). */
  readonly vocabSize: number;
  /** `<|startoftext|>` (1). */
  readonly bosId: number;
  /** `<|im_end|>` (7): the end of an assistant turn. */
  readonly eosId: number;
  /** `<|pad|>` (0), if the file names one. */
  readonly padId: number | undefined;
  /** Looked up by string; undefined if the vocabulary has no `<think>` / `</think>`. */
  readonly thinkStartId: number | undefined;
  readonly thinkEndId: number | undefined;
  readonly toolCallStartId: number | undefined;
  readonly toolCallEndId: number | undefined;
  readonly chatTemplate: string | undefined;
  /** Ids that end generation: eosId, and `<|endoftext|>` (2) as a harmless extra. */
  readonly stopIds: readonly number[];
  /**
   * One entry per embedding row: 1 for ids that may be sampled (NORMAL, CONTROL, USER_DEFINED tokens), 0 for UNUSED
   * padding, unknown tokens, ids with no token, and ids at or beyond the token list.
   */
  readonly sampleable: Uint8Array;
  /** GGUF token type per id (TokenType: 1 NORMAL, 3 CONTROL, 4 USER_DEFINED, 5 UNUSED ...); 0 where no token. */
  readonly tokenTypes: Uint8Array;

  private readonly hf: Tokenizer;
  private readonly tokens: (string | undefined)[];
  private readonly toId: Map<string, number>;
  /** Added tokens recognised in user text (parseSpecial false): the plain (non-special) ones. */
  private readonly userSplitter: AddedSplitter;
  private readonly pieces: (Uint8Array | undefined)[] = [];

  private constructor(p: Parts, opts: Lfm2TokenizerOptions) {
    this.tokens = p.tokens;
    this.tokenTypes = p.tokenTypes;
    this.vocabSize = p.tokens.length;
    // @huggingface/tokenizers throws plain Errors for shapes it cannot build ("Unknown PreTokenizer type"), and some
    // only on first use (a pre-tokenizer regex too large to compile): build it and run a sample through it here.
    try {
      // No post-processor: BOS is added here (encode's addBos), and the library applies a TemplateProcessing even
      // with add_special_tokens false (a template without $A would silently drop the text).
      this.hf = new Tokenizer({ ...p.json, post_processor: null }, {});
      if (this.hf.model && this.hf.pre_tokenizer) this.hf.encode(SAMPLE_TEXT, { add_special_tokens: false });
    } catch (e) {
      throw new FormatError(p.source, '(tokenizer)', `@huggingface/tokenizers cannot use it: ${e instanceof Error ? e.message.slice(0, 200) : describeValue(e)}`);
    }
    const model = this.hf.model;
    if (!model || !this.hf.pre_tokenizer) throw new FormatError(p.source, 'model', '@huggingface/tokenizers built no model or pre-tokenizer');
    this.toId = model.tokens_to_ids;
    checkCoverage(p, this.toId);

    this.bosId = p.bosId;
    this.eosId = p.eosId;
    this.padId = p.padId;
    this.chatTemplate = opts.chatTemplate ?? p.chatTemplate;
    this.thinkStartId = this.tokenToId(THINK_START);
    this.thinkEndId = this.tokenToId(THINK_END);
    this.toolCallStartId = this.tokenToId(TOOL_CALL_START);
    this.toolCallEndId = this.tokenToId(TOOL_CALL_END);
    const eot = this.tokenToId('<|endoftext|>');
    this.stopIds = eot === undefined || eot === this.eosId ? [this.eosId] : [this.eosId, eot];
    this.userSplitter = new AddedSplitter(p.added.filter((a) => !a.special));

    const rows = opts.embeddingRows ?? this.vocabSize;
    if (!(Number.isInteger(rows) && rows > 0)) throw new ConfigError(p.source, 'embeddingRows', `must be a positive integer, got ${rows}`);
    this.sampleable = new Uint8Array(rows);
    for (let id = 0; id < Math.min(rows, this.vocabSize); id++) this.sampleable[id] = isSampleable(p.tokenTypes[id]) ? 1 : 0;
    for (let id = rows; id < this.vocabSize; id++) {
      if (isSampleable(p.tokenTypes[id])) {
        throw new ConfigError(p.source, 'embeddingRows', `${rows} embedding rows, but token ${id} ${JSON.stringify(p.tokens[id])} is a real token`);
      }
    }
  }

  // --- construction ---------------------------------------------------------------------------------------------

  /**
   * From a Hugging Face tokenizer.json and (optionally) its tokenizer_config.json, as text or parsed objects. The
   * config supplies bos/eos/pad (`bos_token` ...), extra added tokens (`added_tokens_decoder`) and `chat_template`.
   */
  static fromJson(tokenizerJson: string | object, tokenizerConfig?: string | object, opts: Lfm2TokenizerOptions = {}): Lfm2Tokenizer {
    const src = 'tokenizer.json';
    const json = parseJsonObject(tokenizerJson, src);
    const config = tokenizerConfig === undefined ? {} : parseJsonObject(tokenizerConfig, 'tokenizer_config.json');

    const model = json.model as Record<string, unknown> | undefined;
    if (!model || typeof model !== 'object') throw new FormatError(src, 'model', 'missing');
    if (model.type !== 'BPE') throw new FormatError(src, 'model.type', `unsupported tokenizer model ${describeValue(model.type)}: LFM2 uses "BPE"`);
    if (model.byte_fallback) throw new FormatError(src, 'model.byte_fallback', 'byte fallback is not supported (LFM2 is byte-level BPE)');
    if (json.normalizer != null) throw new FormatError(src, 'normalizer', 'LFM2 has no normalizer; normalizers are not supported');
    const decoder = json.decoder as { type?: unknown } | null | undefined;
    if (decoder?.type !== 'ByteLevel') throw new FormatError(src, 'decoder.type', `expected "ByteLevel", got ${describeValue(decoder?.type)}`);
    const vocab = model.vocab as Record<string, unknown> | undefined;
    if (!vocab || typeof vocab !== 'object') throw new FormatError(src, 'model.vocab', 'missing');
    if (!Array.isArray(model.merges)) throw new FormatError(src, 'model.merges', 'missing');
    const merges = model.merges.map((m: unknown, i: number): [string, string] => {
      const pair = typeof m === 'string' ? m.split(' ') : m;
      if (!Array.isArray(pair) || pair.length !== 2 || typeof pair[0] !== 'string' || typeof pair[1] !== 'string') {
        throw new FormatError(src, 'model.merges', `entry ${i} ${describeValue(m)} is not "left right" or [left, right]`);
      }
      return [pair[0], pair[1]];
    });

    // Added tokens: tokenizer.json's, plus any that only tokenizer_config.json's added_tokens_decoder lists.
    const toAdded = (a: unknown, file: string, field: string): Added => {
      const o = isPlainObject(a) ? a : {};
      const id = o.id;
      if (!(typeof id === 'number' && Number.isInteger(id) && id >= 0 && id < MAX_TOKEN_ID) || typeof o.content !== 'string' || o.content === '') {
        const got = isPlainObject(a) ? `id ${describeValue(id)}, content ${describeValue(o.content)}` : describeValue(a);
        const Err = file === src ? FormatError : ConfigError;
        throw new Err(file, field, `needs an integer id in 0..${MAX_TOKEN_ID - 1} and a non-empty content, got ${got}`);
      }
      return { id, content: o.content, special: o.special === true, lstrip: o.lstrip === true, rstrip: o.rstrip === true };
    };
    const added: Added[] = Array.isArray(json.added_tokens) ? json.added_tokens.map((a, i) => toAdded(a, src, `added_tokens[${i}]`)) : [];
    const seen = new Map<number, string>(added.map((a) => [a.id, a.content]));
    const atd = config.added_tokens_decoder ?? {};
    if (!isPlainObject(atd)) throw new ConfigError('tokenizer_config.json', 'added_tokens_decoder', `expected an object {id: token}, got ${describeValue(atd)}`);
    for (const [k, v] of Object.entries(atd)) {
      const field = `added_tokens_decoder.${k}`;
      const a = toAdded(isPlainObject(v) ? { ...v, id: /^\d+$/.test(k) ? Number(k) : k } : v, 'tokenizer_config.json', field);
      const have = seen.get(a.id);
      if (have === undefined) added.push(a);
      else if (have !== a.content) {
        throw new ConfigError('tokenizer_config.json', field, `is ${describeValue(a.content)} but tokenizer.json has ${describeValue(have)}`);
      }
    }

    // Token list and types: vocab entries are NORMAL; added tokens overwrite their id (as @huggingface/tokenizers
    // does): special -> CONTROL, plain -> USER_DEFINED. Ids nobody names stay holes (type 0).
    const tokens: (string | undefined)[] = [];
    for (const [s, id] of Object.entries(vocab)) {
      if (!(typeof id === 'number' && Number.isInteger(id) && id >= 0 && id < MAX_TOKEN_ID)) {
        throw new FormatError(src, 'model.vocab', `${describeValue(s)} has id ${describeValue(id)} (expected an integer in 0..${MAX_TOKEN_ID - 1})`);
      }
      tokens[id] = s;
    }
    for (const a of added) tokens[a.id] = a.content;
    const tokenTypes = new Uint8Array(tokens.length);
    for (let id = 0; id < tokens.length; id++) if (tokens[id] !== undefined) tokenTypes[id] = TokenType.NORMAL;
    for (const a of added) tokenTypes[a.id] = a.special ? TokenType.CONTROL : TokenType.USER_DEFINED;

    const byName = (field: string, fallback: string): number | undefined => {
      const v = config[field];
      const s = typeof v === 'string' ? v : v && typeof v === 'object' ? (v as { content?: unknown }).content : undefined;
      const name = typeof s === 'string' ? s : fallback;
      const id = tokens.lastIndexOf(name);
      if (id < 0 && typeof s === 'string') throw new ConfigError('tokenizer_config.json', field, `${JSON.stringify(s)} is not in the vocabulary`);
      return id < 0 ? undefined : id;
    };
    const bosId = byName('bos_token', '<|startoftext|>');
    const eosId = byName('eos_token', '<|im_end|>');
    if (bosId === undefined) throw new ConfigError('tokenizer_config.json', 'bos_token', 'not given, and the vocabulary has no <|startoftext|>');
    if (eosId === undefined) throw new ConfigError('tokenizer_config.json', 'eos_token', 'not given, and the vocabulary has no <|im_end|>');

    return new Lfm2Tokenizer(
      {
        source: src,
        json: { ...json, added_tokens: added.map((a) => ({ ...a, single_word: false, normalized: false })) },
        tokens,
        tokenTypes,
        merges,
        added,
        bosId,
        eosId,
        padId: byName('pad_token', '<|pad|>'),
        chatTemplate: pickChatTemplate(config.chat_template),
      },
      opts,
    );
  }

  /** From a GGUF's metadata (`tokenizer.ggml.model` "gpt2", `tokenizer.ggml.pre` "lfm2"). Throws FormatError naming the key. */
  static fromGguf(file: GgufFile, opts: Lfm2TokenizerOptions = {}): Lfm2Tokenizer {
    const d = readGgufTokenizer(file);
    const added: Added[] = [];
    d.tokenTypes.forEach((t, id) => {
      if (t === TokenType.CONTROL || t === TokenType.UNKNOWN || t === TokenType.USER_DEFINED) {
        added.push({ id, content: d.tokens[id], special: t !== TokenType.USER_DEFINED, lstrip: false, rstrip: false });
      }
    });
    return new Lfm2Tokenizer(
      {
        source: file.name,
        json: ggufToTokenizerJson(d, opts.ignoreMerges ?? false) as Record<string, unknown>,
        tokens: d.tokens,
        tokenTypes: d.tokenTypes,
        merges: d.merges,
        added,
        bosId: d.bosId,
        eosId: d.eosId,
        padId: d.padId,
        chatTemplate: d.chatTemplate,
      },
      opts,
    );
  }

  // --- encoding -------------------------------------------------------------------------------------------------

  /** Token ids of `text`. By default control tokens in the text are not recognised and no BOS is added. */
  encode(text: string, opts: EncodeOptions = {}): number[] {
    const out: number[] = opts.addBos ? [this.bosId] : [];
    if (opts.parseSpecial) {
      for (const id of this.hf.encode(text, { add_special_tokens: false }).ids) out.push(this.checkedId(id, text));
    } else {
      for (const piece of this.userSplitter.split(text)) {
        if (typeof piece === 'number') out.push(piece);
        else this.encodeOrdinary(piece, out);
      }
    }
    return out;
  }

  /** Rendered chat-template text: every added token recognised, no BOS added (the template writes it). */
  encodeTemplate(text: string): number[] {
    return this.encode(text, { parseSpecial: true });
  }

  /**
   * Text as plain text: pre-tokenization and BPE only, no added token recognised, not even the plain ones
   * (`<think>`). For user content between the template's own special tokens (src/chat/encode-chat.ts).
   */
  encodePlain(text: string): number[] {
    const out: number[] = [];
    this.encodeOrdinary(text, out);
    return out;
  }

  /** Pre-tokenization and BPE only (no added-token matching): what HF runs between added tokens. */
  private encodeOrdinary(text: string, out: number[]): void {
    if (text === '') return;
    for (const s of this.hf.model!(this.hf.pre_tokenizer!(text))) out.push(this.checkedId(this.toId.get(s), text));
  }

  private checkedId(id: number | undefined, text: string): number {
    // checkCoverage makes this unreachable: every BPE output is a merge result or a byte symbol in the vocabulary.
    if (id === undefined) throw new InputError(`tokenizer produced a token outside the vocabulary while encoding ${JSON.stringify(text.slice(0, 40))}`);
    return id;
  }

  // --- decoding -------------------------------------------------------------------------------------------------

  /** The text of `ids` (decoded as UTF-8 once, so characters split across tokens are whole). */
  decode(ids: readonly number[], opts: DecodeOptions = {}): string {
    const parts: Uint8Array[] = [];
    let n = 0;
    for (const id of ids) {
      if (opts.skipSpecial && this.isSpecial(id)) continue;
      const b = this.pieceBytes(id);
      parts.push(b);
      n += b.length;
    }
    const all = new Uint8Array(n);
    let o = 0;
    for (const b of parts) {
      all.set(b, o);
      o += b.length;
    }
    return new TextDecoder('utf-8', { ignoreBOM: true }).decode(all);
  }

  /** Incremental decode for streaming: concatenated pushes + flush equal decode() of the same ids. */
  createStreamDecoder(opts: DecodeOptions = {}): StreamDecoder {
    const td = new TextDecoder('utf-8', { ignoreBOM: true });
    return {
      push: (id) => (opts.skipSpecial && this.isSpecial(id) ? '' : td.decode(this.pieceBytes(id), { stream: true })),
      flush: () => td.decode(),
    };
  }

  /** The bytes token `id` stands for (cached). */
  pieceBytes(id: number): Uint8Array {
    const cached = this.pieces[id];
    if (cached) return cached;
    const tok = Number.isInteger(id) ? this.tokens[id] : undefined;
    if (tok === undefined) throw new InputError(`token id ${id} is not in the vocabulary (${this.vocabSize} ids)`);
    let b: Uint8Array;
    switch (this.tokenTypes[id]) {
      case TokenType.NORMAL:
        b = byteLevelBytes(tok);
        break;
      case TokenType.UNUSED:
        b = EMPTY;
        break;
      default: // CONTROL, USER_DEFINED, UNKNOWN, BYTE: the text itself, as llama.cpp's token_to_piece
        b = utf8.encode(tok);
    }
    this.pieces[id] = b;
    return b;
  }

  /** Added tokens of any kind: control (`<|im_end|>`), plain (`<think>`, USER_DEFINED in GGUF) and unknown. */
  isAdded(id: number): boolean {
    const t = this.tokenTypes[id];
    return t === TokenType.CONTROL || t === TokenType.USER_DEFINED || t === TokenType.UNKNOWN;
  }

  /** Control (and unknown) tokens: what skipSpecial leaves out. */
  isSpecial(id: number): boolean {
    const t = this.tokenTypes[id];
    return t === TokenType.CONTROL || t === TokenType.UNKNOWN;
  }

  // --- vocabulary -----------------------------------------------------------------------------------------------

  idToToken(id: number): string | undefined {
    return this.tokens[id];
  }

  tokenToId(token: string): number | undefined {
    return this.toId.get(token);
  }
}

// --- helpers ----------------------------------------------------------------------------------------------------

function isSampleable(t: number | undefined): boolean {
  return t === TokenType.NORMAL || t === TokenType.CONTROL || t === TokenType.USER_DEFINED || t === TokenType.BYTE;
}

/** A byte-level token's bytes: each character through the GPT-2 byte map; a token with other characters is raw UTF-8. */
function byteLevelBytes(tok: string): Uint8Array {
  const out: number[] = [];
  for (const c of tok) {
    const b = BYTE_OF_CHAR.get(c);
    if (b === undefined) return utf8.encode(tok);
    out.push(b);
  }
  return Uint8Array.from(out);
}

/**
 * @huggingface/tokenizers silently drops a BPE result that is not in the vocabulary (LFM2 has no unk token), and
 * llama.cpp would fall back to byte tokens; so check up front that this cannot happen: all 256 byte symbols are
 * tokens, and every merge joins two tokens into a token.
 */
function checkCoverage(p: Parts, toId: ReadonlyMap<string, number>): void {
  const fromJson = p.source === 'tokenizer.json';
  const field = fromJson ? 'model.vocab' : 'tokenizer.ggml.tokens';
  for (const [c, b] of BYTE_OF_CHAR) {
    if (!toId.has(c)) throw new FormatError(p.source, field, `no token for byte 0x${b.toString(16).padStart(2, '0')} (${JSON.stringify(c)}): not a byte-level vocabulary`);
  }
  const mfield = fromJson ? 'model.merges' : 'tokenizer.ggml.merges';
  p.merges.forEach(([a, b], i) => {
    for (const s of [a, b, a + b]) {
      if (!toId.has(s)) throw new FormatError(p.source, mfield, `entry ${i} "${a} ${b}": ${JSON.stringify(s)} is not a token`);
    }
  });
}

function parseJsonObject(x: string | object, name: string): Record<string, unknown> {
  let v: unknown = x;
  if (typeof x === 'string') {
    try {
      v = JSON.parse(x);
    } catch (e) {
      throw new FormatError(name, '(json)', `not valid JSON: ${(e as Error).message}`);
    }
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new FormatError(name, '(json)', 'expected a JSON object');
  return v as Record<string, unknown>;
}

/** tokenizer_config `chat_template`: a string, or a list of {name, template} / a record (the "default" one). */
function pickChatTemplate(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (Array.isArray(v)) {
    const named = v.find((t) => t?.name === 'default') ?? v[0];
    return typeof named?.template === 'string' ? named.template : undefined;
  }
  if (v && typeof v === 'object') {
    const d = (v as Record<string, unknown>).default;
    return typeof d === 'string' ? d : undefined;
  }
  return undefined;
}

/**
 * Splits text on a set of added tokens, leftmost-longest (as @huggingface/tokenizers' DictionarySplitter), honouring
 * lstrip/rstrip. Yields token ids for matches and strings for the text between them.
 */
class AddedSplitter {
  private readonly byFirst = new Map<string, Added[]>();

  constructor(tokens: readonly Added[]) {
    for (const t of tokens) {
      const k = t.content[0];
      const list = this.byFirst.get(k) ?? [];
      list.push(t);
      this.byFirst.set(k, list);
    }
    for (const list of this.byFirst.values()) list.sort((a, b) => b.content.length - a.content.length);
  }

  split(text: string): (string | number)[] {
    if (this.byFirst.size === 0) return [text];
    const out: (string | number)[] = [];
    let start = 0;
    let rstripNext = false;
    const pushText = (s: string, lstrip: boolean) => {
      if (rstripNext) s = s.trimStart();
      if (lstrip) s = s.trimEnd();
      rstripNext = false;
      if (s !== '') out.push(s);
    };
    for (let i = 0; i < text.length; ) {
      const m = this.byFirst.get(text[i])?.find((t) => text.startsWith(t.content, i));
      if (!m) {
        i++;
        continue;
      }
      pushText(text.slice(start, i), m.lstrip);
      out.push(m.id);
      rstripNext = m.rstrip;
      i += m.content.length;
      start = i;
    }
    pushText(text.slice(start), false);
    return out;
  }
}
