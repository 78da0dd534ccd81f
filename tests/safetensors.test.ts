// safetensors reader/writer and HF folder loading: round trips (fast-check), hand-made bytes, every validation error.

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { bytesSource, memoryFileSet, type ByteSource, type FileSet } from '../reference/bytes.js';
import { ConfigError, FormatError, TensorError } from '../reference/errors.js';
import { bf16ToF32, f16ToF32, f32Bits, f32ToBf16, f32ToF16 } from '../reference/f16.js';
import {
  openHfFolder,
  readSafetensorBytes,
  readSafetensorF32,
  readSafetensorsHeader,
  writeSafetensors,
  type SafetensorsReadOptions,
  type SafetensorsWriteTensor,
} from '../reference/safetensors.js';

// --- helpers -------------------------------------------------------------------------------------------------------

const enc = new TextEncoder();

/** A safetensors file built by hand (independent of writeSafetensors): u64 N, header text (padded to 8 if asked), data. */
function rawFile(header: string | object, data: ArrayLike<number> = [], pad = true): Uint8Array {
  let h = enc.encode(typeof header === 'string' ? header : JSON.stringify(header));
  if (pad && h.length % 8 !== 0) {
    const p = new Uint8Array(Math.ceil(h.length / 8) * 8).fill(0x20);
    p.set(h);
    h = p;
  }
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(h.length), true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

/** A ByteSource that records every range read. */
function countingSource(bytes: Uint8Array, name = 'count.safetensors') {
  const inner = bytesSource(bytes, name);
  const reads: [number, number][] = [];
  const src: ByteSource = {
    name,
    size: inner.size,
    read(offset, length, what) {
      reads.push([offset, offset + length]);
      return inner.read(offset, length, what);
    },
  };
  return { src, reads };
}

/** Awaits a rejection and checks its class, file and field (FormatError/ConfigError) or tensor (TensorError). */
async function expectError(
  p: Promise<unknown>,
  cls: typeof FormatError | typeof TensorError | typeof ConfigError,
  file: string,
  where: string,
  message: RegExp,
): Promise<Error> {
  let err: unknown = null;
  try {
    await p;
  } catch (e) {
    err = e;
  }
  expect(err, 'expected a rejection').toBeInstanceOf(cls);
  const e = err as Error & { file?: string; source?: string; field?: string; tensor?: string };
  expect(e.file ?? e.source).toBe(file);
  expect(e instanceof TensorError ? e.tensor : e.field).toBe(where);
  expect(e.message).toMatch(message);
  expect(e.message).toContain(file);
  return e;
}

const F = 'bad.safetensors';
const header = (bytes: Uint8Array, options?: SafetensorsReadOptions) => readSafetensorsHeader(bytesSource(bytes, F), options);

function f32Bytes(values: number[]): number[] {
  return [...new Uint8Array(new Float32Array(values).buffer)];
}

/** Index of the first element where a and b differ as Object.is (NaN == NaN, +0 != -0), or -1. */
function firstMismatch(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return i;
  return -1;
}

// --- hand-made bytes -----------------------------------------------------------------------------------------------

describe('safetensors: known bytes', () => {
  it('parses a hand-built file (metadata, scalar, F16, BF16, zero-size, offsets not in header order)', async () => {
    const text =
      '{"__metadata__":{"format":"pt"},' +
      '"w":{"dtype":"BF16","shape":[2],"data_offsets":[8,12]},' +
      '"s":{"dtype":"F32","shape":[],"data_offsets":[0,4]},' +
      '"h":{"dtype":"F16","shape":[1,2],"data_offsets":[4,8]},' +
      '"e":{"dtype":"F32","shape":[0,3],"data_offsets":[12,12]}}';
    const data = [
      0x00, 0x00, 0x00, 0x3f, // s = 0.5f
      0x00, 0x3c, 0x00, 0xb8, // h = [1.0, -0.5] as f16 0x3c00, 0xb800
      0x80, 0x3f, 0x00, 0xc0, // w = [1.0, -2.0] as bf16 0x3f80, 0xc000
    ];
    const bytes = rawFile(text, data);
    const n = Math.ceil(text.length / 8) * 8;
    const src = bytesSource(bytes, 'known.safetensors');
    const file = await readSafetensorsHeader(src, { requireAligned: true });
    expect(file.name).toBe('known.safetensors');
    expect(file.dataOffset).toBe(8 + n);
    expect(file.metadata).toEqual({ format: 'pt' });
    expect([...file.tensors.keys()]).toEqual(['w', 's', 'h', 'e']);
    expect(file.tensors.get('w')).toEqual({ name: 'w', dtype: 'BF16', shape: [2], begin: 8 + n + 8, end: 8 + n + 12 });
    expect(file.tensors.get('s')!.shape).toEqual([]);
    expect([...(await readSafetensorF32(file, src, 's'))]).toEqual([0.5]);
    expect([...(await readSafetensorF32(file, src, 'h'))]).toEqual([1, -0.5]);
    expect([...(await readSafetensorF32(file, src, 'w'))]).toEqual([1, -2]);
    expect((await readSafetensorF32(file, src, 'e')).length).toBe(0);
    expect([...(await readSafetensorBytes(file, src, 'w'))]).toEqual([0x80, 0x3f, 0x00, 0xc0]);
  });

  it('parses the Rust crate doc example (unpadded 60-byte header, I32 known but not convertible)', async () => {
    const bytes = rawFile('{"test":{"dtype":"I32","shape":[2,2],"data_offsets":[0,16]}}', new Array(16).fill(0), false);
    expect(bytes.length).toBe(8 + 60 + 16);
    const src = bytesSource(bytes, 'doc.safetensors');
    const file = await readSafetensorsHeader(src);
    expect(file.tensors.get('test')).toEqual({ name: 'test', dtype: 'I32', shape: [2, 2], begin: 68, end: 84 });
    expect(file.metadata).toEqual({});
    await expectError(readSafetensorF32(file, src, 'test'), TensorError, 'doc.safetensors', 'test', /I32 is a valid safetensors dtype.*F32, F16, BF16/);
  });

  it('writes the bytes the Rust/Python writer writes (alignment order, compact JSON, space padding)', () => {
    const out = writeSafetensors(
      [
        { name: 'b', dtype: 'F16', shape: [2], data: new Float32Array([1, -0.5]) },
        { name: 'c', dtype: 'U8', shape: [3], bytes: new Uint8Array([1, 2, 3]) },
        { name: 'a', dtype: 'F32', shape: [], data: new Float32Array([0.5]) },
      ],
      { format: 'pt' },
    );
    const text =
      '{"__metadata__":{"format":"pt"},' +
      '"a":{"dtype":"F32","shape":[],"data_offsets":[0,4]},' +
      '"b":{"dtype":"F16","shape":[2],"data_offsets":[4,8]},' +
      '"c":{"dtype":"U8","shape":[3],"data_offsets":[8,11]}}';
    const expected = rawFile(text, [0x00, 0x00, 0x00, 0x3f, 0x00, 0x3c, 0x00, 0xb8, 1, 2, 3]);
    expect(out).toEqual(expected);
    const n = Number(new DataView(out.buffer).getBigUint64(0, true));
    expect(n % 8).toBe(0);
    expect(out[8 + n - 1]).toBe(0x20); // padded with spaces
  });

  it('keeps integer-like names in writer order (a JS object would reorder them)', async () => {
    const out = writeSafetensors([
      { name: 'x', dtype: 'F32', shape: [1], data: new Float32Array([1]) },
      { name: '10', dtype: 'F32', shape: [1], data: new Float32Array([2]) },
      { name: '2', dtype: 'F32', shape: [1], data: new Float32Array([3]) },
    ]);
    const n = Number(new DataView(out.buffer).getBigUint64(0, true));
    const text = new TextDecoder().decode(out.subarray(8, 8 + n));
    expect(text.indexOf('"10"')).toBeLessThan(text.indexOf('"2"'));
    expect(text.indexOf('"2"')).toBeLessThan(text.indexOf('"x"'));
    const src = bytesSource(out);
    const file = await readSafetensorsHeader(src);
    expect([...(await readSafetensorF32(file, src, '2'))]).toEqual([3]);
  });
});

// --- round trips ---------------------------------------------------------------------------------------------------

const dtypeArb = fc.constantFrom('F32' as const, 'F16' as const, 'BF16' as const);
const tensorArb = fc
  .record({
    name: fc.string({ unit: 'grapheme', maxLength: 10 }),
    dtype: dtypeArb,
    shape: fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 4 }), // [] = 0-d scalar; 0 = zero-size dim
  })
  .chain((t) => {
    const count = t.shape.reduce((a, b) => a * b, 1);
    return fc.float32Array({ minLength: count, maxLength: count }).map((data) => ({ ...t, data }));
  });
