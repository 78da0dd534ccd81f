// Threads split every kernel's output (assembly/threads.ts): each kernel computes a sub-range, and the pieces
// must put together exactly the whole. Checked here kernel by kernel on random ranges, bit for bit: matvec and
// GEMM row groups, activation quantization blocks, conv channels, attention (kv head, token) units and (kv head,
// position block) units with their merge. The whole forward step with 1..4 threads is checked in
// engine-threads.test.ts.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { f32ToF16 } from '../reference/f16.js';
import { instantiateEngineModule } from '../src/engine/wasm-builds.js';
import type { Arena } from '../src/engine/wasm-module.js';
import { ATT_BLOCK, KV_TILE } from '../src/engine/wasm-layout.js';

const inst = instantiateEngineModule();
const w = inst.exports;
const a: Arena = inst.arena;
const RUNS = { numRuns: 30 };

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0), s / 4294967296);
}
const f32s = (r: () => number, n: number) => Float32Array.from({ length: n }, () => r() * 2 - 1);
function put(data: Float32Array | Uint8Array): number {
  const p = a.alloc(data.byteLength + 64);
  a.u8(p, data.byteLength).set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  return p;
}
function scoped<T>(body: () => T): T {
  const m = a.mark();
  try {
    return body();
  } finally {
    a.release(m);
  }
}
/** q (T, H*hd) and a KV cache of n positions written by kvWrite (f16 or f32). */
function attentionInputs(r: () => number, T: number, n: number, H: number, K: number, hd: number, f16: number): { q: number; kc: number; vc: number; cap: number } {
  const cap = Math.ceil(n / KV_TILE) * KV_TILE, es = f16 ? 2 : 4;
  const kc = a.alloc(cap * K * hd * es), vc = a.alloc(cap * K * hd * es);
  w.kvWrite(put(f32s(r, n * K * hd)), put(f32s(r, n * K * hd)), kc, vc, 0, K, hd, cap, f16, 0, n * K);
  return { q: put(f32s(r, T * H * hd)), kc, vc, cap };
}
/** A cut point in [0, n]. */
const cut = (r: () => number, n: number) => Math.floor(r() * (n + 1));

