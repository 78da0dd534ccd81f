// Node's engine workers: node:worker_threads running the bundled worker script (src/engine/worker/). Registered
// by lfm.ts's "node" entry (src/index.node.ts), by 'lfm.ts/node' and by the CLI. Deno and Bun have Web Workers
// and use those (src/engine/worker/spawn.ts).

import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { registerWorkerSpawner, type SpawnedWorker, type WorkerSpawner } from '../engine/worker/spawn.js';

/** Young-generation size of an engine worker's V8 heap, in MiB. */
const WORKER_YOUNG_GENERATION_MB = 4;

/** The worker's main over parentPort (eval'd workers are CommonJS scripts: require is there). */
const NODE_PRELUDE = `
const { parentPort } = require('node:worker_threads');
lfmWorker.lfmWorkerMain({
  post: (m, t) => parentPort.postMessage(m, t || []),
  onMessage: (h) => parentPort.on('message', h),
  close: () => parentPort.close(),
});`;

export const nodeWorkerSpawner: WorkerSpawner = {
  kind: 'worker_threads',
  spawn(source, name): SpawnedWorker {
    // A small young generation: after the load an engine worker allocates almost nothing (a few MiB of RSS each)
    const w = new Worker(source + NODE_PRELUDE, { eval: true, name, resourceLimits: { maxYoungGenerationSizeMb: WORKER_YOUNG_GENERATION_MB } });
    let ending = false;
    let onError: (e: Error) => void = () => {};
    w.on('error', (e) => onError(e instanceof Error ? e : new Error(String(e))));
    w.on('exit', (code) => {
      if (!ending) onError(new Error(`engine worker '${name}' exited unexpectedly (code ${code})`));
    });
    return {
      post: (m, t) => w.postMessage(m, t as never),
      onMessage: (h) => w.on('message', h),
      onError: (h) => void (onError = h),
      terminate: () => {
        ending = true;
        void w.terminate();
      },
      setKeepAlive: (on) => (on ? w.ref() : w.unref()),
    };
  },
  defaultThreads: () => availableParallelism(),
};

/** Makes createWasmEngine / loadLfm use worker_threads in Node (a no-op where Web Workers exist). */
export function registerNodeWorkers(): void {
  if (typeof (globalThis as { Worker?: unknown }).Worker !== 'function') registerWorkerSpawner(nodeWorkerSpawner);
}
