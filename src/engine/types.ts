// The interface every inference engine implements: the fp32 oracle today (reference-engine.ts), the WASM SIMD
// engine later. Generation (src/generate/) sees only this.
//
// Every method is asynchronous: an engine may run in workers, and the caller's thread must stay free.
//
// An engine holds one sequence's state (position, KV cache, conv state). `prefill` and `decode` advance it and
// return next-token logits; `save`/`restore` snapshot it, which is how a chat reuses the shared prefix of the
// next turn (the conv state cannot be rolled back, so rewinding means restoring a snapshot).

export interface EngineInfo {
  /** 'reference' (fp32 oracle) or 'wasm'. */
  readonly kind: string;
  /** How it runs, in words (e.g. 'wasm relaxed, 8 threads (worker_threads, shared memory)'). */
  readonly description: string;
  /** Embedding rows: logits have this many entries. */
  readonly vocabSize: number;
  /** Longest sequence the model accepts. */
  readonly contextLength: number;
}

export interface PrefillOptions {
  signal?: AbortSignal;
}

/** An opaque snapshot of an engine's sequence state. */
export interface EngineSnapshot {
  readonly position: number;
}

export interface Engine extends EngineInfo {
  /** Tokens consumed so far. */
  readonly position: number;
  /**
   * Feeds tokens (>= 1) and returns the logits after the last one, shape (V). A long prompt is fed in chunks;
   * the signal is checked between them (an aborted prefill rejects with the signal's reason and leaves the
   * position after the last chunk fed).
   */
  prefill(tokens: readonly number[], options?: PrefillOptions): Promise<Float32Array>;
  /** Feeds one token and returns the next-token logits, shape (V). */
  decode(token: number): Promise<Float32Array>;
  /** Back to position 0 with empty caches. */
  reset(): Promise<void>;
  save(): Promise<EngineSnapshot>;
  /** Restores a snapshot taken from this engine (the snapshot stays valid and can be restored again). */
  restore(s: EngineSnapshot): Promise<void>;
  /** Releases memory (and any workers); the engine is unusable afterwards. */
  dispose(): Promise<void>;
}
