// Scalar helpers shared by the kernels: f16 <-> f32, C roundf, and an exp without lookup tables.
//
// Nothing here may create static data: the module must have no data segments (a later worker pool instantiates
// it once per worker over one shared memory, and a data segment would be re-applied over live memory). That is
// why exp is written out below instead of using the standard library's table-driven expf.

/**
 * Always 0: nothing writes it, and it is exported so that the optimizer cannot prove that. V8 keeps no v128
 * constant in a register across a loop: it rebuilds the constant at every use (a 64-bit immediate moved in and
 * broadcast: 3 instructions in front of a 1-instruction AND). A vector made at a kernel's top from `x ^ OPAQUE_ZERO`
 * is an ordinary value instead, built once and kept in a register (or one stack slot) for the whole loop.
 */
export let OPAQUE_ZERO: i32 = 0;
/** i32x4.splat(x), built once where it is written (see OPAQUE_ZERO): make masks at a kernel's top, outside loops. */
// @ts-ignore: decorator
@inline export function keepI32x4(x: i32): v128 { return i32x4.splat(x ^ OPAQUE_ZERO); }
/** i8x16.splat(x), built once where it is written. */
// @ts-ignore: decorator
@inline export function keepI8x16(x: i32): v128 { return i32x4.splat(((x & 0xff) * 0x01010101) ^ OPAQUE_ZERO); }
/** f32x4.splat(x), built once where it is written. */
// @ts-ignore: decorator
@inline export function keepF32x4(x: f32): v128 { return i32x4.splat(reinterpret<i32>(x) ^ OPAQUE_ZERO); }

/** IEEE f16 bits -> f32, exact for normals, subnormals and zeros (inf/NaN become large finite values). */
// @ts-ignore: decorator
@inline export function f16ToF32(h: u32): f32 {
  const mag = reinterpret<f32>((h & 0x7fff) << 13) * reinterpret<f32>(0x77800000); // * 2^112
  return reinterpret<f32>(reinterpret<u32>(mag) | ((h & 0x8000) << 16));
}

/** Four f16 at p (8 bytes) -> f32x4, the same values as f16ToF32 lane by lane. */
// @ts-ignore: decorator
@inline export function f16x4ToF32x4(p: usize): v128 {
  return f16x4ToF32x4With(p, i32x4.splat(F16_SIGN_AND_MAG), f32x4.splat(reinterpret<f32>(0x77800000)));
}

/** f16 bits moved into f32 position, the surplus sign copies masked off: the value times 2^-112 (f16x4ToF32x4With). */
export const F16_SIGN_AND_MAG = 0x8fffffff;

/**
 * f16x4ToF32x4 with its two constants passed in (mask = keepI32x4(F16_SIGN_AND_MAG), scale = keepF32x4(2^112),
 * built outside the caller's loop). The sign-extended h << 13, masked, is +-(h's magnitude) * 2^-112 with h's sign,
 * exactly (f16 subnormals become f32 subnormals, still exact); times 2^112 that is f16ToF32(h), bit for bit
 * (an exact power-of-two scaling keeps the sign, -0 included).
 */
// @ts-ignore: decorator
@inline export function f16x4ToF32x4With(p: usize, mask: v128, scale: v128): v128 {
  return f32x4.mul(v128.and(i32x4.shl(v128.load16x4_s(p), 13), mask), scale);
}

/** f32 -> IEEE f16 bits, round to nearest even (as F16C / ggml's GGML_FP32_TO_FP16). */
export function f32ToF16(x: f32): u32 {
  const b = reinterpret<u32>(x);
  const sign = (b >>> 16) & 0x8000;
  const e = <i32>((b >>> 23) & 0xff);
  let m = b & 0x7fffff;
  if (e == 0xff) return sign | 0x7c00 | (m != 0 ? 0x200 : 0); // inf / NaN
  let he = e - 127 + 15;
  if (he >= 0x1f) return sign | 0x7c00; // overflow -> inf
  if (he <= 0) {
    // subnormal f16 (or zero): shift the full mantissa (with the implicit bit) right, round to nearest even
    if (he < -10) return sign;
    m |= 0x800000;
    const shift = <u32>(14 - he);
    let hm = m >>> shift;
    const rem = m & ((1 << shift) - 1);
    const halfway = <u32>1 << (shift - 1);
    if (rem > halfway || (rem == halfway && (hm & 1) != 0)) hm++;
    return sign | hm;
  }
  let hm = m >>> 13;
  const rem = m & 0x1fff;
  let r = sign | (<u32>he << 10) | hm;
  if (rem > 0x1000 || (rem == 0x1000 && (hm & 1) != 0)) r++; // may carry into the exponent: still correct
  return r;
}