const tensorSetArb = fc
  .uniqueArray(tensorArb, { selector: (t) => t.name, maxLength: 6 })
  .filter((ts) => ts.every((t) => t.name !== '__metadata__'));
const metadataArb = fc.option(
  fc.dictionary(fc.string({ unit: 'grapheme', maxLength: 8 }), fc.string({ unit: 'grapheme', maxLength: 12 }), { maxKeys: 4 }),
  { nil: undefined },
);

/** What reading back a value written as `dtype` must give. */
function rounded(dtype: 'F32' | 'F16' | 'BF16', data: Float32Array): Float32Array {
  if (dtype === 'F32') return data;
  return Float32Array.from(data, (x) => (dtype === 'F16' ? f16ToF32(f32ToF16(x)) : bf16ToF32(f32ToBf16(x))));
}

describe('safetensors: write -> read round trips', () => {
  it('returns the same tensors, shapes, metadata and (rounded) values', async () => {
    await fc.assert(
      fc.asyncProperty(tensorSetArb, metadataArb, async (tensors, metadata) => {
        const bytes = writeSafetensors(tensors, metadata);
        const src = bytesSource(bytes, 'rt.safetensors');
        const file = await readSafetensorsHeader(src, { requireAligned: true }); // the writer always aligns
        expect(file.metadata).toEqual(metadata ?? {});
        expect(file.tensors.size).toBe(tensors.length);
        expect((file.dataOffset - 8) % 8).toBe(0);
        for (const t of tensors) {
          const info = file.tensors.get(t.name)!;
          expect(info.dtype).toBe(t.dtype);
          expect(info.shape).toEqual(t.shape);
          const got = await readSafetensorF32(file, src, t.name);
          const want = rounded(t.dtype, t.data);
          const i = firstMismatch(got, want);
          expect(i, `${t.dtype} '${t.name}' index ${i}: got ${got[i]} want ${want[i]}`).toBe(-1);
          if (t.dtype === 'F32') {
            expect(new Uint32Array(got.buffer)).toEqual(new Uint32Array(t.data.buffer)); // bit-exact, NaN payloads too
          }
          if (t.dtype === 'BF16') {
            expect([...new Uint32Array(got.buffer)]).toEqual([...t.data].map((x) => (f32ToBf16(x) << 16) >>> 0));
          }
        }
      }),
      { numRuns: 200 },
    );
  });

  it('is deterministic: the same tensors in any order give the same bytes', () => {
    fc.assert(
      fc.property(tensorSetArb, metadataArb, (tensors, metadata) => {
        const a = writeSafetensors(tensors, metadata);
        const b = writeSafetensors([...tensors].reverse(), metadata);
        expect(a).toEqual(b);
      }),
      { numRuns: 100 },
    );
  });

  it('reads F32/F16/BF16 correctly from unaligned source bytes', async () => {
    const tensors: SafetensorsWriteTensor[] = [
      { name: 'f', dtype: 'F32', shape: [3], data: new Float32Array([1.5, -2, 3.25]) },
      { name: 'h', dtype: 'F16', shape: [2], data: new Float32Array([0.25, -8]) },
      { name: 'b', dtype: 'BF16', shape: [2], data: new Float32Array([-0.5, 64]) },
    ];
    const file = writeSafetensors(tensors);
    const shifted = new Uint8Array(file.length + 1).subarray(1); // every view now starts at an odd byteOffset
    shifted.set(file);
    const src = bytesSource(shifted);
    const h = await readSafetensorsHeader(src);
    expect([...(await readSafetensorF32(h, src, 'f'))]).toEqual([1.5, -2, 3.25]);
    expect([...(await readSafetensorF32(h, src, 'h'))]).toEqual([0.25, -8]);
    expect([...(await readSafetensorF32(h, src, 'b'))]).toEqual([-0.5, 64]);
  });

  it('returns a copy, not a view of the source bytes', async () => {
    const bytes = writeSafetensors([{ name: 'f', dtype: 'F32', shape: [2], data: new Float32Array([1, 2]) }]);
    const src = bytesSource(bytes);
    const h = await readSafetensorsHeader(src);
    const a = await readSafetensorF32(h, src, 'f');
    a[0] = 99;
    expect([...(await readSafetensorF32(h, src, 'f'))]).toEqual([1, 2]);
  });

  it('reads the header without touching a data byte', async () => {
    await fc.assert(
      fc.asyncProperty(tensorSetArb, metadataArb, async (tensors, metadata) => {
        const { src, reads } = countingSource(writeSafetensors(tensors, metadata));
        const file = await readSafetensorsHeader(src);
        expect(reads.length).toBe(2);
        for (const [, end] of reads) expect(end).toBeLessThanOrEqual(file.dataOffset);
      }),
      { numRuns: 50 },
    );
  });

  it('rounds to nearest even when writing F16/BF16', async () => {
    // 1 + 2^-11 is halfway between f16 1 and 1 + 2^-10: ties to even -> 1. 1 + 3*2^-11 -> 1 + 2^-9.
    // bf16: 1 + 2^-8 is halfway between 1 and 1 + 2^-7 -> 1.
    const x = new Float32Array([1 + 2 ** -11, 1 + 3 * 2 ** -11]);
    const y = new Float32Array([1 + 2 ** -8, 1 + 3 * 2 ** -8]);
    const bytes = writeSafetensors([
      { name: 'h', dtype: 'F16', shape: [2], data: x },
      { name: 'b', dtype: 'BF16', shape: [2], data: y },
    ]);
    const src = bytesSource(bytes);
    const h = await readSafetensorsHeader(src);
    expect([...(await readSafetensorF32(h, src, 'h'))]).toEqual([1, 1 + 2 ** -9]);
    expect([...(await readSafetensorF32(h, src, 'b'))]).toEqual([1, 1 + 2 ** -6]);
    expect(f32Bits(1)).toBe(0x3f800000);
  });
});

