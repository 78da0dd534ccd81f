// Model sources: spec parsing, hub resolution, resumable verified downloads, caches, and the Node adapter.
//
// Everything network-shaped runs against a local HTTP server on 127.0.0.1 (random port) that serves repos in the
// hub's URL layout: `/api/models/{repo}/tree/{rev}` (listing with lfs sha256 + size, paginated on demand) and
// `/{repo}/resolve/{rev}/{path}` (GET/HEAD, Range). Knobs make it misbehave: cut the connection after N bytes,
// serve other bytes than the listing says (wrong size or hash), 404, 401 without the right token, ignore Range,
// stall mid-body. Every loop is bounded (the server refuses requests past MAX_REQUESTS) and the server closes in
// afterAll.

import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { concatParts } from '../reference/gguf.js';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openModel } from '../reference/load.js';
import { readSafetensorsHeader } from '../reference/safetensors.js';
import { bytesSource, readText } from '../reference/bytes.js';
import { nodeCacheStore, nodeSha256, PARTIAL_SUFFIX } from '../src/node/cache.js';
import { openModelSource, type OpenModelSourceOptions } from '../src/node/open-model.js';
import { browserCacheStore, type CacheLike, type CacheStorageLike } from '../src/sources/browser-cache.js';
import { memoryCacheStore } from '../src/sources/cache-store.js';
import { downloadToCache, type DownloadProgress } from '../src/sources/download.js';
import {
  DownloadAbortedError,
  DownloadError,
  HubAuthError,
  HubError,
  HubNotFoundError,
  IntegrityError,
  SpecError,
} from '../src/sources/errors.js';
import { hubSettings, selectGguf, type HubFile } from '../src/sources/hub.js';
import { fetchHubModel, modelInput } from '../src/sources/remote.js';
import { Sha256, sha256Hex } from '../src/sources/sha256.js';
import { DEFAULT_MODEL, formatModelSpec, parseModelSpec, type ModelSpec } from '../src/sources/spec.js';
import { synthGguf, synthHfFolder, synthModel } from '../src/synth/random-model.js';
import { TINY_SHAPES } from '../src/synth/shapes.js';

// --- spec strings ------------------------------------------------------------------------------------------------

describe('parseModelSpec', () => {
  const hub = (repo: string, extra: Partial<Extract<ModelSpec, { kind: 'hub' }>> = {}): ModelSpec => ({ kind: 'hub', repo, revision: 'main', ...extra });
  const table: [string, ModelSpec][] = [
    ['LiquidAI/LFM2.5-1.2B-Thinking-GGUF:Q4_0', hub('LiquidAI/LFM2.5-1.2B-Thinking-GGUF', { quant: 'Q4_0' })],
    ['LiquidAI/LFM2.5-1.2B-Thinking-GGUF/LFM2.5-1.2B-Thinking-Q4_0.gguf', hub('LiquidAI/LFM2.5-1.2B-Thinking-GGUF', { file: 'LFM2.5-1.2B-Thinking-Q4_0.gguf' })],
    ['LiquidAI/LFM2.5-1.2B-Thinking', hub('LiquidAI/LFM2.5-1.2B-Thinking')],
    ['LiquidAI/LFM2.5-1.2B-Thinking@v1.0', hub('LiquidAI/LFM2.5-1.2B-Thinking', { revision: 'v1.0' })],
    ['owner/repo@0123abc:q8_0', hub('owner/repo', { revision: '0123abc', quant: 'q8_0' })],
    ['owner/repo@refs%2Fpr%2F1/sub/dir/m.gguf', hub('owner/repo', { revision: 'refs/pr/1', file: 'sub/dir/m.gguf' })],
    ['hf://owner/repo', hub('owner/repo')],
    ['  owner/repo:Q4_K_M  ', hub('owner/repo', { quant: 'Q4_K_M' })],
    ['model.gguf', { kind: 'file', path: 'model.gguf' }],
    ['models/model.GGUF', { kind: 'file', path: 'models/model.GGUF' }],
    ['./a/b/c.gguf', { kind: 'file', path: './a/b/c.gguf' }],
    ['owner/repo/../x.gguf', { kind: 'file', path: 'owner/repo/../x.gguf' }], // not a safe hub path: a relative one
    ['/abs/path/model.gguf', { kind: 'file', path: '/abs/path/model.gguf' }],
    ['C:\\models\\m.gguf', { kind: 'file', path: 'C:\\models\\m.gguf' }],
    ['~/models/lfm', { kind: 'folder', path: '~/models/lfm' }],
    ['../hf-folder', { kind: 'folder', path: '../hf-folder' }],
    ['/abs/owner/name', { kind: 'folder', path: '/abs/owner/name' }],
    ['my-folder', { kind: 'folder', path: 'my-folder' }],
    ['file:///tmp/x%20y.gguf', { kind: 'file', path: '/tmp/x y.gguf' }],
    ['https://example.com/m/model-Q4_0.gguf?download=true', { kind: 'url', url: 'https://example.com/m/model-Q4_0.gguf?download=true' }],
    ['HTTP://Example.com/x.gguf', { kind: 'url', url: 'http://example.com/x.gguf' }],
  ];
  it.each(table)('%s', (input, expected) => {
    expect(parseModelSpec(input)).toEqual(expected);
  });

  it('the default model is the Q4_0 GGUF of LFM2.5-1.2B-Thinking', () => {
    expect(parseModelSpec(DEFAULT_MODEL)).toEqual(hub('LiquidAI/LFM2.5-1.2B-Thinking-GGUF', { quant: 'Q4_0' }));
  });

  it.each(['', '   ', 'hf://not-a-repo', 'owner/repo:bad tag', 'owner/repo@:Q4_0', 'hf://owner/repo/../x.gguf', 'https://'])(
    'rejects %j with a SpecError',
    (input) => {
      expect(() => parseModelSpec(input)).toThrow(SpecError);
    },
  );

  it('formats hub specs back', () => {
    for (const s of ['owner/repo:Q4_0', 'owner/repo@refs%2Fpr%2F1/a/b.gguf', 'owner/repo', 'owner/repo@v2']) {
      expect(formatModelSpec(parseModelSpec(s))).toBe(s);
    }
  });
});

