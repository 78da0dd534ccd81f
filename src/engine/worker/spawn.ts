// Starting engine workers, whatever the runtime: the host asks a WorkerSpawner for workers that run the bundled
// worker script (worker-source.generated.ts). Web Workers (browsers, Deno, Bun) are built in here; Node's
// worker_threads adapter lives in src/node/worker-spawn.ts and registers itself (lfm.ts's "node" entry does).

import type { HostToWorker, WorkerToHost } from './protocol.js';

/** Most threads an engine starts (more than the cores only costs: the barrier spins). */
export const MAX_THREADS = 64;

/** A started worker, seen from the host. */
export interface SpawnedWorker {
  post(msg: HostToWorker, transfer?: Transferable[]): void;
  onMessage(handler: (msg: WorkerToHost) => void): void;
  /** A worker that failed to start or threw outside a request (the engine is then unusable). */
  onError(handler: (e: Error) => void): void;
  terminate(): void;
  /** Whether the worker keeps the process alive (Node); a no-op elsewhere. Idle engines do not. */
  setKeepAlive(on: boolean): void;
}

export interface WorkerSpawner {
  /** A short name for descriptions ('web workers', 'worker_threads'). */
  readonly kind: string;
  /** Starts a worker running `source` (a classic script whose last statement starts the worker's main). */
  spawn(source: string, name: string): SpawnedWorker;
  /** The threads to use by default: the cores the runtime reports. */
  defaultThreads(): number;
}

let registered: WorkerSpawner | null = null;

/** Installs the spawner for runtimes without Web Workers (src/node registers Node's worker_threads). */
export function registerWorkerSpawner(s: WorkerSpawner | null): void {
  registered = s;
}

/** The spawner for this runtime: the registered one, else Web Workers where they exist, else none. */
export function workerSpawner(): WorkerSpawner | null {
  if (registered) return registered;
  if (typeof Worker === 'function' && typeof Blob === 'function' && typeof URL?.createObjectURL === 'function') return webWorkerSpawner;
  return null;
}

/** The source a Web Worker runs: the bundle, then its main over `self`. */
function webPrelude(source: string): string {
  return `${source}
lfmWorker.lfmWorkerMain({
  post: (m, t) => self.postMessage(m, t || []),
  onMessage: (h) => { self.onmessage = (e) => h(e.data); },
  close: () => self.close(),
});`;
}

const webWorkerSpawner: WorkerSpawner = {
  kind: 'web workers',
  spawn(source, name) {
    const url = URL.createObjectURL(new Blob([webPrelude(source)], { type: 'text/javascript' }));
    // Module workers run a classic script's code just as well, and Deno supports only those.
    const w = new Worker(url, { type: 'module', name });
    return {
      post: (m, t) => w.postMessage(m, t ?? []),
      onMessage: (h) => w.addEventListener('message', (e) => h((e as MessageEvent).data)),
      onError: (h) => {
        w.addEventListener('error', (e) => h(new Error(`engine worker failed: ${(e as ErrorEvent).message ?? 'error'}`)));
        w.addEventListener('messageerror', () => h(new Error('engine worker: a message could not be read')));
      },
      terminate: () => {
        w.terminate();
        URL.revokeObjectURL(url); // (not before: the worker may still be fetching its script)
      },
      setKeepAlive: (on) => {
        const u = w as unknown as { ref?: () => void; unref?: () => void }; // Deno and Bun have these
        if (on) u.ref?.();
        else u.unref?.();
      },
    };
  },
  defaultThreads: () => (typeof navigator !== 'undefined' && navigator.hardwareConcurrency) || 1,
};
