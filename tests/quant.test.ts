// reference/quant.ts: block sizes, hand-made blocks with known values for every dequantizer, byte-layout checks,
// and fast-check properties of the Q4_0 / Q8_0 reference quantizers. (Bit-exactness against ggml itself is in
// tests/quant-golden.test.ts.)
//
// The expected values here are computed per element from the byte diagrams ("element e lives in byte b, bits k"),
// a different formulation from the per-group loops in reference/quant.ts, so a wrong offset shows up as a mismatch.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { LfmError } from '../reference/errors.js';
import { bf16ToF32, f16ToF32, f32Bits, f32FromBits, f32ToBf16, f32ToF16 } from '../reference/f16.js';
import { GGML_TYPES, GgmlType } from '../reference/ggml-type.js';
import {
  Q4_0_BYTES,
  Q4_0_LAYOUT,
  Q4_K_BYTES,
  Q4_K_LAYOUT,
  Q5_K_BYTES,
  Q5_K_LAYOUT,
  Q6_K_BYTES,
  Q8_K_BYTES,
  Q8_K_LAYOUT,
  Q6_K_LAYOUT,
  Q8_0_BYTES,
  Q8_0_LAYOUT,
  QK4_0,
  QK8_0,
  QK_K,
  QuantError,
  dequantize,
  dequantizeQ4_0,
  dequantizeQ4_K,
  dequantizeQ5_K,
  dequantizeQ6_K,
  dequantizeQ8_0,
  minK4,
  quantize,
  quantizeQ4_0,
  quantizeQ8_0,
  scaleK4,
} from '../reference/quant.js';

/** Random rows per fast-check property. */
const RUNS = 2_000;
/**
 * Relative slack on the round-to-nearest error bound: the quantizers use id = fl(1/d) and fl(x*id), each off by at
 * most 2^-24 relative, so x*id can miss x/d by ~2^-23 relative; 2^-20 covers that with room.
 */
const REL_SLACK = 2 ** -20;
/**
 * Blocks whose largest |v| is below this are not checked by the error-bound properties: there d = amax/127 (or /8)
 * is so small that 1/d overflows f32, where ggml's C code is undefined (inf/NaN converted to int8).
 */
const MIN_DEFINED_AMAX = 1e-30;

const hex = (b: ArrayLike<number>) => Array.from(b, (v) => v.toString(16).padStart(2, '0')).join(' ');
const f16Bytes = (h: number) => [h & 0xff, h >> 8];
const readD = (bytes: Uint8Array, o: number) => f16ToF32(bytes[o] | (bytes[o + 1] << 8));
const sameF32 = (a: number, b: number) => f32Bits(a) === f32Bits(b) || (Number.isNaN(a) && Number.isNaN(b));

/** Asserts two float arrays are bitwise equal; the message names the first differing element and its block. */
function expectSameFloats(got: Float32Array, want: ArrayLike<number>, blockSize: number, what: string): void {
  expect(got.length, `${what}: length`).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    if (!sameF32(got[i], want[i])) {
      const pairs = Array.from({ length: Math.min(5, want.length - i) }, (_, k) => `${got[i + k]}/${want[i + k]}`);
      throw new Error(`${what}: block ${Math.floor(i / blockSize)} element ${i % blockSize}: got ${got[i]}, want ${want[i]} (got/want from there: ${pairs.join(' ')})`);
    }
  }
}

/** Packs 8 six-bit scales and 8 six-bit mins into the 12-byte K-quant field, written from the layout comment. */
function packScalesK4(sc: number[], m: number[]): number[] {
  const s = new Array<number>(12).fill(0);
  for (let j = 0; j < 4; j++) {
    s[j] = (sc[j] & 63) | ((sc[j + 4] >> 4) << 6); // scale j low 6 bits; top 2 bits of scale j+4
    s[j + 4] = (m[j] & 63) | ((m[j + 4] >> 4) << 6); // min j low 6 bits; top 2 bits of min j+4
    s[j + 8] = (sc[j + 4] & 15) | ((m[j + 4] & 15) << 4); // low 4 bits of scale j+4 | low 4 bits of min j+4
  }
  return s;
}