// --- validation ----------------------------------------------------------------------------------------------------

const t32 = (offsets: [number, number], shape: number[] = [(offsets[1] - offsets[0]) / 4]) => ({ dtype: 'F32', shape, data_offsets: offsets });

describe('safetensors: header validation', () => {
  it('rejects a file shorter than the 8-byte length (truncated)', async () => {
    await expectError(header(new Uint8Array(3)), FormatError, F, 'header length (first 8 bytes)', /truncated/);
  });

  it('rejects an absurd header length', async () => {
    const b = new Uint8Array(16);
    new DataView(b.buffer).setBigUint64(0, 1n << 40n, true);
    await expectError(header(b), FormatError, F, 'header length', /1099511627776 bytes is more than the 100000000-byte limit/);
  });

  it('rejects a header length past the end of the file (truncated)', async () => {
    const b = rawFile('{}').subarray(0, 9);
    await expectError(header(b), FormatError, F, 'header length', /claims 8 bytes.*only 1.*truncated/);
  });

  it('rejects invalid UTF-8, invalid JSON and non-objects', async () => {
    const bad = rawFile('{"a":1}');
    bad[10] = 0xff;
    await expectError(header(bad), FormatError, F, 'header', /not valid UTF-8/);
    await expectError(header(rawFile('{"a":')), FormatError, F, 'header', /not valid JSON/);
    await expectError(header(rawFile('[1,2]')), FormatError, F, 'header', /not a JSON object \(got an array\)/);
    await expectError(header(rawFile('"x"')), FormatError, F, 'header', /not a JSON object/);
  });

  it('rejects non-string metadata values and a non-object __metadata__', async () => {
    await expectError(header(rawFile({ __metadata__: { format: 'pt', n: 3 } })), FormatError, F, "__metadata__['n']", /must be a string, got number 3/);
    await expectError(header(rawFile({ __metadata__: ['pt'] })), FormatError, F, '__metadata__', /must be an object of strings/);
    expect((await header(rawFile({ __metadata__: null }))).metadata).toEqual({});
  });

  it('rejects an unknown dtype, naming it and the known ones', async () => {
    const e = await expectError(
      header(rawFile({ w: { dtype: 'Q4_0', shape: [2], data_offsets: [0, 2] } }, [0, 0])),
      FormatError,
      F,
      "tensor 'w'.dtype",
      /unknown dtype 'Q4_0'/,
    );
    for (const d of ['F32', 'F16', 'BF16', 'I8', 'U8', 'I16', 'I32', 'I64', 'F64', 'BOOL', 'F8_E4M3']) expect(e.message).toContain(d);
    await expectError(header(rawFile({ w: { dtype: 7, shape: [], data_offsets: [0, 4] } }, [0, 0, 0, 0])), FormatError, F, "tensor 'w'.dtype", /must be a string/);
  });

  it('accepts known-but-unsupported dtypes in the header and refuses to convert them', async () => {
    const cases: [string, number[], number][] = [['I8', [3], 3], ['U8', [2, 2], 4], ['I16', [2], 4], ['I32', [1], 4], ['I64', [1], 8], ['F64', [1], 8], ['BOOL', [2], 2], ['F8_E4M3', [4], 4], ['F4', [2], 1]];
    for (const [dtype, shape, nbytes] of cases) {
      const src = bytesSource(rawFile({ w: { dtype, shape, data_offsets: [0, nbytes] } }, new Array(nbytes).fill(0)), F);
      const file = await readSafetensorsHeader(src);
      expect(file.tensors.get('w')!.dtype).toBe(dtype);
      await expectError(readSafetensorF32(file, src, 'w'), TensorError, F, 'w', new RegExp(`dtype ${dtype} is a valid safetensors dtype, but this reader converts only F32, F16, BF16`));
    }
  });

  it('rejects a tensor entry that is not an object', async () => {
    await expectError(header(rawFile({ w: [0, 4] })), FormatError, F, "tensor 'w'", /must be an object \{dtype, shape, data_offsets\}/);
  });

  it('rejects shapes that are not arrays of non-negative integers', async () => {
    for (const shape of [[-1], [1.5], ['2'], 3, null]) {
      await expectError(header(rawFile({ w: { dtype: 'F32', shape, data_offsets: [0, 4] } }, [0, 0, 0, 0])), FormatError, F, "tensor 'w'.shape", /non-negative integers/);
    }
    await expectError(header(rawFile({ w: { dtype: 'F4', shape: [3], data_offsets: [0, 1] } }, [0])), FormatError, F, "tensor 'w'.shape", /not a whole number of bytes/);
    await expectError(header(rawFile({ w: { dtype: 'F32', shape: [2 ** 30, 2 ** 30, 2 ** 30], data_offsets: [0, 4] } }, [0, 0, 0, 0])), FormatError, F, "tensor 'w'.shape", /too large/);
  });

  it('rejects data_offsets that are not [begin <= end]', async () => {
    await expectError(header(rawFile({ w: { dtype: 'F32', shape: [1], data_offsets: [4] } }, new Array(8).fill(0))), FormatError, F, "tensor 'w'.data_offsets", /must be \[begin, end\]/);
    await expectError(header(rawFile({ w: { dtype: 'F32', shape: [1], data_offsets: [0, -4] } }, new Array(8).fill(0))), FormatError, F, "tensor 'w'.data_offsets", /must be \[begin, end\]/);
    await expectError(header(rawFile({ w: { dtype: 'F32', shape: [1], data_offsets: [8, 4] } }, new Array(8).fill(0))), FormatError, F, "tensor 'w'.data_offsets", /\[8, 4\] has begin > end/);
  });

  it('rejects a byte size that does not match shape * dtype size', async () => {
    await expectError(header(rawFile({ w: t32([0, 8], [3]) }, new Array(8).fill(0))), FormatError, F, "tensor 'w'.data_offsets", /spans 8 bytes but F32 \[3\] needs 12/);
    await expectError(header(rawFile({ w: { dtype: 'BF16', shape: [], data_offsets: [0, 4] } }, new Array(4).fill(0))), FormatError, F, "tensor 'w'.data_offsets", /spans 4 bytes but BF16 \[\] needs 2/);
  });

  it('rejects a tensor past the end of the file (truncated)', async () => {
    const whole = rawFile({ a: t32([0, 8]), b: t32([8, 16]) }, new Array(16).fill(0));
    await header(whole);
    await expectError(header(whole.subarray(0, whole.length - 3)), FormatError, F, "tensor 'b'.data_offsets", /\[8, 16\] ends past the data buffer, which has only 13 bytes \(truncated file\)/);
  });

  it('rejects overlapping tensors', async () => {
    await expectError(header(rawFile({ a: t32([0, 8]), b: t32([4, 12]) }, new Array(12).fill(0))), FormatError, F, "tensor 'b'.data_offsets", /\[4, 12\] overlaps tensor 'a' \[0, 8\]/);
    await expectError(header(rawFile({ a: t32([0, 8]), b: t32([0, 8]) }, new Array(8).fill(0))), FormatError, F, "tensor 'b'.data_offsets", /overlaps tensor 'a'/);
  });

  it('rejects holes: between tensors, before the first, after the last', async () => {
    await expectError(header(rawFile({ a: t32([0, 4]), b: t32([8, 12]) }, new Array(12).fill(0))), FormatError, F, "tensor 'b'.data_offsets", /hole: tensor 'a' ends at 4, so bytes 4\.\.8 belong to no tensor/);
    await expectError(header(rawFile({ a: t32([4, 8]) }, new Array(8).fill(0))), FormatError, F, "tensor 'a'.data_offsets", /hole: the data buffer starts at 0, so bytes 0\.\.4/);
    await expectError(header(rawFile({ a: t32([0, 4]) }, new Array(6).fill(0))), FormatError, F, 'data buffer', /has 6 bytes but the tensors cover only 0\.\.4/);
    await expectError(header(rawFile({}, [1])), FormatError, F, 'data buffer', /has 1 bytes but the tensors cover only 0\.\.0/);
  });

  it('accepts zero-size tensors at tensor boundaries and an empty file', async () => {
    const f = await header(rawFile({ a: t32([0, 4]), z: { dtype: 'F16', shape: [0, 5], data_offsets: [4, 4] }, b: t32([4, 8]) }, new Array(8).fill(0)));
    expect(f.tensors.get('z')!.begin).toBe(f.tensors.get('b')!.begin);
    const empty = await header(rawFile({}));
    expect(empty.tensors.size).toBe(0);
  });

  it('misaligned offsets: accepted by default (read through a copy), a clear error with requireAligned', async () => {
    // An unpadded 57-byte header: the data buffer starts at the odd file offset 65.
    let text = JSON.stringify({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } });
    text += ' '.repeat(57 - text.length);
    const bytes = rawFile(text, f32Bytes([1.25, -3]), false);
    const src = bytesSource(bytes, F);
    const file = await readSafetensorsHeader(src);
    expect(file.tensors.get('a')!.begin).toBe(65);
    expect([...(await readSafetensorF32(file, src, 'a'))]).toEqual([1.25, -3]);
    await expectError(header(bytes, { requireAligned: true }), FormatError, F, "tensor 'a'", /misaligned: F32 data starts at file offset 65, not a multiple of 4/);
    // Offsets misaligned inside a padded header: F16 at relative offset 1 after a U8.
    const b2 = rawFile({ u: { dtype: 'U8', shape: [1], data_offsets: [0, 1] }, h: { dtype: 'F16', shape: [1], data_offsets: [1, 3] } }, [7, 0x00, 0x3c]);
    const s2 = bytesSource(b2, F);
    const f2 = await readSafetensorsHeader(s2);
    expect([...(await readSafetensorF32(f2, s2, 'h'))]).toEqual([1]);
    await expectError(header(b2, { requireAligned: true }), FormatError, F, "tensor 'h'", /misaligned: F16 data starts at file offset \d+, not a multiple of 2/);
  });

  it('reports an unknown tensor name as a TensorError listing some names', async () => {
    const src = bytesSource(writeSafetensors([{ name: 'a', dtype: 'F32', shape: [1], data: new Float32Array([1]) }]), F);
    const file = await readSafetensorsHeader(src);
    await expectError(readSafetensorF32(file, src, 'nope'), TensorError, F, 'nope', /not in this file \(it has 1 tensors: 'a'\)/);
  });
});

