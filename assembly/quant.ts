// Q8_0 activations and the load-time weight conversions (repack into the 4-row interleaved layout, quantize
// f32 rows to Q8_0 / Q4_0). Each SIMD kernel has its scalar twin right above it; the twins are the tests' oracle.
//
// Mirrors ggml: quantize_row_q8_0_ref (amax/127, id = 1/d, roundf, d stored as f16) and quantize_row_q4_0_ref.
// The activation row keeps extra per-block data for the matmul kernels (see the layout below); the weights keep
// exactly GGML's bytes per weight, only reordered.

import { f16ToF32, f32ToF16, roundf, roundf4 } from './common';

/** Elements per Q4_0 / Q8_0 block. */
export const QK: i32 = 32;

// ---------------------------------------------------------------------------------------------------------------
// Activation row layout ("act"), for a row of K = 32*nb floats quantized to Q8_0:
//
//   [qs:  nb x 32 int8        ] the Q8_0 codes, element order (relaxed kernels load 4 at a time)
//   [dup: nb x 8 x i16x8      ] codes widened to i16, each group of 4 elements twice: [a0 a1 a2 a3 a0 a1 a2 a3]
//                                (the baseline kernels pair them with two interleaved weight rows)
//   [d:   nb x f32            ] the block scale, already rounded through f16 as ggml stores it
//   [c:   nb x i32            ] -8 x the sum of the block's codes: Q4_0 uses unsigned nibbles, sum (q-8)x =
//                                sum qx - 8 sum x, and this is the kernels' starting value for sum qx
//
// 168 bytes per block; rows of a (T, K) activation follow each other.
export const ACT_BLOCK_BYTES: i32 = 168;

// @ts-ignore: decorator
@inline export function actDup(row: usize, nb: i32): usize { return row + <usize>(nb * 32); }
// @ts-ignore: decorator
@inline export function actD(row: usize, nb: i32): usize { return row + <usize>(nb * 160); }
// @ts-ignore: decorator
@inline export function actC(row: usize, nb: i32): usize { return row + <usize>(nb * 164); }

/** Scalar twin: one row x (K floats) -> act row. */
export function quantizeActScalar(x: usize, row: usize, K: i32): void {
  const nb = K / QK;
  for (let b = 0; b < nb; b++) {
    const xb = x + <usize>(b * QK * 4);
    let amax: f32 = 0;
    for (let j = 0; j < QK; j++) amax = max<f32>(amax, abs<f32>(load<f32>(xb + <usize>(j * 4))));
    const d: f32 = amax / 127.0;
    const id: f32 = d != 0 ? <f32>1.0 / d : 0;
    store<f32>(actD(row, nb) + <usize>(b * 4), f16ToF32(f32ToF16(d)));
    let s = 0;
    const qs = row + <usize>(b * 32);
    const dup = actDup(row, nb) + <usize>(b * 128);
    for (let j = 0; j < QK; j++) {
      const q = <i32>roundf(load<f32>(xb + <usize>(j * 4)) * id);
      store<i8>(qs + <usize>j, <i8>q);
      const m = <usize>(j >> 2);
      const i = <usize>(j & 3);
      store<i16>(dup + m * 16 + i * 2, <i16>q);
      store<i16>(dup + m * 16 + 8 + i * 2, <i16>q);
      s += q;
    }
    store<i32>(actC(row, nb) + <usize>(b * 4), -8 * s);
  }
}

/** SIMD: the same codes, scales and sums as quantizeActScalar (bit for bit). */
export function quantizeAct(x: usize, row: usize, K: i32): void {
  quantizeActBlocks(x, row, K, 0, K / QK);
}