describe('block geometry', () => {
  it('block sizes equal GGML_TYPES (ggml-common.h static_asserts)', () => {
    const table: [number, number, number][] = [
      [GgmlType.Q4_0, QK4_0, Q4_0_BYTES],
      [GgmlType.Q8_0, QK8_0, Q8_0_BYTES],
      [GgmlType.Q4_K, QK_K, Q4_K_BYTES],
      [GgmlType.Q5_K, QK_K, Q5_K_BYTES],
      [GgmlType.Q6_K, QK_K, Q6_K_BYTES],
    ];
    for (const [type, blockSize, typeSize] of table) {
      expect(GGML_TYPES.get(type), `type ${type}`).toMatchObject({ blockSize, typeSize, supported: true });
    }
    // Q8_K: activations only, never a tensor type the readers accept
    expect(GGML_TYPES.get(GgmlType.Q8_K)).toMatchObject({ blockSize: QK_K, typeSize: Q8_K_BYTES, supported: false });
  });

  it('field offsets tile each block exactly', () => {
    // [offset, size] of every field, in struct order; each must start where the previous ended, and end at the size.
    const fields: [string, [number, number][], number][] = [
      ['Q4_0', [[Q4_0_LAYOUT.d, 2], [Q4_0_LAYOUT.qs, QK4_0 / 2]], Q4_0_BYTES],
      ['Q8_0', [[Q8_0_LAYOUT.d, 2], [Q8_0_LAYOUT.qs, QK8_0]], Q8_0_BYTES],
      ['Q4_K', [[Q4_K_LAYOUT.d, 2], [Q4_K_LAYOUT.dmin, 2], [Q4_K_LAYOUT.scales, 12], [Q4_K_LAYOUT.qs, QK_K / 2]], Q4_K_BYTES],
      ['Q5_K', [[Q5_K_LAYOUT.d, 2], [Q5_K_LAYOUT.dmin, 2], [Q5_K_LAYOUT.scales, 12], [Q5_K_LAYOUT.qh, QK_K / 8], [Q5_K_LAYOUT.qs, QK_K / 2]], Q5_K_BYTES],
      ['Q6_K', [[Q6_K_LAYOUT.ql, QK_K / 2], [Q6_K_LAYOUT.qh, QK_K / 4], [Q6_K_LAYOUT.scales, QK_K / 16], [Q6_K_LAYOUT.d, 2]], Q6_K_BYTES],
      ['Q8_K', [[Q8_K_LAYOUT.d, 4], [Q8_K_LAYOUT.qs, QK_K], [Q8_K_LAYOUT.bsums, (QK_K / 16) * 2]], Q8_K_BYTES],
    ];
    for (const [name, parts, total] of fields) {
      let at = 0;
      for (const [offset, size] of parts) {
        expect(offset, `${name} field at ${offset}`).toBe(at);
        at += size;
      }
      expect(at, `${name} total`).toBe(total);
    }
  });
});

