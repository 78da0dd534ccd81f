// GGUF reader/writer: lossless round trips (fast-check), a hand-assembled file, lazy header reads, and one test
// per validation rule checking the error class and that the message names the file and the field or tensor.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { blobSource, bytesSource, type ByteSource } from '../reference/bytes.js';
import { FormatError, TensorError } from '../reference/errors.js';
import { f32FromBits } from '../reference/f16.js';
import { GgmlType, ggmlRowBytes } from '../reference/ggml-type.js';
import {
  concatParts,
  ggufArray,
  ggufGet,
  ggufNumber,
  ggufNumbers,
  ggufString,
  GgufValueType as T,
  gv,
  readGguf,
  readGgufTensorBytes,
  readGgufTensorF32,
  writeGguf,
  type GgufArray,
  type GgufFile,
  type GgufTensorSpec,
  type GgufValue,
  type GgufWriteSpec,
} from '../reference/gguf.js';

// --- helpers ----------------------------------------------------------------------------------------------------

/** Assembles little-endian bytes by hand, independently of the writer under test. */
class Bytes {
  private out: number[] = [];
  get length(): number {
    return this.out.length;
  }
  u8(...xs: number[]): this {
    for (const x of xs) this.out.push(x & 0xff);
    return this;
  }
  u32(x: number): this {
    return this.u8(x, x >>> 8, x >>> 16, x >>> 24);
  }
  u64(x: number | bigint): this {
    const b = BigInt(x);
    return this.u32(Number(b & 0xffffffffn)).u32(Number(b >> 32n));
  }
  f32(x: number): this {
    const v = new DataView(new ArrayBuffer(4));
    v.setFloat32(0, x, true);
    return this.u8(...new Uint8Array(v.buffer));
  }
  str(s: string): this {
    const b = new TextEncoder().encode(s);
    return this.u64(b.length).u8(...b);
  }
  padTo(a: number): this {
    while (this.out.length % a !== 0) this.out.push(0);
    return this;
  }
  build(): Uint8Array {
    return new Uint8Array(this.out);
  }
}

/** "GGUF", version, tensor_count, kv_count. */
function head(version: number, tensors: number | bigint, kvs: number | bigint): Bytes {
  return new Bytes().u8(0x47, 0x47, 0x55, 0x46).u32(version).u64(tensors).u64(kvs);
}

const FILE = 'test.gguf';
const src = (bytes: Uint8Array) => bytesSource(bytes, FILE);

