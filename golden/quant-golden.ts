// Golden vectors for the GGML block formats, made by ggml itself (llama.cpp's prebuilt libggml-base through koffi),
// and the reader the tests use. Regenerate with `npm run golden` or `npx tsx golden/quant-golden.ts`.
//
// For each of Q4_0, Q8_0, Q4_K, Q5_K, Q6_K and Q8_K (K-quant activations), golden/quant/<type>.bin holds a list of cases:
//   kind 0 "quantized": f32 input rows (deterministic, made by quantGoldenCases below), ggml's
//          quantize_row_<type>_ref bytes of them, and ggml's dequantize_row_<type> of those bytes;
//   kind 1 "raw":       arbitrary block bytes (every code and scale bit pattern) and ggml's dequantization.
// tests/quant-golden.test.ts checks that reference/quant.ts quantizes to the same bytes and dequantizes to the same
// f32 bits. It imports only the reader half of this file: the native
// dependencies are loaded lazily inside makeQuantGolden.
//
// File format, version 1 (all little-endian; every section starts on a 4-byte boundary):
//   magic "LFMQGOLD" (8 bytes) | version u32 | ggml type u32 | blockSize u32 | typeSize u32 | nCases u32
//   per case: nameLen u32 | name utf-8, zero-padded to 4 | kind u32 | nBlocks u32
//             | [kind 0 only] input f32[nBlocks*blockSize]
//             | block bytes u8[nBlocks*typeSize], zero-padded to 4
//             | ggml dequantized f32[nBlocks*blockSize]
// golden/quant/manifest.json names the files with their sha256 and how they were made.

import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { f32FromBits, f32ToF16, f32ToBf16, f32Bits } from '../reference/f16.js';
import { GGML_TYPES, GgmlType, ggmlTypeName } from '../reference/ggml-type.js';
import { QK_K } from '../reference/quant.js';

export const QUANT_GOLDEN_FORMAT_VERSION = 1;
export const QUANT_GOLDEN_MAGIC = 'LFMQGOLD';
export const QUANT_GOLDEN_DIR = join(dirname(fileURLToPath(import.meta.url)), 'quant');
export const QUANT_GOLDEN_REGENERATE = 'npm run golden   (or: npx tsx golden/quant-golden.ts)';

/** The types with goldens, in file order. */
export const QUANT_GOLDEN_TYPES = [GgmlType.Q4_0, GgmlType.Q8_0, GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K, GgmlType.Q8_K] as const;
export type QuantGoldenType = (typeof QUANT_GOLDEN_TYPES)[number];

export const CASE_QUANTIZED = 0;
export const CASE_RAW = 1;

/** One case as generated (before ggml runs): input floats (kind 0) or raw block bytes (kind 1). */
export interface QuantCaseSpec {
  name: string;
  kind: typeof CASE_QUANTIZED | typeof CASE_RAW;
  nBlocks: number;
  /** kind 0: nBlocks*blockSize f32 inputs. */
  input?: Float32Array;
  /** kind 1: nBlocks*typeSize arbitrary bytes. */
  raw?: Uint8Array;
}

/** One case as stored: the spec plus what ggml made of it. */
export interface QuantGoldenCase extends QuantCaseSpec {
  /** kind 0: ggml's quantized bytes; kind 1: the raw bytes. */
  bytes: Uint8Array;
  /** ggml's dequantization of `bytes`. */
  dequant: Float32Array;
}

export interface QuantGoldenFile {
  type: number;
  blockSize: number;
  typeSize: number;
  cases: QuantGoldenCase[];
}

export interface QuantGoldenManifest {
  format: string;
  version: number;
  regenerate: string;
  generator: string;
  source: { package: string; binaryPackage: string; library: string; llamaCppRelease: string; koffi: string };
  files: { file: string; type: number; typeName: string; bytes: number; sha256: string; cases: { name: string; kind: number; blocks: number }[] }[];
}

export function goldenFileName(type: number): string {
  return `${ggmlTypeName(type).toLowerCase()}.bin`;
}

