// F16 and BF16 weights at their stored precision: 2 bytes per weight in memory, widened to f32 in the kernel.
// Rows are kept exactly as GGML stores them (no repack: the loader copies the tensor bytes), so a "group" is one
// row: the matmuls take a row range [g0, g1) as their last two arguments.
//
// Activations, as ggml does it: ggml's vec_dot_type for F16 weights is F16 and for BF16 it is BF16, i.e. llama.cpp
// rounds the activations to the weight's format before the dot product (ggml_cpu_fp32_to_fp16 / _bf16, round to
// nearest even) and accumulates the products in f32. roundRowsF16 / roundRowsBF16 make that rounded copy (kept as
// f32, so the kernels widen only the weights); the dot products then accumulate in f32.
//
// F16 widening: an f16 h moved into f32 position (sign-extended h << 13, the three surplus sign copies masked off)
// reads as the f32 h * 2^-112, exactly; times 2^112 it is h. The matvec skips that multiply: roundRowsF16Scaled
// stores the rounded activations times 2^112 (exact: f16's largest value times 2^112 is still a finite f32), and
// (h * 2^-112) * (x * 2^112) is the same real product as h * x, rounded the same, bit for bit. The GEMM widens with
// the multiply instead (against roundRowsF16's plain copy): it reuses each widened weight for 4 tokens, and an
// f16-subnormal weight (about 1 in 400 of LFM2's) is an f32 subnormal before the multiply, which x86 multiplies
// slowly: once per weight there, not once per token.
//
// Each SIMD kernel has its scalar twin right above it with the same float operations per lane in the same order:
// eight partial sums (k mod 8, two f32x4 accumulators), combined as (a0 + a1) and then lanes 0+1+2+3, so the two
// agree bit for bit. Widening is exact in both.

import { f16ToF32, f32ToF16, keepF32x4, keepI32x4 } from './common';

/** 2^112: f16 bits moved into f32 position read as the f16 value times 2^-112. */
const F16_SCALE: f32 = reinterpret<f32>(0x77800000);

// ---------------------------------------------------------------------------------------------------------------
// Activation rounding (ggml's from_float for the vec_dot_type)

// @ts-ignore: decorator
@inline function roundF16(x: usize, y: usize, n: i32, scale: f32): void {
  for (let i = 0; i < n; i++) {
    const h = f32ToF16(load<f32>(x + <usize>(i * 4)));
    // (common.ts's f16ToF32 maps inf / NaN codes to large finite values: fine for weight scales, not here)
    const v = (h & 0x7c00) == 0x7c00 ? reinterpret<f32>(((h & 0x8000) << 16) | 0x7f800000 | ((h & 0x3ff) << 13)) : f16ToF32(h) * scale;
    store<f32>(y + <usize>(i * 4), v);
  }
}

/**
 * y[i] = x[i] rounded to f16 (nearest even), as f32: the GEMM's input. n elements; x and y may be the same buffer.
 * Beyond the f16 range the result is +-inf (and NaN stays NaN), as in ggml.
 */
export function roundRowsF16(x: usize, y: usize, n: i32): void {
  roundF16(x, y, n, 1);
}

/** roundRowsF16 times 2^112 (see the file comment): the matvec's input. */
export function roundRowsF16Scaled(x: usize, y: usize, n: i32): void {
  roundF16(x, y, n, F16_SCALE);
}

/** f32 -> bf16 bits as ggml_compute_fp32_to_bf16: nearest even; NaN -> quiet NaN. */
// @ts-ignore: decorator
@inline export function f32ToBf16(x: f32): u32 {
  const u = reinterpret<u32>(x);
  if ((u & 0x7fffffff) > 0x7f800000) return (u >> 16) | 64;
  return (u + (0x7fff + ((u >> 16) & 1))) >> 16;
}

/** y[i] = x[i] rounded to bf16 (nearest even), as f32. */
export function roundRowsBF16(x: usize, y: usize, n: i32): void {
  for (let i = 0; i < n; i++) store<u32>(y + <usize>(i * 4), f32ToBf16(load<f32>(x + <usize>(i * 4))) << 16);
}

// ---------------------------------------------------------------------------------------------------------------
// Widening