// --- streaming sha256 --------------------------------------------------------------------------------------------

describe('Sha256 (streaming) equals node:crypto', () => {
  const ref = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

  it('known vectors', () => {
    expect(sha256Hex(new Uint8Array())).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(sha256Hex(new TextEncoder().encode('abc'))).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });

  it('at the block edges, fed whole and byte-split at random points', () => {
    const edge = fc.constantFrom(0, 1, 55, 56, 57, 63, 64, 65, 119, 120, 127, 128, 129, 1000);
    fc.assert(
      fc.property(fc.oneof(edge, fc.integer({ min: 0, max: 4096 })), fc.array(fc.nat(), { maxLength: 8 }), fc.nat(), (n, cuts, seed) => {
        const data = new Uint8Array(n);
        for (let i = 0; i < n; i++) data[i] = (i * 131 + seed) & 255;
        const whole = new Sha256().update(data).digestHex();
        const points = [...new Set(cuts.map((c) => (n ? c % (n + 1) : 0)))].sort((a, b) => a - b);
        const h = new Sha256();
        let at = 0;
        for (const p of [...points, n]) {
          h.update(data.subarray(at, p));
          at = p;
        }
        const expected = ref(data);
        expect(whole).toBe(expected);
        expect(h.digestHex()).toBe(expected);
      }),
      { numRuns: 300 },
    );
  });

  it('multi-MB random data in uneven chunks', () => {
    const data = new Uint8Array(randomBytes(5 * 1024 * 1024 + 37));
    const h = new Sha256();
    for (let at = 0, step = 1; at < data.length; step = (step * 7 + 13) % 200_003) {
      h.update(data.subarray(at, at + step));
      at += step;
    }
    expect(h.digestHex()).toBe(ref(data));
  });

  it('nodeSha256 has the same shape and answers', () => {
    const data = new Uint8Array(randomBytes(1000));
    const h = nodeSha256();
    h.update(data.subarray(0, 10));
    h.update(data.subarray(10));
    expect(h.digestHex()).toBe(sha256Hex(data));
  });
});

// --- GGUF choice by quant tag ------------------------------------------------------------------------------------

