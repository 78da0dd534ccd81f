// K-quant weights (Q4_K, Q5_K, Q6_K) at their stored precision: Q8_K activations, the 4-row interleaved weight
// layouts, matvec and GEMM, the embedding row lookup. Each SIMD kernel has its scalar twin right above it, with the
// same signature and the same float operations per lane in the same order: they agree bit for bit.
//
// Mirrors ggml: quantize_row_q8_K_ref (the activations ggml's CPU backend pairs with K-quant weights) and
// ggml_vec_dot_q{4,5,6}_K_q8_K: per super-block of 256, the exact integer sums
//   S = sum_j sc_j * sum_{i in sub-block j} q_i * a_i      (unsigned codes q, 6-bit or int8 sub-block scales)
//   M = sum_j m_j * bsum_j                                 (Q4_K / Q5_K mins;  Q6_K: its -32 offset, below)
// then acc += S * (d * dx) - M * (dmin * dx) in f32. The integer parts are exact, so only the f32 rounding of that
// last step (and of the row sum over super-blocks) can differ from ggml's.
//
// Weights keep GGML's bytes per weight; the load-time repack only reorders them (byte diagrams below). Four rows
// are interleaved so that lanes = rows: one i32x4 holds the four rows' sums and no horizontal additions are
// needed, as in quant.ts's Q4_0 / Q8_0 x4 layouts.
//
// Threads: every matmul takes a range of row groups [g0, g1) (4 rows per group) as its last two arguments and
// computes exactly those rows, each output element entirely.

import { f16ToF32, f16x4ToF32x4With, keepF32x4, keepI32x4, keepI8x16, F16_SIGN_AND_MAG } from './common';

/** Elements per K-quant super-block (and per Q8_K activation block). */
export const QK_K: i32 = 256;

// ---------------------------------------------------------------------------------------------------------------
// Q8_K activation row ("actK"), for a row of K = 256*nb floats (ggml quantize_row_q8_K_ref: max = the first element
// of largest |x|, iscale = -127/max, q = min(127, round-half-even(iscale * x)), d = 1/iscale, a plain f32):
//
//   [qs:  nb x 256 int8    ] the codes, element order (relaxed kernels load 4 at a time)
//   [dup: nb x 64 x i16x8  ] codes widened to i16, each group of 4 twice: [a0 a1 a2 a3 a0 a1 a2 a3] (baseline dot)
//   [b16: nb x 4 x i16x8   ] Q6_K: sums of the 16 codes of sub-block s, vector v = [b(4v) .. b(4v+3)] twice
//   [b32: nb x 2 x i16x8   ] Q4_K/Q5_K: sums of the 32 codes of sub-block j, vector v = [b(4v) .. b(4v+3)] twice
//   [d:   nb x f32         ]
//
// 1380 bytes per block; rows of a (T, K) activation follow each other. An all-zero block has d = 0 and zero codes.
export const ACTK_BLOCK_BYTES: i32 = 1380;

// @ts-ignore: decorator
@inline export function actKDup(row: usize, nb: i32): usize { return row + <usize>(nb * 256); }
// @ts-ignore: decorator
@inline export function actKB16(row: usize, nb: i32): usize { return row + <usize>(nb * 1280); }
// @ts-ignore: decorator
@inline export function actKB32(row: usize, nb: i32): usize { return row + <usize>(nb * 1344); }
// @ts-ignore: decorator
@inline export function actKD(row: usize, nb: i32): usize { return row + <usize>(nb * 1376); }

/** Bytes of one actK row of K floats (K a multiple of 256). */
export function actKRowBytes(K: i32): i32 {
  return (K / QK_K) * ACTK_BLOCK_BYTES;
}

/** Writes a block's dup, b16 and b32 from its codes (shared by both quantizers: pure integer work). */
function actKSums(row: usize, nb: i32, b: i32): void {
  const qs = row + <usize>(b * 256);
  const dup = actKDup(row, nb) + <usize>(b * 1024);
  for (let m = 0; m < 64; m++) {
    const q = i32x4.extend_low_i16x8_s(i16x8.extend_low_i8x16_s(v128.load32_zero(qs + <usize>(m * 4))));
    v128.store(dup + <usize>(m * 16), i16x8.narrow_i32x4_s(q, q));
  }
  const b16 = actKB16(row, nb) + <usize>(b * 64);
  const b32 = actKB32(row, nb) + <usize>(b * 32);
  for (let s = 0; s < 16; s++) {
    let sum = 0;
    for (let i = 0; i < 16; i++) sum += <i32>load<i8>(qs + <usize>(s * 16 + i));
    const v = s >> 2, i = s & 3;
    store<i16>(b16 + <usize>(v * 16 + i * 2), <i16>sum);
    store<i16>(b16 + <usize>(v * 16 + 8 + i * 2), <i16>sum);
  }
  for (let j = 0; j < 8; j++) {
    const sum = <i32>load<i16>(b16 + <usize>(((2 * j) >> 2) * 16 + ((2 * j) & 3) * 2)) + <i32>load<i16>(b16 + <usize>(((2 * j + 1) >> 2) * 16 + ((2 * j + 1) & 3) * 2));
    const v = j >> 2, i = j & 3;
    store<i16>(b32 + <usize>(v * 16 + i * 2), <i16>sum);
    store<i16>(b32 + <usize>(v * 16 + 8 + i * 2), <i16>sum);
  }
}

/** Scalar twin: one row x (K floats) -> actK row. */
export function quantizeActKScalar(x: usize, row: usize, K: i32): void {
  const nb = K / QK_K;
  for (let b = 0; b < nb; b++) {
    const xb = x + <usize>(b * QK_K * 4);
    const qs = row + <usize>(b * 256);
    let mx: f32 = 0, amax: f32 = 0;
    for (let j = 0; j < QK_K; j++) {
      const v = load<f32>(xb + <usize>(j * 4));
      if (abs<f32>(v) > amax) { amax = abs<f32>(v); mx = v; }
    }
    let d: f32 = 0;
    if (amax == 0) memory.fill(qs, 0, 256);
    else {
      const iscale: f32 = <f32>-127.0 / mx;
      for (let j = 0; j < QK_K; j++) store<i8>(qs + <usize>j, <i8>min<i32>(127, <i32>nearest<f32>(iscale * load<f32>(xb + <usize>(j * 4)))));
      d = <f32>1.0 / iscale;
    }
    store<f32>(actKD(row, nb) + <usize>(b * 4), d);
    actKSums(row, nb, b);
  }
}

/** SIMD: the same codes, sums and scales as quantizeActKScalar (bit for bit). */
export function quantizeActK(x: usize, row: usize, K: i32): void {
  quantizeActKBlocks(x, row, K, 0, K / QK_K);
}