/** quantizeAct for blocks [b0, b1) of the row only (threads split a long row, e.g. the FFN's, by blocks). */
export function quantizeActBlocks(x: usize, row: usize, K: i32, b0: i32, b1: i32): void {
  const nb = K / QK;
  for (let b = b0; b < b1; b++) {
    const xb = x + <usize>(b * QK * 4);
    const v0 = v128.load(xb, 0), v1 = v128.load(xb, 16), v2 = v128.load(xb, 32), v3 = v128.load(xb, 48);
    const v4 = v128.load(xb, 64), v5 = v128.load(xb, 80), v6 = v128.load(xb, 96), v7 = v128.load(xb, 112);
    let m = f32x4.max(f32x4.max(f32x4.abs(v0), f32x4.abs(v1)), f32x4.max(f32x4.abs(v2), f32x4.abs(v3)));
    m = f32x4.max(m, f32x4.max(f32x4.max(f32x4.abs(v4), f32x4.abs(v5)), f32x4.max(f32x4.abs(v6), f32x4.abs(v7))));
    const amax = max<f32>(max<f32>(f32x4.extract_lane(m, 0), f32x4.extract_lane(m, 1)), max<f32>(f32x4.extract_lane(m, 2), f32x4.extract_lane(m, 3)));
    const d: f32 = amax / 127.0;
    const id: f32 = d != 0 ? <f32>1.0 / d : 0;
    store<f32>(actD(row, nb) + <usize>(b * 4), f16ToF32(f32ToF16(d)));
    const vid = f32x4.splat(id);
    const q0 = i32x4.trunc_sat_f32x4_s(roundf4(f32x4.mul(v0, vid)));
    const q1 = i32x4.trunc_sat_f32x4_s(roundf4(f32x4.mul(v1, vid)));
    const q2 = i32x4.trunc_sat_f32x4_s(roundf4(f32x4.mul(v2, vid)));
    const q3 = i32x4.trunc_sat_f32x4_s(roundf4(f32x4.mul(v3, vid)));
    const q4 = i32x4.trunc_sat_f32x4_s(roundf4(f32x4.mul(v4, vid)));
    const q5 = i32x4.trunc_sat_f32x4_s(roundf4(f32x4.mul(v5, vid)));
    const q6 = i32x4.trunc_sat_f32x4_s(roundf4(f32x4.mul(v6, vid)));
    const q7 = i32x4.trunc_sat_f32x4_s(roundf4(f32x4.mul(v7, vid)));
    const qs = row + <usize>(b * 32);
    v128.store(qs, i8x16.narrow_i16x8_s(i16x8.narrow_i32x4_s(q0, q1), i16x8.narrow_i32x4_s(q2, q3)), 0);
    v128.store(qs, i8x16.narrow_i16x8_s(i16x8.narrow_i32x4_s(q4, q5), i16x8.narrow_i32x4_s(q6, q7)), 16);
    const dup = actDup(row, nb) + <usize>(b * 128);
    v128.store(dup, i16x8.narrow_i32x4_s(q0, q0), 0);
    v128.store(dup, i16x8.narrow_i32x4_s(q1, q1), 16);
    v128.store(dup, i16x8.narrow_i32x4_s(q2, q2), 32);
    v128.store(dup, i16x8.narrow_i32x4_s(q3, q3), 48);
    v128.store(dup, i16x8.narrow_i32x4_s(q4, q4), 64);
    v128.store(dup, i16x8.narrow_i32x4_s(q5, q5), 80);
    v128.store(dup, i16x8.narrow_i32x4_s(q6, q6), 96);
    v128.store(dup, i16x8.narrow_i32x4_s(q7, q7), 112);
    const t = i32x4.add(i32x4.add(i32x4.add(q0, q1), i32x4.add(q2, q3)), i32x4.add(i32x4.add(q4, q5), i32x4.add(q6, q7)));
    const s = i32x4.extract_lane(t, 0) + i32x4.extract_lane(t, 1) + i32x4.extract_lane(t, 2) + i32x4.extract_lane(t, 3);
    store<i32>(actC(row, nb) + <usize>(b * 4), -8 * s);
  }
}

/** T rows of x (T, K) -> T act rows. */
export function quantizeActRows(x: usize, act: usize, K: i32, T: i32): void {
  const rowBytes = <usize>((K / QK) * ACT_BLOCK_BYTES);
  for (let t = 0; t < T; t++) quantizeAct(x + <usize>(t * K * 4), act + <usize>t * rowBytes, K);
}

