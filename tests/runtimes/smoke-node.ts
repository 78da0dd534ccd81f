// The smoke payload for Node: the same as smoke-entry.ts, with the engine's workers on node:worker_threads (Node
// has no Web Workers; Deno and Bun run the neutral bundle with theirs). Bundled for the node platform by
// build/bundle-smoke.ts next to the neutral bundle, so both share one module graph with the worker registry.
import { registerNodeWorkers } from '../../src/node/worker-spawn.js';

registerNodeWorkers();

export * from './smoke-entry.js';
