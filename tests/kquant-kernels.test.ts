// The K-quant (assembly/kquants.ts) and F16 / BF16 (assembly/f16w.ts) kernels: SIMD against their scalar twins
// (bit for bit), GEMM against matvec per token (bit for bit), row ranges against the whole matrix (bit for bit), and
// the twins against independent TS computations built on reference/quant.ts (itself checked against ggml):
//   - Q8_K activations: codes, d and block sums == quantizeQ8_K (ggml's quantize_row_q8_K_ref), byte for byte;
//   - K-quant matvec: == the integer sums of ggml's vec_dot_q{4,5,6}_K_q8_K computed here from the GGML bytes,
//     followed by the same f32 steps (Math.fround), bit for bit; and within KERNEL_F32_REL of the f64 dot of the
//     dequantized weights and activations;
//   - F16 / BF16: within KERNEL_F32_REL of the f64 dot; the activation rounding == reference/f16.ts.
// Runs against every build this runtime can run (baseline SIMD128, and relaxed SIMD where available).

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bf16ToF32, f16ToF32, f32ToBf16, f32ToF16 } from '../reference/f16.js';
import { GgmlType } from '../reference/ggml-type.js';
import {
  dequantize, dequantizeQ8_K, minK4, Q4_K_BYTES, Q5_K_BYTES, Q6_K_BYTES, Q8_K_BYTES, Q8_K_LAYOUT, quantizeQ8_K, scaleK4,
} from '../reference/quant.js';
import { instantiateEngineModule } from '../src/engine/wasm-builds.js';
import { relaxedSimdValidates, type Arena, type WasmExports, type WasmInstance } from '../src/engine/wasm-module.js';

/** f32 kernels against an f64 dot: |kernel - f64| <= KERNEL_F32_REL * sum |terms| (as tests/kernels.test.ts). */
const KERNEL_F32_REL = 1e-5;

const builds: WasmInstance[] = [instantiateEngineModule({ simd: 'baseline' })];
const relaxed = relaxedSimdValidates() ? instantiateEngineModule({ simd: 'auto' }) : null;
if (relaxed?.build === 'relaxed') builds.push(relaxed);

const RUNS = { numRuns: 30 };
const fr = Math.fround;

