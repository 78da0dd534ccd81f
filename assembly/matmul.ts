// Matrix-vector and matrix-matrix products: y (T, R) = x (T, K) . W^T, W (R, K) in one of three forms:
//   Q4_0 x4 and Q8_0 x4 (quant.ts layouts) against Q8_0 activations (ggml's vec_dot_q4_0_q8_0 / q8_0_q8_0:
//   integer block sums, then acc += sumi * (d_w * d_x)), and plain f32 row-major.
//
// Each quantized kernel has a scalar twin that does the same float operations lane by lane in the same order, so
// SIMD and scalar agree bit for bit. The SIMD block sum comes in two flavours chosen at compile time:
//   relaxed (ASC_FEATURE_RELAXED_SIMD): i32x4.relaxed_dot_i8x16_i7x16_add_s with the unsigned nibbles (0..15) as
//     the 7-bit operand: lane r = sum of 4 activation x nibble products of row r;
//   baseline SIMD128: nibbles widened to i16 and i32x4.dot_i16x8_s against the duplicated i16 activations.
// Q8_0 weights are signed 8-bit and do not fit the relaxed dot's 7-bit operand, so they use the baseline path in
// both builds. GEMM (T > 1, prefill) unpacks a group-block of weights once and reuses it for 4 tokens.
//
// Threads split the output rows: every kernel computes only row groups [g0, g1) (groups of 4 rows for the x4
// layouts, single rows for f32), each output element whole (threads.ts).

import { f16x4ToF32x4With, f16ToF32, keepF32x4, keepI32x4, keepI8x16, F16_SIGN_AND_MAG } from './common';
import { ACT_BLOCK_BYTES, actC, actD, actDup, QK, Q4X4_BYTES, Q8X4_BYTES } from './quant';

// ---------------------------------------------------------------------------------------------------------------
// Scalar twins (one token)

/** Scalar twin of matvecQ4_0. y (R) from W (x4 Q4_0) and one act row. */
export function matvecQ4_0Scalar(w: usize, act: usize, y: usize, R: i32, K: i32, g0: i32, g1: i32): void {
  const nb = K / QK;
  for (let g = g0; g < g1; g++) {
    let a0: f32 = 0, a1: f32 = 0, a2: f32 = 0, a3: f32 = 0;
    for (let b = 0; b < nb; b++) {
      const gp = w + <usize>((g * nb + b) * Q4X4_BYTES);
      const qs = act + <usize>(b * 32);
      const dx = load<f32>(actD(act, nb) + <usize>(b * 4));
      const c = load<i32>(actC(act, nb) + <usize>(b * 4)); // -8 x the block's code sum
      for (let r = 0; r < 4; r++) {
        let sumi = 0;
        for (let k = 0; k < 4; k++) {
          for (let i = 0; i < 4; i++) {
            const q = <i32>load<u8>(gp + <usize>(8 + k * 16 + r * 4 + i));
            sumi += (q & 15) * <i32>load<i8>(qs + <usize>(4 * k + i)) + (q >> 4) * <i32>load<i8>(qs + <usize>(16 + 4 * k + i));
          }
        }
        const p = <f32>(sumi + c) * (f16ToF32(load<u16>(gp + <usize>(r * 2))) * dx);
        if (r == 0) a0 += p; else if (r == 1) a1 += p; else if (r == 2) a2 += p; else a3 += p;
      }
    }
    storeRows(y, g, R, a0, a1, a2, a3);
  }
}

/** Scalar twin of matvecQ8_0. */
export function matvecQ8_0Scalar(w: usize, act: usize, y: usize, R: i32, K: i32, g0: i32, g1: i32): void {
  const nb = K / QK;
  for (let g = g0; g < g1; g++) {
    let a0: f32 = 0, a1: f32 = 0, a2: f32 = 0, a3: f32 = 0;
    for (let b = 0; b < nb; b++) {
      const gp = w + <usize>((g * nb + b) * Q8X4_BYTES);
      const qs = act + <usize>(b * 32);
      const dx = load<f32>(actD(act, nb) + <usize>(b * 4));
      for (let r = 0; r < 4; r++) {
        let sumi = 0;
        for (let k = 0; k < 8; k++) {
          for (let i = 0; i < 4; i++) sumi += <i32>load<i8>(gp + <usize>(8 + k * 16 + r * 4 + i)) * <i32>load<i8>(qs + <usize>(4 * k + i));
        }
        const p = <f32>sumi * (f16ToF32(load<u16>(gp + <usize>(r * 2))) * dx);
        if (r == 0) a0 += p; else if (r == 1) a1 += p; else if (r == 2) a2 += p; else a3 += p;
      }
    }
    storeRows(y, g, R, a0, a1, a2, a3);
  }
}

