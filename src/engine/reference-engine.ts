// The Engine interface over the fp32 oracle (reference/model.ts). Correct and slow: for tiny models, tests, and
// conformance (`lfm logits --engine reference`) until the WASM engine lands.

import type { LoadedModel } from '../../reference/load.js';
import { cloneState, forward, newState, type Lfm2State } from '../../reference/model.js';
import { InputError } from '../../reference/errors.js';
import type { Engine, EngineSnapshot } from './types.js';

interface ReferenceSnapshot extends EngineSnapshot {
  readonly state: Lfm2State;
  readonly owner: object;
}

export function referenceEngine(model: LoadedModel): Engine {
  const { weights, dims } = model;
  let state = newState(dims);
  let disposed = false;
  const owner = {};
  const live = () => {
    if (disposed) throw new InputError('engine: used after dispose()');
  };
  return {
    kind: 'reference',
    description: 'reference (the fp32 oracle, on the caller\'s thread)',
    vocabSize: dims.V,
    contextLength: dims.maxPositions,
    get position() {
      return state.pos;
    },
    async prefill(tokens) {
      live();
      // forward() validates ids and the context length before it touches the state.
      return forward(weights, dims, state, tokens);
    },
    async decode(token) {
      live();
      return forward(weights, dims, state, [token]);
    },
    async reset() {
      state = newState(dims);
    },
    async save(): Promise<ReferenceSnapshot> {
      live();
      return { position: state.pos, state: cloneState(state), owner };
    },
    async restore(s) {
      live();
      const snap = s as ReferenceSnapshot;
      if (snap.owner !== owner) throw new InputError('engine: snapshot belongs to another engine');
      state = cloneState(snap.state);
    },
    async dispose() {
      disposed = true;
    },
  };
}