// ---------------------------------------------------------------------------------------------------------------
// Deterministic inputs (pure integer/IEEE arithmetic only, so any JS engine regenerates the same bits)
// ---------------------------------------------------------------------------------------------------------------

/** mulberry32: a tiny seeded u32 generator. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

/** Uniform in [0, 1) from a u32 (exact). */
const unit = (r: () => number) => r() / 4294967296;

/** Approximately N(0, 1): Irwin-Hall sum of 12 uniforms minus 6 (no transcendental functions, so bit-stable). */
function normal(r: () => number): number {
  let s = 0;
  for (let i = 0; i < 12; i++) s += unit(r);
  return s - 6;
}

function normals(r: () => number, n: number, scale = 1): number[] {
  return Array.from({ length: n }, () => normal(r) * scale);
}

/** A random finite f16 bit pattern with exponent field in [eLo, eHi] (0 = subnormal, 30 = largest normal). */
function randomF16(r: () => number, eLo = 1, eHi = 30): number {
  const e = eLo + (r() % (eHi - eLo + 1));
  return ((r() & 1) << 15) | (e << 10) | (r() & 0x3ff);
}

/** The inputs and raw blocks for one type. Seeds depend only on the type and case order. */
export function quantGoldenCases(type: QuantGoldenType): QuantCaseSpec[] {
  const { blockSize: bs, typeSize } = GGML_TYPES.get(type)!;
  const r = rng(0x1f0 + type);
  const cases: QuantCaseSpec[] = [];
  const add = (name: string, values: number[]) => {
    if (values.length % bs !== 0) throw new Error(`case ${name}: ${values.length} values, block size ${bs}`);
    cases.push({ name, kind: CASE_QUANTIZED, nBlocks: values.length / bs, input: Float32Array.from(values) });
  };
  const fill = (n: number, f: (j: number) => number) => Array.from({ length: n }, (_, j) => f(j));

  add('zeros', fill(bs, () => 0));
  add('negative-zeros', fill(bs, () => -0));
  if (bs === 32) {
    if (type === GgmlType.Q4_0) {
      // max = -8 gives d = 1, id = 1 exactly, so x*id + 8.5 lands exactly on integers: round-half-up ties.
      // Element 17 is +8: the opposite sign of max, the code-16 case clamped to 15. The 2^k scalings keep id exact.
      const ties = [-8, ...fill(16, (j) => -7.5 + j), 8, ...fill(14, (j) => (j % 2 ? 1 : -1) * (0.5 + (j >> 1)))];
      for (const s of [1, -1, 2 ** -10, -(2 ** 12)]) add(`ties-half-up x${s}`, ties.map((v) => v * s));
    } else {
      // amax = 127 gives d = 1, id = 1: x*id = k + 0.5 exactly, roundf rounds half away from zero.
      const ties = [127, ...fill(31, (j) => (j % 2 ? 1 : -1) * ((r() % 127) + 0.5))];
      for (const s of [1, -1, 2 ** -6, 2 ** 8]) add(`ties-away x${s}`, ties.map((v) => v * s));
    }
    // The first element of largest |v| wins (strict <): +3 then -3, and -3 then +3.
    add('max-and-neg-max', [...fill(8, (j) => j / 4), 3, ...fill(10, (j) => -j / 5), -3, ...fill(12, (j) => j / 7 - 0.8)]);
    add('neg-max-and-max', [...fill(8, (j) => j / 4), -3, ...fill(10, (j) => -j / 5), 3, ...fill(12, (j) => j / 7 - 0.8)]);
    add('one-hot', [...fill(5, () => 0), 1.7, ...fill(26, () => 0), ...fill(20, () => 0), -1e-3, ...fill(11, () => 0)]);
    add('integers', fill(2 * bs, () => (r() % 41) - 20));
    // Near-ties: element 0 fixes the scale d at a random value (so id = 1/d is inexact), and every other element
    // is a rounding boundary times d, nudged by -2..+2 ulp. x*id then lands within an ulp or two of the boundary,
    // where computing id or x*id in double instead of f32 changes the code.
    const nearTies: number[] = [];
    for (let b = 0; b < 4; b++) {
      const max = (r() & 1 ? 1 : -1) * (0.1 + 10 * unit(r));
      nearTies.push(max);
      const d = type === GgmlType.Q4_0 ? Math.fround(Math.fround(max) / -8) : Math.fround(Math.abs(Math.fround(max)) / 127);
      for (let j = 1; j < bs; j++) {
        // Q4_0: code boundary where x*id + 8.5 is an integer m (1..16; 16 is the clamp); Q8_0: x*id = k + 0.5.
        const t = type === GgmlType.Q4_0 ? (1 + (r() % 16)) - 8.5 : (r() % 253) - 126 + 0.5;
        const x = Math.fround(t * d);
        nearTies.push(f32FromBits(f32Bits(x) + (r() % 5) - 2));
      }
    }
    add('near-ties', nearTies);
  }
  // Sizes are kept small: the K-quant files hold 1 KB of input and 1 KB of output per block.
  add('normal', normals(r, (bs === 32 ? 12 : 2) * bs));
  add('normal x0.02', normals(r, (bs === 32 ? 4 : 1) * bs, 0.02));
  if (bs === 32) add('normal x100', normals(r, 2 * bs, 100));
  {
    const v = normals(r, bs);
    v[(r() % bs) | 0] = 50;
    add('outlier', v);
  }
  {
    // The element of largest |v| is negative (Q4_0: d > 0 and the +8 clamp can hit positive values).
    const nb = bs === 32 ? 2 : 1;
    const v = normals(r, nb * bs);
    for (let b = 0; b < nb; b++) {
      let k = b * bs;
      for (let j = b * bs; j < (b + 1) * bs; j++) if (Math.abs(v[j]) > Math.abs(v[k])) k = j;
      v[k] = -1.5 * Math.abs(v[k]);
    }
    add('negative-max', v);
  }
  add('all-equal', [...fill(bs, () => 0.3), ...fill(bs, () => -0.3)]);
  add('all-positive', normals(r, bs).map((v) => Math.abs(v) + 0.5));
  add('all-negative', normals(r, bs).map((v) => -Math.abs(v) - 0.5));
  if (bs === QK_K) {
    // Each 32-element sub-block (16 for Q6_K) at its own magnitude, so the 6-bit sub-block scales use all bits.
    const sub = type === GgmlType.Q6_K ? 16 : 32;
    add('sub-block-magnitudes', normals(r, bs).map((v, j) => v * 2 ** (Math.floor(j / sub) % 8 - 4)));
    add('half-zero', fill(bs, (j) => (j < bs / 2 ? 0 : normal(r))));
  }
  // Magnitudes: 1e-30 (d rounds to f16 zero), 3e-37 (Q8_0's f32 d = amax/127 is itself f32-subnormal), f16-subnormal
  // d (3e-5 .. 1e-3), d rounding to f16 zero (1e-6), and d overflowing f16 to inf (6e4 still fits Q4_0/Q8_0 scales;
  // 1e7 and 1e30 do not). Blocks with amax below ~4e-37 are left out: there 1/d overflows f32, and C's conversion
  // of the resulting inf/NaN to int8 is undefined behaviour.
  const magnitudes = bs === 32 ? [1e-30, 3e-37, 3e-5, 1e-4, 1e-3, 1e-6, 6e4, 1e7, 1e30] : [1e-30, 1e-5, 3e-4, 6e4, 1e30];
  for (const m of magnitudes) add(`normal x${m}`, normals(r, bs, m));

  // Raw blocks: random bytes with a random finite scale (d, and dmin for Q4_K/Q5_K), then special d values.
  // (Q8_K's d is an f32: its raw blocks keep their random bytes, any NaN/inf d included.)
  const dOffsets = type === GgmlType.Q6_K ? [208] : type === GgmlType.Q4_K || type === GgmlType.Q5_K ? [0, 2] : type === GgmlType.Q8_K ? [] : [0];
  const nRaw = bs === 32 ? 8 : 4;
  const specials = [0x7c00 /* inf */, 0x7e00 /* NaN */, 0x8000 /* -0 */, 0x7bff /* 65504 */, 0x0001 /* 2^-24 */, 0x03ff];
  const raw = new Uint8Array((nRaw + specials.length) * typeSize);
  for (let i = 0; i < raw.length; i++) raw[i] = r() & 0xff;
  for (let b = 0; b < nRaw + specials.length; b++) {
    for (const o of dOffsets) {
      const h = b < nRaw ? randomF16(r, b % 2 ? 0 : 1, 20) : specials[b - nRaw];
      raw[b * typeSize + o] = h & 0xff;
      raw[b * typeSize + o + 1] = h >>> 8;
    }
  }
  cases.push({ name: 'raw random blocks', kind: CASE_RAW, nBlocks: nRaw, raw: raw.slice(0, nRaw * typeSize) });
  cases.push({ name: 'raw special d (inf, NaN, -0, 65504, subnormals)', kind: CASE_RAW, nBlocks: specials.length, raw: raw.slice(nRaw * typeSize) });
  if (bs === QK_K) cases.push(...kquantSearchCases(type));
  return cases;
}

