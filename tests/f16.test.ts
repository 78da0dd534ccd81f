// reference/f16.ts: IEEE half and bfloat16 conversions, checked against independent formulations.
//
// The independent oracle for f32 -> f16 is "nearest by search": the f16 values are a sorted table (f16ToF32 over
// all 65536 patterns, itself checked against the textbook formula), so the correctly rounded result of x is found
// by binary search plus ties-to-even, with no bit manipulation shared with the code under test.
// (golden/quant-golden.ts --check-f16 also compares all 2^32 f32 patterns against ggml's own conversions.)

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { bf16ToF32, f16ToF32, f16ToF32Table, f32Bits, f32FromBits, f32ToBf16, f32ToF16 } from '../reference/f16.js';

/** Largest finite f16. */
const F16_MAX = 65504;
/** Smallest positive (subnormal) f16: 2^-24. */
const F16_MIN_SUBNORMAL = 2 ** -24;
/** Smallest positive normal f16: 2^-14. */
const F16_MIN_NORMAL = 2 ** -14;
/** Random f32 samples per property (fast-check numRuns). */
const RUNS = 20_000;

const isNaN16 = (h: number) => (h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0;
const isNaNbf = (h: number) => (h & 0x7f80) === 0x7f80 && (h & 0x7f) !== 0;
const hex = (h: number, w = 4) => '0x' + (h >>> 0).toString(16).padStart(w, '0');
const nextUp = (x: number) => f32FromBits(f32Bits(x) + (x >= 0 ? 1 : -1)); // for finite x != -0
const nextDown = (x: number) => f32FromBits(f32Bits(x) + (x > 0 ? -1 : 1)); // for finite x > 0 or x < 0

/** Textbook value of f16 bits h: (-1)^s * 2^(e-15) * 1.m, or 2^-14 * 0.m for e = 0. */
function f16Textbook(h: number): number {
  const s = h >> 15 ? -1 : 1;
  const e = (h >> 10) & 31;
  const m = h & 1023;
  if (e === 31) return m ? NaN : s * Infinity;
  return e === 0 ? s * 2 ** -14 * (m / 1024) : s * 2 ** (e - 15) * (1 + m / 1024);
}

/** Non-negative finite f16 values in increasing order: index = bits 0x0000..0x7bff. */
const POSITIVE = Array.from({ length: 0x7c00 }, (_, h) => f16Textbook(h));

/** Correctly rounded f16 bits of f32 x (not NaN), by binary search in POSITIVE; ties go to the even pattern. */
function f16Nearest(x: number): number {
  const sign = x < 0 || Object.is(x, -0) ? 0x8000 : 0;
  const a = Math.abs(x);
  // Beyond 65504 + half an ulp (65520) rounds to inf; exactly 65520 ties to the even pattern, which is inf (0x7c00).
  if (a >= 65520) return sign | 0x7c00;
  let lo = 0;
  let hi = POSITIVE.length - 1;
  if (a >= POSITIVE[hi]) return sign | hi; // in [65504, 65520): nearest is 65504
  // invariant: POSITIVE[lo] <= a < POSITIVE[hi]
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (POSITIVE[mid] <= a) lo = mid;
    else hi = mid;
  }
  const dl = a - POSITIVE[lo];
  const dh = POSITIVE[hi] - a;
  const h = dl < dh ? lo : dh < dl ? hi : lo % 2 === 0 ? lo : hi;
  return sign | h;
}

/** Correctly rounded bf16 bits of f32 x (not NaN): truncate to `lo`, then pick the nearer of lo and lo + 1. */
function bf16Nearest(x: number): number {
  if (!Number.isFinite(x)) return f32Bits(x) >>> 16; // +-inf are exact
  const lo = f32Bits(x) >>> 16; // truncation toward zero
  const vlo = Math.abs(bf16ToF32(lo));
  // The next magnitude up; past the largest finite bf16 (0x7f7f) it is 2^128, which stands for inf in the tie rule.
  const vhi = (lo & 0x7fff) === 0x7f7f ? 2 ** 128 : Math.abs(bf16ToF32(lo + 1));
  const dl = Math.abs(x) - vlo;
  const dh = vhi - Math.abs(x);
  return dl < dh ? lo : dh < dl ? lo + 1 : (lo & 1) === 0 ? lo : lo + 1;
}

