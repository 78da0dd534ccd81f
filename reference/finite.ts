// Rejecting NaN and Inf weights at load: one scanner over a tensor's stored bytes, for every GGML type, called by
// both loaders (reference/load.ts for the oracle, src/engine/wasm-core.ts for the engine).
//
// Why at load: a NaN weight gives the oracle all-NaN logits (and a sampler then "picks" from NaN), and gives the
// WASM engine finite but wrong logits (its quantized kernels turn NaN scales into garbage, not NaN). Neither says
// what is wrong. A corrupt download, a bad conversion or a shifted data section shows up here instead, as a
// TensorError naming the tensor and the element or block.
//
// What is scanned, per stored type (layouts as in ggml-common.h; reference/quant.ts declares the supported ones):
//   F32 / F16 / BF16  every element: an all-ones exponent is Inf or NaN.
//   block types       only the float fields of each block (the scale d, and dmin / m / s where the type has one):
//                     the quants themselves are small integers, so finite scales mean finite weights. This reads
//                     2-4 bytes per 18-292, so a 700 MB Q4_0 model is scanned in a few tens of milliseconds.
// Finite but huge weights are not rejected: they are what the file says (and they are legal in every type).

import { TensorError } from './errors.js';
import { GGML_TYPES, GgmlType } from './ggml-type.js';
import { Q4_0_LAYOUT, Q4_K_LAYOUT, Q5_K_LAYOUT, Q6_K_LAYOUT, Q8_0_LAYOUT } from './quant.js';

/** Byte offsets of the f16 float fields in each block type (ggml-common.h). */
const F16_FIELDS: ReadonlyMap<number, readonly { at: number; name: string }[]> = new Map([
  [GgmlType.Q4_0, [{ at: Q4_0_LAYOUT.d, name: 'scale d' }]],
  [GgmlType.Q4_1, [{ at: 0, name: 'scale d' }, { at: 2, name: 'min m' }]], // block_q4_1: d, m, qs[16]
  [GgmlType.Q5_0, [{ at: 0, name: 'scale d' }]], // block_q5_0: d, qh[4], qs[16]
  [GgmlType.Q5_1, [{ at: 0, name: 'scale d' }, { at: 2, name: 'min m' }]], // block_q5_1: d, m, qh[4], qs[16]
  [GgmlType.Q8_0, [{ at: Q8_0_LAYOUT.d, name: 'scale d' }]],
  [GgmlType.Q8_1, [{ at: 0, name: 'scale d' }, { at: 2, name: 'sum s' }]], // block_q8_1: d, s, qs[32]
  [GgmlType.Q2_K, [{ at: 80, name: 'scale d' }, { at: 82, name: 'min dmin' }]], // block_q2_K: scales[16], qs[64], d, dmin
  [GgmlType.Q3_K, [{ at: 108, name: 'scale d' }]], // block_q3_K: hmask[32], qs[64], scales[12], d
  [GgmlType.Q4_K, [{ at: Q4_K_LAYOUT.d, name: 'scale d' }, { at: Q4_K_LAYOUT.dmin, name: 'min dmin' }]],
  [GgmlType.Q5_K, [{ at: Q5_K_LAYOUT.d, name: 'scale d' }, { at: Q5_K_LAYOUT.dmin, name: 'min dmin' }]],
  [GgmlType.Q6_K, [{ at: Q6_K_LAYOUT.d, name: 'scale d' }]],
]);
/** block_q8_K keeps its scale as an f32: d at 0, then qs[256], bsums[16]. */
const Q8_K_D = 0;

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function f32Name(bits: number): string {
  return (bits & 0x007fffff) !== 0 ? 'NaN' : bits >>> 31 ? '-Inf' : '+Inf';
}
function f16Name(h: number): string {
  return (h & 0x03ff) !== 0 ? 'NaN' : h >> 15 ? '-Inf' : '+Inf';
}
function bf16Name(h: number): string {
  return (h & 0x007f) !== 0 ? 'NaN' : h >> 15 ? '-Inf' : '+Inf';
}

/** Index of the first 32-bit word of `b` whose exponent is all ones, or -1. */
function firstBadF32(b: Uint8Array): number {
  const n = b.length >> 2;
  if (LITTLE_ENDIAN && b.byteOffset % 4 === 0) {
    const w = new Uint32Array(b.buffer, b.byteOffset, n);
    for (let i = 0; i < n; i++) if ((w[i] & 0x7f800000) === 0x7f800000) return i;
    return -1;
  }
  for (let i = 0; i < n; i++) if ((b[4 * i + 3] & 0x7f) === 0x7f && (b[4 * i + 2] & 0x80) === 0x80) return i;
  return -1;
}

