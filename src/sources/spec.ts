// Model spec strings: what a user types after `--model`, turned into where the model lives.
//
//   ./model.gguf, /abs/model.gguf, C:\m\model.gguf     a local GGUF file           { kind: 'file', path }
//   ./my-hf-folder, /abs/folder                           a local HF folder           { kind: 'folder', path }
//   https://host/path/model.gguf                          a GGUF at a URL             { kind: 'url', url }
//   LiquidAI/LFM2.5-1.2B-Thinking-GGUF:Q4_0               a hub GGUF by quant tag     { kind: 'hub', repo, quant }
//   LiquidAI/LFM2.5-1.2B-Thinking-GGUF/x-Q4_0.gguf        a hub GGUF by file path     { kind: 'hub', repo, file }
//   LiquidAI/LFM2.5-1.2B-Thinking                          a hub repo: safetensors (or its only GGUF)
//   owner/name@rev...                                     any hub form at a revision (branch, tag or commit)
//   hf://owner/name...                                    forces the hub reading
//
// Parsing is purely syntactic and never touches a file system: `owner/name` is also a valid relative folder
// path, so the Node adapter checks for an existing file or folder first and only then calls this. A path that
// starts with `/`, `./`, `../`, `~` or a drive letter is always local. Revisions that contain `/` (refs/pr/1) are
// written URL-encoded (`owner/name@refs%2Fpr%2F1`).

import { SpecError } from './errors.js';

/** What `lfm --model` loads when none is given. */
export const DEFAULT_MODEL = 'LiquidAI/LFM2.5-1.2B-Thinking-GGUF:Q4_0';

/** The default hub revision. */
export const DEFAULT_REVISION = 'main';

/** A model on the Hugging Face hub: a GGUF by quant tag or by path, or (neither) the repo's safetensors. */
export interface HubSpec {
  kind: 'hub';
  /** `owner/name`. */
  repo: string;
  /** Branch, tag or commit; 'main' when not given. */
  revision: string;
  /** An explicit file path inside the repo. */
  file?: string;
  /** A quant tag such as `Q4_0`, matched against the repo's .gguf names. */
  quant?: string;
}

export type ModelSpec =
  | { kind: 'file'; path: string }
  | { kind: 'folder'; path: string }
  | { kind: 'url'; url: string }
  | HubSpec;

// One repo-name segment as the hub allows it: letters, digits, '-', '_', '.', not starting with a dot or dash.
const NAME = '[A-Za-z0-9_][A-Za-z0-9._-]*';
const HUB_RE = new RegExp(`^(${NAME})/(${NAME})(?:@([^/:@]+))?(?::([A-Za-z0-9._+-]+)|/(.+))?$`);
const HUBISH_RE = new RegExp(`^${NAME}/${NAME}[@:]`);
const GGUF_RE = /\.gguf$/i;

/** Parses a spec string (see the file comment). Throws SpecError for an empty or malformed one. */
export function parseModelSpec(spec: string): ModelSpec {
  const s = spec.trim();
  if (s === '') throw new SpecError(spec, 'empty model spec');

  if (/^https?:\/\//i.test(s)) {
    try {
      return { kind: 'url', url: new URL(s).href };
    } catch {
      throw new SpecError(spec, 'is not a valid URL');
    }
  }
  if (/^file:\/\//i.test(s)) {
    let path: string;
    try {
      path = decodeURIComponent(new URL(s).pathname);
    } catch {
      throw new SpecError(spec, 'is not a valid file: URL');
    }
    if (/^\/[A-Za-z]:\//.test(path)) path = path.slice(1); // file:///C:/x -> C:/x
    return localSpec(path);
  }
  if (/^hf:\/\//i.test(s)) {
    const hub = parseHub(s.slice(5));
    if (!hub) throw new SpecError(spec, "is not a hub reference 'owner/name[@revision][:quant | /path/file]'");
    return hub;
  }
  if (/^(\/|\.{1,2}([/\\]|$)|~|[A-Za-z]:[\\/])/.test(s) || s.includes('\\')) return localSpec(s);

  const hub = parseHub(s);
  // `dir/model.gguf` has no room for a file after owner/name: it is a relative path.
  if (hub && !(hub.file === undefined && GGUF_RE.test(hub.repo))) return hub;
  if (HUBISH_RE.test(s)) {
    throw new SpecError(spec, "looks like a hub reference but is malformed: expected 'owner/name[@revision][:quant | /path/file]'");
  }
  return localSpec(s);
}

function localSpec(path: string): ModelSpec {
  return GGUF_RE.test(path) ? { kind: 'file', path } : { kind: 'folder', path };
}

function parseHub(s: string): HubSpec | null {
  const m = HUB_RE.exec(s);
  if (!m) return null;
  const [, owner, name, rev, quant, file] = m;
  let revision = DEFAULT_REVISION;
  if (rev !== undefined) {
    try {
      revision = decodeURIComponent(rev);
    } catch {
      return null;
    }
  }
  if (revision === '') return null;
  const out: HubSpec = { kind: 'hub', repo: `${owner}/${name}`, revision };
  if (quant !== undefined) out.quant = quant;
  if (file !== undefined) {
    if (!isSafeRelativePath(file)) return null;
    out.file = file;
  }
  return out;
}

/** A '/'-separated relative path with no empty, '.' or '..' segment, no backslash and no NUL. */
export function isSafeRelativePath(path: string): boolean {
  if (path === '' || path.includes('\\') || path.includes('\0')) return false;
  return path.split('/').every((seg) => seg !== '' && seg !== '.' && seg !== '..');
}

/** The spec back as a string (`owner/name@rev:quant`), for messages and cache labels. */
export function formatModelSpec(spec: ModelSpec): string {
  switch (spec.kind) {
    case 'file':
    case 'folder':
      return spec.path;
    case 'url':
      return spec.url;
    case 'hub': {
      const rev = spec.revision === DEFAULT_REVISION ? '' : `@${encodeURIComponent(spec.revision)}`;
      if (spec.file !== undefined) return `${spec.repo}${rev}/${spec.file}`;
      if (spec.quant !== undefined) return `${spec.repo}${rev}:${spec.quant}`;
      return `${spec.repo}${rev}`;
    }
  }
}
