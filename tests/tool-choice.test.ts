// tool_choice 'none' / 'required' / a named function, enforced in generation (src/generate/generate.ts): on the
// scripted engine (exact token sequences, with the real tokenizer) and on a tiny random model.

import { beforeAll, describe, expect, it } from 'vitest';
import { bytesSource } from '../reference/bytes.js';
import { concatParts } from '../reference/gguf.js';
import type { ChatMessage, ToolDefinition } from '../src/chat/types.js';
import { createLfm, loadLfm, type Lfm } from '../src/lfm.js';
import type { ChatCompletion } from '../src/openai.js';
import { synthGguf, synthModel } from '../src/synth/random-model.js';
import { TINY_SHAPES } from '../src/synth/shapes.js';
import type { Lfm2Tokenizer } from '../src/tokenizer/tokenizer.js';
import { scriptedEngine } from './scripted-engine.js';

const gguf = concatParts(synthGguf(synthModel(TINY_SHAPES[0]), 'F32'));
const USER: ChatMessage[] = [{ role: 'user', content: 'Weather in Paris?' }];
const TOOLS: ToolDefinition[] = [
  { type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } },
  { type: 'function', function: { name: 'get_time', parameters: { type: 'object', properties: {} } } },
];

let real: Lfm;
let tk: Lfm2Tokenizer;
beforeAll(async () => {
  real = await loadLfm({ gguf: bytesSource(gguf, 'tiny.gguf') }, { engine: 'reference' });
  tk = real.tokenizer;
});

/**
 * A model that, left alone, thinks "ok", answers "hello" and ends its turn, and that, once a tool-call section is
 * open and a name written, closes the call: `[name(` -> `)]` + end marker + end of turn. The masked-out tokens of
 * a constraint all have logit 0, so a forced choice falls to the lowest allowed id.
 */
function scripted(): Lfm {
  const plan = [tk.thinkStartId!, ...tk.encode('ok'), tk.thinkEndId!, ...tk.encode('hello'), tk.eosId];
  const engine = scriptedEngine(tk.sampleable.length, (g) => {
    const s = g.indexOf(tk.toolCallStartId!);
    if (s < 0) return plan[g.length] ?? tk.eosId;
    if (g.includes(tk.toolCallEndId!)) return tk.eosId;
    const body = tk.decode(g.slice(s + 1));
    if (!body.includes('(')) return tk.eosId; // no opinion on the name: the constraint decides
    if (!body.endsWith(')]')) return tk.encode(body.endsWith(')') ? ']' : ')')[0];
    return tk.toolCallEndId!;
  });
  return createLfm('scripted', engine, tk, null, { temperature: 0 });
}

const create = (lfm: Lfm, extra: object) => lfm.chat.completions.create({ messages: USER, tools: TOOLS, max_tokens: 60, ...extra }) as Promise<ChatCompletion>;

