// Per-kernel figures (tinybench) at LFM2.5-1.2B sizes: GB/s of weights streamed and GOP/s (2 ops per
// multiply-add) for every weight type's matvec and GEMM kernel (Q4_0, Q8_0, Q4_K, Q5_K, Q6_K, F16, BF16), the time
// of the f32 operators of one token, and attention over the KV cache.
//
//   npm run bench:kernels [-- --simd baseline|relaxed] [--types Q4_0,Q4_K,...] [--attention 512,4096,16384,32768]
//                         [--only attention]
//
// Weight matrices are larger than the L2 cache (the 8192 x 2048 FFN matrices, the 65536 x 2048 tied head), as in
// decode. Random codes: speed does not depend on the values (f16 / bf16 weights are drawn from a normal
// distribution, so no subnormals take the slow path). Attention: GB/s of KV cache read and GOP/s (2 ops per
// multiply-add, q.k and p.v) per layer. Medians of tinybench samples; this VM is noisy (WASM.md §4.4: +-20-30 %):
// compare ratios within one run. Every matmul is called with the row-group range [0, G) of the whole matrix (the
// thread split's arguments).

import { Bench } from 'tinybench';
import { cpus } from 'node:os';
import { f32ToBf16, f32ToF16 } from '../reference/f16.js';
import { instantiateEngineModule } from '../src/engine/wasm-builds.js';
import type { WasmExports } from '../src/engine/wasm-module.js';

