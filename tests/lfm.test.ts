// End to end on real (tiny, seeded) models: loadLfm -> chat / chat.completions.create, through the real
// tokenizer, chat template, sampler and oracle engine. The weights are random, so the tests check behaviour that
// does not depend on what the text says: reproducibility, limits, streaming == non-streamed, reuse == cold.

import { beforeAll, describe, expect, it } from 'vitest';
import { bytesSource, memoryFileSet } from '../reference/bytes.js';
import { InputError } from '../reference/errors.js';
import { concatParts } from '../reference/gguf.js';
import { loadModel } from '../reference/load.js';
import type { ChatMessage } from '../src/chat/types.js';
import { referenceEngine } from '../src/engine/reference-engine.js';
import { createLfm, loadLfm, THINKING_DEFAULTS, type ChatEvent, type ChatResult, type Lfm } from '../src/lfm.js';
import { SSE_DONE, toSSE, type ChatCompletion, type ChatCompletionChunk } from '../src/openai.js';
import { synthGguf, synthHfFolder, synthModel, type SynthSpec } from '../src/synth/random-model.js';
import { TINY_SHAPES } from '../src/synth/shapes.js';
import { vocabToTokenizerConfig, vocabToTokenizerJson } from '../src/synth/tokenizer-json.js';
import { scriptedEngine } from './scripted-engine.js';

const SPEC: SynthSpec = TINY_SHAPES[0]; // tiny-gqa4: conv + attention, V = 300
const gguf = concatParts(synthGguf(synthModel(SPEC), 'F32'));
const USER: ChatMessage[] = [{ role: 'user', content: 'What is 2+2?' }];
const SAMPLED = { temperature: 0.9, top_k: 50, seed: 1234, max_tokens: 24, loop_guard: { enabled: false } };

let lfm: Lfm;
beforeAll(async () => {
  // Pinned to the reference engine: these tests are about the API; the WASM engine has its own block below.
  lfm = await loadLfm({ gguf: bytesSource(gguf, 'tiny.gguf') }, { engine: 'reference' });
});

async function collect(stream: AsyncIterable<ChatEvent>): Promise<{ events: ChatEvent[]; result: ChatResult }> {
  const events: ChatEvent[] = [];
  for await (const e of stream) events.push(e);
  const done = events.at(-1)!;
  if (done.type !== 'done') throw new Error('no done event');
  return { events, result: done.result };
}

