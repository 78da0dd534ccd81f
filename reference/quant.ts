// GGML block formats: every block layout declared once, the reference quantizers for Q4_0 / Q8_0, and the
// dequantizers for the types a published LFM2 GGUF contains (F32, F16, BF16, Q4_0, Q8_0, Q4_K, Q5_K, Q6_K).
//
// Mirrors ggml/src/ggml-common.h (block_q4_0, block_q8_0, block_q4_K, block_q5_K, block_q6_K) and
// ggml/src/ggml-quants.c (quantize_row_q4_0_ref, quantize_row_q8_0_ref, dequantize_row_*). Results are
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
// Deliberately left out: the K-quant quantizers (their search-based scale fitting is only needed to *make* Q4_K
// files, which we never do), the other ggml types, and speed. This is the readable oracle that the WASM kernels are
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

/** x -> bytes of `type` (F32, F16, BF16 round to nearest-even; Q8_0 / Q4_0 as ggml's reference quantizers). */
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
    default:
      throw new QuantError(
        type,
        `quantize: ggml type ${ggmlTypeName(type)} (${type}) is not supported (supported: F32, F16, BF16, Q8_0, Q4_0)`,
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
    default: {
      const known = GGML_TYPES.has(type) ? `ggml type ${ggmlTypeName(type)} (${type})` : `unknown ggml type id ${type}`;
      throw new QuantError(
        type,
        `dequantize: ${known} is not supported (supported: F32, F16, BF16, Q4_0, Q8_0, Q4_K, Q5_K, Q6_K)`,
      );
    }
  }
}