describe('selectGguf', () => {
  const files: HubFile[] = [
    'm-Q4_0.gguf', 'm-Q4_0_4_4.gguf', 'm-Q4_K_M.gguf', 'm-Q4_K_S.gguf', 'm-F16.gguf', 'm-BF16.gguf',
    'mmproj-m-F16.gguf', 'README.md', 'sub/m-q8_0.gguf',
  ].map((path) => ({ path, size: 1 }));
  const pick = (q: string) => selectGguf('o/r', 'main', files, q).path;

  it('matches a delimited tag case-insensitively', () => {
    expect(pick('Q4_0')).toBe('m-Q4_0.gguf');
    expect(pick('q4_k_m')).toBe('m-Q4_K_M.gguf');
    expect(pick('F16')).toBe('m-F16.gguf'); // not BF16, not the mmproj file
    expect(pick('bf16')).toBe('m-BF16.gguf');
    expect(pick('Q8_0')).toBe('sub/m-q8_0.gguf');
  });

  it('ambiguity and no match are errors that list the .gguf files', () => {
    expect(() => pick('Q4_K')).toThrow(/matches several GGUF files.*m-Q4_K_M\.gguf.*m-Q4_K_S\.gguf/);
    const err = (() => {
      try {
        pick('Q5_K_M');
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(HubNotFoundError);
    expect((err as Error).message).toMatch(/no GGUF file matches the quant tag 'Q5_K_M'.*available \.gguf files: m-Q4_0\.gguf/);
  });
});

describe('hubSettings', () => {
  it('option > env record > default; the token from HF_TOKEN', () => {
    expect(hubSettings({})).toEqual({ endpoint: 'https://huggingface.co', token: undefined });
    expect(hubSettings({ env: { HF_ENDPOINT: 'http://mirror.local:8080/', HF_TOKEN: 'hf_x' } })).toEqual({ endpoint: 'http://mirror.local:8080', token: 'hf_x' });
    expect(hubSettings({ endpoint: 'http://a', env: { HF_ENDPOINT: 'http://b' } }).endpoint).toBe('http://a');
  });

  it('core code reads no process.env: an empty env record means huggingface.co', async () => {
    const seen: string[] = [];
    const fakeFetch = (async (url: string | URL | Request) => {
      seen.push(String(url));
      return new Response('[]', { status: 200, headers: { 'content-type': 'application/json' } });
    }) as typeof fetch;
    const saved = process.env.HF_ENDPOINT;
    process.env.HF_ENDPOINT = 'http://127.0.0.1:9/should-not-be-used';
    try {
      await expect(fetchHubModel({ kind: 'hub', repo: 'o/r', revision: 'main', quant: 'Q4_0' }, { store: memoryCacheStore(), env: {}, fetch: fakeFetch })).rejects.toThrow(HubNotFoundError);
    } finally {
      if (saved === undefined) delete process.env.HF_ENDPOINT;
      else process.env.HF_ENDPOINT = saved;
    }
    expect(seen).toEqual(['https://huggingface.co/api/models/o/r/tree/main?recursive=true']);
  });
});

// --- the local hub -----------------------------------------------------------------------------------------------

/** Requests past this count are refused with 503: no test can loop forever against the server. */
const MAX_REQUESTS = 2000;

interface Logged {
  method: string;
  path: string;
  range: string | undefined;
  auth: string | undefined;
}

interface Knobs {
  /** Repo path -> cut the connection after this many body bytes, `times` times (then serve normally). */
  cut: Map<string, { after: number; times: number }>;
  /** Repo path -> bytes served instead of the listed ones (wrong size or wrong hash). */
  serve: Map<string, Uint8Array>;
  /** Repo paths whose resolve answers 404 although the listing has them. */
  missing: Set<string>;
  /** Repo path -> send this many body bytes, then hang until the client leaves (or 10 s), `times` times. */
  stall: Map<string, { after: number; times: number }>;
  /** When set, every request needs `Authorization: Bearer <token>`, else 401. */
  token: string | null;
  /** Answer a Range request with 200 and the whole file. */
  ignoreRange: boolean;
  /** Listing page size (0: one page). */
  pageSize: number;
}

const freshKnobs = (): Knobs => ({ cut: new Map(), serve: new Map(), missing: new Set(), stall: new Map(), token: null, ignoreRange: false, pageSize: 0 });

// repo -> revision -> path -> { bytes, lfs }
const repos = new Map<string, Map<string, Map<string, { bytes: Uint8Array; lfs: boolean }>>>();
let knobs = freshKnobs();
const log: Logged[] = [];
let server: Server;
let base = '';
const stallTimers = new Set<NodeJS.Timeout>();

function addRepo(repo: string, files: Record<string, Uint8Array | string>, revision = 'main', lfsExt = /\.(gguf|safetensors)$/): void {
  let revs = repos.get(repo);
  if (!revs) repos.set(repo, (revs = new Map()));
  const m = new Map<string, { bytes: Uint8Array; lfs: boolean }>();
  for (const [path, v] of Object.entries(files)) {
    m.set(path, { bytes: typeof v === 'string' ? new TextEncoder().encode(v) : v, lfs: lfsExt.test(path) });
  }
  revs.set(revision, m);
}

function handle(req: IncomingMessage, res: ServerResponse): void {
  const url = new URL(req.url ?? '/', 'http://x');
  const path = decodeURIComponent(url.pathname);
  log.push({ method: req.method ?? '', path: url.pathname + url.search, range: req.headers.range, auth: req.headers.authorization });
  if (log.length > MAX_REQUESTS) {
    res.writeHead(503).end('too many requests in one test run');
    return;
  }
  if (knobs.token !== null && req.headers.authorization !== `Bearer ${knobs.token}`) {
    res.writeHead(401, { 'x-error-code': 'RepoNotFound', 'x-error-message': 'Invalid credentials in Authorization header' }).end();
    return;
  }
  const tree = /^\/api\/models\/([^/]+\/[^/]+)\/tree\/([^/]+)$/.exec(path);
  if (tree && req.method === 'GET') {
    const [, repo, rev] = tree;
    const revs = repos.get(repo);
    if (!revs) return void res.writeHead(404, { 'x-error-code': 'RepoNotFound' }).end();
    const files = revs.get(rev);
    if (!files) return void res.writeHead(404, { 'x-error-code': 'RevisionNotFound' }).end();
    const entries: unknown[] = [];
    const dirs = new Set<string>();
    for (const [p, f] of files) {
      const parts = p.split('/');
      for (let i = 1; i < parts.length; i++) dirs.add(parts.slice(0, i).join('/'));
      const oid = createHash('sha1').update(f.bytes).digest('hex');
      const sha = createHash('sha256').update(f.bytes).digest('hex');
      entries.push({ type: 'file', oid, size: f.lfs ? 134 : f.bytes.length, path: p, ...(f.lfs ? { lfs: { oid: sha, size: f.bytes.length, pointerSize: 134 } } : {}) });
    }
    for (const d of dirs) entries.push({ type: 'directory', oid: '0'.repeat(40), size: 0, path: d });
    const cursor = Number(url.searchParams.get('cursor') ?? 0);
    const size = knobs.pageSize || entries.length;
    const page = entries.slice(cursor, cursor + size);
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (cursor + size < entries.length) headers.link = `<${base}/api/models/${repo}/tree/${rev}?recursive=true&cursor=${cursor + size}>; rel="next"`;
    res.writeHead(200, headers).end(JSON.stringify(page));
    return;
  }
  const resolve = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(path);
  if (resolve && (req.method === 'GET' || req.method === 'HEAD')) {
    const [, repo, rev, file] = resolve;
    const listed = repos.get(repo)?.get(rev)?.get(file);
    if (!listed || knobs.missing.has(file)) return void res.writeHead(404, { 'x-error-code': 'EntryNotFound' }).end();
    const bytes = knobs.serve.get(file) ?? listed.bytes;
    const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    let start = 0;
    if (m && !knobs.ignoreRange) {
      start = Number(m[1]);
      if (start >= bytes.length) {
        return void res.writeHead(416, { 'content-range': `bytes */${bytes.length}` }).end();
      }
      res.writeHead(206, { 'content-length': bytes.length - start, 'content-range': `bytes ${start}-${bytes.length - 1}/${bytes.length}`, 'accept-ranges': 'bytes' });
    } else {
      res.writeHead(200, { 'content-length': bytes.length, 'accept-ranges': 'bytes' });
    }
    if (req.method === 'HEAD') return void res.end();
    const body = bytes.subarray(start);
    const cut = knobs.cut.get(file);
    if (cut && cut.times > 0) {
      cut.times--;
      res.write(body.subarray(0, cut.after), () => res.socket?.destroy());
      return;
    }
    const stall = knobs.stall.get(file);
    if (stall && stall.times > 0) {
      stall.times--;
      res.write(body.subarray(0, stall.after));
      const t = setTimeout(() => res.socket?.destroy(), 10_000);
      stallTimers.add(t);
      res.on('close', () => {
        clearTimeout(t);
        stallTimers.delete(t);
      });
      return;
    }
    res.end(body);
    return;
  }
  res.writeHead(404).end();
}

beforeAll(async () => {
  server = createServer(handle);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  for (const t of stallTimers) clearTimeout(t);
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
});

// The test models: a tiny GGUF (Q8_0) and the same model as an HF folder, plus a sharded copy.
const MODEL = synthModel(TINY_SHAPES[1]);
const GGUF = concatParts(synthGguf(MODEL, 'Q8_0'));
const GGUF_Q4 = concatParts(synthGguf(MODEL, 'Q4_0'));
const HF = synthHfFolder(MODEL);
const TOKENIZER_JSON = JSON.stringify({ version: '1.0', model: { type: 'BPE', vocab: {}, merges: [] } });
const GGUF_REPO = 'LiquidAI/Tiny-GGUF';
const HF_REPO = 'LiquidAI/Tiny';
const SHARDED_REPO = 'LiquidAI/Tiny-Sharded';
const Q8_FILE = 'Tiny-Q8_0.gguf';
const Q4_FILE = 'Tiny-Q4_0.gguf';


addRepo(GGUF_REPO, { [Q8_FILE]: GGUF, [Q4_FILE]: GGUF_Q4, 'mmproj-Tiny-F16.gguf': new Uint8Array(10), 'README.md': '# tiny\n' });
addRepo(HF_REPO, { ...HF, 'tokenizer.json': TOKENIZER_JSON, 'tokenizer_config.json': '{"bos_token":"<|startoftext|>"}', 'chat_template.jinja': '{{ messages }}', 'README.md': 'x', 'onnx/model.onnx': new Uint8Array(5) });

let cacheDir = '';
let home = '';
beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), 'lfm-sources-home-'));
  const shard = 'model-00001-of-00001.safetensors';
  const weights = HF['model.safetensors'] as Uint8Array;
  const header = await readSafetensorsHeader(bytesSource(weights));
  const index = { metadata: { total_size: weights.length }, weight_map: Object.fromEntries([...header.tensors.keys()].map((n) => [n, shard])) };
  addRepo(SHARDED_REPO, { 'config.json': HF['config.json'], 'model.safetensors.index.json': JSON.stringify(index), [shard]: weights });
});