function put(a: Arena, data: Float32Array | Uint8Array | Uint16Array): number {
  const p = a.alloc(data.byteLength + 64);
  new Uint8Array(a.memory.buffer, p, data.byteLength).set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  return p;
}
const f32At = (a: Arena, p: number, n: number) => a.f32(p, n).slice();
const bytesAt = (a: Arena, p: number, n: number) => a.u8(p, n).slice();
function scoped<T>(a: Arena, body: () => T): T {
  const m = a.mark();
  try {
    return body();
  } finally {
    a.release(m);
  }
}
function mulberry(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const int8 = (b: number) => (b << 24) >> 24;

/** Activations with ties, repeats, zero blocks and outliers (the Q8_K max search and rounding edge cases). */
function activations(rng: () => number, n: number): Float32Array {
  const x = new Float32Array(n);
  const kind = Math.floor(rng() * 4);
  for (let i = 0; i < n; i++) {
    const u = rng();
    x[i] = kind === 0 ? (u - 0.5) * 4 : kind === 1 ? Math.round((u - 0.5) * 64) / 8 : kind === 2 ? (u < 0.05 ? (u - 0.025) * 2000 : u - 0.5) : (u - 0.5) * 1e-3;
  }
  if (rng() < 0.3) x.fill(0, 0, Math.min(n, 256)); // an all-zero block: d = 0
  if (rng() < 0.3) x[Math.floor(rng() * n)] = -x[Math.floor(rng() * n)]; // equal |max| of both signs, maybe
  return x;
}

const K_TYPES = [
  { name: 'Q4_K', type: GgmlType.Q4_K, blockBytes: Q4_K_BYTES, dOffsets: [0, 2] },
  { name: 'Q5_K', type: GgmlType.Q5_K, blockBytes: Q5_K_BYTES, dOffsets: [0, 2] },
  { name: 'Q6_K', type: GgmlType.Q6_K, blockBytes: Q6_K_BYTES, dOffsets: [208] },
] as const;

/** Random GGML blocks: every code and scale bit pattern, small f16 d / dmin of either sign. */
function randomKBlocks(rng: () => number, R: number, nb: number, blockBytes: number, dOffsets: readonly number[]): Uint8Array {
  const out = new Uint8Array(R * nb * blockBytes);
  for (let i = 0; i < out.length; i++) out[i] = Math.floor(rng() * 256);
  for (let b = 0; b < R * nb; b++) {
    for (const o of dOffsets) {
      const h = f32ToF16((rng() - 0.5) * 0.02);
      out[b * blockBytes + o] = h & 0xff;
      out[b * blockBytes + o + 1] = h >> 8;
    }
  }
  return out;
}

/**
 * ggml_vec_dot_q{4,5,6}_K_q8_K for one row, from GGML bytes: per super-block the exact integer sums, then
 * acc += S * (d * dx) - M * (dmin * dx) in f32, the order the WASM kernels use (the one float step they define).
 */
function vecDotK(type: number, w: Uint8Array, q8k: Uint8Array, nb: number): number {
  const dv = new DataView(q8k.buffer, q8k.byteOffset, q8k.byteLength);
  let acc = 0;
  for (let b = 0; b < nb; b++) {
    const a = (i: number) => int8(q8k[b * Q8_K_BYTES + Q8_K_LAYOUT.qs + i]);
    const dx = dv.getFloat32(b * Q8_K_BYTES + Q8_K_LAYOUT.d, true);
    let S = 0, M = 0, d: number, dmin = 0;
    if (type === GgmlType.Q6_K) {
      const o = b * Q6_K_BYTES;
      d = f16ToF32(w[o + 208] | (w[o + 209] << 8));
      for (let e = 0; e < 256; e++) {
        const h = e >> 7, c = (e >> 5) & 3, l = e & 31;
        const ql = w[o + 64 * h + 32 * (c & 1) + l];
        const qh = w[o + 128 + 32 * h + l];
        const q = ((c >> 1 ? ql >> 4 : ql & 15) | (((qh >> (2 * c)) & 3) << 4)) - 32;
        S += int8(w[o + 192 + (e >> 4)]) * q * a(e);
      }
    } else {
      const bb = type === GgmlType.Q5_K ? Q5_K_BYTES : Q4_K_BYTES;
      const o = b * bb;
      const qs = o + (type === GgmlType.Q5_K ? 48 : 16);
      d = f16ToF32(w[o] | (w[o + 1] << 8));
      dmin = f16ToF32(w[o + 2] | (w[o + 3] << 8));
      for (let e = 0; e < 256; e++) {
        const g = e >> 6, l = e & 31, hi = (e >> 5) & 1;
        let q = hi ? w[qs + 32 * g + l] >> 4 : w[qs + 32 * g + l] & 15;
        if (type === GgmlType.Q5_K) q += ((w[o + 16 + l] >> (2 * g + hi)) & 1) << 4;
        const j = e >> 5;
        S += scaleK4(w, o + 4, j) * q * a(e);
        M += minK4(w, o + 4, j) * a(e);
      }
    }
    acc = fr(acc + fr(fr(fr(S) * fr(d * dx)) - fr(fr(M) * fr(dmin * dx))));
  }
  return acc;
}

for (const inst of builds) {
  const w: WasmExports = inst.exports;
  const a = inst.arena;

  describe(`${inst.build} build: Q8_K activations`, () => {
    it('SIMD quantizer == scalar twin, byte for byte; codes, d, block sums == quantizeQ8_K (ggml)', () => {
      fc.assert(
        fc.property(fc.integer({ min: 1, max: 6 }), fc.integer(), (nb, seed) =>
          scoped(a, () => {
            const K = nb * 256, x = activations(mulberry(seed), K);
            const bytes = w.actKRowBytes(K);
            expect(bytes).toBe(nb * 1380);
            const px = put(a, x), r1 = a.alloc(bytes), r2 = a.alloc(bytes);
            w.quantizeActK(px, r1, K);
            w.quantizeActKScalar(px, r2, K);
            expect(bytesAt(a, r1, bytes)).toEqual(bytesAt(a, r2, bytes));
            // the same row quantized by two "threads", block ranges [0, mid) and [mid, nb)
            const r3 = a.alloc(bytes), mid = nb >> 1;
            w.quantizeActKBlocks(px, r3, K, mid, nb);
            w.quantizeActKBlocks(px, r3, K, 0, mid);
            expect(bytesAt(a, r3, bytes)).toEqual(bytesAt(a, r1, bytes));
            const ref = quantizeQ8_K(x);
            const dv = new DataView(ref.buffer);
            const d = f32At(a, r1 + nb * 1376, nb);
            const b16 = a.u8(r1 + nb * 1280, nb * 64).slice(), b32 = a.u8(r1 + nb * 1344, nb * 32).slice();
            const i16 = (u: Uint8Array, o: number) => new DataView(u.buffer, u.byteOffset).getInt16(o, true);
            for (let b = 0; b < nb; b++) {
              expect(bytesAt(a, r1 + b * 256, 256), `block ${b} codes`).toEqual(ref.subarray(b * Q8_K_BYTES + 4, b * Q8_K_BYTES + 260));
              expect(d[b], `block ${b} d`).toBe(dv.getFloat32(b * Q8_K_BYTES, true));
              for (let s = 0; s < 16; s++) {
                const want = dv.getInt16(b * Q8_K_BYTES + 260 + 2 * s, true);
                const at = b * 64 + (s >> 2) * 16 + (s & 3) * 2;
                expect([i16(b16, at), i16(b16, at + 8)], `block ${b} sum16 ${s}`).toEqual([want, want]);
              }
              for (let j = 0; j < 8; j++) {
                const want = dv.getInt16(b * Q8_K_BYTES + 260 + 4 * j, true) + dv.getInt16(b * Q8_K_BYTES + 262 + 4 * j, true);
                const at = b * 32 + (j >> 2) * 16 + (j & 3) * 2;
                expect([i16(b32, at), i16(b32, at + 8)], `block ${b} sum32 ${j}`).toEqual([want, want]);
              }
              // the duplicated i16 codes of the baseline dot
              const dup = new Int16Array(a.memory.buffer.slice(r1 + nb * 256 + b * 1024, r1 + nb * 256 + (b + 1) * 1024));
              for (let e = 0; e < 256; e++) expect(dup[(e >> 2) * 8 + (e & 3)]).toBe(int8(ref[b * Q8_K_BYTES + 4 + e]));
            }
          }),
        ),
        RUNS,
      );
    });
  });

  for (const kt of K_TYPES) {
    const { name, type, blockBytes, dOffsets } = kt;
    const mv = { Q4_K: w.matvecQ4_K, Q5_K: w.matvecQ5_K, Q6_K: w.matvecQ6_K }[name];
    const mvScalar = { Q4_K: w.matvecQ4_KScalar, Q5_K: w.matvecQ5_KScalar, Q6_K: w.matvecQ6_KScalar }[name];
    const gemm = { Q4_K: w.gemmQ4_K, Q5_K: w.gemmQ5_K, Q6_K: w.gemmQ6_K }[name];
    const repack = { Q4_K: w.repackQ4_K, Q5_K: w.repackQ5_K, Q6_K: w.repackQ6_K }[name];
    const x4Bytes = (R: number, K: number) => (Math.ceil(R / 4) * 4 * K * blockBytes) / 256;

    describe(`${inst.build} build: ${name} x Q8_K`, () => {
      const shape = fc.record({ R: fc.integer({ min: 1, max: 13 }), nb: fc.integer({ min: 1, max: 4 }), T: fc.integer({ min: 1, max: 9 }), seed: fc.integer() });

      /** Weights repacked (in two row ranges, as the loader streams them) and T actK rows. */
      const setup = ({ R, nb, T, seed }: { R: number; nb: number; T: number; seed: number }) => {
        const K = nb * 256, rng = mulberry(seed);
        const ggml = randomKBlocks(rng, R, nb, blockBytes, dOffsets);
        const pw = a.alloc(x4Bytes(R, K));
        a.u8(pw, x4Bytes(R, K)).fill(0xa5); // the filler rows must be written, not inherited
        const split = Math.min(R, 4 * Math.floor(rng() * (R / 4 + 1)));
        const src1 = put(a, ggml.subarray(0, split * nb * blockBytes)), src2 = put(a, ggml.subarray(split * nb * blockBytes));
        if (split > 0) repack(pw, src1, 0, split, K, R);
        if (split < R) repack(pw, src2, split, R - split, K, R);
        const x = Float32Array.from({ length: T * K }, (_, i) => activations(rng, 1)[0] + (i % 7) * 0.01);
        const px = put(a, x), act = a.alloc(T * w.actKRowBytes(K));
        w.quantizeActKRows(px, act, K, T);
        return { K, ggml, pw, act, x };
      };

      it('repack then dequantize a row == the reference dequantizer (ggml dequantize_row), bitwise', () => {
        fc.assert(fc.property(shape, (s) => scoped(a, () => {
          const { K, ggml, pw } = setup(s);
          const out = a.alloc(K * 4);
          for (let r = 0; r < s.R; r++) {
            w.dequantRowK(pw, type, r, K, out);
            expect(f32At(a, out, K), `row ${r}`).toEqual(dequantize(type, ggml.subarray(r * s.nb * blockBytes, (r + 1) * s.nb * blockBytes), K));
          }
        })), { numRuns: 12 });
      });

      it('SIMD matvec == scalar twin, GEMM == matvec per token, row-group ranges == the whole: bitwise', () => {
        fc.assert(fc.property(shape, (s) => scoped(a, () => {
          const { K, pw, act } = setup(s);
          const G = Math.ceil(s.R / 4), rowBytes = w.actKRowBytes(K);
          const y1 = a.alloc(s.R * 4 + 16), y2 = a.alloc(s.R * 4 + 16), y3 = a.alloc(s.R * 4 + 16), yg = a.alloc(s.T * s.R * 4 + 16), yh = a.alloc(s.T * s.R * 4 + 16);
          gemm(pw, act, yg, s.R, K, s.T, 0, G);
          const mid = Math.floor(G / 2); // two "threads": groups [0, mid) and [mid, G)
          gemm(pw, act, yh, s.R, K, s.T, mid, G);
          gemm(pw, act, yh, s.R, K, s.T, 0, mid);
          expect(f32At(a, yh, s.T * s.R), 'GEMM in two row ranges').toEqual(f32At(a, yg, s.T * s.R));
          for (let t = 0; t < s.T; t++) {
            mv(pw, act + t * rowBytes, y1, s.R, K, 0, G);
            mvScalar(pw, act + t * rowBytes, y2, s.R, K, 0, G);
            mv(pw, act + t * rowBytes, y3, s.R, K, mid, G);
            mvScalar(pw, act + t * rowBytes, y3, s.R, K, 0, mid);
            expect(f32At(a, y1, s.R), `token ${t}: SIMD vs scalar`).toEqual(f32At(a, y2, s.R));
            expect(f32At(a, y3, s.R), `token ${t}: two ranges`).toEqual(f32At(a, y1, s.R));
            expect(f32At(a, yg + t * s.R * 4, s.R), `token ${t}: GEMM vs matvec`).toEqual(f32At(a, y1, s.R));
          }
        })), RUNS);
      });

      it("scalar twin == ggml's vec_dot integer sums + the same f32 steps (TS, from the GGML bytes), bitwise; ~ the f64 dot", () => {
        fc.assert(fc.property(shape, (s) => scoped(a, () => {
          const { K, ggml, pw, act, x } = setup({ ...s, T: 1 });
          const y = a.alloc(s.R * 4 + 16);
          mvScalar(pw, act, y, s.R, K, 0, Math.ceil(s.R / 4));
          const ours = f32At(a, y, s.R);
          const q8k = quantizeQ8_K(x.subarray(0, K));
          const xq = dequantizeQ8_K(q8k, K);
          for (let r = 0; r < s.R; r++) {
            const wr = ggml.subarray(r * s.nb * blockBytes, (r + 1) * s.nb * blockBytes);
            expect(ours[r], `row ${r} vs vec_dot`).toBe(vecDotK(type, wr, q8k, s.nb));
            const wf = dequantize(type, wr, K);
            let sum = 0, mag = 0;
            for (let j = 0; j < K; j++) (sum += wf[j] * xq[j]), (mag += Math.abs(wf[j] * xq[j]));
            expect(Math.abs(ours[r] - sum), `row ${r} vs f64`).toBeLessThanOrEqual(KERNEL_F32_REL * mag + 1e-30);
          }
        })), RUNS);
      });
    });
  }

  for (const half of ['F16', 'BF16'] as const) {
    const type = half === 'F16' ? GgmlType.F16 : GgmlType.BF16;
    const mv = half === 'F16' ? w.matvecF16 : w.matvecBF16;
    const mvScalar = half === 'F16' ? w.matvecF16Scalar : w.matvecBF16Scalar;
    const gemm = half === 'F16' ? w.gemmF16 : w.gemmBF16;
    // the matvec's input (F16: the rounded activations times 2^112, assembly/f16w.ts) and the GEMM's (plain)
    const roundMv = half === 'F16' ? w.roundRowsF16Scaled : w.roundRowsBF16;
    const round = half === 'F16' ? w.roundRowsF16 : w.roundRowsBF16;
    const toHalf = half === 'F16' ? f32ToF16 : f32ToBf16;
    const fromHalf = half === 'F16' ? f16ToF32 : bf16ToF32;
    const scale = half === 'F16' ? 2 ** 112 : 1;

    describe(`${inst.build} build: ${half} weights`, () => {
      const shape = fc.record({ R: fc.integer({ min: 1, max: 9 }), K8: fc.integer({ min: 1, max: 40 }), T: fc.integer({ min: 1, max: 9 }), seed: fc.integer() });
      const setup = ({ R, K8, T, seed }: { R: number; K8: number; T: number; seed: number }) => {
        const K = K8 * 8, rng = mulberry(seed);
        const bits = Uint16Array.from({ length: R * K }, () => toHalf((rng() - 0.5) * (rng() < 0.1 ? 100 : 1) * (rng() < 0.05 ? 1e-6 : 1)));
        const x = Float32Array.from({ length: T * K }, () => (rng() - 0.5) * 4 * (rng() < 0.02 ? 1e4 : 1));
        const pw = put(a, bits), px = put(a, x), xr = a.alloc(T * K * 4), xg = a.alloc(T * K * 4);
        roundMv(px, xr, T * K);
        round(px, xg, T * K);
        return { K, bits, x, pw, xr, xg };
      };

      it(`activation rounding == reference/f16.ts (${half === 'F16' ? 'f32ToF16' : 'f32ToBf16'}), bitwise`, () => {
        fc.assert(fc.property(shape, (s) => scoped(a, () => {
          const { K, x, xr, xg } = setup(s);
          expect(f32At(a, xg, s.T * K)).toEqual(Float32Array.from(x, (v) => fromHalf(toHalf(v))));
          expect(f32At(a, xr, s.T * K)).toEqual(Float32Array.from(x, (v) => fromHalf(toHalf(v)) * scale));
        })), { numRuns: 10 });
        // specials: ties, subnormals, overflow, NaN stays NaN
        scoped(a, () => {
          const x = Float32Array.from([1 + 2 ** -11, 1 + 3 * 2 ** -11, 6e-8, -3e-8, 65520, 1e30, -0, NaN, 2 ** -130, 1 + 2 ** -8]);
          const px = put(a, x), y = a.alloc(x.length * 4), ys = a.alloc(x.length * 4);
          round(px, y, x.length);
          roundMv(px, ys, x.length);
          const got = f32At(a, y, x.length), gotScaled = f32At(a, ys, x.length);
          const same = (p: number, q: number) => Object.is(p, q) || (Number.isNaN(p) && Number.isNaN(q));
          x.forEach((v, i) => expect(same(got[i], fromHalf(toHalf(v))), `x = ${v}: ${got[i]}`).toBe(true));
          x.forEach((v, i) => expect(same(gotScaled[i], Math.fround(fromHalf(toHalf(v)) * scale)), `x = ${v}: ${gotScaled[i]} (scaled)`).toBe(true));
        });
      });

      it('dequantRowHalf == reference dequantize, bitwise', () => {
        fc.assert(fc.property(shape, (s) => scoped(a, () => {
          const { K, bits, pw } = setup(s);
          const out = a.alloc(K * 4);
          for (let r = 0; r < s.R; r++) {
            w.dequantRowHalf(pw, type, r, K, out);
            const raw = new Uint8Array(bits.buffer, r * K * 2, K * 2);
            expect(f32At(a, out, K)).toEqual(dequantize(type, raw, K));
          }
        })), { numRuns: 10 });
      });

      it('SIMD matvec == scalar twin, GEMM == matvec per token, row ranges == the whole: bitwise; ~ the f64 dot', () => {
        fc.assert(fc.property(shape, (s) => scoped(a, () => {
          const { K, bits, pw, xr, xg } = setup(s);
          const y1 = a.alloc(s.R * 4), y2 = a.alloc(s.R * 4), y3 = a.alloc(s.R * 4), yg = a.alloc(s.T * s.R * 4), yh = a.alloc(s.T * s.R * 4);
          gemm(pw, xg, yg, s.R, K, s.T, 0, s.R);
          const mid = Math.floor(s.R / 2);
          gemm(pw, xg, yh, s.R, K, s.T, mid, s.R);
          gemm(pw, xg, yh, s.R, K, s.T, 0, mid);
          expect(f32At(a, yh, s.T * s.R)).toEqual(f32At(a, yg, s.T * s.R));
          const xs = f32At(a, xg, s.T * K);
          for (let t = 0; t < s.T; t++) {
            mv(pw, xr + t * K * 4, y1, s.R, K, 0, s.R);
            mvScalar(pw, xr + t * K * 4, y2, s.R, K, 0, s.R);
            mv(pw, xr + t * K * 4, y3, s.R, K, mid, s.R);
            mvScalar(pw, xr + t * K * 4, y3, s.R, K, 0, mid);
            const r1 = f32At(a, y1, s.R);
            expect(r1, `token ${t}: SIMD vs scalar`).toEqual(f32At(a, y2, s.R));
            expect(f32At(a, y3, s.R), `token ${t}: two ranges`).toEqual(r1);
            expect(f32At(a, yg + t * s.R * 4, s.R), `token ${t}: GEMM vs matvec`).toEqual(r1);
            for (let r = 0; r < s.R; r++) {
              let sum = 0, mag = 0;
              for (let k = 0; k < K; k++) {
                const p = fromHalf(bits[r * K + k]) * xs[t * K + k];
                sum += p;
                mag += Math.abs(p);
              }
              expect(Math.abs(r1[r] - sum), `token ${t} row ${r}`).toBeLessThanOrEqual(KERNEL_F32_REL * mag + 1e-30);
            }
          }
        })), RUNS);
      });
    });
  }
}
