// GGML block formats: every block layout declared once, the reference quantizers for Q4_0 / Q8_0, and the
// dequantizers for the types a published LFM2 GGUF contains (F32, F16, BF16, Q4_0, Q8_0, Q4_K, Q5_K, Q6_K).
//
// Mirrors ggml/src/ggml-common.h (block_q4_0, block_q8_0, block_q4_K, block_q5_K, block_q6_K, block_q8_K) and
// ggml/src/ggml-quants.c (quantize_row_*_ref, dequantize_row_*). Results are
// bit-exact with ggml: tests/quant-golden.test.ts checks them against vectors made by ggml's own compiled code.
//
// How the C arithmetic is reproduced: C does every float operation in f32 (FLT_EVAL_METHOD 0 on x86-64 and
// arm64). A JS double sum, product or quotient of two f32 values, rounded once with Math.fround, equals the f32
// result exactly (double has more than 2*24+2 bits, so the double rounding is harmless). So every `float`
// expression in the C code appears here wrapped in Math.fround, in the C evaluation order.
// In the dequantizers almost every product is exact anyway: an f16 d has 11 significant bits, a scale at most 7
// (6-bit K4 scales, int8 Q6_K scales) and a code at most 7 (Q8_0), 5 (Q5_K, Q6_K) or 4 (Q4_0, Q4_K), so
// d*scale*code fits in f32's 24 bits. Q4_0, Q8_0 and Q6_K therefore dequantize exactly in any evaluation order;
// in Q4_K and Q5_K only the final "- dmin*m" rounds. (So FMA contraction could not change ggml's results either.)
//
// The K-quant quantizers (quantize_row_q4_K_ref, q5_K_ref, q6_K_ref: a search-based scale fit) make the stock-style
// Q4_K_M / Q5_K_M / Q6_K test files (src/synth/), byte-identical to llama-quantize without an importance matrix;
// quantizeQ8_K is ggml's activation format for K-quant matmuls, the oracle of the WASM Q8_K quantizer.
// Deliberately left out: the other ggml types, and speed. This is the readable oracle that the WASM kernels are
// tested against; it stays scalar and allocates nothing per element.
//
// Conventions: a row of n elements is n/blockSize consecutive blocks; all multi-byte fields are little-endian;
// `d` fields are IEEE f16 widened exactly with f16ToF32.

import { LfmError } from './errors.js';
import { f16ToF32, f16ToF32Table, f32ToBf16, f32ToF16, bf16ToF32 } from './f16.js';
import { GGML_TYPES, GgmlType, ggmlTypeName } from './ggml-type.js';

