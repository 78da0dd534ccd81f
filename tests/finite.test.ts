// reference/finite.ts: the NaN / Inf scan of stored tensor bytes. Hand-made blocks of every GGML type (each float
// field poisoned in turn, the quants left alone), float elements at any alignment, and the property that ties the
// scan to the dequantizers: for every supported type, checkFinite accepts exactly the bytes that dequantize to
// finite values.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TensorError } from '../reference/errors.js';
import { checkFinite } from '../reference/finite.js';
import { GGML_TYPES, GgmlType } from '../reference/ggml-type.js';
import { dequantize } from '../reference/quant.js';

const F16_NAN = 0x7e00;
const F16_INF = 0x7c00;
const F16_NINF = 0xfc00;
const F16_MAX = 0x7bff; // 65504, the largest finite f16

/** Offsets and names of each block type's float fields (ggml-common.h), written out independently of finite.ts. */
const FIELDS: [number, [number, string][]][] = [
  [GgmlType.Q4_0, [[0, 'scale d']]],
  [GgmlType.Q4_1, [[0, 'scale d'], [2, 'min m']]],
  [GgmlType.Q5_0, [[0, 'scale d']]],
  [GgmlType.Q5_1, [[0, 'scale d'], [2, 'min m']]],
  [GgmlType.Q8_0, [[0, 'scale d']]],
  [GgmlType.Q8_1, [[0, 'scale d'], [2, 'sum s']]],
  [GgmlType.Q2_K, [[80, 'scale d'], [82, 'min dmin']]],
  [GgmlType.Q3_K, [[108, 'scale d']]],
  [GgmlType.Q4_K, [[0, 'scale d'], [2, 'min dmin']]],
  [GgmlType.Q5_K, [[0, 'scale d'], [2, 'min dmin']]],
  [GgmlType.Q6_K, [[208, 'scale d']]],
];

function scan(type: number, bytes: Uint8Array, first = 0): string | null {
  try {
    checkFinite(type, bytes, 'f.gguf', 'w', first);
    return null;
  } catch (e) {
    expect(e).toBeInstanceOf(TensorError);
    expect((e as TensorError).tensor).toBe('w');
    expect((e as Error).message).toMatch(/^f\.gguf: tensor 'w': .*the file is corrupt/);
    return (e as Error).message;
  }
}

describe('checkFinite: block types', () => {
  it('every GGML block type is covered by this table', () => {
    const blockTypes = [...GGML_TYPES].filter(([, t]) => t.blockSize > 1).map(([id]) => id);
    expect([...FIELDS.map(([t]) => t), GgmlType.Q8_K].sort((a, b) => a - b)).toEqual(blockTypes.sort((a, b) => a - b));
  });

  for (const [type, fields] of FIELDS) {
    const info = GGML_TYPES.get(type)!;
    it(`${info.name}: a NaN or Inf in each float field of any block is named; max-f16 and all-ones quants pass`, () => {
      const blocks = 3;
      const clean = new Uint8Array(blocks * info.typeSize).fill(0xff);
      for (let b = 0; b < blocks; b++) {
        for (const [at] of fields) {
          clean[b * info.typeSize + at] = F16_MAX & 0xff;
          clean[b * info.typeSize + at + 1] = F16_MAX >> 8;
        }
      }
      expect(scan(type, clean)).toBeNull(); // 0xff everywhere else: quants and sub-block scales are not floats
      for (const [at, name] of fields) {
        for (const [h, shown] of [[F16_NAN, 'NaN'], [F16_INF, '\\+Inf'], [F16_NINF, '-Inf'], [0x7c01, 'NaN']] as const) {
          const bad = clean.slice();
          bad[2 * info.typeSize + at] = h & 0xff;
          bad[2 * info.typeSize + at + 1] = h >> 8;
          const e0 = 2 * info.blockSize;
          expect(scan(type, bad)).toMatch(new RegExp(`${info.name} block 2 \\(elements ${e0}\\.\\.${e0 + info.blockSize - 1}\\) has ${name} = ${shown}`));
          // With `first` (a chunk that starts later in the tensor) the block and elements are the tensor's.
          expect(scan(type, bad, 10 * info.blockSize)).toMatch(new RegExp(`block 12 \\(elements ${e0 + 10 * info.blockSize}\\.\\.`));
        }
      }
    });
  }

  it('Q8_K: its f32 scale d', () => {
    const info = GGML_TYPES.get(GgmlType.Q8_K)!;
    const b = new Uint8Array(2 * info.typeSize).fill(0x7f); // 0x7f7f7f7f is a finite f32 (3.4e38)
    expect(scan(GgmlType.Q8_K, b)).toBeNull();
    new DataView(b.buffer).setFloat32(info.typeSize, -Infinity, true);
    expect(scan(GgmlType.Q8_K, b)).toMatch(/Q8_K block 1 \(elements 256\.\.511\) has scale d = -Inf/);
  });
});

