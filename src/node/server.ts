// An OpenAI-compatible HTTP server over one loaded model (`lfm serve`), for Node (node:http).
//
//   POST /v1/chat/completions   the in-process surface (src/openai.ts) as JSON, or as server-sent events with
//                               "stream": true (ending with `data: [DONE]`)
//   GET  /v1/models             the one model served
//   GET  /health                {"status": "ok"}
//
// Requests are served one at a time in arrival order (one engine; each request reuses the engine state of the
// previous ones for the prompt prefix they share). A client that disconnects aborts its generation. Errors have
// OpenAI's shape `{"error": {"message", "type", "param", "code"}}`: 400 for a bad request (bad JSON, bad
// messages, an option out of range, a prompt longer than the context), 404, 405, 413 for a body over the limit,
// 500 otherwise.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { LfmError } from '../../reference/errors.js';
import type { Lfm } from '../lfm.js';
import { SSE_DONE, toSSE, type ChatCompletionChunk, type ChatCompletionCreateParams } from '../openai.js';

export interface ServeOptions {
  /** Largest accepted request body in bytes. Default 8 MiB. */
  maxBodyBytes?: number;
  /** Called once per finished request (for a log line). */
  onRequest?: (r: { method: string; path: string; status: number; ms: number }) => void;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly type = 'invalid_request_error',
    readonly code: string | null = null,
  ) {
    super(message);
  }
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

async function readJson(req: IncomingMessage, limit: number): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req as AsyncIterable<Buffer>) {
    size += c.length;
    if (size > limit) throw new HttpError(413, `request body over ${limit} bytes`);
    chunks.push(c);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch (e) {
    throw new HttpError(400, `request body is not valid JSON: ${(e as Error).message}`);
  }
}

/** Creates (does not start) the server; call `.listen(port, host)`. */
export function createLfmServer(lfm: Lfm, options: ServeOptions = {}): Server {
  const limit = options.maxBodyBytes ?? 8 * 2 ** 20;
  const created = Math.floor(Date.now() / 1000);

  async function chatCompletions(req: IncomingMessage, res: ServerResponse): Promise<number> {
    const body = await readJson(req, limit);
    if (!body || typeof body !== 'object' || Array.isArray(body)) throw new HttpError(400, 'request body must be a JSON object');
    const controller = new AbortController();
    // 'close' on the response fires when the client goes away before we finished: stop generating.
    res.on('close', () => {
      if (!res.writableFinished) controller.abort();
    });
    const params = { ...(body as ChatCompletionCreateParams), signal: controller.signal };
    if (!params.stream) {
      const r = await lfm.chat.completions.create({ ...params, stream: false });
      sendJson(res, 200, r);
      return 200;
    }
    const chunks = (await lfm.chat.completions.create({ ...params, stream: true })) as AsyncIterable<ChatCompletionChunk>;
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    for await (const c of chunks) {
      if (controller.signal.aborted) break;
      res.write(toSSE(c));
    }
    res.end(SSE_DONE);
    return 200;
  }

  return createServer((req, res) => {
    const t0 = Date.now();
    const path = (req.url ?? '/').split('?')[0];
    const done = (status: number) => options.onRequest?.({ method: req.method ?? '', path, status, ms: Date.now() - t0 });
    (async (): Promise<number> => {
      if (path === '/health') {
        sendJson(res, 200, { status: 'ok' });
        return 200;
      }
      if (path === '/v1/models') {
        sendJson(res, 200, { object: 'list', data: [{ id: lfm.name, object: 'model', created, owned_by: 'lfm.ts' }] });
        return 200;
      }
      if (path === '/v1/chat/completions') {
        if (req.method !== 'POST') throw new HttpError(405, 'use POST');
        return chatCompletions(req, res);
      }
      throw new HttpError(404, `no route ${req.method} ${path}`, 'not_found_error');
    })().then(done, (e: unknown) => {
      const err =
        e instanceof HttpError
          ? e
          : e instanceof LfmError
            ? new HttpError(400, e.message, 'invalid_request_error', e.code)
            : new HttpError(500, e instanceof Error ? e.message : String(e), 'server_error');
      if (!res.headersSent) sendJson(res, err.status, { error: { message: err.message, type: err.type, param: null, code: err.code } });
      else res.end();
      done(err.status);
    });
  });
}