describe('safetensors: writer input checks', () => {
  const one = new Float32Array([1]);
  it('rejects bad input naming the tensor', () => {
    expect(() => writeSafetensors([{ name: 'a', dtype: 'F32', shape: [2], data: one }])).toThrow(/'a': data has 1 values but shape \[2\] needs 2/);
    expect(() => writeSafetensors([{ name: 'a', dtype: 'F32', shape: [1], data: one }, { name: 'a', dtype: 'F16', shape: [1], data: one }])).toThrow(TensorError);
    expect(() => writeSafetensors([{ name: '__metadata__', dtype: 'F32', shape: [1], data: one }])).toThrow(/reserved/);
    expect(() => writeSafetensors([{ name: 'a', dtype: 'F32', shape: [-1], data: one }])).toThrow(/non-negative integers/);
    expect(() => writeSafetensors([{ name: 'a', dtype: 'I32', shape: [2], bytes: new Uint8Array(4) }])).toThrow(/bytes has 4 bytes but I32 \[2\] needs 8/);
    expect(() => writeSafetensors([{ name: '\ud800', dtype: 'F32', shape: [1], data: one }])).toThrow(/surrogate/);
    expect(() => writeSafetensors([], { k: 1 as unknown as string })).toThrow(/must be a string/);
  });
});