describe('hand-made blocks', () => {
  it('Q4_0: element j is the low nibble of byte 2+j, element j+16 the high nibble; y = (code-8)*d', () => {
    // d = 0.5 (f16 0x3800); byte j = code j | code (15-j) << 4.
    const block = new Uint8Array([...f16Bytes(0x3800), ...Array.from({ length: 16 }, (_, j) => j | ((15 - j) << 4))]);
    const want = Array.from({ length: 32 }, (_, e) => (e < 16 ? (e - 8) * 0.5 : (15 - (e - 16) - 8) * 0.5));
    expectSameFloats(dequantizeQ4_0(block, 32), want, 32, 'Q4_0');
    // A concrete spot check: y[0] = (0-8)*0.5 = -4, y[16] = (15-8)*0.5 = 3.5, y[31] = (0-8)*0.5 = -4.
    expect([want[0], want[16], want[31]]).toEqual([-4, 3.5, -4]);
  });

  it('Q8_0: y[j] = int8(byte 2+j) * d, over two blocks', () => {
    const q = [-128, -127, -1, 0, 1, 2, 100, 127];
    const codes = Array.from({ length: 32 }, (_, j) => q[j % q.length]);
    const bytes = new Uint8Array([
      ...f16Bytes(0x3400), ...codes.map((c) => c & 0xff), // d = 0.25
      ...f16Bytes(0xc000), ...codes.map((c) => c & 0xff), // d = -2
    ]);
    const want = [...codes.map((c) => c * 0.25), ...codes.map((c) => c * -2)];
    expectSameFloats(dequantizeQ8_0(bytes, 64), want, 32, 'Q8_0');
    expectSameFloats(dequantize(GgmlType.Q8_0, bytes, 64), want, 32, 'dequantize(Q8_0)');
  });

  it('K-quant 6-bit scales/mins unpack as packed (all bits used)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 63 }), { minLength: 16, maxLength: 16 }), (v) => {
        const sc = v.slice(0, 8);
        const m = v.slice(8);
        const bytes = new Uint8Array([0, 0, 0, ...packScalesK4(sc, m)]); // at offset 3, to test the offset
        for (let j = 0; j < 8; j++) {
          if (scaleK4(bytes, 3, j) !== sc[j] || minK4(bytes, 3, j) !== m[j]) {
            throw new Error(`sub-block ${j}: got (${scaleK4(bytes, 3, j)}, ${minK4(bytes, 3, j)}), want (${sc[j]}, ${m[j]}); bytes ${hex(bytes)}`);
          }
        }
      }),
      { numRuns: 500 },
    );
  });

  // Shared Q4_K / Q5_K fixture: d = 0.5, dmin = 0.25; scales use the high bits (>= 16) for sub-blocks 4..7.
  const SC = [1, 2, 3, 63, 16, 33, 47, 60];
  const MN = [0, 5, 63, 7, 31, 48, 17, 62];
  const D = 0.5; // f16 0x3800
  const DMIN = 0.25; // f16 0x3400
  /** The 4-bit (Q4_K) or low-4-bit (Q5_K) code of element e of the fixture. */
  const low4 = (e: number) => (e * 7 + (e >> 5)) & 15;
  /** The fifth bit of element e in the Q5_K fixture. */
  const bit5 = (e: number) => ((e * 13) >> 3) & 1;

  /** qs bytes: element e = 64g + 32h + l lives in byte 32g + l, low nibble for h = 0, high for h = 1. */
  function qsBytes(): number[] {
    const qs = new Array<number>(128).fill(0);
    for (let e = 0; e < 256; e++) {
      const g = e >> 6;
      const h = (e >> 5) & 1;
      const l = e & 31;
      qs[32 * g + l] |= low4(e) << (4 * h);
    }
    return qs;
  }

  it('Q4_K: y[e] = d*sc[s]*q - dmin*m[s], sub-block s = e/32', () => {
    const block = new Uint8Array([...f16Bytes(0x3800), ...f16Bytes(0x3400), ...packScalesK4(SC, MN), ...qsBytes()]);
    expect(block.length).toBe(Q4_K_BYTES);
    const want = Array.from({ length: 256 }, (_, e) => {
      const s = e >> 5;
      return Math.fround(Math.fround(D * SC[s]) * low4(e) - Math.fround(DMIN * MN[s]));
    });
    expectSameFloats(dequantizeQ4_K(block, 256), want, 256, 'Q4_K');
    // Spot check: element 200 is in sub-block 6 (sc 47, m 17), code low4(200) = (1400 + 6) & 15 = 14.
    expect(want[200]).toBe(0.5 * 47 * 14 - 0.25 * 17);
  });

  it('Q5_K: as Q4_K plus bit (2g + h) of qh[l] adding 16', () => {
    const qh = new Array<number>(32).fill(0);
    for (let e = 0; e < 256; e++) {
      const g = e >> 6;
      const h = (e >> 5) & 1;
      qh[e & 31] |= bit5(e) << (2 * g + h);
    }
    const block = new Uint8Array([...f16Bytes(0x3800), ...f16Bytes(0x3400), ...packScalesK4(SC, MN), ...qh, ...qsBytes()]);
    expect(block.length).toBe(Q5_K_BYTES);
    const want = Array.from({ length: 256 }, (_, e) => {
      const s = e >> 5;
      return Math.fround(Math.fround(D * SC[s]) * (low4(e) + 16 * bit5(e)) - Math.fround(DMIN * MN[s]));
    });
    expectSameFloats(dequantizeQ5_K(block, 256), want, 256, 'Q5_K');
  });

  it('Q6_K: 6-bit code from ql nibble + qh 2 bits, minus 32, times d*scale (int8 scales, d last)', () => {
    // Element e: half hf = e/128, r = e%128, quarter k = r/32, l = r%32. Low 4 bits in ql[64hf + 32(k&1) + l]
    // (low nibble for k < 2, high for k >= 2); high 2 bits at bits 2k..2k+1 of qh[32hf + l]; scale
    // scales[8hf + 2k + l/16].
    const code = (e: number) => (e * 11 + 5) & 63;
    const scales = Array.from({ length: 16 }, (_, i) => (i - 8) * 15); // -120 .. 105, negative ones included
    const ql = new Array<number>(128).fill(0);
    const qh = new Array<number>(64).fill(0);
    for (let e = 0; e < 256; e++) {
      const hf = e >> 7;
      const k = (e >> 5) & 3;
      const l = e & 31;
      ql[64 * hf + 32 * (k & 1) + l] |= (code(e) & 15) << (k >= 2 ? 4 : 0);
      qh[32 * hf + l] |= (code(e) >> 4) << (2 * k);
    }
    const d = -0.125; // f16 0xb000
    const block = new Uint8Array([...ql, ...qh, ...scales.map((s) => s & 0xff), ...f16Bytes(0xb000)]);
    expect(block.length).toBe(Q6_K_BYTES);
    const want = Array.from({ length: 256 }, (_, e) => {
      const hf = e >> 7;
      const k = (e >> 5) & 3;
      const sc = scales[8 * hf + 2 * k + ((e & 31) >> 4)];
      return Math.fround(Math.fround(d * sc) * (code(e) - 32));
    });
    expectSameFloats(dequantizeQ6_K(block, 256), want, 256, 'Q6_K');
  });

  it('Q4_0, Q8_0 and Q6_K dequantize exactly: every element equals the exact (double) product d*scale*code', () => {
    // The claim in reference/quant.ts's header that lets kernels multiply in any order. Random blocks, finite d.
    const finiteF16 = fc.integer({ min: 0, max: 0xffff }).filter((h) => (h & 0x7c00) !== 0x7c00);
    fc.assert(
      fc.property(fc.uint8Array({ minLength: Q6_K_BYTES, maxLength: Q6_K_BYTES }), finiteF16, (raw, h) => {
        for (const [name, bytes, dOff, n] of [
          ['Q4_0', Q4_0_BYTES, 0, QK4_0],
          ['Q8_0', Q8_0_BYTES, 0, QK8_0],
          ['Q6_K', Q6_K_BYTES, Q6_K_LAYOUT.d, QK_K],
        ] as const) {
          const block = raw.slice(0, bytes);
          block[dOff] = h & 0xff;
          block[dOff + 1] = h >> 8;
          const y = dequantize(GgmlType[name], block, n);
          const d = f16ToF32(h);
          for (let e = 0; e < n; e++) {
            let exact: number;
            if (name === 'Q4_0') exact = d * ((e < 16 ? block[2 + e] & 15 : block[2 + e - 16] >> 4) - 8);
            else if (name === 'Q8_0') exact = d * ((block[2 + e] << 24) >> 24);
            else {
              const hf = e >> 7;
              const k = (e >> 5) & 3;
              const l = e & 31;
              const lo = (block[64 * hf + 32 * (k & 1) + l] >> (k >= 2 ? 4 : 0)) & 15;
              const hi = (block[Q6_K_LAYOUT.qh + 32 * hf + l] >> (2 * k)) & 3;
              const sc = (block[Q6_K_LAYOUT.scales + 8 * hf + 2 * k + (l >> 4)] << 24) >> 24;
              exact = d * sc * ((lo | (hi << 4)) - 32);
            }
            if (!Object.is(y[e], exact) && !(y[e] === 0 && exact === 0)) {
              throw new Error(`${name} d=${d} element ${e}: ${y[e]} vs exact ${exact}`);
            }
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  it('F32 / F16 / BF16 dequantize little-endian element bytes', () => {
    const x = new Float32Array([1, -2.5, 65504, 1e-8, -0, 3.1415927]);
    const f32 = new Uint8Array(x.buffer.slice(0));
    expectSameFloats(dequantize(GgmlType.F32, f32, x.length), x, 1, 'F32');
    // Unaligned F32 bytes (a view at an odd offset) must work too.
    const odd = new Uint8Array(f32.length + 1);
    odd.set(f32, 1);
    expectSameFloats(dequantize(GgmlType.F32, odd.subarray(1), x.length), x, 1, 'F32 unaligned');
    const f16 = quantize(GgmlType.F16, x);
    expect(hex(f16.subarray(0, 4))).toBe('00 3c 00 c1'); // 1.0 = 0x3c00, -2.5 = 0xc100
    expectSameFloats(dequantize(GgmlType.F16, f16, x.length), Array.from(x, (v) => f16ToF32(f32ToF16(v))), 1, 'F16');
    const bf = quantize(GgmlType.BF16, x);
    expect(hex(bf.subarray(0, 4))).toBe('80 3f 20 c0'); // 1.0 = 0x3f80, -2.5 = 0xc020
    expectSameFloats(dequantize(GgmlType.BF16, bf, x.length), Array.from(x, (v) => bf16ToF32(f32ToBf16(v))), 1, 'BF16');
    expectSameFloats(dequantize(GgmlType.F32, quantize(GgmlType.F32, x), x.length), x, 1, 'F32 round trip');
  });
});

describe('quantizer byte layout', () => {
  it('Q4_0: d = max/-8 in bytes 0..1; element j -> low nibble of qs[j], element j+16 -> high nibble', () => {
    // max = -8 at element 0 gives d = 1, id = 1: code = element + 8 for elements in -8..7.
    const x = new Float32Array(32);
    for (let j = 0; j < 32; j++) x[j] = j < 16 ? -8 + j : 7 - (j - 16); // element 16 = 7, element 31 = -8
    const b = quantizeQ4_0(x);
    expect(b.length).toBe(Q4_0_BYTES);
    expect(readD(b, 0)).toBe(1);
    for (let j = 0; j < 16; j++) {
      expect(b[2 + j] & 15, `low nibble of qs[${j}]`).toBe(x[j] + 8);
      expect(b[2 + j] >> 4, `high nibble of qs[${j}]`).toBe(x[j + 16] + 8);
    }
  });

  it('Q4_0: the first element of largest |v| sets the sign of d; the opposite sign clamps to code 15', () => {
    const x = new Float32Array(32);
    x[3] = 4;
    x[9] = -4; // same magnitude, later: loses
    const b = quantizeQ4_0(x);
    expect(readD(b, 0)).toBe(-0.5); // d = 4 / -8
    expect(b[2 + 3] & 15).toBe(0); // x[3]*id = -8 -> code 0
    expect(b[2 + 9] & 15).toBe(15); // x[9]*id = +8 -> 16.5 -> 16 -> clamped 15
    expect(dequantizeQ4_0(b, 32)[9]).toBe(-3.5); // (15-8) * -0.5 for x = -4: the clamp costs one full step
  });

  it('Q8_0: d = amax/127 in bytes 0..1, qs[j] = roundf(x[j]/d) half away from zero', () => {
    const x = new Float32Array(32);
    x[0] = -127; // amax 127 -> d = 1, id = 1
    x[1] = 2.5; // -> 3 (away from zero; ties-to-even would give 2)
    x[2] = -2.5; // -> -3
    x[3] = 0.49999997; // -> 0
    x[4] = 126.5; // -> 127
    const b = quantizeQ8_0(x);
    expect(b.length).toBe(Q8_0_BYTES);
    expect(readD(b, 0)).toBe(1);
    expect(Array.from(b.subarray(2, 7), (v) => (v << 24) >> 24)).toEqual([-127, 3, -3, 0, 127]);
  });

  it('all-zero blocks give d = 0 and dequantize to zeros (Q4_0 stores -0: 0.0f / -8, as ggml does)', () => {
    const zeros = new Float32Array(64);
    const q8 = quantizeQ8_0(zeros);
    const q4 = quantizeQ4_0(zeros);
    expect(hex(q8.subarray(0, 2))).toBe('00 00');
    expect(hex(q4.subarray(0, 2))).toBe('00 80');
    expect(Array.from(q4.subarray(2, 18))).toEqual(new Array(16).fill(0x88)); // code 8 = zero
    for (const [name, y] of [['Q8_0', dequantizeQ8_0(q8, 64)], ['Q4_0', dequantizeQ4_0(q4, 64)]] as const) {
      expect(y.every((v) => v === 0), `${name} zeros`).toBe(true);
    }
  });
});

describe('quantizer properties (fast-check)', () => {
  /** Rows of 1..3 blocks of finite floats within +-1e4, with some blocks of tiny or zero values mixed in. */
  const rows = fc
    .tuple(fc.integer({ min: 1, max: 3 }), fc.constantFrom(1, 1e-3, 1e2, 1e4), fc.integer({ min: 0, max: 0xffffffff }))
    .chain(([nb, scale, seed]) =>
      fc.array(fc.float({ min: -1, max: 1, noNaN: true }), { minLength: 32 * nb, maxLength: 32 * nb }).map((v) => {
        const x = Float32Array.from(v, (t) => t * scale);
        if (seed % 5 === 0) x.fill(0, 0, 32); // an all-zero block now and then
        return x;
      }),
    );

  /** Max |v| of each 32-block. */
  const amaxOf = (x: Float32Array, b: number) => Math.max(...Array.from(x.subarray(32 * b, 32 * b + 32), Math.abs));

  it('Q8_0: |dequant(quant(x)) - x| <= d/2 per element (+ the fp16 rounding of d)', () => {
    fc.assert(
      fc.property(rows, (x) => {
        const q = quantizeQ8_0(x);
        const y = dequantizeQ8_0(q, x.length);
        for (let i = 0; i < x.length; i++) {
          const b = i >> 5;
          if (amaxOf(x, b) < MIN_DEFINED_AMAX && amaxOf(x, b) !== 0) continue;
          const d32 = Math.fround(amaxOf(x, b) / 127); // the scale used for rounding
          const d16 = readD(q, b * Q8_0_BYTES); // the scale stored (fp16)
          const code = (q[b * Q8_0_BYTES + 2 + (i & 31)] << 24) >> 24;
          // x ~ code*d32 within d32/2; the stored d16 moves that by |code|*|d16 - d32|.
          const bound = (d32 / 2) * (1 + REL_SLACK) + Math.abs(code) * Math.abs(d16 - d32) + Math.abs(x[i]) * REL_SLACK;
          const err = Math.abs(y[i] - x[i]);
          if (!(err <= bound)) throw new Error(`block ${b} element ${i & 31}: x ${x[i]}, y ${y[i]}, err ${err} > ${bound} (d32 ${d32}, d16 ${d16})`);
        }
      }),
      { numRuns: RUNS },
    );
  });

  it('Q4_0: |dequant(quant(x)) - x| <= d/2 per element, except the clamped +8 case (<= d)', () => {
    fc.assert(
      fc.property(rows, (x) => {
        const q = quantizeQ4_0(x);
        const y = dequantizeQ4_0(q, x.length);
        for (let i = 0; i < x.length; i++) {
          const b = i >> 5;
          if (amaxOf(x, b) < MIN_DEFINED_AMAX && amaxOf(x, b) !== 0) continue;
          let max = 0;
          for (let j = 0; j < 32; j++) if (Math.abs(x[32 * b + j]) > Math.abs(max)) max = x[32 * b + j];
          const d32 = Math.abs(Math.fround(max / -8));
          const d16 = Math.abs(readD(q, b * Q4_0_BYTES));
          const j = i & 31;
          const byte = q[b * Q4_0_BYTES + 2 + (j & 15)];
          const code = j < 16 ? byte & 15 : byte >> 4;
          // Clamped: the value wanted code 16 (x = -max, i.e. +8 steps on the other side); then the error is one step.
          const clamped = code === 15 && Math.abs(x[i] - -max) <= 0.5 * d32;
          const steps = clamped ? 1 : 0.5;
          const bound = steps * d32 * (1 + REL_SLACK) + Math.abs(code - 8) * Math.abs(d16 - d32) + Math.abs(x[i]) * REL_SLACK;
          const err = Math.abs(y[i] - x[i]);
          if (!(err <= bound)) throw new Error(`block ${b} element ${j}: x ${x[i]}, y ${y[i]}, code ${code}, err ${err} > ${bound} (d32 ${d32})`);
        }
      }),
      { numRuns: RUNS },
    );
  });

  it('quantize is deterministic and does not touch its input', () => {
    fc.assert(
      fc.property(rows, (x) => {
        const copy = x.slice();
        for (const f of [quantizeQ4_0, quantizeQ8_0]) {
          const a = f(x);
          const b = f(copy);
          if (hex(a) !== hex(b)) throw new Error(`${f.name} differs between two calls`);
        }
        if (hex(new Uint8Array(x.buffer)) !== hex(new Uint8Array(copy.buffer))) throw new Error('input modified');
      }),
      { numRuns: 200 },
    );
  });

  it('quantize(dequantize(q)) == q: a quantized row is a fixed point (scales normal in f16)', () => {
    // Dequantized values are code*d16 with the max at code -8 (Q4_0) / +-127 (Q8_0), so re-quantizing finds the
    // same d16 and lands every element back on its code. Blocks whose d16 is zero or subnormal are skipped
    // (1/d16 is then not close enough to exact for this argument).
    fc.assert(
      fc.property(rows, (x) => {
        for (const [name, qf, dq, bytes] of [
          ['Q8_0', quantizeQ8_0, dequantizeQ8_0, Q8_0_BYTES],
          ['Q4_0', quantizeQ4_0, dequantizeQ4_0, Q4_0_BYTES],
        ] as const) {
          const q = qf(x);
          const again = qf(dq(q, x.length));
          for (let b = 0; b < x.length / 32; b++) {
            const d = Math.abs(readD(q, b * bytes));
            if (!(d >= 2 ** -14)) continue;
            const a = hex(q.subarray(b * bytes, (b + 1) * bytes));
            const c = hex(again.subarray(b * bytes, (b + 1) * bytes));
            if (a !== c) throw new Error(`${name} block ${b}: ${a} -> ${c}`);
          }
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe('argument checks and unsupported types', () => {
  it('dequantize checks n against the block size and bytes.length', () => {
    const block = new Uint8Array(Q4_0_BYTES);
    expect(() => dequantize(GgmlType.Q4_0, block, 31)).toThrow(/n=31 is not a whole number of 32-element blocks/);
    expect(() => dequantize(GgmlType.Q4_0, block, 64)).toThrow(/64 elements need 36 bytes \(2 blocks of 18\), got 18/);
    expect(() => dequantizeQ6_K(new Uint8Array(Q6_K_BYTES - 1), 256)).toThrow(QuantError);
    expect(() => dequantize(GgmlType.F16, new Uint8Array(3), 2)).toThrow(/need 4 bytes/);
    expect(() => dequantize(GgmlType.Q8_0, new Uint8Array(Q8_0_BYTES), 32, new Float32Array(16))).toThrow(/output holds 16/);
  });

  it('dequantize writes into a caller buffer and returns the n-element view', () => {
    const q = quantizeQ8_0(new Float32Array(32).fill(127)); // d = 1, codes 127: exact
    const out = new Float32Array(40).fill(7);
    const y = dequantize(GgmlType.Q8_0, q, 32, out);
    expect(y.length).toBe(32);
    expect(y.buffer).toBe(out.buffer);
    expect(out[31]).toBe(127);
    expect(out[32]).toBe(7); // untouched past n
  });

  it('unsupported types throw a QuantError (an LfmError) naming the type', () => {
    const err = (() => {
      try {
        dequantize(GgmlType.Q4_1, new Uint8Array(20), 32);
      } catch (e) {
        return e;
      }
      return null;
    })();
    expect(err).toBeInstanceOf(QuantError);
    expect(err).toBeInstanceOf(LfmError);
    expect((err as QuantError).code).toBe('E_QUANT');
    expect((err as QuantError).type).toBe(GgmlType.Q4_1);
    expect((err as Error).message).toMatch(/Q4_1 \(3\) is not supported/);
    expect(() => dequantize(99, new Uint8Array(0), 0)).toThrow(/unknown ggml type id 99/);
    expect(() => quantize(GgmlType.Q2_K, new Float32Array(256))).toThrow(/Q2_K \(10\) is not supported/);
    expect(() => quantizeQ4_0(new Float32Array(33))).toThrow(/length 33 is not a multiple of the block size 32/);
  });

  it('quantize(F32) writes exact little-endian bits (NaN payloads included)', () => {
    const x = new Float32Array([f32FromBits(0x7fc00001), -0, 1]);
    const b = quantize(GgmlType.F32, x);
    expect(hex(b)).toBe('01 00 c0 7f 00 00 00 80 00 00 80 3f');
  });
});
