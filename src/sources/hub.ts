// The Hugging Face hub, over fetch: settings from options or an injected env record, the repo file listing,
// which files a spec needs, download URLs, and HTTP statuses turned into errors that say what to do.
//
//   listing   GET {endpoint}/api/models/{repo}/tree/{revision}?recursive=true
//             -> [{ type: 'file' | 'directory', path, size, oid, lfs?: { oid: sha256, size } }], paginated by a
//                `Link: <next>; rel="next"` header
//   download  GET {endpoint}/{repo}/resolve/{revision}/{path}   (redirects to a CDN; fetch follows)
//
// Mirrors huggingface_hub (HF_ENDPOINT, HF_TOKEN, X-Error-Code: RepoNotFound / RevisionNotFound /
// EntryNotFound / GatedRepo) and llama.cpp's `-hf owner/name:QUANT` choice of GGUF. Core code: no `process`, no
// `fs`; the environment comes in as a plain record. Deliberately left out: datasets and spaces, split GGUFs
// (`-00001-of-00003.gguf`), the hub's own on-disk cache layout (ours is simpler: see src/node/cache.ts).

import { HubAuthError, HubError, HubNotFoundError } from './errors.js';
import { isSafeRelativePath, type HubSpec } from './spec.js';

export const DEFAULT_HUB_ENDPOINT = 'https://huggingface.co';

/** The files an HF (safetensors) repo needs beside its weights, and the ones we take when present. */
export const HF_REQUIRED_FILES = ['config.json'] as const;
export const HF_OPTIONAL_FILES = [
  'tokenizer.json',
  'tokenizer_config.json',
  'chat_template.jinja',
  'generation_config.json',
  'special_tokens_map.json',
] as const;
const HF_WEIGHTS = 'model.safetensors';
const HF_WEIGHTS_INDEX = 'model.safetensors.index.json';

/** Pages of a listing we follow before calling it malformed (the hub serves 1000 entries a page). */
const MAX_LISTING_PAGES = 1000;

export type Env = Readonly<Record<string, string | undefined>>;

export interface HubOptions {
  /** Hub base URL; default: env HF_ENDPOINT, then https://huggingface.co. */
  endpoint?: string;
  /** Access token; default: env HF_TOKEN (or the older HUGGING_FACE_HUB_TOKEN). */
  token?: string;
  /** Environment variables (the Node adapter passes process.env; core code never reads `process`). */
  env?: Env;
  fetch?: typeof fetch;
  signal?: AbortSignal;
}

export interface HubSettings {
  endpoint: string;
  token: string | undefined;
}

/** Endpoint and token: explicit option, else env, else default. */
export function hubSettings(opts: HubOptions = {}): HubSettings {
  const env = opts.env ?? {};
  const endpoint = (opts.endpoint ?? nonEmpty(env.HF_ENDPOINT) ?? DEFAULT_HUB_ENDPOINT).replace(/\/+$/, '');
  const token = opts.token ?? nonEmpty(env.HF_TOKEN) ?? nonEmpty(env.HUGGING_FACE_HUB_TOKEN);
  return { endpoint, token };
}

/** `Authorization: Bearer <token>` when there is a token. */
export function hubHeaders(settings: HubSettings): Record<string, string> {
  return settings.token ? { Authorization: `Bearer ${settings.token}` } : {};
}

function nonEmpty(s: string | undefined): string | undefined {
  return s === undefined || s.trim() === '' ? undefined : s.trim();
}

/** One file of a repo, as the listing describes it. */
export interface HubFile {
  path: string;
  /** Size in bytes of the real file (the LFS object's size for LFS files). */
  size: number;
  /** Lowercase hex sha256 of the whole file: LFS files only. */
  sha256?: string;
  /** The git blob id (for LFS files, of the pointer). */
  oid?: string;
}

/** `{endpoint}/{repo}/resolve/{revision}/{path}`, with the revision and each path segment URL-encoded. */
export function hubFileUrl(endpoint: string, repo: string, revision: string, path: string): string {
  return `${endpoint}/${repo}/resolve/${encodeURIComponent(revision)}/${path.split('/').map(encodeURIComponent).join('/')}`;
}

/** The listing URL (first page). */
export function hubTreeUrl(endpoint: string, repo: string, revision: string): string {
  return `${endpoint}/api/models/${repo}/tree/${encodeURIComponent(revision)}?recursive=true`;
}

