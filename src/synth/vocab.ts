// A small byte-level BPE vocabulary with the LFM2 layout, for seeded test models.
//
// The real 65,536-token tokenizer.json is not available here, and random-weight models do not need it; they do
// need a tokenizer llama.cpp accepts (`tokenizer.ggml.model = "gpt2"`, `pre = "lfm2"`). This one has:
//   ids 0..13   the LFM2 control tokens with their real names and ids (<|pad|>=0, <|startoftext|>=1, <|im_end|>=7, ...)
//   next 256    the GPT-2 byte symbols (bytes_to_unicode), so every UTF-8 string can be encoded
//   then        tokens from BPE merges trained on a small built-in multilingual corpus (deterministic)
//   then        <think>, </think> (as LFM2.5 has them right after its vocabulary)
//   then        padding up to the requested size with unused `<|pad_N|>` entries (the real GGUF also pads its
//               token list to the 65,536 embedding rows)

/** GGUF token types (llama.cpp llama_token_type). */
export const TokenType = { NORMAL: 1, UNKNOWN: 2, CONTROL: 3, USER_DEFINED: 4, UNUSED: 5, BYTE: 6 } as const;

/** LFM2's control tokens, ids 0..13 (spec §1.4). */
export const LFM2_CONTROL_TOKENS = [
  '<|pad|>', '<|startoftext|>', '<|endoftext|>', '<|fim_pre|>', '<|fim_mid|>', '<|fim_suf|>', '<|im_start|>',
  '<|im_end|>', '<|tool_list_start|>', '<|tool_list_end|>', '<|tool_call_start|>', '<|tool_call_end|>',
  '<|tool_response_start|>', '<|tool_response_end|>',
] as const;

/** GPT-2's byte -> printable unicode mapping: printable bytes map to themselves, the other 68 to U+0100 onward. */
export function bytesToUnicode(): string[] {
  const keep: number[] = [];
  for (let b = 33; b <= 126; b++) keep.push(b);
  for (let b = 161; b <= 172; b++) keep.push(b);
  for (let b = 174; b <= 255; b++) keep.push(b);
  const map: string[] = new Array(256);
  let n = 0;
  for (let b = 0; b < 256; b++) map[b] = keep.includes(b) ? String.fromCodePoint(b) : String.fromCodePoint(256 + n++);
  return map;
}

/** The LFM2 (Llama-3) pre-tokenizer split regex, with `(?i:...)` spelled out for JS (spec §8). */
export const LFM2_SPLIT_REGEX =
  /(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+/gu;

/** Built-in training text: a few languages, code and whitespace, so merges are not all English. */
const CORPUS = [
  'The quick brown fox jumps over the lazy dog. The model thinks before it answers, then it answers.',
  'In the beginning there was the word, and the word was a token, and the token was a number.',
  "It's what they're saying: we've seen it, I'm sure, you'll see, he'd agree. Don't stop the thinking.",
  'function forward(tokens) { return tokens.map((t) => embed[t]); }  // the oracle reads top to bottom',
  'for (let i = 0; i < n; i++) {\n    sum += a[i] * b[i];\n}\n\nreturn sum;\n',
  'Der schnelle braune Fuchs springt über den faulen Hund. Les modèles de langage répondent en français.',
  '人工知能は言語を理解します。我们正在测试分词器。한국어 문장도 있습니다. النموذج يفكر ثم يجيب.',
  'Numbers: 12345, 3.14159, 2026-11-22, 1,000,000 tokens per second? Not yet!   Spaces   and\ttabs.',
  'User: What is 2+2?\nAssistant: <think>Two plus two is four.</think> 2 + 2 = 4.',
  'get_weather(city="Paris", unit="celsius") returned {"temperature": 21, "sky": "clear"}.',
].join('\n');

export interface Vocab {
  tokens: string[];
  tokenTypes: number[];
  /** "left right" pairs in rank order, as GGUF `tokenizer.ggml.merges` stores them. */
  merges: string[];
  bos: number;
  eos: number;
  pad: number;
}

/** Trains up to `nMerges` BPE merges on the built-in corpus; ties break on the lexically smaller pair. */
function trainMerges(nMerges: number): string[] {
  const b2u = bytesToUnicode();
  const enc = new TextEncoder();
  const counts = new Map<string, number>();
  for (const m of CORPUS.match(LFM2_SPLIT_REGEX) ?? []) {
    const w = Array.from(enc.encode(m), (b) => b2u[b]).join('\u0000');
    counts.set(w, (counts.get(w) ?? 0) + 1);
  }
  let words = [...counts].map(([w, c]) => ({ syms: w.split('\u0000'), c }));
  const merges: string[] = [];
  while (merges.length < nMerges) {
    const pairs = new Map<string, number>();
    for (const { syms, c } of words) {
      for (let i = 0; i + 1 < syms.length; i++) {
        const k = `${syms[i]} ${syms[i + 1]}`;
        pairs.set(k, (pairs.get(k) ?? 0) + c);
      }
    }
    let best: string | null = null;
    let bestN = 0;
    for (const [k, n] of pairs) if (n > bestN || (n === bestN && best !== null && k < best)) [best, bestN] = [k, n];
    if (best === null) break; // every word is a single symbol: the corpus has no more merges to give
    merges.push(best);
    const [a, b] = best.split(' ');
    words = words.map(({ syms, c }) => {
      const out: string[] = [];
      for (let i = 0; i < syms.length; i++) {
        if (i + 1 < syms.length && syms[i] === a && syms[i + 1] === b) {
          out.push(a + b);
          i++;
        } else out.push(syms[i]);
      }
      return { syms: out, c };
    });
  }
  return merges;
}

/**
 * A vocabulary of exactly `size` tokens (size >= 272): control tokens, byte symbols, up to `maxMerges` merged
 * tokens, <think>/</think>, then unused padding.
 */
export function makeVocab(size: number, maxMerges = 2000): Vocab {
  const fixed = LFM2_CONTROL_TOKENS.length + 256 + 2;
  if (size < fixed) throw new RangeError(`vocabulary size ${size} is below the ${fixed} fixed tokens`);
  const tokens: string[] = [...LFM2_CONTROL_TOKENS];
  const tokenTypes: number[] = tokens.map(() => TokenType.CONTROL);
  for (const s of bytesToUnicode()) {
    tokens.push(s);
    tokenTypes.push(TokenType.NORMAL);
  }
  const merges = trainMerges(Math.min(maxMerges, size - fixed));
  for (const m of merges) {
    tokens.push(m.replace(' ', ''));
    tokenTypes.push(TokenType.NORMAL);
  }
  tokens.push('<think>', '</think>');
  tokenTypes.push(TokenType.USER_DEFINED, TokenType.USER_DEFINED);
  for (let i = 0; tokens.length < size; i++) {
    tokens.push(`<|pad_${i}|>`);
    tokenTypes.push(TokenType.UNUSED);
  }
  return { tokens, tokenTypes, merges, bos: 1, eos: 7, pad: 0 };
}
