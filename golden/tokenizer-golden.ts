// llama.cpp's tokenization of a multilingual corpus, for project-made LFM2-layout vocabularies: the independent
// check on src/tokenizer/ (tests/tokenizer-golden.test.ts).
//
// For each vocabulary size in TOKENIZER_GOLDEN_VOCAB_SIZES: build a tiny seeded model with that vocabulary
// (tokenizerGoldenSpec: the first golden shape with vocab_size changed), write it as an F32 GGUF, load it in
// llama.cpp through node-llama-cpp (vocab only), and record for every corpus string
//   plain    LlamaModel.tokenize(text, false) = common_tokenize(vocab, text, add_special=false, parse_special=false)
//   special  LlamaModel.tokenize(text, true)  = the same with parse_special=true
//   detok    LlamaModel.detokenize(special, true) = llama_detokenize(..., remove_special=false, unparse_special=true)
// The manifest keeps each model's sha256, so a change to the model maker reads as "stale goldens", not as a
// tokenizer bug. Written to golden/tokenizer/llamacpp-tokens.json (about 60 KB).

import { createHash } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { concatParts } from '../reference/gguf.js';
import { synthGguf, synthModel, type SynthSpec } from '../src/synth/random-model.js';
import { GOLDEN_SHAPES } from './cases.js';
import { goldenDeps, NODE_LLAMA_CPP_VERSION } from './deps.js';

/** Bump when the file layout changes; the test refuses other versions. */
export const TOKENIZER_GOLDEN_VERSION = 1;
export const TOKENIZER_GOLDEN_FILE = 'tokenizer/llamacpp-tokens.json';

/** 512: 240 merges, no padding. 4000: every merge the built-in corpus gives (459), then UNUSED padding. */
export const TOKENIZER_GOLDEN_VOCAB_SIZES = [512, 4000];

export function tokenizerGoldenSpec(vocabSize: number): SynthSpec {
  return { ...GOLDEN_SHAPES[0], name: `tok-v${vocabSize}`, vocab_size: vocabSize };
}

/** The strings tokenized: scripts, emoji sequences, code, whitespace, numbers, contractions, special tokens. */
export const TOKENIZER_CORPUS: readonly string[] = [
  'Hello world',
  'The quick brown fox jumps over the lazy dog. The model thinks before it answers.',
  "It's what they're saying: we've seen it, I'm sure, you'll see, he'd agree. Don't stop.",
  "IT'S THEY'RE WE'VE I'M YOU'LL HE'D DON'T 'S 'RE 'Ll 'dD",
  "long s and kelvin: it'ſ, it'\u212A",
  'Der schnelle braune Fuchs springt über den faulen Hund. Les modèles répondent en français.',
  '人工知能は言語を理解します。我们正在测试分词器。',
  '日本語のテキスト、カタカナとひらがな「引用」。',
  'النموذج يفكر ثم يجيب. مرحبا بالعالم!',
  '한국어 문장도 있습니다. 안녕하세요?',
  'हिन्दी में पाठ और ภาษาไทย',
  'e\u0301 café naïve cafe\u0301',
  '👨‍👩‍👧‍👦 family 👍🏽 thumbs 🇫🇷 flag 1️⃣ keycap 🏳️‍🌈 rainbow 😀😃😄',
  '🧑🏿‍🚀🧑🏻‍🔬👩‍❤️‍💋‍👨',
  '𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𝟘𝟙𝟚 ①②③ Ⅻ ４５６ ½',
  'function forward(tokens) { return tokens.map((t) => embed[t]); }  // comment',
  'for (let i = 0; i < n; i++) {\n    sum += a[i] * b[i];\n}\n\nreturn sum;\n',
  'def f(x):\n\tif x:\n\t\treturn x  # tab-indented\n',
  '{"temperature": 21, "sky": "clear", "list": [1, 2, 3]}',
  'Numbers: 1234567, 3.14159, 2026-11-22, 1,000,000 and 0.5% 12345678901234567890',
  'abc123def 4x4 v2.0.1 x86_64',
  '   leading spaces',
  'trailing spaces   ',
  'a  b   c    d     e',
  ' ',
  'x',
  'tabs\tand\t\ttabs\t',
  'windows\r\nline\r\nendings\r\n',
  '\n\n\n',
  ' \n \n \t\r\n\r\n  ',
  'nbsp\u00a0here nel\u0085here bom\ufeffhere zwsp\u200bhere ideographic\u3000space',
  'controls \u0000 nul \u0007 bell \u007f del',
  '!!! ??? ... --- *** ### @@@ ~~~',
  '"quoted" \'single\' `back` «guillemets» „low“',
  "clean-up bait: Hello ! I 'm here . What 's that ? a ' b ' ' c 't 'll 're 've 'd , ok",
  'a'.repeat(120),
  '<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n',
  '<|startoftext|><|im_start|>system\nYou are helpful.<|im_end|>\n',
  '<think>Two plus two is four.</think> 2 + 2 = 4.<|im_end|>',
  '<|tool_call_start|>[get_weather(city="Paris", unit="celsius")]<|tool_call_end|>',
  'almost special: <|im_end| <im_end|> <|im_end|>> <<|im_end|> <|IM_END|>',
  '<|pad_0|> and <|pad_3|> are padding, <|pad|> is not',
  'x<think>y</think>z<|endoftext|>w',
];

