// lfm.ts/node: adapters for runtimes with a file system (Node, Deno, Bun).
export { openModelSource, hfToken, type OpenModelSourceOptions, type OpenedModelSource } from './open-model.js';
export { fileSource, directoryFileSet } from './files.js';
export { defaultCacheDir, nodeCacheStore } from './cache.js';
export { createLfmServer, type ServeOptions } from './server.js';
