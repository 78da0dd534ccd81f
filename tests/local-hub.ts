// A local stand-in for the Hugging Face hub on 127.0.0.1, in the hub's URL layout, for tests and benchmarks that
// run a browser against it (the Node tests in sources.test.ts and cli-hub.test.ts keep their own, with more knobs):
//
//   GET /api/models/{repo}/tree/{rev}        the listing: [{ type, path, size, oid, lfs: { oid: sha256, size } }]
//   GET /{repo}/resolve/{rev}/{path}          the file; `Range: bytes=N-` answered with 206 + Content-Range
//
// CORS as the hub does it, since a page on another origin fetches from it: Access-Control-Allow-Origin: *, the
// headers the download code reads exposed (Content-Range, Link, X-Error-Code, ...), preflights answered (Range and
// Authorization are not safelisted headers everywhere). Every request is logged, so a test can count downloads.

import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface HubRequest {
  method: string;
  path: string;
  range: string | undefined;
}

export interface LocalHub {
  /** http://127.0.0.1:port */
  endpoint: string;
  requests: HubRequest[];
  /** Requests for the repo's files (not listings, not preflights). */
  downloads(): HubRequest[];
  /** The next GET of `path` sends `after` bytes, then the connection is cut. */
  cutOnce(path: string, after: number): void;
  close(): Promise<void>;
}

const CORS = {
  'access-control-allow-origin': '*',
  'access-control-expose-headers': 'content-range, content-length, accept-ranges, etag, link, x-error-code, x-error-message, x-repo-commit',
};

/** Requests past this count get 503: a runaway client stops here. */
const MAX_REQUESTS = 500;

/** Serves `files` (path -> bytes; .gguf and .safetensors as LFS files with a sha256) as `repo` at revision main. */
export async function startLocalHub(repo: string, files: Record<string, Uint8Array>): Promise<LocalHub> {
  const requests: HubRequest[] = [];
  const cuts = new Map<string, number>();
  const listing = Object.entries(files).map(([path, bytes]) => {
    const lfs = /\.(gguf|safetensors)$/.test(path);
    const sha = createHash('sha256').update(bytes).digest('hex');
    const oid = createHash('sha1').update(bytes).digest('hex');
    return { type: 'file', oid, size: lfs ? 134 : bytes.length, path, ...(lfs ? { lfs: { oid: sha, size: bytes.length, pointerSize: 134 } } : {}) };
  });

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const path = decodeURIComponent(url.pathname);
    requests.push({ method: req.method ?? '', path, range: req.headers.range });
    if (requests.length > MAX_REQUESTS) return void res.writeHead(503, CORS).end();
    if (req.method === 'OPTIONS') {
      return void res.writeHead(204, {
        ...CORS, 'access-control-allow-methods': 'GET, HEAD', 'access-control-allow-headers': 'range, authorization, accept', 'access-control-max-age': '600',
      }).end();
    }
    if (path === `/api/models/${repo}/tree/main`) {
      return void res.writeHead(200, { ...CORS, 'content-type': 'application/json' }).end(JSON.stringify(listing));
    }
    const prefix = `/${repo}/resolve/main/`;
    const bytes = path.startsWith(prefix) ? files[path.slice(prefix.length)] : undefined;
    if (!bytes) return void res.writeHead(404, { ...CORS, 'x-error-code': 'EntryNotFound' }).end('not found');
    const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    const from = m ? Number(m[1]) : 0;
    if (from >= bytes.length && m) return void res.writeHead(416, { ...CORS, 'content-range': `bytes */${bytes.length}` }).end();
    res.writeHead(m ? 206 : 200, {
      ...CORS, 'content-type': 'application/octet-stream', 'accept-ranges': 'bytes', 'content-length': bytes.length - from,
      ...(m ? { 'content-range': `bytes ${from}-${bytes.length - 1}/${bytes.length}` } : {}),
    });
    if (req.method === 'HEAD') return void res.end();
    const cut = cuts.get(path.slice(prefix.length));
    if (cut !== undefined) {
      cuts.delete(path.slice(prefix.length));
      // (the bytes get time to reach the client before the connection drops)
      res.write(bytes.subarray(from, from + cut), () => setTimeout(() => res.socket?.destroy(), 200));
      return;
    }
    res.end(bytes.subarray(from));
  };

  const server: Server = createServer(handle);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    endpoint,
    requests,
    downloads: () => requests.filter((r) => r.method === 'GET' && r.path.includes('/resolve/')),
    cutOnce: (path, after) => void cuts.set(path, after),
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