afterEach(async () => {
  knobs = freshKnobs();
  if (cacheDir) await rm(cacheDir, { recursive: true, force: true });
  cacheDir = '';
});

afterAll(async () => {
  await rm(home, { recursive: true, force: true });
});

/** A fresh cache folder and options pointing the adapter at the local hub through the env record. */
async function setup(extraEnv: Record<string, string> = {}, extra: Partial<OpenModelSourceOptions> = {}): Promise<OpenModelSourceOptions> {
  cacheDir = await mkdtemp(join(tmpdir(), 'lfm-sources-cache-'));
  log.length = 0;
  return { env: { HF_ENDPOINT: base, HOME: home, LFM_CACHE: cacheDir, ...extraEnv }, retries: 3, retryDelayMs: 1, progressIntervalMs: 0, ...extra };
}

const resolves = () => log.filter((l) => l.path.includes('/resolve/'));
const trees = () => log.filter((l) => l.path.startsWith('/api/models/'));

/** Every file under dir, relative, sorted. */
function listFiles(dir: string, prefix = ''): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? listFiles(join(dir, e.name), `${prefix}${e.name}/`) : [`${prefix}${e.name}`]))
    .sort();
}

async function readAll(src: { size: number; read(o: number, l: number): Promise<Uint8Array> }): Promise<Uint8Array> {
  return src.read(0, src.size);
}

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected a rejection');
}

describe('hub: GGUF', () => {
  it('by quant tag: downloads the matching file into hub/{repo}/{rev}/ and opens it', async () => {
    const opts = await setup();
    const m = await openModelSource(`${GGUF_REPO}:q8_0`, opts);
    expect(m.kind).toBe('gguf');
    if (m.kind !== 'gguf') return;
    try {
      expect(m.origin).toBe('cache');
      expect(m.localPath).toBe(join(cacheDir, 'hub', 'LiquidAI', 'Tiny-GGUF', 'main', Q8_FILE));
      expect(m.fetched?.files.map((f) => [f.file, f.downloaded])).toEqual([[Q8_FILE, true]]);
      expect(Buffer.from(await readAll(m.source)).equals(Buffer.from(GGUF))).toBe(true);
      const model = await openModel({ gguf: m.source });
      expect(model.config.hidden_size).toBe(MODEL.config.hidden_size);
    } finally {
      await m.source.close?.();
    }
    expect(trees()).toHaveLength(1);
    expect(resolves().map((r) => r.path)).toEqual([`/${GGUF_REPO}/resolve/main/${Q8_FILE}`]);
    const dir = join(cacheDir, 'hub', 'LiquidAI', 'Tiny-GGUF', 'main');
    expect(listFiles(dir)).toEqual(['.lfm-tree.json', Q8_FILE, `${Q8_FILE}.lfm-meta.json`]);
    const meta = JSON.parse(await readFile(join(dir, `${Q8_FILE}.lfm-meta.json`), 'utf8'));
    expect(meta.sha256).toBe(sha256Hex(GGUF));
  });

  it('by explicit file path', async () => {
    const opts = await setup();
    const m = await openModelSource(`${GGUF_REPO}/${Q4_FILE}`, opts);
    if (m.kind !== 'gguf') throw new Error('expected gguf');
    try {
      expect(Buffer.from(await readAll(m.source)).equals(Buffer.from(GGUF_Q4))).toBe(true);
    } finally {
      await m.source.close?.();
    }
  });

  it('a repo with several GGUFs and no tag: an error that lists them and suggests a tag', async () => {
    const opts = await setup();
    const e = await rejection(openModelSource(GGUF_REPO, opts));
    expect(e).toBeInstanceOf(HubError);
    expect(e.message).toMatch(/several GGUF files.*Tiny-Q4_0\.gguf/);
  });

  it('the second open hits the cache: one listing request, no download', async () => {
    const opts = await setup();
    const a = await openModelSource(`${GGUF_REPO}:Q8_0`, opts);
    await (a.kind === 'gguf' ? a.source.close?.() : undefined);
    log.length = 0;
    const b = await openModelSource(`${GGUF_REPO}:Q8_0`, opts);
    if (b.kind !== 'gguf') throw new Error('expected gguf');
    try {
      expect(b.fetched?.files[0].downloaded).toBe(false);
      expect(Buffer.from(await readAll(b.source)).equals(Buffer.from(GGUF))).toBe(true);
    } finally {
      await b.source.close?.();
    }
    expect(resolves()).toHaveLength(0);
    expect(trees()).toHaveLength(1);
  });

  it('a changed upstream file (other sha256 on the same revision) is downloaded again', async () => {
    const opts = await setup();
    const a = await openModelSource(`${GGUF_REPO}:Q8_0`, opts);
    await (a.kind === 'gguf' ? a.source.close?.() : undefined);
    const changed = GGUF.slice();
    changed[changed.length - 1] ^= 1;
    addRepo('LiquidAI/Tiny-GGUF', { [Q8_FILE]: changed, [Q4_FILE]: GGUF_Q4 });
    try {
      log.length = 0;
      const b = await openModelSource(`${GGUF_REPO}:Q8_0`, opts);
      if (b.kind !== 'gguf') throw new Error('expected gguf');
      try {
        expect(Buffer.from(await readAll(b.source)).equals(Buffer.from(changed))).toBe(true);
      } finally {
        await b.source.close?.();
      }
      expect(resolves()).toHaveLength(1);
    } finally {
      addRepo(GGUF_REPO, { [Q8_FILE]: GGUF, [Q4_FILE]: GGUF_Q4, 'mmproj-Tiny-F16.gguf': new Uint8Array(10), 'README.md': '# tiny\n' });
    }
  });

  it('offline (HF_HUB_OFFLINE=1) after one online run: no request at all; with an empty cache: a clear error', async () => {
    const opts = await setup();
    const a = await openModelSource(`${GGUF_REPO}:Q8_0`, opts);
    await (a.kind === 'gguf' ? a.source.close?.() : undefined);
    log.length = 0;
    const b = await openModelSource(`${GGUF_REPO}:Q8_0`, { ...opts, env: { ...opts.env, HF_HUB_OFFLINE: '1' } });
    await (b.kind === 'gguf' ? b.source.close?.() : undefined);
    expect(b.fetched?.listing).toBe('cache');
    expect(log).toHaveLength(0);
    const e = await rejection(openModelSource(`${GGUF_REPO}:Q4_0`, { ...opts, env: { ...opts.env, HF_HUB_OFFLINE: '1' } }));
    expect(e).toBeInstanceOf(HubError);
    expect((e as HubError).code).toBe('E_HUB_OFFLINE');
    expect(log).toHaveLength(0);
  });

  it('a hub that cannot be reached falls back to the cached listing and files', async () => {
    const opts = await setup();
    const a = await openModelSource(`${GGUF_REPO}:Q8_0`, opts);
    await (a.kind === 'gguf' ? a.source.close?.() : undefined);
    const b = await openModelSource(`${GGUF_REPO}:Q8_0`, { ...opts, env: { ...opts.env, HF_ENDPOINT: 'http://127.0.0.1:1' } });
    await (b.kind === 'gguf' ? b.source.close?.() : undefined);
    expect(b.fetched?.listing).toBe('cache');
    expect(b.fetched?.files[0].downloaded).toBe(false);
  });

  it('follows a paginated listing (Link rel="next")', async () => {
    const opts = await setup();
    knobs.pageSize = 1;
    const m = await openModelSource(`${GGUF_REPO}:Q4_0`, opts);
    await (m.kind === 'gguf' ? m.source.close?.() : undefined);
    expect(trees().length).toBe(4); // four files, one per page
  });
});