// @ts-ignore: decorator
@inline function storeRows(y: usize, g: i32, R: i32, a0: f32, a1: f32, a2: f32, a3: f32): void {
  const yp = y + <usize>(g * 16);
  store<f32>(yp, a0);
  if (4 * g + 1 < R) store<f32>(yp, a1, 4);
  if (4 * g + 2 < R) store<f32>(yp, a2, 8);
  if (4 * g + 3 < R) store<f32>(yp, a3, 12);
}

// @ts-ignore: decorator
@inline function storeGroup(y: usize, g: i32, R: i32, acc: v128): void {
  if (4 * g + 4 <= R) v128.store(y + <usize>(g * 16), acc);
  else storeRows(y, g, R, f32x4.extract_lane(acc, 0), f32x4.extract_lane(acc, 1), f32x4.extract_lane(acc, 2), f32x4.extract_lane(acc, 3));
}

// ---------------------------------------------------------------------------------------------------------------
// SIMD block sums: the four rows' integer sums of one group-block, lanes = rows

/** Q4_0: unpacked nibbles lo_k / hi_k (elements 4k.. and 16+4k.. of each row) against one act row's block b. */
// @ts-ignore: decorator
@inline function sumQ4(lo0: v128, lo1: v128, lo2: v128, lo3: v128, hi0: v128, hi1: v128, hi2: v128, hi3: v128, act: usize, nb: i32, b: i32): v128 {
  const c = v128.load32_splat(actC(act, nb) + <usize>(b * 4)); // -8 x the block's code sum, in every lane
  if (ASC_FEATURE_RELAXED_SIMD) {
    const qs = act + <usize>(b * 32);
    let s = c;
    s = i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load32_splat(qs, 0), lo0, s);
    s = i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load32_splat(qs, 4), lo1, s);
    s = i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load32_splat(qs, 8), lo2, s);
    s = i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load32_splat(qs, 12), lo3, s);
    s = i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load32_splat(qs, 16), hi0, s);
    s = i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load32_splat(qs, 20), hi1, s);
    s = i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load32_splat(qs, 24), hi2, s);
    s = i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load32_splat(qs, 28), hi3, s);
    return s;
  } else {
    // A: rows 0, 1 (two lanes each), B: rows 2, 3
    const dp = actDup(act, nb) + <usize>(b * 128);
    const d0 = v128.load(dp, 0), d1 = v128.load(dp, 16), d2 = v128.load(dp, 32), d3 = v128.load(dp, 48);
    const d4 = v128.load(dp, 64), d5 = v128.load(dp, 80), d6 = v128.load(dp, 96), d7 = v128.load(dp, 112);
    let A = i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_u(lo0), d0);
    let B = i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_u(lo0), d0);
    A = i32x4.add(A, i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_u(lo1), d1));
    B = i32x4.add(B, i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_u(lo1), d1));
    A = i32x4.add(A, i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_u(lo2), d2));
    B = i32x4.add(B, i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_u(lo2), d2));
    A = i32x4.add(A, i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_u(lo3), d3));
    B = i32x4.add(B, i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_u(lo3), d3));
    A = i32x4.add(A, i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_u(hi0), d4));
    B = i32x4.add(B, i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_u(hi0), d4));
    A = i32x4.add(A, i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_u(hi1), d5));
    B = i32x4.add(B, i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_u(hi1), d5));
    A = i32x4.add(A, i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_u(hi2), d6));
    B = i32x4.add(B, i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_u(hi2), d6));
    A = i32x4.add(A, i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_u(hi3), d7));
    B = i32x4.add(B, i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_u(hi3), d7));
    const s = i32x4.add(i32x4.shuffle(A, B, 0, 2, 4, 6), i32x4.shuffle(A, B, 1, 3, 5, 7));
    return i32x4.add(s, c);
  }
}