export interface TokenizerGoldenVocab {
  vocabSize: number;
  spec: SynthSpec;
  /** sha256 (hex) and size of the F32 GGUF our model maker wrote (llama.cpp read its vocabulary). */
  modelSha256: string;
  modelBytes: number;
  /** Per corpus string. */
  plain: number[][];
  special: number[][];
  detok: string[];
}

export interface TokenizerGoldenFile {
  formatVersion: number;
  generator: { package: string; llamaCppRelease: string; calls: Record<string, string> };
  regenerate: string;
  corpus: string[];
  vocabs: TokenizerGoldenVocab[];
}

export async function makeTokenizerGolden(goldenDir: string): Promise<TokenizerGoldenFile> {
  const deps = await goldenDeps();
  const { getLlama, LlamaLogLevel } = await deps.importPkg('node-llama-cpp');
  const llama = await getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error, usePrebuiltBinaries: true });
  const tmp = join(tmpdir(), `lfm-tokgolden-${process.pid}`);
  mkdirSync(tmp, { recursive: true });
  const vocabs: TokenizerGoldenVocab[] = [];
  try {
    for (const V of TOKENIZER_GOLDEN_VOCAB_SIZES) {
      const spec = tokenizerGoldenSpec(V);
      const gguf = concatParts(synthGguf(synthModel(spec), 'F32'));
      const path = join(tmp, `${spec.name}.gguf`);
      writeFileSync(path, gguf);
      const lm = await llama.loadModel({ modelPath: path, gpuLayers: 0, vocabOnly: true });
      const plain: number[][] = [];
      const special: number[][] = [];
      const detok: string[] = [];
      for (const text of TOKENIZER_CORPUS) {
        plain.push(Array.from(lm.tokenize(text, false) as ArrayLike<number>));
        const sp = Array.from(lm.tokenize(text, true) as ArrayLike<number>);
        special.push(sp);
        detok.push(lm.detokenize(sp, true));
      }
      await lm.dispose();
      vocabs.push({ vocabSize: V, spec, modelSha256: sha256(gguf), modelBytes: gguf.byteLength, plain, special, detok });
      process.stderr.write(`golden: tokenizer ${spec.name} (${TOKENIZER_CORPUS.length} strings)\n`);
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
    await llama.dispose?.();
  }
  const out: TokenizerGoldenFile = {
    formatVersion: TOKENIZER_GOLDEN_VERSION,
    generator: {
      package: `node-llama-cpp@${NODE_LLAMA_CPP_VERSION} (${deps.binaryPackage})`,
      llamaCppRelease: deps.llamaCppRelease,
      calls: {
        plain: 'LlamaModel.tokenize(text, false) = common_tokenize(vocab, text, add_special=false, parse_special=false)',
        special: 'LlamaModel.tokenize(text, true) = common_tokenize(vocab, text, add_special=false, parse_special=true)',
        detok: 'LlamaModel.detokenize(special, true) = llama_detokenize(vocab, ids, remove_special=false, unparse_special=true)',
      },
    },
    regenerate: 'npm run golden',
    corpus: [...TOKENIZER_CORPUS],
    vocabs,
  };
  mkdirSync(join(goldenDir, 'tokenizer'), { recursive: true });
  // Indented, with each id list on one line (readable diffs when the goldens change). The lists travel as
  // placeholder strings through JSON.stringify, so the corpus text itself is never touched.
  const IDS = '\u0001ids';
  const text = JSON.stringify(out, (_, v) => (Array.isArray(v) && v.every((x) => typeof x === 'number') ? IDS + JSON.stringify(v) : v), 1).replace(
    /"\\u0001ids(\[[-\d,]*\])"/g,
    '$1',
  );
  if (JSON.stringify(JSON.parse(text)) !== JSON.stringify(out)) throw new Error('tokenizer golden: the compact JSON does not read back as written');
  writeFileSync(join(goldenDir, TOKENIZER_GOLDEN_FILE), text + '\n');
  return out;
}

function sha256(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}