describe('hub: HF safetensors repo', () => {
  it('downloads config, weights and tokenizer files (not README/onnx) and serves them as a FileSet', async () => {
    const opts = await setup();
    const m = await openModelSource(HF_REPO, opts);
    if (m.kind !== 'hf') throw new Error('expected hf');
    const dir = join(cacheDir, 'hub', 'LiquidAI', 'Tiny', 'main');
    expect(m.localPath).toBe(dir);
    expect(m.fetched?.files.map((f) => f.file)).toEqual(['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json', 'chat_template.jinja']);
    expect(resolves()).toHaveLength(5);
    expect(await readText(m.files, 'tokenizer.json')).toBe(TOKENIZER_JSON);
    expect(await readText(m.files, 'chat_template.jinja')).toBe('{{ messages }}');
    expect(await m.files.open('README.md')).toBeNull();
    expect(await m.files.open('generation_config.json')).toBeNull();
    const model = await openModel(modelInput(m));
    try {
      expect(model.format).toBe('hf');
      expect(model.config.num_hidden_layers).toBe(MODEL.config.num_hidden_layers);
    } finally {
      await model.close();
    }
    expect(listFiles(dir).filter((f) => !f.endsWith('.lfm-meta.json'))).toEqual(['.lfm-tree.json', 'chat_template.jinja', 'config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']);
  });

  it('a sharded repo: the index, then the shards it names', async () => {
    const opts = await setup();
    const m = await openModelSource(SHARDED_REPO, opts);
    if (m.kind !== 'hf') throw new Error('expected hf');
    expect(m.fetched?.files.map((f) => f.file)).toEqual(['config.json', 'model.safetensors.index.json', 'model-00001-of-00001.safetensors']);
    const model = await openModel({ hf: m.files });
    await model.close();
  });
});

