// The model cache as a folder (Node; Deno and Bun run it through their node: compatibility).
//
// Where: `$LFM_CACHE`, else `$XDG_CACHE_HOME/lfm.ts`, else `~/.cache/lfm.ts`. Layout under it (keys are paths):
//   hub/{owner}/{name}/{revision}/{file}                 a verified file from the hub (revision URL-encoded)
//   hub/{owner}/{name}/{revision}/{file}.partial         a download in progress (resumable; never read as a model)
//   hub/{owner}/{name}/{revision}/{file}.lfm-meta.json   what was recorded at commit: size, sha256, git oid, url
//                                                        (absent for entries with nothing but a size: the listing)
//   hub/{owner}/{name}/{revision}/.lfm-tree.json         the repo listing of the last online run (offline use)
//   url/{host}/{sha256(url)[:16]}/{file}                 a file downloaded from a plain URL (same sidecars)
// An HF repo's files sit side by side as in the repo, so the revision folder is itself an HF model folder.
//
// Commit is atomic: fsync the partial, write the sidecar to a temp name, rename the partial over the final name,
// rename the sidecar into place. A crash between the two renames leaves a file without (or with an old) sidecar,
// which the hub code treats as stale and downloads again: never a truncated file under the final name.
// Also here: nodeSha256(), node:crypto's hash in the StreamingHash shape (~15x our pure-TS one).

import { createHash } from 'node:crypto';
import { mkdir, open, readFile, rename, rm, stat, writeFile, type FileHandle } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import type { ByteSource } from '../../reference/bytes.js';
import { checkCacheKey, type CacheEntryInfo, type CacheStore, type PartialEntry } from '../sources/cache-store.js';
import { CacheError } from '../sources/errors.js';
import type { StreamingHash } from '../sources/sha256.js';
import { fileSource } from './files.js';

export const PARTIAL_SUFFIX = '.partial';
export const META_SUFFIX = '.lfm-meta.json';

/** `$LFM_CACHE`, else `$XDG_CACHE_HOME/lfm.ts`, else `~/.cache/lfm.ts` (from `env`, default process.env). */
export function defaultCacheDir(env: Readonly<Record<string, string | undefined>> = process.env): string {
  const set = (v: string | undefined) => (v !== undefined && v.trim() !== '' ? v : undefined);
  const explicit = set(env.LFM_CACHE);
  if (explicit) return explicit;
  const xdg = set(env.XDG_CACHE_HOME);
  if (xdg) return join(xdg, 'lfm.ts');
  return join(set(env.HOME) ?? homedir(), '.cache', 'lfm.ts');
}

export interface NodeCacheStore extends CacheStore {
  readonly dir: string;
  /** Absolute path of the entry for key (whether or not it exists). */
  pathFor(key: string): string;
}

/** node:crypto's sha256 as a StreamingHash. */
export function nodeSha256(): StreamingHash {
  const h = createHash('sha256');
  return {
    update: (bytes) => void h.update(bytes),
    digestHex: () => h.digest('hex'),
  };
}

function isMissing(e: unknown): boolean {
  return (e as NodeJS.ErrnoException)?.code === 'ENOENT';
}

