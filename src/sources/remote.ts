// Remote models into a CacheStore: a hub spec or a URL becomes cached files, then a ByteSource (GGUF) or a
// FileSet (HF safetensors repo). Runtime-agnostic: the Node adapter (src/node/open-model.ts) adds local paths and
// the cache folder; a browser passes browserCacheStore() and gets the same sources.
//
// Hub flow: list the repo (one request; offline or unreachable -> the listing cached by the last online run) ->
// plan (hub.ts) -> for each file: the cache entry is current when its recorded size and sha256 (LFS) or git oid
// match the listing, else download (download.ts: resumable, verified, atomic commit) -> sources over the cache.
// A URL is treated as immutable: once cached it is never fetched again (delete the entry to refresh).

import type { ByteSource, FileSet } from '../../reference/bytes.js';
import type { ModelInput } from '../../reference/load.js';
import { getCachedBytes, putCached, type CacheEntryInfo, type CacheStore } from './cache-store.js';
import { downloadToCache, type DownloadOptions, type DownloadRequest } from './download.js';
import { DownloadError, HubError } from './errors.js';
import {
  hubCacheKey,
  hubFileUrl,
  hubHeaders,
  hubHttpError,
  hubRevisionKey,
  hubSettings,
  listHubFiles,
  planHubModel,
  shardsFromIndex,
  type HubFile,
  type HubOptions,
} from './hub.js';
import { sha256Hex } from './sha256.js';
import type { HubSpec } from './spec.js';

export interface FetchModelOptions extends HubOptions {
  store: CacheStore;
  /** Use only the cache (and the cached listing); default: env HF_HUB_OFFLINE is 1/true/yes/on. */
  offline?: boolean;
  onProgress?: DownloadOptions['onProgress'];
  progressIntervalMs?: number;
  retries?: number;
  retryDelayMs?: number;
  idleTimeoutMs?: number;
  createHash?: DownloadOptions['createHash'];
}

export interface FetchedFile {
  /** Path inside the repo (hub), or the URL's file name. */
  file: string;
  /** Cache key of the entry. */
  key: string;
  url: string;
  size: number;
  sha256?: string;
  /** True when this call downloaded (or finished downloading) it; false when the cache had it. */
  downloaded: boolean;
}

export interface FetchedModel {
  kind: 'gguf' | 'hf';
  /** `owner/name@revision` or the URL. */
  name: string;
  repo?: string;
  revision?: string;
  /** GGUF: the one file. HF: config, weights (or index + shards) and the tokenizer files the repo has. */
  files: FetchedFile[];
  /** Hub only: whether the listing came from the network or from the cache (offline, or hub unreachable). */
  listing?: 'network' | 'cache';
}

/** A model ready for reference/load.ts (modelInput() turns it into `{ gguf }` / `{ hf }`). */
export type ModelSource = { kind: 'gguf'; source: ByteSource } | { kind: 'hf'; files: FileSet };

/** The `{ gguf }` / `{ hf }` input that loadModel() and loadLfm() take. */
export function modelInput(m: ModelSource): ModelInput {
  return m.kind === 'gguf' ? { gguf: m.source } : { hf: m.files };
}

const TREE_FILE = '.lfm-tree.json';

export function isOffline(opts: { offline?: boolean; env?: HubOptions['env'] }): boolean {
  return opts.offline ?? /^(1|true|yes|on)$/i.test((opts.env?.HF_HUB_OFFLINE ?? '').trim());
}

