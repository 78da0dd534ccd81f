// An OpenAI-compatible HTTP server over one loaded model (`lfm serve`), for Node (node:http).
//
//   POST /v1/chat/completions   the in-process surface (src/openai.ts) as JSON, or as server-sent events with
//                               "stream": true (ending with `data: [DONE]`)
//   GET  /v1/models             the one model served; GET /v1/models/<id> that model (404 for any other id)
//   GET  /health                {"status": "ok"}
//   OPTIONS <any route above>   204 with Allow (and the CORS preflight answer when `cors` allows the origin)
// Another method on a known route is 405 with an Allow header; HEAD is answered like GET, without a body.
//
// Requests take turns on the one engine (src/lfm.ts), in arrival order; each reuses the engine state of the
// previous ones for the prompt prefix they share. A client that disconnects aborts its generation. The request
// body is checked by the one request validator (parseChatCompletionParams, src/openai.ts). Errors have OpenAI's
// shape `{"error": {"message", "type", "param", "code"}}`: 400 for a bad request (bad JSON, a field of the wrong
// type or out of range, a prompt longer than the context: `param` names the field when there is one), 404, 405,
// 413 for a body over the limit (the connection is then closed: the rest of the body is not read), 500 only for a
// fault of ours. An error after a stream has started is sent as a last `data: {"error": ...}` event.
//
// CORS (`cors` option, `lfm serve --cors <origin>`): off by default (same-origin only). '*' allows every origin;
// otherwise a list of exact origins (`https://app.example`), echoed back with `Vary: Origin` when they match.
// Preflights are answered with the methods of the route and the request headers the browser asked for.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { InputError, LfmError } from '../../reference/errors.js';
import type { Lfm } from '../lfm.js';
import { SSE_DONE, toSSE, type ChatCompletionChunk, type ChatCompletionCreateParams } from '../openai.js';