describe('loadLfm + chat on a tiny random model', () => {
  it('uses the Thinking model card defaults and the built-in template when the file has none', () => {
    expect(lfm.defaults).toEqual(THINKING_DEFAULTS);
    expect(lfm.template).toBeNull();
    expect(lfm.render(USER).text).toBe('<|startoftext|><|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n');
    expect(lfm.render(USER).tokens.slice(0, 2)).toEqual([1, 6]); // <|startoftext|> <|im_start|>, parsed as specials
  });

  it('a seed gives bit-identical output; another seed gives another', async () => {
    const a = await lfm.chat(USER, SAMPLED).result();
    const b = await lfm.chat(USER, SAMPLED).result();
    const c = await lfm.chat(USER, { ...SAMPLED, seed: 99 }).result();
    expect(a.tokens).toEqual(b.tokens);
    expect(a.answer + a.reasoning).toBe(b.answer + b.reasoning);
    expect(c.tokens).not.toEqual(a.tokens);
  });

  it('streamed chunks concatenate to the final result', async () => {
    const { events, result } = await collect(lfm.chat(USER, SAMPLED));
    const join = (t: string) => events.flatMap((e) => (e.type === t ? [(e as { text: string }).text] : [])).join('');
    expect(join('answer')).toBe(result.answer);
    expect(join('reasoning')).toBe(result.reasoning);
    expect(result.message).toMatchObject({ role: 'assistant', content: result.answer });
  });

  it('max_tokens ends with length', async () => {
    const r = await lfm.chat(USER, { ...SAMPLED, max_tokens: 7 }).result();
    expect(r.finish_reason).toBe('length');
    expect(r.usage.completion_tokens).toBe(7);
  });

  it('an abort between tokens ends with abort', async () => {
    const ac = new AbortController();
    let n = 0;
    const events: ChatEvent[] = [];
    for await (const e of lfm.chat(USER, { ...SAMPLED, max_tokens: 200, signal: ac.signal })) {
      events.push(e);
      if (e.type !== 'done' && ++n === 3) ac.abort();
    }
    const done = events.at(-1) as Extract<ChatEvent, { type: 'done' }>;
    expect(done.result.finish_reason).toBe('abort');
    expect(done.result.usage.completion_tokens).toBeLessThan(20);
  });

  it('a stop string taken from an earlier run ends the same run there', async () => {
    const free = await lfm.chat(USER, { ...SAMPLED, max_tokens: 40 }).result();
    const text = free.answer;
    expect(text.length).toBeGreaterThan(12);
    const stop = text.slice(6, 9);
    const cut = await lfm.chat(USER, { ...SAMPLED, max_tokens: 40, stop }).result();
    expect(cut.finish_reason).toBe('stop');
    expect(cut.answer).toBe(text.slice(0, text.indexOf(stop)));
  });

  it('greedy decoding of a random model falls into a cycle: the loop guard ends it', async () => {
    const r = await lfm.chat(USER, { temperature: 0, max_tokens: 1000 }).result();
    expect(r.finish_reason).toBe('loop');
    expect(r.usage.completion_tokens).toBeLessThan(300);
  });

  it('a reasoning budget closes the reasoning (template that pre-opens <think>)', async () => {
    const model = await loadModel({ gguf: bytesSource(gguf, 'tiny.gguf') });
    const opening = "{{ bos_token }}{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}<|im_start|>assistant\n<think>";
    const thinking = createLfm('tiny', referenceEngine(model), lfm.tokenizer, opening, THINKING_DEFAULTS);
    const r = await thinking.chat(USER, { ...SAMPLED, max_tokens: 30, reasoning_budget: 6 }).result();
    expect(r.usage.reasoning_tokens).toBe(6);
    expect(r.tokens[6]).toBe(lfm.tokenizer.thinkEndId); // inserted right after the 6 reasoning tokens
    expect(r.reasoning.length).toBeGreaterThan(0);
  });

  it("multi-turn: reusing the previous turn's state gives the same tokens as a cold run", async () => {
    const t1 = await lfm.chat(USER, SAMPLED).result();
    const history: ChatMessage[] = [...USER, t1.message, { role: 'user', content: 'And 3+3?' }];
    const warm = await lfm.chat(history, SAMPLED).result();
    expect(warm.usage.cached_prompt_tokens).toBeGreaterThan(0);
    const cold = await loadLfm({ gguf: bytesSource(gguf, 'tiny.gguf') }, { engine: 'reference' });
    const coldResult = await cold.chat(history, SAMPLED).result();
    expect(coldResult.usage.cached_prompt_tokens).toBe(0);
    expect(warm.tokens).toEqual(coldResult.tokens);
  });

  it('never samples ids beyond the real vocabulary (padding rows of the embedding)', async () => {
    const spec: SynthSpec = { ...SPEC, name: 'padded', vocab_size: 1024 }; // ~730 real tokens + UNUSED padding
    const padded = await loadLfm({ gguf: bytesSource(concatParts(synthGguf(synthModel(spec), 'F32')), 'padded.gguf') }, { engine: 'reference' });
    const real = padded.tokenizer.sampleable;
    expect(real.length).toBe(1024);
    const firstPad = real.indexOf(0, 14);
    expect(firstPad).toBeGreaterThan(600);
    const r = await padded.chat(USER, { temperature: 50, seed: 5, max_tokens: 300, loop_guard: { enabled: false } }).result();
    expect(r.tokens.every((t) => real[t] === 1)).toBe(true);
  });

  it('rejects a prompt longer than the context with an InputError at the call, naming the sizes', () => {
    const huge: ChatMessage[] = [{ role: 'user', content: 'word '.repeat(5000) }];
    expect(() => lfm.chat(huge)).toThrow(InputError); // like a bad message: before any generation
    expect(() => lfm.chat(huge)).toThrow(/the conversation takes \d+ tokens, leaving no room for an answer in the context of 4096 tokens/);
  });

  it('loads the same model from an HF folder (tokenizer.json) with the same output', async () => {
    const synth = synthModel(SPEC);
    const folder = {
      ...synthHfFolder(synth),
      'tokenizer.json': JSON.stringify(vocabToTokenizerJson(synth.vocab)),
      'tokenizer_config.json': JSON.stringify(vocabToTokenizerConfig(synth.vocab)),
    };
    const hf = await loadLfm({ hf: memoryFileSet(folder, 'tiny-hf') }, { engine: 'reference' });
    const a = await hf.chat(USER, SAMPLED).result();
    const b = await lfm.chat(USER, SAMPLED).result();
    expect(a.tokens).toEqual(b.tokens);
  });
});

