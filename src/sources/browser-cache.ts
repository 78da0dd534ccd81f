// A CacheStore over the browser Cache API (window and workers; also Deno, which implements `caches`).
//
// Layout, as URLs under a fake origin (the Cache API keys on http(s) URLs; nothing is ever fetched from it):
//   {base}{key}                       a committed entry: a Response whose body is the file, with headers
//                                     x-lfm-size, x-lfm-sha256, x-lfm-oid, x-lfm-url recording its CacheEntryInfo
//   {base}.partial/{key}/{i}          chunk i of a download in progress (each up to `chunkBytes`)
// The Cache API cannot append to an entry, so a partial is a run of chunk entries; bytes since the last chunk live in
// memory and are written as a chunk by close() (an abort), so a reload resumes from the last chunk; a written chunk is
// held as the cache's own (disk-backed) Blob, never as the bytes. commit() puts one Response over a Blob of the
// chunks (the browser composes it without copying), then drops the chunks; cache.put is atomic per entry. get()
// returns a blobSource over the entry's body, which browsers keep on disk and read in slices.
//
// Deliberately left out: OPFS (a FileSystemSyncAccessHandle store would suit a worker; same interface), quota
// handling beyond the error the browser throws.

import { blobSource } from '../../reference/bytes.js';
import { checkCacheKey, type CacheEntryInfo, type CacheStore, type PartialEntry } from './cache-store.js';
import { CacheError } from './errors.js';

/** The part of the Cache API this store uses (so tests can hand in a fake). */
export interface CacheLike {
  match(request: string): Promise<Response | undefined>;
  put(request: string, response: Response): Promise<void>;
  delete(request: string): Promise<boolean>;
}
export interface CacheStorageLike {
  open(cacheName: string): Promise<CacheLike>;
}

export interface BrowserCacheOptions {
  /** Cache name; default 'lfm.ts'. */
  cacheName?: string;
  /** Default: globalThis.caches. */
  caches?: CacheStorageLike;
  /** Fake origin the keys live under; default 'https://lfm.ts.invalid/'. */
  baseUrl?: string;
  /** A partial is persisted every this many bytes; default 16 MiB. */
  chunkBytes?: number;
}