/** quantizeActK for blocks [b0, b1) of the row only (threads split a long row, the FFN's, by blocks). */
export function quantizeActKBlocks(x: usize, row: usize, K: i32, b0: i32, b1: i32): void {
  const nb = K / QK_K;
  for (let b = b0; b < b1; b++) {
    const xb = x + <usize>(b * QK_K * 4);
    const qs = row + <usize>(b * 256);
    let m0 = f32x4.splat(0), m1 = f32x4.splat(0);
    for (let j = 0; j < QK_K; j += 8) {
      m0 = f32x4.max(m0, f32x4.abs(v128.load(xb + <usize>(j * 4))));
      m1 = f32x4.max(m1, f32x4.abs(v128.load(xb + <usize>(j * 4 + 16))));
    }
    const m = f32x4.max(m0, m1);
    const amax = max<f32>(max<f32>(f32x4.extract_lane(m, 0), f32x4.extract_lane(m, 1)), max<f32>(f32x4.extract_lane(m, 2), f32x4.extract_lane(m, 3)));
    let d: f32 = 0;
    if (amax == 0) memory.fill(qs, 0, 256);
    else {
      // the first element with |x| == amax, as the scalar "ax > amax" scan finds it
      const va = f32x4.splat(amax);
      let mx: f32 = 0;
      for (let j = 0; j < QK_K; j += 4) {
        const v = v128.load(xb + <usize>(j * 4));
        const hit = i32x4.bitmask(f32x4.eq(f32x4.abs(v), va));
        if (hit != 0) { mx = load<f32>(xb + <usize>((j + ctz<i32>(hit)) * 4)); break; }
      }
      const iscale: f32 = <f32>-127.0 / mx;
      const vs = f32x4.splat(iscale), top = i32x4.splat(127);
      for (let j = 0; j < QK_K; j += 16) {
        const p = xb + <usize>(j * 4);
        const q0 = i32x4.min_s(i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(vs, v128.load(p, 0)))), top);
        const q1 = i32x4.min_s(i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(vs, v128.load(p, 16)))), top);
        const q2 = i32x4.min_s(i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(vs, v128.load(p, 32)))), top);
        const q3 = i32x4.min_s(i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(vs, v128.load(p, 48)))), top);
        v128.store(qs + <usize>j, i8x16.narrow_i16x8_s(i16x8.narrow_i32x4_s(q0, q1), i16x8.narrow_i32x4_s(q2, q3)));
      }
      d = <f32>1.0 / iscale;
    }
    store<f32>(actKD(row, nb) + <usize>(b * 4), d);
    actKSums(row, nb, b);
  }
}

/** T rows of x (T, K) -> T actK rows. */
export function quantizeActKRows(x: usize, act: usize, K: i32, T: i32): void {
  const rowBytes = <usize>actKRowBytes(K);
  for (let t = 0; t < T; t++) quantizeActK(x + <usize>(t * K * 4), act + <usize>t * rowBytes, K);
}

// ---------------------------------------------------------------------------------------------------------------
// Weight layouts: rows taken 4 at a time (a "group"; the row count is padded to a multiple of 4 with zero-scale
// rows), each group storing its super-blocks in order. "v_k of X" below = bytes 4k..4k+3 of field X of rows 0, 1,
// 2, 3 (16 bytes: lane r holds row r's four bytes), the Q4_0 x4 idea applied to each field.
//
//   Q4_K x4, 576 bytes per group-super-block (= 4 x 144, GGML's size):
//     [d0 d1 d2 d3: f16][m0 m1 m2 m3: f16 dmin][s_0 s_1 s_2 of scales (12 bytes)][v_0 .. v_31 of qs (128 bytes)]
//        0                8                      16                                64
//     (scales keep ggml's 6-bit packing: get_scale_min_k4 runs on all four rows at once on s_0, s_1, s_2)
//   Q5_K x4, 704 bytes (= 4 x 176):
//     [d x 4][dmin x 4][s_0 s_1 s_2][u_0 .. u_7 of qh (32 bytes)][v_0 .. v_31 of qs]
//        0     8         16           64                          192
//   Q6_K x4, 840 bytes (= 4 x 210):
//     [w_0 .. w_31 of ql (128 bytes)][h_0 .. h_15 of qh (64 bytes)][c_0 .. c_3 of scales (16 x int8)][d x 4]
//        0                            512                           768                               832
//
// Where the codes sit (GGML's order, reference/quant.ts): Q4_K/Q5_K sub-block pair g (elements 64g .. 64g+63):
// low nibbles of v_{8g+k}, k = 0..7, are elements 64g+4k.., high nibbles elements 64g+32+4k..; Q5_K's fifth bit of
// those is bit 2g (low) / 2g+1 (high) of u_k. Q6_K half h, k = 0..7: with a = w_{16h+k}, b = w_{16h+8+k},
// c = h_{8h+k}: elements 128h+4k.. = a & 15 | (c & 3) << 4, 128h+32+4k.. = b & 15 | (c >> 2 & 3) << 4,
// 128h+64+4k.. = a >> 4 | (c >> 4 & 3) << 4, 128h+96+4k.. = b >> 4 | (c >> 6) << 4; sub-block of 16 = element / 16.
export const Q4KX4_BYTES: i32 = 576;
export const Q5KX4_BYTES: i32 = 704;
export const Q6KX4_BYTES: i32 = 840;

/** Copies row `lane` of field [off, off+n) (n a multiple of 4) of one GGML block into x4 vectors at dst. */
// @ts-ignore: decorator
@inline function spread(dst: usize, src: usize, n: i32, lane: i32): void {
  for (let k = 0; k < n / 4; k++) store<u32>(dst + <usize>(k * 16 + lane * 4), load<u32>(src + <usize>(k * 4)));
}

/** Rows [r0, r0+n) of a GGML Q4_K matrix (src: n rows of K/256 144-byte blocks) -> Q4_K x4 at dst. r0 % 4 == 0. */
export function repackQ4_K(dst: usize, src: usize, r0: i32, n: i32, K: i32, R: i32): void {
  const nb = K / QK_K;
  for (let r = 0; r < n; r++) {
    const row = r0 + r, g = row >> 2, lane = row & 3;
    for (let b = 0; b < nb; b++) {
      const sp = src + <usize>((r * nb + b) * 144), gp = dst + <usize>((g * nb + b) * Q4KX4_BYTES);
      store<u16>(gp + <usize>(lane * 2), load<u16>(sp));
      store<u16>(gp + <usize>(8 + lane * 2), load<u16>(sp, 2));
      spread(gp + 16, sp + 4, 12, lane);
      spread(gp + 64, sp + 16, 128, lane);
    }
  }
  padK(dst, r0 + n, R, nb, Q4KX4_BYTES, 16, Q4KX4_BYTES, 0, 8);
}

/** Rows [r0, r0+n) of a GGML Q5_K matrix (176-byte blocks) -> Q5_K x4. */
export function repackQ5_K(dst: usize, src: usize, r0: i32, n: i32, K: i32, R: i32): void {
  const nb = K / QK_K;
  for (let r = 0; r < n; r++) {
    const row = r0 + r, g = row >> 2, lane = row & 3;
    for (let b = 0; b < nb; b++) {
      const sp = src + <usize>((r * nb + b) * 176), gp = dst + <usize>((g * nb + b) * Q5KX4_BYTES);
      store<u16>(gp + <usize>(lane * 2), load<u16>(sp));
      store<u16>(gp + <usize>(8 + lane * 2), load<u16>(sp, 2));
      spread(gp + 16, sp + 4, 12, lane);
      spread(gp + 64, sp + 16, 32, lane);
      spread(gp + 192, sp + 48, 128, lane);
    }
  }
  padK(dst, r0 + n, R, nb, Q5KX4_BYTES, 16, Q5KX4_BYTES, 0, 8);
}

