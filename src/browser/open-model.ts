// A model for a browser page: a hub id, a URL, or a File / Blob the user picked, as a ByteSource (GGUF) or a
// FileSet (HF repo). The twin of src/node/open-model.ts, with the Cache API in place of the cache folder.
//
//   File / Blob  -> blobSource(blob)                             (read in slices; never loaded whole)
//   URL          -> download once into the Cache API -> a blobSource over the cached entry (disk-backed)
//   hub id       -> list, pick the file, download (resumable, verified: size + sha256) -> the same
//
// Downloads are the runtime-agnostic ones (src/sources/download.ts): a cut download keeps its chunks in the cache
// and the next call resumes with a Range request; only a file whose size and sha256 match the hub's listing is
// committed. A second open of the same model reads the cache and makes no request for the weights (the hub's
// listing is still asked for, to notice a new revision, and its cached copy is used when the hub is unreachable).
// The page asks for persistent storage (navigator.storage.persist()) so the browser does not evict the model.
//
// Deliberately left out: local paths (a page has none: pass a File), the HF_TOKEN environment (pass `token`), OPFS.

import { blobSource, type ByteSource, type FileSet } from '../../reference/bytes.js';
import { InputError } from '../../reference/errors.js';
import { browserCacheStore } from '../sources/browser-cache.js';
import type { CacheStore } from '../sources/cache-store.js';
import type { DownloadProgress } from '../sources/download.js';
import { SpecError } from '../sources/errors.js';
import { fetchHubModel, fetchUrlModel, openFetchedModel, type FetchedModel, type FetchModelOptions } from '../sources/remote.js';
import { formatModelSpec, parseModelSpec, type ModelSpec } from '../sources/spec.js';

/** What a page can load: a spec string (hub id or http(s) URL), a URL object, a parsed spec, or a File / Blob. */
export type BrowserModel = string | URL | ModelSpec | Blob;

/** Progress of getting a model ready: its download, then the engine reading it (from the cache or a File). */
export interface LfmProgress {
  /** 'download': bytes arriving from the network into the cache; 'load': bytes read into the engine. */
  phase: 'download' | 'load';
  /** The file (repo path, URL file name, or the File's name). */
  file: string;
  /** Bytes done (a resumed download counts the bytes it already had). */
  loaded: number;
  /** Bytes in all, when known. */
  total: number | undefined;
  /** Bytes per second over the last few seconds (0 at the start). */
  rate: number;
  /** Download only: bytes that were already in the cache from a cut download. */
  resumedFrom: number;
}

export interface OpenBrowserModelOptions extends Omit<FetchModelOptions, 'store' | 'onProgress' | 'env' | 'createHash'> {
  /** Where downloads go; default: the Cache API cache `cacheName`. */
  store?: CacheStore;
  /** Cache API cache name; default 'lfm.ts'. */
  cacheName?: string;
  /** Ask the browser to keep the cache under storage pressure (navigator.storage.persist()); default true. */
  persist?: boolean;
  onProgress?: (p: LfmProgress) => void;
}

export type OpenedBrowserModel = ({ kind: 'gguf'; source: ByteSource } | { kind: 'hf'; files: FileSet }) & {
  /** A label: the spec as text, or the File's name. */
  name: string;
  /** 'file': the File / Blob given; 'cache': a hub or URL model, downloaded now or earlier. */
  origin: 'file' | 'cache';
  /** Hub or URL: what was resolved, and whether each file was downloaded by this call. */
  fetched?: FetchedModel;
  /** Whether the browser granted persistent storage (undefined: not asked, or no StorageManager here). */
  persisted?: boolean;
};

/** Opens a model in a page (see the file comment). The caller closes a GGUF source (loadLfm's engine does). */
export async function openModelSource(model: BrowserModel, opts: OpenBrowserModelOptions = {}): Promise<OpenedBrowserModel> {
  if (typeof Blob !== 'undefined' && model instanceof Blob) {
    const name = (model as { name?: string }).name || 'model.gguf';
    return { kind: 'gguf', source: blobSource(model, name), name, origin: 'file' };
  }
  const spec = toSpec(model);
  if (spec.kind === 'file' || spec.kind === 'folder') {
    throw new SpecError(spec.path, 'a page cannot open local paths: pass a File or Blob (from <input type="file"> or a drop), an http(s) URL, or a hub id');
  }
  const store = opts.store ?? (await browserCacheStore(opts.cacheName === undefined ? {} : { cacheName: opts.cacheName }));
  const persisted = opts.persist === false ? undefined : await askPersist();
  const { onProgress, store: _s, cacheName: _c, persist: _p, ...rest } = opts;
  const fetchOpts: FetchModelOptions = { ...rest, store };
  if (onProgress) fetchOpts.onProgress = downloadProgress(onProgress);
  const fetched = spec.kind === 'url' ? await fetchUrlModel(spec.url, fetchOpts) : await fetchHubModel(spec, fetchOpts);
  const opened = await openFetchedModel(store, fetched);
  const out: OpenedBrowserModel = { ...opened, name: formatModelSpec(spec), origin: 'cache', fetched };
  if (persisted !== undefined) out.persisted = persisted;
  return out;
}