/** Resolves a hub spec and makes sure every file it needs is in the cache, verified. */
export async function fetchHubModel(spec: HubSpec, opts: FetchModelOptions): Promise<FetchedModel> {
  const { repo, revision } = spec;
  const { store } = opts;
  const settings = hubSettings(opts);
  const offline = isOffline(opts);
  const name = `${repo}@${revision}`;

  // --- listing: network, else the cached copy ---
  const treeKey = `${hubRevisionKey(repo, revision)}/${TREE_FILE}`;
  const cachedTree = async () => {
    const bytes = await getCachedBytes(store, treeKey).catch(() => null);
    return bytes ? (JSON.parse(new TextDecoder().decode(bytes)) as HubFile[]) : null;
  };
  let files: HubFile[];
  let listing: 'network' | 'cache' = 'network';
  if (offline) {
    const cached = await cachedTree();
    if (!cached) throw new HubError(repo, revision, undefined, `offline (HF_HUB_OFFLINE) and ${store.name} has no listing of this repo: run once online first`, 'E_HUB_OFFLINE');
    files = cached;
    listing = 'cache';
  } else {
    try {
      files = await listHubFiles(repo, revision, opts);
    } catch (e) {
      const cached = e instanceof HubError && e.code === 'E_HUB_UNREACHABLE' ? await cachedTree() : null;
      if (!cached) throw e;
      files = cached;
      listing = 'cache';
    }
    if (listing === 'network') {
      // Best effort: the cached listing only serves offline runs (and a concurrent open may be writing it).
      const json = JSON.stringify(files);
      const old = await getCachedBytes(store, treeKey).catch(() => null);
      if (!old || new TextDecoder().decode(old) !== json) await putCached(store, treeKey, new TextEncoder().encode(json)).catch(() => {});
    }
  }

  // --- plan and fetch ---
  const plan = planHubModel(spec, files);
  const hasToken = settings.token !== undefined;
  const one = async (f: HubFile): Promise<FetchedFile> => {
    const key = hubCacheKey(repo, revision, f.path);
    const url = hubFileUrl(settings.endpoint, repo, revision, f.path);
    const info = await store.info(key);
    if (info && isCurrent(info, f)) return { file: f.path, key, url, size: info.size, ...(info.sha256 ? { sha256: info.sha256 } : {}), downloaded: false };
    if (offline) throw new HubError(repo, revision, f.path, `offline (HF_HUB_OFFLINE) and not in ${store.name}`, 'E_HUB_OFFLINE');
    const req: DownloadRequest = { url, key, file: f.path, size: f.size };
    if (f.sha256 !== undefined) req.sha256 = f.sha256;
    if (f.oid !== undefined) req.oid = f.oid;
    const r = await downloadOnce(req, {
      ...downloadOptions(opts),
      headers: hubHeaders(settings),
      httpError: (status, res) =>
        status === 401 || status === 403 || status === 404
          ? hubHttpError(status, res, { repo, revision, file: f.path, endpoint: settings.endpoint, hasToken })
          : undefined,
    });
    return { file: f.path, key, url, size: r.size, sha256: r.sha256, downloaded: true };
  };

  if (plan.kind === 'gguf') return { kind: 'gguf', name, repo, revision, files: [await one(plan.file)], listing };
  const fetched: FetchedFile[] = [];
  for (const f of plan.files) fetched.push(await one(f));
  if (plan.index) {
    const index = await one(plan.index);
    fetched.push(index);
    const text = new TextDecoder().decode((await getCachedBytes(store, index.key)) ?? new Uint8Array());
    for (const shard of shardsFromIndex(text, files, repo, revision, plan.index.path)) fetched.push(await one(shard));
  }
  return { kind: 'hf', name, repo, revision, files: fetched, listing };
}

/** A cache entry is current when its size matches and its recorded sha256 (LFS) or git oid matches the listing. */
function isCurrent(info: CacheEntryInfo, f: HubFile): boolean {
  if (info.size !== f.size) return false;
  if (f.sha256 !== undefined) return info.sha256 === f.sha256;
  if (f.oid !== undefined && info.oid !== undefined) return info.oid === f.oid;
  return true;
}

/** Cache key of a URL: `url/{host}/{first 16 hex of sha256(url)}/{file name}`. */
export function urlCacheKey(url: string): string {
  const u = new URL(url);
  const host = u.host.replace(/[^A-Za-z0-9.-]/g, '_');
  const last = u.pathname.slice(u.pathname.lastIndexOf('/') + 1);
  let file: string;
  try {
    file = decodeURIComponent(last);
  } catch {
    file = last;
  }
  file = file.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^\.+/, '_') || 'download';
  return `url/${host}/${sha256Hex(new TextEncoder().encode(u.href)).slice(0, 16)}/${file}`;
}