/** Cache key of a repo file: `hub/{owner}/{name}/{revision, URL-encoded}/{path}`. */
export function hubCacheKey(repo: string, revision: string, path: string): string {
  return `${hubRevisionKey(repo, revision)}/${path}`;
}

/** Cache key prefix (a folder in the Node cache) of one revision of a repo. */
export function hubRevisionKey(repo: string, revision: string): string {
  return `hub/${repo}/${encodeURIComponent(revision)}`;
}

/**
 * Lists every file of a repo at a revision (following pagination). Throws HubNotFoundError (404), HubAuthError
 * (401/403: set HF_TOKEN), HubError code 'E_HUB_UNREACHABLE' (network) or 'E_HUB_LISTING' (malformed answer).
 */
export async function listHubFiles(repo: string, revision: string, opts: HubOptions = {}): Promise<HubFile[]> {
  const settings = hubSettings(opts);
  const doFetch = opts.fetch ?? globalThis.fetch;
  const origin = new URL(settings.endpoint).origin;
  const files: HubFile[] = [];
  let url: string | null = hubTreeUrl(settings.endpoint, repo, revision);
  for (let page = 0; url !== null; page++) {
    if (page >= MAX_LISTING_PAGES) throw new HubError(repo, revision, undefined, `the file listing has more than ${MAX_LISTING_PAGES} pages`, 'E_HUB_LISTING');
    let res: Response;
    try {
      res = await doFetch(url, { headers: { ...hubHeaders(settings), Accept: 'application/json' }, signal: opts.signal });
    } catch (e) {
      if (opts.signal?.aborted) throw e;
      throw new HubError(repo, revision, undefined, `cannot reach ${settings.endpoint}: ${e instanceof Error ? e.message : String(e)}`, 'E_HUB_UNREACHABLE');
    }
    if (!res.ok) {
      await res.body?.cancel().catch(() => {});
      throw hubHttpError(res.status, res, { repo, revision, endpoint: settings.endpoint, hasToken: settings.token !== undefined });
    }
    let body: unknown;
    try {
      body = await res.json();
    } catch {
      throw new HubError(repo, revision, undefined, `the file listing from ${url} is not JSON`, 'E_HUB_LISTING');
    }
    for (const f of parseListing(body, repo, revision)) files.push(f);
    url = nextPage(res.headers.get('link'), url, origin);
  }
  return files;
}

/** Parses one page of the tree listing: files only (directories dropped), paths checked. */
export function parseListing(body: unknown, repo: string, revision: string): HubFile[] {
  const bad = (why: string) => new HubError(repo, revision, undefined, `malformed file listing: ${why}`, 'E_HUB_LISTING');
  if (!Array.isArray(body)) throw bad('expected a JSON array');
  const out: HubFile[] = [];
  for (const [i, e] of body.entries()) {
    if (typeof e !== 'object' || e === null) throw bad(`entry ${i} is not an object`);
    const { type, path, size, oid, lfs } = e as Record<string, unknown>;
    if (type !== 'file') continue;
    if (typeof path !== 'string' || !isSafeRelativePath(path)) throw bad(`entry ${i} has an unsafe or missing path ${JSON.stringify(path)}`);
    let fileSize = size;
    let sha256: string | undefined;
    if (lfs !== undefined && lfs !== null) {
      const l = lfs as Record<string, unknown>;
      if (typeof l.oid === 'string' && /^[0-9a-fA-F]{64}$/.test(l.oid)) sha256 = l.oid.toLowerCase();
      if (typeof l.size === 'number') fileSize = l.size;
    }
    if (typeof fileSize !== 'number' || !Number.isSafeInteger(fileSize) || fileSize < 0) throw bad(`'${path}' has no valid size`);
    const f: HubFile = { path, size: fileSize };
    if (sha256 !== undefined) f.sha256 = sha256;
    if (typeof oid === 'string') f.oid = oid;
    out.push(f);
  }
  return out;
}

function nextPage(link: string | null, current: string, origin: string): string | null {
  if (!link) return null;
  const m = /<([^>]+)>\s*;\s*rel="?next"?/.exec(link);
  if (!m) return null;
  const next = new URL(m[1], current);
  // The token goes to the hub only: a next page elsewhere is not followed.
  return next.origin === origin ? next.href : null;
}

