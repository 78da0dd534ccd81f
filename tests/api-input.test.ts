// Bad input to the in-process API (loadLfm, lfm.chat, chat.completions.create) is an InputError naming the field
// (`param`), never a TypeError, a RangeError or a silently wrong answer. Each case is a regression test of issue 7.

import { readdirSync } from 'node:fs';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { bytesSource, type ByteSource } from '../reference/bytes.js';
import { InputError, LfmError } from '../reference/errors.js';
import { concatParts } from '../reference/gguf.js';
import type { ChatMessage } from '../src/chat/types.js';
import { loadLfm, type Lfm, type LoadLfmOptions } from '../src/lfm.js';
import { fileSource } from '../src/node/files.js';
import type { ChatCompletion } from '../src/openai.js';
import { seedState } from '../src/generate/sampler.js';
import { synthGguf, synthModel } from '../src/synth/random-model.js';
import { BAD_REQUESTS } from './bad-requests.js';
import { TINY_SHAPES } from '../src/synth/shapes.js';

const gguf = concatParts(synthGguf(synthModel(TINY_SHAPES[0]), 'Q8_0'));
const USER: ChatMessage[] = [{ role: 'user', content: 'What is 2+2?' }];
const SHORT = { max_tokens: 4, loop_guard: { enabled: false } };

let lfm: Lfm;
beforeAll(async () => {
  lfm = await loadLfm({ gguf: bytesSource(gguf, 'tiny.gguf') }, { engine: 'reference' });
});

/** The error `f` throws or rejects with. */
async function errorOf(f: () => unknown): Promise<unknown> {
  try {
    await f();
  } catch (e) {
    return e;
  }
  throw new Error('expected an error, got none');
}

describe('chat.completions params: one validator (in process, and for the server)', () => {
  it.each(BAD_REQUESTS)('%s -> InputError with param', async (_what, params, param) => {
    const e = await errorOf(() => lfm.chat.completions.create({ ...SHORT, ...params } as never));
    expect(e).toBeInstanceOf(InputError);
    expect((e as InputError).param).toBe(param);
    expect((e as Error).message).toContain(param.replace(/\[\d+\].*$/, ''));
  });

  it('accepts what OpenAI accepts: nulls for optional fields, stop: null, stream: false, unknown fields', async () => {
    const r = (await lfm.chat.completions.create({
      messages: USER,
      ...SHORT,
      stop: null,
      seed: null,
      temperature: null,
      stream: false,
      n: 1,
      logprobs: false,
      response_format: { type: 'text' },
      user: 'u-1',
      metadata: { a: 'b' },
      store: false,
      parallel_tool_calls: true,
      something_new: 1,
    } as never)) as unknown as ChatCompletion;
    expect(r.choices[0].finish_reason).toBe('length');
  });
});

describe('lfm.chat: messages and options', () => {
  const cases: [string, () => unknown, string][] = [
    ['messages: [null]', () => lfm.chat([null as unknown as ChatMessage]), 'messages[0]'],
    ['messages: null', () => lfm.chat(null as unknown as ChatMessage[]), 'messages'],
    ['messages: []', () => lfm.chat([]), 'messages'],
    ['a text part whose text is a number', () => lfm.chat([{ role: 'user', content: [{ type: 'text', text: 5 as unknown as string }] }]), 'messages[0].content[0].text'],
    ['tools: "x"', () => lfm.chat(USER, { tools: 'x' as never }), 'tools'],
    ['stop: 5', () => lfm.chat(USER, { stop: 5 as never }), 'stop'],
    ['max_tokens: NaN', () => lfm.chat(USER, { max_tokens: Number.NaN }), 'max_tokens'],
    ['signal: "x"', () => lfm.chat(USER, { signal: 'x' as never }), 'signal'],
    ['tool_choice: "bogus"', () => lfm.chat(USER, { tool_choice: 'bogus' as never }), 'tool_choice'],
  ];
  it.each(cases)('%s -> InputError at the call, with param', async (_what, f, param) => {
    const e = await errorOf(f);
    expect(e).toBeInstanceOf(InputError);
    expect((e as InputError).param).toBe(param);
  });

  it('stop: null and other nulls mean "not given" (and do not override the defaults)', async () => {
    const a = await lfm.chat(USER, { ...SHORT, seed: 5, stop: null as never, temperature: null as never }).result();
    const b = await lfm.chat(USER, { ...SHORT, seed: 5 }).result();
    expect(a.tokens).toEqual(b.tokens);
  });

  it('a 40,000-word message is the typed "prompt longer than the context" error, not a RangeError', async () => {
    const e = await errorOf(() => lfm.chat([{ role: 'user', content: 'word '.repeat(40_000) }]).result());
    expect(e).toBeInstanceOf(InputError);
    expect((e as Error).message).toMatch(/the conversation takes \d+ tokens, leaving no room for an answer in the context of \d+ tokens/);
  });
});