/** Rows [r0, r0+n) of a GGML Q6_K matrix (210-byte blocks) -> Q6_K x4. */
export function repackQ6_K(dst: usize, src: usize, r0: i32, n: i32, K: i32, R: i32): void {
  const nb = K / QK_K;
  for (let r = 0; r < n; r++) {
    const row = r0 + r, g = row >> 2, lane = row & 3;
    for (let b = 0; b < nb; b++) {
      const sp = src + <usize>((r * nb + b) * 210), gp = dst + <usize>((g * nb + b) * Q6KX4_BYTES);
      spread(gp, sp, 128, lane);
      spread(gp + 512, sp + 128, 64, lane);
      spread(gp + 768, sp + 192, 16, lane);
      store<u16>(gp + <usize>(832 + lane * 2), load<u16>(sp, 208));
    }
  }
  padK(dst, r0 + n, R, nb, Q6KX4_BYTES, 0, 832, 832, 832);
}

/**
 * When `end` is the last row (R) and not a multiple of 4: filler rows with zero codes and scales in the vectors
 * [v0, v1) of each group-super-block, and zero d (and dmin) at dOff, dminOff (f16 x 4).
 */
function padK(dst: usize, end: i32, R: i32, nb: i32, groupBytes: i32, v0: i32, v1: i32, dOff: i32, dminOff: i32): void {
  if (end != R) return;
  for (let row = R; (row & 3) != 0; row++) {
    const g = row >> 2, lane = row & 3;
    for (let b = 0; b < nb; b++) {
      const gp = dst + <usize>((g * nb + b) * groupBytes);
      for (let o = v0; o < v1; o += 16) store<u32>(gp + <usize>(o + lane * 4), 0);
      store<u16>(gp + <usize>(dOff + lane * 2), 0);
      store<u16>(gp + <usize>(dminOff + lane * 2), 0);
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Scalar helpers: one row's codes and scales straight from an x4 group-super-block

/** Byte i (0..11) of row r's 12 packed scale bytes in a Q4_K/Q5_K group-super-block gp. */
// @ts-ignore: decorator
@inline function scaleByte(gp: usize, r: i32, i: i32): i32 {
  return <i32>load<u8>(gp + <usize>(16 + (i >> 2) * 16 + r * 4 + (i & 3)));
}
/** ggml get_scale_min_k4: the 6-bit scale (min = false) or min (min = true) of sub-block j of row r. */
// @ts-ignore: decorator
@inline function scaleMinK4(gp: usize, r: i32, j: i32, isMin: bool): i32 {
  if (j < 4) return scaleByte(gp, r, isMin ? j + 4 : j) & 63;
  return isMin ? (scaleByte(gp, r, j + 4) >> 4) | ((scaleByte(gp, r, j) >> 6) << 4)
    : (scaleByte(gp, r, j + 4) & 0xf) | ((scaleByte(gp, r, j - 4) >> 6) << 4);
}
/** Code of element e (0..255) of row r in a Q4_K (fifth = false) or Q5_K group-super-block. */
// @ts-ignore: decorator
@inline function codeK4(gp: usize, r: i32, e: i32, qsOff: i32, fifth: bool): i32 {
  const g = e >> 6, l = e & 31, hi = (e >> 5) & 1;
  const byte = <i32>load<u8>(gp + <usize>(qsOff + (8 * g + (l >> 2)) * 16 + r * 4 + (l & 3)));
  let q = hi != 0 ? byte >> 4 : byte & 15;
  if (fifth) q |= ((<i32>load<u8>(gp + <usize>(64 + (l >> 2) * 16 + r * 4 + (l & 3))) >> (2 * g + hi)) & 1) << 4;
  return q;
}
/** Code (0..63, before the -32) of element e of row r in a Q6_K group-super-block. */
// @ts-ignore: decorator
@inline function codeQ6(gp: usize, r: i32, e: i32): i32 {
  const h = e >> 7, c = (e >> 5) & 3, l = e & 31;
  const ql = <i32>load<u8>(gp + <usize>((16 * h + 8 * (c & 1) + (l >> 2)) * 16 + r * 4 + (l & 3)));
  const qh = <i32>load<u8>(gp + <usize>(512 + (8 * h + (l >> 2)) * 16 + r * 4 + (l & 3)));
  return ((c >> 1) != 0 ? ql >> 4 : ql & 15) | (((qh >> (2 * c)) & 3) << 4);
}
/** int8 scale of 16-element sub-block s of row r in a Q6_K group-super-block. */
// @ts-ignore: decorator
@inline function scaleQ6(gp: usize, r: i32, s: i32): i32 {
  return <i32>load<i8>(gp + <usize>(768 + (s >> 2) * 16 + r * 4 + (s & 3)));
}

/** Row r of an x4 K-quant matrix (type 12 Q4_K, 13 Q5_K, 14 Q6_K) dequantized to f32 as ggml's dequantize_row_*. */
export function dequantRowK(w: usize, type: i32, r: i32, K: i32, y: usize): void {
  const nb = K / QK_K;
  const g = r >> 2, lane = r & 3;
  for (let b = 0; b < nb; b++) {
    const yb = y + <usize>(b * QK_K * 4);
    if (type == 14) {
      const gp = w + <usize>((g * nb + b) * Q6KX4_BYTES);
      const d = f16ToF32(load<u16>(gp + <usize>(832 + lane * 2)));
      for (let e = 0; e < QK_K; e++) store<f32>(yb + <usize>(e * 4), (d * <f32>scaleQ6(gp, lane, e >> 4)) * <f32>(codeQ6(gp, lane, e) - 32));
    } else {
      const gb = type == 13 ? Q5KX4_BYTES : Q4KX4_BYTES;
      const gp = w + <usize>((g * nb + b) * gb);
      const d = f16ToF32(load<u16>(gp + <usize>(lane * 2))), dmin = f16ToF32(load<u16>(gp + <usize>(8 + lane * 2)));
      for (let j = 0; j < 8; j++) {
        const d1 = d * <f32>scaleMinK4(gp, lane, j, false), m1 = dmin * <f32>scaleMinK4(gp, lane, j, true);
        for (let i = 0; i < 32; i++) {
          const e = 32 * j + i;
          store<f32>(yb + <usize>(e * 4), d1 * <f32>codeK4(gp, lane, e, type == 13 ? 192 : 64, type == 13) - m1);
        }
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Scalar twins (one token)

/** The f32 step shared by every K-quant kernel: one super-block's integer sums into the row's accumulator. */
// @ts-ignore: decorator
@inline function accK(acc: f32, S: i32, M: i32, d: f32, dmin: f32, dx: f32): f32 {
  return acc + (<f32>S * (d * dx) - <f32>M * (dmin * dx));
}

/** Q6_K's f32 step (no mins: its -32 offset is folded into the integer sum). */
// @ts-ignore: decorator
@inline function accK6(acc: f32, S: i32, d: f32, dx: f32): f32 {
  return acc + <f32>S * (d * dx);
}

// @ts-ignore: decorator
@inline function storeRowsK(y: usize, g: i32, R: i32, a0: f32, a1: f32, a2: f32, a3: f32): void {
  const yp = y + <usize>(g * 16);
  store<f32>(yp, a0);
  if (4 * g + 1 < R) store<f32>(yp, a1, 4);
  if (4 * g + 2 < R) store<f32>(yp, a2, 8);
  if (4 * g + 3 < R) store<f32>(yp, a3, 12);
}

/** Scalar twin of matvecQ4_K (fifth = false) / matvecQ5_K: rows of groups [g0, g1). */
// @ts-ignore: decorator
@inline function matvecK4Scalar(w: usize, act: usize, y: usize, R: i32, K: i32, g0: i32, g1: i32, fifth: bool): void {
  const nb = K / QK_K;
  const gb = fifth ? Q5KX4_BYTES : Q4KX4_BYTES, qsOff = fifth ? 192 : 64;
  for (let g = g0; g < g1; g++) {
    let a0: f32 = 0, a1: f32 = 0, a2: f32 = 0, a3: f32 = 0;
    for (let b = 0; b < nb; b++) {
      const gp = w + <usize>((g * nb + b) * gb);
      const qs = act + <usize>(b * 256);
      const dx = load<f32>(actKD(act, nb) + <usize>(b * 4));
      for (let r = 0; r < 4; r++) {
        let S = 0, M = 0;
        for (let j = 0; j < 8; j++) {
          let s = 0, bs = 0;
          for (let i = 0; i < 32; i++) {
            const a = <i32>load<i8>(qs + <usize>(32 * j + i));
            s += codeK4(gp, r, 32 * j + i, qsOff, fifth) * a;
            bs += a;
          }
          S += scaleMinK4(gp, r, j, false) * s;
          M += scaleMinK4(gp, r, j, true) * bs;
        }
        const d = f16ToF32(load<u16>(gp + <usize>(r * 2))), dmin = f16ToF32(load<u16>(gp + <usize>(8 + r * 2)));
        if (r == 0) a0 = accK(a0, S, M, d, dmin, dx); else if (r == 1) a1 = accK(a1, S, M, d, dmin, dx);
        else if (r == 2) a2 = accK(a2, S, M, d, dmin, dx); else a3 = accK(a3, S, M, d, dmin, dx);
      }
    }
    storeRowsK(y, g, R, a0, a1, a2, a3);
  }
}

/** Scalar twin of matvecQ4_K. */
export function matvecQ4_KScalar(w: usize, act: usize, y: usize, R: i32, K: i32, g0: i32, g1: i32): void {
  matvecK4Scalar(w, act, y, R, K, g0, g1, false);
}

/** Scalar twin of matvecQ5_K. */
export function matvecQ5_KScalar(w: usize, act: usize, y: usize, R: i32, K: i32, g0: i32, g1: i32): void {
  matvecK4Scalar(w, act, y, R, K, g0, g1, true);
}

/** Scalar twin of matvecQ6_K: S = sum_s sc_s sum q a over the 16 sub-blocks of 16, minus 32 sum_s sc_s bsum_s. */
export function matvecQ6_KScalar(w: usize, act: usize, y: usize, R: i32, K: i32, g0: i32, g1: i32): void {
  const nb = K / QK_K;
  for (let g = g0; g < g1; g++) {
    let a0: f32 = 0, a1: f32 = 0, a2: f32 = 0, a3: f32 = 0;
    for (let b = 0; b < nb; b++) {
      const gp = w + <usize>((g * nb + b) * Q6KX4_BYTES);
      const qs = act + <usize>(b * 256);
      const dx = load<f32>(actKD(act, nb) + <usize>(b * 4));
      for (let r = 0; r < 4; r++) {
        let S = 0, M = 0;
        for (let s = 0; s < 16; s++) {
          let sum = 0, bs = 0;
          for (let i = 0; i < 16; i++) {
            const a = <i32>load<i8>(qs + <usize>(16 * s + i));
            sum += codeQ6(gp, r, 16 * s + i) * a;
            bs += a;
          }
          S += scaleQ6(gp, r, s) * sum;
          M += scaleQ6(gp, r, s) * bs;
        }
        const d = f16ToF32(load<u16>(gp + <usize>(832 + r * 2)));
        S -= 32 * M;
        if (r == 0) a0 = accK6(a0, S, d, dx); else if (r == 1) a1 = accK6(a1, S, d, dx);
        else if (r == 2) a2 = accK6(a2, S, d, dx); else a3 = accK6(a3, S, d, dx);
      }
    }
    storeRowsK(y, g, R, a0, a1, a2, a3);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// SIMD building blocks (lanes = rows)

/**
 * The four rows' integer dot products over 4*n consecutive activation codes (n = 8: a 32-element sub-block,
 * n = 4: a 16-element one), weights w_k = unsigned codes (0..63) of elements 4k..4k+3 of rows 0..3.
 * relaxed: i32x4.relaxed_dot_i8x16_i7x16_add_s with the codes as the 7-bit operand;
 * baseline: codes widened to i16 against the duplicated i16 activations, then the pairs of lanes added.
 */
// @ts-ignore: decorator
@inline function dot32(w0: v128, w1: v128, w2: v128, w3: v128, w4: v128, w5: v128, w6: v128, w7: v128, qs: usize, dp: usize): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) {
    let s = i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load32_splat(qs, 0), w0, i32x4.splat(0));
    s = i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load32_splat(qs, 4), w1, s);
    s = i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load32_splat(qs, 8), w2, s);
    s = i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load32_splat(qs, 12), w3, s);
    s = i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load32_splat(qs, 16), w4, s);
    s = i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load32_splat(qs, 20), w5, s);
    s = i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load32_splat(qs, 24), w6, s);
    return i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load32_splat(qs, 28), w7, s);
  } else {
    let d = v128.load(dp, 0);
    let A = i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_u(w0), d), B = i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_u(w0), d);
    d = v128.load(dp, 16); A = i32x4.add(A, i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_u(w1), d)); B = i32x4.add(B, i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_u(w1), d));
    d = v128.load(dp, 32); A = i32x4.add(A, i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_u(w2), d)); B = i32x4.add(B, i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_u(w2), d));
    d = v128.load(dp, 48); A = i32x4.add(A, i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_u(w3), d)); B = i32x4.add(B, i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_u(w3), d));
    d = v128.load(dp, 64); A = i32x4.add(A, i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_u(w4), d)); B = i32x4.add(B, i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_u(w4), d));
    d = v128.load(dp, 80); A = i32x4.add(A, i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_u(w5), d)); B = i32x4.add(B, i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_u(w5), d));
    d = v128.load(dp, 96); A = i32x4.add(A, i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_u(w6), d)); B = i32x4.add(B, i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_u(w6), d));
    d = v128.load(dp, 112); A = i32x4.add(A, i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_u(w7), d)); B = i32x4.add(B, i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_u(w7), d));
    return i32x4.add(i32x4.shuffle(A, B, 0, 2, 4, 6), i32x4.shuffle(A, B, 1, 3, 5, 7));
  }
}

