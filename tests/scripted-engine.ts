// A test double for Engine: its logits favour the token a script chooses from the history, so generation logic
// (phases, budgets, tool calls, stop strings, loop guard) can be tested on exact token sequences. The real
// models are exercised in generate-model.test.ts.

import type { Engine, EngineSnapshot } from '../src/engine/types.js';
import type { GenerationTokenizer } from '../src/generate/generate.js';

/** The script: given every id fed so far after the prompt, the id to favour next. */
export type Script = (generated: readonly number[]) => number;

export function scriptedEngine(vocabSize: number, script: Script, contextLength = 4096): Engine & { fed: number[][] } {
  let history: number[] = []; // ids fed since the last reset, prompt included
  let promptLength = 0;
  const fed: number[][] = [];
  const logitsFor = () => {
    const l = new Float32Array(vocabSize);
    l[script(history.slice(promptLength))] = 20;
    return l;
  };
  return {
    kind: 'scripted',
    description: 'scripted (a test double)',
    vocabSize,
    contextLength,
    fed,
    get position() {
      return history.length;
    },
    async prefill(tokens) {
      fed.push([...tokens]);
      for (const t of tokens) history.push(t);
      promptLength = history.length; // prefill is only ever given (the rest of) a prompt
      return logitsFor();
    },
    async decode(token) {
      history.push(token);
      return logitsFor();
    },
    async reset() {
      history = [];
      promptLength = 0;
    },
    async save() {
      return { position: history.length, history: [...history], promptLength } as EngineSnapshot;
    },
    async restore(s) {
      const snap = s as unknown as { history: number[]; promptLength: number };
      history = [...snap.history];
      promptLength = snap.promptLength;
    },
    async dispose() {},
  };
}

/**
 * A toy tokenizer for the scripted engine: ids 0..9 are special markers, 10.. are single characters of
 * `alphabet`. Enough for generation's needs (stream decoding, special ids).
 */
export const TOY = { pad: 0, bos: 1, eos: 7, think: 3, unthink: 4, toolStart: 5, toolEnd: 6, im_start: 8 } as const;
export function toyTokenizer(alphabet: string): GenerationTokenizer & { encode(s: string): number[]; vocabSize: number } {
  const chars = Array.from(alphabet);
  const vocabSize = 10 + chars.length;
  const sampleable = new Uint8Array(vocabSize).fill(1);
  sampleable[TOY.pad] = 0;
  return {
    vocabSize,
    eosId: TOY.eos,
    stopIds: [TOY.eos, 2],
    thinkStartId: TOY.think,
    thinkEndId: TOY.unthink,
    toolCallStartId: TOY.toolStart,
    toolCallEndId: TOY.toolEnd,
    sampleable,
    encode: (s) =>
      Array.from(s, (c) => {
        const i = chars.indexOf(c);
        if (i < 0) throw new Error(`toy tokenizer: no token for ${JSON.stringify(c)}`);
        return 10 + i;
      }),
    createStreamDecoder: () => ({ push: (id: number) => (id >= 10 ? chars[id - 10] : ''), flush: () => '' }),
    decode: (ids: readonly number[]) => ids.map((id) => (id >= 10 ? chars[id - 10] : '')).join(''),
  };
}
