// `--model <spec>` for Node: a local GGUF or HF folder, a URL, or a hub reference, as a ByteSource or a FileSet.
//
//   local file   -> fileSource(path)                     local folder -> directoryFileSet(path)
//   URL          -> download once into the cache -> fileSource
//   hub GGUF     -> list, pick the file, download (resumable, verified) -> fileSource
//   hub HF repo  -> list, download config + weights (+ shards) + tokenizer files -> a FileSet over the revision folder
//
// A string that names an existing file or folder is local whatever it looks like (`owner/name` is also a relative
// path); anything else goes through parseModelSpec. Environment: HF_ENDPOINT, HF_TOKEN (else the token file that
// `huggingface-cli login` writes: $HF_TOKEN_PATH, $HF_HOME/token, ~/.cache/huggingface/token), HF_HUB_OFFLINE,
// LFM_CACHE / XDG_CACHE_HOME, all read from `opts.env` (default process.env). Hashing uses node:crypto.

import { readFileSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import type { ByteSource, FileSet } from '../../reference/bytes.js';
import { HubAuthError, HubNotFoundError, SpecError } from '../sources/errors.js';
import { hubRevisionKey, type Env } from '../sources/hub.js';
import { fetchHubModel, fetchUrlModel, openFetchedModel, type FetchedModel, type FetchModelOptions } from '../sources/remote.js';
import { parseModelSpec, type ModelSpec } from '../sources/spec.js';
import { defaultCacheDir, nodeCacheStore, nodeSha256, type NodeCacheStore } from './cache.js';
import { directoryFileSet, fileSource } from './files.js';

export interface OpenModelSourceOptions extends Omit<FetchModelOptions, 'store' | 'env'> {
  /** Environment variables; default process.env. */
  env?: Env;
  /** Cache folder; default defaultCacheDir(env). */
  cacheDir?: string;
  /** A cache store to use instead of one over cacheDir. */
  store?: NodeCacheStore;
}

export type OpenedModelSource = ({ kind: 'gguf'; source: ByteSource } | { kind: 'hf'; files: FileSet }) & {
  /** The spec as parsed (a string naming an existing path becomes 'file' or 'folder'). */
  spec: ModelSpec;
  /** 'local': the path the user gave; 'cache': a hub or URL model, downloaded now or earlier. */
  origin: 'local' | 'cache';
  /** The GGUF file, or the HF folder, on disk. */
  localPath: string;
  /** Every file on disk the model is made of (HF: config, weights or index + shards, tokenizer files). */
  localFiles: string[];
  /** Hub or URL: what was resolved and whether each file was downloaded by this call. */
  fetched?: FetchedModel;
};

/** Opens a model spec (string or parsed). The caller closes a GGUF source; FileSet sources are closed by their reader. */
export async function openModelSource(spec: string | ModelSpec, opts: OpenModelSourceOptions = {}): Promise<OpenedModelSource> {
  const env = opts.env ?? process.env;
  const parsed = typeof spec === 'string' ? await classify(spec, env) : spec;

  switch (parsed.kind) {
    case 'file':
    case 'folder': {
      const path = resolve(expandHome(parsed.path, env));
      let st;
      try {
        st = await stat(path);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        throw new SpecError(parsed.path, code === 'ENOENT' ? `no such file or folder (${path})` : `cannot read ${path}: ${code ?? String(e)}`);
      }
      if (st.isDirectory()) {
        return { kind: 'hf', files: directoryFileSet(path), spec: { kind: 'folder', path: parsed.path }, origin: 'local', localPath: path, localFiles: [path] };
      }
      if (!st.isFile()) throw new SpecError(parsed.path, 'is neither a file nor a folder');
      return { kind: 'gguf', source: await fileSource(path), spec: { kind: 'file', path: parsed.path }, origin: 'local', localPath: path, localFiles: [path] };
    }
    case 'url':
    case 'hub': {
      const store = opts.store ?? nodeCacheStore(opts.cacheDir ?? defaultCacheDir(env));
      const token = opts.token ?? hfToken(env);
      const fetchOpts: FetchModelOptions = { createHash: nodeSha256, ...opts, env, store };
      if (token !== undefined) fetchOpts.token = token;
      let fetched: FetchedModel;
      try {
        fetched = parsed.kind === 'url' ? await fetchUrlModel(parsed.url, fetchOpts) : await fetchHubModel(parsed, fetchOpts);
      } catch (e) {
        // `models/lfm2` is also a relative path: say that it was looked for locally too.
        if (typeof spec === 'string' && (e instanceof HubNotFoundError || e instanceof HubAuthError) && e.file === undefined) {
          e.message += ` (and there is no local file or folder '${spec}')`;
        }
        throw e;
      }
      const localFiles = fetched.files.map((f) => store.pathFor(f.key));
      if (fetched.kind === 'gguf') {
        return { kind: 'gguf', source: await fileSource(localFiles[0]), spec: parsed, origin: 'cache', localPath: localFiles[0], localFiles, fetched };
      }
      const localPath = store.pathFor(hubRevisionKey(fetched.repo!, fetched.revision!));
      const opened = await openFetchedModel(store, { ...fetched, name: localPath });
      if (opened.kind !== 'hf') throw new Error('unreachable');
      return { kind: 'hf', files: opened.files, spec: parsed, origin: 'cache', localPath, localFiles, fetched };
    }
  }
}

/** An existing path is local whatever it looks like; anything else is parsed. */
async function classify(spec: string, env: Env): Promise<ModelSpec> {
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(spec)) {
    try {
      const st = await stat(expandHome(spec, env));
      if (st.isFile()) return { kind: 'file', path: spec };
      if (st.isDirectory()) return { kind: 'folder', path: spec };
    } catch {
      // not a local path: parse it
    }
  }
  return parseModelSpec(spec);
}

function expandHome(path: string, env: Env): string {
  return path === '~' || path.startsWith('~/') ? join(env.HOME ?? homedir(), path.slice(1)) : path;
}

/** HF_TOKEN, else the token file huggingface-cli writes. */
export function hfToken(env: Env = process.env): string | undefined {
  const direct = env.HF_TOKEN?.trim() || env.HUGGING_FACE_HUB_TOKEN?.trim();
  if (direct) return direct;
  const home = env.HOME ?? homedir();
  const hfHome = env.HF_HOME ?? join(env.XDG_CACHE_HOME ?? join(home, '.cache'), 'huggingface');
  const path = env.HF_TOKEN_PATH ?? join(hfHome, 'token');
  try {
    return readFileSync(path, 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}
