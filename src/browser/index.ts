// lfm.ts/browser: the runtime-agnostic API, plus what a page needs to get a model: loadLfm from a hub id, a URL or a
// File (download with progress, verify, cache in the Cache API, resume, run in Web Workers), the model sources
// and the WASM engine. The twin of lfm.ts/node; nothing here imports a Node built-in.
export * from '../index.js';
// (this loadLfm takes a spec string, a URL or a File too; it replaces the root entry's, which takes { gguf } / { hf })
export { loadLfm, type BrowserLoadLfmOptions, type BrowserLfm } from './load.js';
export { openModelSource, progressSource, rateMeter, type BrowserModel, type LfmProgress, type OpenBrowserModelOptions, type OpenedBrowserModel } from './open-model.js';
export { browserCacheStore, type BrowserCacheOptions, type CacheLike, type CacheStorageLike } from '../sources/browser-cache.js';
export { memoryCacheStore, type CacheStore, type CacheEntryInfo, type PartialEntry } from '../sources/cache-store.js';
export { formatModelSpec, type HubSpec } from '../sources/spec.js';
export type { DownloadProgress } from '../sources/download.js';
export type { FetchedModel, FetchedFile } from '../sources/remote.js';
export { createWasmEngine, type WasmEngine, type CreateWasmEngineOptions } from '../engine/wasm-engine.js';