// @ts-ignore: decorator
@inline function dot16(w0: v128, w1: v128, w2: v128, w3: v128, qs: usize, dp: usize): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) {
    let s = i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load32_splat(qs, 0), w0, i32x4.splat(0));
    s = i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load32_splat(qs, 4), w1, s);
    s = i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load32_splat(qs, 8), w2, s);
    return i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load32_splat(qs, 12), w3, s);
  } else {
    let d = v128.load(dp, 0);
    let A = i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_u(w0), d), B = i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_u(w0), d);
    d = v128.load(dp, 16); A = i32x4.add(A, i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_u(w1), d)); B = i32x4.add(B, i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_u(w1), d));
    d = v128.load(dp, 32); A = i32x4.add(A, i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_u(w2), d)); B = i32x4.add(B, i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_u(w2), d));
    d = v128.load(dp, 48); A = i32x4.add(A, i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_u(w3), d)); B = i32x4.add(B, i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_u(w3), d));
    return i32x4.add(i32x4.shuffle(A, B, 0, 2, 4, 6), i32x4.shuffle(A, B, 1, 3, 5, 7));
  }
}

/** Byte i (0..3) of each i32 lane, zero-extended: lane r of a packed scale vector -> row r's value. */
// @ts-ignore: decorator
@inline function laneByteU(v: v128, i: i32): v128 {
  return i32x4.shr_u(i32x4.shl(v, 24 - 8 * i), 24);
}
// @ts-ignore: decorator
@inline function laneByteS(v: v128, i: i32): v128 {
  return i32x4.shr_s(i32x4.shl(v, 24 - 8 * i), 24);
}