describe('seeds', () => {
  const run = (seed: number) => lfm.chat(USER, { seed, temperature: 1, max_tokens: 12, loop_guard: { enabled: false } }).result();

  it('2^32 does not wrap to seed 0, nor -1 to 2^32 - 1 (seeds are hashed, not truncated)', async () => {
    expect((await run(2 ** 32)).tokens).not.toEqual((await run(0)).tokens);
    expect((await run(-1)).tokens).not.toEqual((await run(2 ** 32 - 1)).tokens);
    expect(seedState(2 ** 32)).not.toBe(seedState(0));
    expect(seedState(12345)).toBe(12345); // seeds below 2^32 keep their old output
  });

  it('the largest safe integer is a seed; beyond it is an InputError', async () => {
    expect((await run(Number.MAX_SAFE_INTEGER)).usage.completion_tokens).toBeGreaterThan(0);
    expect(() => lfm.chat(USER, { seed: 2 ** 53 })).toThrow(/seed/);
  });
});

describe('loadLfm options', () => {
  const cases: [string, LoadLfmOptions, string][] = [
    ['contextLength: NaN', { engine: 'wasm', wasm: { contextLength: Number.NaN } }, 'wasm.contextLength'],
    ['contextLength: 0', { engine: 'wasm', wasm: { contextLength: 0 } }, 'wasm.contextLength'],
    ["weights: 'bogus'", { engine: 'wasm', wasm: { weights: 'bogus' as never } }, 'wasm.weights'],
    ["simd: 'bogus'", { engine: 'wasm', wasm: { simd: 'bogus' as never } }, 'wasm.simd'],
    ['prefillChunk: 1.5', { engine: 'wasm', wasm: { prefillChunk: 1.5 } }, 'wasm.prefillChunk'],
    ["engine: 'gpu'", { engine: 'gpu' as never }, 'engine'],
    ['sampling.top_p: 2', { sampling: { top_p: 2 } }, 'top_p'],
    ['maxCheckpoints: -1', { maxCheckpoints: -1 }, 'maxCheckpoints'],
    ['preemptIdleMs: NaN', { preemptIdleMs: Number.NaN }, 'preemptIdleMs'],
  ];
  it.each(cases)('%s -> InputError naming it; the byte source is closed', async (_what, options, param) => {
    const close = vi.fn(async () => {});
    const src: ByteSource = { ...bytesSource(gguf, 'tiny.gguf'), close };
    const e = await errorOf(() => loadLfm({ gguf: src }, options));
    expect(e).toBeInstanceOf(InputError);
    expect((e as InputError).param).toBe(param);
    expect(close).toHaveBeenCalledTimes(1);
  });

  it('createWasmEngine checks its options too (InputError, source closed)', async () => {
    const { createWasmEngine } = await import('../src/engine/wasm-engine.js');
    const close = vi.fn(async () => {});
    const e = await errorOf(() => createWasmEngine({ gguf: { ...bytesSource(gguf, 'tiny.gguf'), close } }, { contextLength: Number.NaN }));
    expect(e).toBeInstanceOf(InputError);
    expect((e as InputError).param).toBe('options.contextLength');
    expect(close).toHaveBeenCalledTimes(1);
  });
});

describe('loadLfm closes the file on every failure path', () => {
  const corrupt = gguf.slice(0, 200); // the header runs past the end
  const failures: [string, Uint8Array, LoadLfmOptions][] = [
    ['bad options', gguf, { engine: 'gpu' as never }],
    ['a header that does not parse', corrupt, { engine: 'reference' }],
    ['a header that does not parse (wasm)', corrupt, { engine: 'wasm' }],
  ];
  it.each(failures)('%s: close() is called exactly once', async (_what, bytes, options) => {
    const close = vi.fn(async () => {});
    await expect(loadLfm({ gguf: { ...bytesSource(bytes, 'x.gguf'), close } }, options)).rejects.toThrow(LfmError);
    expect(close).toHaveBeenCalledTimes(1);
  });

  it('and on success the engine closes it once', async () => {
    const close = vi.fn(async () => {});
    await loadLfm({ gguf: { ...bytesSource(gguf, 'x.gguf'), close } }, { engine: 'reference' });
    expect(close).toHaveBeenCalledTimes(1);
  });

  it.skipIf(process.platform !== 'linux')('no file descriptor is left open (counted in /proc/self/fd)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lfm-fd-'));
    try {
      const bad = join(dir, 'corrupt.gguf');
      writeFileSync(bad, corrupt);
      const fds = () => readdirSync('/proc/self/fd').length;
      const before = fds();
      for (let i = 0; i < 5; i++) {
        await expect(loadLfm({ gguf: await fileSource(bad) }, { engine: 'reference' })).rejects.toThrow(LfmError);
        await expect(loadLfm({ gguf: await fileSource(bad) }, { wasm: { weights: 'bogus' as never } })).rejects.toThrow(InputError);
      }
      expect(fds()).toBe(before);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