const arg = (name: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
const inst = instantiateEngineModule({ simd: (arg('simd') as 'baseline' | 'relaxed' | undefined) ?? 'auto' });
const { exports: w, arena: a } = inst;

/** n bytes of pseudo-random codes (a 64 KiB pattern repeated). */
function randomBytes(n: number): number {
  const p = a.alloc(n);
  const u = a.u8(p, n);
  let s = 12345;
  const head = Math.min(n, 65536);
  for (let i = 0; i < head; i++) u[i] = (s = (s * 1103515245 + 12345) >>> 0) >>> 24;
  for (let done = head; done < n; done *= 2) u.copyWithin(done, 0, Math.min(done, n - done));
  return p;
}

type Act = 'q8_0' | 'q8_k' | 'f16' | 'bf16';
type Mv = (w: number, x: number, y: number, R: number, K: number, g0: number, g1: number) => void;
type Gemm = (w: number, x: number, y: number, R: number, K: number, T: number, g0: number, g1: number) => void;
interface Kernel {
  type: string;
  /** Bytes of weights per weight (GGML's). */
  bpw: number;
  act: Act;
  mv: Mv;
  gemm: Gemm;
  /** A matrix (R, K) in the kernel's layout with valid small scales. */
  matrix(R: number, K: number): number;
  /** Row groups of R rows (4-row interleave, or 1 row for F16 / BF16). */
  groups(R: number): number;
}

/** An x4 matrix: random codes, the four f16 scales of every group-block at `dOffsets` set to 2^-7. */
function x4Matrix(R: number, K: number, blockElems: number, groupBytes: number, dOffsets: number[]): number {
  const bytes = (R / 4) * (K / blockElems) * groupBytes;
  const p = randomBytes(bytes);
  const u = a.u8(p, bytes);
  for (let g = 0; g < bytes; g += groupBytes) for (const o of dOffsets) for (let r = 0; r < 4; r++) (u[g + o + 2 * r] = 0), (u[g + o + 2 * r + 1] = 0x20);
  return p;
}
/** An F16 / BF16 matrix of N(0, 0.02) weights (a 64 Ki-value pattern repeated). */
function halfMatrix(R: number, K: number, toBits: (x: number) => number): number {
  const n = R * K;
  const p = a.alloc(n * 2);
  const h = new Uint16Array(a.memory.buffer, p, n);
  let s = 777;
  const rnd = () => (s = (s * 1103515245 + 12345) >>> 0) / 4294967296;
  const head = Math.min(n, 65536);
  for (let i = 0; i < head; i++) h[i] = toBits((rnd() + rnd() + rnd() - 1.5) * 0.04);
  for (let done = head; done < n; done *= 2) h.copyWithin(done, 0, Math.min(done, n - done));
  return p;
}

const x4 = (R: number) => (R + 3) >> 2;
const KERNELS: Kernel[] = [
  { type: 'Q4_0', bpw: 18 / 32, act: 'q8_0', mv: w.matvecQ4_0, gemm: w.gemmQ4_0, matrix: (R, K) => x4Matrix(R, K, 32, 72, [0]), groups: x4 },
  { type: 'Q8_0', bpw: 34 / 32, act: 'q8_0', mv: w.matvecQ8_0, gemm: w.gemmQ8_0, matrix: (R, K) => x4Matrix(R, K, 32, 136, [0]), groups: x4 },
  { type: 'Q4_K', bpw: 144 / 256, act: 'q8_k', mv: w.matvecQ4_K, gemm: w.gemmQ4_K, matrix: (R, K) => x4Matrix(R, K, 256, 576, [0, 8]), groups: x4 },
  { type: 'Q5_K', bpw: 176 / 256, act: 'q8_k', mv: w.matvecQ5_K, gemm: w.gemmQ5_K, matrix: (R, K) => x4Matrix(R, K, 256, 704, [0, 8]), groups: x4 },
  { type: 'Q6_K', bpw: 210 / 256, act: 'q8_k', mv: w.matvecQ6_K, gemm: w.gemmQ6_K, matrix: (R, K) => x4Matrix(R, K, 256, 840, [832]), groups: x4 },
  { type: 'F16', bpw: 2, act: 'f16', mv: w.matvecF16, gemm: w.gemmF16, matrix: (R, K) => halfMatrix(R, K, f32ToF16), groups: (R) => R },
  { type: 'BF16', bpw: 2, act: 'bf16', mv: w.matvecBF16, gemm: w.gemmBF16, matrix: (R, K) => halfMatrix(R, K, f32ToBf16), groups: (R) => R },
];

/** T rows of activations in the form the kernel multiplies. */
function activations(wx: WasmExports, act: Act, K: number, T: number): number {
  const x = a.alloc(K * T * 4);
  const f = a.f32(x, K * T);
  for (let i = 0; i < f.length; i++) f[i] = Math.sin(i * 0.37) * 2;
  if (act === 'q8_0') {
    const p = a.alloc(wx.actRowBytes(K) * T);
    wx.quantizeActRows(x, p, K, T);
    return p;
  }
  if (act === 'q8_k') {
    const p = a.alloc(wx.actKRowBytes(K) * T);
    wx.quantizeActKRows(x, p, K, T);
    return p;
  }
  // F16: the matvec takes the rounded activations times 2^112, the GEMM the plain ones (assembly/f16w.ts)
  (act === 'f16' ? (T === 1 ? wx.roundRowsF16Scaled : wx.roundRowsF16) : wx.roundRowsBF16)(x, x, K * T);
  return x;
}

const shapes: [string, number, number][] = [
  ['attn q/o 2048x2048', 2048, 2048],
  ['conv in_proj 6144x2048', 6144, 2048],
  ['ffn w1/w3 8192x2048', 8192, 2048],
  ['ffn w2 2048x8192', 2048, 8192],
  ['head 65536x2048', 65536, 2048],
];
const T = 64;
const only = arg('types')?.split(',');
const onlyAttention = arg('only') === 'attention';
const results: { type: string; kind: 'matvec' | 'GEMM'; shape: string; ms: number; bytes: number; ops: number }[] = [];
const median = (t: Bench['tasks'][number]) => {
  const r = t.result as { latency?: { median?: number; mean: number }; period?: number } | undefined;
  return r?.latency?.median ?? r?.latency?.mean ?? r?.period ?? NaN;
};

for (const k of KERNELS) {
  if (onlyAttention || (only && !only.includes(k.type))) continue;
  for (const [name, R, K] of shapes) {
    // one matrix at a time in memory (the F16 head alone is 256 MiB)
    const mark = a.mark();
    const pw = k.matrix(R, K), G = k.groups(R);
    const bytes = R * K * k.bpw;
    const bench = new Bench({ time: 400, warmupTime: 100 });
    const act1 = activations(w, k.act, K, 1), y = a.alloc(R * T * 4);
    bench.add('matvec', () => k.mv(pw, act1, y, R, K, 0, G));
    // GEMM: prefill work; the head only ever multiplies the last position, so it has no GEMM figure
    if (R !== 65536) {
      const actT = activations(w, k.act, K, T);
      bench.add('GEMM', () => k.gemm(pw, actT, y, R, K, T, 0, G));
    }
    await bench.run();
    for (const t of bench.tasks) {
      const kind = t.name as 'matvec' | 'GEMM';
      results.push({ type: k.type, kind, shape: name, ms: median(t), bytes, ops: 2 * R * K * (kind === 'GEMM' ? T : 1) });
    }
    a.release(mark);
  }
}

const ops = new Bench({ time: 400, warmupTime: 100 });
const opsMeta = new Map<string, { bytes: number; ops: number }>();
if (!onlyAttention) {
  const D = 2048, F = 8192;
  const x = randomBytes(F * 4 * 2), y = a.alloc(F * 4), act = a.alloc(w.actRowBytes(F)), actK = a.alloc(w.actKRowBytes(F));
  const f = a.f32(x, 2 * F);
  for (let i = 0; i < f.length; i++) f[i] = Math.cos(i) * 3;
  const nw = a.alloc(D * 4);
  a.f32(nw, D).fill(1);
  ops.add('quantize activations Q8_0 (8192)', () => w.quantizeAct(x, act, F));
  ops.add('quantize activations Q8_K (8192)', () => w.quantizeActK(x, actK, F));
  ops.add('round activations to f16 (8192)', () => w.roundRowsF16(x, y, F));
  ops.add('rmsnorm (2048)', () => w.rmsnorm(y, x, nw, 1, D, 1e-5));
  ops.add('siluMul (8192)', () => w.siluMul(y, x + F * 4, F));
}
{
  // attention of one decode token over n cached positions, one layer of LFM2.5-1.2B (32 query heads, 8 kv heads x
  // 64): the one-thread paths, decode (block partials + merge) and a prefill chunk of 64 tokens at the end of the
  // context; f16 (default) and f32 caches. The cache is filled with the engine's own kvWrite.
  const H = 32, K = 8, hd = 64, T = 64, work = a.alloc(w.attnWorkFloats(H / K, hd) * 4);
  const sizes = (arg('attention') ?? '512,4096,16384,32768').split(',').map(Number);
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
      ops.add(`attention decode, ${n} positions, ${kvName} cache (1 layer)`, () => {
        w.attentionBlocks(q, kc, vc, parts, work, n - 1, H, K, hd, cap, f16, 0, K * nb);
        w.attentionMerge(parts, out, ml, H, hd, nb, 0, H);
      });
      opsMeta.set(`attention decode, ${n} positions, ${kvName} cache (1 layer)`, { bytes: 2 * n * K * hd * es, ops: 4 * n * H * hd });
      if (n <= 4096) {
        ops.add(`attention prefill x${T} tokens at ${n} positions, ${kvName} cache (1 layer)`, () => w.attention(q, kc, vc, out, ml, work, T, n - T, H, K, hd, cap, f16, 0, T * K));
        opsMeta.set(`attention prefill x${T} tokens at ${n} positions, ${kvName} cache (1 layer)`, { bytes: 2 * n * K * hd * es, ops: 4 * n * H * hd * T });
      }
    }
  }
}
await ops.run();