describe('tool_choice on the scripted engine', () => {
  it("'auto': the model answers in text", async () => {
    const r = await create(scripted(), { tool_choice: 'auto' });
    expect(r.choices[0].message).toMatchObject({ content: 'hello', reasoning_content: 'ok' });
    expect(r.choices[0].message.tool_calls).toBeUndefined();
    expect(r.choices[0].finish_reason).toBe('stop');
  });

  it("'required': the call opens right after the reasoning, and its name is a declared one", async () => {
    const r = await create(scripted(), { tool_choice: 'required' });
    const m = r.choices[0].message;
    expect(m.reasoning_content).toBe('ok');
    expect(m.content).toBeNull();
    expect(m.tool_calls).toHaveLength(1);
    expect(TOOLS.map((t) => ('function' in t ? t.function.name : t.name))).toContain(m.tool_calls![0].function.name);
    expect(m.tool_calls![0].function.arguments).toBe('{}');
    expect(r.choices[0].finish_reason).toBe('tool_calls');
  });

  it('a named function: that one', async () => {
    for (const name of ['get_weather', 'get_time']) {
      const r = await create(scripted(), { tool_choice: { type: 'function', function: { name } } });
      expect(r.choices[0].message.tool_calls!.map((c) => c.function.name)).toEqual([name]);
      expect(r.choices[0].finish_reason).toBe('tool_calls');
    }
  });

  it("'required' masks the end of the turn until the call: a model that would end its turn inside the reasoning still calls", async () => {
    const think = [tk.thinkStartId!, ...tk.encode('ok')];
    const engine = scriptedEngine(tk.sampleable.length, (g) => {
      const s = g.indexOf(tk.toolCallStartId!);
      if (s < 0) return think[g.length] ?? tk.eosId; // wants to stop right after "ok", inside the reasoning
      if (g.includes(tk.toolCallEndId!)) return tk.eosId;
      const body = tk.decode(g.slice(s + 1));
      return !body.includes('(') ? tk.eosId : body.endsWith(')]') ? tk.toolCallEndId! : tk.encode(body.endsWith(')') ? ']' : ')')[0];
    });
    const r = await create(createLfm('scripted', engine, tk, null, { temperature: 0 }), { tool_choice: { type: 'function', function: { name: 'get_time' } }, reasoning_budget: 3 });
    expect(r.choices[0].message.tool_calls?.[0].function.name).toBe('get_time');
    // The control: without tool_choice the same model ends its turn in the reasoning.
    const free = await create(createLfm('scripted', engine, tk, null, { temperature: 0 }), { reasoning_budget: 3 });
    expect(free.choices[0].message.tool_calls).toBeUndefined();
  });

  it("'none': a model that wants to call cannot open a section (and the tools are not in the prompt)", async () => {
    const call = [tk.toolCallStartId!, ...tk.encode('[get_time()]'), tk.toolCallEndId!, tk.eosId];
    const make = () => createLfm('scripted', scriptedEngine(tk.sampleable.length, (g) => call[g.length] ?? tk.eosId), tk, null, { temperature: 0 });
    const auto = await create(make(), { tool_choice: 'auto', max_tokens: 20 });
    expect(auto.choices[0].message.tool_calls?.[0].function.name).toBe('get_time'); // the control
    const lfm = make();
    const none = lfm.chat(USER, { tools: TOOLS, tool_choice: 'none', max_tokens: 20, temperature: 0 });
    const r = await none.result();
    expect(r.tokens).not.toContain(tk.toolCallStartId);
    expect(r.tool_calls).toEqual([]);
  });
});

describe('tool_choice on a tiny random model', () => {
  const SAMPLED = { temperature: 0.9, seed: 11, max_tokens: 40, reasoning_budget: 4, loop_guard: { enabled: false } };

  it('a named function: a tool-call section opens and starts with that name', async () => {
    for (const name of ['get_weather', 'get_time']) {
      const r = await create(real, { ...SAMPLED, tool_choice: { type: 'function', function: { name } } });
      const res = await real.chat(USER, { ...SAMPLED, tools: TOOLS, tool_choice: { type: 'function', function: { name } } }).result();
      expect(res.tokens).toContain(tk.toolCallStartId);
      const section = res.tool_calls.length > 0 ? `[${res.tool_calls[0].name}(` : res.invalid_tool_calls[0].raw;
      expect(section.startsWith(`[${name}(`)).toBe(true); // the arguments are the random model's own
      expect(r.choices[0].lfm_finish_reason).toBe(res.finish_reason);
    }
  });

  it("'required': the section starts with one of the declared names", async () => {
    const res = await real.chat(USER, { ...SAMPLED, tools: TOOLS, tool_choice: 'required' }).result();
    const section = res.tool_calls.length > 0 ? `[${res.tool_calls[0].name}(` : res.invalid_tool_calls[0].raw;
    expect(/^\[(get_weather|get_time)\(/.test(section)).toBe(true);
  });
});
