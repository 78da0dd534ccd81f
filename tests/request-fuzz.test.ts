// Fuzz: the chat.completions request validator (parseChatCompletionParams, src/openai.ts) and everything an
// accepted request reaches (rendering, generation options, one generation), in process and through the HTTP server.
//
// Seeded: FUZZ_SEED replays a run (the seed is printed with any failure). Cases: valid request bodies of every kind
// (tools, tool history, stop lists, streaming, extensions), mutated 1-4 times: a field set to a value of another
// type (null, numbers at the edges, strings with control tokens, 30,000-character strings, 10,000-element arrays,
// nesting 100 to 5,000 levels deep, anything fast-check makes), a field removed, an unknown field added; plus every
// position of every seed set to null. The only outcomes allowed are: accepted (and then generation works or
// fails with an LfmError), or an InputError whose param names a field. Through HTTP: 200, 400 or 413, never 500.

import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bytesSource } from '../reference/bytes.js';
import { InputError, LfmError } from '../reference/errors.js';
import { concatParts, readGguf } from '../reference/gguf.js';
import { createLfm, type Lfm } from '../src/lfm.js';
import { createLfmServer } from '../src/node/server.js';
import { parseChatCompletionParams, type ChatCompletionCreateParams } from '../src/openai.js';
import { synthGguf, synthModel } from '../src/synth/random-model.js';
import { TINY_SHAPES } from '../src/synth/shapes.js';
import { Lfm2Tokenizer } from '../src/tokenizer/tokenizer.js';
import { BAD_REQUESTS, deepSchema, requestJson } from './bad-requests.js';
import { scriptedEngine } from './scripted-engine.js';

// FUZZ_SEED, fixed by default so CI runs the same cases every time (the vitest configs draw a fresh FC_SEED per run
// for the property tests; the fuzzers, as tests/fuzz/, keep theirs unless told)
const SEED = process.env.FUZZ_SEED !== undefined && process.env.FUZZ_SEED.trim() !== '' ? Number(process.env.FUZZ_SEED) : 20261201;
if (!Number.isSafeInteger(SEED)) throw new Error(`FUZZ_SEED='${process.env.FUZZ_SEED}' is not an integer`);
const IN_PROCESS_CASES = 10_000;
const HTTP_CASES = 200;

// --- seeds: valid requests of every kind ---------------------------------------------------------------------

const TOOLS = [
  { type: 'function', function: { name: 'get_weather', description: 'Weather', parameters: { type: 'object', properties: { city: { type: 'string' }, days: { type: 'integer' } }, required: ['city'] } } },
  { name: 'get_time', parameters: { type: 'object', properties: {} } },
];
const SEEDS: Record<string, unknown>[] = [
  { model: 'x', messages: [{ role: 'user', content: 'What is 2+2?' }] },
  { messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: [{ type: 'text', text: 'hi' }, { type: 'text', text: ' there' }] }], temperature: 0.5, top_p: 0.9, seed: 7, max_tokens: 3 },
  { messages: [{ role: 'user', content: 'Weather?' }], tools: TOOLS, tool_choice: 'auto', parallel_tool_calls: true },
  { messages: [{ role: 'user', content: 'Weather?' }], tools: TOOLS, tool_choice: { type: 'function', function: { name: 'get_time' } }, max_completion_tokens: 4 },
  {
    messages: [
      { role: 'user', content: 'Weather in Paris?' },
      { role: 'assistant', content: null, reasoning_content: 'look it up', tool_calls: [{ id: 'c1', type: 'function', function: { name: 'get_weather', arguments: '{"city": "Paris"}' } }] },
      { role: 'tool', tool_call_id: 'c1', name: 'get_weather', content: '{"temp": 21}' },
    ],
    tools: TOOLS,
    tool_choice: 'required',
  },
  { messages: [{ role: 'user', content: 'x' }], stream: true, stream_options: { include_usage: true }, stop: ['a', 'b'], presence_penalty: 0.5, frequency_penalty: -0.5 },
  { messages: [{ role: 'user', content: 'x' }], top_k: 5, min_p: 0.1, repetition_penalty: 1.1, reasoning_budget: 2, keep_past_thinking: true, loop_guard: { enabled: true, maxPeriod: 10, minRepeats: 2, minSpan: 8, onReasoningLoop: 'stop' } },
  { messages: [{ role: 'user', content: 'x' }], n: 1, logprobs: false, response_format: { type: 'text' }, logit_bias: {}, user: 'u', metadata: { k: 'v' }, store: false, modalities: ['text'] },
];

// --- mutations ---------------------------------------------------------------------------------------------------