/** A CacheStore over a folder (created on first write). */
export function nodeCacheStore(dir: string = defaultCacheDir()): NodeCacheStore {
  const open_ = new Set<string>();
  const pathFor = (key: string) => {
    checkCacheKey(key);
    return join(dir, ...key.split('/'));
  };

  const readMeta = async (path: string): Promise<Partial<CacheEntryInfo> | null> => {
    try {
      const m = JSON.parse(await readFile(path + META_SUFFIX, 'utf8')) as unknown;
      return typeof m === 'object' && m !== null ? (m as Partial<CacheEntryInfo>) : null;
    } catch {
      return null;
    }
  };

  const store: NodeCacheStore = {
    name: dir,
    dir,
    pathFor,
    async get(key): Promise<ByteSource | null> {
      const path = pathFor(key);
      try {
        return await fileSource(path);
      } catch (e) {
        if (isMissing(e)) return null;
        throw e;
      }
    },
    async has(key) {
      try {
        return (await stat(pathFor(key))).isFile();
      } catch (e) {
        if (isMissing(e)) return false;
        throw e;
      }
    },
    async info(key) {
      const path = pathFor(key);
      let size: number;
      try {
        const st = await stat(path);
        if (!st.isFile()) return null;
        size = st.size;
      } catch (e) {
        if (isMissing(e)) return null;
        throw e;
      }
      const info: CacheEntryInfo = { size };
      const meta = await readMeta(path);
      // A sidecar describes this file only if the sizes agree (else: a crash between the renames, or a hand edit).
      if (meta && meta.size === size) {
        if (typeof meta.sha256 === 'string') info.sha256 = meta.sha256;
        if (typeof meta.oid === 'string') info.oid = meta.oid;
        if (typeof meta.url === 'string') info.url = meta.url;
      }
      return info;
    },
    async begin(key) {
      const path = pathFor(key);
      if (open_.has(key)) throw new CacheError(key, 'is already being downloaded in this process');
      open_.add(key);
      const partialPath = path + PARTIAL_SUFFIX;
      let fh: FileHandle;
      let size: number;
      try {
        await mkdir(dirname(path), { recursive: true });
        fh = await open(partialPath, 'a+'); // O_APPEND: every write lands at the end; reads take a position
        size = (await fh.stat()).size;
      } catch (e) {
        open_.delete(key);
        throw e;
      }
      let released = false;
      const live = () => {
        if (released) throw new CacheError(key, 'partial used after close, discard or commit');
      };
      const release = async () => {
        if (released) return false;
        released = true;
        open_.delete(key);
        await fh.close();
        return true;
      };
      const partial: PartialEntry & { finish(info: CacheEntryInfo | undefined): Promise<void> } = {
        key,
        get size() {
          return size;
        },
        async append(bytes) {
          live();
          let done = 0;
          while (done < bytes.length) {
            const { bytesWritten } = await fh.write(bytes, done, bytes.length - done);
            done += bytesWritten;
          }
          size += bytes.length;
        },
        async truncate(length) {
          live();
          if (length > size) throw new CacheError(key, `cannot truncate ${size} bytes to ${length}`);
          await fh.truncate(length);
          size = length;
        },
        async read(offset, length) {
          live();
          if (offset < 0 || length < 0 || offset + length > size) throw new CacheError(key, `read ${offset}+${length} outside ${size} bytes`);
          const out = new Uint8Array(length);
          let done = 0;
          while (done < length) {
            const { bytesRead } = await fh.read(out, done, length - done, offset + done);
            if (bytesRead === 0) throw new CacheError(key, `the partial file shrank under us at ${offset + done} bytes`);
            done += bytesRead;
          }
          return out;
        },
        async close() {
          await release();
        },
        async discard() {
          if (await release()) await rm(partialPath, { force: true });
        },
        async finish(info) {
          live();
          await fh.sync();
          await release();
          const meta: CacheEntryInfo = { ...info, size };
          if (meta.sha256 === undefined && meta.oid === undefined && meta.url === undefined) {
            // Nothing to record beyond the size (a listing): no sidecar, and no stale one either.
            await rm(path + META_SUFFIX, { force: true });
            await rename(partialPath, path);
            return;
          }
          const metaTmp = `${path}${META_SUFFIX}.${process.pid}.tmp`;
          await writeFile(metaTmp, JSON.stringify(meta) + '\n');
          try {
            await rename(partialPath, path);
            await rename(metaTmp, path + META_SUFFIX);
          } catch (e) {
            await rm(metaTmp, { force: true });
            throw e;
          }
        },
      };
      return partial;
    },
    async commit(partial, info) {
      const finish = (partial as { finish?: (info: CacheEntryInfo | undefined) => Promise<void> }).finish;
      if (!finish) throw new CacheError(partial.key, 'is not a partial of this store');
      await finish.call(partial, info);
    },
    async delete(key) {
      const path = pathFor(key);
      await rm(path, { force: true });
      await rm(path + META_SUFFIX, { force: true });
      await rm(path + PARTIAL_SUFFIX, { force: true });
    },
  };
  return store;
}
