// Our tokenizer against llama.cpp: token ids of a multilingual corpus for project-made LFM2-layout vocabularies,
// with special-token parsing off (user text) and on (template text), made by golden/tokenizer-golden.ts
// (`npm run golden`). The models are rebuilt from their seeds and their sha256 checked first, so a changed model
// maker reads as "stale goldens", not as a tokenizer bug.
//
// Ids: identical for every string, both modes, with ignore_merges off (our default, as the real tokenizer.json)
// and on (llama.cpp's setting for pre "lfm2").
// Detokenization: llama.cpp's llama_detokenize applies `clean_spaces` for this pre-type (it removes the space in
// " ?", " !", " .", " ,", " ' " and before 's, 'm, 're, 've), which HF also does when a tokenizer_config sets
// clean_up_tokenization_spaces (LiquidAI's does). Our decode is exact, so the test applies llama.cpp's passes
// (llamaCppCleanSpaces below, transcribed from llama_vocab::impl::detokenize) to our text before comparing, and
// checks that the corpus does exercise them.

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  TOKENIZER_CORPUS,
  TOKENIZER_GOLDEN_FILE,
  TOKENIZER_GOLDEN_VERSION,
  TOKENIZER_GOLDEN_VOCAB_SIZES,
  tokenizerGoldenSpec,
  type TokenizerGoldenFile,
} from '../golden/tokenizer-golden.js';
import { bytesSource } from '../reference/bytes.js';
import { concatParts, readGguf } from '../reference/gguf.js';
import { synthGguf, synthModel } from '../src/synth/random-model.js';
import { Lfm2Tokenizer } from '../src/tokenizer/tokenizer.js';

const GOLDEN_DIR = join(import.meta.dirname, '..', 'golden');
const golden = JSON.parse(readFileSync(join(GOLDEN_DIR, TOKENIZER_GOLDEN_FILE), 'utf8')) as TokenizerGoldenFile;
const STALE = 'the tokenizer goldens are stale; run `npm run golden`';

/** llama.cpp's detokenize clean_spaces passes (llama-vocab.cpp), on a string (the bytes it looks at are ASCII). */
function llamaCppCleanSpaces(s: string): string {
  const pass = (text: string, f: (t: string, i: number, out: string[]) => number): string => {
    if (text.length === 0) return text;
    const out = [text[0]];
    for (let i = 1; i < text.length; i++) i = f(text, i, out);
    return out.join('');
  };
  // 1: " ?", " !", " .", " ,": drop the space.
  s = pass(s, (t, i, out) => {
    if (t[i - 1] === ' ' && '?!.,'.includes(t[i])) out.pop();
    out.push(t[i]);
    return i;
  });
  // 2: " ' " -> "'". llama.cpp overwrites the dropped space with NUL in place, so that position no longer reads
  // as a space for the next character ("a ' ' b" -> "a'' b"); `nul` mirrors that.
  let nul = -1;
  s = pass(s, (t, i, out) => {
    if (t[i] === "'" && i + 1 < t.length && t[i - 1] === ' ' && i - 1 !== nul && t[i + 1] === ' ') {
      out.pop();
      out.push(t[i]);
      nul = i + 1;
      return i + 1;
    }
    out.push(t[i]);
    return i;
  });
  // 3: " 's", " 'm", " 're", " 've": drop the space (" 't", " 'd", " 'll" keep it).
  s = pass(s, (t, i, out) => {
    if (t[i - 1] === ' ' && t[i] === "'" && i + 1 < t.length) {
      const x1 = t[i + 1];
      const x2 = i + 2 < t.length ? t[i + 2] : '';
      if (x1 === 's' || x1 === 'm' || ((x1 === 'r' || x1 === 'v') && x2 === 'e')) out.pop();
    }
    out.push(t[i]);
    return i;
  });
  return s;
}

/** Fails with the first differing position, both id lists around it, and the tokens. */
function expectSameIds(ours: number[], theirs: number[], t: Lfm2Tokenizer, label: string): void {
  if (ours.length === theirs.length && ours.every((x, i) => x === theirs[i])) return;
  let i = 0;
  while (i < ours.length && i < theirs.length && ours[i] === theirs[i]) i++;
  const win = (a: number[]) => a.slice(Math.max(0, i - 4), i + 6);
  const show = (a: number[]) => win(a).map((id) => `${id}:${JSON.stringify(t.idToToken(id))}`).join(' ');
  throw new Error(
    `${label}: first difference at position ${i} (ours ${ours.length} ids, llama.cpp ${theirs.length})\n` +
      `  ours      [${win(ours).join(',')}]  ${show(ours)}\n` +
      `  llama.cpp [${win(theirs).join(',')}]  ${show(theirs)}`,
  );
}

