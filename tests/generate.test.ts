// Generation logic on exact token sequences (scripted engine): phases, reasoning budget, loop guard, tool calls,
// stop strings, limits, abort, prefix reuse; and the sampler, loop detector and stop matcher on their own.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InputError } from '../reference/errors.js';
import { GenerationSession, type GenerationEvent, type GenerationOptions, type GenerationResult } from '../src/generate/generate.js';
import { detectLoop } from '../src/generate/loop-guard.js';
import { Sampler, validateSampling } from '../src/generate/sampler.js';
import { StopMatcher } from '../src/generate/stop-strings.js';
import { scriptedEngine, TOY, toyTokenizer, type Script } from './scripted-engine.js';

const tk = toyTokenizer('abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_()[]{}="\',.:!?-');
const PROMPT = [TOY.bos, TOY.im_start, ...tk.encode('hi'), TOY.eos, TOY.im_start];
const GREEDY: GenerationOptions = { temperature: 0 };

/** A script that writes `seq` then ends the turn. */
const fixed = (seq: number[]): Script => (g) => seq[g.length] ?? TOY.eos;
const think = (reasoning: string, answer: string) => [TOY.think, ...tk.encode(reasoning), TOY.unthink, ...tk.encode(answer)];

async function run(script: Script, opts: GenerationOptions = GREEDY, prompt = PROMPT): Promise<{ events: GenerationEvent[]; result: GenerationResult }> {
  const session = new GenerationSession(scriptedEngine(tk.vocabSize, script), tk);
  const events: GenerationEvent[] = [];
  for await (const e of session.generate(prompt, opts)) events.push(e);
  const done = events.at(-1)!;
  if (done.type !== 'done') throw new Error('the last event must be done');
  return { events, result: done.result };
}
const text = (events: GenerationEvent[], type: 'reasoning' | 'answer') => events.flatMap((e) => (e.type === type ? [e.text] : [])).join('');

describe('phases', () => {
  it('separates <think> reasoning from the answer, by token id', async () => {
    const { events, result } = await run(fixed(think('the user says hi', 'hello!')));
    expect(result).toMatchObject({ finish_reason: 'stop', reasoning: 'the user says hi', answer: 'hello!' });
    expect(text(events, 'reasoning')).toBe(result.reasoning);
    expect(text(events, 'answer')).toBe(result.answer);
    expect(result.usage).toMatchObject({ prompt_tokens: PROMPT.length, reasoning_tokens: 16, completion_tokens: 1 + 16 + 1 + 6 + 1 });
    expect(result.usage.answer_tokens).toBe(result.usage.completion_tokens - 16);
  });

  it('a model that does not think: everything is the answer', async () => {
    const { result } = await run(fixed(tk.encode('plain answer')));
    expect(result).toMatchObject({ reasoning: '', answer: 'plain answer', finish_reason: 'stop' });
  });

  it('a prompt that pre-opens <think> starts inside the reasoning', async () => {
    const { result } = await run(fixed([...tk.encode('pondering'), TOY.unthink, ...tk.encode('ok')]), GREEDY, [...PROMPT, TOY.think]);
    expect(result).toMatchObject({ reasoning: 'pondering', answer: 'ok' });
  });

  it('spelling "<think>" in text is just text', async () => {
    const t2 = toyTokenizer('<think>/ab');
    const session = new GenerationSession(scriptedEngine(t2.vocabSize, fixed(t2.encode('<think>ab</think>'))), t2);
    let result: GenerationResult | undefined;
    for await (const e of session.generate([TOY.bos], GREEDY)) if (e.type === 'done') result = e.result;
    expect(result).toMatchObject({ reasoning: '', answer: '<think>ab</think>' });
  });
});

describe('reasoning budget', () => {
  // Thinks "abcd..." forever unless a </think> appears, then answers.
  const endless: Script = (g) => (g.includes(TOY.unthink) ? (g.length - g.indexOf(TOY.unthink) <= 2 ? tk.encode('ok')[g.length - g.indexOf(TOY.unthink) - 1] : TOY.eos) : g.length === 0 ? TOY.think : 10 + ((g.length - 1) % 26));

  it('inserts </think> after the budget and the model answers', async () => {
    const { result } = await run(endless, { ...GREEDY, reasoning_budget: 5, loop_guard: { enabled: false } });
    expect(result.reasoning).toBe('abcde');
    expect(result.usage.reasoning_tokens).toBe(5);
    expect(result.answer).toBe('ok');
    expect(result.tokens.slice(0, 7)).toEqual([TOY.think, 10, 11, 12, 13, 14, TOY.unthink]);
    expect(result.finish_reason).toBe('stop');
  });

  it('a <think> written inside the reasoning counts toward the budget (a model repeating it cannot run past it)', async () => {
    const repeats: Script = (g) => (g.includes(TOY.unthink) ? TOY.eos : TOY.think);
    const { result } = await run(repeats, { ...GREEDY, reasoning_budget: 3, loop_guard: { enabled: false } });
    expect(result.tokens).toEqual([TOY.think, TOY.think, TOY.think, TOY.think, TOY.unthink, TOY.eos]);
    expect(result.usage.reasoning_tokens).toBe(3);
  });

  it('budget 0 closes the reasoning right after <think>', async () => {
    const { result } = await run(endless, { ...GREEDY, reasoning_budget: 0 });
    expect(result).toMatchObject({ reasoning: '', answer: 'ok' });
  });

  it('rejects a negative budget', async () => {
    await expect(run(endless, { reasoning_budget: -1 })).rejects.toThrow(InputError);
  });
});

