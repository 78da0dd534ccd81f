// lfm.ts/node: adapters for runtimes with a file system (Node, Deno, Bun).
import { registerNodeWorkers } from './worker-spawn.js';

registerNodeWorkers(); // the engine's workers on worker_threads (where there are no Web Workers)

export { openModelSource, hfToken, type OpenModelSourceOptions, type OpenedModelSource } from './open-model.js';
export { fileSource, directoryFileSet } from './files.js';
export { defaultCacheDir, nodeCacheStore } from './cache.js';
export { createLfmServer, type ServeOptions } from './server.js';
export { nodeWorkerSpawner, registerNodeWorkers } from './worker-spawn.js';
