// The GGML tensor types this project knows, with their block geometry (ggml-common.h / ggml.c type_traits).
//
// A tensor of a block-quantized type stores each row of ne0 elements as ne0/blockSize consecutive blocks of
// typeSize bytes. The byte layout *inside* each block is declared in reference/quant.ts.
// Types are listed by their GGUF id; ids not in this table are rejected by the readers with the id named.

export const GgmlType = {
  F32: 0,
  F16: 1,
  Q4_0: 2,
  Q4_1: 3,
  Q5_0: 6,
  Q5_1: 7,
  Q8_0: 8,
  Q8_1: 9,
  Q2_K: 10,
  Q3_K: 11,
  Q4_K: 12,
  Q5_K: 13,
  Q6_K: 14,
  Q8_K: 15,
  BF16: 30,
} as const;
export type GgmlType = (typeof GgmlType)[keyof typeof GgmlType];

export interface GgmlTypeInfo {
  readonly name: string;
  /** Elements per block (1 for plain float types). */
  readonly blockSize: number;
  /** Bytes per block. */
  readonly typeSize: number;
  /** Whether reference/quant.ts can dequantize it to f32 (types a published LFM2 GGUF contains). */
  readonly supported: boolean;
}

/** Geometry of every type GGUF files may name; `supported` marks what we can read. */
export const GGML_TYPES: ReadonlyMap<number, GgmlTypeInfo> = new Map<number, GgmlTypeInfo>([
  [GgmlType.F32, { name: 'F32', blockSize: 1, typeSize: 4, supported: true }],
  [GgmlType.F16, { name: 'F16', blockSize: 1, typeSize: 2, supported: true }],
  [GgmlType.BF16, { name: 'BF16', blockSize: 1, typeSize: 2, supported: true }],
  [GgmlType.Q4_0, { name: 'Q4_0', blockSize: 32, typeSize: 18, supported: true }],
  [GgmlType.Q4_1, { name: 'Q4_1', blockSize: 32, typeSize: 20, supported: false }],
  [GgmlType.Q5_0, { name: 'Q5_0', blockSize: 32, typeSize: 22, supported: false }],
  [GgmlType.Q5_1, { name: 'Q5_1', blockSize: 32, typeSize: 24, supported: false }],
  [GgmlType.Q8_0, { name: 'Q8_0', blockSize: 32, typeSize: 34, supported: true }],
  [GgmlType.Q8_1, { name: 'Q8_1', blockSize: 32, typeSize: 36, supported: false }],
  [GgmlType.Q2_K, { name: 'Q2_K', blockSize: 256, typeSize: 84, supported: false }],
  [GgmlType.Q3_K, { name: 'Q3_K', blockSize: 256, typeSize: 110, supported: false }],
  [GgmlType.Q4_K, { name: 'Q4_K', blockSize: 256, typeSize: 144, supported: true }],
  [GgmlType.Q5_K, { name: 'Q5_K', blockSize: 256, typeSize: 176, supported: true }],
  [GgmlType.Q6_K, { name: 'Q6_K', blockSize: 256, typeSize: 210, supported: true }],
  [GgmlType.Q8_K, { name: 'Q8_K', blockSize: 256, typeSize: 292, supported: false }],
]);

/** Bytes that `n` elements of `type` occupy; n must be a whole number of blocks (checked by the caller). */
export function ggmlRowBytes(type: number, n: number): number {
  const t = GGML_TYPES.get(type);
  if (!t) throw new RangeError(`unknown ggml type ${type}`);
  return (n / t.blockSize) * t.typeSize;
}

export function ggmlTypeName(type: number): string {
  return GGML_TYPES.get(type)?.name ?? `unknown(${type})`;
}