describe('loop guard', () => {
  // Reasons "abc abc abc ..." until a </think> shows up, then answers "done".
  const looping: Script = (g) => {
    const end = g.indexOf(TOY.unthink);
    if (end >= 0) return [...tk.encode('done'), TOY.eos][g.length - end - 1] ?? TOY.eos;
    return g.length === 0 ? TOY.think : tk.encode('abc ')[(g.length - 1) % 4];
  };

  it('steers out of a reasoning loop by closing the reasoning (default)', async () => {
    const { result } = await run(looping);
    expect(result.finish_reason).toBe('stop');
    expect(result.answer).toBe('done');
    expect(result.reasoning.startsWith('abc abc abc')).toBe(true);
    expect(result.usage.reasoning_tokens).toBeLessThan(100); // caught early, not at max_tokens
  });

  it("ends with finish_reason 'loop' when told to stop", async () => {
    const { result } = await run(looping, { ...GREEDY, loop_guard: { onReasoningLoop: 'stop' } });
    expect(result.finish_reason).toBe('loop');
  });

  it("a loop in the answer ends with 'loop'", async () => {
    const { result } = await run((g) => tk.encode('la ')[g.length % 3]);
    expect(result.finish_reason).toBe('loop');
    expect(result.answer.startsWith('la la la')).toBe(true);
  });

  it('can be turned off (then max_tokens ends it)', async () => {
    const { result } = await run((g) => tk.encode('la ')[g.length % 3], { ...GREEDY, max_tokens: 300, loop_guard: { enabled: false } });
    expect(result.finish_reason).toBe('length');
    expect(result.tokens.length).toBe(300);
  });

  it('detectLoop finds periods only over long enough spans', () => {
    const rep = (xs: number[], n: number) => Array.from({ length: n }, (_, i) => xs[i % xs.length]);
    expect(detectLoop(rep([1], 63))).toBe(0);
    expect(detectLoop(rep([1], 64))).toBe(1);
    expect(detectLoop([5, 6, ...rep([1, 2, 3], 64)])).toBe(3);
    expect(detectLoop(rep(Array.from({ length: 100 }, (_, i) => i), 299))).toBe(0); // 2.99 repeats of a 100-cycle
    expect(detectLoop(rep(Array.from({ length: 100 }, (_, i) => i), 300))).toBe(100);
    expect(detectLoop(Array.from({ length: 500 }, (_, i) => (i * 7919) % 1009))).toBe(0);
    expect(detectLoop(rep([1], 100), { enabled: false })).toBe(0);
  });
});

describe('tool calls', () => {
  const call = (s: string) => [TOY.toolStart, ...tk.encode(s), TOY.toolEnd];

  it('parses a Pythonic call section into a tool_call event and ends with tool_calls', async () => {
    const { events, result } = await run(fixed([...call('[get_weather(city="Paris", days=3)]'), ...tk.encode('checking')]));
    expect(result.finish_reason).toBe('tool_calls');
    expect(result.tool_calls).toEqual([{ id: 'call_0', name: 'get_weather', arguments: { city: 'Paris', days: 3 } }]);
    expect(result.answer).toBe('checking'); // the call text is not in the answer
    expect(events.filter((e) => e.type === 'tool_call')).toHaveLength(1);
  });

  it('reports a malformed call instead of throwing or leaking it into the answer', async () => {
    const { result } = await run(fixed([...call('[get_weather(city="Par'), ...tk.encode('x')]));
    expect(result.tool_calls).toEqual([]);
    expect(result.invalid_tool_calls).toHaveLength(1);
    expect(result.answer).toBe('x');
    expect(result.finish_reason).toBe('stop');
  });

  it('validates calls against the declared tools', async () => {
    const tools = [{ type: 'function' as const, function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } } }];
    const { result } = await run(fixed(call('[get_weather(town="Paris"), nope()]')), { ...GREEDY, tools });
    expect(result.tool_calls).toEqual([]);
    expect(result.invalid_tool_calls.map((c) => c.error)).toEqual([expect.stringMatching(/get_weather.*city/), expect.stringMatching(/nope/)]);
  });

  it('an unterminated call section is reported at the end', async () => {
    const { result } = await run(fixed([TOY.toolStart, ...tk.encode('[f(a=1)')]));
    expect(result.invalid_tool_calls).toEqual([{ raw: '[f(a=1)', error: 'tool call not closed' }]);
  });
});

