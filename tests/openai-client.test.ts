// The official `openai` npm client against `lfm serve`: what OpenAI clients rely on (types, shapes, streaming,
// tools, stop, max_tokens, errors, abort). The first block runs the real `lfm serve` command in a child process on
// a tiny seeded model; the second serves in process (createLfmServer, the server `lfm serve` runs) over engines
// that make tool calls and aborts observable.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI, { APIUserAbortError, BadRequestError } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bytesSource } from '../reference/bytes.js';
import { concatParts } from '../reference/gguf.js';
import type { Engine } from '../src/engine/types.js';
import { createLfm, loadLfm, type Lfm } from '../src/lfm.js';
import { registerNodeWorkers } from '../src/node/worker-spawn.js';
import { createLfmServer } from '../src/node/server.js';
import { synthGguf, synthModel } from '../src/synth/random-model.js';
import { TINY_SHAPES } from '../src/synth/shapes.js';
import { scriptedEngine } from './scripted-engine.js';

registerNodeWorkers(); // the engine as users get it in Node: in worker_threads

const bytes = concatParts(synthGguf(synthModel(TINY_SHAPES[0]), 'Q8_0'));
const MESSAGES: OpenAI.ChatCompletionMessageParam[] = [{ role: 'user', content: 'What is 2+2?' }];
const SAMPLED = { temperature: 0.8, seed: 3 } as const;
const NO_LOOP_GUARD = { loop_guard: { enabled: false } } as Record<string, unknown>; // an extension: not in the client's types