const HUGE_STRING = 'x'.repeat(30_000);
const HUGE_ARRAY = Array.from({ length: 10_000 }, (_, i) => i);
const HUGE_MESSAGES = Array.from({ length: 500 }, () => ({ role: 'user', content: 'hi' }));
/** `depth` levels of arrays or objects around a leaf, built without recursion. */
function deep(depth: number, kind: 'array' | 'object'): unknown {
  let v: unknown = 1;
  for (let i = 0; i < depth; i++) v = kind === 'array' ? [v] : { a: v };
  return v;
}
const DEEP = [100, 127, 128, 129, 1000, 5000].flatMap((d) => [deep(d, 'array'), deep(d, 'object')]).concat([deepSchema(3000)]);
/** Freezes a value and everything in it (without recursion): the shared big values must not grow across cases. */
function deepFreeze<T>(v: T): T {
  const stack: unknown[] = [v];
  while (stack.length > 0) {
    const x = stack.pop();
    if (typeof x !== 'object' || x === null || Object.isFrozen(x)) continue;
    Object.freeze(x);
    for (const c of Object.values(x)) stack.push(c);
  }
  return v;
}
for (const v of [HUGE_ARRAY, HUGE_MESSAGES, ...DEEP]) deepFreeze(v);

const nasty: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(null, undefined, true, false, 0, -0, 1, -1, 1.5, 2, 3, 1e308, -1e308, 2 ** 31, 2 ** 32, 2 ** 53, -(2 ** 53), Number.NaN, Infinity, -Infinity),
  fc.constantFrom('', 'x', 'user', 'assistant', 'tool', 'system', 'developer', 'function', 'text', 'image_url', 'auto', 'none', 'required', 'get_weather', '<|im_end|>', '<think>', '</think>', '<|tool_call_start|>', '\uE000\uE100\uE100', '{"a":', '[f(x=1)]', '__proto__', 'constructor'),
  fc.constantFrom(HUGE_STRING, HUGE_ARRAY, HUGE_MESSAGES, ...DEEP),
  fc.constantFrom({}, [], [null], [{}], { type: 'function' }, { type: 'function', function: { name: 'get_time' } }, { type: 'text', text: 5 }, { role: 'user' }, { include_usage: 'yes' }),
  fc.integer(),
  fc.double(),
  fc.string({ maxLength: 20 }),
  fc.anything({ maxDepth: 3, withNullPrototype: true, withBigInt: true, withDate: true, withMap: true, withTypedArray: true, withSparseArray: true }),
);

type Path = (string | number)[];
/** Every path into a value (the root excluded), breadth-first, at most `max`. */
function pathsOf(v: unknown, max = 400): Path[] {
  const out: Path[] = [];
  const queue: [unknown, Path][] = [[v, []]];
  while (queue.length > 0 && out.length < max) {
    const [x, p] = queue.shift()!;
    if (typeof x !== 'object' || x === null) continue;
    for (const [k, c] of Object.entries(x)) {
      const q = [...p, Array.isArray(x) ? Number(k) : k];
      out.push(q);
      queue.push([c, q]);
    }
  }
  return out;
}

function parentOf(root: unknown, path: Path): Record<string | number, unknown> | null {
  let x = root as Record<string | number, unknown>;
  for (const k of path.slice(0, -1)) {
    x = x?.[k] as Record<string | number, unknown>;
    if (typeof x !== 'object' || x === null) return null;
  }
  return x;
}

const op = fc.record({ kind: fc.constantFrom('set', 'set', 'set', 'delete', 'add'), at: fc.nat(), value: nasty, key: fc.oneof(fc.constantFrom('messages', 'tools', 'stop', 'function', 'name', 'content', 'text', 'role', 'type'), fc.string({ maxLength: 8 })) });
const mutated = fc.record({ seed: fc.nat(SEEDS.length - 1), ops: fc.array(op, { minLength: 1, maxLength: 4 }) }).map(({ seed, ops }) => {
  const body = structuredClone(SEEDS[seed]);
  for (const o of ops) {
    try {
      apply(body, o);
    } catch {
      // an operation the target refuses (a typed array's index, a frozen object): skip it
    }
  }
  return body;
});

function apply(body: Record<string, unknown>, o: { kind: string; at: number; value: unknown; key: string }): void {
  {
    const paths = pathsOf(body);
    if (o.kind === 'add' || paths.length === 0) {
      const targets = [[], ...paths].filter((p) => { const x = p.length ? parentOf(body, [...p, 'k'])  : body; return typeof x === 'object' && x !== null; });
      const t = targets[o.at % targets.length] as Path;
      const obj = (t.length ? (parentOf(body, [...t, 'k']) as Record<string, unknown>) : body) as Record<string, unknown>;
      obj[o.key] = o.value;
      return;
    }
    const p = paths[o.at % paths.length];
    const parent = parentOf(body, p);
    if (!parent) return;
    const k = p[p.length - 1];
    if (o.kind === 'delete') {
      if (Array.isArray(parent)) parent.splice(k as number, 1);
      else delete parent[k];
    } else parent[k] = o.value;
  }
}

// --- the system under test ----------------------------------------------------------------------------------------

let tk: Lfm2Tokenizer;
let lfm: Lfm;
beforeAll(async () => {
  const gguf = concatParts(synthGguf(synthModel(TINY_SHAPES[0]), 'F32'));
  tk = Lfm2Tokenizer.fromGguf(await readGguf(bytesSource(gguf, 'tiny.gguf')));
  // A scripted model that ends its turn at once, with a short context: generation is cheap, every path is real.
  lfm = createLfm('fuzz', scriptedEngine(tk.sampleable.length, () => tk.eosId, 512), tk, null, { temperature: 0 });
});