// --- HF folders ----------------------------------------------------------------------------------------------------

const CONFIG = JSON.stringify({ model_type: 'lfm2', hidden_size: 4 });
const shard1 = () =>
  writeSafetensors([
    { name: 'model.embed_tokens.weight', dtype: 'BF16', shape: [2, 2], data: new Float32Array([1, 2, 3, 4]) },
    { name: 'model.embedding_norm.weight', dtype: 'F32', shape: [2], data: new Float32Array([0.5, 0.25]) },
  ]);
const shard2 = () => writeSafetensors([{ name: 'model.layers.0.ffn_norm.weight', dtype: 'F16', shape: [2], data: new Float32Array([1, -1]) }]);
const S1 = 'model-00001-of-00002.safetensors';
const S2 = 'model-00002-of-00002.safetensors';
const index = (weightMap: Record<string, string>) => JSON.stringify({ metadata: { total_size: 22 }, weight_map: weightMap });
const goodMap = {
  'model.embed_tokens.weight': S1,
  'model.embedding_norm.weight': S1,
  'model.layers.0.ffn_norm.weight': S2,
};

/** memoryFileSet with sources that count open/close. */
function trackedFileSet(files: Record<string, Uint8Array | string>, name = 'lfm') {
  const inner = memoryFileSet(files, name);
  const state = { open: 0, closed: 0 };
  const set: FileSet = {
    name,
    async open(file) {
      const s = await inner.open(file);
      if (!s) return null;
      state.open++;
      return { ...s, read: s.read, close: async () => void state.closed++ };
    },
  };
  return { set, state };
}