/**
 * Index of the first 16-bit word of `b` with (word & mask) === mask, or -1 (mask: the exponent bits, 0x7c00 for
 * f16, 0x7f80 for bf16). Two elements per 32-bit word: (h & mask) + the lowest mask bit reaches 0x8000 exactly
 * when the exponent is all ones, and cannot carry into the other half.
 */
function firstBad16(b: Uint8Array, mask: number): number {
  const n = b.length >> 1;
  let i = 0;
  if (LITTLE_ENDIAN && b.byteOffset % 4 === 0) {
    const w = new Uint32Array(b.buffer, b.byteOffset, n >> 1);
    // Shifted right by 2 so that every intermediate stays a small integer (no float arithmetic in the loop).
    const m2 = (mask | (mask << 16)) >>> 0;
    const one = mask & -mask;
    const add = (one | (one << 16)) >>> 2;
    let k = 0;
    for (; k < w.length; k++) if (((((w[k] & m2) >>> 2) + add) & 0x20002000) !== 0) break;
    i = 2 * k; // the word with a bad half, or the odd element after the last word: the loop below finds which
  }
  for (; i < n; i++) if (((b[2 * i] | (b[2 * i + 1] << 8)) & mask) === mask) return i;
  return -1;
}

/**
 * Throws a TensorError naming `file` and `tensor` when the stored bytes of `type` hold a NaN or an Inf: an element
 * of a float type, or a scale / min field of a block type. `first` is the element index of bytes[0] (when a tensor
 * is scanned in chunks), for the message. Types without float fields, and unknown types, pass (the readers reject
 * unknown types on their own).
 */
export function checkFinite(type: number, bytes: Uint8Array, file: string, tensor: string, first = 0): void {
  const info = GGML_TYPES.get(type);
  if (!info) return;
  const fail = (what: string) => {
    throw new TensorError(file, tensor, `${what}: the file is corrupt (NaN and Inf weights are rejected at load)`);
  };
  if (type === GgmlType.F32) {
    const i = firstBadF32(bytes);
    if (i >= 0) fail(`element ${first + i} is ${f32Name(bytes[4 * i] | (bytes[4 * i + 1] << 8) | (bytes[4 * i + 2] << 16) | (bytes[4 * i + 3] << 24))}`);
    return;
  }
  if (type === GgmlType.F16 || type === GgmlType.BF16) {
    const i = firstBad16(bytes, type === GgmlType.F16 ? 0x7c00 : 0x7f80);
    if (i >= 0) {
      const h = bytes[2 * i] | (bytes[2 * i + 1] << 8);
      fail(`element ${first + i} is ${type === GgmlType.F16 ? f16Name(h) : bf16Name(h)}`);
    }
    return;
  }
  const size = info.typeSize;
  const nBlocks = Math.floor(bytes.length / size);
  const firstBlock = first / info.blockSize;
  const blockMsg = (b: number, field: string, value: string) => {
    const e0 = (firstBlock + b) * info.blockSize;
    return `${info.name} block ${firstBlock + b} (elements ${e0}..${e0 + info.blockSize - 1}) has ${field} = ${value}`;
  };
  if (type === GgmlType.Q8_K) {
    for (let b = 0; b < nBlocks; b++) {
      const o = b * size + Q8_K_D;
      if ((bytes[o + 3] & 0x7f) === 0x7f && (bytes[o + 2] & 0x80) === 0x80) {
        fail(blockMsg(b, 'scale d', f32Name(bytes[o] | (bytes[o + 1] << 8) | (bytes[o + 2] << 16) | (bytes[o + 3] << 24))));
      }
    }
    return;
  }
  const fields = F16_FIELDS.get(type);
  if (!fields) return;
  for (const { at, name } of fields) {
    // The f16 exponent is bits 10..14: byte at+1, bits 2..6. Test that byte only: one load per block and field.
    for (let b = 0, o = at + 1; b < nBlocks; b++, o += size) {
      if ((bytes[o] & 0x7c) === 0x7c) fail(blockMsg(b, name, f16Name(bytes[o - 1] | (bytes[o] << 8))));
    }
  }
}
