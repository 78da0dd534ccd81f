// The cache a download writes into, as an interface: Node/Deno/Bun use a folder (src/node/cache.ts), browsers the
// Cache API (browser-cache.ts), tests and throwaway sessions memory (memoryCacheStore below).
//
// Contract:
//   - keys are '/'-separated relative paths (`hub/{repo}/{revision}/{file}`, `url/{host}/{hash}/{name}`); no empty,
//     '.' or '..' segment, no backslash, no NUL (checkCacheKey);
//   - an ENTRY exists only after commit(), and commit() is atomic: a reader sees the old entry or the new one,
//     never a half-written file. download() commits only bytes whose size (and sha256, when known) it verified;
//   - a PARTIAL is the resumable state of one download: bytes appended in order, readable back (to re-hash the
//     prefix on resume), truncatable (to restart), and either committed, kept (close) or discarded;
//   - info() returns what was recorded at commit (size, sha256, the hub's git oid), so a later open can tell a
//     stale entry from a current one without re-hashing gigabytes.
// At most one partial per key may be open at a time in one process; stores throw CacheError on a second begin().

import { bytesSource, type ByteSource } from '../../reference/bytes.js';
import { CacheError } from './errors.js';
import { isSafeRelativePath } from './spec.js';

/** What a cache records about a committed entry. */
export interface CacheEntryInfo {
  /** Size in bytes of the committed file. */
  size: number;
  /** Lowercase hex sha256 of the whole file, when it was computed. */
  sha256?: string;
  /** The hub's git blob id of a non-LFS file, when it came from the hub. */
  oid?: string;
  /** Where the bytes came from. */
  url?: string;
}

/** A download in progress for one key. */
export interface PartialEntry {
  readonly key: string;
  /** Bytes held so far (a resumed partial starts at its saved length). */
  readonly size: number;
  append(bytes: Uint8Array): Promise<void>;
  /** Shortens the partial (truncate(0) restarts the download). */
  truncate(length: number): Promise<void>;
  /** Reads back bytes [offset, offset+length) already appended. */
  read(offset: number, length: number): Promise<Uint8Array>;
  /** Keeps the bytes for a later resume and releases the partial. */
  close(): Promise<void>;
  /** Deletes the bytes and releases the partial. */
  discard(): Promise<void>;
}

export interface CacheStore {
  /** A label for messages (a folder path, a cache name). */
  readonly name: string;
  /** The committed entry, or null. The caller closes the source. */
  get(key: string): Promise<ByteSource | null>;
  has(key: string): Promise<boolean>;
  /** What was recorded at commit, or null when there is no entry. */
  info(key: string): Promise<CacheEntryInfo | null>;
  /** Opens (or resumes) the partial for key. */
  begin(key: string): Promise<PartialEntry>;
  /** Turns the partial into the entry for its key, atomically, recording info (default: just the size). */
  commit(partial: PartialEntry, info?: CacheEntryInfo): Promise<void>;
  /** Removes the entry and any partial for key. */
  delete(key: string): Promise<void>;
}

/** Throws CacheError unless key is a safe '/'-separated relative path. */
export function checkCacheKey(key: string): void {
  if (!isSafeRelativePath(key)) {
    throw new CacheError(key, "is not a safe relative key ('/'-separated, no empty, '.' or '..' segments)");
  }
}

/** Stores a small whole value (a listing) as an entry. */
export async function putCached(store: CacheStore, key: string, bytes: Uint8Array, info: Omit<CacheEntryInfo, 'size'> = {}): Promise<void> {
  const partial = await store.begin(key);
  try {
    await partial.truncate(0);
    await partial.append(bytes);
  } catch (e) {
    await partial.discard();
    throw e;
  }
  await store.commit(partial, { ...info, size: bytes.length });
}

/** Reads a whole (small) entry, or null. */
export async function getCachedBytes(store: CacheStore, key: string): Promise<Uint8Array | null> {
  const src = await store.get(key);
  if (!src) return null;
  try {
    return await src.read(0, src.size, key);
  } finally {
    await src.close?.();
  }
}

/** Concatenates chunks into one buffer. */
export function concatBytes(chunks: readonly Uint8Array[], total = chunks.reduce((n, c) => n + c.length, 0)): Uint8Array {
  if (chunks.length === 1 && chunks[0].length === total) return chunks[0];
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/** A cache in memory: nothing survives the process. For tests, and browsers without storage. */
export function memoryCacheStore(name = 'memory'): CacheStore & { readonly partials: ReadonlyMap<string, Uint8Array> } {
  const entries = new Map<string, { bytes: Uint8Array; info: CacheEntryInfo }>();
  const partials = new Map<string, Uint8Array>(); // kept bytes of closed (resumable) partials
  const open = new Set<string>();

  return {
    name,
    partials,
    async get(key) {
      checkCacheKey(key);
      const e = entries.get(key);
      return e ? bytesSource(e.bytes, `${name}/${key}`) : null;
    },
    async has(key) {
      checkCacheKey(key);
      return entries.has(key);
    },
    async info(key) {
      checkCacheKey(key);
      const e = entries.get(key);
      return e ? { ...e.info } : null;
    },
    async begin(key) {
      checkCacheKey(key);
      if (open.has(key)) throw new CacheError(key, 'is already being downloaded in this process');
      open.add(key);
      let chunks: Uint8Array[] = [];
      let size = 0;
      const kept = partials.get(key);
      if (kept) {
        chunks.push(kept);
        size = kept.length;
      }
      let released = false;
      const live = () => {
        if (released) throw new CacheError(key, 'partial used after close, discard or commit');
      };
      const flat = () => {
        const all = concatBytes(chunks, size);
        chunks = size ? [all] : [];
        return all;
      };
      const partial: PartialEntry & { take(): Uint8Array } = {
        key,
        get size() {
          return size;
        },
        async append(bytes) {
          live();
          chunks.push(bytes.slice());
          size += bytes.length;
        },
        async truncate(length) {
          live();
          if (length > size) throw new CacheError(key, `cannot truncate ${size} bytes to ${length}`);
          const all = flat();
          chunks = length ? [all.slice(0, length)] : [];
          size = length;
        },
        async read(offset, length) {
          live();
          if (offset < 0 || length < 0 || offset + length > size) throw new CacheError(key, `read ${offset}+${length} outside ${size} bytes`);
          return flat().slice(offset, offset + length);
        },
        async close() {
          if (released) return;
          released = true;
          open.delete(key);
          partials.set(key, flat());
        },
        async discard() {
          if (released) return;
          released = true;
          open.delete(key);
          partials.delete(key);
        },
        take() {
          live();
          released = true;
          open.delete(key);
          partials.delete(key);
          return flat();
        },
      };
      return partial;
    },
    async commit(partial, info) {
      const take = (partial as { take?: () => Uint8Array }).take;
      if (!take) throw new CacheError(partial.key, 'is not a partial of this store');
      const bytes = take.call(partial);
      entries.set(partial.key, { bytes, info: { ...info, size: bytes.length } });
    },
    async delete(key) {
      checkCacheKey(key);
      entries.delete(key);
      partials.delete(key);
    },
  };
}