/**
 * More inputs for the 256-element types, from their own seed (appended, so the cases above keep their bytes):
 * the K-quant quantizers search for their scales, and a result that is byte-identical to ggml's on a few dozen
 * blocks of varied statistics is the evidence that every f32 step of that search is reproduced.
 */
function kquantSearchCases(type: QuantGoldenType): QuantCaseSpec[] {
  const r = rng(0x2f0 + type);
  const cases: QuantCaseSpec[] = [];
  const add = (name: string, values: number[]) => cases.push({ name, kind: CASE_QUANTIZED, nBlocks: values.length / QK_K, input: Float32Array.from(values) });
  const n = 16 * QK_K;
  // weight-like rows: each 16-element group at its own scale (1/64 .. 2), some groups near zero
  add('weights, per-group scales', Array.from({ length: n / 16 }, () => (r() % 8 === 0 ? 1e-3 : 2 ** ((r() % 8) - 6))).flatMap((s) => normals(r, 16, s)));
  // heavy tails: a few large outliers among small values
  add('sparse outliers', Array.from({ length: n }, () => (r() % 64 === 0 ? normal(r) * 8 : normal(r) * 0.05)));
  // values on a coarse grid: many exact ties inside nearest_int and equal candidate fits
  add('grid values', Array.from({ length: n }, () => ((r() % 33) - 16) / 8));
  // one-sided sub-blocks (min > 0 or max < 0), the branch where the fitted min is clamped to 0
  add('one-sided sub-blocks', Array.from({ length: n / 32 }, () => r() % 3).flatMap((k) => normals(r, 32).map((v) => (k === 0 ? Math.abs(v) + 0.2 : k === 1 ? -Math.abs(v) - 0.2 : v))));
  if (type === GgmlType.Q8_K) {
    // max = -127 gives iscale = 1: x = k + 0.5 lands exactly on a tie, which nearest_int rounds to even
    add('ties-even', [-127, ...Array.from({ length: QK_K - 1 }, () => (r() % 253) - 126 + 0.5)]);
    add('positive max', [90, ...normals(r, QK_K - 1, 20)]);
  }
  return cases;
}