/** Q8_0: the 8 weight vectors v_k of a group-block against one act row's block b (baseline dot in both builds). */
// @ts-ignore: decorator
@inline function sumQ8(v0: v128, v1: v128, v2: v128, v3: v128, v4: v128, v5: v128, v6: v128, v7: v128, act: usize, nb: i32, b: i32): v128 {
  const dp = actDup(act, nb) + <usize>(b * 128);
  let d = v128.load(dp, 0);
  let A = i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(v0), d), B = i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(v0), d);
  d = v128.load(dp, 16); A = i32x4.add(A, i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(v1), d)); B = i32x4.add(B, i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(v1), d));
  d = v128.load(dp, 32); A = i32x4.add(A, i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(v2), d)); B = i32x4.add(B, i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(v2), d));
  d = v128.load(dp, 48); A = i32x4.add(A, i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(v3), d)); B = i32x4.add(B, i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(v3), d));
  d = v128.load(dp, 64); A = i32x4.add(A, i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(v4), d)); B = i32x4.add(B, i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(v4), d));
  d = v128.load(dp, 80); A = i32x4.add(A, i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(v5), d)); B = i32x4.add(B, i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(v5), d));
  d = v128.load(dp, 96); A = i32x4.add(A, i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(v6), d)); B = i32x4.add(B, i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(v6), d));
  d = v128.load(dp, 112); A = i32x4.add(A, i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(v7), d)); B = i32x4.add(B, i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(v7), d));
  return i32x4.add(i32x4.shuffle(A, B, 0, 2, 4, 6), i32x4.shuffle(A, B, 1, 3, 5, 7));
}

// @ts-ignore: decorator
@inline function accumulate(acc: v128, sum: v128, scales: v128, act: usize, nb: i32, b: i32): v128 {
  const dx = v128.load32_splat(actD(act, nb) + <usize>(b * 4)); // d_x in every lane
  return f32x4.add(acc, f32x4.mul(f32x4.convert_i32x4_s(sum), f32x4.mul(scales, dx)));
}

// ---------------------------------------------------------------------------------------------------------------
// SIMD matvec / GEMM

/** y (R) = W x for one act row; W Q4_0 x4. */
export function matvecQ4_0(w: usize, act: usize, y: usize, R: i32, K: i32, g0: i32, g1: i32): void {
  const nb = K / QK;
  const mask = keepI8x16(0x0f), fm = keepI32x4(F16_SIGN_AND_MAG), fs = keepF32x4(reinterpret<f32>(0x77800000));
  for (let g = g0; g < g1; g++) {
    let acc = f32x4.splat(0);
    let gp = w + <usize>(g * nb * Q4X4_BYTES);
    for (let b = 0; b < nb; b++, gp += Q4X4_BYTES) {
      const v0 = v128.load(gp, 8), v1 = v128.load(gp, 24), v2 = v128.load(gp, 40), v3 = v128.load(gp, 56);
      const s = sumQ4(v128.and(v0, mask), v128.and(v1, mask), v128.and(v2, mask), v128.and(v3, mask),
        v128.and(i16x8.shr_u(v0, 4), mask), v128.and(i16x8.shr_u(v1, 4), mask), v128.and(i16x8.shr_u(v2, 4), mask), v128.and(i16x8.shr_u(v3, 4), mask), act, nb, b);
      acc = accumulate(acc, s, f16x4ToF32x4With(gp, fm, fs), act, nb, b);
    }
    storeGroup(y, g, R, acc);
  }
}

/**
 * y (T, R) = x (T act rows) . W^T; W Q4_0 x4. Tokens in tiles of 4 (8 in the relaxed build, whose dot leaves
 * registers to spare) share each unpacked group-block.
 */