/** Q4_K/Q5_K: M = sum_j m_j * bsum32_j for the four rows (mins as unpacked bytes: lo = j 0..3, hi = j 4..7). */
// @ts-ignore: decorator
@inline function minsK4(mnLo: v128, mnHi: v128, b32: usize): v128 {
  const B0 = v128.load(b32, 0), B1 = v128.load(b32, 16);
  const A = i32x4.add(i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_u(mnLo), B0), i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_u(mnHi), B1));
  const B = i32x4.add(i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_u(mnLo), B0), i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_u(mnHi), B1));
  return i32x4.add(i32x4.shuffle(A, B, 0, 2, 4, 6), i32x4.shuffle(A, B, 1, 3, 5, 7));
}

/** Q6_K: sum_s sc_s * bsum16_s for the four rows (c0..c3: the int8 scales, lane r = row r's scales 4v..4v+3). */
// @ts-ignore: decorator
@inline function offsetQ6(c0: v128, c1: v128, c2: v128, c3: v128, b16: usize): v128 {
  let A = i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(c0), v128.load(b16, 0));
  let B = i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(c0), v128.load(b16, 0));
  A = i32x4.add(A, i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(c1), v128.load(b16, 16)));
  B = i32x4.add(B, i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(c1), v128.load(b16, 16)));
  A = i32x4.add(A, i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(c2), v128.load(b16, 32)));
  B = i32x4.add(B, i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(c2), v128.load(b16, 32)));
  A = i32x4.add(A, i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(c3), v128.load(b16, 48)));
  B = i32x4.add(B, i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(c3), v128.load(b16, 48)));
  return i32x4.add(i32x4.shuffle(A, B, 0, 2, 4, 6), i32x4.shuffle(A, B, 1, 3, 5, 7));
}

/** The f32 step of accK on four lanes (same operations, same order). */
// @ts-ignore: decorator
@inline function accK4(acc: v128, S: v128, M: v128, d: v128, dmin: v128, act: usize, nb: i32, b: i32): v128 {
  const dx = v128.load32_splat(actKD(act, nb) + <usize>(b * 4));
  return f32x4.add(acc, f32x4.sub(f32x4.mul(f32x4.convert_i32x4_s(S), f32x4.mul(d, dx)), f32x4.mul(f32x4.convert_i32x4_s(M), f32x4.mul(dmin, dx))));
}

// @ts-ignore: decorator
@inline function storeGroupK(y: usize, g: i32, R: i32, acc: v128): void {
  if (4 * g + 4 <= R) v128.store(y + <usize>(g * 16), acc);
  else storeRowsK(y, g, R, f32x4.extract_lane(acc, 0), f32x4.extract_lane(acc, 1), f32x4.extract_lane(acc, 2), f32x4.extract_lane(acc, 3));
}

/** accK6 on four lanes. */
// @ts-ignore: decorator
@inline function accK64(acc: v128, S: v128, d: v128, act: usize, nb: i32, b: i32): v128 {
  const dx = v128.load32_splat(actKD(act, nb) + <usize>(b * 4));
  return f32x4.add(acc, f32x4.mul(f32x4.convert_i32x4_s(S), f32x4.mul(d, dx)));
}

// ---------------------------------------------------------------------------------------------------------------
// Q4_K / Q5_K SIMD

/** Code vector k of sub-block 2g + hi of a Q4_K/Q5_K group-super-block, unpacked from memory where it is used. */
// @ts-ignore: decorator
@inline function codesK4(gp: usize, k: i32, g: i32, hi: i32, fifth: bool, m0f: v128, m10: v128): v128 {
  const v = v128.load(gp + <usize>((fifth ? 192 : 64) + 128 * g + 16 * k));
  // 16-bit shifts, then a mask: bits that cross into the neighbouring byte are masked off, and x86 has no byte
  // shifts (V8 emulates them, and a variable byte shift costs several instructions more)
  let c = v128.and(hi != 0 ? i16x8.shr_u(v, 4) : v, m0f);
  if (fifth) c = v128.or(c, v128.and(i16x8.shl(i16x8.shr_u(v128.load(gp + <usize>(64 + 16 * k)), 2 * g + hi), 4), m10));
  return c;
}

/** Sub-block j = 2g + hi of one Q4_K/Q5_K group-super-block against one actK row's block b (codes unpacked as used). */
// @ts-ignore: decorator
@inline function subK4(gp: usize, act: usize, nb: i32, b: i32, g: i32, hi: i32, fifth: bool, m0f: v128, m10: v128): v128 {
  const qs = act + <usize>(b * 256 + 64 * g + 32 * hi);
  const dp = actKDup(act, nb) + <usize>(b * 1024 + 256 * g + 128 * hi);
  return dot32(codesK4(gp, 0, g, hi, fifth, m0f, m10), codesK4(gp, 1, g, hi, fifth, m0f, m10), codesK4(gp, 2, g, hi, fifth, m0f, m10), codesK4(gp, 3, g, hi, fifth, m0f, m10),
    codesK4(gp, 4, g, hi, fifth, m0f, m10), codesK4(gp, 5, g, hi, fifth, m0f, m10), codesK4(gp, 6, g, hi, fifth, m0f, m10), codesK4(gp, 7, g, hi, fifth, m0f, m10), qs, dp);
}

/** Unpacks the four rows' 6-bit scales (lo: sub-blocks 0..3, hi: 4..7) and mins of a group-super-block. */
// @ts-ignore: decorator
@inline function scalesK4(gp: usize, m63: v128): v128 {
  return v128.and(v128.load(gp, 16), m63);
}
// @ts-ignore: decorator
@inline function scalesHiK4(gp: usize, m0f: v128, m30: v128): v128 {
  const s0 = v128.load(gp, 16), s2 = v128.load(gp, 48);
  return v128.or(v128.and(s2, m0f), v128.and(i16x8.shr_u(s0, 2), m30)); // (16-bit shifts, masked: see codesK4)
}
// @ts-ignore: decorator
@inline function minsLoK4(gp: usize, m63: v128): v128 {
  return v128.and(v128.load(gp, 32), m63);
}
// @ts-ignore: decorator
@inline function minsHiK4(gp: usize, m0f: v128, m30: v128): v128 {
  const s1 = v128.load(gp, 32), s2 = v128.load(gp, 48);
  return v128.or(v128.and(i16x8.shr_u(s2, 4), m0f), v128.and(i16x8.shr_u(s1, 2), m30));
}