/** Runs `readGguf` on bytes and returns the error it throws (fails the test when it does not throw). */
async function readError(bytes: Uint8Array): Promise<Error> {
  try {
    await readGguf(src(bytes));
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected readGguf to throw');
}

/** The error is a FormatError about `field` of test.gguf whose message matches `re`. */
async function expectFormatError(bytes: Uint8Array, field: string, re: RegExp): Promise<void> {
  const e = await readError(bytes);
  expect(e).toBeInstanceOf(FormatError);
  expect((e as FormatError).file).toBe(FILE);
  expect((e as FormatError).field).toBe(field);
  expect(e.message).toContain(FILE);
  expect(e.message).toContain(field);
  expect(e.message).toMatch(re);
}

/**
 * A comparable form of a value: float bits instead of numbers (-0), bytes of typed arrays (NaN payloads kept).
 * A scalar NaN is just 'NaN': a JS number cannot be relied on to keep a NaN's payload (reference/gguf.ts).
 */
function canon(v: GgufValue): unknown {
  if (v.type === T.ARRAY) {
    const items = v.value;
    if (ArrayBuffer.isView(items)) return { a: v.itemType, hex: Buffer.from(items.buffer, items.byteOffset, items.byteLength).toString('hex') };
    return { a: v.itemType, items: v.itemType === T.ARRAY ? (items as GgufArray[]).map(canon) : [...items] };
  }
  if (typeof v.value === 'number' && Number.isNaN(v.value)) return { t: v.type, nan: true };
  if (typeof v.value === 'number') return { t: v.type, bits: Buffer.from(new Float64Array([v.value]).buffer).toString('hex') };
  return { t: v.type, v: v.value };
}

function canonMeta(m: Iterable<readonly [string, GgufValue]>): unknown[] {
  return [...m].map(([k, v]) => [k, canon(v)]);
}

async function specOf(file: GgufFile, s: ByteSource): Promise<GgufWriteSpec> {
  const tensors: GgufTensorSpec[] = [];
  for (const t of file.tensors) tensors.push({ name: t.name, dims: t.dims, type: t.type, data: await readGgufTensorBytes(file, s, t.name) });
  return { version: file.version as 2 | 3, metadata: file.metadata, tensors };
}

// --- arbitraries ------------------------------------------------------------------------------------------------

const U64_MAX = (1n << 64n) - 1n;
const I64_MIN = -(1n << 63n);
const I64_MAX = (1n << 63n) - 1n;

/** f32 values: anything fc.float makes (±0, ±inf, subnormals) plus quiet NaNs with random payload and sign. */
const f32Value = fc.oneof(fc.float(), fc.integer({ min: 0, max: 0x3fffff }).chain((p) => fc.boolean().map((s) => f32FromBits((s ? 0xffc00000 : 0x7fc00000) | p))));
const f64Value = fc.oneof(
  fc.double(),
  fc.bigInt({ min: 0n, max: (1n << 51n) - 1n }).map((p) => new Float64Array(new BigUint64Array([0x7ff8000000000000n | p]).buffer)[0]),
);
const str = fc.oneof(fc.constant(''), fc.string({ unit: 'binary', maxLength: 24 }));

const scalar: fc.Arbitrary<GgufValue> = fc.oneof(
  fc.integer({ min: 0, max: 0xff }).map(gv.u8),
  fc.integer({ min: -0x80, max: 0x7f }).map(gv.i8),
  fc.integer({ min: 0, max: 0xffff }).map(gv.u16),
  fc.integer({ min: -0x8000, max: 0x7fff }).map(gv.i16),
  fc.integer({ min: 0, max: 0xffffffff }).map(gv.u32),
  fc.integer({ min: -0x80000000, max: 0x7fffffff }).map(gv.i32),
  f32Value.map(gv.f32),
  fc.boolean().map(gv.bool),
  str.map(gv.str),
  fc.oneof(fc.constantFrom(0n, U64_MAX), fc.bigInt({ min: 0n, max: U64_MAX })).map(gv.u64),
  fc.oneof(fc.constantFrom(I64_MIN, I64_MAX, -1n), fc.bigInt({ min: I64_MIN, max: I64_MAX })).map(gv.i64),
  f64Value.map(gv.f64),
);

/** Random bytes of n items of `size` bytes: every bit pattern, signalling NaNs included for float arrays. */
const rawItems = (size: number) => fc.uint8Array({ maxLength: 12 * size }).map((b) => b.slice(0, b.length - (b.length % size)).buffer);
const leafArray: fc.Arbitrary<GgufArray> = fc.oneof(
  rawItems(1).map((b) => gv.arr(T.UINT8, new Uint8Array(b))),
  rawItems(1).map((b) => gv.arr(T.INT8, new Int8Array(b))),
  rawItems(2).map((b) => gv.arr(T.UINT16, new Uint16Array(b))),
  rawItems(2).map((b) => gv.arr(T.INT16, new Int16Array(b))),
  rawItems(4).map((b) => gv.arr(T.UINT32, new Uint32Array(b))),
  rawItems(4).map((b) => gv.arr(T.INT32, new Int32Array(b))),
  rawItems(4).map((b) => gv.arr(T.FLOAT32, new Float32Array(b))),
  rawItems(8).map((b) => gv.arr(T.UINT64, new BigUint64Array(b))),
  rawItems(8).map((b) => gv.arr(T.INT64, new BigInt64Array(b))),
  rawItems(8).map((b) => gv.arr(T.FLOAT64, new Float64Array(b))),
  fc.array(fc.boolean(), { maxLength: 10 }).map((v) => gv.arr(T.BOOL, v)),
  fc.array(str, { maxLength: 10 }).map(gv.strArr),
);
const anyArray: fc.Arbitrary<GgufArray> = fc.letrec<{ arr: GgufArray }>((tie) => ({
  arr: fc.oneof({ depthSize: 'small' }, leafArray, fc.array(tie('arr'), { maxLength: 3 }).map((v) => gv.arr(T.ARRAY, v))),
})).arr;

const metadata = fc.uniqueArray(fc.tuple(str.filter((k) => k !== 'general.alignment'), fc.oneof(scalar, anyArray)), {
  selector: ([k]) => k,
  maxLength: 8,
});

/** Tensors of the types the brief names, with ne0 a whole number of blocks and random (raw) data. */
const tensor = fc
  .record({
    name: fc.string({ unit: 'binary', maxLength: 15 }),
    type: fc.constantFrom(GgmlType.F32, GgmlType.F16, GgmlType.Q8_0, GgmlType.Q4_0),
    blocks: fc.integer({ min: 0, max: 3 }),
    rest: fc.array(fc.integer({ min: 1, max: 3 }), { maxLength: 3 }),
    seed: fc.integer(),
  })
  .map(({ name, type, blocks, rest, seed }) => {
    const block = type === GgmlType.F32 || type === GgmlType.F16 ? 1 : 32;
    const dims = blocks === 0 && rest.length === 0 ? [] : [blocks * block, ...rest];
    const n = dims.reduce((a, b) => a * b, 1);
    const data = new Uint8Array(ggmlRowBytes(type, n)).map((_, i) => (seed * 31 + i * 17) & 0xff);
    return { name, dims, type, data };
  })
  .filter((t) => t.dims.length > 0 || t.type === GgmlType.F32 || t.type === GgmlType.F16);
const tensors = fc.uniqueArray(tensor, { selector: (t) => t.name, maxLength: 5 });

const spec = fc.record({
  version: fc.constantFrom(2 as const, 3 as const),
  alignment: fc.integer({ min: 0, max: 8 }).map((e) => 2 ** e),
  metadata,
  tensors,
});

// --- round trips ------------------------------------------------------------------------------------------------

describe('GGUF round trip', () => {
  it('write -> read gives the same metadata and tensor bytes, and write(read(x)) gives the same file', async () => {
    await fc.assert(
      fc.asyncProperty(spec, fc.integer({ min: 1, max: 64 }), async (s, chunkSize) => {
        const bytes = concatParts(writeGguf(s));
        const source = src(bytes);
        // Tiny chunks put a read-ahead boundary inside every kind of field.
        const file = await readGguf(source, { chunkSize });

        expect(file.version).toBe(s.version);
        expect(file.alignment).toBe(s.alignment);
        expect(file.dataOffset % s.alignment).toBe(0);
        const expected = canonMeta(s.metadata);
        if (s.alignment !== 32) expected.push(['general.alignment', canon(gv.u32(s.alignment))]);
        expect(canonMeta(file.metadata)).toEqual(expected);

        expect(file.tensors.map((t) => t.name)).toEqual(s.tensors.map((t) => t.name));
        for (const t of s.tensors) {
          const info = file.tensorsByName.get(t.name)!;
          expect(info.dims).toEqual(t.dims);
          expect(info.type).toBe(t.type);
          expect(info.nbytes).toBe(t.data.length);
          expect(info.offset % s.alignment).toBe(0);
          expect(await readGgufTensorBytes(file, source, t.name)).toEqual(t.data);
        }

        const again = concatParts(writeGguf(await specOf(file, source)));
        expect(Buffer.from(again).equals(Buffer.from(bytes))).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('keeps edge values exactly: NaN payloads (arrays bit for bit), -0, u64/i64 limits, empty and unicode strings', async () => {
    const sNaN32 = new Float32Array(new Uint32Array([0x7f800001, 0xffbfffff, 0x80000000]).buffer); // 2 sNaN, -0
    const nan64 = new Float64Array(new BigUint64Array([0x7ff0000000000001n, 0xfff8000000000123n, 0x8000000000000000n]).buffer);
    const meta: [string, GgufValue][] = [
      ['f32.qnan', gv.f32(f32FromBits(0x7fc12345))],
      ['f32.neg0', gv.f32(-0)],
      ['f64.neg0', gv.f64(-0)],
      ['f64.qnan', gv.f64(new Float64Array(new BigUint64Array([0xfff8000000000abcn]).buffer)[0])],
      ['u64.max', gv.u64(U64_MAX)],
      ['i64.min', gv.i64(I64_MIN)],
      ['i64.max', gv.i64(I64_MAX)],
      ['', gv.str('')],
      ['ключ 🔑', gv.str('значение 🦀 \u0000 end')],
      ['f32s', gv.arr(T.FLOAT32, sNaN32)],
      ['f64s', gv.arr(T.FLOAT64, nan64)],
      ['empty', gv.arr(T.ARRAY, [])],
      ['nested', gv.arr(T.ARRAY, [gv.arr(T.ARRAY, [gv.strArr(['a', ''])]), gv.arr(T.INT64, [I64_MIN, 5n])])],
    ];
    const bytes = concatParts(writeGguf({ metadata: meta, tensors: [] }));
    const file = await readGguf(src(bytes));
    expect(canonMeta(file.metadata)).toEqual(canonMeta(meta));
    expect(ggufGet(file, 'u64.max')).toBe(U64_MAX);
    expect(Object.is(ggufGet(file, 'f32.neg0'), -0)).toBe(true);
    expect(new Uint32Array((ggufGet(file, 'f32s') as Float32Array).buffer)[0]).toBe(0x7f800001); // still signalling
    expect(ggufGet(file, 'nested')).toEqual([[['a', '']], new BigInt64Array([I64_MIN, 5n])]);
    expect(Number.isNaN(ggufGet(file, 'f64.qnan'))).toBe(true);
  });

  it('writes a scalar NaN as the canonical quiet NaN whatever its payload (JS numbers do not keep payloads)', () => {
    const one = (v: GgufValue) => concatParts(writeGguf({ metadata: [['k', v]], tensors: [] }));
    const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
    const f64Payload = new Float64Array(new BigUint64Array([0xfff8000000000abcn]).buffer)[0];
    expect(hex(one(gv.f32(f32FromBits(0xffc12345))))).toBe(hex(one(gv.f32(Number.NaN))));
    expect(hex(one(gv.f32(Number.NaN)))).toContain('0000c07f'); // 0x7fc00000 little-endian
    expect(hex(one(gv.f64(f64Payload)))).toBe(hex(one(gv.f64(Number.NaN))));
    expect(hex(one(gv.f64(Number.NaN)))).toContain('000000000000f87f'); // 0x7ff8000000000000 little-endian
  });

  it('reads through a Blob (blobSource) built from the writer parts without concatenating them', async () => {
    const data = new Uint8Array(4 * 96).map((_, i) => i);
    const parts = writeGguf({
      metadata: [['general.architecture', gv.str('lfm2')]],
      tensors: [
        { name: 'a', dims: [96], type: GgmlType.F32, data },
        { name: 'b', dims: [3], type: GgmlType.F32, data: data.subarray(0, 12) },
      ],
    });
    expect(parts[1]).toBe(data); // tensor data is passed through, not copied
    const blob = blobSource(new Blob(parts as BlobPart[]), 'model.gguf');
    const file = await readGguf(blob);
    expect(file.name).toBe('model.gguf');
    expect(ggufString(file, 'general.architecture')).toBe('lfm2');
    expect(await readGgufTensorBytes(file, blob, 'a')).toEqual(data);
    expect(await readGgufTensorF32(file, blob, 'b')).toEqual(new Float32Array(data.slice(0, 12).buffer));
  });
});

// --- a file assembled byte by byte --------------------------------------------------------------------------------

describe('GGUF known bytes', () => {
  // v3, alignment 16, three KVs, an F32 [4] tensor at 0 and a Q8_0 [32, 1] tensor at 16.
  function tinyFile(): { bytes: Uint8Array; dataOffset: number } {
    const b = head(3, 2, 4)
      .str('general.architecture').u32(T.STRING).str('lfm2')
      .str('general.alignment').u32(T.UINT32).u32(16)
      .str('lfm2.attention.head_count_kv').u32(T.ARRAY).u32(T.INT32).u64(3).u32(0).u32(8).u32(0xffffffff)
      .str('lfm2.attention.layer_norm_rms_epsilon').u32(T.FLOAT32).f32(1e-5)
      .str('token_embd_norm.weight').u32(1).u64(4).u32(GgmlType.F32).u64(0)
      .str('blk.0.ffn_up.weight').u32(2).u64(32).u64(1).u32(GgmlType.Q8_0).u64(16)
      .padTo(16);
    const dataOffset = b.length;
    b.f32(1).f32(-2).f32(0.5).f32(3); // 16 bytes: no padding needed
    b.u8(0x00, 0x38); // f16 0.5 = scale d
    for (let j = 0; j < 32; j++) b.u8(j - 16); // qs: int8 -16..15
    b.padTo(16);
    return { bytes: b.build(), dataOffset };
  }

  it('parses a hand-assembled file', async () => {
    const { bytes, dataOffset } = tinyFile();
    const file = await readGguf(src(bytes));
    expect(file.version).toBe(3);
    expect(file.alignment).toBe(16);
    expect(file.dataOffset).toBe(dataOffset);
    expect(ggufString(file, 'general.architecture', { required: true })).toBe('lfm2');
    expect(ggufNumbers(file, 'lfm2.attention.head_count_kv')).toEqual([0, 8, -1]);
    expect(ggufArray(file, 'lfm2.attention.head_count_kv', { itemType: T.INT32 })).toEqual(new Int32Array([0, 8, -1]));
    expect(ggufNumber(file, 'lfm2.attention.layer_norm_rms_epsilon')).toBe(Math.fround(1e-5));
    expect(file.tensors).toEqual([
      { name: 'token_embd_norm.weight', dims: [4], type: GgmlType.F32, offset: dataOffset, nbytes: 16, nelements: 4 },
      { name: 'blk.0.ffn_up.weight', dims: [32, 1], type: GgmlType.Q8_0, offset: dataOffset + 16, nbytes: 34, nelements: 32 },
    ]);
    expect(await readGgufTensorF32(file, src(bytes), 'token_embd_norm.weight')).toEqual(new Float32Array([1, -2, 0.5, 3]));
    const q = await readGgufTensorF32(file, src(bytes), 'blk.0.ffn_up.weight');
    expect(Array.from(q)).toEqual(Array.from({ length: 32 }, (_, j) => (j - 16) * 0.5));
  });

  it('the writer produces exactly the hand-assembled bytes', () => {
    const { bytes, dataOffset } = tinyFile();
    const parts = writeGguf({
      metadata: [
        ['general.architecture', gv.str('lfm2')],
        ['general.alignment', gv.u32(16)],
        ['lfm2.attention.head_count_kv', gv.arr(T.INT32, [0, 8, -1])],
        ['lfm2.attention.layer_norm_rms_epsilon', gv.f32(1e-5)],
      ],
      tensors: [
        { name: 'token_embd_norm.weight', dims: [4], type: GgmlType.F32, data: bytes.slice(dataOffset, dataOffset + 16) },
        { name: 'blk.0.ffn_up.weight', dims: [32, 1], type: GgmlType.Q8_0, data: bytes.slice(dataOffset + 16, dataOffset + 50) },
      ],
    });
    expect(concatParts(parts)).toEqual(bytes);
  });

  it('reads a v2 file and one without tensors; the data section starts at the default alignment 32', async () => {
    const b = head(2, 0, 1).str('k').u32(T.BOOL).u8(1);
    const file = await readGguf(src(b.build()));
    expect(file.version).toBe(2);
    expect(file.alignment).toBe(32);
    expect(file.dataOffset).toBe(Math.ceil(b.length / 32) * 32);
    expect(ggufGet(file, 'k')).toBe(true);
  });
});

// --- lazy reads -------------------------------------------------------------------------------------------------

/** A ByteSource that records every range read. */
function countingSource(bytes: Uint8Array): ByteSource & { reads: [number, number][]; total(): number } {
  const inner = bytesSource(bytes, FILE);
  const reads: [number, number][] = [];
  return {
    name: FILE,
    size: bytes.length,
    reads,
    total: () => reads.reduce((n, [, len]) => n + len, 0),
    read(offset, length, what) {
      reads.push([offset, length]);
      return inner.read(offset, length, what);
    },
  };
}

describe('GGUF lazy header reads', () => {
  const big = new Uint8Array(4 * 1024 * 1024).fill(7); // a 4 MiB F32 tensor
  const tokens = Array.from({ length: 65536 }, (_, i) => `Ġtok${i}é`);
  const bytes = concatParts(
    writeGguf({
      metadata: [
        ['tokenizer.ggml.tokens', gv.strArr(tokens)],
        ['tokenizer.ggml.token_type', gv.arr(T.INT32, new Int32Array(65536).fill(1))],
        ['tokenizer.ggml.merges', gv.strArr(tokens.slice(0, 63683).map((t) => `${t} ${t}`))],
      ],
      tensors: [{ name: 'token_embd.weight', dims: [1024, 1024], type: GgmlType.F32, data: big }],
    }),
  );

  it('reads the header (here ~3 MB of tokenizer) with at most one 64 KiB chunk past it, never the tensor data', async () => {
    const s = countingSource(bytes);
    const file = await readGguf(s);
    expect(ggufArray(file, 'tokenizer.ggml.tokens', { itemType: T.STRING })![65535]).toBe('Ġtok65535é');
    expect(file.dataOffset).toBeGreaterThan(2_000_000);
    expect(file.dataOffset + big.length).toBe(bytes.length);
    // Every read starts inside the header; together they cover the header once plus the read-ahead.
    for (const [offset] of s.reads) expect(offset).toBeLessThan(file.dataOffset);
    expect(s.total()).toBeLessThanOrEqual(file.dataOffset + 64 * 1024);
    expect(s.reads.length).toBeLessThan(100);
    // No clock here (a loaded machine would make it flaky): the read count and bytes above bound the I/O, and a
    // quadratic copy of this 3 MB header (65,536 strings) would run into the test timeout, not pass.

    // A tensor read is exactly its own range.
    s.reads.length = 0;
    await readGgufTensorBytes(file, s, 'token_embd.weight');
    expect(s.reads).toEqual([[file.dataOffset, big.length]]);
  });
});

// --- validation -------------------------------------------------------------------------------------------------

describe('GGUF validation errors', () => {
  it('bad magic says what the file looks like', async () => {
    const st = new Bytes().u64(20).u8(...new TextEncoder().encode('{"__metadata__":{}}  ')).build();
    await expectFormatError(st, 'magic', /bad magic.*expected 'GGUF'.*safetensors/);
    await expectFormatError(new TextEncoder().encode('<!DOCTYPE html><html>'), 'magic', /'<!DO'.*HTML/);
    await expectFormatError(new Uint8Array([0x46, 0x55, 0x47, 0x47, 0, 0, 0, 3]), 'magic', /big-endian/);
    await expectFormatError(new Uint8Array([0x47, 0x47]), 'magic', /truncated/);
  });

  it('rejects v1, unknown versions and byte-swapped versions', async () => {
    await expectFormatError(head(1, 0, 0).build(), 'version', /v1 is no longer supported/);
    await expectFormatError(head(4, 0, 0).build(), 'version', /unsupported GGUF version 4.*2 and 3/);
    await expectFormatError(head(0x03000000, 0, 0).build(), 'version', /big-endian/);
  });

  it('a header cut anywhere gives a FormatError naming the file (no hang, no other error)', async () => {
    const bytes = concatParts(
      writeGguf({
        metadata: [
          ['s', gv.str('hello')],
          ['a', gv.arr(T.ARRAY, [gv.arr(T.UINT16, [1, 2]), gv.strArr(['x', 'yz'])])],
          ['n', gv.u64(5)],
        ],
        tensors: [{ name: 't', dims: [2], type: GgmlType.F32, data: new Uint8Array(8) }],
      }),
    );
    const headerEnd = (await readGguf(src(bytes))).dataOffset;
    // Up to the end of the tensor's 8 bytes; the padding after the last tensor may be missing.
    for (let cut = 0; cut < headerEnd + 8; cut++) {
      const e = await readError(bytes.subarray(0, cut));
      expect(e).toBeInstanceOf(FormatError);
      expect(e.message).toContain(FILE);
      if (cut >= headerEnd) expect(e.message).toContain("tensor 't'");
    }
  });

  it('absurd counts and lengths fail fast without allocating', async () => {
    await expectFormatError(head(3, 1n << 40n, 0).build(), 'tensor_count', /1099511627776 tensors .* cannot fit/);
    await expectFormatError(head(3, 0, 1n << 62n).build(), 'kv_count', /more than 2\^53 metadata entries/);
    await expectFormatError(head(3, 0, 1).u64(1n << 50n).u64(0).build(), 'metadata key #0', /string length .* runs past the end/);
    await expectFormatError(head(3, 0, 1).str('k').u32(T.STRING).u64(1000).build(), 'k', /string length 1000/);
    await expectFormatError(head(3, 0, 1).str('k').u32(T.ARRAY).u32(T.UINT8).u64(1n << 45n).build(), 'k', /35184372088832 UINT8 array items .* cannot fit/);
    await expectFormatError(head(3, 0, 1).str('k').u32(T.ARRAY).u32(T.STRING).u64(100).u64(0).build(), 'k', /STRING array items .* cannot fit/);
    // A count just one item too large is also caught up front.
    await expectFormatError(head(3, 0, 1).str('k').u32(T.ARRAY).u32(T.UINT32).u64(3).u32(1).u32(2).build(), 'k', /3 UINT32 array items/);
  });

  it('unknown value types, bad bools, bad UTF-8 and absurd nesting name the key', async () => {
    await expectFormatError(head(3, 0, 1).str('k').u32(13).u32(0).build(), 'k', /unknown value type 13/);
    await expectFormatError(head(3, 0, 1).str('k').u32(T.ARRAY).u32(42).u64(0).build(), 'k', /unknown array item type 42/);
    await expectFormatError(head(3, 0, 1).str('k').u32(T.BOOL).u8(2).build(), 'k', /bool byte .* is 2/);
    await expectFormatError(head(3, 0, 1).str('k').u32(T.STRING).u64(2).u8(0xc3, 0x28).build(), 'k', /not valid UTF-8/);
    const deep = head(3, 0, 1).str('k').u32(T.ARRAY);
    for (let i = 0; i < 100; i++) deep.u32(T.ARRAY).u64(1);
    await expectFormatError(deep.u32(T.UINT8).u64(0).build(), 'k', /nested deeper than 64/);
  });

  it('duplicate keys and duplicate tensor names', async () => {
    await expectFormatError(head(3, 0, 2).str('k').u32(T.UINT8).u8(1).str('k').u32(T.UINT8).u8(2).build(), 'k', /duplicate metadata key/);
    const t = (b: Bytes) => b.str('w').u32(1).u64(1).u32(GgmlType.F32).u64(0);
    await expectFormatError(t(t(head(3, 2, 0))).padTo(32).u64(0).build(), "tensor 'w'", /duplicate tensor name/);
  });

  it('general.alignment must be a u32 power of two', async () => {
    await expectFormatError(head(3, 0, 1).str('general.alignment').u32(T.UINT32).u32(48).build(), 'general.alignment', /power of two, got 48/);
    await expectFormatError(head(3, 0, 1).str('general.alignment').u32(T.UINT32).u32(0).build(), 'general.alignment', /power of two, got 0/);
    await expectFormatError(head(3, 0, 1).str('general.alignment').u32(T.UINT64).u64(32).build(), 'general.alignment', /must be a UINT32, got UINT64/);
  });

  /** One tensor info `w` (+ 64 bytes of data) after an empty metadata section. */
  const oneTensor = (nDims: number, dims: number[], type: number, offset: number | bigint) => {
    const b = head(3, 1, 0).str('w').u32(nDims);
    for (const d of dims) b.u64(d);
    return b.u32(type).u64(offset).padTo(32).u64(0).u64(0).u64(0).u64(0).u64(0).u64(0).u64(0).u64(0).build();
  };

  it('tensor infos: dims, ggml type, block size, alignment, bounds', async () => {
    await expectFormatError(oneTensor(5, [1, 1, 1, 1, 1], GgmlType.F32, 0), "tensor 'w'", /5 dimensions; ggml allows at most 4/);
    await expectFormatError(oneTensor(2, [1 << 30, 1 << 30], GgmlType.F32, 0), "tensor 'w'", /element count absurd/);
    await expectFormatError(oneTensor(1, [4], 99, 0), "tensor 'w'", /unknown ggml type 99 \(known: F32=0/);
    await expectFormatError(oneTensor(1, [16], GgmlType.Q8_0, 0), "tensor 'w'", /ne0 = 16 is not a multiple of the Q8_0 block size 32/);
    await expectFormatError(oneTensor(1, [4], GgmlType.F32, 4), "tensor 'w'", /data offset 4 is not a multiple of the alignment 32/);
    await expectFormatError(oneTensor(1, [4], GgmlType.F32, 1n << 60n), "tensor 'w'", /over 2\^53/);
    await expectFormatError(oneTensor(1, [32], GgmlType.F32, 0), "tensor 'w'", /F32 \[32\].* runs past the end of the \d+-byte file/);
    await expectFormatError(oneTensor(1, [4], GgmlType.F32, 64), "tensor 'w'", /runs past the end/);
  });

  it('overlapping tensors name both tensors', async () => {
    const b = head(3, 2, 0);
    b.str('a').u32(1).u64(16).u32(GgmlType.F32).u64(0);
    b.str('b').u32(1).u64(4).u32(GgmlType.F32).u64(32); // a covers 0..64, b starts at 32
    const bytes = b.padTo(32).u8(...new Uint8Array(64)).build();
    await expectFormatError(bytes, "tensor 'b'", /overlaps tensor 'a'/);
  });

  // The data section is pinned by gguf.cpp's layout rule (tensors packed in file order, each padded to the
  // alignment) and by the file's end (nothing after the last tensor's padding), so a general.alignment the file was
  // not written with, or swapped offsets, are errors instead of weights read from the wrong bytes.
  /** Tensors a (F32 [4]) and b (F32 [8]) at the given offsets; `data` bytes after the header padding. */
  const twoTensors = (offA: number, offB: number, data: number, alignment?: number) => {
    const b = head(3, 2, alignment === undefined ? 0 : 1);
    if (alignment !== undefined) b.str('general.alignment').u32(T.UINT32).u32(alignment);
    b.str('a').u32(1).u64(4).u32(GgmlType.F32).u64(offA);
    b.str('b').u32(1).u64(8).u32(GgmlType.F32).u64(offB);
    b.padTo(alignment ?? 32);
    return b.u8(...new Uint8Array(data)).build();
  };

  it('tensors packed in file order, the last one padded or not, are read', async () => {
    expect((await readGguf(src(twoTensors(0, 32, 64)))).tensors.map((t) => t.nbytes)).toEqual([16, 32]);
    const unpadded = twoTensors(0, 16, 48, 16); // alignment 16: b ends exactly at the end of the file
    expect((await readGguf(src(unpadded))).tensors[1].offset).toBe((await readGguf(src(unpadded))).dataOffset + 16);
  });

  it('a tensor not at the packed offset (a gap, or the order swapped) is an error naming it and the expected offset', async () => {
    await expectFormatError(twoTensors(0, 64, 96), "tensor 'b'", /data offset 64 breaks the layout: .* so this one must start at 32/);
    await expectFormatError(twoTensors(32, 0, 64), "tensor 'a'", /data offset 32 breaks the layout: .* must start at 0/);
  });

  it('bytes after the last tensor and its padding mean the data section is not where the header says', async () => {
    await expectFormatError(twoTensors(0, 32, 64 + 1), 'data section', /1 bytes follow the last tensor's data \(byte \d+\) and its padding/);
    // No tensors: at most the header's padding may follow.
    const b = head(3, 0, 1).str('k').u32(T.UINT8).u8(1);
    await expectFormatError(b.padTo(32).u8(...new Uint8Array(32)).build(), 'data section', /32 bytes follow the header and its padding/);
  });

  it('a general.alignment the file was not written with is caught, whichever way it moves the data', async () => {
    // Written with alignment 32; the header (with the key) ends 16 bytes past a 32-byte boundary, so alignment 16
    // puts the data section 16 bytes early: every offset is still a multiple of 16, and only the end gives it away.
    const build = (alignment: number) => {
      for (let pad = 0; pad < 32; pad++) {
        const b = head(3, 2, 2).str('general.alignment').u32(T.UINT32).u32(alignment).str('c').u32(T.STRING).str('x'.repeat(pad));
        b.str('a').u32(1).u64(8).u32(GgmlType.F32).u64(0);
        b.str('b').u32(1).u64(8).u32(GgmlType.F32).u64(32);
        if (b.length % 32 === 8) return b.padTo(32).u8(...new Uint8Array(64)).build();
      }
      throw new Error('unreachable');
    };
    await expectFormatError(build(16), 'data section', /16 bytes follow .*\(a general\.alignment of 16 that the file was not written with/);
    // Alignment 64 moves it late: the last tensor runs past the end of the file.
    await expectFormatError(build(64), "tensor 'b'", /data offset 32 is not a multiple of the alignment 64/);
    expect((await readGguf(src(build(32)))).tensors.map((t) => t.offset % 32)).toEqual([0, 0]);
  });

  it('tensor reads: unknown names and types that cannot be dequantized are TensorErrors', async () => {
    const bytes = concatParts(writeGguf({ metadata: [], tensors: [{ name: 'q41', dims: [32], type: GgmlType.Q4_1, data: new Uint8Array(20) }] }));
    const file = await readGguf(src(bytes));
    await expect(readGgufTensorBytes(file, src(bytes), 'nope')).rejects.toThrow(TensorError);
    await expect(readGgufTensorBytes(file, src(bytes), 'nope')).rejects.toThrow(/test\.gguf: tensor 'nope': not in this GGUF file/);
    await expect(readGgufTensorF32(file, src(bytes), 'q41')).rejects.toThrow(TensorError);
    await expect(readGgufTensorF32(file, src(bytes), 'q41')).rejects.toThrow(/tensor 'q41': has type Q4_1 \(3\)/);
  });

  it('typed getters name the key and the expected type', async () => {
    const bytes = concatParts(writeGguf({ metadata: [['s', gv.str('x')], ['n', gv.u64(U64_MAX)], ['a', gv.strArr([])]], tensors: [] }));
    const file = await readGguf(src(bytes));
    expect(ggufString(file, 'missing')).toBeUndefined();
    expect(() => ggufString(file, 'missing', { required: true })).toThrow(/test\.gguf: missing: missing metadata key \(expected a STRING\)/);
    expect(() => ggufNumber(file, 's')).toThrow(/test\.gguf: s: expected a number, got STRING/);
    expect(() => ggufNumber(file, 'n')).toThrow(/does not fit a JS number/);
    expect(() => ggufString(file, 'a')).toThrow(/expected a STRING, got ARRAY of STRING/);
    expect(() => ggufArray(file, 'a', { itemType: T.INT32 })).toThrow(/expected an ARRAY of INT32, got ARRAY of STRING/);
    expect(() => ggufNumbers(file, 'a')).toThrow(FormatError);
    expect(ggufArray(file, 'a', { required: true, itemType: T.STRING })).toEqual([]);
  });
});

describe('GGUF writer validation', () => {
  const f32 = (name: string, dims: number[], bytes: number): GgufTensorSpec => ({ name, dims, type: GgmlType.F32, data: new Uint8Array(bytes) });

  it('tensor specs: size, names, types, dims', () => {
    expect(() => writeGguf({ metadata: [], tensors: [f32('w', [4], 12)] })).toThrow(/tensor 'w': F32 \[4\] needs 16 bytes, data has 12/);
    expect(() => writeGguf({ metadata: [], tensors: [f32('w', [1], 4), f32('w', [1], 4)] })).toThrow(/tensor 'w': duplicate tensor name/);
    expect(() => writeGguf({ metadata: [], tensors: [f32('x'.repeat(64), [1], 4)] })).toThrow(/64 bytes or longer/);
    expect(() => writeGguf({ metadata: [], tensors: [{ name: 'q', dims: [16], type: GgmlType.Q8_0, data: new Uint8Array(17) }] })).toThrow(
      /ne0 = 16 is not a multiple of the Q8_0 block size 32/,
    );
    expect(() => writeGguf({ metadata: [], tensors: [{ name: 'u', dims: [1], type: 99, data: new Uint8Array(1) }] })).toThrow(TensorError);
    expect(() => writeGguf({ metadata: [], tensors: [f32('w', [1, 1, 1, 1, 1], 4)] })).toThrow(/at most 4/);
  });

  it('metadata: duplicates, ranges, lone surrogates, alignment', () => {
    const w = (metadata: [string, GgufValue][], alignment?: number) => () => writeGguf({ metadata, tensors: [], alignment });
    expect(w([['k', gv.u8(1)], ['k', gv.u8(2)]])).toThrow(/writeGguf: k: duplicate metadata key/);
    expect(w([['k', gv.u8(256)]])).toThrow(/k: UINT8 value 256 is not an integer in 0\.\.255/);
    expect(w([['k', gv.i32(1.5)]])).toThrow(FormatError);
    expect(w([['k', gv.u64(-1)]])).toThrow(/UINT64 value -1/);
    expect(w([['k', gv.str('a\ud800b')]])).toThrow(/lone UTF-16 surrogate/);
    expect(w([['k', { type: 13 as never, value: 0 } as never]])).toThrow(/unknown value type 13/);
    expect(w([], 48)).toThrow(/general\.alignment: must be a power of two, got 48/);
    expect(w([['general.alignment', gv.u32(64)]], 16)).toThrow(/metadata says 64 but the spec asks for 16/);
    expect(() => gv.arr(T.INT32, [2 ** 31])).toThrow(/INT32 value 2147483648/);
    expect(() => gv.arr(T.UINT8, [-1])).toThrow(FormatError);
  });

  it('takes the alignment from the metadata and adds the key when a non-default one is asked for', async () => {
    const a = await readGguf(src(concatParts(writeGguf({ metadata: [['general.alignment', gv.u32(8)]], tensors: [f32('w', [1], 4)] }))));
    expect(a.alignment).toBe(8);
    const b = await readGguf(src(concatParts(writeGguf({ metadata: new Map(), alignment: 128, tensors: [f32('w', [1], 4)] }))));
    expect(b.alignment).toBe(128);
    expect(ggufNumber(b, 'general.alignment')).toBe(128);
    expect(b.dataOffset % 128).toBe(0);
  });
});