describe('loadLfm with the WASM engine', () => {
  it('gives the same seeded tokens as the reference engine (f32 weights and KV cache), and multi-turn reuse == cold', async () => {
    const wasm = await loadLfm({ gguf: bytesSource(gguf, 'tiny.gguf') }, { engine: 'wasm', wasm: { weights: 'f32', kvCache: 'f32' } });
    expect(wasm.engine.kind).toBe('wasm');
    const a = await wasm.chat(USER, SAMPLED).result();
    const b = await lfm.chat(USER, SAMPLED).result();
    expect(a.tokens).toEqual(b.tokens);
    const history: ChatMessage[] = [...USER, a.message, { role: 'user', content: 'And 3+3?' }];
    const warm = await wasm.chat(history, SAMPLED).result();
    expect(warm.usage.cached_prompt_tokens).toBeGreaterThan(0);
    const cold = await loadLfm({ gguf: bytesSource(gguf, 'tiny.gguf') }, { engine: 'wasm', wasm: { weights: 'f32', kvCache: 'f32' } });
    expect((await cold.chat(history, SAMPLED).result()).tokens).toEqual(warm.tokens);
  });

  it("is the default ('auto') where WebAssembly SIMD compiles, as here", async () => {
    const auto = await loadLfm({ gguf: bytesSource(gguf, 'tiny.gguf') });
    expect(auto.engine.kind).toBe('wasm');
    const r = await auto.chat(USER, SAMPLED).result();
    expect(r.usage.completion_tokens).toBeGreaterThan(0);
  });

  it('an unknown engine is an InputError', async () => {
    await expect(loadLfm({ gguf: bytesSource(gguf, 'tiny.gguf') }, { engine: 'gpu' as never })).rejects.toThrow(/unknown engine "gpu"/);
  });
});