/** One Q4_K/Q5_K group-super-block against one actK row: the row accumulator after it. */
// @ts-ignore: decorator
@inline function blockK4(acc: v128, gp: usize, act: usize, nb: i32, b: i32, fifth: bool, m0f: v128, m10: v128, m30: v128, m63: v128, fm: v128, fs: v128): v128 {
  const scLo = scalesK4(gp, m63), scHi = scalesHiK4(gp, m0f, m30);
  const M = minsK4(minsLoK4(gp, m63), minsHiK4(gp, m0f, m30), actKB32(act, nb) + <usize>(b * 32));
  let S = i32x4.splat(0);
  // The same integer sums either way; which form V8 compiles better differs by build (measured, bench/kernels.ts):
  // relaxed (Node >= 22) likes the 8 sub-blocks unrolled, baseline (Node 20's V8 above all) a loop over the pairs.
  if (ASC_FEATURE_RELAXED_SIMD) {
    S = i32x4.mul(subK4(gp, act, nb, b, 0, 0, fifth, m0f, m10), laneByteU(scLo, 0));
    S = i32x4.add(S, i32x4.mul(subK4(gp, act, nb, b, 0, 1, fifth, m0f, m10), laneByteU(scLo, 1)));
    S = i32x4.add(S, i32x4.mul(subK4(gp, act, nb, b, 1, 0, fifth, m0f, m10), laneByteU(scLo, 2)));
    S = i32x4.add(S, i32x4.mul(subK4(gp, act, nb, b, 1, 1, fifth, m0f, m10), laneByteU(scLo, 3)));
    S = i32x4.add(S, i32x4.mul(subK4(gp, act, nb, b, 2, 0, fifth, m0f, m10), laneByteU(scHi, 0)));
    S = i32x4.add(S, i32x4.mul(subK4(gp, act, nb, b, 2, 1, fifth, m0f, m10), laneByteU(scHi, 1)));
    S = i32x4.add(S, i32x4.mul(subK4(gp, act, nb, b, 3, 0, fifth, m0f, m10), laneByteU(scHi, 2)));
    S = i32x4.add(S, i32x4.mul(subK4(gp, act, nb, b, 3, 1, fifth, m0f, m10), laneByteU(scHi, 3)));
  } else {
    for (let g = 0; g < 4; g++) {
      const sc = g < 2 ? scLo : scHi;
      S = i32x4.add(S, i32x4.mul(subK4(gp, act, nb, b, g, 0, fifth, m0f, m10), laneByteU(sc, (2 * g) & 3)));
      S = i32x4.add(S, i32x4.mul(subK4(gp, act, nb, b, g, 1, fifth, m0f, m10), laneByteU(sc, (2 * g + 1) & 3)));
    }
  }
  return accK4(acc, S, M, f16x4ToF32x4With(gp, fm, fs), f16x4ToF32x4With(gp + 8, fm, fs), act, nb, b);
}

// @ts-ignore: decorator
@inline function matvecK4(w: usize, act: usize, y: usize, R: i32, K: i32, g0: i32, g1: i32, fifth: bool): void {
  const nb = K / QK_K;
  const m0f = keepI8x16(0x0f), m10 = keepI8x16(0x10), m30 = keepI8x16(0x30), m63 = keepI8x16(63);
  const fm = keepI32x4(F16_SIGN_AND_MAG), fs = keepF32x4(reinterpret<f32>(0x77800000)); // (see keepI32x4)
  const gb = fifth ? Q5KX4_BYTES : Q4KX4_BYTES;
  for (let g = g0; g < g1; g++) {
    let acc = f32x4.splat(0);
    let gp = w + <usize>(g * nb * gb);
    for (let b = 0; b < nb; b++, gp += gb) acc = blockK4(acc, gp, act, nb, b, fifth, m0f, m10, m30, m63, fm, fs);
    storeGroupK(y, g, R, acc);
  }
}

/** Code vector k of sub-block j (0..7, any j: no constant folding needed) of a Q4_K/Q5_K group-super-block. */
// @ts-ignore: decorator
@inline function codesK4j(gp: usize, k: i32, j: i32, fifth: bool, m0f: v128, m10: v128): v128 {
  // (16-bit shifts and masks, as in codesK4)
  const v = v128.load(gp + <usize>((fifth ? 192 : 64) + 128 * (j >> 1) + 16 * k));
  let c = v128.and(i16x8.shr_u(v, 4 * (j & 1)), m0f);
  if (fifth) c = v128.or(c, v128.and(i16x8.shl(i16x8.shr_u(v128.load(gp + <usize>(64 + 16 * k)), j), 4), m10));
  return c;
}

/**
 * GEMM: tokens in tiles of 4 share each group-super-block: its scales are unpacked once, and each sub-block's
 * codes once, for the four tokens; each token's accumulator sees the same operations as matvecK4's (integer sums,
 * then accK4), so GEMM == matvec per token, bit for bit.
 */
// @ts-ignore: decorator
@inline function gemmK4(w: usize, act: usize, y: usize, R: i32, K: i32, T: i32, g0: i32, g1: i32, fifth: bool): void {
  const nb = K / QK_K;
  const m0f = keepI8x16(0x0f), m10 = keepI8x16(0x10), m30 = keepI8x16(0x30), m63 = keepI8x16(63);
  const fm = keepI32x4(F16_SIGN_AND_MAG), fs = keepF32x4(reinterpret<f32>(0x77800000)); // (see keepI32x4)
  const gb = fifth ? Q5KX4_BYTES : Q4KX4_BYTES;
  const rowBytes = <usize>(nb * ACTK_BLOCK_BYTES);
  for (let g = g0; g < g1; g++) {
    const gw = w + <usize>(g * nb * gb);
    let t = 0;
    for (; t + 4 <= T; t += 4) {
      const x0 = act + <usize>t * rowBytes, x1 = x0 + rowBytes, x2 = x1 + rowBytes, x3 = x2 + rowBytes;
      let c0 = f32x4.splat(0), c1 = f32x4.splat(0), c2 = f32x4.splat(0), c3 = f32x4.splat(0);
      let gp = gw;
      for (let b = 0; b < nb; b++, gp += gb) {
        const scLo = scalesK4(gp, m63), scHi = scalesHiK4(gp, m0f, m30);
        let S0 = i32x4.splat(0), S1 = i32x4.splat(0), S2 = i32x4.splat(0), S3 = i32x4.splat(0);
        for (let j = 0; j < 8; j++) {
          const w0 = codesK4j(gp, 0, j, fifth, m0f, m10), w1 = codesK4j(gp, 1, j, fifth, m0f, m10), w2 = codesK4j(gp, 2, j, fifth, m0f, m10), w3 = codesK4j(gp, 3, j, fifth, m0f, m10);
          const w4 = codesK4j(gp, 4, j, fifth, m0f, m10), w5 = codesK4j(gp, 5, j, fifth, m0f, m10), w6 = codesK4j(gp, 6, j, fifth, m0f, m10), w7 = codesK4j(gp, 7, j, fifth, m0f, m10);
          const sc = laneByteU(j < 4 ? scLo : scHi, j & 3);
          const qo = <usize>(b * 256 + 32 * j), dpo = <usize>(b * 1024 + 128 * j);
          S0 = i32x4.add(S0, i32x4.mul(dot32(w0, w1, w2, w3, w4, w5, w6, w7, x0 + qo, actKDup(x0, nb) + dpo), sc));
          S1 = i32x4.add(S1, i32x4.mul(dot32(w0, w1, w2, w3, w4, w5, w6, w7, x1 + qo, actKDup(x1, nb) + dpo), sc));
          S2 = i32x4.add(S2, i32x4.mul(dot32(w0, w1, w2, w3, w4, w5, w6, w7, x2 + qo, actKDup(x2, nb) + dpo), sc));
          S3 = i32x4.add(S3, i32x4.mul(dot32(w0, w1, w2, w3, w4, w5, w6, w7, x3 + qo, actKDup(x3, nb) + dpo), sc));
        }
        const d = f16x4ToF32x4With(gp, fm, fs), dmin = f16x4ToF32x4With(gp + 8, fm, fs), mnLo = minsLoK4(gp, m63), mnHi = minsHiK4(gp, m0f, m30);
        c0 = accK4(c0, S0, minsK4(mnLo, mnHi, actKB32(x0, nb) + <usize>(b * 32)), d, dmin, x0, nb, b);
        c1 = accK4(c1, S1, minsK4(mnLo, mnHi, actKB32(x1, nb) + <usize>(b * 32)), d, dmin, x1, nb, b);
        c2 = accK4(c2, S2, minsK4(mnLo, mnHi, actKB32(x2, nb) + <usize>(b * 32)), d, dmin, x2, nb, b);
        c3 = accK4(c3, S3, minsK4(mnLo, mnHi, actKB32(x3, nb) + <usize>(b * 32)), d, dmin, x3, nb, b);
      }
      storeGroupK(y + <usize>(t * R * 4), g, R, c0);
      storeGroupK(y + <usize>((t + 1) * R * 4), g, R, c1);
      storeGroupK(y + <usize>((t + 2) * R * 4), g, R, c2);
      storeGroupK(y + <usize>((t + 3) * R * 4), g, R, c3);
    }
    for (; t < T; t++) {
      const x0 = act + <usize>t * rowBytes;
      let acc = f32x4.splat(0);
      let gp = gw;
      for (let b = 0; b < nb; b++, gp += gb) acc = blockK4(acc, gp, x0, nb, b, fifth, m0f, m10, m30, m63, fm, fs);
      storeGroupK(y + <usize>(t * R * 4), g, R, acc);
    }
  }
}