type Outcome = string;
const census = new Map<Outcome, number>();
const count = (o: Outcome) => census.set(o, (census.get(o) ?? 0) + 1);

/** Runs one body through the validator and, when accepted, a whole (non-streamed or streamed) call. */
async function drive(body: unknown): Promise<Outcome> {
  let req;
  try {
    req = parseChatCompletionParams(body);
  } catch (e) {
    if (e instanceof InputError && e.message.length > 0 && (e.param === null || typeof e.param === 'string')) return `rejected ${(e.param ?? '(none)').replace(/\[\d+\]/g, '[]').split('.')[0]}`;
    throw e;
  }
  try {
    const params = { ...(body as ChatCompletionCreateParams), max_tokens: 2, max_completion_tokens: null };
    if (req.stream) {
      for await (const _ of await lfm.chat.completions.create({ ...params, stream: true }));
    } else await lfm.chat.completions.create({ ...params, stream: false });
    return 'accepted, generated';
  } catch (e) {
    if (e instanceof LfmError) return `accepted, then ${e.constructor.name}`;
    throw e;
  }
}

function describeCase(body: unknown): string {
  try {
    const j = requestJson(body);
    return j.length > 600 ? `${j.slice(0, 600)}… (${j.length} characters)` : j;
  } catch {
    return String(body);
  }
}

afterAll(() => {
  const total = [...census.values()].reduce((a, b) => a + b, 0);
  const rows = [...census.entries()].sort((a, b) => b[1] - a[1]).map(([o, n]) => `  ${String(n).padStart(6)}  ${o}`);
  console.log(`request fuzz (FUZZ_SEED=${SEED}): ${total} cases\n${rows.join('\n')}`);
});

describe('fuzz: chat.completions requests', () => {
  it('the reproducers of issue 7 are rejected with the field named (by the validator, or at the call)', async () => {
    for (const [what, params, param] of BAD_REQUESTS) {
      const e = await lfm.chat.completions.create(params as never).then(
        () => null,
        (x: unknown) => x,
      );
      expect(e, what).toBeInstanceOf(InputError);
      expect((e as InputError).param, what).toBe(param);
      count(`regression case: rejected ${param.replace(/\[\d+\]/g, '[]').split('.')[0]}`);
    }
  }, 60_000);

  it('null in every position of every seed: accepted or an InputError, never anything else', async () => {
    let n = 0;
    for (const seed of SEEDS) {
      for (const p of pathsOf(seed)) {
        const body = structuredClone(seed);
        parentOf(body, p)![p[p.length - 1]] = null;
        count(await drive(body));
        n++;
      }
    }
    expect(n).toBeGreaterThan(100);
  });

  it(`${IN_PROCESS_CASES} mutated requests in process: accepted or an InputError naming a field`, async () => {
    await fc.assert(
      fc.asyncProperty(mutated, async (body) => {
        count(await drive(body));
      }),
      { seed: SEED, numRuns: IN_PROCESS_CASES, endOnFailure: true },
    ).catch((e: unknown) => {
      throw new Error(`request fuzz failed; replay with FUZZ_SEED=${SEED}\n${(e as Error).message}\ncause: ${String((e as Error).cause && ((e as Error).cause as Error).stack)}`);
    });
  }, 600_000);

  describe('through the HTTP server', () => {
    let server: Server;
    let base = '';
    const statuses = new Map<number, number>();
    beforeAll(async () => {
      server = createLfmServer(lfm, { maxBodyBytes: 4 * 2 ** 20 });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    afterAll(async () => {
      await new Promise((r) => server.close(r));
      console.log(`request fuzz over HTTP (FUZZ_SEED=${SEED}): ${[...statuses.entries()].map(([s, n]) => `${n} x ${s}`).join(', ')}`);
    });

    it(`${HTTP_CASES} mutated requests: 200, 400 or 413 with an OpenAI error object, never 500`, async () => {
      await fc.assert(
        fc.asyncProperty(mutated, async (body) => {
          const json = requestJson({ ...body, max_tokens: 2, max_completion_tokens: null });
          const r = await fetch(`${base}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: json });
          statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
          const text = await r.text();
          if (![200, 400, 413].includes(r.status)) throw new Error(`status ${r.status}: ${text.slice(0, 300)} for ${describeCase(body)}`);
          if (r.status !== 200) {
            const err = JSON.parse(text).error;
            expect(typeof err.message).toBe('string');
            expect(err.type).toBe('invalid_request_error');
          }
        }),
        { seed: SEED, numRuns: HTTP_CASES, endOnFailure: true },
      ).catch((e: unknown) => {
        throw new Error(`request fuzz (HTTP) failed; replay with FUZZ_SEED=${SEED}\n${(e as Error).message}\ncause: ${String((e as Error).cause && ((e as Error).cause as Error).stack)}`);
      });
    }, 600_000);
  });
});