describe('checkFinite: float types', () => {
  const cases: [number, number, (dv: DataView, i: number, v: number) => void][] = [
    [GgmlType.F32, 4, (dv, i, v) => dv.setFloat32(4 * i, v, true)],
    [GgmlType.F16, 2, (dv, i, v) => dv.setUint16(2 * i, v === Infinity ? F16_INF : v === -Infinity ? F16_NINF : Number.isNaN(v) ? F16_NAN : F16_MAX, true)],
    [GgmlType.BF16, 2, (dv, i, v) => dv.setUint16(2 * i, v === Infinity ? 0x7f80 : v === -Infinity ? 0xff80 : Number.isNaN(v) ? 0x7fc0 : 0x7f7f, true)],
  ];
  for (const [type, size, set] of cases) {
    const name = GGML_TYPES.get(type)!.name;
    it(`${name}: the first NaN / Inf element is named, at any byte alignment; the largest finite value passes`, () => {
      for (const shift of [0, 1, 2, 3]) {
        const buf = new Uint8Array(shift + 40 * size);
        const view = buf.subarray(shift);
        const dv = new DataView(buf.buffer, shift);
        for (let i = 0; i < 40; i++) set(dv, i, 3e38); // the type's largest finite (F16 / BF16: max)
        expect(scan(type, view)).toBeNull();
        for (const [v, shown] of [[NaN, 'NaN'], [Infinity, '\\+Inf'], [-Infinity, '-Inf']] as const) {
          const b2 = buf.slice();
          const dv2 = new DataView(b2.buffer, shift);
          set(dv2, 33, v);
          set(dv2, 37, NaN);
          expect(scan(type, b2.subarray(shift))).toMatch(new RegExp(`element 33 is ${shown}`));
          expect(scan(type, b2.subarray(shift), 1000)).toMatch(new RegExp(`element 1033 is ${shown}`));
        }
      }
    });
  }

  it('F32: NaN payloads and subnormals', () => {
    const u = new Uint32Array([0x00000001, 0x80000000, 0x7f800001, 0]);
    expect(scan(GgmlType.F32, new Uint8Array(u.buffer, 0, 8))).toBeNull(); // smallest subnormal, -0
    expect(scan(GgmlType.F32, new Uint8Array(u.buffer))).toMatch(/element 2 is NaN/);
  });

  it('unknown type ids pass through (the readers reject them with their own message)', () => {
    expect(scan(99, new Uint8Array([0xff, 0xff]))).toBeNull();
  });
});

describe('checkFinite agrees with the dequantizers', () => {
  const supported = [...GGML_TYPES].filter(([, t]) => t.supported).map(([id]) => id);
  for (const type of supported) {
    const info = GGML_TYPES.get(type)!;
    it(`${info.name}: rejects exactly the bytes that dequantize to a NaN or an Inf`, () => {
      const blocks = info.blockSize === 1 ? 64 : 2;
      const arb = fc.tuple(
        fc.uint8Array({ minLength: blocks * info.typeSize, maxLength: blocks * info.typeSize }),
        // Bias towards all-ones exponents in the float fields: plain random bytes would rarely make one.
        fc.array(fc.tuple(fc.nat(blocks * info.typeSize - 1), fc.constantFrom(0x7c, 0x7f, 0xff, 0xfc)), { maxLength: 3 }),
      );
      fc.assert(
        fc.property(arb, ([bytes, pokes]) => {
          for (const [at, v] of pokes) bytes[at] |= v;
          const x = dequantize(type, bytes, (bytes.length / info.typeSize) * info.blockSize);
          const finite = x.every(Number.isFinite);
          return (scan(type, bytes) === null) === finite;
        }),
        { numRuns: 300 },
      );
    });
  }
});
