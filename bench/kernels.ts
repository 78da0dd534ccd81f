// Per-kernel figures (tinybench) at LFM2.5-1.2B sizes: GB/s of weights streamed and GOP/s (2 ops per
// multiply-add) for the Q4_0 / Q8_0 matvec and GEMM kernels, and the time of the f32 operators of one token.
//
//   npm run bench:kernels [-- --simd baseline|relaxed] [--attention 512,4096,16384,32768] [--only attention]
//
// Attention: GB/s of KV cache read and GOP/s (2 ops per multiply-add, q.k and p.v) per layer.
// Weight matrices are larger than the L2 cache (the 8192 x 2048 FFN matrices), as in decode. Random bytes: speed
// does not depend on the values. Medians of tinybench samples; this VM is noisy (WASM.md §4.4: +-20-30 %).

import { Bench } from 'tinybench';
import { cpus } from 'node:os';
import { instantiateEngineModule } from '../src/engine/wasm-builds.js';

const simdArg = process.argv.indexOf('--simd');
const inst = instantiateEngineModule({ simd: simdArg >= 0 ? (process.argv[simdArg + 1] as 'baseline' | 'relaxed') : 'auto' });
const { exports: w, arena: a } = inst;

function randomBytes(n: number): number {
  const p = a.alloc(n);
  const u = a.u8(p, n);
  let s = 12345;
  for (let i = 0; i < n; i++) u[i] = (s = (s * 1103515245 + 12345) >>> 0) >>> 24;
  return p;
}
/** A repacked matrix of R x K with small valid f16 scales (0x2000 ~ 2^-7). */
function matrix(R: number, K: number, blockBytes: number): number {
  const bytes = (R * K * blockBytes) / 32;
  const p = randomBytes(bytes);
  const groupBytes = blockBytes * 4;
  const u = a.u8(p, bytes);
  for (let g = 0; g < bytes; g += groupBytes) for (let r = 0; r < 4; r++) (u[g + 2 * r] = 0), (u[g + 2 * r + 1] = 0x20);
  return p;
}
function activations(K: number, T: number): number {
  const x = a.alloc(K * T * 4);
  const f = a.f32(x, K * T);
  for (let i = 0; i < f.length; i++) f[i] = Math.sin(i * 0.37) * 2;
  const act = a.alloc(w.actRowBytes(K) * T);
  w.quantizeActRows(x, act, K, T);
  return act;
}

