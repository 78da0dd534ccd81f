// The check of WasmEngineOptions (wasm-core.ts), shared by createWasmCore and loadLfm (src/lfm.ts), so a bad
// option is an InputError naming it, never a NaN deep in the memory layout or a silently ignored typo.

import { InputError } from '../../reference/errors.js';
import type { WasmEngineOptions } from './wasm-core.js';
import { MAX_THREADS } from './worker/spawn.js';

/** A value in a message without ever throwing (no String() of a null-prototype object, no JSON of a bigint). */
const shown = (v: unknown): string =>
  typeof v === 'string' ? JSON.stringify(v.slice(0, 40)) : v === null || ['number', 'boolean', 'bigint', 'undefined'].includes(typeof v) ? String(v) : Array.isArray(v) ? 'an array' : typeof v === 'object' ? 'an object' : typeof v;

/** Largest prefill chunk accepted (tokens per forward call; the scratch grows with it). */
export const MAX_PREFILL_CHUNK = 8192;

/** Throws an InputError whose param is `${prefix}.<option>` for the first bad option. */
export function checkWasmEngineOptions(o: unknown, prefix = 'wasm'): asserts o is WasmEngineOptions | undefined {
  if (o === undefined) return;
  const fail = (k: string, what: string, v: unknown): never => {
    throw new InputError(`${prefix}.${k} must be ${what}, got ${shown(v)}`, { param: `${prefix}.${k}` });
  };
  if (typeof o !== 'object' || o === null || Array.isArray(o)) throw new InputError(`${prefix} options must be an object, got ${shown(o)}`, { param: prefix });
  const w = o as Record<string, unknown>;
  if (w.weights !== undefined && !['auto', 'q8_0', 'q4_0', 'f32'].includes(w.weights as string)) fail('weights', "'auto', 'q8_0', 'q4_0' or 'f32'", w.weights);
  if (w.kvCache !== undefined && !['f16', 'f32'].includes(w.kvCache as string)) fail('kvCache', "'f16' or 'f32'", w.kvCache);
  if (w.simd !== undefined && !['auto', 'baseline', 'relaxed'].includes(w.simd as string)) fail('simd', "'auto', 'baseline' or 'relaxed'", w.simd);
  const count = (k: string, max: number) => {
    const v = w[k];
    if (v !== undefined && !(typeof v === 'number' && Number.isSafeInteger(v) && v >= 1 && v <= max)) fail(k, `an integer in [1, ${max}]`, v);
  };
  count('contextLength', Number.MAX_SAFE_INTEGER); // above the model's own context it is clamped to it
  count('prefillChunk', MAX_PREFILL_CHUNK);
  count('threads', MAX_THREADS);
  if (w.reuseLogits !== undefined && typeof w.reuseLogits !== 'boolean') fail('reuseLogits', 'a boolean', w.reuseLogits);
}