// ---------------------------------------------------------------------------------------------------------------
// Binary format
// ---------------------------------------------------------------------------------------------------------------

const pad4 = (n: number) => (n + 3) & ~3;

export function encodeQuantGolden(file: QuantGoldenFile): Uint8Array {
  const enc = new TextEncoder();
  let size = 8 + 5 * 4;
  for (const c of file.cases) {
    size += 4 + pad4(enc.encode(c.name).length) + 8;
    if (c.kind === CASE_QUANTIZED) size += c.nBlocks * file.blockSize * 4;
    size += pad4(c.nBlocks * file.typeSize) + c.nBlocks * file.blockSize * 4;
  }
  const out = new Uint8Array(size);
  const dv = new DataView(out.buffer);
  let o = 0;
  out.set(enc.encode(QUANT_GOLDEN_MAGIC), 0);
  o = 8;
  for (const v of [QUANT_GOLDEN_FORMAT_VERSION, file.type, file.blockSize, file.typeSize, file.cases.length]) {
    dv.setUint32(o, v, true);
    o += 4;
  }
  const f32s = (a: Float32Array) => {
    for (let i = 0; i < a.length; i++) dv.setUint32(o + 4 * i, f32Bits(a[i]), true); // bits, NaN payloads kept
    o += a.length * 4;
  };
  for (const c of file.cases) {
    const name = enc.encode(c.name);
    dv.setUint32(o, name.length, true);
    out.set(name, o + 4);
    o += 4 + pad4(name.length);
    dv.setUint32(o, c.kind, true);
    dv.setUint32(o + 4, c.nBlocks, true);
    o += 8;
    if (c.kind === CASE_QUANTIZED) f32s(c.input!);
    out.set(c.bytes, o);
    o += pad4(c.bytes.length);
    f32s(c.dequant);
  }
  if (o !== size) throw new Error(`encodeQuantGolden: wrote ${o} of ${size} bytes`);
  return out;
}

