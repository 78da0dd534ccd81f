// The WASM SIMD engine behind the asynchronous Engine interface. The in-thread core (wasm-core.ts) does the work;
// this wrapper is what loadLfm and the CLI hold.

import type { ModelInput } from '../../reference/load.js';
import type { Engine, EngineSnapshot } from './types.js';
import { createWasmCore, type WasmCore, type WasmEngineOptions, type WasmForwardOptions } from './wasm-core.js';

export type { WasmEngineOptions, WasmForwardOptions } from './wasm-core.js';

export interface WasmEngine extends Engine {
  readonly kind: 'wasm';
  readonly build: WasmCore['build'];
  readonly relaxedRejected?: string;
  readonly dims: WasmCore['dims'];
  readonly weightBytes: number;
  readonly memoryBytes: number;
  readonly weightLayouts: ReadonlyMap<string, string>;
  /** Runs tokens from the current position; (T, V) logits with allLogits, else the last row (V). */
  forward(tokens: readonly number[], opts?: WasmForwardOptions): Promise<Float32Array>;
}

/** Loads a model into the WASM engine. Takes ownership of the byte source (closed after load). */
export async function createWasmEngine(input: ModelInput, opts: WasmEngineOptions = {}): Promise<WasmEngine> {
  const core = await createWasmCore(input, opts);
  return {
    kind: 'wasm',
    build: core.build,
    relaxedRejected: core.relaxedRejected,
    dims: core.dims,
    vocabSize: core.vocabSize,
    contextLength: core.contextLength,
    weightBytes: core.weightBytes,
    get memoryBytes() {
      return core.memoryBytes;
    },
    weightLayouts: core.weightLayouts,
    get position() {
      return core.position;
    },
    forward: async (tokens, o) => core.forward(tokens, o),
    prefill: async (tokens) => core.prefill(tokens),
    decode: async (token) => core.decode(token),
    reset: async () => core.reset(),
    save: async (): Promise<EngineSnapshot> => core.save(),
    restore: async (s) => core.restore(s),
    dispose: async () => core.dispose(),
  };
}