// ---------------------------------------------------------------------------------------------------------------
// Weight layouts: rows are taken 4 at a time ("group"; the row count is padded to a multiple of 4 with zero rows)
// and each group stores its blocks in order. With lanes = rows, one i32x4 holds the four rows' block sums, so the
// kernels need no horizontal additions.
//
//   Q4_0 x4, 72 bytes per group-block (= 4 x 18, GGML's size):
//     [d0 d1 d2 d3: f16 x 4][v0][v1][v2][v3]     v_k (16 bytes) = bytes 4k..4k+3 of qs of rows 0, 1, 2, 3
//     (byte j of a row: low nibble = element j, high nibble = element j+16, as in GGML)
//   Q8_0 x4, 136 bytes per group-block (= 4 x 34):
//     [d0 d1 d2 d3: f16 x 4][v0]..[v7]           v_k = bytes (elements) 4k..4k+3 of rows 0, 1, 2, 3
export const Q4X4_BYTES: i32 = 72;
export const Q8X4_BYTES: i32 = 136;

/** Rows [r0, r0+n) of a GGML Q4_0 matrix (src: n rows of K/32 18-byte blocks) -> the x4 layout at dst. r0 % 4 == 0. */
export function repackQ4_0(dst: usize, src: usize, r0: i32, n: i32, K: i32, R: i32): void {
  const nb = K / QK;
  const rowBytes = nb * 18;
  for (let r = 0; r < n; r++) {
    const row = r0 + r;
    const g = row >> 2, lane = row & 3;
    for (let b = 0; b < nb; b++) {
      const sp = src + <usize>(r * rowBytes + b * 18);
      const gp = dst + <usize>((g * nb + b) * Q4X4_BYTES);
      store<u16>(gp + <usize>(lane * 2), load<u16>(sp));
      for (let k = 0; k < 4; k++) store<u32>(gp + <usize>(8 + k * 16 + lane * 4), load<u32>(sp + <usize>(2 + k * 4)));
    }
  }
  padGroup(dst, r0 + n, R, nb, Q4X4_BYTES, 4, 0x88);
}

/** Rows [r0, r0+n) of a GGML Q8_0 matrix -> the x4 layout. */
export function repackQ8_0(dst: usize, src: usize, r0: i32, n: i32, K: i32, R: i32): void {
  const nb = K / QK;
  const rowBytes = nb * 34;
  for (let r = 0; r < n; r++) {
    const row = r0 + r;
    const g = row >> 2, lane = row & 3;
    for (let b = 0; b < nb; b++) {
      const sp = src + <usize>(r * rowBytes + b * 34);
      const gp = dst + <usize>((g * nb + b) * Q8X4_BYTES);
      store<u16>(gp + <usize>(lane * 2), load<u16>(sp));
      for (let k = 0; k < 8; k++) store<u32>(gp + <usize>(8 + k * 16 + lane * 4), load<u32>(sp + <usize>(2 + k * 4)));
    }
  }
  padGroup(dst, r0 + n, R, nb, Q8X4_BYTES, 8, 0);
}

/** When `end` is the last row (R) and not a multiple of 4, zero-scale filler rows complete the last group. */
function padGroup(dst: usize, end: i32, R: i32, nb: i32, groupBytes: i32, nv: i32, fill: u32): void {
  if (end != R) return;
  for (let row = R; (row & 3) != 0; row++) {
    const g = row >> 2, lane = row & 3;
    for (let b = 0; b < nb; b++) {
      const gp = dst + <usize>((g * nb + b) * groupBytes);
      store<u16>(gp + <usize>(lane * 2), 0);
      for (let k = 0; k < nv; k++) store<u32>(gp + <usize>(8 + k * 16 + lane * 4), fill * 0x01010101);
    }
  }
}