/** y (rows of groups [g0, g1)) = W x for one actK row; W Q4_K x4. */
export function matvecQ4_K(w: usize, act: usize, y: usize, R: i32, K: i32, g0: i32, g1: i32): void {
  matvecK4(w, act, y, R, K, g0, g1, false);
}

/** y (T, R) = x (T actK rows) . W^T for the rows of groups [g0, g1); W Q4_K x4. */
export function gemmQ4_K(w: usize, act: usize, y: usize, R: i32, K: i32, T: i32, g0: i32, g1: i32): void {
  gemmK4(w, act, y, R, K, T, g0, g1, false);
}

/** y (rows of groups [g0, g1)) = W x for one actK row; W Q5_K x4. */
export function matvecQ5_K(w: usize, act: usize, y: usize, R: i32, K: i32, g0: i32, g1: i32): void {
  matvecK4(w, act, y, R, K, g0, g1, true);
}

/** y (T, R) = x . W^T for the rows of groups [g0, g1); W Q5_K x4. */
export function gemmQ5_K(w: usize, act: usize, y: usize, R: i32, K: i32, T: i32, g0: i32, g1: i32): void {
  gemmK4(w, act, y, R, K, T, g0, g1, true);
}

// ---------------------------------------------------------------------------------------------------------------
// Q6_K SIMD

/**
 * Quarter c (0..3) of half hh of one Q6_K group-super-block: sub-blocks s = 8hh + 2c and 8hh + 2c + 1 (16 codes
 * each) against one actK row's block b, added into S with their int8 scales, which sit in cs = c_{s >> 2} at byte
 * s & 3 of each lane. hh, c constant after inlining.
 */
// @ts-ignore: decorator
@inline function quarterQ6(S: v128, gp: usize, cs: v128, act: usize, nb: i32, b: i32, hh: i32, c: i32, m4: v128, m30: v128): v128 {
  const wl = gp + <usize>((16 * hh + 8 * (c & 1)) * 16), wh = gp + <usize>(512 + 8 * hh * 16);
  const qs = act + <usize>(b * 256 + 128 * hh + 32 * c);
  const dp = actKDup(act, nb) + <usize>(b * 1024 + (128 * hh + 32 * c) * 4);
  const lowNib = (c >> 1) == 0;
  for (let t = 0; t < 2; t++) {
    const pa = wl + <usize>(64 * t), ph = wh + <usize>(64 * t); // vectors k = 4t .. 4t+3
    const a0 = v128.load(pa, 0), a1 = v128.load(pa, 16), a2 = v128.load(pa, 32), a3 = v128.load(pa, 48);
    const q0 = v128.load(ph, 0), q1 = v128.load(ph, 16), q2 = v128.load(ph, 32), q3 = v128.load(ph, 48);
    // the two high bits of quarter c sit at bits 2c, 2c+1 of qh: moved to bits 4, 5
    // (16-bit shifts, masked: see codesK4)
    let w0: v128, w1: v128, w2: v128, w3: v128;
    if (lowNib) {
      w0 = v128.and(a0, m4); w1 = v128.and(a1, m4); w2 = v128.and(a2, m4); w3 = v128.and(a3, m4);
    } else {
      w0 = v128.and(i16x8.shr_u(a0, 4), m4); w1 = v128.and(i16x8.shr_u(a1, 4), m4); w2 = v128.and(i16x8.shr_u(a2, 4), m4); w3 = v128.and(i16x8.shr_u(a3, 4), m4);
    }
    if (c == 0) {
      w0 = v128.or(w0, v128.and(i16x8.shl(q0, 4), m30)); w1 = v128.or(w1, v128.and(i16x8.shl(q1, 4), m30));
      w2 = v128.or(w2, v128.and(i16x8.shl(q2, 4), m30)); w3 = v128.or(w3, v128.and(i16x8.shl(q3, 4), m30));
    } else if (c == 1) {
      w0 = v128.or(w0, v128.and(i16x8.shl(q0, 2), m30)); w1 = v128.or(w1, v128.and(i16x8.shl(q1, 2), m30));
      w2 = v128.or(w2, v128.and(i16x8.shl(q2, 2), m30)); w3 = v128.or(w3, v128.and(i16x8.shl(q3, 2), m30));
    } else if (c == 2) {
      w0 = v128.or(w0, v128.and(q0, m30)); w1 = v128.or(w1, v128.and(q1, m30));
      w2 = v128.or(w2, v128.and(q2, m30)); w3 = v128.or(w3, v128.and(q3, m30));
    } else {
      w0 = v128.or(w0, v128.and(i16x8.shr_u(q0, 2), m30)); w1 = v128.or(w1, v128.and(i16x8.shr_u(q1, 2), m30));
      w2 = v128.or(w2, v128.and(i16x8.shr_u(q2, 2), m30)); w3 = v128.or(w3, v128.and(i16x8.shr_u(q3, 2), m30));
    }
    S = i32x4.add(S, i32x4.mul(dot16(w0, w1, w2, w3, qs + <usize>(16 * t), dp + <usize>(64 * t)), laneByteS(cs, (2 * c + t) & 3)));
  }
  return S;
}