/** Any f32 except NaN, as a number (built from bits, so subnormals, +-0 and +-inf all occur). */
const anyF32 = fc.integer({ min: 0, max: 0xffffffff }).map(f32FromBits).filter((x) => !Number.isNaN(x));

describe('f16 -> f32', () => {
  it('matches the textbook formula for all 65536 patterns, and the table matches f16ToF32', () => {
    const table = f16ToF32Table();
    const bad: string[] = [];
    for (let h = 0; h < 65536; h++) {
      const want = f16Textbook(h);
      const got = f16ToF32(h);
      const same = Number.isNaN(want) ? Number.isNaN(got) : Object.is(got, want);
      const tableSame = Number.isNaN(got) ? Number.isNaN(table[h]) : Object.is(table[h], got);
      if (!same || !tableSame) bad.push(`${hex(h)}: f16ToF32 ${got}, table ${table[h]}, textbook ${want}`);
    }
    expect(bad.slice(0, 5), `${bad.length} mismatches`).toEqual([]);
  });

  it('is strictly increasing over 0x0000..0x7c00 and mirrored by the sign bit', () => {
    for (let h = 1; h <= 0x7c00; h++) {
      if (!(f16ToF32(h) > f16ToF32(h - 1))) throw new Error(`not increasing at ${hex(h)}`);
      if (!Object.is(f16ToF32(h | 0x8000), -f16ToF32(h))) throw new Error(`sign mirror fails at ${hex(h)}`);
    }
    expect(Object.is(f16ToF32(0x8000), -0)).toBe(true);
  });
});