export async function browserCacheStore(opts: BrowserCacheOptions = {}): Promise<CacheStore> {
  const storage = opts.caches ?? (globalThis as { caches?: CacheStorageLike }).caches;
  if (!storage) throw new CacheError(opts.cacheName ?? 'lfm.ts', 'the Cache API (globalThis.caches) is not available here');
  const cacheName = opts.cacheName ?? 'lfm.ts';
  const cache = await storage.open(cacheName);
  const base = opts.baseUrl ?? 'https://lfm.ts.invalid/';
  const chunkBytes = opts.chunkBytes ?? 16 << 20;
  const encode = (key: string) => key.split('/').map(encodeURIComponent).join('/');
  const entryUrl = (key: string) => `${base}${encode(key)}`;
  const chunkUrl = (key: string, i: number) => `${base}.partial/${encode(key)}/${i}`;
  const open = new Set<string>();

  const loadChunks = async (key: string) => {
    const blobs: Blob[] = [];
    for (let i = 0; ; i++) {
      const res = await cache.match(chunkUrl(key, i));
      if (!res) return blobs;
      blobs.push(await res.blob());
    }
  };
  const dropChunks = async (key: string, from: number) => {
    for (let i = from; await cache.delete(chunkUrl(key, i)); i++);
  };

  const store: CacheStore = {
    name: `Cache API '${cacheName}'`,
    async get(key) {
      checkCacheKey(key);
      const res = await cache.match(entryUrl(key));
      return res ? blobSource(await res.blob(), `${cacheName}/${key}`) : null;
    },
    async has(key) {
      checkCacheKey(key);
      return (await cache.match(entryUrl(key))) !== undefined;
    },
    async info(key) {
      checkCacheKey(key);
      const res = await cache.match(entryUrl(key));
      if (!res) return null;
      const h = res.headers;
      const size = Number(h.get('x-lfm-size') ?? NaN);
      const info: CacheEntryInfo = { size: Number.isSafeInteger(size) ? size : (await res.blob()).size };
      const sha256 = h.get('x-lfm-sha256');
      const oid = h.get('x-lfm-oid');
      const url = h.get('x-lfm-url');
      if (sha256) info.sha256 = sha256;
      if (oid) info.oid = oid;
      if (url) info.url = url;
      return info;
    },
    async begin(key) {
      checkCacheKey(key);
      if (open.has(key)) throw new CacheError(key, 'is already being downloaded in this page');
      open.add(key);
      let blobs: Blob[];
      try {
        blobs = await loadChunks(key);
      } catch (e) {
        open.delete(key);
        throw e;
      }
      let pending: Uint8Array[] = [];
      let pendingBytes = 0;
      let persisted = blobs.reduce((n, b) => n + b.size, 0);
      let released = false;
      const live = () => {
        if (released) throw new CacheError(key, 'partial used after close, discard or commit');
      };
      const flush = async () => {
        if (pendingBytes === 0) return;
        const url = chunkUrl(key, blobs.length);
        const blob = new Blob(pending as BlobPart[]);
        await cache.put(url, new Response(blob));
        // Keep the cache's copy (on disk), not ours: a Blob made from bytes lives in the browser's memory, and a
        // download holding every chunk's Blob until commit would hold the whole file there.
        blobs.push((await (await cache.match(url))?.blob()) ?? blob);
        persisted += blob.size;
        pending = [];
        pendingBytes = 0;
      };
      const whole = () => new Blob([...blobs, ...(pending as BlobPart[])]);
      const release = () => {
        released = true;
        open.delete(key);
      };
      const partial: PartialEntry & { whole(): Blob; release(): void } = {
        key,
        get size() {
          return persisted + pendingBytes;
        },
        async append(bytes) {
          live();
          pending.push(bytes.slice());
          pendingBytes += bytes.length;
          if (pendingBytes >= chunkBytes) await flush();
        },
        async truncate(length) {
          live();
          const size = persisted + pendingBytes;
          if (length > size) throw new CacheError(key, `cannot truncate ${size} bytes to ${length}`);
          const all = whole();
          // Re-chunk from the first chunk that changes.
          let at = 0;
          let i = 0;
          while (i < blobs.length && at + blobs[i].size <= length) at += blobs[i++].size;
          await dropChunks(key, i);
          blobs = blobs.slice(0, i);
          persisted = at;
          pending = [];
          pendingBytes = 0;
          if (length > at) {
            pending = [new Uint8Array(await all.slice(at, length).arrayBuffer())];
            pendingBytes = length - at;
          }
        },
        async read(offset, length) {
          live();
          const size = persisted + pendingBytes;
          if (offset < 0 || length < 0 || offset + length > size) throw new CacheError(key, `read ${offset}+${length} outside ${size} bytes`);
          return new Uint8Array(await whole().slice(offset, offset + length).arrayBuffer());
        },
        async close() {
          if (released) return;
          try {
            await flush();
          } finally {
            release();
          }
        },
        async discard() {
          if (released) return;
          release();
          await dropChunks(key, 0);
        },
        whole() {
          live();
          return whole();
        },
        release,
      };
      return partial;
    },
    async commit(partial, info) {
      const p = partial as Partial<{ whole(): Blob; release(): void }>;
      if (!p.whole || !p.release) throw new CacheError(partial.key, 'is not a partial of this store');
      const blob = p.whole();
      const headers: Record<string, string> = {
        'content-type': 'application/octet-stream',
        'content-length': String(blob.size),
        'x-lfm-size': String(blob.size),
      };
      if (info?.sha256) headers['x-lfm-sha256'] = info.sha256;
      if (info?.oid) headers['x-lfm-oid'] = info.oid;
      if (info?.url) headers['x-lfm-url'] = info.url;
      await cache.put(entryUrl(partial.key), new Response(blob, { headers }));
      p.release();
      await dropChunks(partial.key, 0);
    },
    async delete(key) {
      checkCacheKey(key);
      await cache.delete(entryUrl(key));
      await dropChunks(key, 0);
    },
  };
  return store;
}
