// Model sources, runtime-agnostic: spec strings, the Hugging Face hub, resumable verified downloads, caches.
// The Node adapter (folder cache, local paths, node:crypto hashing) is src/node/open-model.ts + src/node/cache.ts.
export * from './browser-cache.js';
export * from './cache-store.js';
export * from './download.js';
export * from './errors.js';
export * from './hub.js';
export * from './remote.js';
export * from './sha256.js';
export * from './spec.js';