/** C roundf: nearest integer, halves away from zero. */
// @ts-ignore: decorator
@inline export function roundf(x: f32): f32 {
  const t = trunc<f32>(x);
  return abs<f32>(x - t) >= 0.5 ? t + copysign<f32>(1.0, x) : t;
}

/** f32x4 roundf, lane by lane the same as roundf(). */
// @ts-ignore: decorator
@inline export function roundf4(v: v128): v128 {
  const t = f32x4.trunc(v);
  const big = f32x4.ge(f32x4.abs(f32x4.sub(v, t)), f32x4.splat(0.5));
  const one = v128.or(f32x4.splat(1.0), v128.and(v, i32x4.splat(0x80000000))); // copysign(1, v)
  return f32x4.add(t, v128.and(big, one));
}

// exp(x) for f32 (Cephes expf): x = n ln2 + r, |r| <= ln2/2, e^r by a degree-6 polynomial, times 2^n built from
// the exponent bits. Inputs are clamped to [-87.3, 88.7] so 2^n stays a normal number: exp(-87.3) ~ 1.2e-38
// stands in for anything smaller (a softmax or sigmoid cannot tell the difference). Max error ~2 ulp.
export const EXP_LO: f32 = -87.3;
export const EXP_HI: f32 = 88.7;
export const LOG2E: f32 = 1.44269504088896341;
export const LN2_HI: f32 = 0.693359375;
export const LN2_LO: f32 = -2.12194440e-4;
export const P0: f32 = 1.9875691500e-4;
export const P1: f32 = 1.3981999507e-3;
export const P2: f32 = 8.3334519073e-3;
export const P3: f32 = 4.1665795894e-2;
export const P4: f32 = 1.6666665459e-1;
export const P5: f32 = 5.0000001201e-1;

export function expf(x0: f32): f32 {
  const x = min<f32>(max<f32>(x0, EXP_LO), EXP_HI);
  const n = nearest<f32>(x * LOG2E);
  const r = x - n * LN2_HI - n * LN2_LO;
  const z = r * r;
  let p = P0;
  p = p * r + P1;
  p = p * r + P2;
  p = p * r + P3;
  p = p * r + P4;
  p = p * r + P5;
  const y = p * z + r + 1.0;
  // n in [-126, 128]: split 2^n into two factors so n = 128 does not overflow the exponent field
  const n1 = <i32>n >> 1;
  const n2 = <i32>n - n1;
  return y * reinterpret<f32>(<u32>(n1 + 127) << 23) * reinterpret<f32>(<u32>(n2 + 127) << 23);
}

/** expf on four lanes, the same operations in the same order as expf(). */
// @ts-ignore: decorator
@inline export function expf4(x0: v128): v128 {
  return expf4With(x0, f32x4.splat(EXP_LO), f32x4.splat(EXP_HI), f32x4.splat(LOG2E), f32x4.splat(LN2_HI), f32x4.splat(LN2_LO),
    f32x4.splat(P0), f32x4.splat(P1), f32x4.splat(P2), f32x4.splat(P3), f32x4.splat(P4), f32x4.splat(P5), f32x4.splat(1.0), i32x4.splat(127));
}

/**
 * expf4 with its constants passed in: a loop that calls it many times builds them once (keepF32x4 / keepI32x4 of
 * EXP_LO, EXP_HI, LOG2E, LN2_HI, LN2_LO, P0..P5, 1.0 and the integer 127, in that order) and passes them.
 */
// @ts-ignore: decorator
@inline export function expf4With(x0: v128, lo: v128, hi: v128, log2e: v128, ln2hi: v128, ln2lo: v128, p0: v128, p1: v128, p2: v128, p3: v128, p4: v128, p5: v128, one: v128, i127: v128): v128 {
  const x = f32x4.min(f32x4.max(x0, lo), hi);
  const n = f32x4.nearest(f32x4.mul(x, log2e));
  const r = f32x4.sub(f32x4.sub(x, f32x4.mul(n, ln2hi)), f32x4.mul(n, ln2lo));
  const z = f32x4.mul(r, r);
  let p = p0;
  p = f32x4.add(f32x4.mul(p, r), p1);
  p = f32x4.add(f32x4.mul(p, r), p2);
  p = f32x4.add(f32x4.mul(p, r), p3);
  p = f32x4.add(f32x4.mul(p, r), p4);
  p = f32x4.add(f32x4.mul(p, r), p5);
  const y = f32x4.add(f32x4.add(f32x4.mul(p, z), r), one);
  const ni = i32x4.trunc_sat_f32x4_s(n);
  const n1 = i32x4.shr_s(ni, 1);
  const n2 = i32x4.sub(ni, n1);
  const s1 = i32x4.shl(i32x4.add(n1, i127), 23);
  const s2 = i32x4.shl(i32x4.add(n2, i127), 23);
  return f32x4.mul(f32x4.mul(y, s1), s2);
}
