// Conversations that outgrow the context: by default an InputError at the call naming the sizes; with
// context_overflow 'drop-oldest' the oldest turns go (the system prompt and the latest turn stay) and the system
// prompt's engine state is reused; an answer that reaches the end of the context ends with 'length'. Checked in
// the generation session (scripted engine), the API (loadLfm, WASM engine), the CLI (lfm chat, flags) and the
// server (lfm serve).

import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bytesSource } from '../reference/bytes.js';
import { InputError } from '../reference/errors.js';
import { concatParts } from '../reference/gguf.js';
import { encodeChat } from '../src/chat/encode-chat.js';
import type { ChatMessage } from '../src/chat/types.js';
import { chatLoop, type ChatInput } from '../src/cli/chat-commands.js';
import { main } from '../src/cli/main.js';
import { GenerationSession, type GenerationOptions } from '../src/generate/generate.js';
import { loadLfm, type Lfm, type LoadLfmOptions } from '../src/lfm.js';
import { createLfmServer } from '../src/node/server.js';
import { synthGguf, synthModel } from '../src/synth/random-model.js';
import { TINY_SHAPES } from '../src/synth/shapes.js';
import { scriptedEngine, TOY, toyTokenizer } from './scripted-engine.js';

const bytes = concatParts(synthGguf(synthModel(TINY_SHAPES[0]), 'Q8_0'));
const CONTEXT = 256;
const SAMPLED = { seed: 4, temperature: 0.8, loop_guard: { enabled: false } } as const;
const open = (o: LoadLfmOptions = {}) => loadLfm({ gguf: bytesSource(bytes, 'tiny.gguf') }, { engine: 'wasm', ...o, wasm: { contextLength: CONTEXT, threads: 1, ...o.wasm } });
const SYSTEM: ChatMessage = { role: 'system', content: 'You are terse.' };
/** A conversation of n earlier turns (about 30 tokens each with this vocabulary) and a new question. */
function conversation(n: number, system = true): ChatMessage[] {
  const turns = Array.from({ length: n }, (_, i): ChatMessage[] => [
    { role: 'user', content: `question ${i} about cats?` },
    { role: 'assistant', content: `answer ${i}: cats sleep.` },
  ]).flat();
  return [...(system ? [SYSTEM] : []), ...turns, { role: 'user', content: 'and dogs?' }];
}

describe('the generation session', () => {
  const tk = toyTokenizer('abcdefghijklmnopqrstuvwxyz ');
  const drain = async (s: GenerationSession, p: number[], o: GenerationOptions) => {
    let r;
    for await (const e of s.generate(p, o)) if (e.type === 'done') r = e.result;
    return r!;
  };

  it('a prompt plus max_tokens beyond the context is an InputError naming the three sizes', async () => {
    const s = new GenerationSession(scriptedEngine(tk.vocabSize, () => TOY.eos, 20), tk);
    await expect(drain(s, Array(15).fill(10), { max_tokens: 6 })).rejects.toThrow(/the prompt has 15 tokens and max_tokens is 6: 21 exceed the context of 20/);
    await expect(drain(s, Array(15).fill(10), { max_tokens: 5 })).resolves.toBeDefined();
  });

  it('checkpoint_prefix: the prefix checkpoint outlives the recent ones, and a prompt that keeps only the prefix re-reads only the rest', async () => {
    const engine = scriptedEngine(tk.vocabSize, () => TOY.eos);
    const s = new GenerationSession(engine, tk, 1); // one recent checkpoint
    const sys = [TOY.bos, ...tk.encode('system')];
    const o = { temperature: 0, checkpoint_prefix: sys.length };
    await drain(s, [...sys, ...tk.encode('one')], o);
    await drain(s, [...sys, ...tk.encode('one two')], o); // evicts the first prompt's checkpoint
    engine.fed.length = 0;
    const r = await drain(s, [...sys, ...tk.encode('three')], o); // shares only the prefix
    expect(r.usage.cached_prompt_tokens).toBe(sys.length);
    expect(engine.fed).toEqual([tk.encode('three')]);
  });
});