describe('the openai client against `lfm serve` (child process)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lfm-openai-'));
  let child: ChildProcess;
  let client: OpenAI;

  beforeAll(async () => {
    const model = join(dir, 'tiny.gguf');
    writeFileSync(model, bytes);
    child = spawn(join('node_modules', '.bin', 'tsx'), ['src/cli/main.ts', 'serve', '--model', model, '--port', '0', '--engine', 'reference', '-q'], { stdio: ['ignore', 'ignore', 'pipe'] });
    const url = await new Promise<string>((resolve, reject) => {
      let err = '';
      child.stderr!.setEncoding('utf8');
      child.stderr!.on('data', (c: string) => {
        err += c;
        const m = /serving \S+ at (http:\/\/\S+\/v1)/.exec(err);
        if (m) resolve(m[1]);
      });
      child.on('exit', (code) => reject(new Error(`lfm serve exited with ${code}: ${err}`)));
    });
    client = new OpenAI({ baseURL: url, apiKey: 'unused', maxRetries: 0 });
  });

  afterAll(async () => {
    if (child && child.exitCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGINT'); // `lfm serve` closes the server and exits on Ctrl-C
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('lists the served model', async () => {
    const models = await client.models.list();
    expect(models.data.map((m) => m.id)).toEqual(['tiny-gqa4']);
    expect((await client.models.retrieve('tiny-gqa4')).id).toBe('tiny-gqa4');
  });

  it('JSON: a ChatCompletion with the served model, a fingerprint, OpenAI finish_reason and usage; max_tokens holds', async () => {
    const r: OpenAI.ChatCompletion = await client.chat.completions.create({ model: 'gpt-4o', messages: MESSAGES, ...SAMPLED, max_tokens: 16, ...NO_LOOP_GUARD });
    expect(r.object).toBe('chat.completion');
    expect(r.model).toBe('tiny-gqa4');
    expect(r.system_fingerprint).toBe('lfm.ts-reference');
    expect(r.choices[0].finish_reason).toBe('length');
    expect(r.usage!.completion_tokens).toBe(16);
    expect(r.usage!.total_tokens).toBe(r.usage!.prompt_tokens + 16);
  });

  it('streaming: chunks concatenate to the same text; usage on request; max_completion_tokens holds', async () => {
    const whole = await client.chat.completions.create({ model: 'x', messages: MESSAGES, ...SAMPLED, max_completion_tokens: 20, ...NO_LOOP_GUARD });
    const stream = await client.chat.completions.create({ model: 'x', messages: MESSAGES, ...SAMPLED, max_completion_tokens: 20, stream: true, stream_options: { include_usage: true }, ...NO_LOOP_GUARD });
    let content = '';
    let reasoning = '';
    const finishes: (string | null)[] = [];
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const c of stream) {
      if (c.usage) usage = c.usage;
      for (const ch of c.choices) {
        content += ch.delta.content ?? '';
        reasoning += (ch.delta as { reasoning_content?: string }).reasoning_content ?? '';
        finishes.push(ch.finish_reason);
      }
    }
    expect(content).toBe(whole.choices[0].message.content ?? '');
    expect(reasoning).toBe((whole.choices[0].message as { reasoning_content?: string }).reasoning_content ?? '');
    expect(finishes.filter((f) => f !== null)).toEqual(['length']);
    expect(usage!.completion_tokens).toBe(20);
  });

  it('stop: the answer ends before the stop string, finish_reason stop', async () => {
    const free = await client.chat.completions.create({ model: 'x', messages: MESSAGES, ...SAMPLED, max_tokens: 60, ...NO_LOOP_GUARD });
    const text = free.choices[0].message.content ?? '';
    const at = text.search(/(?<=^.{3,})[!-~]{3}/su); // three printable ASCII characters, not at the very start
    expect(at).toBeGreaterThan(0);
    const stop = text.slice(at, at + 3);
    const cut = await client.chat.completions.create({ model: 'x', messages: MESSAGES, ...SAMPLED, max_tokens: 60, stop: [stop], ...NO_LOOP_GUARD });
    expect(cut.choices[0].finish_reason).toBe('stop');
    expect(cut.choices[0].message.content).toBe(text.slice(0, text.indexOf(stop)));
  });

  it('a bad request is a BadRequestError (400) whose param names the field', async () => {
    const e = await client.chat.completions.create({ model: 'x', messages: [{ role: 'user', content: [{ type: 'text', text: 5 as unknown as string }] }] }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(BadRequestError);
    expect((e as BadRequestError).status).toBe(400);
    expect((e as BadRequestError).param).toBe('messages[0].content[0].text');
    const s = await client.chat.completions.create({ model: 'x', messages: MESSAGES, stop: 5 as unknown as string }).catch((x: unknown) => x);
    expect((s as BadRequestError).param).toBe('stop');
  });
});

describe('the openai client against createLfmServer (in process)', () => {
  const servers: Server[] = [];
  let real: Lfm;
  beforeAll(async () => {
    real = await loadLfm({ gguf: bytesSource(bytes, 'tiny.gguf') }, { engine: 'reference' });
  });
  afterAll(() => Promise.all(servers.map((s) => new Promise((r) => s.close(r)))));

  async function clientFor(lfm: Lfm): Promise<OpenAI> {
    const server = createLfmServer(lfm);
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return new OpenAI({ baseURL: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`, apiKey: 'unused', maxRetries: 0 });
  }

  it('tools: tool_calls with JSON arguments and finish_reason tool_calls (scripted model, real tokenizer), streamed too', async () => {
    const tk = real.tokenizer;
    const script = [tk.toolCallStartId!, ...tk.encode('[get_weather(city="Paris", days=2)]'), tk.toolCallEndId!, tk.eosId];
    const lfm = createLfm('scripted', scriptedEngine(tk.sampleable.length, (g) => script[g.length] ?? tk.eosId), tk, null, { temperature: 0 });
    const client = await clientFor(lfm);
    const tools: OpenAI.ChatCompletionTool[] = [
      { type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' }, days: { type: 'integer' } }, required: ['city'] } } },
    ];
    const r = await client.chat.completions.create({ model: 'scripted', messages: MESSAGES, tools, tool_choice: 'auto' });
    expect(r.choices[0].finish_reason).toBe('tool_calls');
    const call = r.choices[0].message.tool_calls![0] as OpenAI.ChatCompletionMessageFunctionToolCall;
    expect(call.type).toBe('function');
    expect(call.function.name).toBe('get_weather');
    expect(JSON.parse(call.function.arguments)).toEqual({ city: 'Paris', days: 2 });
    // The assistant turn goes back into the history as the client built it, with the tool's answer.
    const next = await client.chat.completions.create({ model: 'scripted', messages: [...MESSAGES, r.choices[0].message, { role: 'tool', tool_call_id: call.id, content: '{"temp": 21}' }], tools });
    expect(next.choices[0].finish_reason).toBe('tool_calls');
    const stream = await client.chat.completions.create({ model: 'scripted', messages: MESSAGES, tools, tool_choice: { type: 'function', function: { name: 'get_weather' } }, stream: true });
    const deltas: OpenAI.ChatCompletionChunk.Choice.Delta.ToolCall[] = [];
    let finish: string | null = null;
    for await (const c of stream) {
      deltas.push(...(c.choices[0]?.delta.tool_calls ?? []));
      finish = c.choices[0]?.finish_reason ?? finish;
    }
    expect(deltas.map((d) => d.function?.name)).toEqual(['get_weather']);
    expect(finish).toBe('tool_calls');
  });

  /**
   * The real model, but every decode step first lets the event loop turn, as the engine in workers will (issue 8),
   * and it never ends its turn by itself (end-of-turn logits -inf): only max_tokens or an abort stop it.
   */
  function yieldingEngine(engine: Engine, stopIds: readonly number[], onDecode: (n: number) => void): Engine & { decodes: number } {
    const endless = (l: Float32Array) => {
      for (const id of stopIds) l[id] = -Infinity;
      return l;
    };
    const e = {
      ...engine,
      decodes: 0,
      get position() {
        return engine.position;
      },
      prefill: async (t: readonly number[]) => endless(await engine.prefill(t)),
      decode: async (t: number) => {
        onDecode(++e.decodes);
        await new Promise((r) => setImmediate(r));
        return endless(await engine.decode(t));
      },
    };
    return e;
  }

  it('abort: the client AbortController ends the request and the server stops generating (streamed and not)', async () => {
    let abortAt = Infinity;
    const ac = { current: new AbortController() };
    const engine = yieldingEngine(real.engine, real.tokenizer.stopIds, (n) => n === abortAt && ac.current.abort());
    const client = await clientFor(createLfm(real.name, engine, real.tokenizer, null, real.defaults));
    const long = { model: 'x', messages: MESSAGES, ...SAMPLED, max_tokens: 3000, ...NO_LOOP_GUARD };

    // Not streamed: the promise rejects with APIUserAbortError.
    abortAt = 5;
    const e = await client.chat.completions.create(long, { signal: ac.current.signal }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(APIUserAbortError);
    // The next request waits its turn: by then the aborted generation has ended, early.
    const next = await client.chat.completions.create({ ...long, max_tokens: 8 });
    expect(next.choices[0].finish_reason).toBe('length');
    expect(engine.decodes).toBeLessThan(100); // 3000 + 8 had the abort gone unnoticed

    // Streamed: the client's iteration ends (openai's Stream ends quietly on abort) after a few chunks.
    const before = engine.decodes;
    abortAt = Infinity;
    ac.current = new AbortController();
    const stream = await client.chat.completions.create({ ...long, stream: true }, { signal: ac.current.signal });
    let chunks = 0;
    for await (const _ of stream) if (++chunks === 3) ac.current.abort();
    expect(chunks).toBeLessThan(10);
    await client.chat.completions.create({ ...long, max_tokens: 8 });
    expect(engine.decodes - before).toBeLessThan(100);
  });

  // The same check with the engine as loadLfm builds it (no yield added): in workers (worker_threads), so the
  // server's event loop sees the client go away between two tokens. (With the engine on the server's own thread
  // and no yield, the generation ran to its end first: 3000 decodes.)
  it('abort with the engine as loadLfm builds it stops the generation early', async () => {
    const lfm = await loadLfm({ gguf: bytesSource(bytes, 'tiny.gguf') });
    let decodes = 0;
    const decode = lfm.engine.decode.bind(lfm.engine);
    const prefill = lfm.engine.prefill.bind(lfm.engine);
    const endless = (l: Float32Array) => (lfm.tokenizer.stopIds.forEach((id) => (l[id] = -Infinity)), l); // only max_tokens or an abort stop it
    lfm.engine.prefill = async (t) => endless(await prefill(t));
    lfm.engine.decode = async (t) => {
      if (++decodes === 5) ac.abort();
      return endless(await decode(t));
    };
    const ac = new AbortController();
    const client = await clientFor(lfm);
    const e = await client.chat.completions.create({ model: 'x', messages: MESSAGES, ...SAMPLED, max_tokens: 3000, ...NO_LOOP_GUARD }, { signal: ac.signal }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(APIUserAbortError);
    await client.chat.completions.create({ model: 'x', messages: MESSAGES, max_tokens: 1 });
    expect(decodes).toBeLessThan(100);
  });
});