const fmtMs = (ms: number) => (ms < 1 ? `${(ms * 1000).toFixed(1)} µs` : `${ms.toFixed(2)} ms`);
console.log(`kernels: ${inst.build} build, node ${process.version}, ${cpus().length} x ${cpus()[0]?.model}, 1 thread\n`);
console.log('| kernel | median | GB/s of weights | GOP/s | speed vs Q8_0 | vs Q4_0 |');
console.log('|---|---|---|---|---|---|');
for (const r of results) {
  const ref = (type: string) => results.find((x) => x.type === type && x.kind === r.kind && x.shape === r.shape);
  const vs = (type: string) => (ref(type) ? `${(ref(type)!.ms / r.ms).toFixed(2)}x` : '');
  const name = `${r.type} ${r.kind}${r.kind === 'GEMM' ? ` x${T} tokens` : ''} ${r.shape}`;
  console.log(`| ${name} | ${fmtMs(r.ms)} | ${(r.bytes / (r.ms / 1000) / 1e9).toFixed(2)} | ${(r.ops / (r.ms / 1000) / 1e9).toFixed(1)} | ${vs('Q8_0')} | ${vs('Q4_0')} |`);
}
console.log('\n| operator | median | GB/s read (KV cache) | GOP/s |');
console.log('|---|---|---|---|');
for (const t of ops.tasks) {
  const ms = median(t), m = opsMeta.get(t.name);
  console.log(`| ${t.name} | ${fmtMs(ms)} | ${m ? (m.bytes / (ms / 1000) / 1e9).toFixed(2) : ''} | ${m ? (m.ops / (ms / 1000) / 1e9).toFixed(1) : ''} |`);
}