/** Four f16 (sign-extended i32 lanes) -> f32x4 of h * 2^-112, exact. mask = keepI32x4(F16_MASK), made outside loops. */
// @ts-ignore: decorator
@inline function f16Widen(h: v128, mask: v128): v128 {
  // h << 13 puts the f16 exponent and mantissa at f32's bits 27..13 and a copy of the sign at bit 31 (bits 30..28
  // hold more sign copies: masked off)
  return v128.and(i32x4.shl(h, 13), mask);
}
const F16_MASK = 0x8fffe000;
/** The four f16 at p widened (a sign-extending load straight from memory: one instruction, no shuffle). */
// @ts-ignore: decorator
@inline function f16At(p: usize, mask: v128): v128 { return f16Widen(v128.load16x4_s(p), mask); }
/** The exact f32 values h (f16Widen times 2^112): for the GEMM. scale = keepF32x4(F16_SCALE). */
// @ts-ignore: decorator
@inline function f16AtExact(p: usize, mask: v128, scale: v128): v128 { return f32x4.mul(f16At(p, mask), scale); }
/** bf16 -> f32: the 16 bits become the high half of each lane. */
// @ts-ignore: decorator
@inline function bf16Lo(v: v128): v128 { return i8x16.shuffle(i32x4.splat(0), v, 0, 1, 16, 17, 0, 1, 18, 19, 0, 1, 20, 21, 0, 1, 22, 23); }
// @ts-ignore: decorator
@inline function bf16Hi(v: v128): v128 { return i8x16.shuffle(i32x4.splat(0), v, 0, 1, 24, 25, 0, 1, 26, 27, 0, 1, 28, 29, 0, 1, 30, 31); }

// @ts-ignore: decorator
@inline function bf16ToF32(h: u32): f32 { return reinterpret<f32>(h << 16); }
/** f16 bits -> h * 2^-112 (f16Widen on one lane). */
// @ts-ignore: decorator
@inline function f16Scaled(h: u32): f32 { return reinterpret<f32>((<u32>(<i32><i16>h) << 13) & 0x8fffe000); }

// ---------------------------------------------------------------------------------------------------------------
// Scalar twins: y[r] = sum_k W[r,k] x[k], K a multiple of 8

// @ts-ignore: decorator
@inline function matvecHalfScalar(w: usize, x: usize, y: usize, K: i32, g0: i32, g1: i32, bf: bool): void {
  for (let r = g0; r < g1; r++) {
    const wr = w + <usize>r * <usize>(K * 2);
    let p0: f32 = 0, p1: f32 = 0, p2: f32 = 0, p3: f32 = 0, p4: f32 = 0, p5: f32 = 0, p6: f32 = 0, p7: f32 = 0;
    for (let k = 0; k < K; k += 8) {
      const wk = wr + <usize>(k * 2), xk = x + <usize>(k * 4);
      const w0 = bf ? bf16ToF32(load<u16>(wk, 0)) : f16Scaled(load<u16>(wk, 0)), w1 = bf ? bf16ToF32(load<u16>(wk, 2)) : f16Scaled(load<u16>(wk, 2));
      const w2 = bf ? bf16ToF32(load<u16>(wk, 4)) : f16Scaled(load<u16>(wk, 4)), w3 = bf ? bf16ToF32(load<u16>(wk, 6)) : f16Scaled(load<u16>(wk, 6));
      const w4 = bf ? bf16ToF32(load<u16>(wk, 8)) : f16Scaled(load<u16>(wk, 8)), w5 = bf ? bf16ToF32(load<u16>(wk, 10)) : f16Scaled(load<u16>(wk, 10));
      const w6 = bf ? bf16ToF32(load<u16>(wk, 12)) : f16Scaled(load<u16>(wk, 12)), w7 = bf ? bf16ToF32(load<u16>(wk, 14)) : f16Scaled(load<u16>(wk, 14));
      p0 += w0 * load<f32>(xk, 0); p1 += w1 * load<f32>(xk, 4); p2 += w2 * load<f32>(xk, 8); p3 += w3 * load<f32>(xk, 12);
      p4 += w4 * load<f32>(xk, 16); p5 += w5 * load<f32>(xk, 20); p6 += w6 * load<f32>(xk, 24); p7 += w7 * load<f32>(xk, 28);
    }
    store<f32>(y + <usize>(r * 4), (((p0 + p4) + (p1 + p5)) + (p2 + p6)) + (p3 + p7));
  }
}

/** Scalar twin of matvecF16. w: R rows of K f16; x: K f32 from roundRowsF16Scaled; rows [g0, g1) of y. */
export function matvecF16Scalar(w: usize, x: usize, y: usize, R: i32, K: i32, g0: i32, g1: i32): void {
  matvecHalfScalar(w, x, y, K, g0, g1, false);
}