/** Parses a golden file; throws with `what` (the file name) and the regenerate command on any inconsistency. */
export function decodeQuantGolden(data: Uint8Array, what: string): QuantGoldenFile {
  const fail = (msg: string): never => {
    throw new Error(`${what}: ${msg}. The golden file is stale or corrupt; regenerate it with: ${QUANT_GOLDEN_REGENERATE}`);
  };
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  let o = 0;
  const u32 = () => {
    if (o + 4 > data.length) fail(`truncated at byte ${o}`);
    const v = dv.getUint32(o, true);
    o += 4;
    return v;
  };
  const f32s = (n: number) => {
    if (o + 4 * n > data.length) fail(`truncated at byte ${o}`);
    const a = new Float32Array(n);
    const bits = new Uint32Array(a.buffer);
    for (let i = 0; i < n; i++) bits[i] = dv.getUint32(o + 4 * i, true); // through u32 so NaN payloads survive
    o += 4 * n;
    return a;
  };
  if (new TextDecoder().decode(data.subarray(0, 8)) !== QUANT_GOLDEN_MAGIC) fail('bad magic');
  o = 8;
  const version = u32();
  if (version !== QUANT_GOLDEN_FORMAT_VERSION) fail(`format version ${version}, this code reads ${QUANT_GOLDEN_FORMAT_VERSION}`);
  const type = u32();
  const blockSize = u32();
  const typeSize = u32();
  const info = GGML_TYPES.get(type);
  if (!info || info.blockSize !== blockSize || info.typeSize !== typeSize) {
    fail(`type ${type} with blocks of ${blockSize} elements / ${typeSize} bytes does not match GGML_TYPES`);
  }
  const nCases = u32();
  const cases: QuantGoldenCase[] = [];
  for (let c = 0; c < nCases; c++) {
    const nameLen = u32();
    const name = new TextDecoder().decode(data.subarray(o, o + nameLen));
    o += pad4(nameLen);
    const kind = u32();
    const nBlocks = u32();
    if (kind !== CASE_QUANTIZED && kind !== CASE_RAW) fail(`case ${c} has unknown kind ${kind}`);
    const input = kind === CASE_QUANTIZED ? f32s(nBlocks * blockSize) : undefined;
    if (o + nBlocks * typeSize > data.length) fail(`truncated at byte ${o}`);
    const bytes = data.slice(o, o + nBlocks * typeSize);
    o += pad4(nBlocks * typeSize);
    const dequant = f32s(nBlocks * blockSize);
    cases.push({ name, kind: kind as 0 | 1, nBlocks, input, raw: kind === CASE_RAW ? bytes : undefined, bytes, dequant });
  }
  if (o !== data.length) fail(`${data.length - o} trailing bytes`);
  return { type, blockSize, typeSize, cases };
}

