// The chat page's HTTP server (`lfm web`), for Node (node:http): the static files of web/ with the headers that
// make the page cross-origin isolated, so the engine can run threads over a shared memory.
//
//   GET /                 web/index.html
//   GET /config.json      { model, endpoint, autoload }: what the page loads (the hub id or URL given, the hub
//                         endpoint from HF_ENDPOINT)
//   GET /models/<name>    the local .gguf given with --model, with Range support (the page downloads it into its
//                         cache like any URL, same origin: no CORS needed)
//   GET /<file>           the other files of web/ (style.css, dist/app.js, ...)
//
// Every response has Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp (so
// `crossOriginIsolated` is true) and Cross-Origin-Resource-Policy: same-origin. The hub is another origin: the page
// fetches it in CORS mode, which the Hugging Face hub (and any mirror in HF_ENDPOINT) must allow.

import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { basename, extname, join, resolve, sep } from 'node:path';

export interface WebServerOptions {
  /** The folder with index.html (web/). */
  webDir: string;
  /** What the page loads first: a hub id or a URL (or, with `modelFile`, nothing: the file's URL is used). */
  model?: string;
  /** A local .gguf to serve at /models/<name> and load. */
  modelFile?: string;
  /** The hub endpoint the page talks to (HF_ENDPOINT); default: the hub's own. */
  endpoint?: string;
  /** Load the model as soon as the page opens (default: true when a model was given). */
  autoload?: boolean;
  /** Called once per request (for a log line). */
  onRequest?: (r: { method: string; path: string; status: number }) => void;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.gguf': 'application/octet-stream',
};

/** The headers that make a page cross-origin isolated (and its own files loadable under COEP). */
export const ISOLATION_HEADERS = {
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-embedder-policy': 'require-corp',
  'cross-origin-resource-policy': 'same-origin',
} as const;

export function createWebServer(opts: WebServerOptions): Server {
  const webDir = resolve(opts.webDir);
  const modelName = opts.modelFile ? basename(opts.modelFile) : null;
  const autoload = opts.autoload ?? (opts.model !== undefined || opts.modelFile !== undefined);

  const handle = (req: IncomingMessage, res: ServerResponse): number => {
    const send = (status: number, body: string | Buffer, headers: Record<string, string | number> = {}) => {
      res.writeHead(status, { ...ISOLATION_HEADERS, 'cache-control': 'no-cache', ...headers });
      res.end(req.method === 'HEAD' ? undefined : body);
      return status;
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'method not allowed', { allow: 'GET, HEAD' });
    let path: string;
    try {
      path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    } catch {
      return send(400, 'bad path');
    }

    if (path === '/config.json') {
      const model = modelName ? `http://${req.headers.host ?? 'localhost'}/models/${encodeURIComponent(modelName)}` : opts.model;
      return send(200, JSON.stringify({ model, endpoint: opts.endpoint, autoload }), { 'content-type': TYPES['.json'] });
    }
    if (modelName && path === `/models/${modelName}`) return sendFile(req, res, opts.modelFile!, true);

    const rel = path === '/' ? 'index.html' : path.slice(1);
    const file = resolve(webDir, rel);
    if (!(file === webDir || file.startsWith(webDir + sep)) || rel.split('/').some((s) => s.startsWith('.'))) return send(404, 'not found');
    if (!existsSync(file) || !statSync(file).isFile()) return send(404, 'not found');
    return sendFile(req, res, file, false);
  };

  return createServer((req, res) => {
    const status = handle(req, res);
    opts.onRequest?.({ method: req.method ?? '', path: req.url ?? '', status });
  });
}

/** A file, whole or one `bytes=a-b` range (what a resumable download asks for). */
function sendFile(req: IncomingMessage, res: ServerResponse, file: string, ranges: boolean): number {
  const size = statSync(file).size;
  const headers: Record<string, string | number> = {
    ...ISOLATION_HEADERS,
    'content-type': TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream',
    'cache-control': 'no-cache',
  };
  if (ranges) headers['accept-ranges'] = 'bytes';
  let start = 0;
  let end = size - 1;
  let status = 200;
  const m = ranges ? /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '') : null;
  if (m) {
    start = Number(m[1]);
    end = m[2] ? Math.min(Number(m[2]), size - 1) : size - 1;
    if (start >= size || start > end) {
      res.writeHead(416, { ...headers, 'content-range': `bytes */${size}` }).end();
      return 416;
    }
    status = 206;
    headers['content-range'] = `bytes ${start}-${end}/${size}`;
  }
  headers['content-length'] = end - start + 1;
  res.writeHead(status, headers);
  if (req.method === 'HEAD' || size === 0) res.end();
  else createReadStream(file, { start, end }).pipe(res);
  return status;
}

/** web/ of this package: found by walking up from this file to lfm.ts's package.json (checkout or install). */
export function packageWebDir(from: string): string | null {
  let dir = from;
  for (let i = 0; i < 6; i++) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && existsSync(join(dir, 'web', 'index.html'))) return join(dir, 'web');
    const up = resolve(dir, '..');
    if (up === dir) break;
    dir = up;
  }
  return null;
}