export function gemmQ4_0(w: usize, act: usize, y: usize, R: i32, K: i32, T: i32, g0: i32, g1: i32): void {
  const nb = K / QK;
  const rowBytes = <usize>(nb * ACT_BLOCK_BYTES);
  const mask = keepI8x16(0x0f), fm = keepI32x4(F16_SIGN_AND_MAG), fs = keepF32x4(reinterpret<f32>(0x77800000));
  for (let g = g0; g < g1; g++) {
    const gw = w + <usize>(g * nb * Q4X4_BYTES);
    let t = 0;
    if (ASC_FEATURE_RELAXED_SIMD) {
      // relaxed: tiles of 8 tokens (one unpacked group-block feeds 64 dots)
      for (; t + 8 <= T; t += 8) {
        const x0 = act + <usize>t * rowBytes, x1 = x0 + rowBytes, x2 = x1 + rowBytes, x3 = x2 + rowBytes;
        const x4 = x3 + rowBytes, x5 = x4 + rowBytes, x6 = x5 + rowBytes, x7 = x6 + rowBytes;
        let c0 = f32x4.splat(0), c1 = f32x4.splat(0), c2 = f32x4.splat(0), c3 = f32x4.splat(0);
        let c4 = f32x4.splat(0), c5 = f32x4.splat(0), c6 = f32x4.splat(0), c7 = f32x4.splat(0);
        let gp = gw;
        for (let b = 0; b < nb; b++, gp += Q4X4_BYTES) {
          const v0 = v128.load(gp, 8), v1 = v128.load(gp, 24), v2 = v128.load(gp, 40), v3 = v128.load(gp, 56);
          const l0 = v128.and(v0, mask), l1 = v128.and(v1, mask), l2 = v128.and(v2, mask), l3 = v128.and(v3, mask);
          const h0 = v128.and(i16x8.shr_u(v0, 4), mask), h1 = v128.and(i16x8.shr_u(v1, 4), mask), h2 = v128.and(i16x8.shr_u(v2, 4), mask), h3 = v128.and(i16x8.shr_u(v3, 4), mask);
          const sc = f16x4ToF32x4With(gp, fm, fs);
          c0 = accumulate(c0, sumQ4(l0, l1, l2, l3, h0, h1, h2, h3, x0, nb, b), sc, x0, nb, b);
          c1 = accumulate(c1, sumQ4(l0, l1, l2, l3, h0, h1, h2, h3, x1, nb, b), sc, x1, nb, b);
          c2 = accumulate(c2, sumQ4(l0, l1, l2, l3, h0, h1, h2, h3, x2, nb, b), sc, x2, nb, b);
          c3 = accumulate(c3, sumQ4(l0, l1, l2, l3, h0, h1, h2, h3, x3, nb, b), sc, x3, nb, b);
          c4 = accumulate(c4, sumQ4(l0, l1, l2, l3, h0, h1, h2, h3, x4, nb, b), sc, x4, nb, b);
          c5 = accumulate(c5, sumQ4(l0, l1, l2, l3, h0, h1, h2, h3, x5, nb, b), sc, x5, nb, b);
          c6 = accumulate(c6, sumQ4(l0, l1, l2, l3, h0, h1, h2, h3, x6, nb, b), sc, x6, nb, b);
          c7 = accumulate(c7, sumQ4(l0, l1, l2, l3, h0, h1, h2, h3, x7, nb, b), sc, x7, nb, b);
        }
        storeGroup(y + <usize>(t * R * 4), g, R, c0);
        storeGroup(y + <usize>((t + 1) * R * 4), g, R, c1);
        storeGroup(y + <usize>((t + 2) * R * 4), g, R, c2);
        storeGroup(y + <usize>((t + 3) * R * 4), g, R, c3);
        storeGroup(y + <usize>((t + 4) * R * 4), g, R, c4);
        storeGroup(y + <usize>((t + 5) * R * 4), g, R, c5);
        storeGroup(y + <usize>((t + 6) * R * 4), g, R, c6);
        storeGroup(y + <usize>((t + 7) * R * 4), g, R, c7);
      }
    }
    for (; t + 4 <= T; t += 4) {
      const x0 = act + <usize>t * rowBytes, x1 = x0 + rowBytes, x2 = x1 + rowBytes, x3 = x2 + rowBytes;
      let c0 = f32x4.splat(0), c1 = f32x4.splat(0), c2 = f32x4.splat(0), c3 = f32x4.splat(0);
      let gp = gw;
      for (let b = 0; b < nb; b++, gp += Q4X4_BYTES) {
        const v0 = v128.load(gp, 8), v1 = v128.load(gp, 24), v2 = v128.load(gp, 40), v3 = v128.load(gp, 56);
        const l0 = v128.and(v0, mask), l1 = v128.and(v1, mask), l2 = v128.and(v2, mask), l3 = v128.and(v3, mask);
        const h0 = v128.and(i16x8.shr_u(v0, 4), mask), h1 = v128.and(i16x8.shr_u(v1, 4), mask), h2 = v128.and(i16x8.shr_u(v2, 4), mask), h3 = v128.and(i16x8.shr_u(v3, 4), mask);
        const sc = f16x4ToF32x4With(gp, fm, fs);
        // (binaryen shares the baseline path's i16 widening between the four inlined calls; walking the weight
        // vectors token-interleaved to save registers measured the same, so the simple form stays)
        c0 = accumulate(c0, sumQ4(l0, l1, l2, l3, h0, h1, h2, h3, x0, nb, b), sc, x0, nb, b);
        c1 = accumulate(c1, sumQ4(l0, l1, l2, l3, h0, h1, h2, h3, x1, nb, b), sc, x1, nb, b);
        c2 = accumulate(c2, sumQ4(l0, l1, l2, l3, h0, h1, h2, h3, x2, nb, b), sc, x2, nb, b);
        c3 = accumulate(c3, sumQ4(l0, l1, l2, l3, h0, h1, h2, h3, x3, nb, b), sc, x3, nb, b);
      }
      storeGroup(y + <usize>(t * R * 4), g, R, c0);
      storeGroup(y + <usize>((t + 1) * R * 4), g, R, c1);
      storeGroup(y + <usize>((t + 2) * R * 4), g, R, c2);
      storeGroup(y + <usize>((t + 3) * R * 4), g, R, c3);
    }
    for (; t < T; t++) {
      const x0 = act + <usize>t * rowBytes;
      let c0 = f32x4.splat(0);
      let gp = gw;
      for (let b = 0; b < nb; b++, gp += Q4X4_BYTES) {
        const v0 = v128.load(gp, 8), v1 = v128.load(gp, 24), v2 = v128.load(gp, 40), v3 = v128.load(gp, 56);
        const s = sumQ4(v128.and(v0, mask), v128.and(v1, mask), v128.and(v2, mask), v128.and(v3, mask),
          v128.and(i16x8.shr_u(v0, 4), mask), v128.and(i16x8.shr_u(v1, 4), mask), v128.and(i16x8.shr_u(v2, 4), mask), v128.and(i16x8.shr_u(v3, 4), mask), x0, nb, b);
        c0 = accumulate(c0, s, f16x4ToF32x4With(gp, fm, fs), x0, nb, b);
      }
      storeGroup(y + <usize>(t * R * 4), g, R, c0);
    }
  }
}