/** One Q6_K group-super-block against one actK row: S over the 16 sub-blocks minus 32 * sum sc * bsum16. */
// @ts-ignore: decorator
@inline function sumQ6(gp: usize, act: usize, nb: i32, b: i32, m0f: v128, m30: v128): v128 {
  const c0 = v128.load(gp, 768), c1 = v128.load(gp, 784), c2 = v128.load(gp, 800), c3 = v128.load(gp, 816);
  let S = i32x4.splat(0);
  S = quarterQ6(S, gp, c0, act, nb, b, 0, 0, m0f, m30);
  S = quarterQ6(S, gp, c0, act, nb, b, 0, 1, m0f, m30);
  S = quarterQ6(S, gp, c1, act, nb, b, 0, 2, m0f, m30);
  S = quarterQ6(S, gp, c1, act, nb, b, 0, 3, m0f, m30);
  S = quarterQ6(S, gp, c2, act, nb, b, 1, 0, m0f, m30);
  S = quarterQ6(S, gp, c2, act, nb, b, 1, 1, m0f, m30);
  S = quarterQ6(S, gp, c3, act, nb, b, 1, 2, m0f, m30);
  S = quarterQ6(S, gp, c3, act, nb, b, 1, 3, m0f, m30);
  return i32x4.sub(S, i32x4.shl(offsetQ6(c0, c1, c2, c3, actKB16(act, nb) + <usize>(b * 64)), 5));
}

/** y (rows of groups [g0, g1)) = W x for one actK row; W Q6_K x4. */
export function matvecQ6_K(w: usize, act: usize, y: usize, R: i32, K: i32, g0: i32, g1: i32): void {
  const nb = K / QK_K;
  const m0f = keepI8x16(0x0f), m10 = keepI8x16(0x10), m30 = keepI8x16(0x30), m63 = keepI8x16(63);
  const fm = keepI32x4(F16_SIGN_AND_MAG), fs = keepF32x4(reinterpret<f32>(0x77800000)); // (see keepI32x4)
  for (let g = g0; g < g1; g++) {
    let acc = f32x4.splat(0);
    let gp = w + <usize>(g * nb * Q6KX4_BYTES);
    for (let b = 0; b < nb; b++, gp += Q6KX4_BYTES) acc = accK64(acc, sumQ6(gp, act, nb, b, m0f, m30), f16x4ToF32x4With(gp + 832, fm, fs), act, nb, b);
    storeGroupK(y, g, R, acc);
  }
}

/** Code vector k (0..3) of the 16-element sub-block s (0..15) of a Q6_K group-super-block (s need not be constant). */
// @ts-ignore: decorator
@inline function codesQ6(gp: usize, k: i32, s: i32, m0f: v128, m30: v128): v128 {
  const h = s >> 3, c = (s >> 1) & 3, t = s & 1; // half, quarter, which 16 of the quarter
  const a = v128.load(gp + <usize>((16 * h + 8 * (c & 1) + 4 * t + k) * 16));
  const q = v128.load(gp + <usize>(512 + (8 * h + 4 * t + k) * 16));
  const lo = v128.and(i16x8.shr_u(a, 4 * (c >> 1)), m0f); // 16-bit shifts, as in codesK4
  return v128.or(lo, v128.and(i16x8.shl(i16x8.shr_u(q, 2 * c), 4), m30));
}

/** y (T, R) = x . W^T for the rows of groups [g0, g1); W Q6_K x4. Tokens in tiles of 4 share each sub-block's codes. */
export function gemmQ6_K(w: usize, act: usize, y: usize, R: i32, K: i32, T: i32, g0: i32, g1: i32): void {
  const nb = K / QK_K;
  const m0f = keepI8x16(0x0f), m10 = keepI8x16(0x10), m30 = keepI8x16(0x30), m63 = keepI8x16(63);
  const fm = keepI32x4(F16_SIGN_AND_MAG), fs = keepF32x4(reinterpret<f32>(0x77800000)); // (see keepI32x4)
  const rowBytes = <usize>(nb * ACTK_BLOCK_BYTES);
  for (let g = g0; g < g1; g++) {
    const gw = w + <usize>(g * nb * Q6KX4_BYTES);
    let t = 0;
    for (; t + 4 <= T; t += 4) {
      const x0 = act + <usize>t * rowBytes, x1 = x0 + rowBytes, x2 = x1 + rowBytes, x3 = x2 + rowBytes;
      let c0 = f32x4.splat(0), c1 = f32x4.splat(0), c2 = f32x4.splat(0), c3 = f32x4.splat(0);
      let gp = gw;
      for (let b = 0; b < nb; b++, gp += Q6KX4_BYTES) {
        let S0 = i32x4.splat(0), S1 = i32x4.splat(0), S2 = i32x4.splat(0), S3 = i32x4.splat(0);
        for (let s = 0; s < 16; s++) {
          const w0 = codesQ6(gp, 0, s, m0f, m30), w1 = codesQ6(gp, 1, s, m0f, m30), w2 = codesQ6(gp, 2, s, m0f, m30), w3 = codesQ6(gp, 3, s, m0f, m30);
          const sc = laneByteS(v128.load(gp + <usize>(768 + (s >> 2) * 16)), s & 3);
          const qo = <usize>(b * 256 + 16 * s), dpo = <usize>(b * 1024 + 64 * s);
          S0 = i32x4.add(S0, i32x4.mul(dot16(w0, w1, w2, w3, x0 + qo, actKDup(x0, nb) + dpo), sc));
          S1 = i32x4.add(S1, i32x4.mul(dot16(w0, w1, w2, w3, x1 + qo, actKDup(x1, nb) + dpo), sc));
          S2 = i32x4.add(S2, i32x4.mul(dot16(w0, w1, w2, w3, x2 + qo, actKDup(x2, nb) + dpo), sc));
          S3 = i32x4.add(S3, i32x4.mul(dot16(w0, w1, w2, w3, x3 + qo, actKDup(x3, nb) + dpo), sc));
        }
        const cs0 = v128.load(gp, 768), cs1 = v128.load(gp, 784), cs2 = v128.load(gp, 800), cs3 = v128.load(gp, 816);
        const d = f16x4ToF32x4With(gp + 832, fm, fs);
        c0 = accK64(c0, i32x4.sub(S0, i32x4.shl(offsetQ6(cs0, cs1, cs2, cs3, actKB16(x0, nb) + <usize>(b * 64)), 5)), d, x0, nb, b);
        c1 = accK64(c1, i32x4.sub(S1, i32x4.shl(offsetQ6(cs0, cs1, cs2, cs3, actKB16(x1, nb) + <usize>(b * 64)), 5)), d, x1, nb, b);
        c2 = accK64(c2, i32x4.sub(S2, i32x4.shl(offsetQ6(cs0, cs1, cs2, cs3, actKB16(x2, nb) + <usize>(b * 64)), 5)), d, x2, nb, b);
        c3 = accK64(c3, i32x4.sub(S3, i32x4.shl(offsetQ6(cs0, cs1, cs2, cs3, actKB16(x3, nb) + <usize>(b * 64)), 5)), d, x3, nb, b);
      }
      storeGroupK(y + <usize>(t * R * 4), g, R, c0);
      storeGroupK(y + <usize>((t + 1) * R * 4), g, R, c1);
      storeGroupK(y + <usize>((t + 2) * R * 4), g, R, c2);
      storeGroupK(y + <usize>((t + 3) * R * 4), g, R, c3);
    }
    for (; t < T; t++) {
      const x0 = act + <usize>t * rowBytes;
      let acc = f32x4.splat(0);
      let gp = gw;
      for (let b = 0; b < nb; b++, gp += Q6KX4_BYTES) acc = accK64(acc, sumQ6(gp, x0, nb, b, m0f, m30), f16x4ToF32x4With(gp + 832, fm, fs), x0, nb, b);
      storeGroupK(y + <usize>(t * R * 4), g, R, acc);
    }
  }
}
