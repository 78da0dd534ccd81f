// IEEE half (f16) and bfloat16 <-> f32 conversions, bit-exact.
//
// f32 -> f16 rounds to nearest, ties to even (what F16C's _cvtss_sh and ggml's GGML_FP32_TO_FP16 do), with
// gradual underflow to subnormals, overflow to +-inf, and NaN kept NaN (quiet, sign kept).
// f32 -> bf16 rounds to nearest-even on the top 16 bits (what PyTorch and ggml_compute_fp32_to_bf16 do); NaN
// stays a quiet NaN. Both widenings are exact.

const f32buf = new Float32Array(1);
const u32buf = new Uint32Array(f32buf.buffer);

/** Bits of an f32. */
export function f32Bits(x: number): number {
  f32buf[0] = x;
  return u32buf[0];
}

/** f32 whose bits are `bits`. */
export function f32FromBits(bits: number): number {
  u32buf[0] = bits >>> 0;
  return f32buf[0];
}

/** f16 bits (0..0xffff) of `x` after rounding x to f32 and then to f16, nearest-even. */
export function f32ToF16(x: number): number {
  const b = f32Bits(x);
  const sign = (b >>> 16) & 0x8000;
  const exp = (b >>> 23) & 0xff;
  const man = b & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (man !== 0 ? 0x200 | (man >>> 13) : 0); // inf / NaN (quiet)
  const e = exp - 127 + 15; // re-biased exponent
  if (e >= 0x1f) return sign | 0x7c00; // overflow -> inf
  if (e <= 0) {
    // Subnormal half (or zero): shift the full 24-bit significand right, rounding to nearest-even.
    if (e < -10) return sign; // below half of the smallest subnormal -> +-0
    const m = man | 0x800000;
    const shift = 14 - e; // 14..24
    const half = 1 << (shift - 1);
    const rest = m & ((1 << shift) - 1);
    let h = m >>> shift;
    if (rest > half || (rest === half && (h & 1) === 1)) h += 1; // may carry into the smallest normal: correct
    return sign | h;
  }
  // Normal: keep 10 mantissa bits, round the dropped 13 to nearest-even; a carry bumps the exponent (maybe to inf).
  let h = (e << 10) | (man >>> 13);
  const rest = man & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && (h & 1) === 1)) h += 1;
  return sign | h;
}

/** The f32 value of f16 bits `h`, exact (subnormals, +-0, inf and NaN included). */
export function f16ToF32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const man = h & 0x3ff;
  if (exp === 0) return sign * man * 2 ** -24;
  if (exp === 0x1f) return man === 0 ? sign * Infinity : NaN;
  return sign * (1024 + man) * 2 ** (exp - 25);
}

/** A 65536-entry table of f16 -> f32, for bulk conversion of F16 tensors. */
let f16Table: Float32Array | null = null;
export function f16ToF32Table(): Float32Array {
  if (!f16Table) {
    f16Table = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) f16Table[h] = f16ToF32(h);
  }
  return f16Table;
}

/** bf16 bits of `x` (rounded to f32 first), nearest-even; NaN -> quiet NaN with the sign kept. */
export function f32ToBf16(x: number): number {
  const b = f32Bits(x);
  if ((b & 0x7fffffff) > 0x7f800000) return ((b >>> 16) | 0x40) & 0xffff; // NaN: force quiet
  return ((b + 0x7fff + ((b >>> 16) & 1)) >>> 16) & 0xffff;
}

/** The f32 value of bf16 bits `h` (exact: bf16 is the top half of an f32). */
export function bf16ToF32(h: number): number {
  return f32FromBits((h & 0xffff) << 16);
}