describe('limits, stop strings, abort', () => {
  it('stop strings end the answer and are not returned, even split across tokens', async () => {
    const { events, result } = await run(fixed(tk.encode('hello world END more')), { ...GREEDY, stop: ['END', 'zzz'] });
    expect(result).toMatchObject({ answer: 'hello world ', finish_reason: 'stop' });
    expect(text(events, 'answer')).toBe('hello world ');
  });

  it('stop strings do not apply to the reasoning', async () => {
    const { result } = await run(fixed(think('END', 'fine')), { ...GREEDY, stop: 'END' });
    expect(result).toMatchObject({ reasoning: 'END', answer: 'fine', finish_reason: 'stop' });
  });

  it('max_tokens ends with length', async () => {
    const { result } = await run(fixed(tk.encode('a long answer that goes on')), { ...GREEDY, max_tokens: 4 });
    expect(result).toMatchObject({ finish_reason: 'length', answer: 'a lo' });
  });

  it('a full context ends with length', async () => {
    const session = new GenerationSession(scriptedEngine(tk.vocabSize, fixed(tk.encode('abcdefghij')), PROMPT.length + 3), tk);
    let result: GenerationResult | undefined;
    for await (const e of session.generate(PROMPT, GREEDY)) if (e.type === 'done') result = e.result;
    expect(result!.finish_reason).toBe('length');
    expect(result!.answer).toBe('abc');
  });

  it('an AbortSignal ends generation between tokens with abort', async () => {
    const ac = new AbortController();
    const session = new GenerationSession(scriptedEngine(tk.vocabSize, (g) => 10 + (g.length % 26)), tk);
    let n = 0;
    let result: GenerationResult | undefined;
    for await (const e of session.generate(PROMPT, { ...GREEDY, signal: ac.signal, loop_guard: { enabled: false } })) {
      if (e.type === 'answer' && ++n === 5) ac.abort();
      if (e.type === 'done') result = e.result;
    }
    expect(result!.finish_reason).toBe('abort');
    expect(result!.answer).toBe('abcde');
  });

  it('rejects an over-long prompt, an empty prompt and a bad max_tokens with InputError', async () => {
    const session = new GenerationSession(scriptedEngine(tk.vocabSize, fixed([]), 8), tk);
    const drain = async (p: number[], o: GenerationOptions = {}) => {
      for await (const _ of session.generate(p, o));
    };
    await expect(drain(Array(8).fill(10))).rejects.toThrow(/8 tokens but the context holds 8/);
    await expect(drain([])).rejects.toThrow(InputError);
    await expect(drain([10], { max_tokens: 0 })).rejects.toThrow(/max_tokens/);
    await expect(drain([10], { temperature: -1 })).rejects.toThrow(/temperature/);
  });
});

describe('prefix reuse across turns', () => {
  it('feeds only the new tail of a prompt that extends a checkpointed one', async () => {
    const engine = scriptedEngine(tk.vocabSize, fixed(tk.encode('ok')));
    const session = new GenerationSession(engine, tk);
    const drain = async (p: number[]) => {
      let r: GenerationResult | undefined;
      for await (const e of session.generate(p, GREEDY)) if (e.type === 'done') r = e.result;
      return r!;
    };
    const first = await drain(PROMPT);
    expect(first.usage.cached_prompt_tokens).toBe(0);
    const turn2 = [...PROMPT, ...tk.encode('ok'), TOY.eos, TOY.im_start, ...tk.encode('more'), TOY.eos, TOY.im_start];
    const second = await drain(turn2);
    expect(second.usage.cached_prompt_tokens).toBe(PROMPT.length);
    expect(engine.fed.at(-1)).toEqual(turn2.slice(PROMPT.length));
    expect(second.answer).toBe('ok');
    const unrelated = await drain([TOY.bos, ...tk.encode('other')]);
    expect(unrelated.usage.cached_prompt_tokens).toBe(0);
    const again = await drain(turn2); // the exact prompt again: nothing is fed at all
    expect(again.usage.cached_prompt_tokens).toBe(turn2.length);
    expect(again.answer).toBe('ok');
  });
});