/** y (R) = W x for one act row; W Q8_0 x4. */
export function matvecQ8_0(w: usize, act: usize, y: usize, R: i32, K: i32, g0: i32, g1: i32): void {
  const nb = K / QK;
  const fm = keepI32x4(F16_SIGN_AND_MAG), fs = keepF32x4(reinterpret<f32>(0x77800000));
  for (let g = g0; g < g1; g++) {
    let acc = f32x4.splat(0);
    let gp = w + <usize>(g * nb * Q8X4_BYTES);
    for (let b = 0; b < nb; b++, gp += Q8X4_BYTES) {
      const s = sumQ8(v128.load(gp, 8), v128.load(gp, 24), v128.load(gp, 40), v128.load(gp, 56),
        v128.load(gp, 72), v128.load(gp, 88), v128.load(gp, 104), v128.load(gp, 120), act, nb, b);
      acc = accumulate(acc, s, f16x4ToF32x4With(gp, fm, fs), act, nb, b);
    }
    storeGroup(y, g, R, acc);
  }
}

/** y (T, R) = x . W^T; W Q8_0 x4. Tokens in tiles of 4 share each loaded (and widened) group-block. */
export function gemmQ8_0(w: usize, act: usize, y: usize, R: i32, K: i32, T: i32, g0: i32, g1: i32): void {
  const nb = K / QK;
  const fm = keepI32x4(F16_SIGN_AND_MAG), fs = keepF32x4(reinterpret<f32>(0x77800000));
  const rowBytes = <usize>(nb * ACT_BLOCK_BYTES);
  for (let g = g0; g < g1; g++) {
    const gw = w + <usize>(g * nb * Q8X4_BYTES);
    let t = 0;
    for (; t + 4 <= T; t += 4) {
      const x0 = act + <usize>t * rowBytes, x1 = x0 + rowBytes, x2 = x1 + rowBytes, x3 = x2 + rowBytes;
      let c0 = f32x4.splat(0), c1 = f32x4.splat(0), c2 = f32x4.splat(0), c3 = f32x4.splat(0);
      let gp = gw;
      for (let b = 0; b < nb; b++, gp += Q8X4_BYTES) {
        const v0 = v128.load(gp, 8), v1 = v128.load(gp, 24), v2 = v128.load(gp, 40), v3 = v128.load(gp, 56);
        const v4 = v128.load(gp, 72), v5 = v128.load(gp, 88), v6 = v128.load(gp, 104), v7 = v128.load(gp, 120);
        const sc = f16x4ToF32x4With(gp, fm, fs);
        c0 = accumulate(c0, sumQ8(v0, v1, v2, v3, v4, v5, v6, v7, x0, nb, b), sc, x0, nb, b);
        c1 = accumulate(c1, sumQ8(v0, v1, v2, v3, v4, v5, v6, v7, x1, nb, b), sc, x1, nb, b);
        c2 = accumulate(c2, sumQ8(v0, v1, v2, v3, v4, v5, v6, v7, x2, nb, b), sc, x2, nb, b);
        c3 = accumulate(c3, sumQ8(v0, v1, v2, v3, v4, v5, v6, v7, x3, nb, b), sc, x3, nb, b);
      }
      storeGroup(y + <usize>(t * R * 4), g, R, c0);
      storeGroup(y + <usize>((t + 1) * R * 4), g, R, c1);
      storeGroup(y + <usize>((t + 2) * R * 4), g, R, c2);
      storeGroup(y + <usize>((t + 3) * R * 4), g, R, c3);
    }
    for (; t < T; t++) {
      const x0 = act + <usize>t * rowBytes;
      let acc = f32x4.splat(0);
      let gp = gw;
      for (let b = 0; b < nb; b++, gp += Q8X4_BYTES) {
        const s = sumQ8(v128.load(gp, 8), v128.load(gp, 24), v128.load(gp, 40), v128.load(gp, 56),
          v128.load(gp, 72), v128.load(gp, 88), v128.load(gp, 104), v128.load(gp, 120), x0, nb, b);
        acc = accumulate(acc, s, f16x4ToF32x4With(gp, fm, fs), x0, nb, b);
      }
      storeGroup(y + <usize>(t * R * 4), g, R, acc);
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// f32 weights (the exactness mode for F32 / F16 / BF16 sources)

/** Scalar twin: y[r] = sum_k W[r,k] x[k], accumulated in order in f32. */
export function matvecF32Scalar(w: usize, x: usize, y: usize, R: i32, K: i32, r0: i32, r1: i32): void {
  for (let r = r0; r < r1; r++) {
    const wr = w + <usize>r * <usize>(K * 4);
    let s: f32 = 0;
    for (let k = 0; k < K; k++) s += load<f32>(wr + <usize>(k * 4)) * load<f32>(x + <usize>(k * 4));
    store<f32>(y + <usize>(r * 4), s);
  }
}

/** y (R) = W x with four f32x4 accumulators; any K (the tail past a multiple of 16 is scalar). */
export function matvecF32(w: usize, x: usize, y: usize, R: i32, K: i32, r0: i32, r1: i32): void {
  const K16 = K & ~15;
  for (let r = r0; r < r1; r++) {
    const wr = w + <usize>r * <usize>(K * 4);
    let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
    for (let k = 0; k < K16; k += 16) {
      const wp = wr + <usize>(k * 4), xp = x + <usize>(k * 4);
      a0 = f32x4.add(a0, f32x4.mul(v128.load(wp, 0), v128.load(xp, 0)));
      a1 = f32x4.add(a1, f32x4.mul(v128.load(wp, 16), v128.load(xp, 16)));
      a2 = f32x4.add(a2, f32x4.mul(v128.load(wp, 32), v128.load(xp, 32)));
      a3 = f32x4.add(a3, f32x4.mul(v128.load(wp, 48), v128.load(xp, 48)));
    }
    const a = f32x4.add(f32x4.add(a0, a1), f32x4.add(a2, a3));
    let s = f32x4.extract_lane(a, 0) + f32x4.extract_lane(a, 1) + f32x4.extract_lane(a, 2) + f32x4.extract_lane(a, 3);
    for (let k = K16; k < K; k++) s += load<f32>(wr + <usize>(k * 4)) * load<f32>(x + <usize>(k * 4));
    store<f32>(y + <usize>(r * 4), s);
  }
}

/** y (T, R) = x (T, K) . W^T with f32 weights, a matvec per token. */
export function gemmF32(w: usize, x: usize, y: usize, R: i32, K: i32, T: i32, r0: i32, r1: i32): void {
  for (let t = 0; t < T; t++) matvecF32(w, x + <usize>(t * K * 4), y + <usize>(t * R * 4), R, K, r0, r1);
}