describe('downloads: resume, restart, verification', () => {
  it('resumes after a cut connection: the retry carries Range: bytes=N- and the file is byte-identical', async () => {
    const opts = await setup();
    const N = 1000;
    knobs.cut.set(Q8_FILE, { after: N, times: 1 });
    const events: DownloadProgress[] = [];
    const m = await openModelSource(`${GGUF_REPO}:Q8_0`, { ...opts, onProgress: (p) => events.push({ ...p }) });
    if (m.kind !== 'gguf') throw new Error('expected gguf');
    try {
      expect(Buffer.from(await readAll(m.source)).equals(Buffer.from(GGUF))).toBe(true);
    } finally {
      await m.source.close?.();
    }
    expect(resolves().map((r) => r.range)).toEqual([undefined, `bytes=${N}-`]);
    expect(events.at(-1)).toMatchObject({ file: Q8_FILE, loaded: GGUF.length, total: GGUF.length });
    expect(listFiles(cacheDir).some((f) => f.endsWith(PARTIAL_SUFFIX))).toBe(false);
  });

  it('progress events are monotonic, carry the total and end at it', async () => {
    const opts = await setup();
    const events: DownloadProgress[] = [];
    const m = await openModelSource(`${GGUF_REPO}:Q8_0`, { ...opts, onProgress: (p) => events.push({ ...p }) });
    await (m.kind === 'gguf' ? m.source.close?.() : undefined);
    expect(events.length).toBeGreaterThanOrEqual(2);
    expect(events[0]).toEqual({ file: Q8_FILE, loaded: 0, total: GGUF.length, resumedFrom: 0 });
    for (let i = 1; i < events.length; i++) expect(events[i].loaded).toBeGreaterThan(events[i - 1].loaded);
    expect(events.at(-1)!.loaded).toBe(GGUF.length);
    expect(events.every((e) => e.total === GGUF.length)).toBe(true);
  });

  it('a server that ignores Range (200) makes a clean restart from byte 0', async () => {
    const opts = await setup();
    knobs.cut.set(Q8_FILE, { after: 700, times: 1 });
    knobs.ignoreRange = true;
    const events: DownloadProgress[] = [];
    const m = await openModelSource(`${GGUF_REPO}:Q8_0`, { ...opts, onProgress: (p) => events.push({ ...p }) });
    if (m.kind !== 'gguf') throw new Error('expected gguf');
    try {
      expect(Buffer.from(await readAll(m.source)).equals(Buffer.from(GGUF))).toBe(true);
    } finally {
      await m.source.close?.();
    }
    expect(resolves().map((r) => r.range)).toEqual([undefined, 'bytes=700-']);
    expect(events.some((e) => e.loaded === 0 && e.resumedFrom === 0 && events.indexOf(e) > 0)).toBe(true); // the restart is visible
  });

  it('a partial that already holds the whole file: verified and committed without a download', async () => {
    const opts = await setup();
    const dir = join(cacheDir, 'hub', 'LiquidAI', 'Tiny-GGUF', 'main');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, Q8_FILE + PARTIAL_SUFFIX), GGUF);
    const m = await openModelSource(`${GGUF_REPO}:Q8_0`, opts);
    await (m.kind === 'gguf' ? m.source.close?.() : undefined);
    expect(resolves()).toHaveLength(0);
    expect(existsSync(join(dir, Q8_FILE))).toBe(true);
  });

  it('a URL whose partial is complete gets 416 and commits; a partial of other bytes is re-downloaded', async () => {
    const url = `${base}/${GGUF_REPO}/resolve/main/${Q8_FILE}`;
    const store = memoryCacheStore();
    const key = 'url/test/a/x.gguf';
    const p = await store.begin(key);
    await p.append(GGUF);
    await p.close();
    log.length = 0;
    const r = await downloadToCache({ url, key }, { store, retryDelayMs: 1 });
    expect(resolves().map((l) => l.range)).toEqual([`bytes=${GGUF.length}-`]);
    expect(r).toMatchObject({ size: GGUF.length, sha256: sha256Hex(GGUF), resumedFrom: GGUF.length, received: 0 });

    // A resumed prefix from another file fails the hash: one clean download, then success.
    const key2 = 'url/test/b/x.gguf';
    const p2 = await store.begin(key2);
    await p2.append(new Uint8Array(100).fill(7));
    await p2.close();
    log.length = 0;
    const r2 = await downloadToCache({ url, key: key2, size: GGUF.length, sha256: sha256Hex(GGUF) }, { store, retryDelayMs: 1 });
    expect(r2.sha256).toBe(sha256Hex(GGUF));
    expect(resolves().map((l) => l.range)).toEqual(['bytes=100-', undefined]);
    expect(Buffer.from(await readAll((await store.get(key2))!)).equals(Buffer.from(GGUF))).toBe(true);
  });

  for (const [label, bad, check] of [
    ['wrong size (longer than listed)', () => concatParts([GGUF, new Uint8Array(10)]), 'size'],
    ['wrong size (shorter than listed)', () => GGUF.subarray(0, GGUF.length - 10), 'size'],
    ['wrong bytes (hash mismatch)', () => {
      const b = GGUF.slice();
      b[12345 % b.length] ^= 0xff;
      return b;
    }, 'sha256'],
  ] as const) {
    it(`${label}: IntegrityError, no cache entry, no partial left to trust`, async () => {
      const opts = await setup();
      knobs.serve.set(Q8_FILE, bad());
      const e = await rejection(openModelSource(`${GGUF_REPO}:Q8_0`, opts));
      expect(e).toBeInstanceOf(IntegrityError);
      expect((e as IntegrityError).check).toBe(check);
      const dir = join(cacheDir, 'hub', 'LiquidAI', 'Tiny-GGUF', 'main');
      expect(listFiles(dir)).toEqual(['.lfm-tree.json']);
      // And nothing poisons the next attempt: a good server gives a good file.
      knobs = freshKnobs();
      const m = await openModelSource(`${GGUF_REPO}:Q8_0`, opts);
      if (m.kind !== 'gguf') throw new Error('expected gguf');
      try {
        expect(Buffer.from(await readAll(m.source)).equals(Buffer.from(GGUF))).toBe(true);
      } finally {
        await m.source.close?.();
      }
    });
  }

  it('retries run out: DownloadError, the partial is kept, the next call resumes', async () => {
    const opts = await setup();
    knobs.cut.set(Q8_FILE, { after: 0, times: 3 });
    const e = await rejection(openModelSource(`${GGUF_REPO}:Q8_0`, { ...opts, retries: 2 }));
    expect(e).toBeInstanceOf(DownloadError);
    expect(e.message).toMatch(/gave up after 2 retries/);
    expect(resolves()).toHaveLength(3);
    knobs.cut.set(Q8_FILE, { after: 500, times: 1 });
    log.length = 0;
    const m = await openModelSource(`${GGUF_REPO}:Q8_0`, opts);
    await (m.kind === 'gguf' ? m.source.close?.() : undefined);
    expect(resolves().map((r) => r.range)).toEqual([undefined, 'bytes=500-']);
  });

  it('abort mid-download: an AbortError-like typed error, only a partial left; the next open resumes from it', async () => {
    const opts = await setup();
    const N = 4096;
    knobs.stall.set(Q8_FILE, { after: N, times: 1 });
    const ac = new AbortController();
    const seen: number[] = [];
    const e = await rejection(
      openModelSource(`${GGUF_REPO}:Q8_0`, {
        ...opts,
        signal: ac.signal,
        onProgress: (p) => {
          seen.push(p.loaded);
          if (p.loaded >= N) ac.abort();
        },
      }),
    );
    expect(e).toBeInstanceOf(DownloadAbortedError);
    expect(e.name).toBe('AbortError');
    expect((e as DownloadAbortedError).code).toBe('E_ABORTED');
    const dir = join(cacheDir, 'hub', 'LiquidAI', 'Tiny-GGUF', 'main');
    expect(listFiles(dir)).toEqual(['.lfm-tree.json', Q8_FILE + PARTIAL_SUFFIX]);
    const kept = await readFile(join(dir, Q8_FILE + PARTIAL_SUFFIX));
    expect(kept.length).toBe(N);

    knobs = freshKnobs();
    log.length = 0;
    const m = await openModelSource(`${GGUF_REPO}:Q8_0`, opts);
    if (m.kind !== 'gguf') throw new Error('expected gguf');
    try {
      expect(Buffer.from(await readAll(m.source)).equals(Buffer.from(GGUF))).toBe(true);
    } finally {
      await m.source.close?.();
    }
    expect(resolves().map((r) => r.range)).toEqual([`bytes=${N}-`]);
  });

  it('a stalled connection (no byte for idleTimeoutMs) is cut and resumed', async () => {
    const opts = await setup();
    knobs.stall.set(Q8_FILE, { after: 2000, times: 1 });
    const m = await openModelSource(`${GGUF_REPO}:Q8_0`, { ...opts, idleTimeoutMs: 200 });
    if (m.kind !== 'gguf') throw new Error('expected gguf');
    try {
      expect(Buffer.from(await readAll(m.source)).equals(Buffer.from(GGUF))).toBe(true);
    } finally {
      await m.source.close?.();
    }
    expect(resolves().map((r) => r.range)).toEqual([undefined, 'bytes=2000-']);
  });

  it('an already-aborted signal rejects before any request', async () => {
    const opts = await setup();
    const ac = new AbortController();
    ac.abort();
    const e = await rejection(downloadToCache({ url: `${base}/x`, key: 'url/x/y/z' }, { store: nodeCacheStore(cacheDir), signal: ac.signal }));
    expect(e).toBeInstanceOf(DownloadAbortedError);
    expect(log).toHaveLength(0);
    void opts;
  });
});

