// The WASM SIMD engine behind the asynchronous Engine interface: what loadLfm and the CLI hold.
//
// Where the runtime has workers (Node's worker_threads, Web Workers in browsers, Deno and Bun), the core runs in
// workers (worker/host.ts), with threads over a shared memory where one can be made; the caller's thread only
// orchestrates. Elsewhere the core runs on the caller's thread, one forward step at a time, yielding to the event
// loop between steps so that streaming, timers and abort still work.

import { InputError } from '../../reference/errors.js';
import type { ModelInput } from '../../reference/load.js';
import { checkWasmEngineOptions } from './wasm-options.js';
import type { Engine, EngineSnapshot, PrefillOptions } from './types.js';
import { checkTokens, createWasmCore, type WasmCore, type WasmEngineOptions, type WasmForwardOptions } from './wasm-core.js';
import { workerSpawner, type WorkerSpawner } from './worker/spawn.js';

export type { WasmEngineOptions, WasmForwardOptions } from './wasm-core.js';

export interface WasmEngine extends Engine {
  readonly kind: 'wasm';
  readonly build: WasmCore['build'];
  readonly relaxedRejected?: string;
  /** Threads that run each step. */
  readonly threads: number;
  /** How it runs, in words: build, threads, workers or not (and why not, when threads were asked for). */
  readonly description: string;
  readonly dims: WasmCore['dims'];
  /** The KV cache's element type ('f16' unless kvCache: 'f32' was asked for). */
  readonly kvCache: WasmCore['kvCache'];
  readonly weightBytes: number;
  readonly memoryBytes: number;
  readonly weightLayouts: ReadonlyMap<string, string>;
  /** Runs tokens from the current position; (T, V) logits with allLogits, else the last row (V). */
  forward(tokens: readonly number[], opts?: WasmForwardOptions): Promise<Float32Array>;
}

export interface CreateWasmEngineOptions extends WasmEngineOptions {
  /**
   * 'auto' (default): in workers where the runtime has them, else on this thread; 'none': on this thread (one
   * thread, yielding between steps); or a WorkerSpawner of your own.
   */
  workers?: 'auto' | 'none' | WorkerSpawner;
}

/** Loads a model into the WASM engine. Takes ownership of the byte source (closed after load). */
export async function createWasmEngine(input: ModelInput, opts: CreateWasmEngineOptions = {}): Promise<WasmEngine> {
  const { workers = 'auto', ...core } = opts;
  try {
    checkWasmEngineOptions(core, 'options'); // before any worker starts
    if (workers !== 'auto' && workers !== 'none' && typeof (workers as WorkerSpawner)?.spawn !== 'function') {
      throw new InputError(`options.workers must be 'auto', 'none' or a WorkerSpawner, got ${typeof workers}`, { param: 'options.workers' });
    }
  } catch (e) {
    await ('gguf' in input ? input.gguf.close?.() : undefined); // we own the source: close it on every path
    throw e;
  }
  const spawner = workers === 'none' ? null : workers === 'auto' ? workerSpawner() : workers;
  if (spawner) {
    const { startWorkerEngine } = await import('./worker/host.js');
    return startWorkerEngine(input, core, spawner);
  }
  return inThreadEngine(await createWasmCore(input, core), core.prefillChunk);
}

/** Yields to the event loop (a macrotask: timers, I/O and rendering get their turn). */
export function yieldToEventLoop(): Promise<void> {
  const g = globalThis as { setImmediate?: (f: () => void) => void; MessageChannel?: typeof MessageChannel };
  if (g.setImmediate) return new Promise((r) => g.setImmediate!(r));
  if (g.MessageChannel) {
    return new Promise((r) => {
      const ch = new g.MessageChannel!();
      ch.port1.onmessage = () => (ch.port1.close(), r());
      ch.port2.postMessage(0);
    });
  }
  return new Promise((r) => setTimeout(r, 0));
}

/** The core on this thread: one step per call, and a yield to the event loop after each. */
function inThreadEngine(core: WasmCore, prefillChunk = 64): WasmEngine {
  const chunk = Math.max(1, Math.floor(prefillChunk));
  const step = async <T>(f: () => T): Promise<T> => {
    const r = f();
    await yieldToEventLoop();
    return r;
  };
  return {
    kind: 'wasm',
    build: core.build,
    relaxedRejected: core.relaxedRejected,
    threads: 1,
    description: `wasm ${core.build}, 1 thread (on the caller's thread: no workers in this runtime)`,
    dims: core.dims,
    vocabSize: core.vocabSize,
    contextLength: core.contextLength,
    kvCache: core.kvCache,
    weightBytes: core.weightBytes,
    get memoryBytes() {
      return core.memoryBytes;
    },
    weightLayouts: core.weightLayouts,
    get position() {
      return core.position;
    },
    forward: (tokens, o) => step(() => core.forward(tokens, o)),
    async prefill(tokens, o: PrefillOptions = {}) {
      checkTokens(tokens, core.position, core.vocabSize, core.contextLength, core.dims.maxPositions); // all, before any chunk
      let logits!: Float32Array;
      for (let at = 0; at < tokens.length; at += chunk) {
        o.signal?.throwIfAborted();
        logits = await step(() => core.prefill(tokens.slice(at, at + chunk)));
      }
      return logits;
    },
    decode: (token) => step(() => core.decode(token)),
    reset: async () => core.reset(),
    save: async (): Promise<EngineSnapshot> => core.save(),
    restore: async (s) => core.restore(s),
    dispose: async () => core.dispose(),
  };
}