describe('f32 -> f16 (round to nearest, ties to even)', () => {
  it('round-trips all 65536 f16 patterns exactly; NaNs stay NaN', () => {
    const bad: string[] = [];
    for (let h = 0; h < 65536; h++) {
      const back = f32ToF16(f16ToF32(h));
      if (isNaN16(h) ? !isNaN16(back) : back !== h) bad.push(`${hex(h)} -> ${f16ToF32(h)} -> ${hex(back)}`);
    }
    expect(bad.slice(0, 5), `${bad.length} mismatches`).toEqual([]);
  });

  it('sends every midpoint between consecutive f16 values to the even one, and its f32 neighbours to the nearer', () => {
    const bad: string[] = [];
    for (let h = 0; h < 0x7bff; h++) {
      const a = f16ToF32(h);
      const b = f16ToF32(h + 1);
      const mid = (a + b) / 2; // exact in f32: 12 significant bits
      if (Math.fround(mid) !== mid) throw new Error(`midpoint of ${hex(h)} not an f32`);
      const even = h % 2 === 0 ? h : h + 1;
      for (const [x, want] of [
        [mid, even],
        [nextDown(mid), h],
        [nextUp(mid), h + 1],
        [-mid, even | 0x8000],
        [-nextUp(mid), (h + 1) | 0x8000],
      ] as const) {
        const got = f32ToF16(x);
        if (got !== want) bad.push(`x=${x} (${hex(f32Bits(x), 8)}): got ${hex(got)}, want ${hex(want)}`);
      }
    }
    expect(bad.slice(0, 5), `${bad.length} mismatches`).toEqual([]);
  });

  it('handles the edges: overflow, subnormals, signed zero, inf, NaN', () => {
    const cases: [number, number][] = [
      [F16_MAX, 0x7bff],
      [65519.99609375, 0x7bff], // just below the 65520 midpoint
      [65520, 0x7c00], // midpoint to "65536": ties to even = inf
      [1e5, 0x7c00],
      [-1e5, 0xfc00],
      [3.4028234663852886e38, 0x7c00],
      [Infinity, 0x7c00],
      [-Infinity, 0xfc00],
      [F16_MIN_NORMAL, 0x0400],
      [F16_MIN_NORMAL - F16_MIN_SUBNORMAL, 0x03ff],
      [F16_MIN_SUBNORMAL, 0x0001],
      [F16_MIN_SUBNORMAL / 2, 0x0000], // tie between 0 and 2^-24: even is 0
      [nextUp(F16_MIN_SUBNORMAL / 2), 0x0001],
      [-F16_MIN_SUBNORMAL / 2, 0x8000],
      [F16_MIN_SUBNORMAL * 1.5, 0x0002], // tie between 1 and 2 ulps: even is 2
      [F16_MIN_SUBNORMAL * 2.5, 0x0002], // tie between 2 and 3: even is 2
      [1e-8, 0x0000],
      [1e-45, 0x0000], // f32 subnormal
      [-1e-45, 0x8000],
      [0, 0x0000],
      [-0, 0x8000],
      [1, 0x3c00],
      [-2, 0xc000],
      [1 + 2 ** -11, 0x3c00], // tie: 1.0 (even) wins
      [1 + 3 * 2 ** -11, 0x3c02], // tie between 0x3c01 and 0x3c02: even wins
    ];
    for (const [x, want] of cases) expect(hex(f32ToF16(x)), `f32ToF16(${x})`).toBe(hex(want));
    expect(isNaN16(f32ToF16(NaN))).toBe(true);
    expect(isNaN16(f32ToF16(f32FromBits(0x7f800001)))).toBe(true); // payload only in the low bits: still NaN
    expect(isNaN16(f32ToF16(f32FromBits(0xffc00000)))).toBe(true);
    expect(f32ToF16(f32FromBits(0xffc00000)) & 0x8000).toBe(0x8000); // sign kept
  });

  it('agrees with the nearest-by-search oracle on random f32 bit patterns', () => {
    fc.assert(
      fc.property(anyF32, (x) => {
        const got = f32ToF16(x);
        const want = f16Nearest(x);
        if (got !== want) throw new Error(`x=${x} (${hex(f32Bits(x), 8)}): got ${hex(got)}, oracle ${hex(want)}`);
      }),
      { numRuns: RUNS },
    );
  });

  it('agrees with the oracle on f32 values near f16 range edges (dense sweep of the subnormal/normal border)', () => {
    // Every f32 in [2^-26, 2^-13) with the low 8 mantissa bits fixed to a few patterns: ~50k values across the
    // region where the f16 result turns from zero to subnormal to normal.
    const bad: string[] = [];
    const lo = f32Bits(2 ** -26);
    const hi = f32Bits(2 ** -13);
    for (let b = lo; b < hi; b += 97) {
      const x = f32FromBits(b);
      const got = f32ToF16(x);
      const want = f16Nearest(x);
      if (got !== want) bad.push(`x=${x} (${hex(b, 8)}): got ${hex(got)}, oracle ${hex(want)}`);
    }
    expect(bad.slice(0, 5), `${bad.length} mismatches`).toEqual([]);
  });

  it('is monotonic: a <= b implies f16(a) <= f16(b)', () => {
    fc.assert(
      fc.property(anyF32, anyF32, (a, b) => {
        const [x, y] = a <= b ? [a, b] : [b, a];
        const fx = f16ToF32(f32ToF16(x));
        const fy = f16ToF32(f32ToF16(y));
        if (!(fx <= fy)) throw new Error(`${x} <= ${y} but f16: ${fx} > ${fy}`);
      }),
      { numRuns: RUNS },
    );
  });

  it('errs by at most half an f16 ulp inside the finite range', () => {
    fc.assert(
      fc.property(anyF32, (x) => {
        if (!(Math.abs(x) <= F16_MAX)) return;
        const r = f16ToF32(f32ToF16(x));
        // ulp of f16 at |x|: 2^(exponent - 10), with the exponent clamped to the subnormal range's -14.
        const e = Math.abs(x) >= F16_MIN_NORMAL ? Math.floor(Math.log2(Math.abs(x))) : -14;
        const ulp = 2 ** (Math.max(e, -14) - 10);
        // (log2 may land one exponent low right at a power of two; the bound then only gets tighter, still valid)
        if (!(Math.abs(r - x) <= ulp / 2)) throw new Error(`x=${x}: f16 ${r}, |err| ${Math.abs(r - x)} > ulp/2 ${ulp / 2}`);
      }),
      { numRuns: RUNS },
    );
  });
});

