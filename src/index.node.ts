// lfm.ts for Node (the package's "node" export condition): the runtime-agnostic API, with the engine's workers
// on node:worker_threads (Node has no Web Workers). Deno and Bun resolve this entry too and keep their own Web
// Workers (registerNodeWorkers is a no-op where `Worker` exists).
import { registerNodeWorkers } from './node/worker-spawn.js';

registerNodeWorkers();

export * from './index.js';