describe('the API (loadLfm, WASM engine, a context of 256)', () => {
  let lfm: Lfm;
  beforeAll(async () => {
    lfm = await open();
  });
  afterAll(() => lfm.dispose());

  it("by default an over-long conversation is an InputError at the call naming the prompt tokens, max_tokens and the context", () => {
    expect(lfm.engine.contextLength).toBe(CONTEXT);
    const long = conversation(12);
    expect(() => lfm.chat(long, { max_tokens: 20 })).toThrow(InputError);
    expect(() => lfm.chat(long, { max_tokens: 20 })).toThrow(/the conversation takes (\d+) tokens and max_tokens is 20: \d+, over the context of 256 tokens \(context_overflow 'drop-oldest'/);
    const short = conversation(1);
    const p = lfm.render(short).tokens.length;
    expect(() => lfm.chat(short, { max_tokens: CONTEXT - p + 1 })).toThrow(/over the context of 256/);
    expect(() => lfm.chat(short, { context_overflow: 'truncate' as never })).toThrow(/context_overflow must be 'error' or 'drop-oldest', got the string "truncate"/);
  });

  it("drop-oldest keeps the system prompt and the latest turns, reuses the system prompt's state, and equals a cold run on the kept messages", async () => {
    const long = conversation(12);
    const r = await lfm.chat(long, { ...SAMPLED, max_tokens: 24, context_overflow: 'drop-oldest' }).result();
    expect(r.dropped_messages).toBeGreaterThan(0);
    expect(r.dropped_messages % 2).toBe(0); // whole turns (a question and its answer)
    expect(r.usage.prompt_tokens + 24).toBeLessThanOrEqual(CONTEXT);
    const kept = [SYSTEM, ...long.slice(1 + r.dropped_messages)];
    expect(lfm.render(kept).tokens.length).toBe(r.usage.prompt_tokens);
    // one turn earlier would not have fitted: the fewest messages were dropped
    expect(lfm.render([SYSTEM, ...long.slice(1 + r.dropped_messages - 2)]).tokens.length + 24).toBeGreaterThan(CONTEXT);
    // the next turn drops more; what it reuses is at least the system prompt
    const next = [...long, r.message, { role: 'user' as const, content: 'and birds, briefly?' }];
    const r2 = await lfm.chat(next, { ...SAMPLED, max_tokens: 24, context_overflow: 'drop-oldest' }).result();
    const system = encodeChat(lfm.tokenizer, [SYSTEM], { template: lfm.template, addGenerationPrompt: false }).tokens.length;
    expect(r2.dropped_messages).toBeGreaterThan(r.dropped_messages);
    expect(r2.usage.cached_prompt_tokens).toBe(system); // (the earlier prompts share nothing more with this one)
    // reuse is exact: a fresh engine on the kept messages samples the same tokens
    const cold = await open();
    const keptNext = [SYSTEM, ...next.slice(1 + r2.dropped_messages)];
    expect((await cold.chat(keptNext, { ...SAMPLED, max_tokens: 24 }).result()).tokens).toEqual(r2.tokens);
    await cold.dispose();
  });

  it('without max_tokens, drop-oldest leaves a quarter of the context for the answer', async () => {
    const r = await lfm.chat(conversation(12), { ...SAMPLED, context_overflow: 'drop-oldest', stop: 'x' }).result();
    expect(r.dropped_messages).toBeGreaterThan(0);
    expect(r.usage.prompt_tokens).toBeLessThanOrEqual(CONTEXT * 0.75);
  });

  it('when even the system prompt and the latest turn do not fit, drop-oldest says so', () => {
    const huge: ChatMessage[] = [SYSTEM, { role: 'user', content: 'cats '.repeat(200) }];
    expect(() => lfm.chat(huge, { context_overflow: 'drop-oldest' })).toThrow(/the system prompt and the latest turn take \d+ tokens, leaving no room for an answer in the context of 256 tokens \(nothing older is left to drop\)/);
  });

  it("an answer that reaches the end of the context ends with 'length' there", async () => {
    const msgs = conversation(1);
    const p = lfm.render(msgs).tokens.length;
    // no max_tokens: the rest of the context; a random model may end its turn first, so try a few seeds
    let r;
    for (const seed of [5, 8, 9, 12, 14]) {
      r = await lfm.chat(msgs, { seed, temperature: 1, repetition_penalty: 1, loop_guard: { enabled: false } }).result();
      if (r.finish_reason === 'length') break;
    }
    expect(r!.finish_reason).toBe('length');
    expect(p + r!.usage.completion_tokens).toBe(CONTEXT); // the last sampled token is returned, not fed
    expect(lfm.engine.position).toBe(CONTEXT - 1);
  });
});

describe('the CLI', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lfm-context-'));
  const model = join(dir, 'tiny.gguf');
  beforeAll(() => writeFileSync(model, bytes));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const io = () => {
    const out = { stdout: '', stderr: '' };
    return { out, io: { stdout: { write: (s: string) => (out.stdout += s) }, stderr: { write: (s: string) => (out.stderr += s) } } };
  };

  it.each([
    [['run', 'x', '--context', 'big'], /--context needs an integer, got 'big'/],
    [['run', 'x', '--context', '0'], /--context must be a positive number of tokens, got 0/],
    [['chat', '--kv-cache', 'f8'], /--kv-cache 'f8' is not a cache type \(f16 or f32\)/],
    [['serve', '--context-overflow', 'shift'], /--context-overflow 'shift' is not a mode \(error or drop-oldest\)/],
    [['run', 'x', '--engine', 'reference', '--context', '100'], /--context applies to the wasm engine/],
  ])('%j is a usage error before the model loads', async (argv, msg) => {
    const { out, io: cio } = io();
    expect(await main([...argv, '--model', '/nonexistent/model.gguf'], cio)).toBe(2);
    expect(out.stderr).toMatch(msg);
  });

  it('lfm run --context / --kv-cache: the engine holds what was asked and says so', async () => {
    const { out, io: cio } = io();
    expect(await main(['run', 'hi', '--model', model, '--context', '300', '--kv-cache', 'f32', '--max-tokens', '4', '--seed', '1'], cio)).toBe(0);
    expect(out.stderr).toMatch(/context 300 tokens \(f32 KV cache: 0 KiB per token/);
  });

  it('lfm chat: by default an over-long turn prints the sizes and the chat goes on; drop-oldest drops and says so', async () => {
    for (const overflow of ['error', 'drop-oldest'] as const) {
      const lfm = await open({ contextOverflow: overflow });
      const { out, io: cio } = io();
      const lines = ['tell me about cats '.repeat(3), 'and about dogs '.repeat(3), 'and birds '.repeat(3), 'and fish '.repeat(3), 'x '.repeat(150), '/exit'];
      const input: ChatInput = { lines: (async function* () { yield* lines; })(), onInterrupt: () => () => {} };
      expect(await chatLoop(lfm, input, cio, { ...SAMPLED, max_tokens: 40 }, true, 'You are terse.')).toBe(0);
      if (overflow === 'error') {
        expect(out.stderr).toMatch(/over the context of 256 tokens/);
        expect(out.stderr).not.toMatch(/dropped/);
      } else {
        expect(out.stderr).toMatch(/\(the \d+ oldest messages no longer fit the context of 256 tokens: dropped\)/);
      }
      expect(out.stderr).toMatch(/leaving no room for an answer|over the context/); // the 150-token line alone is too long either way
      await lfm.dispose();
    }
  });
});

describe('the server', () => {
  it("an over-long conversation: 400 naming the sizes (streaming too); context_overflow 'drop-oldest' in the request or as the server's default answers", async () => {
    for (const serverDefault of ['error', 'drop-oldest'] as const) {
      const lfm = await open({ contextOverflow: serverDefault });
      const server = createLfmServer(lfm);
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const post = (body: unknown) => fetch(`${base}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      const body = { messages: conversation(12), max_tokens: 16, ...SAMPLED };
      try {
        if (serverDefault === 'error') {
          for (const stream of [false, true]) {
            const r = await post({ ...body, stream });
            expect(r.status).toBe(400);
            expect((await r.json()).error.message).toMatch(/the conversation takes \d+ tokens and max_tokens is 16: \d+, over the context of 256 tokens/);
          }
          const ok = await post({ ...body, context_overflow: 'drop-oldest' });
          expect(ok.status).toBe(200);
          expect((await ok.json()).usage.prompt_tokens + 16).toBeLessThanOrEqual(CONTEXT);
        } else {
          const ok = await post(body);
          expect(ok.status).toBe(200);
          expect((await post({ ...body, context_overflow: 'error' })).status).toBe(400);
        }
      } finally {
        await new Promise((r) => server.close(r));
        await lfm.dispose();
      }
    }
  });
});