/** Raised for an unsupported type, or for a byte/element count that does not fit the type's blocks. */
export class QuantError extends LfmError {
  /** The ggml type id involved. */
  readonly type: number;
  constructor(type: number, message: string) {
    super('E_QUANT', message);
    this.type = type;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Block layouts (one declaration each; tests/quant.test.ts pins the sizes to GGML_TYPES' typeSize)
// ---------------------------------------------------------------------------------------------------------------

/** Elements per Q4_0 / Q8_0 block. */
export const QK4_0 = 32;
export const QK8_0 = 32;
/** Elements per K-quant super-block. */
export const QK_K = 256;

/**
 * Q4_0, 18 bytes per 32 elements (4.5 bits/weight):
 *
 *   byte:  0   1 | 2      3      ...  17
 *         [ d f16 ][qs[0]  qs[1]  ...  qs[15]]
 *   qs[j] low nibble  = code of element j       (j = 0..15)
 *   qs[j] high nibble = code of element j + 16  (NOT elements 2j / 2j+1)
 *   y = (code - 8) * d, code in 0..15
 */
export const Q4_0_BYTES = 18;
export const Q4_0_LAYOUT = { d: 0, qs: 2 } as const;

/**
 * Q8_0, 34 bytes per 32 elements (8.5 bits/weight):
 *
 *   byte:  0   1 | 2 ... 33
 *         [ d f16 ][qs[0..31] int8]      y[j] = qs[j] * d
 */
export const Q8_0_BYTES = 34;
export const Q8_0_LAYOUT = { d: 0, qs: 2 } as const;

/**
 * Q4_K, 144 bytes per 256 elements (4.5 bits/weight); 8 sub-blocks of 32, each with a 6-bit scale and 6-bit min:
 *
 *   byte:  0..1   2..3    4..15        16..143
 *         [d f16][dmin f16][scales[12]][qs[128]]
 *   scales: see scaleK4 / minK4 (8 scales + 8 mins, 6 bits each, packed into 12 bytes)
 *   qs: 4 groups g of 64 elements; qs[32g + l] low nibble = element 64g + l (sub-block 2g),
 *                                 qs[32g + l] high nibble = element 64g + 32 + l (sub-block 2g+1)
 *   y = (d * sc) * q - (dmin * m), q in 0..15
 */
export const Q4_K_BYTES = 144;
export const Q4_K_LAYOUT = { d: 0, dmin: 2, scales: 4, qs: 16 } as const;

/**
 * Q5_K, 176 bytes per 256 elements (5.5 bits/weight); like Q4_K plus a fifth bit per element:
 *
 *   byte:  0..1   2..3     4..15       16..47    48..175
 *         [d f16][dmin f16][scales[12]][qh[32]]  [qs[128]]
 *   group g (64 elements), l = 0..31:
 *     element 64g + l      = (qs[32g + l] & 15) + 16 * bit (2g)   of qh[l]   (sub-block 2g)
 *     element 64g + 32 + l = (qs[32g + l] >> 4) + 16 * bit (2g+1) of qh[l]   (sub-block 2g+1)
 *   y = (d * sc) * q - (dmin * m), q in 0..31
 */
export const Q5_K_BYTES = 176;
export const Q5_K_LAYOUT = { d: 0, dmin: 2, scales: 4, qh: 16, qs: 48 } as const;

/**
 * Q6_K, 210 bytes per 256 elements (6.5625 bits/weight); 16 sub-blocks of 16 with an int8 scale each; d LAST:
 *
 *   byte:  0..127     128..191   192..207          208..209
 *         [ql[128]]  [qh[64]]   [scales[16] int8] [d f16]
 *   half h = 0, 1 (128 elements; ql, qh, scales advance by 64, 32, 8), l = 0..31, s = l/16:
 *     element 128h + l      : ql[64h + l]      & 15 | (qh[32h + l] >> 0 & 3) << 4, scale scales[8h + s]
 *     element 128h + 32 + l : ql[64h + 32 + l] & 15 | (qh[32h + l] >> 2 & 3) << 4, scale scales[8h + s + 2]
 *     element 128h + 64 + l : ql[64h + l]      >> 4 | (qh[32h + l] >> 4 & 3) << 4, scale scales[8h + s + 4]
 *     element 128h + 96 + l : ql[64h + 32 + l] >> 4 | (qh[32h + l] >> 6 & 3) << 4, scale scales[8h + s + 6]
 *   y = (d * scale) * (q - 32), q in 0..63
 */
export const Q6_K_BYTES = 210;
export const Q6_K_LAYOUT = { ql: 0, qh: 128, scales: 192, d: 208 } as const;

/** f16 at bytes[o], o+1 (little-endian), widened to f32. */
function readF16(bytes: Uint8Array, o: number): number {
  return f16ToF32(bytes[o] | (bytes[o + 1] << 8));
}

function writeF16(bytes: Uint8Array, o: number, x: number): void {
  const h = f32ToF16(x);
  bytes[o] = h & 0xff;
  bytes[o + 1] = h >>> 8;
}

/**
 * The 6-bit scale of sub-block j (0..7) of a Q4_K/Q5_K block whose 12 scale bytes start at s[o] (ggml's
 * get_scale_min_k4). Bytes 0..3 hold scales 0..3 in their low 6 bits, bytes 4..7 mins 0..3; bytes 8..11 hold the
 * low 4 bits of scale 4..7 (low nibble) and min 4..7 (high nibble), whose top 2 bits sit in the top 2 bits of bytes
 * 0..3 (scales) and 4..7 (mins).
 */
export function scaleK4(s: Uint8Array, o: number, j: number): number {
  if (j < 4) return s[o + j] & 63;
  return (s[o + j + 4] & 0x0f) | ((s[o + j - 4] >> 6) << 4);
}

/** The 6-bit min of sub-block j (0..7); see scaleK4 for the packing. */
export function minK4(s: Uint8Array, o: number, j: number): number {
  if (j < 4) return s[o + j + 4] & 63;
  return (s[o + j + 4] >> 4) | ((s[o + j] >> 6) << 4);
}

// ---------------------------------------------------------------------------------------------------------------
// Argument checks
// ---------------------------------------------------------------------------------------------------------------

/** Checks that n elements of `type` fill `bytes` exactly and that `out` (if given) can hold them. */
function checkDequantArgs(type: number, bytes: Uint8Array, n: number, out: Float32Array | undefined): Float32Array {
  const info = GGML_TYPES.get(type);
  const name = ggmlTypeName(type);
  if (!info) throw new QuantError(type, `dequantize: unknown ggml type id ${type}`);
  if (!Number.isSafeInteger(n) || n < 0 || n % info.blockSize !== 0) {
    throw new QuantError(type, `dequantize ${name}: n=${n} is not a whole number of ${info.blockSize}-element blocks`);
  }
  const want = (n / info.blockSize) * info.typeSize;
  if (bytes.length !== want) {
    throw new QuantError(
      type,
      `dequantize ${name}: ${n} elements need ${want} bytes ` +
        `(${n / info.blockSize} blocks of ${info.typeSize}), got ${bytes.length}`,
    );
  }
  if (out === undefined) return new Float32Array(n);
  if (out.length < n) throw new QuantError(type, `dequantize ${name}: output holds ${out.length} floats, need ${n}`);
  return out;
}

function checkQuantArgs(type: number, x: Float32Array, blockSize: number): void {
  if (x.length % blockSize !== 0) {
    throw new QuantError(
      type,
      `quantize ${ggmlTypeName(type)}: length ${x.length} is not a multiple of the block size ${blockSize}`,
    );
  }
}

/** `out` trimmed to the n elements written (callers may pass a larger scratch buffer). */
function trimmed(out: Float32Array, n: number): Float32Array {
  return out.length === n ? out : out.subarray(0, n);
}

// ---------------------------------------------------------------------------------------------------------------
// Reference quantizers (ggml quantize_row_q8_0_ref / quantize_row_q4_0_ref), for finite input
// ---------------------------------------------------------------------------------------------------------------

/** C roundf: nearest integer, halves away from zero. |x| + 0.5 is exact in double for any f32 |x| < 2^29. */
function roundf(x: number): number {
  return x < 0 ? -Math.floor(-x + 0.5) : Math.floor(x + 0.5);
}

/**
 * x (n, a multiple of 32) -> n/32 Q8_0 blocks, byte-identical to quantize_row_q8_0_ref:
 *   amax = max |x|, d = amax/127, id = d ? 1/d : 0 (unrounded f32), qs[j] = roundf(x[j]*id), store fp16(d).
 * Input must be finite and not f32-subnormal-dominated (C is undefined there: 1/d overflows, NaN -> int8).
 */
export function quantizeQ8_0(x: Float32Array): Uint8Array {
  checkQuantArgs(GgmlType.Q8_0, x, QK8_0);
  const nb = x.length / QK8_0;
  const y = new Uint8Array(nb * Q8_0_BYTES);
  for (let i = 0; i < nb; i++) {
    const xb = i * QK8_0; // first element of block i
    const yb = i * Q8_0_BYTES; // first byte of block i
    let amax = 0;
    for (let j = 0; j < QK8_0; j++) {
      const a = Math.abs(x[xb + j]);
      amax = amax > a ? amax : a; // C MAX(amax, fabsf(v))
    }
    const d = Math.fround(amax / 127);
    const id = d !== 0 ? Math.fround(1 / d) : 0;
    writeF16(y, yb + Q8_0_LAYOUT.d, d);
    for (let j = 0; j < QK8_0; j++) {
      const x0 = Math.fround(x[xb + j] * id);
      y[yb + Q8_0_LAYOUT.qs + j] = roundf(x0) & 0xff; // int8 two's complement; |roundf| <= 127 for finite input
    }
  }
  return y;
}

/**
 * x (n, a multiple of 32) -> n/32 Q4_0 blocks, byte-identical to quantize_row_q4_0_ref:
 *   max = the signed element of largest |v| (first one on ties: strict <), d = max / -8, id = d ? 1/d : 0
 *   (unrounded f32), code = min(15, trunc(x*id + 8.5)), store fp16(d).
 * The max element lands on code 0 (-8); the opposite sign can reach +8, clamped to code 15 (+7).
 */
export function quantizeQ4_0(x: Float32Array): Uint8Array {
  checkQuantArgs(GgmlType.Q4_0, x, QK4_0);
  const nb = x.length / QK4_0;
  const y = new Uint8Array(nb * Q4_0_BYTES);
  const half = QK4_0 / 2;
  for (let i = 0; i < nb; i++) {
    const xb = i * QK4_0;
    const yb = i * Q4_0_BYTES;
    let amax = 0;
    let max = 0;
    for (let j = 0; j < QK4_0; j++) {
      const v = x[xb + j];
      if (amax < Math.abs(v)) {
        amax = Math.abs(v);
        max = v;
      }
    }
    const d = Math.fround(max / -8);
    const id = d !== 0 ? Math.fround(1 / d) : 0;
    writeF16(y, yb + Q4_0_LAYOUT.d, d);
    for (let j = 0; j < half; j++) {
      const x0 = Math.fround(x[xb + j] * id);
      const x1 = Math.fround(x[xb + half + j] * id);
      // (int8_t)(x0 + 8.5f): the f32 sum truncated toward zero; it is >= ~0.5 so trunc == floor here.
      const q0 = Math.min(15, Math.trunc(Math.fround(x0 + 8.5)));
      const q1 = Math.min(15, Math.trunc(Math.fround(x1 + 8.5)));
      y[yb + Q4_0_LAYOUT.qs + j] = q0 | (q1 << 4);
    }
  }
  return y;
}

// ---------------------------------------------------------------------------------------------------------------
// K-quant reference quantizers (ggml quantize_row_q4_K_ref / q5_K_ref / q6_K_ref and their helpers
// make_qkx2_quants / make_qx_quants), for finite input. No importance matrix: what llama-quantize does without one.
//
// These search for the scales (a least-squares fit over a few candidate scales per sub-block), so unlike Q4_0 the
// result depends on every intermediate rounding: each C float expression is written out with `f` (Math.fround) in
// the C evaluation order, e.g. `w*x[i]*l` is f(f(w * x[i]) * l). libggml-base is compiled without FMA (checked:
// no vfmadd in the library), so no product is fused into a sum there either.
// ---------------------------------------------------------------------------------------------------------------

const f = Math.fround;
/** ggml's GROUP_MAX_EPS: a sub-block whose largest |x| is below this quantizes to all zeros. */
const GROUP_MAX_EPS = f(1e-15);
const nearestF32 = new Float32Array(1);
const nearestI32 = new Int32Array(nearestF32.buffer);

/**
 * ggml's nearest_int: adds 1.5 * 2^23 in f32 and reads the low mantissa bits, i.e. round half to even for
 * |v| <= 4194303 (the only range ggml calls it with; outside it this reproduces the same bit trick).
 */
export function nearestInt(v: number): number {
  if (Math.abs(v) <= 4194303) {
    const r = Math.round(v); // half up
    return r - v === 0.5 && (r & 1) !== 0 ? r - 1 : r;
  }
  nearestF32[0] = v + 12582912;
  return (nearestI32[0] & 0x007fffff) - 0x00400000;
}

/** Round half to even of |v| known to be far below 2^22 (nearestInt's fast path, for the hot loops). */
function roundEvenSmall(v: number): number {
  const r = Math.round(v);
  return r - v === 0.5 && (r & 1) !== 0 ? r - 1 : r;
}

// Scratch for makeQkx2Quants (n <= 32): the sub-block's x, x - min and weights as doubles holding f32 values.
const qkxX = new Float64Array(32);
const qkxShifted = new Float64Array(32);
const qkxWeights = new Float64Array(32);

/**
 * make_qkx2_quants: codes L[lo..lo+n) in 0..nmax and (scale, min) so that x ~ scale * L - min, fitted by weighted
 * least squares over nstep+1 candidate inverse scales (rmin + rdelta*is + nmax) / (max - min). Returns the scale;
 * the (non-negative) min goes to out.min. use_mad is always false for Q4_K / Q5_K.
 * (x[i] - min is computed once per element and again only when min changes, not once per candidate: the same
 * f32 values either way. Note that ggml's later candidates use the min of the best fit so far.)
 */
function makeQkx2Quants(
  n: number, nmax: number, x: Float32Array, xo: number, weights: Float32Array, L: Uint8Array, lo: number, Laux: Uint8Array,
  rmin: number, rdelta: number, nstep: number, out: { min: number },
): number {
  let min = x[xo];
  let max = x[xo];
  let sumW = weights[0];
  let sumX = f(sumW * x[xo]);
  for (let i = 1; i < n; i++) {
    const xi = x[xo + i];
    if (xi < min) min = xi;
    if (xi > max) max = xi;
    const w = weights[i];
    sumW = f(sumW + w);
    sumX = f(sumX + f(w * xi));
  }
  if (min > 0) min = 0;
  if (max === min) {
    L.fill(0, lo, lo + n);
    out.min = -min;
    return 0;
  }
  const xs = qkxX;
  const xm = qkxShifted;
  const wt = qkxWeights;
  for (let i = 0; i < n; i++) {
    xs[i] = x[xo + i];
    xm[i] = f(xs[i] - min);
    wt[i] = weights[i];
  }
  let range = f(max - min);
  let iscale = f(nmax / range);
  let scale = f(1 / iscale);
  let bestError = 0;
  for (let i = 0; i < n; i++) {
    const l = Math.min(nmax, roundEvenSmall(f(iscale * xm[i]))); // iscale * xm is in [0, nmax]
    L[lo + i] = l;
    const diff = f(f(f(scale * l) + min) - xs[i]);
    bestError = f(bestError + f(wt[i] * f(diff * diff)));
  }
  if (nstep < 1) {
    out.min = -min;
    return scale;
  }
  for (let is = 0; is <= nstep; is++) {
    iscale = f(f(f(rmin + f(rdelta * is)) + nmax) / range);
    // Codes identical to the previous candidate's give identical sums, fit and error, which cannot beat the best
    // error (already <= that candidate's): skipping them changes nothing but the time.
    let changed = is === 0;
    for (let i = 0; i < n; i++) {
      const l = Math.max(0, Math.min(nmax, roundEvenSmall(f(iscale * xm[i])))); // xm may be < 0 once min moved up
      if (l !== Laux[i]) changed = true;
      Laux[i] = l;
    }
    if (!changed) continue;
    let sumL = 0;
    let sumL2 = 0;
    let sumXL = 0;
    for (let i = 0; i < n; i++) {
      const l = Laux[i];
      const wl = f(wt[i] * l);
      sumL = f(sumL + wl);
      sumL2 = f(sumL2 + f(wl * l));
      sumXL = f(sumXL + f(wl * xs[i]));
    }
    const D = f(f(sumW * sumL2) - f(sumL * sumL));
    if (D > 0) {
      let thisScale = f(f(f(sumW * sumXL) - f(sumX * sumL)) / D);
      let thisMin = f(f(f(sumL2 * sumX) - f(sumL * sumXL)) / D);
      if (thisMin > 0) {
        thisMin = 0;
        thisScale = f(sumXL / sumL2);
      }
      let curError = 0;
      for (let i = 0; i < n; i++) {
        const diff = f(f(f(thisScale * Laux[i]) + thisMin) - xs[i]);
        curError = f(curError + f(wt[i] * f(diff * diff)));
      }
      if (curError < bestError) {
        L.set(Laux.subarray(0, n), lo);
        bestError = curError;
        scale = thisScale;
        min = thisMin;
        // ggml reuses `min` in the next candidates' x[i] - min and max - min: so do we
        for (let i = 0; i < n; i++) xm[i] = f(xs[i] - min);
        range = f(max - min);
      }
    }
  }
  out.min = -min;
  return scale;
}

/**
 * make_qx_quants with rmse_type 1 and no importance weights (the Q6_K case): symmetric codes L in 0..2*nmax-1
 * (stored with +nmax), the scale refined over 19 candidate inverse scales by least squares weighted with x^2.
 */
function makeQxQuants(n: number, nmax: number, x: Float32Array, xo: number, L: Int8Array, lo: number): number {
  let max = 0;
  let amax = 0;
  for (let i = 0; i < n; i++) {
    const ax = Math.abs(x[xo + i]);
    if (ax > amax) {
      amax = ax;
      max = x[xo + i];
    }
  }
  if (amax < GROUP_MAX_EPS) {
    L.fill(0, lo, lo + n);
    return 0;
  }
  let iscale = f(-nmax / max);
  let sumlx = 0;
  let suml2 = 0;
  for (let i = 0; i < n; i++) {
    const xi = x[xo + i];
    const l = Math.max(-nmax, Math.min(nmax - 1, nearestInt(f(iscale * xi))));
    L[lo + i] = l + nmax;
    const w = f(xi * xi);
    sumlx = f(sumlx + f(f(w * xi) * l));
    suml2 = f(suml2 + f(f(w * l) * l));
  }
  let scale = suml2 ? f(sumlx / suml2) : 0;
  let best = f(scale * sumlx);
  for (let is = -9; is <= 9; is++) {
    if (is === 0) continue;
    iscale = f(-f(nmax + f(f(0.1) * is)) / max);
    sumlx = 0;
    suml2 = 0;
    for (let i = 0; i < n; i++) {
      const xi = x[xo + i];
      const l = Math.max(-nmax, Math.min(nmax - 1, nearestInt(f(iscale * xi))));
      const w = f(xi * xi);
      sumlx = f(sumlx + f(f(w * xi) * l));
      suml2 = f(suml2 + f(f(w * l) * l));
    }
    if (suml2 > 0 && f(sumlx * sumlx) > f(best * suml2)) {
      for (let i = 0; i < n; i++) L[lo + i] = nmax + Math.max(-nmax, Math.min(nmax - 1, nearestInt(f(iscale * x[xo + i]))));
      scale = f(sumlx / suml2);
      best = f(scale * sumlx);
    }
  }
  return scale;
}

/**
 * The Q4_K / Q5_K super-block fit shared by both (quantize_row_q4_K_ref / q5_K_ref up to the bit packing):
 * per 32-element sub-block a (scale, min) by make_qkx2_quants with weights av_x + |x|, the 8 scales and mins
 * quantized to 6 bits against d = max_scale/63 and dmin = max_min/63 (f16), then the codes L (0..nmax) recomputed
 * against the rounded scales. Writes d, dmin and the 12 scale bytes of the block at y[yb]; leaves the codes in L.
 */
function fitK4Block(x: Float32Array, xb: number, y: Uint8Array, yb: number, nmax: number, rmin: number, nstep: number, L: Uint8Array): void {
  const weights = new Float32Array(32);
  const Laux = new Uint8Array(32);
  const scales = new Float32Array(8);
  const mins = new Float32Array(8);
  const out = { min: 0 };
  let maxScale = 0;
  let maxMin = 0;
  for (let j = 0; j < 8; j++) {
    const xo = xb + 32 * j;
    let sumX2 = 0;
    for (let l = 0; l < 32; l++) sumX2 = f(sumX2 + f(x[xo + l] * x[xo + l]));
    const avX = f(Math.sqrt(f(sumX2 / 32)));
    for (let l = 0; l < 32; l++) weights[l] = f(avX + Math.abs(x[xo + l]));
    scales[j] = makeQkx2Quants(32, nmax, x, xo, weights, L, 32 * j, Laux, rmin, f(0.1), nstep, out);
    mins[j] = out.min;
    if (scales[j] > maxScale) maxScale = scales[j];
    if (mins[j] > maxMin) maxMin = mins[j];
  }
  const invScale = maxScale > 0 ? f(63 / maxScale) : 0;
  const invMin = maxMin > 0 ? f(63 / maxMin) : 0;
  const sc = yb + Q4_K_LAYOUT.scales; // (Q5_K has the same d, dmin, scales offsets)
  y.fill(0, sc, sc + 12);
  for (let j = 0; j < 8; j++) {
    // uint8_t ls = nearest_int(...): the int is truncated to 8 bits before MIN(63, .)
    const ls = Math.min(63, nearestInt(f(invScale * scales[j])) & 0xff);
    const lm = Math.min(63, nearestInt(f(invMin * mins[j])) & 0xff);
    if (j < 4) {
      y[sc + j] = ls;
      y[sc + j + 4] = lm;
    } else {
      y[sc + j + 4] = (ls & 0xf) | ((lm & 0xf) << 4);
      y[sc + j - 4] |= (ls >> 4) << 6;
      y[sc + j] |= (lm >> 4) << 6;
    }
  }
  writeF16(y, yb + Q4_K_LAYOUT.d, f(maxScale / 63));
  writeF16(y, yb + Q4_K_LAYOUT.dmin, f(maxMin / 63));
  const d0 = readF16(y, yb + Q4_K_LAYOUT.d);
  const dmin0 = readF16(y, yb + Q4_K_LAYOUT.dmin);
  for (let j = 0; j < 8; j++) {
    const d = f(d0 * scaleK4(y, sc, j));
    if (!d) continue; // keeps make_qkx2_quants' codes for this sub-block, as ggml does
    const dm = f(dmin0 * minK4(y, sc, j));
    for (let ii = 0; ii < 32; ii++) L[32 * j + ii] = Math.max(0, Math.min(nmax, nearestInt(f(f(x[xb + 32 * j + ii] + dm) / d))));
  }
}

/** x (n, a multiple of 256) -> n/256 Q4_K blocks, byte-identical to quantize_row_q4_K_ref. */
export function quantizeQ4_K(x: Float32Array): Uint8Array {
  checkQuantArgs(GgmlType.Q4_K, x, QK_K);
  const nb = x.length / QK_K;
  const y = new Uint8Array(nb * Q4_K_BYTES);
  const L = new Uint8Array(QK_K);
  for (let i = 0; i < nb; i++) {
    const yb = i * Q4_K_BYTES;
    fitK4Block(x, i * QK_K, y, yb, 15, f(-1), 20, L);
    const q = yb + Q4_K_LAYOUT.qs;
    for (let g = 0; g < 4; g++) for (let l = 0; l < 32; l++) y[q + 32 * g + l] = L[64 * g + l] | (L[64 * g + 32 + l] << 4);
  }
  return y;
}

/** x (n, a multiple of 256) -> n/256 Q5_K blocks, byte-identical to quantize_row_q5_K_ref. */
export function quantizeQ5_K(x: Float32Array): Uint8Array {
  checkQuantArgs(GgmlType.Q5_K, x, QK_K);
  const nb = x.length / QK_K;
  const y = new Uint8Array(nb * Q5_K_BYTES);
  const L = new Uint8Array(QK_K);
  for (let i = 0; i < nb; i++) {
    const yb = i * Q5_K_BYTES;
    fitK4Block(x, i * QK_K, y, yb, 31, f(-0.5), 15, L);
    const qh = yb + Q5_K_LAYOUT.qh;
    const ql = yb + Q5_K_LAYOUT.qs;
    for (let g = 0; g < 4; g++) {
      for (let l = 0; l < 32; l++) {
        const l1 = L[64 * g + l];
        const l2 = L[64 * g + 32 + l];
        if (l1 > 15) y[qh + l] |= 1 << (2 * g);
        if (l2 > 15) y[qh + l] |= 2 << (2 * g);
        y[ql + 32 * g + l] = (l1 & 15) | ((l2 & 15) << 4);
      }
    }
  }
  return y;
}

/** x (n, a multiple of 256) -> n/256 Q6_K blocks, byte-identical to quantize_row_q6_K_ref. */
export function quantizeQ6_K(x: Float32Array): Uint8Array {
  checkQuantArgs(GgmlType.Q6_K, x, QK_K);
  const nb = x.length / QK_K;
  const y = new Uint8Array(nb * Q6_K_BYTES);
  const L = new Int8Array(QK_K);
  const scales = new Float32Array(16);
  for (let i = 0; i < nb; i++) {
    const xb = i * QK_K;
    const yb = i * Q6_K_BYTES;
    let maxScale = 0;
    let maxAbsScale = 0;
    for (let ib = 0; ib < 16; ib++) {
      const scale = makeQxQuants(16, 32, x, xb + 16 * ib, L, 16 * ib);
      scales[ib] = scale;
      if (Math.abs(scale) > maxAbsScale) {
        maxAbsScale = Math.abs(scale);
        maxScale = scale;
      }
    }
    if (maxAbsScale < GROUP_MAX_EPS) continue; // the block stays all zeros (d = +0)
    const iscale = f(-128 / maxScale);
    writeF16(y, yb + Q6_K_LAYOUT.d, f(1 / iscale));
    const sc = yb + Q6_K_LAYOUT.scales;
    for (let ib = 0; ib < 16; ib++) y[sc + ib] = Math.min(127, nearestInt(f(iscale * scales[ib]))) & 0xff;
    const d0 = readF16(y, yb + Q6_K_LAYOUT.d);
    for (let j = 0; j < 16; j++) {
      const d = f(d0 * int8(y[sc + j]));
      if (!d) continue;
      for (let ii = 0; ii < 16; ii++) L[16 * j + ii] = Math.max(-32, Math.min(31, nearestInt(f(x[xb + 16 * j + ii] / d)))) + 32;
    }
    for (let h = 0; h < 2; h++) {
      const ql = yb + Q6_K_LAYOUT.ql + 64 * h;
      const qh = yb + Q6_K_LAYOUT.qh + 32 * h;
      const o = 128 * h;
      for (let l = 0; l < 32; l++) {
        y[ql + l] = (L[o + l] & 0xf) | ((L[o + l + 64] & 0xf) << 4);
        y[ql + l + 32] = (L[o + l + 32] & 0xf) | ((L[o + l + 96] & 0xf) << 4);
        y[qh + l] = (L[o + l] >> 4) | ((L[o + l + 32] >> 4) << 2) | ((L[o + l + 64] >> 4) << 4) | ((L[o + l + 96] >> 4) << 6);
      }
    }
  }
  return y;
}

/**
 * Q8_K, the activation format ggml pairs with K-quant weights (ggml-common.h block_q8_K), 292 bytes per 256:
 *
 *   byte:  0..3      4..259          260..291
 *         [d f32]   [qs[256] int8]  [bsums[16] int16: sum of qs over each 16 elements]
 *   y[j] = qs[j] * d (d is a plain f32, not rounded to f16)
 */
export const Q8_K_BYTES = 292;
export const Q8_K_LAYOUT = { d: 0, qs: 4, bsums: 260 } as const;

/**
 * x (n, a multiple of 256) -> Q8_K blocks, byte-identical to quantize_row_q8_K_ref (what ggml's CPU backend uses
 * for the activations of K-quant matmuls on x86): max = the first element of largest |x|, iscale = -127/max,
 * qs = min(127, nearest_int(iscale * x)) (round half to even), d = 1/iscale. An all-zero block gets d = 0 and
 * zero codes (ggml leaves its bsums unwritten; here they are 0).
 */
export function quantizeQ8_K(x: Float32Array): Uint8Array {
  checkQuantArgs(GgmlType.Q8_K, x, QK_K);
  const nb = x.length / QK_K;
  const y = new Uint8Array(nb * Q8_K_BYTES);
  const dv = new DataView(y.buffer);
  for (let i = 0; i < nb; i++) {
    const xb = i * QK_K;
    const yb = i * Q8_K_BYTES;
    let max = 0;
    let amax = 0;
    for (let j = 0; j < QK_K; j++) {
      const ax = Math.abs(x[xb + j]);
      if (ax > amax) {
        amax = ax;
        max = x[xb + j];
      }
    }
    if (!amax) continue;
    const iscale = f(-127 / max);
    for (let j = 0; j < QK_K; j++) y[yb + Q8_K_LAYOUT.qs + j] = Math.min(127, nearestInt(f(iscale * x[xb + j]))) & 0xff;
    for (let j = 0; j < 16; j++) {
      let s = 0;
      for (let k = 0; k < 16; k++) s += int8(y[yb + Q8_K_LAYOUT.qs + 16 * j + k]);
      dv.setInt16(yb + Q8_K_LAYOUT.bsums + 2 * j, s, true);
    }
    dv.setFloat32(yb + Q8_K_LAYOUT.d, f(1 / iscale), true);
  }
  return y;
}

/** x -> bytes of `type` (F32, F16, BF16 round to nearest-even; the quantized types as ggml's reference quantizers). */
export function quantize(type: number, x: Float32Array): Uint8Array {
  switch (type) {
    case GgmlType.F32: {
      const y = new Uint8Array(x.length * 4);
      const dv = new DataView(y.buffer);
      for (let i = 0; i < x.length; i++) dv.setFloat32(i * 4, x[i], true);
      return y;
    }
    case GgmlType.F16: {
      const y = new Uint8Array(x.length * 2);
      for (let i = 0; i < x.length; i++) writeF16(y, i * 2, x[i]);
      return y;
    }
    case GgmlType.BF16: {
      const y = new Uint8Array(x.length * 2);
      for (let i = 0; i < x.length; i++) {
        const h = f32ToBf16(x[i]);
        y[i * 2] = h & 0xff;
        y[i * 2 + 1] = h >>> 8;
      }
      return y;
    }
    case GgmlType.Q8_0:
      return quantizeQ8_0(x);
    case GgmlType.Q4_0:
      return quantizeQ4_0(x);
    case GgmlType.Q4_K:
      return quantizeQ4_K(x);
    case GgmlType.Q5_K:
      return quantizeQ5_K(x);
    case GgmlType.Q6_K:
      return quantizeQ6_K(x);
    case GgmlType.Q8_K:
      return quantizeQ8_K(x);
    default:
      throw new QuantError(
        type,
        `quantize: ggml type ${ggmlTypeName(type)} (${type}) is not supported (supported: F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q5_K, Q6_K, Q8_K)`,
      );
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Dequantizers (ggml dequantize_row_*): bytes (n/blockSize blocks) -> out[0..n)
// ---------------------------------------------------------------------------------------------------------------

/** Q4_0: y[j] = (lo(qs[j]) - 8) * d, y[j+16] = (hi(qs[j]) - 8) * d. */
export function dequantizeQ4_0(bytes: Uint8Array, n: number, out?: Float32Array): Float32Array {
  const y = checkDequantArgs(GgmlType.Q4_0, bytes, n, out);
  const half = QK4_0 / 2;
  for (let i = 0, nb = n / QK4_0; i < nb; i++) {
    const xb = i * Q4_0_BYTES;
    const yb = i * QK4_0;
    const d = readF16(bytes, xb + Q4_0_LAYOUT.d);
    for (let j = 0; j < half; j++) {
      const q = bytes[xb + Q4_0_LAYOUT.qs + j];
      y[yb + j] = Math.fround(((q & 0x0f) - 8) * d);
      y[yb + half + j] = Math.fround(((q >> 4) - 8) * d);
    }
  }
  return trimmed(y, n);
}

/** Q8_0: y[j] = qs[j] * d. */
export function dequantizeQ8_0(bytes: Uint8Array, n: number, out?: Float32Array): Float32Array {
  const y = checkDequantArgs(GgmlType.Q8_0, bytes, n, out);
  for (let i = 0, nb = n / QK8_0; i < nb; i++) {
    const xb = i * Q8_0_BYTES;
    const yb = i * QK8_0;
    const d = readF16(bytes, xb + Q8_0_LAYOUT.d);
    for (let j = 0; j < QK8_0; j++) {
      const q = (bytes[xb + Q8_0_LAYOUT.qs + j] << 24) >> 24; // int8
      y[yb + j] = Math.fround(q * d);
    }
  }
  return trimmed(y, n);
}

/** Q4_K: per 64-element group g, sub-blocks 2g (low nibbles) and 2g+1 (high nibbles); y = d1*q - m1. */
export function dequantizeQ4_K(bytes: Uint8Array, n: number, out?: Float32Array): Float32Array {
  const y = checkDequantArgs(GgmlType.Q4_K, bytes, n, out);
  for (let i = 0, nb = n / QK_K; i < nb; i++) {
    const xb = i * Q4_K_BYTES;
    const d = readF16(bytes, xb + Q4_K_LAYOUT.d);
    const dmin = readF16(bytes, xb + Q4_K_LAYOUT.dmin);
    const sc = xb + Q4_K_LAYOUT.scales;
    for (let g = 0; g < 4; g++) {
      const d1 = Math.fround(d * scaleK4(bytes, sc, 2 * g));
      const m1 = Math.fround(dmin * minK4(bytes, sc, 2 * g));
      const d2 = Math.fround(d * scaleK4(bytes, sc, 2 * g + 1));
      const m2 = Math.fround(dmin * minK4(bytes, sc, 2 * g + 1));
      const q = xb + Q4_K_LAYOUT.qs + 32 * g; // 32 bytes of this group
      const yb = i * QK_K + 64 * g;
      for (let l = 0; l < 32; l++) y[yb + l] = Math.fround(Math.fround(d1 * (bytes[q + l] & 0x0f)) - m1);
      for (let l = 0; l < 32; l++) y[yb + 32 + l] = Math.fround(Math.fround(d2 * (bytes[q + l] >> 4)) - m2);
    }
  }
  return trimmed(y, n);
}

/** Q5_K: as Q4_K with a fifth bit from qh (bit 2g for the low nibbles, bit 2g+1 for the high); q in 0..31. */
export function dequantizeQ5_K(bytes: Uint8Array, n: number, out?: Float32Array): Float32Array {
  const y = checkDequantArgs(GgmlType.Q5_K, bytes, n, out);
  for (let i = 0, nb = n / QK_K; i < nb; i++) {
    const xb = i * Q5_K_BYTES;
    const d = readF16(bytes, xb + Q5_K_LAYOUT.d);
    const dmin = readF16(bytes, xb + Q5_K_LAYOUT.dmin);
    const sc = xb + Q5_K_LAYOUT.scales;
    const qh = xb + Q5_K_LAYOUT.qh;
    for (let g = 0; g < 4; g++) {
      const d1 = Math.fround(d * scaleK4(bytes, sc, 2 * g));
      const m1 = Math.fround(dmin * minK4(bytes, sc, 2 * g));
      const d2 = Math.fround(d * scaleK4(bytes, sc, 2 * g + 1));
      const m2 = Math.fround(dmin * minK4(bytes, sc, 2 * g + 1));
      const u1 = 1 << (2 * g); // qh bit of the low-nibble sub-block
      const u2 = 2 << (2 * g); // qh bit of the high-nibble sub-block
      const ql = xb + Q5_K_LAYOUT.qs + 32 * g;
      const yb = i * QK_K + 64 * g;
      for (let l = 0; l < 32; l++) {
        const q = (bytes[ql + l] & 0x0f) + (bytes[qh + l] & u1 ? 16 : 0);
        y[yb + l] = Math.fround(Math.fround(d1 * q) - m1);
      }
      for (let l = 0; l < 32; l++) {
        const q = (bytes[ql + l] >> 4) + (bytes[qh + l] & u2 ? 16 : 0);
        y[yb + 32 + l] = Math.fround(Math.fround(d2 * q) - m2);
      }
    }
  }
  return trimmed(y, n);
}

/** Q6_K: two 128-element halves; 6-bit q = 4 bits from ql + 2 bits from qh, minus 32; y = (d * scale) * q. */
export function dequantizeQ6_K(bytes: Uint8Array, n: number, out?: Float32Array): Float32Array {
  const y = checkDequantArgs(GgmlType.Q6_K, bytes, n, out);
  for (let i = 0, nb = n / QK_K; i < nb; i++) {
    const xb = i * Q6_K_BYTES;
    const d = readF16(bytes, xb + Q6_K_LAYOUT.d);
    for (let h = 0; h < 2; h++) {
      const ql = xb + Q6_K_LAYOUT.ql + 64 * h;
      const qh = xb + Q6_K_LAYOUT.qh + 32 * h;
      const sc = xb + Q6_K_LAYOUT.scales + 8 * h;
      const yb = i * QK_K + 128 * h;
      for (let l = 0; l < 32; l++) {
        const s = l >> 4; // l / 16: which of the two 16-element sub-blocks
        const hb = bytes[qh + l];
        const q1 = ((bytes[ql + l] & 0x0f) | (((hb >> 0) & 3) << 4)) - 32;
        const q2 = ((bytes[ql + 32 + l] & 0x0f) | (((hb >> 2) & 3) << 4)) - 32;
        const q3 = ((bytes[ql + l] >> 4) | (((hb >> 4) & 3) << 4)) - 32;
        const q4 = ((bytes[ql + 32 + l] >> 4) | (((hb >> 6) & 3) << 4)) - 32;
        y[yb + l] = Math.fround(Math.fround(d * int8(bytes[sc + s])) * q1);
        y[yb + 32 + l] = Math.fround(Math.fround(d * int8(bytes[sc + s + 2])) * q2);
        y[yb + 64 + l] = Math.fround(Math.fround(d * int8(bytes[sc + s + 4])) * q3);
        y[yb + 96 + l] = Math.fround(Math.fround(d * int8(bytes[sc + s + 6])) * q4);
      }
    }
  }
  return trimmed(y, n);
}

/** Q8_K (activations; never a model tensor): y[j] = qs[j] * d, d a plain f32. */
export function dequantizeQ8_K(bytes: Uint8Array, n: number, out?: Float32Array): Float32Array {
  const y = checkDequantArgs(GgmlType.Q8_K, bytes, n, out);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0, nb = n / QK_K; i < nb; i++) {
    const xb = i * Q8_K_BYTES;
    const d = dv.getFloat32(xb + Q8_K_LAYOUT.d, true);
    for (let j = 0; j < QK_K; j++) y[i * QK_K + j] = Math.fround(int8(bytes[xb + Q8_K_LAYOUT.qs + j]) * d);
  }
  return trimmed(y, n);
}

function int8(b: number): number {
  return (b << 24) >> 24;
}

/** bytes holding n elements of `type` -> f32. Throws QuantError for other types or mismatched sizes. */
export function dequantize(type: number, bytes: Uint8Array, n: number, out?: Float32Array): Float32Array {
  switch (type) {
    case GgmlType.F32: {
      const y = checkDequantArgs(type, bytes, n, out);
      const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      for (let i = 0; i < n; i++) y[i] = dv.getFloat32(i * 4, true);
      return trimmed(y, n);
    }
    case GgmlType.F16: {
      const y = checkDequantArgs(type, bytes, n, out);
      const table = f16ToF32Table();
      for (let i = 0; i < n; i++) y[i] = table[bytes[i * 2] | (bytes[i * 2 + 1] << 8)];
      return trimmed(y, n);
    }
    case GgmlType.BF16: {
      const y = checkDequantArgs(type, bytes, n, out);
      for (let i = 0; i < n; i++) y[i] = bf16ToF32(bytes[i * 2] | (bytes[i * 2 + 1] << 8));
      return trimmed(y, n);
    }
    case GgmlType.Q4_0:
      return dequantizeQ4_0(bytes, n, out);
    case GgmlType.Q8_0:
      return dequantizeQ8_0(bytes, n, out);
    case GgmlType.Q4_K:
      return dequantizeQ4_K(bytes, n, out);
    case GgmlType.Q5_K:
      return dequantizeQ5_K(bytes, n, out);
    case GgmlType.Q6_K:
      return dequantizeQ6_K(bytes, n, out);
    case GgmlType.Q8_K:
      return dequantizeQ8_K(bytes, n, out);
    default: {
      const known = GGML_TYPES.has(type) ? `ggml type ${ggmlTypeName(type)} (${type})` : `unknown ggml type id ${type}`;
      throw new QuantError(
        type,
        `dequantize: ${known} is not supported (supported: F32, F16, BF16, Q4_0, Q8_0, Q4_K, Q5_K, Q6_K)`,
      );
    }
  }
}