describe('tokenizer vs llama.cpp goldens', () => {
  it('the golden file is current: version, corpus and vocabulary sizes', () => {
    expect(golden.formatVersion, STALE).toBe(TOKENIZER_GOLDEN_VERSION);
    expect(golden.corpus, STALE).toEqual(TOKENIZER_CORPUS);
    expect(golden.vocabs.map((v) => v.vocabSize), STALE).toEqual(TOKENIZER_GOLDEN_VOCAB_SIZES);
    expect(JSON.stringify(golden).length).toBeLessThan(100_000);
  });

  for (const g of golden.vocabs) {
    it(`V=${g.vocabSize}: ids equal llama.cpp's for every string, special tokens off and on; decode matches detokenize`, async () => {
      expect(g.spec, STALE).toEqual(tokenizerGoldenSpec(g.vocabSize));
      const gguf = concatParts(synthGguf(synthModel(g.spec), 'F32'));
      const sha = createHash('sha256').update(gguf).digest('hex');
      if (sha !== g.modelSha256) throw new Error(`V=${g.vocabSize}: model sha256 ${sha.slice(0, 12)}… != golden ${g.modelSha256.slice(0, 12)}…: ${STALE}`);
      const file = await readGguf(bytesSource(gguf, `${g.spec.name}.gguf`));

      let cleaned = 0;
      for (const ignoreMerges of [false, true]) {
        const t = Lfm2Tokenizer.fromGguf(file, { ignoreMerges });
        golden.corpus.forEach((text, i) => {
          const label = `V=${g.vocabSize} ignoreMerges=${ignoreMerges} string ${i} ${JSON.stringify(text.slice(0, 60))}`;
          expectSameIds(t.encode(text), g.plain[i], t, `${label} (parse_special off)`);
          expectSameIds(t.encodeTemplate(text), g.special[i], t, `${label} (parse_special on)`);
          const ours = t.decode(g.special[i]);
          expect(ours, label).toBe(text);
          expect(llamaCppCleanSpaces(ours), `${label}: decode vs llama_detokenize`).toBe(g.detok[i]);
          if (!ignoreMerges && ours !== g.detok[i]) cleaned++;
        });
      }
      // The corpus has strings where llama.cpp's clean_spaces changes the text (" ...", " 'single'").
      expect(cleaned).toBeGreaterThan(0);
    });
  }

  it('the corpus exercises what it should: control tokens differ between modes, <think> does not', () => {
    for (const g of golden.vocabs) {
      const i = golden.corpus.indexOf('<think>Two plus two is four.</think> 2 + 2 = 4.<|im_end|>');
      const thinkId = 14 + 256 + (g.vocabSize === 512 ? 240 : 459);
      for (const ids of [g.plain[i], g.special[i]]) expect(ids).toContain(thinkId); // USER_DEFINED: both modes
      expect(g.plain[i]).not.toContain(7);
      expect(g.special[i]).toContain(7);
      const pad = golden.corpus.indexOf('<|pad_0|> and <|pad_3|> are padding, <|pad|> is not');
      expect(g.special[pad]).toContain(0); // <|pad|> is CONTROL; <|pad_N|> (UNUSED) stays text
      expect(g.special[pad].filter((id) => id >= 14 + 256 + 459 + 2)).toEqual([]);
    }
  });

  it('llamaCppCleanSpaces follows llama.cpp', () => {
    expect(llamaCppCleanSpaces('Hello ! I \'m here .')).toBe("Hello! I'm here.");
    expect(llamaCppCleanSpaces("What 's that ?")).toBe("What's that?");
    expect(llamaCppCleanSpaces("a ' b 't 'll 're 've 'd")).toBe("a'b 't 'll're've 'd");
    expect(llamaCppCleanSpaces("a ' ' b")).toBe("a'' b"); // the second "' " no longer follows a space
    expect(llamaCppCleanSpaces('')).toBe('');
  });
});
