// `lfm serve`: the OpenAI-compatible HTTP server on 127.0.0.1, driven with fetch.

import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bytesSource } from '../reference/bytes.js';
import { concatParts } from '../reference/gguf.js';
import { loadLfm } from '../src/lfm.js';
import { createLfmServer } from '../src/node/server.js';
import { synthGguf, synthModel } from '../src/synth/random-model.js';
import { TINY_SHAPES } from '../src/synth/shapes.js';

let server: Server;
let base = '';
const log: { path: string; status: number }[] = [];
const BODY = { messages: [{ role: 'user', content: 'What is 2+2?' }], seed: 3, temperature: 0.8, max_tokens: 16, loop_guard: { enabled: false } };

beforeAll(async () => {
  // The reference engine: these tests are about the server, and its output is engine-independent by construction.
  const lfm = await loadLfm({ gguf: bytesSource(concatParts(synthGguf(synthModel(TINY_SHAPES[0]), 'Q8_0')), 'tiny.gguf') }, { engine: 'reference' });
  server = createLfmServer(lfm, { maxBodyBytes: 64 * 1024, onRequest: (r) => log.push(r) });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise((r) => server.close(r)));

const post = (body: unknown, raw?: string) => fetch(`${base}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: raw ?? JSON.stringify(body) });

/** The `data:` payloads of an SSE body. */
function sse(text: string): string[] {
  return text.split('\n\n').filter(Boolean).map((e) => {
    expect(e.startsWith('data: ')).toBe(true);
    return e.slice(6);
  });
}

describe('lfm serve', () => {
  it('GET /health and /v1/models', async () => {
    expect(await (await fetch(`${base}/health`)).json()).toEqual({ status: 'ok' });
    const models = await (await fetch(`${base}/v1/models`)).json();
    expect(models.data[0]).toMatchObject({ id: 'tiny-gqa4', object: 'model' });
  });

  it('POST /v1/chat/completions: a chat.completion; streaming gives the same text as SSE ending in [DONE]', async () => {
    const r = await post(BODY);
    expect(r.status).toBe(200);
    const whole = await r.json();
    expect(whole).toMatchObject({ object: 'chat.completion', choices: [{ finish_reason: 'length' }], usage: { completion_tokens: 16 } });

    const s = await post({ ...BODY, stream: true });
    expect(s.headers.get('content-type')).toBe('text/event-stream');
    const events = sse(await s.text());
    expect(events.at(-1)).toBe('[DONE]');
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e));
    expect(chunks.every((c) => c.object === 'chat.completion.chunk')).toBe(true);
    expect(chunks.map((c) => c.choices[0].delta.content ?? '').join('')).toBe(whole.choices[0].message.content ?? '');
    expect(chunks.map((c) => c.choices[0].delta.reasoning_content ?? '').join('')).toBe(whole.choices[0].message.reasoning_content ?? '');
  });

  it.each([
    ['bad JSON', 400, () => post(null, '{"messages": ['), /not valid JSON/],
    ['not an object', 400, () => post([1, 2]), /JSON object/],
    ['an option out of range', 400, () => post({ ...BODY, top_p: 5 }), /top_p/],
    ['an unsupported option', 400, () => post({ ...BODY, n: 3 }), /n = 3/],
    ['a bad role', 400, () => post({ messages: [{ role: 'wizard', content: 'x' }] }), /role/],
    ['a prompt longer than the context', 400, () => post({ messages: [{ role: 'user', content: 'word '.repeat(5000) }] }), /context/],
    ['a body over the limit', 413, () => post({ messages: [{ role: 'user', content: 'x'.repeat(70 * 1024) }] }), /over 65536 bytes/],
    ['GET on the chat route', 405, () => fetch(`${base}/v1/chat/completions`), /POST/],
    ['an unknown route', 404, () => fetch(`${base}/v2/nothing`), /no route/],
  ] as const)('%s -> %i with an OpenAI-shaped error', async (_what, status, send, msg) => {
    const r = await send();
    expect(r.status).toBe(status);
    const body = await r.json();
    expect(body.error.message).toMatch(msg);
    expect(typeof body.error.type).toBe('string');
  });

  it('a client that disconnects mid-stream stops its generation; the server goes on serving', async () => {
    const ac = new AbortController();
    const r = await fetch(`${base}/v1/chat/completions`, { method: 'POST', body: JSON.stringify({ ...BODY, stream: true, max_tokens: 3000 }), signal: ac.signal });
    const reader = r.body!.getReader();
    await reader.read(); // the first chunk arrived: generation is under way
    ac.abort();
    const next = await post(BODY);
    expect(next.status).toBe(200);
    expect((await next.json()).usage.completion_tokens).toBe(16);
  });
});