export function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

// ---------------------------------------------------------------------------------------------------------------
// Generation (needs golden/.deps: node-llama-cpp's libggml-base and koffi)
// ---------------------------------------------------------------------------------------------------------------

/** Runs ggml over every case and writes <outDir>/<type>.bin and manifest.json. Returns the manifest. */
export async function makeQuantGolden(outDir: string = QUANT_GOLDEN_DIR): Promise<QuantGoldenManifest> {
  const { loadGgmlFfi } = await import('./ggml-ffi.js');
  const { goldenDeps, NODE_LLAMA_CPP_VERSION, KOFFI_VERSION } = await import('./deps.js');
  const deps = await goldenDeps();
  const ggml = await loadGgmlFfi();
  mkdirSync(outDir, { recursive: true });
  const manifest: QuantGoldenManifest = {
    format: 'lfm.ts GGML quant golden vectors (see golden/quant-golden.ts for the binary layout)',
    version: QUANT_GOLDEN_FORMAT_VERSION,
    regenerate: QUANT_GOLDEN_REGENERATE,
    generator: 'golden/quant-golden.ts',
    source: {
      package: `node-llama-cpp@${NODE_LLAMA_CPP_VERSION}`,
      binaryPackage: `${deps.binaryPackage}@${NODE_LLAMA_CPP_VERSION}`,
      library: deps.ggmlBaseLib.slice(deps.root.length + 1).replaceAll('\\', '/'),
      llamaCppRelease: deps.llamaCppRelease,
      koffi: `koffi@${KOFFI_VERSION}`,
    },
    files: [],
  };
  let total = 0;
  for (const type of QUANT_GOLDEN_TYPES) {
    const { blockSize, typeSize } = GGML_TYPES.get(type)!;
    const cases: QuantGoldenCase[] = quantGoldenCases(type).map((spec) => {
      const bytes = spec.kind === CASE_QUANTIZED ? ggml.quantize(type, spec.input!) : spec.raw!;
      return { ...spec, bytes, dequant: ggml.dequantize(type, bytes) };
    });
    const data = encodeQuantGolden({ type, blockSize, typeSize, cases });
    const file = goldenFileName(type);
    writeFileSync(join(outDir, file), data);
    total += data.length;
    manifest.files.push({
      file,
      type,
      typeName: ggmlTypeName(type),
      bytes: data.length,
      sha256: sha256(data),
      cases: cases.map((c) => ({ name: c.name, kind: c.kind, blocks: c.nBlocks })),
    });
  }
  writeFileSync(join(outDir, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
  process.stderr.write(`quant goldens: ${manifest.files.length} files, ${total} bytes in ${outDir}\n`);
  return manifest;
}

/** Reads and verifies manifest + files (sha256, format). Throws with the regenerate command when stale/missing. */
export function readQuantGolden(dir: string = QUANT_GOLDEN_DIR): { manifest: QuantGoldenManifest; files: QuantGoldenFile[] } {
  const mpath = join(dir, 'manifest.json');
  if (!existsSync(mpath)) throw new Error(`${mpath} is missing; generate it with: ${QUANT_GOLDEN_REGENERATE}`);
  const manifest = JSON.parse(readFileSync(mpath, 'utf8')) as QuantGoldenManifest;
  if (manifest.version !== QUANT_GOLDEN_FORMAT_VERSION) {
    throw new Error(`${mpath}: format version ${manifest.version}, expected ${QUANT_GOLDEN_FORMAT_VERSION}; regenerate with: ${QUANT_GOLDEN_REGENERATE}`);
  }
  const files = manifest.files.map((f) => {
    const path = join(dir, f.file);
    if (!existsSync(path)) throw new Error(`${path} is missing; regenerate with: ${QUANT_GOLDEN_REGENERATE}`);
    const data = new Uint8Array(readFileSync(path));
    const digest = sha256(data);
    if (digest !== f.sha256) {
      throw new Error(`${path}: sha256 ${digest} differs from the manifest's ${f.sha256} (edited by hand?); regenerate with: ${QUANT_GOLDEN_REGENERATE}`);
    }
    return decodeQuantGolden(data, path);
  });
  return { manifest, files };
}

// ---------------------------------------------------------------------------------------------------------------
// Optional one-off check: reference/f16.ts against ggml's own conversions over all 2^32 f32 bit patterns
// ---------------------------------------------------------------------------------------------------------------

/**
 * Compares f32ToF16 with ggml_fp32_to_fp16_row and f32ToBf16 with ggml_fp32_to_bf16_row_ref for every f32 bit
 * pattern (NaN inputs: both must give a NaN; payload/sign handling may differ). Takes about a minute; run with
 * `npx tsx golden/quant-golden.ts --check-f16`. Nothing is written.
 */
export async function checkF16AgainstGgml(): Promise<{ checked: number; f16Mismatches: number; bf16Mismatches: number }> {
  const { loadGgmlFfi } = await import('./ggml-ffi.js');
  const ggml = await loadGgmlFfi();
  const chunk = 1 << 24;
  const bits = new Uint32Array(chunk);
  const x = new Float32Array(bits.buffer);
  let f16Mismatches = 0;
  let bf16Mismatches = 0;
  const report = (what: string, b: number, ours: number, theirs: number) =>
    process.stderr.write(`${what} mismatch: f32 0x${b.toString(16).padStart(8, '0')} (${f32FromBits(b)}): ours 0x${ours.toString(16)} ggml 0x${theirs.toString(16)}\n`);
  const isNaN16 = (h: number) => (h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0;
  const isNaNbf = (h: number) => (h & 0x7f80) === 0x7f80 && (h & 0x7f) !== 0;
  for (let base = 0; base < 2 ** 32; base += chunk) {
    for (let i = 0; i < chunk; i++) bits[i] = base + i;
    const h16 = ggml.fp32ToFp16(x);
    const hbf = ggml.fp32ToBf16(x);
    for (let i = 0; i < chunk; i++) {
      const b = base + i;
      const nan = (b & 0x7f800000) === 0x7f800000 && (b & 0x7fffff) !== 0;
      const v = f32FromBits(b);
      const ours16 = f32ToF16(v);
      if (nan ? !(isNaN16(ours16) && isNaN16(h16[i])) : ours16 !== h16[i]) {
        if (f16Mismatches++ < 10) report('f16', b, ours16, h16[i]);
      }
      const oursBf = f32ToBf16(v);
      if (nan ? !(isNaNbf(oursBf) && isNaNbf(hbf[i])) : oursBf !== hbf[i]) {
        if (bf16Mismatches++ < 10) report('bf16', b, oursBf, hbf[i]);
      }
    }
  }
  return { checked: 2 ** 32, f16Mismatches, bf16Mismatches };
}

// Runnable alone: `npx tsx golden/quant-golden.ts [outDir]` or `... --check-f16`. (No top-level await, so the
// module can still be loaded from CommonJS contexts.)
async function main(args: string[]): Promise<void> {
  if (args.includes('--check-f16')) {
    const t0 = Date.now();
    const r = await checkF16AgainstGgml();
    console.log(
      `f16/bf16 vs ggml over ${r.checked} f32 patterns: ${r.f16Mismatches} f16 and ${r.bf16Mismatches} bf16 mismatches ` +
        `(${((Date.now() - t0) / 1000).toFixed(0)} s)`,
    );
    if (r.f16Mismatches + r.bf16Mismatches > 0) process.exitCode = 1;
  } else {
    await makeQuantGolden(args[0] ?? QUANT_GOLDEN_DIR);
  }
}
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).catch((e: unknown) => {
    console.error(e);
    process.exitCode = 1;
  });
}