export interface HubErrorContext {
  repo: string;
  revision: string;
  file?: string;
  endpoint: string;
  hasToken: boolean;
}

/** Turns a failed hub response into HubNotFoundError / HubAuthError / HubError, naming repo, revision and file. */
export function hubHttpError(status: number, res: Response | null, ctx: HubErrorContext): Error {
  const { repo, revision, file } = ctx;
  const code = res?.headers.get('x-error-code') ?? '';
  const serverMessage = res?.headers.get('x-error-message');
  const detail = serverMessage ? ` (hub says: ${serverMessage})` : '';
  const what = file === undefined ? `repo '${repo}' at revision '${revision}'` : `file '${file}' in repo '${repo}' at revision '${revision}'`;
  if (status === 401 || status === 403) {
    const hint = code === 'GatedRepo'
      ? `'${repo}' is gated: accept its conditions at ${ctx.endpoint}/${repo}, then set HF_TOKEN to a token of that account`
      : ctx.hasToken
        ? 'the token in HF_TOKEN was refused or has no access to this repo: check HF_TOKEN'
        : 'the repo may be private or gated, or may not exist: set HF_TOKEN to an access token';
    return new HubAuthError(repo, revision, file, status, `HTTP ${status} for ${what}: ${hint}${detail}`);
  }
  if (status === 404) {
    const which = code === 'RevisionNotFound'
      ? `revision '${revision}' of repo '${repo}' not found`
      : code === 'RepoNotFound'
        ? `repo '${repo}' not found`
        : code === 'EntryNotFound' || file !== undefined
          ? `${what} not found`
          : `repo '${repo}' or revision '${revision}' not found`;
    return new HubNotFoundError(repo, revision, file, `${which} on ${ctx.endpoint} (HTTP 404)${detail}`);
  }
  return new HubError(repo, revision, file, `HTTP ${status}${res?.statusText ? ` ${res.statusText}` : ''} for ${what}${detail}`, 'E_HUB_HTTP');
}

// --- which files a spec needs ---------------------------------------------------------------------------------

/** A GGUF to download, or an HF safetensors repo's files (shards come from the index, once it is downloaded). */
export type HubPlan =
  | { kind: 'gguf'; repo: string; revision: string; file: HubFile }
  | { kind: 'hf'; repo: string; revision: string; files: HubFile[]; index: HubFile | null };

const SPLIT_GGUF_RE = /-\d{5}-of-\d{5}\.gguf$/i;

/** Decides what to download for a hub spec from the repo's listing. */
export function planHubModel(spec: HubSpec, files: readonly HubFile[]): HubPlan {
  const { repo, revision } = spec;
  const byPath = new Map(files.map((f) => [f.path, f]));
  if (spec.file !== undefined) {
    const f = byPath.get(spec.file);
    if (!f) {
      throw new HubNotFoundError(repo, revision, spec.file, `file '${spec.file}' is not in repo '${repo}' at revision '${revision}'${ggufList(files)}`);
    }
    if (!/\.gguf$/i.test(f.path)) {
      throw new HubError(repo, revision, spec.file, 'an explicit file must be a .gguf; name the repo alone for a safetensors model');
    }
    if (SPLIT_GGUF_RE.test(f.path)) throw new HubError(repo, revision, f.path, 'split GGUF files are not supported');
    return { kind: 'gguf', repo, revision, file: f };
  }
  if (spec.quant !== undefined) return { kind: 'gguf', repo, revision, file: selectGguf(repo, revision, files, spec.quant) };

  const config = byPath.get('config.json');
  const weights = byPath.get(HF_WEIGHTS);
  const index = byPath.get(HF_WEIGHTS_INDEX);
  if (config && (weights || index)) {
    const picked = [config];
    if (weights) picked.push(weights);
    for (const name of HF_OPTIONAL_FILES) {
      const f = byPath.get(name);
      if (f) picked.push(f);
    }
    return { kind: 'hf', repo, revision, files: picked, index: weights ? null : index! };
  }
  const ggufs = modelGgufs(files);
  if (ggufs.length === 1) return { kind: 'gguf', repo, revision, file: ggufs[0] };
  if (ggufs.length > 1) {
    throw new HubError(repo, revision, undefined, `holds several GGUF files: add a quant tag ('${repo}:Q4_0') or a file path${ggufList(files)}`, 'E_HUB_AMBIGUOUS');
  }
  const missing = config ? `${HF_WEIGHTS} or ${HF_WEIGHTS_INDEX}` : 'config.json';
  throw new HubError(repo, revision, undefined, `is neither a GGUF repo nor an HF safetensors repo (no .gguf file, no ${missing})`, 'E_HUB_NO_MODEL');
}