describe('HF folder loading', () => {
  it('loads a sharded folder (2 shards + index) and closes every source', async () => {
    const { set, state } = trackedFileSet({ 'config.json': CONFIG, 'model.safetensors.index.json': index(goodMap), [S1]: shard1(), [S2]: shard2() });
    const m = await openHfFolder(set);
    expect(m.name).toBe('lfm');
    expect(m.config).toEqual({ model_type: 'lfm2', hidden_size: 4 });
    expect(m.tensorNames()).toEqual(Object.keys(goodMap).sort());
    expect(m.has('model.embed_tokens.weight')).toBe(true);
    expect(m.has('lm_head.weight')).toBe(false);
    expect(m.info('model.layers.0.ffn_norm.weight')).toEqual({ dtype: 'F16', shape: [2], file: S2 });
    expect(m.info('model.embed_tokens.weight')).toEqual({ dtype: 'BF16', shape: [2, 2], file: S1 });
    expect([...(await m.readF32('model.embed_tokens.weight'))]).toEqual([1, 2, 3, 4]);
    expect([...(await m.readF32('model.embedding_norm.weight'))]).toEqual([0.5, 0.25]);
    expect([...(await m.readF32('model.layers.0.ffn_norm.weight'))]).toEqual([1, -1]);
    expect([...(await m.readRaw('model.layers.0.ffn_norm.weight'))]).toEqual([0x00, 0x3c, 0x00, 0xbc]);
    await expectError(Promise.resolve().then(() => m.info('lm_head.weight')), TensorError, 'lfm', 'lm_head.weight', /not in this model folder/);
    await m.close();
    expect(state.closed).toBe(state.open);
    await expectError(m.readF32('model.embed_tokens.weight'), TensorError, 'lfm', 'model.embed_tokens.weight', /closed/);
  });

  it('loads a single model.safetensors (preferred over an index, as transformers does)', async () => {
    const single = writeSafetensors([{ name: 'w', dtype: 'F32', shape: [1], data: new Float32Array([7]) }]);
    const m = await openHfFolder(memoryFileSet({ 'config.json': CONFIG, 'model.safetensors': single, 'model.safetensors.index.json': 'not even json' }, 'one'));
    expect(m.tensorNames()).toEqual(['w']);
    expect(m.info('w').file).toBe('model.safetensors');
    expect([...(await m.readF32('w'))]).toEqual([7]);
    await m.close();
  });

  it('names the missing shard', async () => {
    const { set, state } = trackedFileSet({ 'config.json': CONFIG, 'model.safetensors.index.json': index(goodMap), [S1]: shard1() });
    await expectError(openHfFolder(set), FormatError, 'lfm/model.safetensors.index.json', 'weight_map', /shard 'model-00002-of-00002\.safetensors' \(holding 'model\.layers\.0\.ffn_norm\.weight'\) is missing from lfm/);
    expect(state.closed).toBe(state.open); // the shard opened before the failure was closed
  });

  it('rejects a weight_map tensor that is not in its shard', async () => {
    const map = { ...goodMap, 'model.layers.0.operator_norm.weight': S2 };
    await expectError(
      openHfFolder(memoryFileSet({ 'config.json': CONFIG, 'model.safetensors.index.json': index(map), [S1]: shard1(), [S2]: shard2() }, 'lfm')),
      TensorError,
      `lfm/${S2}`,
      'model.layers.0.operator_norm.weight',
      /listed in model\.safetensors\.index\.json weight_map for this shard but is not in it/,
    );
  });

  it('rejects a tensor present in two shards', async () => {
    const dup = writeSafetensors([
      { name: 'model.embedding_norm.weight', dtype: 'F32', shape: [2], data: new Float32Array([0.5, 0.25]) },
      { name: 'model.layers.0.ffn_norm.weight', dtype: 'F16', shape: [2], data: new Float32Array([1, -1]) },
    ]);
    await expectError(
      openHfFolder(memoryFileSet({ 'config.json': CONFIG, 'model.safetensors.index.json': index(goodMap), [S1]: shard1(), [S2]: dup }, 'lfm')),
      TensorError,
      `lfm/${S2}`,
      'model.embedding_norm.weight',
      new RegExp(`also in shard '${S1}'`),
    );
  });

  it('rejects a shard tensor that the weight_map does not list', async () => {
    const extra = writeSafetensors([
      { name: 'model.layers.0.ffn_norm.weight', dtype: 'F16', shape: [2], data: new Float32Array([1, -1]) },
      { name: 'stray', dtype: 'F32', shape: [1], data: new Float32Array([0]) },
    ]);
    await expectError(
      openHfFolder(memoryFileSet({ 'config.json': CONFIG, 'model.safetensors.index.json': index(goodMap), [S1]: shard1(), [S2]: extra }, 'lfm')),
      TensorError,
      `lfm/${S2}`,
      'stray',
      /weight_map does not list it/,
    );
  });

  it('rejects a malformed index and shard names that leave the folder', async () => {
    const base = { 'config.json': CONFIG, [S1]: shard1(), [S2]: shard2() };
    const P = 'lfm/model.safetensors.index.json';
    await expectError(openHfFolder(memoryFileSet({ ...base, 'model.safetensors.index.json': '{' }, 'lfm')), FormatError, P, 'json', /not valid JSON/);
    await expectError(openHfFolder(memoryFileSet({ ...base, 'model.safetensors.index.json': '{"metadata":{}}' }, 'lfm')), FormatError, P, 'weight_map', /must be an object/);
    await expectError(openHfFolder(memoryFileSet({ ...base, 'model.safetensors.index.json': index({ a: 3 as unknown as string }) }, 'lfm')), FormatError, P, "weight_map['a']", /file name string/);
    await expectError(openHfFolder(memoryFileSet({ ...base, 'model.safetensors.index.json': index({ a: '../x.safetensors' }) }, 'lfm')), FormatError, P, "weight_map['a']", /not a plain file name/);
  });

  it('reports a bad shard header with the shard file name', async () => {
    const files = { 'config.json': CONFIG, 'model.safetensors.index.json': index(goodMap), [S1]: shard1(), [S2]: shard2().subarray(0, 20) };
    await expectError(openHfFolder(memoryFileSet(files, 'lfm')), FormatError, `lfm/${S2}`, 'header length', /truncated/);
  });

  it('requires config.json and a weights file', async () => {
    await expectError(openHfFolder(memoryFileSet({ 'model.safetensors': shard2() }, 'lfm')), ConfigError, 'lfm/config.json', 'config.json', /missing/);
    await expectError(openHfFolder(memoryFileSet({ 'config.json': '{"a":', 'model.safetensors': shard2() }, 'lfm')), FormatError, 'lfm/config.json', 'json', /not valid JSON/);
    await expectError(openHfFolder(memoryFileSet({ 'config.json': '[]', 'model.safetensors': shard2() }, 'lfm')), FormatError, 'lfm/config.json', 'json', /must be a JSON object/);
    await expectError(openHfFolder(memoryFileSet({ 'config.json': CONFIG }, 'lfm')), FormatError, 'lfm', 'weights', /neither model\.safetensors nor model\.safetensors\.index\.json/);
  });
});