const shapes: [string, number, number][] = [
  ['attn q/o 2048x2048', 2048, 2048],
  ['conv in_proj 6144x2048', 6144, 2048],
  ['ffn w1/w3 8192x2048', 8192, 2048],
  ['ffn w2 2048x8192', 2048, 8192],
];
const T = 64;
const rows: string[] = [];
const bench = new Bench({ time: 400, warmupTime: 100 });
const meta = new Map<string, { bytes: number; ops: number }>();
const onlyAttention = process.argv.includes('--only') && process.argv[process.argv.indexOf('--only') + 1] === 'attention';
if (!onlyAttention) for (const [type, bb, mv, gemm] of [['Q4_0', 18, w.matvecQ4_0, w.gemmQ4_0], ['Q8_0', 34, w.matvecQ8_0, w.gemmQ8_0]] as const) {
  for (const [name, R, K] of shapes) {
    const pw = matrix(R, K, bb), act = activations(K, T), y = a.alloc(R * T * 4);
    const bytes = (R * K * bb) / 32;
    const mvName = `${type} matvec ${name}`;
    bench.add(mvName, () => mv(pw, act, y, R, K, 0, Math.ceil(R / 4)));
    meta.set(mvName, { bytes, ops: 2 * R * K });
    const gName = `${type} GEMM x${T} tokens ${name}`;
    bench.add(gName, () => gemm(pw, act, y, R, K, T, 0, Math.ceil(R / 4)));
    meta.set(gName, { bytes, ops: 2 * R * K * T });
  }
}
if (!onlyAttention) {
  const D = 2048, F = 8192;
  const x = randomBytes(F * 4 * 2), y = a.alloc(F * 4), act = a.alloc(w.actRowBytes(F));
  const f = a.f32(x, 2 * F);
  for (let i = 0; i < f.length; i++) f[i] = Math.cos(i) * 3;
  const nw = a.alloc(D * 4);
  a.f32(nw, D).fill(1);
  bench.add('quantize activations (8192)', () => w.quantizeAct(x, act, F));
  bench.add('rmsnorm (2048)', () => w.rmsnorm(y, x, nw, 1, D, 1e-5));
  bench.add('siluMul (8192)', () => w.siluMul(y, x + F * 4, F));
}
{
  // attention of one decode token over n cached positions, one layer of LFM2.5-1.2B (32 query heads, 8 kv heads x
  // 64): the one-thread paths, decode (block partials + merge) and a prefill chunk of 64 tokens at the end of the
  // context; f16 (default) and f32 caches. The cache is filled with the engine's own kvWrite.
  const H = 32, K = 8, hd = 64, T = 64, work = a.alloc(w.attnWorkFloats(H / K, hd) * 4);
  const sizes = (process.argv.includes('--attention') ? process.argv[process.argv.indexOf('--attention') + 1] : '512,4096,16384,32768').split(',').map(Number);
  const nMax = Math.max(...sizes);
  const rows = a.alloc(T * K * hd * 4);
  a.f32(rows, T * K * hd).forEach((_, i, arr) => (arr[i] = Math.sin(i * 0.7)));
  const q = a.alloc(T * H * hd * 4), out = a.alloc(T * H * hd * 4), ml = a.alloc(T * H * 2 * 4);
  a.f32(q, T * H * hd).forEach((_, i, arr) => (arr[i] = Math.cos(i) * 0.3));
  const parts = a.alloc(Math.ceil(nMax / 256) * H * (hd + 4) * 4);
  for (const [f16, es] of [[1, 2], [0, 4]] as const) {
    const cap = nMax, kc = a.alloc(cap * K * hd * es), vc = a.alloc(cap * K * hd * es);
    for (let p0 = 0; p0 < nMax; p0 += T) w.kvWrite(rows, rows, kc, vc, p0, K, hd, cap, f16, 0, Math.min(T, nMax - p0) * K);
    for (const n of sizes) {
      const nb = Math.ceil(n / 256), kvName = f16 ? 'f16' : 'f32';
      bench.add(`attention decode, ${n} positions, ${kvName} cache (1 layer)`, () => {
        w.attentionBlocks(q, kc, vc, parts, work, n - 1, H, K, hd, cap, f16, 0, K * nb);
        w.attentionMerge(parts, out, ml, H, hd, nb, 0, H);
      });
      meta.set(`attention decode, ${n} positions, ${kvName} cache (1 layer)`, { bytes: 2 * n * K * hd * es, ops: 4 * n * H * hd });
      if (n <= 4096) {
        bench.add(`attention prefill x${T} tokens at ${n} positions, ${kvName} cache (1 layer)`, () => w.attention(q, kc, vc, out, ml, work, T, n - T, H, K, hd, cap, f16, 0, T * K));
        meta.set(`attention prefill x${T} tokens at ${n} positions, ${kvName} cache (1 layer)`, { bytes: 2 * n * K * hd * es, ops: 4 * n * H * hd * T });
      }
    }
  }
}

await bench.run();
console.log(`kernels: ${inst.build} build, node ${process.version}, ${cpus().length} x ${cpus()[0]?.model}, 1 thread\n`);
console.log('| kernel | median | GB/s read (weights / KV cache) | GOP/s |');
console.log('|---|---|---|---|');
for (const t of bench.tasks) {
  const r = t.result as { latency?: { median?: number; mean: number }; period?: number } | undefined;
  const ms = r?.latency?.median ?? r?.latency?.mean ?? r?.period ?? NaN;
  const m = meta.get(t.name);
  const gbs = m ? (m.bytes / (ms / 1000) / 1e9).toFixed(2) : '';
  const gops = m ? (m.ops / (ms / 1000) / 1e9).toFixed(1) : '';
  rows.push(`| ${t.name} | ${ms < 1 ? `${(ms * 1000).toFixed(1)} µs` : `${ms.toFixed(2)} ms`} | ${gbs} | ${gops} |`);
}
console.log(rows.join('\n'));