/** GGUF files that can be a main model: not mmproj (vision projectors), not split parts. */
function modelGgufs(files: readonly HubFile[]): HubFile[] {
  return files.filter((f) => /\.gguf$/i.test(f.path) && !/^mmproj/i.test(baseName(f.path)) && !SPLIT_GGUF_RE.test(f.path));
}

/**
 * The GGUF whose name carries the quant tag, case-insensitively. A tag delimited by '-', '_' or '.' (`-Q4_0.gguf`)
 * wins over a bare substring, so `Q4_0` picks `x-Q4_0.gguf` over `x-Q4_0_4_4.gguf` and `F16` does not match
 * `BF16`. None or several matches: HubError listing the repo's .gguf files.
 */
export function selectGguf(repo: string, revision: string, files: readonly HubFile[], quant: string): HubFile {
  const candidates = modelGgufs(files);
  const tag = quant.toLowerCase();
  const stem = (f: HubFile) => baseName(f.path).toLowerCase().replace(/\.gguf$/, '');
  const delimited = candidates.filter((f) => {
    const s = stem(f);
    for (let i = s.indexOf(tag); i !== -1; i = s.indexOf(tag, i + 1)) {
      const before = i === 0 ? '-' : s[i - 1];
      const after = i + tag.length === s.length ? '-' : s[i + tag.length];
      if (/[-_.]/.test(before) && /[-.]/.test(after)) return true;
    }
    return false;
  });
  const matches = delimited.length > 0 ? delimited : candidates.filter((f) => stem(f).includes(tag));
  if (matches.length === 1) return matches[0];
  if (matches.length === 0) {
    throw new HubNotFoundError(repo, revision, undefined, `no GGUF file matches the quant tag '${quant}'${ggufList(files)}`);
  }
  throw new HubError(repo, revision, undefined, `the quant tag '${quant}' matches several GGUF files (${matches.map((f) => f.path).join(', ')}): name the file instead${ggufList(files)}`, 'E_HUB_AMBIGUOUS');
}

function ggufList(files: readonly HubFile[]): string {
  const ggufs = files.filter((f) => /\.gguf$/i.test(f.path)).map((f) => f.path);
  return ggufs.length ? `; available .gguf files: ${ggufs.join(', ')}` : '; the repo has no .gguf files';
}

function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

/** The shard files a model.safetensors.index.json names (its weight_map values), checked against the listing. */
export function shardsFromIndex(indexText: string, files: readonly HubFile[], repo: string, revision: string, indexPath = HF_WEIGHTS_INDEX): HubFile[] {
  let index: unknown;
  try {
    index = JSON.parse(indexText);
  } catch {
    throw new HubError(repo, revision, indexPath, 'is not valid JSON', 'E_HUB_LISTING');
  }
  const map = (index as { weight_map?: unknown } | null)?.weight_map;
  if (typeof map !== 'object' || map === null || Array.isArray(map)) {
    throw new HubError(repo, revision, indexPath, 'has no weight_map object', 'E_HUB_LISTING');
  }
  const dir = indexPath.includes('/') ? indexPath.slice(0, indexPath.lastIndexOf('/') + 1) : '';
  const byPath = new Map(files.map((f) => [f.path, f]));
  const out: HubFile[] = [];
  for (const shard of new Set(Object.values(map as Record<string, unknown>))) {
    if (typeof shard !== 'string' || !isSafeRelativePath(shard) || shard.includes('/')) {
      throw new HubError(repo, revision, indexPath, `weight_map names ${JSON.stringify(shard)}, not a plain file name`, 'E_HUB_LISTING');
    }
    const f = byPath.get(dir + shard);
    if (!f) throw new HubNotFoundError(repo, revision, dir + shard, `shard '${dir + shard}' named by ${indexPath} is not in the repo`);
    out.push(f);
  }
  return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}