describe(`kernel ranges compose to the whole (${inst.build} build)`, () => {
  it('Q4_0 / Q8_0 matvec and GEMM: groups [0, g) then [g, G) == [0, G)', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 13 }), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 6 }), fc.integer(), (R, nb, T, seed) => scoped(() => {
      const r = rng(seed), K = nb * 32, G = Math.ceil(R / 4), g = cut(r, G);
      for (const [bb, repack, mv, gemm] of [[18, w.repackQ4_0, w.matvecQ4_0, w.gemmQ4_0], [34, w.repackQ8_0, w.matvecQ8_0, w.gemmQ8_0]] as const) {
        const raw = new Uint8Array(R * nb * bb).map(() => Math.floor(r() * 256));
        for (let b = 0; b < R * nb; b++) {
          const h = f32ToF16((r() - 0.5) * 0.1);
          raw[b * bb] = h & 0xff;
          raw[b * bb + 1] = h >> 8;
        }
        const src = put(raw), pw = a.alloc(G * 4 * nb * bb + 64);
        repack(pw, src, 0, R, K, R);
        const x = f32s(r, T * K), act = a.alloc(T * w.actRowBytes(K));
        w.quantizeActRows(put(x), act, K, T);
        const whole = a.alloc(T * R * 4 + 64), parts = a.alloc(T * R * 4 + 64);
        gemm(pw, act, whole, R, K, T, 0, G);
        gemm(pw, act, parts, R, K, T, g, G);
        gemm(pw, act, parts, R, K, T, 0, g);
        expect(a.f32(parts, T * R).slice(), 'GEMM').toEqual(a.f32(whole, T * R).slice());
        mv(pw, act, whole, R, K, 0, G);
        mv(pw, act, parts, R, K, 0, g);
        mv(pw, act, parts, R, K, g, G);
        expect(a.f32(parts, R).slice(), 'matvec').toEqual(a.f32(whole, R).slice());
      }
    })), RUNS);
  });

  it('f32 GEMM rows, activation quantization blocks, siluMul pieces', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 3 }), fc.integer(), (R, nb, T, seed) => scoped(() => {
      const r = rng(seed), K = nb * 32;
      const pw = put(f32s(r, R * K)), px = put(f32s(r, T * K));
      const whole = a.alloc(T * R * 4), parts = a.alloc(T * R * 4), m = cut(r, R);
      w.gemmF32(pw, px, whole, R, K, T, 0, R);
      w.gemmF32(pw, px, parts, R, K, T, m, R);
      w.gemmF32(pw, px, parts, R, K, T, 0, m);
      expect(a.f32(parts, T * R).slice()).toEqual(a.f32(whole, T * R).slice());

      const bytes = w.actRowBytes(K), q1 = a.alloc(bytes), q2 = a.alloc(bytes), b = cut(r, nb);
      w.quantizeAct(px, q1, K);
      w.quantizeActBlocks(px, q2, K, b, nb);
      w.quantizeActBlocks(px, q2, K, 0, b);
      expect(a.u8(q2, bytes).slice()).toEqual(a.u8(q1, bytes).slice());

      const g1 = put(f32s(r, K)), g2 = put(a.f32(g1, K).slice()), up = put(f32s(r, K)), e = 4 * cut(r, K / 4);
      w.siluMul(g1, up, K);
      w.siluMul(g2, up, e);
      w.siluMul(g2 + e * 4, up + e * 4, K - e);
      expect(a.f32(g2, K).slice()).toEqual(a.f32(g1, K).slice());
    })), RUNS);
  });

  it('short conv: channels [0, c) then [c, D) == [0, D), outputs and state', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 10 }), fc.integer({ min: 2, max: 4 }), fc.integer(), (T, D4, Lc, seed) => scoped(() => {
      const r = rng(seed), D = D4 * 4, c = 4 * cut(r, D4);
      const bcx = f32s(r, T * 3 * D), kw = put(f32s(r, Lc * D)), st = f32s(r, (Lc - 1) * D);
      const run = (ranges: [number, number][]) => {
        const ps = put(st), bx = a.alloc((Lc - 1 + T) * D * 4), o = a.alloc(T * D * 4), y = a.alloc(T * D * 4), pb = put(bcx);
        for (const [c0, c1] of ranges) w.shortConv(pb, kw, ps, bx, o, y, T, D, Lc, c0, c1);
        return [a.f32(o, T * D).slice(), a.f32(y, T * D).slice(), a.f32(ps, (Lc - 1) * D).slice()];
      };
      expect(run([[c, D], [0, c]])).toEqual(run([[0, D]]));
    })), RUNS);
  });

  it('attention, prefill: (kv head, token) units [0, u) then [u, T*K) == all units, f16 and f32 caches, across blocks', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 5 }), fc.oneof(fc.integer({ min: 0, max: 12 }), fc.integer({ min: 250, max: 600 })), fc.constantFrom([4, 1], [6, 2], [8, 4], [5, 1]), fc.constantFrom(8, 16, 12), fc.constantFrom(1, 0), fc.integer(), (T, pos0, [H, K], hd, f16, seed) => scoped(() => {
      const r = rng(seed), n = pos0 + T, u = cut(r, T * K);
      const { q, kc, vc, cap } = attentionInputs(r, T, n, H, K, hd, f16);
      const ml = a.alloc(T * H * 2 * 4), wa = a.alloc(w.attnWorkFloats(H / K, hd) * 4), wb = a.alloc(w.attnWorkFloats(H / K, hd) * 4);
      const whole = a.alloc(T * H * hd * 4), parts = a.alloc(T * H * hd * 4);
      w.attention(q, kc, vc, whole, ml, wa, T, pos0, H, K, hd, cap, f16, 0, T * K);
      w.attention(q, kc, vc, parts, ml, wb, T, pos0, H, K, hd, cap, f16, u, T * K); // another thread's work area
      w.attention(q, kc, vc, parts, ml, wa, T, pos0, H, K, hd, cap, f16, 0, u);
      expect(a.f32(parts, T * H * hd).slice()).toEqual(a.f32(whole, T * H * hd).slice());
    })), RUNS);
  });

  it('attention, decode: (kv head, block) units split anywhere, heads merged in pieces == the whole == the prefill path', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 1300 }), fc.constantFrom([4, 1], [6, 2], [8, 4], [32, 8]), fc.constantFrom(16, 64), fc.constantFrom(1, 0), fc.integer(), (n, [H, K], hd, f16, seed) => scoped(() => {
      const r = rng(seed), nb = Math.ceil(n / ATT_BLOCK), u = cut(r, K * nb), hc = cut(r, H);
      const { q, kc, vc, cap } = attentionInputs(r, 1, n, H, K, hd, f16);
      const wf = w.attnWorkFloats(H / K, hd) * 4, wa = a.alloc(wf), wb = a.alloc(wf), ml = a.alloc(H * 2 * 4);
      const pw = a.alloc(H * nb * (hd + 4) * 4), pp = a.alloc(H * nb * (hd + 4) * 4);
      const whole = a.alloc(H * hd * 4), pieces = a.alloc(H * hd * 4), prefill = a.alloc(H * hd * 4);
      w.attentionBlocks(q, kc, vc, pw, wa, n - 1, H, K, hd, cap, f16, 0, K * nb);
      w.attentionMerge(pw, whole, ml, H, hd, nb, 0, H);
      w.attentionBlocks(q, kc, vc, pp, wb, n - 1, H, K, hd, cap, f16, u, K * nb);
      w.attentionBlocks(q, kc, vc, pp, wa, n - 1, H, K, hd, cap, f16, 0, u);
      w.attentionMerge(pp, pieces, ml, H, hd, nb, hc, H);
      w.attentionMerge(pp, pieces, ml, H, hd, nb, 0, hc);
      w.attention(q, kc, vc, prefill, ml, wa, 1, n - 1, H, K, hd, cap, f16, 0, K);
      expect(a.f32(pieces, H * hd).slice()).toEqual(a.f32(whole, H * hd).slice());
      expect(a.f32(prefill, H * hd).slice()).toEqual(a.f32(whole, H * hd).slice());
    })), RUNS);
  });
});
