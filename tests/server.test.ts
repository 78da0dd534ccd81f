// `lfm serve`: the OpenAI-compatible HTTP server on 127.0.0.1, driven with fetch and node:http.

import { Agent, request, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bytesSource } from '../reference/bytes.js';
import { concatParts } from '../reference/gguf.js';
import { loadLfm, type Lfm } from '../src/lfm.js';
import { createLfmServer, type ServeOptions } from '../src/node/server.js';
import { synthGguf, synthModel } from '../src/synth/random-model.js';
import { TINY_SHAPES } from '../src/synth/shapes.js';
import { BAD_REQUESTS, requestJson } from './bad-requests.js';

const LIMIT = 1024 * 1024;
let lfm: Lfm;
let server: Server;
let base = '';
const servers: Server[] = [];
const log: { path: string; status: number }[] = [];
const BODY = { messages: [{ role: 'user', content: 'What is 2+2?' }], seed: 3, temperature: 0.8, max_tokens: 16, loop_guard: { enabled: false } };

async function serve(options: ServeOptions): Promise<string> {
  const s = createLfmServer(lfm, options);
  servers.push(s);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
}

beforeAll(async () => {
  // The reference engine: these tests are about the server, and its output is engine-independent by construction.
  lfm = await loadLfm({ gguf: bytesSource(concatParts(synthGguf(synthModel(TINY_SHAPES[0]), 'Q8_0')), 'tiny.gguf') }, { engine: 'reference' });
  base = await serve({ maxBodyBytes: LIMIT, onRequest: (r) => log.push(r) });
  server = servers[0];
});
afterAll(() => Promise.all(servers.map((s) => new Promise((r) => s.close(r)))));