function toSpec(model: BrowserModel): ModelSpec {
  if (typeof model === 'string') return parseModelSpec(model);
  if (typeof URL !== 'undefined' && model instanceof URL) return parseModelSpec(model.href);
  if (typeof model === 'object' && model !== null && ['hub', 'url', 'file', 'folder'].includes((model as { kind?: string }).kind ?? '')) {
    return model as ModelSpec;
  }
  const got = model === null ? 'null' : typeof model === 'object' ? (model as object).constructor?.name ?? 'object' : typeof model;
  throw new InputError(`model: expected a hub id ('owner/name:QUANT'), an http(s) URL, a File or a Blob; got ${got}`);
}

/** navigator.storage.persist(), once per page; false when refused, undefined where there is no StorageManager. */
let persistAsked: Promise<boolean | undefined> | null = null;
function askPersist(): Promise<boolean | undefined> {
  const storage = (globalThis as { navigator?: { storage?: { persist?: () => Promise<boolean>; persisted?: () => Promise<boolean> } } }).navigator?.storage;
  if (!storage?.persist) return Promise.resolve(undefined);
  persistAsked ??= (async () => {
    try {
      return (await storage.persisted?.()) || (await storage.persist!());
    } catch {
      return false;
    }
  })();
  return persistAsked;
}

/** Bytes per second over a sliding window of the last `windowMs`. */
export function rateMeter(windowMs = 3000, now: () => number = () => performance.now()): (loaded: number) => number {
  const samples: [number, number][] = [];
  return (loaded) => {
    const t = now();
    if (samples.length && loaded < samples[samples.length - 1][1]) samples.length = 0; // restarted from scratch
    samples.push([t, loaded]);
    while (samples.length > 2 && t - samples[1][0] >= windowMs) samples.shift();
    const [t0, l0] = samples[0];
    return t > t0 ? ((loaded - l0) * 1000) / (t - t0) : 0;
  };
}

function downloadProgress(onProgress: (p: LfmProgress) => void): (p: DownloadProgress) => void {
  const meters = new Map<string, (loaded: number) => number>();
  return (p) => {
    let meter = meters.get(p.file);
    if (!meter) meters.set(p.file, (meter = rateMeter()));
    onProgress({ phase: 'download', file: p.file, loaded: p.loaded, total: p.total, rate: meter(p.loaded), resumedFrom: p.resumedFrom });
  };
}

/**
 * A byte source that reports the bytes read from it as 'load' progress (the engine reads each tensor once, in
 * order, in chunks of a few MiB). Throttled to one event per `intervalMs`, and always the last one.
 */
export function progressSource(src: ByteSource, file: string, onProgress: (p: LfmProgress) => void, intervalMs = 100): ByteSource {
  const meter = rateMeter();
  let loaded = 0;
  let last = -Infinity;
  const emit = (force: boolean) => {
    const t = performance.now();
    if (!force && t - last < intervalMs) return;
    last = t;
    onProgress({ phase: 'load', file, loaded, total: src.size, rate: meter(loaded), resumedFrom: 0 });
  };
  const count = (n: number) => {
    loaded = Math.min(src.size, loaded + n);
    emit(loaded === src.size);
  };
  const out: ByteSource & { readInto?: (offset: number, target: Uint8Array, what?: string) => Promise<void> } = {
    name: src.name,
    size: src.size,
    async read(offset, length, what) {
      const bytes = await src.read(offset, length, what);
      count(length);
      return bytes;
    },
    close: () => src.close?.() ?? Promise.resolve(),
  };
  const into = (src as { readInto?: (offset: number, target: Uint8Array, what?: string) => Promise<void> }).readInto;
  if (into) {
    out.readInto = async (offset, target, what) => {
      await into.call(src, offset, target, what);
      count(target.length);
    };
  }
  return out;
}