export interface ServeOptions {
  /** Largest accepted request body in bytes. Default 8 MiB. */
  maxBodyBytes?: number;
  /** Origins allowed to call from a browser: '*' for any, or exact origins. Default none (no CORS headers). */
  cors?: string | readonly string[];
  /** Called once per finished request (for a log line). */
  onRequest?: (r: { method: string; path: string; status: number; ms: number }) => void;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly type = 'invalid_request_error',
    readonly code: string | null = null,
    readonly param: string | null = null,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

async function readJson(req: IncomingMessage, limit: number): Promise<unknown> {
  const declared = Number(req.headers['content-length']);
  if (declared > limit) throw new HttpError(413, `request body over ${limit} bytes`, 'invalid_request_error', 'request_too_large', null, { connection: 'close' });
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req as AsyncIterable<Buffer>) {
    size += c.length;
    // Stop reading: the rest of the body stays unread, so this connection cannot carry another request.
    if (size > limit) throw new HttpError(413, `request body over ${limit} bytes`, 'invalid_request_error', 'request_too_large', null, { connection: 'close' });
    chunks.push(c);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch (e) {
    throw new HttpError(400, `request body is not valid JSON: ${(e as Error).message}`);
  }
}

/** The routes and the methods each answers (HEAD and OPTIONS are added to every GET route; OPTIONS to all). */
const ROUTES: { match: (path: string) => boolean; methods: string[] }[] = [
  { match: (p) => p === '/health', methods: ['GET', 'HEAD'] },
  { match: (p) => p === '/v1/models' || p.startsWith('/v1/models/'), methods: ['GET', 'HEAD'] },
  { match: (p) => p === '/v1/chat/completions', methods: ['POST'] },
];

/** The CORS headers for a request, or none when its origin is not allowed (or it has none). */
function corsHeaders(allowed: readonly string[], req: IncomingMessage): Record<string, string> {
  const origin = req.headers.origin;
  if (allowed.length === 0 || origin === undefined) return {};
  if (allowed.includes('*')) return { 'access-control-allow-origin': '*' };
  return allowed.includes(origin) ? { 'access-control-allow-origin': origin, vary: 'Origin' } : { vary: 'Origin' };
}

/** Creates (does not start) the server; call `.listen(port, host)`. */
export function createLfmServer(lfm: Lfm, options: ServeOptions = {}): Server {
  const limit = options.maxBodyBytes ?? 8 * 2 ** 20;
  const created = Math.floor(Date.now() / 1000);
  const origins = options.cors === undefined ? [] : typeof options.cors === 'string' ? [options.cors] : [...options.cors];
  const model = { id: lfm.name, object: 'model', created, owned_by: 'lfm.ts' };

  async function chatCompletions(req: IncomingMessage, res: ServerResponse, headers: Record<string, string>): Promise<number> {
    const body = await readJson(req, limit);
    if (!body || typeof body !== 'object' || Array.isArray(body)) throw new HttpError(400, 'request body must be a JSON object');
    const controller = new AbortController();
    // 'close' on the response fires when the client goes away before we finished: stop generating.
    res.on('close', () => {
      if (!res.writableFinished) controller.abort();
    });
    const params = { ...(body as ChatCompletionCreateParams), signal: controller.signal };
    if (params.stream !== true) {
      const r = await lfm.chat.completions.create({ ...params, stream: params.stream as false | null | undefined });
      sendJson(res, 200, r, headers);
      return 200;
    }
    const chunks = (await lfm.chat.completions.create({ ...params, stream: true })) as AsyncIterable<ChatCompletionChunk>;
    res.writeHead(200, { ...headers, 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    try {
      for await (const c of chunks) {
        if (controller.signal.aborted) break;
        res.write(toSSE(c));
      }
    } catch (e) {
      // Headers are out: the error goes as a last event (as llama.cpp and vLLM send it).
      res.write(`data: ${JSON.stringify({ error: errorBody(toHttpError(e)) })}\n\n`);
    }
    res.end(SSE_DONE);
    return 200;
  }

  return createServer((req, res) => {
    const t0 = Date.now();
    const path = (req.url ?? '/').split('?')[0];
    const method = req.method ?? '';
    const cors = corsHeaders(origins, req);
    const done = (status: number) => options.onRequest?.({ method, path, status, ms: Date.now() - t0 });
    (async (): Promise<number> => {
      const route = ROUTES.find((r) => r.match(path));
      if (!route) throw new HttpError(404, `no route ${method} ${path}`, 'not_found_error');
      const allow = [...route.methods, 'OPTIONS'].join(', ');
      if (method === 'OPTIONS') {
        const preflight = cors['access-control-allow-origin'] !== undefined && req.headers['access-control-request-method'] !== undefined;
        const extra: Record<string, string> = preflight
          ? {
              'access-control-allow-methods': allow,
              'access-control-allow-headers': String(req.headers['access-control-request-headers'] ?? 'authorization, content-type'),
              'access-control-max-age': '600',
              ...(req.headers['access-control-request-private-network'] === 'true' ? { 'access-control-allow-private-network': 'true' } : {}),
            }
          : {};
        res.writeHead(204, { ...cors, ...extra, allow });
        res.end();
        return 204;
      }
      if (!route.methods.includes(method)) throw new HttpError(405, `${method} is not allowed on ${path} (allowed: ${allow})`, 'invalid_request_error', 'method_not_allowed', null, { allow });
      if (path === '/health') {
        sendJson(res, 200, { status: 'ok' }, cors);
        return 200;
      }
      if (path === '/v1/models') {
        sendJson(res, 200, { object: 'list', data: [model] }, cors);
        return 200;
      }
      if (path.startsWith('/v1/models/')) {
        const id = decodeURIComponent(path.slice('/v1/models/'.length));
        if (id !== lfm.name) throw new HttpError(404, `model '${id}' is not served here (this server serves '${lfm.name}')`, 'invalid_request_error', 'model_not_found', 'model');
        sendJson(res, 200, model, cors);
        return 200;
      }
      return chatCompletions(req, res, cors);
    })().then(done, (e: unknown) => {
      const err = toHttpError(e);
      if (!res.headersSent) sendJson(res, err.status, { error: errorBody(err) }, { ...cors, ...err.headers });
      else res.end();
      done(err.status);
    });
  });
}

function toHttpError(e: unknown): HttpError {
  if (e instanceof HttpError) return e;
  if (e instanceof InputError) return new HttpError(400, e.message, 'invalid_request_error', e.code, e.param);
  if (e instanceof LfmError) return new HttpError(400, e.message, 'invalid_request_error', e.code);
  return new HttpError(500, `internal error: ${e instanceof Error ? e.message : String(e)}`, 'server_error');
}

function errorBody(err: HttpError): { message: string; type: string; param: string | null; code: string | null } {
  return { message: err.message, type: err.type, param: err.param, code: err.code };
}