const post = (body: unknown, raw?: string) => fetch(`${base}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: raw ?? JSON.stringify(body) });

/** The `data:` payloads of an SSE body. */
function sse(text: string): string[] {
  return text.split('\n\n').filter(Boolean).map((e) => {
    expect(e.startsWith('data: ')).toBe(true);
    return e.slice(6);
  });
}

/** One request through node:http (so the agent, and so the connection, is ours). */
function raw(url: string, opts: { method: string; body?: string | Buffer; agent?: Agent; headers?: Record<string, string> }): Promise<{ status: number; headers: IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: opts.method, agent: opts.agent, headers: { 'content-type': 'application/json', ...opts.headers } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

describe('lfm serve', () => {
  it('GET /health, /v1/models and /v1/models/<id>', async () => {
    expect(await (await fetch(`${base}/health`)).json()).toEqual({ status: 'ok' });
    const models = await (await fetch(`${base}/v1/models`)).json();
    expect(models.data[0]).toMatchObject({ id: 'tiny-gqa4', object: 'model' });
    expect(await (await fetch(`${base}/v1/models/tiny-gqa4`)).json()).toMatchObject({ id: 'tiny-gqa4', object: 'model' });
    const other = await fetch(`${base}/v1/models/gpt-4o`);
    expect(other.status).toBe(404);
    expect((await other.json()).error.code).toBe('model_not_found');
  });

  it('POST /v1/chat/completions: a chat.completion; streaming gives the same text as SSE ending in [DONE]', async () => {
    const r = await post(BODY);
    expect(r.status).toBe(200);
    const whole = await r.json();
    expect(whole).toMatchObject({ object: 'chat.completion', model: 'tiny-gqa4', system_fingerprint: 'lfm.ts-reference', choices: [{ finish_reason: 'length' }], usage: { completion_tokens: 16 } });

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
    ['a prompt longer than the context, streamed', 400, () => post({ stream: true, messages: [{ role: 'user', content: 'word '.repeat(5000) }] }), /context/],
    ['a body over the limit', 413, () => post({ messages: [{ role: 'user', content: 'x'.repeat(LIMIT + 1) }] }), /over 1048576 bytes/],
    ['GET on the chat route', 405, () => fetch(`${base}/v1/chat/completions`), /not allowed/],
    ['POST /health', 405, () => fetch(`${base}/health`, { method: 'POST' }), /not allowed/],
    ['DELETE /v1/models', 405, () => fetch(`${base}/v1/models`, { method: 'DELETE' }), /not allowed/],
    ['an unknown route', 404, () => fetch(`${base}/v2/nothing`), /no route/],
  ] as const)('%s -> %i with an OpenAI-shaped error', async (_what, status, send, msg) => {
    const r = await send();
    expect(r.status).toBe(status);
    const body = await r.json();
    expect(body.error.message).toMatch(msg);
    expect(typeof body.error.type).toBe('string');
    if (status === 405) expect(r.headers.get('allow')).toMatch(/^(GET, HEAD|POST), OPTIONS$/);
  });

  it.each(BAD_REQUESTS)('%s -> 400, error.param names the field', async (_what, params, param) => {
    const r = await post(null, requestJson({ max_tokens: 4, ...params }));
    expect(r.status).toBe(400);
    const body = await r.json();
    expect(body.error).toMatchObject({ type: 'invalid_request_error', param });
  });

  it('OPTIONS on a route: 204 with Allow; without --cors no CORS headers', async () => {
    const r = await fetch(`${base}/v1/chat/completions`, { method: 'OPTIONS', headers: { origin: 'https://app.example', 'access-control-request-method': 'POST' } });
    expect(r.status).toBe(204);
    expect(r.headers.get('allow')).toBe('POST, OPTIONS');
    expect(r.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('after a 413 the connection is closed, and the next request on the same keep-alive agent is served', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const big = JSON.stringify({ messages: [{ role: 'user', content: 'x'.repeat(LIMIT * 2) }] });
      // Without content-length (chunked), so the limit is found while reading, as with a client that streams.
      const r1 = await raw(`${base}/v1/chat/completions`, { method: 'POST', body: big, agent, headers: { 'transfer-encoding': 'chunked' } });
      expect(r1.status).toBe(413);
      expect(r1.headers.connection).toBe('close');
      const r2 = await raw(`${base}/v1/chat/completions`, { method: 'POST', body: JSON.stringify(BODY), agent });
      expect(r2.status).toBe(200);
      const r3 = await raw(`${base}/v1/chat/completions`, { method: 'POST', body: big, agent }); // with content-length
      expect(r3.status).toBe(413);
      expect((await raw(`${base}/health`, { method: 'GET', agent })).status).toBe(200);
    } finally {
      agent.destroy();
    }
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

  it('never answers 500 to any request above', () => {
    expect(log.length).toBeGreaterThan(BAD_REQUESTS.length);
    expect(log.filter((r) => r.status >= 500)).toEqual([]);
    expect(server.listening).toBe(true);
  });
});

describe('lfm serve --cors', () => {
  it('an allowed origin is echoed (Vary: Origin); another gets no CORS headers; preflight answered', async () => {
    const url = await serve({ cors: ['https://app.example'] });
    const ok = await fetch(`${url}/health`, { headers: { origin: 'https://app.example' } });
    expect(ok.headers.get('access-control-allow-origin')).toBe('https://app.example');
    expect(ok.headers.get('vary')).toBe('Origin');
    const other = await fetch(`${url}/health`, { headers: { origin: 'https://evil.example' } });
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
    const pre = await fetch(`${url}/v1/chat/completions`, {
      method: 'OPTIONS',
      headers: { origin: 'https://app.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type, x-stainless-os' },
    });
    expect(pre.status).toBe(204);
    expect(pre.headers.get('access-control-allow-origin')).toBe('https://app.example');
    expect(pre.headers.get('access-control-allow-methods')).toBe('POST, OPTIONS');
    expect(pre.headers.get('access-control-allow-headers')).toBe('authorization, content-type, x-stainless-os');
    const err = await fetch(`${url}/v1/chat/completions`, { method: 'POST', headers: { origin: 'https://app.example' }, body: '{' });
    expect(err.status).toBe(400);
    expect(err.headers.get('access-control-allow-origin')).toBe('https://app.example'); // errors are readable too
  });

  it("'*' allows every origin, on streamed answers too", async () => {
    const url = await serve({ cors: '*' });
    const r = await fetch(`${url}/v1/chat/completions`, { method: 'POST', headers: { origin: 'https://any.example' }, body: JSON.stringify({ ...BODY, stream: true }) });
    expect(r.headers.get('access-control-allow-origin')).toBe('*');
    expect(sse(await r.text()).at(-1)).toBe('[DONE]');
  });
});
