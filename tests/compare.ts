// Comparison helpers and the named tolerances of the test suite.
//
// Every tolerance says which error measure it bounds. A failed comparison reports where (case, sequence,
// position, tap name), the max |difference|, its index, and the first few value pairs, so the failure message
// alone tells what went wrong.

/** max |logit difference| against llama.cpp for F32 / F16 files (llama.cpp keeps K, V, softmax in f16). */
export const LLAMACPP_MAX_ABS_FLOAT = 2e-3;
/** max |logit difference| against llama.cpp for Q8_0 files (llama.cpp also rounds activations to Q8_0). */
export const LLAMACPP_MAX_ABS_Q8_0 = 3e-2;
/** max |logit difference| against llama.cpp for Q4_0 files (same activation rounding as Q8_0). */
export const LLAMACPP_MAX_ABS_Q4_0 = 8e-2;
/**
 * max |logit difference| against llama.cpp for BF16 files. llama.cpp rounds every matmul input to bf16 (8-bit
 * mantissa, relative error up to 2^-9) where F16 keeps 11 bits: measured worst 4.4e-3 (oracle) / 4.6e-3 (engine,
 * which rounds as llama.cpp does) over the golden shapes; about 2x headroom.
 */
export const LLAMACPP_MAX_ABS_BF16 = 1e-2;
/**
 * max |logit difference| against llama.cpp for the Q4_K_M / Q5_K_M / Q6_K mixes. llama.cpp rounds each K-quant
 * matmul input to Q8_K: 8-bit codes with one scale per 256 values (Q8_0 has one per 32), so a rounding that flips
 * moves a logit about as much as with Q8_0. Measured worst 1.95e-2 (oracle) / 2.45e-2 (engine, Q8_K like
 * llama.cpp); about 2x headroom.
 */
export const LLAMACPP_MAX_ABS_KQUANT = 5e-2;
/** Minimum share of positions whose argmax (greedy next token) agrees with llama.cpp's. */
export const LLAMACPP_MIN_TOP1_AGREEMENT = 0.95;

// NMSE against llama.cpp over a whole golden case (all positions of all sequences: sum of squared differences /
// sum of squared golden logits). Max |Δ| alone is too loose for the quantized files: llama.cpp's Q8_0 activation
// rounding puts a few logits 1.5e-2 off, so the max-abs tolerance must allow ~5x that, and a deleted q-norm
// (self_attn.q_layernorm) moves the logits only 2-4e-2. Over 88 positions x V logits the rounding noise
// averages out and the NMSE separates the two. Measured (2026-12, node-llama-cpp 3.22.1 goldens), on the native
// Q8_0 / Q4_0 cases: oracle 3.6e-5..3.95e-5, WASM engine 2.2e-5..4.45e-5; with the q-norm deleted from the
// oracle 1.02e-4..1.89e-4 (every Q8_0 / Q4_0 case fails). F32/F16: 1e-9..5.8e-8 (the mutant: 6.5e-5..1.5e-4).
/** NMSE against llama.cpp for F32 / F16 files (measured <= 5.8e-8). */
export const LLAMACPP_MAX_NMSE_FLOAT = 2e-7;
/** NMSE against llama.cpp for Q8_0 / Q4_0 files (measured <= 4.45e-5; a deleted q-norm >= 1.02e-4). */
export const LLAMACPP_MAX_NMSE_QUANT = 7e-5;
/**
 * NMSE against llama.cpp for the K-quant files (the Q4_K_M / Q5_K_M / Q6_K mixes and the stock-style Q4_0 file with
 * K-quant tensors): llama.cpp rounds activations to Q8_K for the K-quant dot products (one scale per 256 values,
 * coarser than Q8_0's 32). Measured: oracle 5.6e-5..6.8e-5, WASM engine (K-quants native, Q8_K activations like
 * llama.cpp) 4.0e-5..5.4e-5; about 2x headroom.
 */
export const LLAMACPP_MAX_NMSE_KQUANT = 1.5e-4;
/**
 * NMSE against llama.cpp for BF16 files (llama.cpp rounds activations to bf16). Measured: oracle 3.4e-6..3.6e-6,
 * WASM engine (rounding as llama.cpp does) 1.6e-6..2.4e-6.
 */
export const LLAMACPP_MAX_NMSE_BF16 = 1e-5;

export interface DiffReport {
  maxAbs: number;
  worstIndex: number;
  /** Mean squared error / mean square of the reference (0 when both are zero). */
  nmse: number;
  pairs: [number, number][];
}

export function diff(ours: ArrayLike<number>, ref: ArrayLike<number>, nPairs = 5): DiffReport {
  if (ours.length !== ref.length) throw new Error(`length mismatch: ours ${ours.length}, reference ${ref.length}`);
  let maxAbs = 0;
  let worstIndex = -1;
  let se = 0;
  let sr = 0;
  for (let i = 0; i < ref.length; i++) {
    const d = Math.abs(ours[i] - ref[i]);
    if (!(d <= maxAbs)) {
      maxAbs = Number.isNaN(d) ? Infinity : d;
      worstIndex = i;
    }
    se += (ours[i] - ref[i]) ** 2;
    sr += ref[i] ** 2;
  }
  const pairs: [number, number][] = [];
  for (let i = 0; i < Math.min(nPairs, ref.length); i++) pairs.push([ours[i], ref[i]]);
  return { maxAbs, worstIndex, nmse: sr === 0 ? se : se / sr, pairs };
}

export function describe(where: string, r: DiffReport, tol?: number): string {
  const fmt = (x: number) => x.toPrecision(6);
  return (
    `${where}: max|Δ| ${r.maxAbs.toExponential(3)}${tol !== undefined ? ` (tolerance ${tol})` : ''} at index ${r.worstIndex}, ` +
    `NMSE ${r.nmse.toExponential(2)}; first values (ours, reference): ${r.pairs.map(([a, b]) => `(${fmt(a)}, ${fmt(b)})`).join(' ')}`
  );
}

/** Throws a descriptive error when max |ours - ref| exceeds tol. */
export function expectClose(where: string, ours: ArrayLike<number>, ref: ArrayLike<number>, tol: number): DiffReport {
  const r = diff(ours, ref);
  if (!(r.maxAbs <= tol)) throw new Error(describe(where, r, tol));
  return r;
}

/** Throws unless the two arrays are bit-identical (NaN == NaN, -0 != +0), naming the first difference. */
export function expectBitwiseEqual(where: string, ours: Float32Array, ref: Float32Array): void {
  if (ours.length !== ref.length) throw new Error(`${where}: length ${ours.length} vs ${ref.length}`);
  const a = new Uint32Array(ours.buffer, ours.byteOffset, ours.length);
  const b = new Uint32Array(ref.buffer, ref.byteOffset, ref.length);
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== b[i]) throw new Error(`${where}: first difference at index ${i}: ${ours[i]} vs ${ref[i]} (${describe('overall', diff(ours, ref))})`);
  }
}

export function argmax(a: ArrayLike<number>, off = 0, n = a.length - off): number {
  let best = 0;
  for (let i = 1; i < n; i++) if (a[off + i] > a[off + best]) best = i;
  return best;
}

/** Chunk sizes covering `total` tokens, taken from `raw` (each clipped to what is left; any rest as a last chunk). */
export function chunkSizes(raw: readonly number[], total: number): number[] {
  const sizes: number[] = [];
  let left = total;
  for (const n of raw) {
    if (left <= 0) break;
    sizes.push(Math.min(n, left));
    left -= Math.min(n, left);
  }
  if (left > 0) sizes.push(left);
  return sizes;
}
