// The messages between the caller's thread (the host, host.ts) and the engine's workers (worker-main.ts).
//
//   host -> leader   load (the build's bytes, the memory, options, a description of the model input), then calls
//                    (forward, reset, save, restore, dispose), each answered by a `result` with the same id
//   leader -> host   io requests while loading (the model's bytes stay on the host: file handles, Blobs and
//                    fetch bodies cannot move between threads), answered by `io-result`
//   host -> helper   helper (the build's bytes, the shared memory, ith, nth): it then waits on the control block
//                    and joins every forward step until told to exit; it posts only `ready` or `fatal`
//
// Everything here is structured-cloneable. Errors cross as plain records and are rebuilt with their class, so a
// TensorError thrown while loading in a worker is a TensorError (same fields, same message) for the caller.

import { ConfigError, FormatError, InputError, LfmError, TensorError } from '../../../reference/errors.js';
import type { WasmEngineOptions } from '../wasm-core.js';
import { UnsupportedModelError, WasmUnavailableError, type WasmBuild } from '../wasm-module.js';

/** The model as the leader sees it: a GGUF byte source or an HF folder, both read through io requests. */
export type InputDesc = { kind: 'gguf'; name: string; size: number } | { kind: 'hf'; name: string };

export interface LoadMsg {
  type: 'load';
  id: number;
  bytes: Uint8Array;
  build: WasmBuild;
  relaxedRejected?: string;
  /** The shared memory (threads), or null: the leader makes its own plain memory. */
  memory: WebAssembly.Memory | null;
  threads: number;
  options: Omit<WasmEngineOptions, 'threads' | 'simd'>;
  input: InputDesc;
}

export type CallMethod = 'forward' | 'reset' | 'save' | 'restore' | 'dispose';

export interface CallMsg {
  type: 'call';
  id: number;
  method: CallMethod;
  args: unknown[];
}

export interface HelperMsg {
  type: 'helper';
  bytes: Uint8Array;
  build: WasmBuild;
  memory: WebAssembly.Memory;
  ith: number;
  nth: number;
}

export interface IoResultMsg {
  type: 'io-result';
  id: number;
  bytes?: Uint8Array;
  /** For `open`: the handle of the opened file (or -1 when it does not exist) and its size. */
  handle?: number;
  size?: number;
  error?: ErrorRecord;
}

export type HostToWorker = LoadMsg | CallMsg | HelperMsg | IoResultMsg;

/**
 * An io request. `read` returns bytes; `readInto` writes them into the shared memory at `ptr` (no copy through
 * the message); `open` / `close` manage the files of an HF folder (handle 0 is the GGUF source itself).
 */
export interface IoMsg {
  type: 'io';
  id: number;
  op: 'read' | 'readInto' | 'open' | 'close';
  handle: number;
  file?: string;
  offset?: number;
  length?: number;
  ptr?: number;
  what?: string;
}

export interface ResultMsg {
  type: 'result';
  id: number;
  value?: unknown;
  error?: ErrorRecord;
}

export type WorkerToHost = IoMsg | ResultMsg | { type: 'ready' } | { type: 'fatal'; error: ErrorRecord };

/** What `load` answers: the engine's description. */
export interface LoadedInfo {
  build: WasmBuild;
  threads: number;
  dims: import('../../../reference/config.js').Lfm2Dims;
  vocabSize: number;
  contextLength: number;
  kvCache: 'f16' | 'f32';
  weightBytes: number;
  memoryBytes: number;
  layouts: [string, string][];
}

/** What `forward` answers. Taps come back as [name, data, shape] when they were asked for. */
export interface ForwardResult {
  /** The logits, or (shared memory, last row only) where the last row lies in the memory: logitsPtr. */
  logits?: Float32Array;
  logitsPtr?: number;
  position: number;
  memoryBytes: number;
  taps?: [string, Float32Array, number[]][];
}

// ---------------------------------------------------------------------------------------------------------------
// Errors across threads

export interface ErrorRecord {
  name: string;
  message: string;
  code?: string;
  stack?: string;
  fields?: Record<string, unknown>;
}

const CLASSES: Record<string, new (...a: never[]) => Error> = {
  LfmError, FormatError, TensorError, ConfigError, InputError, WasmUnavailableError, UnsupportedModelError,
};

export function errorRecord(e: unknown): ErrorRecord {
  if (!(e instanceof Error)) return { name: 'Error', message: String(e) };
  const fields: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(e)) if (typeof v !== 'function' && typeof v !== 'object') fields[k] = v;
  return { name: e.name, message: e.message, code: (e as { code?: string }).code, stack: e.stack, fields };
}

/** Rebuilds an error with its class (for the project's typed errors), message, code and fields. */
export function errorFromRecord(r: ErrorRecord, registry: Record<string, new (...a: never[]) => Error> = {}): Error {
  const cls = registry[r.name] ?? CLASSES[r.name];
  const e: Error = cls ? Object.create(cls.prototype) : new Error(r.message);
  Object.assign(e, r.fields ?? {});
  Object.defineProperty(e, 'message', { value: r.message, writable: true, configurable: true });
  Object.defineProperty(e, 'name', { value: r.name, writable: true, configurable: true });
  if (r.stack) Object.defineProperty(e, 'stack', { value: r.stack, writable: true, configurable: true });
  return e;
}