/** Scalar twin of matvecBF16. */
export function matvecBF16Scalar(w: usize, x: usize, y: usize, R: i32, K: i32, g0: i32, g1: i32): void {
  matvecHalfScalar(w, x, y, K, g0, g1, true);
}

// ---------------------------------------------------------------------------------------------------------------
// SIMD

// @ts-ignore: decorator
@inline function hsum(a0: v128, a1: v128): f32 {
  const a = f32x4.add(a0, a1);
  return ((f32x4.extract_lane(a, 0) + f32x4.extract_lane(a, 1)) + f32x4.extract_lane(a, 2)) + f32x4.extract_lane(a, 3);
}

/** Weights k..k+3 (lo) and k+4..k+7 (hi) of a row at p, as f32x4: bf16 shuffled in, f16 widened (times 2^-112). */
// @ts-ignore: decorator
@inline function halfLo(p: usize, bf: bool, mask: v128): v128 { return bf ? bf16Lo(v128.load(p)) : f16At(p, mask); }
// @ts-ignore: decorator
@inline function halfHi(p: usize, bf: bool, mask: v128): v128 { return bf ? bf16Hi(v128.load(p)) : f16At(p + 8, mask); }

/**
 * Rows [g0, g1): four at a time sharing the activation loads, then one by one. x scaled for F16 unless `exact`
 * (the GEMM's tail, one row at a time).
 */
// @ts-ignore: decorator
@inline function matvecHalf(w: usize, x: usize, y: usize, K: i32, g0: i32, g1: i32, bf: bool, exact: bool = false): void {
  const rowBytes = <usize>(K * 2);
  const mask = keepI32x4(F16_MASK), scale = keepF32x4(F16_SCALE);
  let r = g0;
  for (; !exact && r + 4 <= g1; r += 4) {
    const wr = w + <usize>r * rowBytes, ws = wr + rowBytes, wt = ws + rowBytes, wu = wt + rowBytes;
    let a0 = f32x4.splat(0), a1 = f32x4.splat(0), b0 = f32x4.splat(0), b1 = f32x4.splat(0);
    let c0 = f32x4.splat(0), c1 = f32x4.splat(0), d0 = f32x4.splat(0), d1 = f32x4.splat(0);
    for (let k = 0; k < K; k += 8) {
      const o = <usize>(k * 2), xk = x + <usize>(k * 4);
      const x0 = v128.load(xk, 0), x1 = v128.load(xk, 16);
      a0 = f32x4.add(a0, f32x4.mul(halfLo(wr + o, bf, mask), x0));
      a1 = f32x4.add(a1, f32x4.mul(halfHi(wr + o, bf, mask), x1));
      b0 = f32x4.add(b0, f32x4.mul(halfLo(ws + o, bf, mask), x0));
      b1 = f32x4.add(b1, f32x4.mul(halfHi(ws + o, bf, mask), x1));
      c0 = f32x4.add(c0, f32x4.mul(halfLo(wt + o, bf, mask), x0));
      c1 = f32x4.add(c1, f32x4.mul(halfHi(wt + o, bf, mask), x1));
      d0 = f32x4.add(d0, f32x4.mul(halfLo(wu + o, bf, mask), x0));
      d1 = f32x4.add(d1, f32x4.mul(halfHi(wu + o, bf, mask), x1));
    }
    store<f32>(y + <usize>(r * 4), hsum(a0, a1));
    store<f32>(y + <usize>(r * 4 + 4), hsum(b0, b1));
    store<f32>(y + <usize>(r * 4 + 8), hsum(c0, c1));
    store<f32>(y + <usize>(r * 4 + 12), hsum(d0, d1));
  }
  for (; r < g1; r++) {
    const wr = w + <usize>r * rowBytes;
    let a0 = f32x4.splat(0), a1 = f32x4.splat(0);
    for (let k = 0; k < K; k += 8) {
      const wk = wr + <usize>(k * 2), xk = x + <usize>(k * 4);
      const lo = exact && !bf ? f16AtExact(wk, mask, scale) : halfLo(wk, bf, mask);
      const hi = exact && !bf ? f16AtExact(wk + 8, mask, scale) : halfHi(wk, bf, mask);
      a0 = f32x4.add(a0, f32x4.mul(lo, v128.load(xk, 0)));
      a1 = f32x4.add(a1, f32x4.mul(hi, v128.load(xk, 16)));
    }
    store<f32>(y + <usize>(r * 4), hsum(a0, a1));
  }
}

/**
 * GEMM: y (T, R) = x (T, K) . W^T for rows [g0, g1); each widened weight vector serves 4 tokens. x: roundRowsF16's
 * plain copy (F16) or roundRowsBF16's. == matvec per token, bit for bit (the same real products, see the file comment).
 */