/** Downloads a GGUF from a URL into the cache (once: a cached URL is not fetched again). */
export async function fetchUrlModel(url: string, opts: FetchModelOptions): Promise<FetchedModel> {
  const { store } = opts;
  const key = urlCacheKey(url);
  const file = key.slice(key.lastIndexOf('/') + 1);
  const info = await store.info(key);
  if (info) return { kind: 'gguf', name: url, files: [{ file, key, url, size: info.size, ...(info.sha256 ? { sha256: info.sha256 } : {}), downloaded: false }] };
  if (isOffline(opts)) throw new DownloadError(url, `offline (HF_HUB_OFFLINE) and not in ${store.name}`);
  // The hub token goes to the hub's own origin only.
  const settings = hubSettings(opts);
  const toHub = new URL(url).origin === new URL(settings.endpoint).origin;
  const r = await downloadOnce({ url, key, file }, {
    ...downloadOptions(opts),
    headers: toHub ? hubHeaders(settings) : {},
    httpError: (status) =>
      status === 401 || status === 403
        ? new DownloadError(url, `HTTP ${status}: access denied${toHub ? ': set HF_TOKEN to an access token' : ''}`, status)
        : undefined,
  });
  return { kind: 'gguf', name: url, files: [{ file, key, url, size: r.size, sha256: r.sha256, downloaded: true }] };
}

function downloadOptions(opts: FetchModelOptions): DownloadOptions {
  const out: DownloadOptions = { store: opts.store };
  if (opts.fetch) out.fetch = opts.fetch;
  if (opts.signal) out.signal = opts.signal;
  if (opts.onProgress) out.onProgress = opts.onProgress;
  if (opts.progressIntervalMs !== undefined) out.progressIntervalMs = opts.progressIntervalMs;
  if (opts.retries !== undefined) out.retries = opts.retries;
  if (opts.retryDelayMs !== undefined) out.retryDelayMs = opts.retryDelayMs;
  if (opts.idleTimeoutMs !== undefined) out.idleTimeoutMs = opts.idleTimeoutMs;
  if (opts.createHash) out.createHash = opts.createHash;
  return out;
}

// In-process de-duplication: a second request for a key being downloaded waits for the first, then re-checks.
const inFlight = new WeakMap<CacheStore, Map<string, Promise<unknown>>>();

async function downloadOnce(req: DownloadRequest, opts: DownloadOptions): Promise<{ size: number; sha256: string }> {
  let running = inFlight.get(opts.store);
  if (!running) inFlight.set(opts.store, (running = new Map()));
  for (let prev = running.get(req.key); prev; prev = running.get(req.key)) {
    await prev.catch(() => {});
    const info = await opts.store.info(req.key);
    if (info && info.sha256 && (req.size === undefined || info.size === req.size) && (req.sha256 === undefined || info.sha256 === req.sha256)) {
      return { size: info.size, sha256: info.sha256 };
    }
  }
  const p = downloadToCache(req, opts);
  running.set(req.key, p);
  try {
    return await p;
  } finally {
    if (running.get(req.key) === p) running.delete(req.key);
  }
}

/** A FileSet serving exactly the fetched files (by repo path) from the cache: nothing stale beside them. */
export function cachedFileSet(store: CacheStore, files: readonly FetchedFile[], name: string): FileSet {
  const keys = new Map(files.map((f) => [f.file, f.key]));
  return {
    name,
    async open(file) {
      const key = keys.get(file);
      return key === undefined ? null : store.get(key);
    },
  };
}

/** Sources over the cached files of a fetched model. The caller closes the GGUF source. */
export async function openFetchedModel(store: CacheStore, fetched: FetchedModel): Promise<ModelSource> {
  if (fetched.kind === 'hf') return { kind: 'hf', files: cachedFileSet(store, fetched.files, fetched.name) };
  const f = fetched.files[0];
  const source = await store.get(f.key);
  if (!source) throw new DownloadError(f.url, `${store.name} lost the entry '${f.key}' right after it was fetched`);
  return { kind: 'gguf', source };
}
