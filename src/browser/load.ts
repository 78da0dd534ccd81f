// loadLfm for a page: one call from a hub id, a URL or a File to a running model.
//
//   const lfm = await loadLfm('LiquidAI/LFM2.5-1.2B-Thinking-GGUF:Q4_0', { onProgress: (p) => bar(p.loaded / p.total!) });
//   for await (const e of lfm.chat([{ role: 'user', content: 'Hi' }])) ...
//
// = openModelSource (download with progress, verify, cache, resume) + the runtime-agnostic loadLfm (src/lfm.ts),
// whose WASM engine runs in Web Workers: with threads over a shared memory when the page is cross-origin isolated
// (COOP + COEP headers), else in one worker; `lfm.engine.description` says which. The page's own thread only
// tokenizes, samples and streams, so it keeps repainting. The weights go from the cache (or the File) into the
// engine's memory a few MiB at a time: the model is never held whole in a Blob or an ArrayBuffer in the page.

import { InputError } from '../../reference/errors.js';
import type { ModelInput } from '../../reference/load.js';
import { loadLfm as loadLfmCore, type Lfm, type LoadLfmOptions } from '../lfm.js';
import type { FetchedModel } from '../sources/remote.js';
import { openModelSource, progressSource, type BrowserModel, type LfmProgress, type OpenBrowserModelOptions } from './open-model.js';

export interface BrowserLoadLfmOptions extends LoadLfmOptions, OpenBrowserModelOptions {
  /** Compute threads of the WASM engine (default: navigator.hardwareConcurrency; 1 when not cross-origin isolated). */
  threads?: number;
}

/** An Lfm, plus where its model came from. */
export interface BrowserLfm extends Lfm {
  readonly source: {
    name: string;
    origin: 'file' | 'cache';
    /** True when this call downloaded (some of) the weights; false when they came from the cache or a File. */
    downloaded: boolean;
    fetched?: FetchedModel;
    persisted?: boolean;
  };
}

const OPEN_KEYS = ['store', 'cacheName', 'persist', 'endpoint', 'token', 'fetch', 'signal', 'offline', 'progressIntervalMs', 'retries', 'retryDelayMs', 'idleTimeoutMs'] as const;

/** Loads a model in a page: a hub id, an http(s) URL, a File / Blob, or a `{ gguf }` / `{ hf }` input. */
export async function loadLfm(model: BrowserModel | ModelInput, options: BrowserLoadLfmOptions = {}): Promise<BrowserLfm> {
  checkOptions(options);
  const { onProgress } = options;
  let input: ModelInput;
  let source: BrowserLfm['source'];
  if (isModelInput(model)) {
    input = model;
    source = { name: 'gguf' in model ? model.gguf.name : model.hf.name, origin: 'file', downloaded: false };
  } else {
    const openOpts: OpenBrowserModelOptions = {};
    for (const k of OPEN_KEYS) if (options[k] !== undefined) (openOpts as Record<string, unknown>)[k] = options[k];
    if (onProgress) openOpts.onProgress = onProgress;
    const opened = await openModelSource(model, openOpts);
    input = opened.kind === 'gguf' ? { gguf: opened.source } : { hf: opened.files };
    source = { name: opened.name, origin: opened.origin, downloaded: opened.fetched?.files.some((f) => f.downloaded) ?? false };
    if (opened.fetched) source.fetched = opened.fetched;
    if (opened.persisted !== undefined) source.persisted = opened.persisted;
  }
  if (onProgress && 'gguf' in input) input = { gguf: progressSource(input.gguf, source.fetched?.files[0]?.file ?? input.gguf.name, onProgress) };
  const core: LoadLfmOptions = {};
  if (options.engine !== undefined) core.engine = options.engine;
  if (options.sampling !== undefined) core.sampling = options.sampling;
  if (options.maxCheckpoints !== undefined) core.maxCheckpoints = options.maxCheckpoints;
  if (options.onLoadProgress !== undefined) core.onLoadProgress = options.onLoadProgress;
  if (options.wasm !== undefined || options.threads !== undefined) core.wasm = { ...options.wasm, ...(options.threads !== undefined ? { threads: options.threads } : {}) };
  const lfm = await loadLfmCore(input, core);
  return Object.assign(lfm, { source });
}

function isModelInput(m: unknown): m is ModelInput {
  return typeof m === 'object' && m !== null && !(typeof Blob !== 'undefined' && m instanceof Blob) && ('gguf' in m || 'hf' in m);
}

/** Bad options fail at the call, naming the option. */
function checkOptions(o: BrowserLoadLfmOptions): void {
  if (typeof o !== 'object' || o === null) throw new InputError(`loadLfm: options must be an object, got ${o === null ? 'null' : typeof o}`);
  const fn = (k: 'onProgress' | 'fetch' | 'onLoadProgress') => {
    if (o[k] !== undefined && typeof o[k] !== 'function') throw new InputError(`loadLfm: options.${k} must be a function, got ${typeof o[k]}`);
  };
  fn('onProgress');
  fn('fetch');
  fn('onLoadProgress');
  for (const k of ['endpoint', 'token', 'cacheName'] as const) {
    const v = o[k];
    if (v !== undefined && (typeof v !== 'string' || v.trim() === '')) throw new InputError(`loadLfm: options.${k} must be a non-empty string, got ${JSON.stringify(v)}`);
  }
  if (o.endpoint !== undefined && !/^https?:\/\/[^/]/i.test(o.endpoint)) throw new InputError(`loadLfm: options.endpoint must be an http(s) URL, got ${JSON.stringify(o.endpoint)}`);
  if (o.threads !== undefined && !(Number.isInteger(o.threads) && o.threads >= 1)) throw new InputError(`loadLfm: options.threads must be an integer >= 1, got ${String(o.threads)}`);
  if (o.signal !== undefined && !(typeof AbortSignal !== 'undefined' && o.signal instanceof AbortSignal)) throw new InputError('loadLfm: options.signal must be an AbortSignal');
}

export type { LfmProgress };