// @ts-ignore: decorator
@inline function gemmHalf(w: usize, x: usize, y: usize, R: i32, K: i32, T: i32, g0: i32, g1: i32, bf: bool): void {
  const xRow = <usize>(K * 4), yRow = <usize>(R * 4);
  const mask = keepI32x4(F16_MASK), scale = keepF32x4(F16_SCALE);
  for (let r = g0; r < g1; r++) {
    const wr = w + <usize>r * <usize>(K * 2);
    let t = 0;
    for (; t + 4 <= T; t += 4) {
      const x0 = x + <usize>t * xRow, x1 = x0 + xRow, x2 = x1 + xRow, x3 = x2 + xRow;
      let a0 = f32x4.splat(0), a1 = f32x4.splat(0), b0 = f32x4.splat(0), b1 = f32x4.splat(0);
      let c0 = f32x4.splat(0), c1 = f32x4.splat(0), d0 = f32x4.splat(0), d1 = f32x4.splat(0);
      for (let k = 0; k < K; k += 8) {
        const wk = wr + <usize>(k * 2);
        const lo = bf ? halfLo(wk, true, mask) : f16AtExact(wk, mask, scale), hi = bf ? halfHi(wk, true, mask) : f16AtExact(wk + 8, mask, scale);
        const o = <usize>(k * 4);
        a0 = f32x4.add(a0, f32x4.mul(lo, v128.load(x0 + o, 0))); a1 = f32x4.add(a1, f32x4.mul(hi, v128.load(x0 + o, 16)));
        b0 = f32x4.add(b0, f32x4.mul(lo, v128.load(x1 + o, 0))); b1 = f32x4.add(b1, f32x4.mul(hi, v128.load(x1 + o, 16)));
        c0 = f32x4.add(c0, f32x4.mul(lo, v128.load(x2 + o, 0))); c1 = f32x4.add(c1, f32x4.mul(hi, v128.load(x2 + o, 16)));
        d0 = f32x4.add(d0, f32x4.mul(lo, v128.load(x3 + o, 0))); d1 = f32x4.add(d1, f32x4.mul(hi, v128.load(x3 + o, 16)));
      }
      const yp = y + <usize>t * yRow + <usize>(r * 4);
      store<f32>(yp, hsum(a0, a1));
      store<f32>(yp + yRow, hsum(b0, b1));
      store<f32>(yp + 2 * yRow, hsum(c0, c1));
      store<f32>(yp + 3 * yRow, hsum(d0, d1));
    }
    for (; t < T; t++) matvecHalf(w, x + <usize>t * xRow, y + <usize>t * yRow, K, r, r + 1, bf, true);
  }
}

/** y (rows [g0, g1) of R) = W x; W F16 (R, K) row-major, K % 8 == 0; x from roundRowsF16Scaled. */
export function matvecF16(w: usize, x: usize, y: usize, R: i32, K: i32, g0: i32, g1: i32): void {
  matvecHalf(w, x, y, K, g0, g1, false);
}

/** y (T, R) = x (T, K) . W^T for rows [g0, g1); W F16; x from roundRowsF16. */
export function gemmF16(w: usize, x: usize, y: usize, R: i32, K: i32, T: i32, g0: i32, g1: i32): void {
  gemmHalf(w, x, y, R, K, T, g0, g1, false);
}

/** y (rows [g0, g1) of R) = W x; W BF16 (R, K) row-major, K % 8 == 0; x rounded to bf16 (roundRowsBF16). */
export function matvecBF16(w: usize, x: usize, y: usize, R: i32, K: i32, g0: i32, g1: i32): void {
  matvecHalf(w, x, y, K, g0, g1, true);
}

/** y (T, R) = x (T, K) . W^T for rows [g0, g1); W BF16. */
export function gemmBF16(w: usize, x: usize, y: usize, R: i32, K: i32, T: i32, g0: i32, g1: i32): void {
  gemmHalf(w, x, y, R, K, T, g0, g1, true);
}

/** Row r of an F16 (type 1) or BF16 (type 30) matrix widened to f32 (the embedding lookup). */
export function dequantRowHalf(w: usize, type: i32, r: i32, K: i32, y: usize): void {
  const wr = w + <usize>r * <usize>(K * 2);
  for (let k = 0; k < K; k++) {
    const h = <u32>load<u16>(wr + <usize>(k * 2));
    store<f32>(y + <usize>(k * 4), type == 30 ? bf16ToF32(h) : f16ToF32(h));
  }
}