/** Rows [r0, r0+n) of f32 (n, K) -> GGML Q8_0 rows (quantize_row_q8_0_ref), written to tmp, then repacked. */
export function quantizeRowsQ8_0(dst: usize, x: usize, tmp: usize, r0: i32, n: i32, K: i32, R: i32): void {
  const nb = K / QK;
  for (let r = 0; r < n; r++) {
    for (let b = 0; b < nb; b++) {
      const xb = x + <usize>((r * K + b * QK) * 4);
      const yb = tmp + <usize>((r * nb + b) * 34);
      let amax: f32 = 0;
      for (let j = 0; j < QK; j++) amax = max<f32>(amax, abs<f32>(load<f32>(xb + <usize>(j * 4))));
      const d: f32 = amax / 127.0;
      const id: f32 = d != 0 ? <f32>1.0 / d : 0;
      store<u16>(yb, <u16>f32ToF16(d));
      for (let j = 0; j < QK; j++) store<i8>(yb + <usize>(2 + j), <i8><i32>roundf(load<f32>(xb + <usize>(j * 4)) * id));
    }
  }
  repackQ8_0(dst, tmp, r0, n, K, R);
}

/** Rows [r0, r0+n) of f32 (n, K) -> GGML Q4_0 rows (quantize_row_q4_0_ref), written to tmp, then repacked. */
export function quantizeRowsQ4_0(dst: usize, x: usize, tmp: usize, r0: i32, n: i32, K: i32, R: i32): void {
  const nb = K / QK;
  for (let r = 0; r < n; r++) {
    for (let b = 0; b < nb; b++) {
      const xb = x + <usize>((r * K + b * QK) * 4);
      const yb = tmp + <usize>((r * nb + b) * 18);
      let amax: f32 = 0, mx: f32 = 0;
      for (let j = 0; j < QK; j++) {
        const v = load<f32>(xb + <usize>(j * 4));
        if (amax < abs<f32>(v)) { amax = abs<f32>(v); mx = v; }
      }
      const d: f32 = mx / -8.0;
      const id: f32 = d != 0 ? <f32>1.0 / d : 0;
      store<u16>(yb, <u16>f32ToF16(d));
      for (let j = 0; j < 16; j++) {
        const x0: f32 = load<f32>(xb + <usize>(j * 4)) * id;
        const x1: f32 = load<f32>(xb + <usize>((j + 16) * 4)) * id;
        const q0 = min<i32>(15, <i32>(x0 + <f32>8.5));
        const q1 = min<i32>(15, <i32>(x1 + <f32>8.5));
        store<u8>(yb + <usize>(2 + j), <u8>(q0 | (q1 << 4)));
      }
    }
  }
  repackQ4_0(dst, tmp, r0, n, K, R);
}

/** Row r of an x4 matrix (Q4_0 or Q8_0), dequantized to f32 (the embedding lookup). */
export function dequantRowX4(w: usize, type: i32, r: i32, K: i32, y: usize): void {
  const nb = K / QK;
  const g = r >> 2, lane = r & 3;
  for (let b = 0; b < nb; b++) {
    const yb = y + <usize>(b * QK * 4);
    if (type == 2) {
      const gp = w + <usize>((g * nb + b) * Q4X4_BYTES);
      const d = f16ToF32(load<u16>(gp + <usize>(lane * 2)));
      for (let k = 0; k < 4; k++) {
        for (let i = 0; i < 4; i++) {
          const q = <i32>load<u8>(gp + <usize>(8 + k * 16 + lane * 4 + i));
          store<f32>(yb + <usize>((4 * k + i) * 4), <f32>((q & 15) - 8) * d);
          store<f32>(yb + <usize>((16 + 4 * k + i) * 4), <f32>((q >> 4) - 8) * d);
        }
      }
    } else {
      const gp = w + <usize>((g * nb + b) * Q8X4_BYTES);
      const d = f16ToF32(load<u16>(gp + <usize>(lane * 2)));
      for (let k = 0; k < 8; k++) {
        for (let i = 0; i < 4; i++) store<f32>(yb + <usize>((4 * k + i) * 4), <f32>load<i8>(gp + <usize>(8 + k * 16 + lane * 4 + i)) * d);
      }
    }
  }
}