describe('hub: errors and auth', () => {
  it('404 for a file the repo does not have names the repo, revision and file', async () => {
    const opts = await setup();
    const e = await rejection(openModelSource(`${GGUF_REPO}/nope-Q4_0.gguf`, opts));
    expect(e).toBeInstanceOf(HubNotFoundError);
    expect(e.message).toContain(GGUF_REPO);
    expect(e.message).toContain('nope-Q4_0.gguf');
    expect(e.message).toContain('main');
  });

  it('404 from resolve (listed but gone) names the repo, revision and file', async () => {
    const opts = await setup();
    knobs.missing.add(Q8_FILE);
    const e = await rejection(openModelSource(`${GGUF_REPO}@main:Q8_0`, opts));
    expect(e).toBeInstanceOf(HubNotFoundError);
    expect(e.message).toMatch(new RegExp(`file '${Q8_FILE}' in repo '${GGUF_REPO}' at revision 'main' not found`));
  });

  it('404 for a repo or a revision', async () => {
    const opts = await setup();
    const a = await rejection(openModelSource('nobody/nothing:Q4_0', opts));
    expect(a).toBeInstanceOf(HubNotFoundError);
    expect(a.message).toContain("repo 'nobody/nothing' not found");
    const b = await rejection(openModelSource(`${GGUF_REPO}@v9:Q4_0`, opts));
    expect(b).toBeInstanceOf(HubNotFoundError);
    expect(b.message).toContain("revision 'v9'");
  });

  it('401 without a token says to set HF_TOKEN; with HF_TOKEN it is sent as a Bearer token everywhere', async () => {
    const opts = await setup();
    knobs.token = 'hf_secret';
    const e = await rejection(openModelSource(`${GGUF_REPO}:Q8_0`, opts));
    expect(e).toBeInstanceOf(HubAuthError);
    expect(e.message).toContain('HF_TOKEN');
    expect((e as HubAuthError).status).toBe(401);

    const wrong = await rejection(openModelSource(`${GGUF_REPO}:Q8_0`, { ...opts, env: { ...opts.env, HF_TOKEN: 'hf_wrong' } }));
    expect(wrong.message).toMatch(/HF_TOKEN was refused/);

    log.length = 0;
    const m = await openModelSource(`${GGUF_REPO}:Q8_0`, { ...opts, env: { ...opts.env, HF_TOKEN: 'hf_secret' } });
    await (m.kind === 'gguf' ? m.source.close?.() : undefined);
    expect(log.length).toBe(2);
    expect(log.every((l) => l.auth === 'Bearer hf_secret')).toBe(true);
  });

  it('the token file written by huggingface-cli login is used when HF_TOKEN is unset', async () => {
    const opts = await setup();
    knobs.token = 'hf_from_file';
    const tokenPath = join(cacheDir, 'token');
    await writeFile(tokenPath, 'hf_from_file\n');
    const m = await openModelSource(`${GGUF_REPO}:Q8_0`, { ...opts, env: { ...opts.env, HF_TOKEN_PATH: tokenPath } });
    await (m.kind === 'gguf' ? m.source.close?.() : undefined);
    expect(log.every((l) => l.auth === 'Bearer hf_from_file')).toBe(true);
  });

  it('HF_ENDPOINT in the env record decides where requests go', async () => {
    const opts = await setup();
    const e = await rejection(openModelSource(`${GGUF_REPO}:Q8_0`, { ...opts, env: { ...opts.env, HF_ENDPOINT: 'http://127.0.0.1:1' } }));
    expect(e).toBeInstanceOf(HubError);
    expect((e as HubError).code).toBe('E_HUB_UNREACHABLE');
    expect(e.message).toContain('http://127.0.0.1:1');
    expect(log).toHaveLength(0);
  });
});