describe('sampler', () => {
  const logits = Float32Array.from([1, 3, 2, 0.5, 3]);

  it('temperature 0 is argmax, ties to the lowest id; unsampleable ids are never chosen', () => {
    expect(new Sampler({ temperature: 0 }).sample(logits, [], [])).toBe(1);
    expect(new Sampler({ temperature: 0 }, Uint8Array.from([1, 0, 1, 1, 1])).sample(logits, [], [])).toBe(4);
    const s = new Sampler({ temperature: 5, seed: 1 }, Uint8Array.from([0, 0, 1, 0, 0]));
    for (let i = 0; i < 50; i++) expect(s.sample(logits, [], [])).toBe(2);
  });

  it('repetition_penalty has HF semantics: positive logits divided, negative multiplied', () => {
    // ids 1 and 4 tie at 3; penalising 1 (in context) makes 4 win; a negative logit gets more negative.
    expect(new Sampler({ temperature: 0, repetition_penalty: 1.5 }).sample(logits, [1], [])).toBe(4);
    const neg = Float32Array.from([-1, -1.2]);
    expect(new Sampler({ temperature: 0, repetition_penalty: 1.5 }).sample(neg, [0], [])).toBe(1); // -1.5 < -1.2
  });

  it('presence and frequency penalties subtract per generated occurrence', () => {
    // id 1 seen twice, id 4 once: 0.6 -> (1.8, 2, 2.4): 4 wins; 1.2 -> (0.6, 2, 1.8): 2 wins.
    expect(new Sampler({ temperature: 0, frequency_penalty: 0.6 }).sample(logits, [], [1, 1, 4])).toBe(4);
    expect(new Sampler({ temperature: 0, frequency_penalty: 1.2 }).sample(logits, [], [1, 1, 4])).toBe(2);
    // presence 1: (2, 2, 2) for ids 1, 2, 4: the tie goes to the lowest id.
    expect(new Sampler({ temperature: 0, presence_penalty: 1 }).sample(logits, [], [1, 4])).toBe(1);
  });

  it('top_k 1 and a tiny top_p are greedy; min_p 1 keeps only the top', () => {
    const distinct = Float32Array.from([1, 3.5, 2, 0.5, 3]);
    for (const o of [{ top_k: 1 }, { top_p: 0.01 }, { min_p: 1 }]) {
      const s = new Sampler({ temperature: 1, seed: 7, ...o });
      for (let i = 0; i < 20; i++) expect(s.sample(distinct, [], [])).toBe(1);
    }
  });

  it('the same seed gives the same draws; the draws follow the softmax', () => {
    const a = new Sampler({ temperature: 1, seed: 42 });
    const b = new Sampler({ temperature: 1, seed: 42 });
    const counts = new Array(5).fill(0);
    for (let i = 0; i < 20000; i++) {
      const x = a.sample(logits, [], []);
      expect(b.sample(logits, [], [])).toBe(x);
      counts[x]++;
    }
    const z = Array.from(logits, Math.exp);
    const sum = z.reduce((p, q) => p + q);
    z.forEach((v, i) => expect(Math.abs(counts[i] / 20000 - v / sum)).toBeLessThan(0.015));
  });

  it('validates options', () => {
    expect(() => validateSampling({ top_p: 0 })).toThrow(/top_p/);
    expect(() => validateSampling({ top_k: 1.5 })).toThrow(/top_k/);
    expect(() => validateSampling({ repetition_penalty: 0 })).toThrow(/repetition_penalty/);
    expect(() => validateSampling({ seed: 0.5 })).toThrow(/seed/);
  });
});

describe('stop matcher', () => {
  it('any chunking of the text gives the same output (property)', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), fc.array(fc.string({ minLength: 1, maxLength: 4 }), { maxLength: 3 }), fc.array(fc.nat(40)), (s, stops, cuts) => {
        const whole = new StopMatcher(stops);
        const w = whole.push(s);
        const wText = w.text + (w.stopped ? '' : whole.flush());
        const m = new StopMatcher(stops);
        const points = [...new Set(cuts.map((c) => c % (s.length + 1)))].sort((a, b) => a - b);
        let out = '';
        let stopped = false;
        let at = 0;
        for (const p of [...points, s.length]) {
          if (stopped) break;
          const r = m.push(s.slice(at, p));
          out += r.text;
          stopped = r.stopped;
          at = p;
        }
        if (!stopped) out += m.flush();
        expect(out).toBe(wText);
        expect(stopped).toBe(w.stopped);
      }),
    );
  });
});