describe('chat.completions.create (OpenAI shapes)', () => {
  it('non-streamed: message, finish_reason and usage', async () => {
    const r = (await lfm.chat.completions.create({ messages: USER, ...SAMPLED })) as ChatCompletion;
    expect(r.object).toBe('chat.completion');
    expect(r.choices[0].message.role).toBe('assistant');
    expect(r.choices[0].finish_reason).toBe('length');
    expect(r.usage.total_tokens).toBe(r.usage.prompt_tokens + r.usage.completion_tokens);
    expect(r.usage.completion_tokens).toBe(24);
  });

  it('streamed chunks concatenate to the non-streamed message; SSE framing', async () => {
    const whole = (await lfm.chat.completions.create({ messages: USER, ...SAMPLED })) as ChatCompletion;
    const chunks: ChatCompletionChunk[] = [];
    for await (const c of await lfm.chat.completions.create({ messages: USER, ...SAMPLED, stream: true, stream_options: { include_usage: true } })) chunks.push(c);
    const content = chunks.map((c) => c.choices[0]?.delta.content ?? '').join('');
    const reasoning = chunks.map((c) => c.choices[0]?.delta.reasoning_content ?? '').join('');
    expect(content).toBe(whole.choices[0].message.content ?? '');
    expect(reasoning).toBe(whole.choices[0].message.reasoning_content ?? '');
    expect(chunks[0].choices[0].delta.role).toBe('assistant');
    expect(chunks.at(-2)!.choices[0].finish_reason).toBe('length');
    expect(chunks.at(-1)!.usage!.completion_tokens).toBe(24);
    expect(toSSE(chunks[1])).toMatch(/^data: \{.*\}\n\n$/);
    expect(SSE_DONE).toBe('data: [DONE]\n\n');
  });

  it('tool calls come back as OpenAI tool_calls with JSON arguments (scripted engine, real tokenizer)', async () => {
    const tk = lfm.tokenizer;
    const script = [tk.toolCallStartId!, ...tk.encode('[get_weather(city="Paris", days=2)]'), tk.toolCallEndId!, tk.eosId];
    const engine = scriptedEngine(tk.sampleable.length, (g) => script[g.length] ?? tk.eosId);
    const tooling = createLfm('scripted', engine, tk, null, { temperature: 0 });
    const tools = [{ type: 'function' as const, function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' }, days: { type: 'integer' } }, required: ['city'] } } }];
    const r = (await tooling.chat.completions.create({ messages: USER, tools })) as ChatCompletion;
    expect(r.choices[0].finish_reason).toBe('tool_calls');
    expect(r.choices[0].message.content).toBeNull();
    expect(r.choices[0].message.tool_calls).toEqual([{ id: 'call_0', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris","days":2}' } }]);
    // The tools were written into the prompt by the template.
    expect(tooling.render(USER, { tools }).text).toContain('List of tools: [{"type": "function"');
  });

  it("finish_reason takes only OpenAI's values; the finer reason is in lfm_finish_reason", async () => {
    const loop = (await lfm.chat.completions.create({ messages: USER, temperature: 0, max_tokens: 1000 })) as ChatCompletion;
    expect(loop.choices[0]).toMatchObject({ finish_reason: 'length', lfm_finish_reason: 'loop' });
    const ac = new AbortController();
    ac.abort();
    const aborted = (await lfm.chat.completions.create({ messages: USER, ...SAMPLED, signal: ac.signal })) as ChatCompletion;
    expect(aborted.choices[0]).toMatchObject({ finish_reason: 'stop', lfm_finish_reason: 'abort' });
    const chunks: ChatCompletionChunk[] = [];
    for await (const c of await lfm.chat.completions.create({ messages: USER, temperature: 0, max_tokens: 1000, stream: true })) chunks.push(c);
    expect(chunks.at(-1)!.choices[0]).toMatchObject({ finish_reason: 'length', lfm_finish_reason: 'loop' });
    const allowed = new Set(['stop', 'length', 'tool_calls', 'content_filter', null]);
    expect(chunks.every((c) => allowed.has(c.choices[0].finish_reason))).toBe(true);
  });

  it('model is the served model whatever the request named; system_fingerprint names the engine', async () => {
    const r = (await lfm.chat.completions.create({ messages: USER, ...SAMPLED, model: 'gpt-4o' })) as ChatCompletion;
    expect(r.model).toBe(lfm.name);
    expect(r.system_fingerprint).toBe('lfm.ts-reference');
    for await (const c of await lfm.chat.completions.create({ messages: USER, ...SAMPLED, model: 'gpt-4o', stream: true })) {
      expect(c.model).toBe(lfm.name);
      expect(c.system_fingerprint).toBe('lfm.ts-reference');
    }
  });

  it('rejects what it does not support with an InputError', async () => {
    await expect(lfm.chat.completions.create({ messages: USER, n: 2 })).rejects.toThrow(/n = 2/);
    await expect(lfm.chat.completions.create({ messages: USER, tool_choice: 'required' })).rejects.toThrow(/tool_choice 'required' needs tools/);
    await expect(lfm.chat.completions.create({ messages: USER, top_p: 2 })).rejects.toThrow(/top_p/);
  });
});

