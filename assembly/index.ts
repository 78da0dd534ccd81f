// The module's exports: the forward step, the load-time weight conversions, every kernel and its scalar twin
// (for tests and benchmarks), and the known-answer self-test the host runs before trusting the relaxed build.
//
// Built twice by build/build-wasm.ts from this one source: baseline SIMD128, and SIMD128 + relaxed SIMD
// (ASC_FEATURE_RELAXED_SIMD folds the kernel choice at compile time). Memory is imported; the module has no data
// segments and allocates nothing (see model.ts).

import { matvecQ4_0, matvecQ4_0Scalar } from './matmul';
import { quantizeAct } from './quant';

export { forward, actRowBytes } from './model';
export {
  quantizeAct, quantizeActScalar, quantizeActBlocks, quantizeActRows, repackQ4_0, repackQ8_0, quantizeRowsQ4_0, quantizeRowsQ8_0, dequantRowX4,
} from './quant';
export { matvecQ4_0, matvecQ4_0Scalar, gemmQ4_0, matvecQ8_0, matvecQ8_0Scalar, gemmQ8_0, matvecF32, matvecF32Scalar, gemmF32 } from './matmul';
export {
  actKRowBytes, quantizeActK, quantizeActKScalar, quantizeActKBlocks, quantizeActKRows, repackQ4_K, repackQ5_K, repackQ6_K, dequantRowK,
  matvecQ4_K, matvecQ4_KScalar, gemmQ4_K, matvecQ5_K, matvecQ5_KScalar, gemmQ5_K, matvecQ6_K, matvecQ6_KScalar, gemmQ6_K,
} from './kquants';
export {
  roundRowsF16, roundRowsF16Scaled, roundRowsBF16, dequantRowHalf, matvecF16, matvecF16Scalar, gemmF16, matvecBF16, matvecBF16Scalar, gemmBF16,
} from './f16w';
export {
  rmsnorm, rmsnormScalar, rope, ropeScalar, siluMul, siluMulScalar, softmax, softmaxScalar, shortConv, shortConvScalar,
} from './ops';
export {
  attention, attentionScalar, attentionBlocks, attentionBlocksScalar, attentionMerge, attentionMergeScalar, attnWorkFloats, kvWrite,
} from './attention';
export { expf, OPAQUE_ZERO } from './common';

/** 1 when the build uses relaxed SIMD. */
export function isRelaxed(): i32 {
  return ASC_FEATURE_RELAXED_SIMD ? 1 : 0;
}

/**
 * Known-answer test of the Q4_0 matvec at `scratch` (needs 2 KiB): 4 rows x 64 columns of fixed nibbles against
 * a fixed activation, SIMD result vs the scalar twin, which must agree bit for bit. Returns 1 when they do.
 * Node 20's baseline compiler (Liftoff) doubles i32x4.relaxed_dot_i8x16_i7x16_add_s: this catches it on first use.
 */
export function selfTest(scratch: usize): i32 {
  const K = 64;
  const x = scratch; // (K) f32
  const act = scratch + 256; // act row: 2 blocks x 168 bytes
  const w = scratch + 1024; // 4 rows x 2 blocks x 18 bytes, already in the x4 layout (2 x 72 bytes)
  const y1 = scratch + 1536, y2 = scratch + 1600;
  for (let i = 0; i < K; i++) store<f32>(x + <usize>(i * 4), <f32>((i * 37) % 23 - 11) * 0.25);
  quantizeAct(x, act, K);
  for (let i = 0; i < 144; i++) store<u8>(w + <usize>i, <u8>((i * 73 + 11) & 0xff));
  for (let g = 0; g < 2; g++) for (let r = 0; r < 4; r++) store<u16>(w + <usize>(g * 72 + r * 2), <u16>(0x3c00 + r * 0x100)); // d = 1, 2, 4, 8... (f16)
  matvecQ4_0(w, act, y1, 4, K, 0, 1);
  matvecQ4_0Scalar(w, act, y2, 4, K, 0, 1);
  for (let r = 0; r < 4; r++) if (load<u32>(y1 + <usize>(r * 4)) != load<u32>(y2 + <usize>(r * 4))) return 0;
  return 1;
}
