// koffi bindings to ggml's own quantizers and dequantizers in llama.cpp's prebuilt libggml-base (see golden/deps.ts).
// Only the golden scripts use this; tests read the files they write and never load native code.
//
// C signatures (ggml/src/ggml-quants.h and ggml/include/ggml.h; all symbols checked with `nm -D libggml-base.so`):
//   void quantize_row_q4_0_ref(const float * x, block_q4_0 * y, int64_t k);   // k elements, k % 32 == 0
//   void dequantize_row_q4_0 (const block_q4_0 * x, float * y, int64_t k);
//   ... the same pair for q8_0 (k % 32 == 0) and q4_K, q5_K, q6_K, q8_K (k % 256 == 0; q8_K: the activations);
//   void ggml_fp32_to_fp16_row(const float * x, ggml_fp16_t * y, int64_t n);
//   void ggml_fp32_to_bf16_row_ref(const float * x, ggml_bf16_t * y, int64_t n);
// Block pointers are declared `void *` and passed typed arrays, which koffi hands to C as the array's own memory
// (so writes through them land in the JS array).

import { GGML_TYPES, GgmlType } from '../reference/ggml-type.js';
import { goldenDeps } from './deps.js';

/** The ggml types whose quantize_row_*_ref / dequantize_row_* pair we bind. */
export const GGML_FFI_TYPES = [GgmlType.Q4_0, GgmlType.Q8_0, GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K, GgmlType.Q8_K] as const;
export type GgmlFfiType = (typeof GGML_FFI_TYPES)[number];

const SUFFIX: Record<GgmlFfiType, string> = {
  [GgmlType.Q4_0]: 'q4_0',
  [GgmlType.Q8_0]: 'q8_0',
  [GgmlType.Q4_K]: 'q4_K',
  [GgmlType.Q5_K]: 'q5_K',
  [GgmlType.Q6_K]: 'q6_K',
  [GgmlType.Q8_K]: 'q8_K',
};

export interface GgmlFfi {
  /** ggml's quantize_row_<type>_ref over x (length a multiple of the block size): the block bytes. */
  quantize(type: GgmlFfiType, x: Float32Array): Uint8Array;
  /** ggml's dequantize_row_<type> over whole blocks: n = bytes / typeSize * blockSize floats. */
  dequantize(type: GgmlFfiType, bytes: Uint8Array): Float32Array;
  /** ggml_fp32_to_fp16_row: f16 bits of each element (ggml's software conversion in libggml-base). */
  fp32ToFp16(x: Float32Array): Uint16Array;
  /** ggml_fp32_to_bf16_row_ref: bf16 bits of each element. */
  fp32ToBf16(x: Float32Array): Uint16Array;
  /** Path of the library these functions come from. */
  lib: string;
}

type CFn = (...args: unknown[]) => unknown;

/** Loads libggml-base (installing the golden deps first if needed) and binds the functions above. */
export async function loadGgmlFfi(): Promise<GgmlFfi> {
  const deps = await goldenDeps();
  const mod = await deps.importPkg('koffi');
  const koffi = (mod.default ?? mod) as { load(path: string): { func(proto: string): CFn } };
  const lib = koffi.load(deps.ggmlBaseLib);

  const quant = new Map<GgmlFfiType, CFn>();
  const dequant = new Map<GgmlFfiType, CFn>();
  for (const t of GGML_FFI_TYPES) {
    quant.set(t, lib.func(`void quantize_row_${SUFFIX[t]}_ref(const float *x, void *y, int64_t k)`));
    dequant.set(t, lib.func(`void dequantize_row_${SUFFIX[t]}(const void *x, void *y, int64_t k)`));
  }
  const toF16 = lib.func('void ggml_fp32_to_fp16_row(const void *x, void *y, int64_t n)');
  const toBf16 = lib.func('void ggml_fp32_to_bf16_row_ref(const void *x, void *y, int64_t n)');

  const geometry = (t: GgmlFfiType) => GGML_TYPES.get(t)!;
  return {
    lib: deps.ggmlBaseLib,
    quantize(t, x) {
      const { blockSize, typeSize } = geometry(t);
      if (x.length % blockSize !== 0) throw new Error(`ggml quantize ${SUFFIX[t]}: ${x.length} % ${blockSize} != 0`);
      const y = new Uint8Array((x.length / blockSize) * typeSize);
      quant.get(t)!(x, y, x.length);
      return y;
    },
    dequantize(t, bytes) {
      const { blockSize, typeSize } = geometry(t);
      if (bytes.length % typeSize !== 0) throw new Error(`ggml dequantize ${SUFFIX[t]}: ${bytes.length} % ${typeSize} != 0`);
      const n = (bytes.length / typeSize) * blockSize;
      const y = new Float32Array(n);
      dequant.get(t)!(bytes, y, n);
      return y;
    },
    fp32ToFp16(x) {
      const y = new Uint16Array(x.length);
      toF16(x, y, x.length);
      return y;
    },
    fp32ToBf16(x) {
      const y = new Uint16Array(x.length);
      toBf16(x, y, x.length);
      return y;
    },
  };
}
