// Scalar helpers shared by the kernels: f16 <-> f32, C roundf, and an exp without lookup tables.
//
// Nothing here may create static data: the module must have no data segments (a later worker pool instantiates
// it once per worker over one shared memory, and a data segment would be re-applied over live memory). That is
// why exp is written out below instead of using the standard library's table-driven expf.

/** IEEE f16 bits -> f32, exact for normals, subnormals and zeros (inf/NaN become large finite values). */
// @ts-ignore: decorator
@inline export function f16ToF32(h: u32): f32 {
  const mag = reinterpret<f32>((h & 0x7fff) << 13) * reinterpret<f32>(0x77800000); // * 2^112
  return reinterpret<f32>(reinterpret<u32>(mag) | ((h & 0x8000) << 16));
}

/** Four f16 at p (8 bytes) -> f32x4, the same arithmetic as f16ToF32 lane by lane. */
// @ts-ignore: decorator
@inline export function f16x4ToF32x4(p: usize): v128 {
  const h = v128.load16x4_u(p); // (4) u32 lanes holding the f16 bits
  const mag = f32x4.mul(i32x4.shl(v128.and(h, i32x4.splat(0x7fff)), 13), f32x4.splat(reinterpret<f32>(0x77800000)));
  return v128.or(mag, i32x4.shl(v128.and(h, i32x4.splat(0x8000)), 16));
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
const EXP_LO: f32 = -87.3;
const EXP_HI: f32 = 88.7;
const LOG2E: f32 = 1.44269504088896341;
const LN2_HI: f32 = 0.693359375;
const LN2_LO: f32 = -2.12194440e-4;
const P0: f32 = 1.9875691500e-4;
const P1: f32 = 1.3981999507e-3;
const P2: f32 = 8.3334519073e-3;
const P3: f32 = 4.1665795894e-2;
const P4: f32 = 1.6666665459e-1;
const P5: f32 = 5.0000001201e-1;

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
  const x = f32x4.min(f32x4.max(x0, f32x4.splat(EXP_LO)), f32x4.splat(EXP_HI));
  const n = f32x4.nearest(f32x4.mul(x, f32x4.splat(LOG2E)));
  const r = f32x4.sub(f32x4.sub(x, f32x4.mul(n, f32x4.splat(LN2_HI))), f32x4.mul(n, f32x4.splat(LN2_LO)));
  const z = f32x4.mul(r, r);
  let p = f32x4.splat(P0);
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(P1));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(P2));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(P3));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(P4));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(P5));
  const y = f32x4.add(f32x4.add(f32x4.mul(p, z), r), f32x4.splat(1.0));
  const ni = i32x4.trunc_sat_f32x4_s(n);
  const n1 = i32x4.shr_s(ni, 1);
  const n2 = i32x4.sub(ni, n1);
  const s1 = i32x4.shl(i32x4.add(n1, i32x4.splat(127)), 23);
  const s2 = i32x4.shl(i32x4.add(n2, i32x4.splat(127)), 23);
  return f32x4.mul(f32x4.mul(y, s1), s2);
}