describe('URL and local specs', () => {
  it('a URL downloads once into url/{host}/{hash}/{name}; the second open makes no request; no token goes to other hosts', async () => {
    const opts = await setup({ HF_TOKEN: 'hf_secret' }, { env: undefined });
    opts.env = { HOME: home, LFM_CACHE: cacheDir, HF_TOKEN: 'hf_secret' }; // default endpoint: the URL is not the hub
    const url = `${base}/${GGUF_REPO}/resolve/main/${Q8_FILE}`;
    const a = await openModelSource(url, opts);
    if (a.kind !== 'gguf') throw new Error('expected gguf');
    try {
      expect(a.localPath.startsWith(join(cacheDir, 'url', `127.0.0.1_${new URL(base).port}`))).toBe(true);
      expect(a.localPath.endsWith(Q8_FILE)).toBe(true);
      expect(Buffer.from(await readAll(a.source)).equals(Buffer.from(GGUF))).toBe(true);
    } finally {
      await a.source.close?.();
    }
    expect(log.map((l) => l.auth)).toEqual([undefined]);
    log.length = 0;
    const b = await openModelSource(url, opts);
    await (b.kind === 'gguf' ? b.source.close?.() : undefined);
    expect(log).toHaveLength(0);
  });

  it('an existing local file or folder wins over the hub reading; a missing one is a SpecError', async () => {
    const opts = await setup();
    const folder = join(cacheDir, 'owner', 'name');
    await mkdir(folder, { recursive: true });
    await writeFile(join(folder, 'config.json'), HF['config.json'] as string);
    const f = await openModelSource(folder, opts);
    expect(f.kind).toBe('hf');
    expect(f.origin).toBe('local');
    const file = join(cacheDir, 'm.gguf');
    await writeFile(file, GGUF);
    const g = await openModelSource(file, opts);
    if (g.kind !== 'gguf') throw new Error('expected gguf');
    expect(g.source.size).toBe(GGUF.length);
    await g.source.close?.();
    await expect(openModelSource(join(cacheDir, 'missing.gguf'), opts)).rejects.toThrow(SpecError);
    expect(log).toHaveLength(0);
  });
});

describe('other cache stores', () => {
  it('HEAD on the local hub answers the size (server sanity)', async () => {
    const res = await fetch(`${base}/${GGUF_REPO}/resolve/main/${Q8_FILE}`, { method: 'HEAD' });
    expect(res.status).toBe(200);
    expect(Number(res.headers.get('content-length'))).toBe(GGUF.length);
  });

  it('memoryCacheStore: download, resume after a cut, get', async () => {
    const store = memoryCacheStore();
    knobs.cut.set(Q4_FILE, { after: 333, times: 1 });
    log.length = 0;
    const url = `${base}/${GGUF_REPO}/resolve/main/${Q4_FILE}`;
    await downloadToCache({ url, key: 'k/q4.gguf', size: GGUF_Q4.length, sha256: sha256Hex(GGUF_Q4) }, { store, retryDelayMs: 1 });
    expect(resolves().map((r) => r.range)).toEqual([undefined, 'bytes=333-']);
    expect(Buffer.from(await readAll((await store.get('k/q4.gguf'))!)).equals(Buffer.from(GGUF_Q4))).toBe(true);
    expect(await store.info('k/q4.gguf')).toMatchObject({ size: GGUF_Q4.length, sha256: sha256Hex(GGUF_Q4) });
    expect(store.partials.size).toBe(0);
  });

  it('browserCacheStore over a fake Cache API: chunked partial survives an abort, resumes, commits', async () => {
    const storage = fakeCacheStorage();
    const url = `${base}/${GGUF_REPO}/resolve/main/${Q8_FILE}`;
    const key = `hub/${GGUF_REPO}/main/${Q8_FILE}`;
    const req = { url, key, size: GGUF.length, sha256: sha256Hex(GGUF) };
    const N = 9000;
    knobs.stall.set(Q8_FILE, { after: N, times: 1 });
    const ac = new AbortController();
    const store1 = await browserCacheStore({ caches: storage, chunkBytes: 4096 });
    const e = await rejection(
      downloadToCache(req, { store: store1, signal: ac.signal, progressIntervalMs: 0, onProgress: (p) => p.loaded >= N && ac.abort() }),
    );
    expect(e).toBeInstanceOf(DownloadAbortedError);
    expect(await store1.has(key)).toBe(false);
    const chunks = [...storage.entries.keys()].filter((k) => k.includes('/.partial/'));
    expect(chunks.length).toBeGreaterThan(0);

    // A "reload": a new store over the same storage resumes from the persisted chunks.
    knobs = freshKnobs();
    log.length = 0;
    const store2 = await browserCacheStore({ caches: storage, chunkBytes: 4096 });
    const r = await downloadToCache(req, { store: store2 });
    expect(r.resumedFrom).toBe(N);
    expect(resolves().map((l) => l.range)).toEqual([`bytes=${N}-`]);
    expect([...storage.entries.keys()].filter((k) => k.includes('/.partial/'))).toEqual([]);
    const src = await store2.get(key);
    expect(Buffer.from(await readAll(src!)).equals(Buffer.from(GGUF))).toBe(true);
    expect(await store2.info(key)).toMatchObject({ size: GGUF.length, sha256: sha256Hex(GGUF), url });
    await store2.delete(key);
    expect(await store2.has(key)).toBe(false);
  });

  it('browserCacheStore: truncate across chunks and read back', async () => {
    const store = await browserCacheStore({ caches: fakeCacheStorage(), chunkBytes: 10 });
    const p = await store.begin('a/b');
    const data = new Uint8Array(35).map((_, i) => i);
    await p.append(data.subarray(0, 12));
    await p.append(data.subarray(12, 35));
    expect(Array.from(await p.read(5, 20))).toEqual(Array.from(data.subarray(5, 25)));
    await p.truncate(17);
    expect(p.size).toBe(17);
    await p.append(new Uint8Array([99]));
    expect(Array.from(await p.read(0, 18))).toEqual([...Array.from(data.subarray(0, 17)), 99]);
    await store.commit(p, { size: 18 });
    expect(Array.from(await readAll((await store.get('a/b'))!))).toEqual([...Array.from(data.subarray(0, 17)), 99]);
  });
});

/** A minimal in-memory stand-in for CacheStorage: open / match / put / delete on URL strings. */
function fakeCacheStorage(): CacheStorageLike & { entries: Map<string, { body: Blob; headers: [string, string][] }> } {
  const entries = new Map<string, { body: Blob; headers: [string, string][] }>();
  const cache: CacheLike = {
    async match(url) {
      const e = entries.get(url);
      return e ? new Response(e.body, { headers: e.headers }) : undefined;
    },
    async put(url, res) {
      const headers: [string, string][] = [];
      res.headers.forEach((v, k) => headers.push([k, v]));
      entries.set(url, { body: await res.blob(), headers });
    },
    async delete(url) {
      return entries.delete(url);
    },
  };
  return { entries, open: async () => cache };
}