describe('bf16', () => {
  it('round-trips all 65536 bf16 patterns; NaNs stay NaN', () => {
    const bad: string[] = [];
    for (let h = 0; h < 65536; h++) {
      const back = f32ToBf16(bf16ToF32(h));
      if (isNaNbf(h) ? !isNaNbf(back) : back !== h) bad.push(`${hex(h)} -> ${hex(back)}`);
      if (bf16ToF32(h) !== f32FromBits(h << 16) && !isNaNbf(h)) bad.push(`${hex(h)} widening`);
    }
    expect(bad.slice(0, 5), `${bad.length} mismatches`).toEqual([]);
  });

  it('rounds to nearest, ties to even (random bit patterns vs the two-candidate oracle)', () => {
    fc.assert(
      fc.property(anyF32, (x) => {
        const got = f32ToBf16(x);
        const want = bf16Nearest(x);
        if (got !== want) throw new Error(`x=${x} (${hex(f32Bits(x), 8)}): got ${hex(got)}, oracle ${hex(want)}`);
      }),
      { numRuns: RUNS },
    );
  });

  it('handles ties, overflow, subnormals and NaN', () => {
    const cases: [number, number][] = [
      [f32FromBits(0x3f808000), 0x3f80], // tie, 0x3f80 even stays
      [f32FromBits(0x3f818000), 0x3f82], // tie, 0x3f81 odd rounds up
      [f32FromBits(0x3f808001), 0x3f81], // just past the tie
      [f32FromBits(0x7f7fffff), 0x7f80], // f32 max rounds to inf
      [f32FromBits(0x7f7f7fff), 0x7f7f],
      [f32FromBits(0x00000001), 0x0000], // tiny f32 subnormal -> +0 (not flushed: just rounded)
      [f32FromBits(0x00018000), 0x0002], // subnormal tie, odd rounds up
      [f32FromBits(0x80000000), 0x8000],
      [Infinity, 0x7f80],
      [-Infinity, 0xff80],
    ];
    for (const [x, want] of cases) expect(hex(f32ToBf16(x)), `f32ToBf16(${hex(f32Bits(x), 8)})`).toBe(hex(want));
    expect(isNaNbf(f32ToBf16(NaN))).toBe(true);
    expect(isNaNbf(f32ToBf16(f32FromBits(0x7f800001)))).toBe(true); // would be inf if simply truncated
    expect(isNaNbf(f32ToBf16(f32FromBits(0x7fffffff)))).toBe(true); // would carry into the sign if rounded
    expect(f32ToBf16(f32FromBits(0xff800001))).toBe(0xffc0); // quiet, sign kept
  });
});

describe('f32 bit helpers', () => {
  it('f32FromBits(f32Bits(x)) is the identity on f32 values', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), (b) => {
        const x = f32FromBits(b);
        if (Number.isNaN(x)) return;
        if (f32Bits(x) !== b) throw new Error(`${hex(b, 8)} -> ${x} -> ${hex(f32Bits(x), 8)}`);
      }),
      { numRuns: RUNS },
    );
  });
});
