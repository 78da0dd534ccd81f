// The LFM2 forward step inside WASM: one call runs T tokens (a prefill chunk or one decode step) through every
// layer and writes the logits. Mirrors reference/model.ts section by section, with the same local names and the
// same tap points; the host (src/engine/wasm-core.ts) calls forward() once per step, never once per op.
//
// Threads (threads.ts): every thread calls forward(m, ith, nth) at once; each section computes thread ith's share
// (token rows for the row-wise ops, row groups for the matmuls, channels for the conv, (kv head, token) or
// (kv head, position block) units for attention) and a barrier separates a section from the next one that reads
// its output. Row-wise ops that follow each other on the same rows (residual -> norm -> quantize) need no barrier
// between them.
//
// Shape legend (spec §2): T new tokens, D hidden, H query heads, K kv heads, hd head dim, F FFN width,
// V vocab, Lc conv kernel length. Matrices are (out, in); activations are (T, width) row-major f32.
//
// Memory: this module allocates nothing. The host owns one bump allocator over the (imported) memory, places the
// weights, caches and scratch buffers, and describes them in a table of i32 words (the "model descriptor") whose
// address is passed to forward(). Word offsets are below; the host writes the same offsets
// (src/engine/wasm-layout.ts; tests/layout.test.ts checks the two agree).

import { QK, ACT_BLOCK_BYTES, quantizeActBlocks, quantizeActRows, dequantRowX4 } from './quant';
import { gemmF32, gemmQ4_0, gemmQ8_0, matvecQ4_0, matvecQ8_0 } from './matmul';
import { rmsnorm, rope, shortConv, siluMul } from './ops';
import { ATT_BLOCK, attention, attentionBlocks, attentionMerge, attnWorkFloats, kvWrite } from './attention';
import {
  QK_K, actKRowBytes, dequantRowK, gemmQ4_K, gemmQ5_K, gemmQ6_K, matvecQ4_K, matvecQ5_K, matvecQ6_K, quantizeActKBlocks, quantizeActKRows,
} from './kquants';
import { dequantRowHalf, gemmBF16, gemmF16, matvecBF16, matvecF16, roundRowsBF16, roundRowsF16, roundRowsF16Scaled } from './f16w';
import { barrier, share } from './threads';

// @ts-ignore: decorator
@external("env", "tap")
declare function tapHost(id: i32, ptr: usize, rows: i32, cols: i32): void;

// --- descriptor words (the host's copy: src/engine/wasm-layout.ts)
const M_D = 0, M_H = 1, M_K = 2, M_HD = 3, M_F = 4, M_V = 5, M_LC = 6, M_NLAYERS = 7, M_EPS = 8, M_CAPACITY = 9;
const M_POS = 10;
const M_EMBED = 12, M_EMBED_T = 13, M_HEAD = 14, M_HEAD_T = 15, M_FINAL_NORM = 16, M_ROPE = 17, M_TAPS = 18;
const M_H_BUF = 19, M_XB = 20, M_OB = 21, M_BCX = 22, M_BX = 23, M_Q = 24, M_KB = 25, M_VB = 26, M_ATTN = 27;
const M_GATE = 28, M_UP = 29, M_ACT = 30, M_ATTN_WORK = 31, M_LOGITS = 32, M_CONV_OUT = 33, M_CONV_Y = 34;
const M_TOKENS = 35, M_NTOK = 36, M_ALL_LOGITS = 37, M_CTL = 38;
const M_KV_F16 = 39, M_ATTN_PARTS = 40, M_ATTN_ML = 41;
const M_ACTK = 42, M_XF16 = 43, M_XBF16 = 44; // Q8_K activations (K-quant weights), f16- and bf16-rounded copies
const M_LAYERS = 64, LAYER_WORDS = 24;
// layer words
const L_KIND = 0, L_OP_NORM = 1, L_FFN_NORM = 2, L_W1 = 3, L_W1_T = 4, L_W3 = 5, L_W3_T = 6, L_W2 = 7, L_W2_T = 8;
const L_IN = 9, L_IN_T = 10, L_CONV = 11, L_OUT = 12, L_OUT_T = 13, L_STATE = 14; // conv layers
const L_QP = 9, L_QP_T = 10, L_KP = 11, L_KP_T = 12, L_VP = 13, L_VP_T = 14, L_OP = 15, L_OP_T = 16;
const L_QN = 17, L_KN = 18, L_KC = 19, L_VC = 20; // attention layers

// --- tap ids: 32 * (layer + 1) + code; layer -1 for the model-level taps (the host's names: wasm-layout.ts)
const T_EMBED = 0, T_FINAL_NORM = 1, T_LM_HEAD = 2;
const T_OP_NORM = 1, T_IN_PROJ = 2, T_CONV = 3, T_CONV_OUT = 4, T_Q = 5, T_K = 6, T_V = 7, T_QN = 8, T_KN = 9;
const T_QR = 10, T_KR = 11, T_ATTN = 12, T_ATTN_OUT = 13, T_FFN_NORM = 14, T_W1 = 15, T_W3 = 16, T_W2 = 17, T_LAYER = 18;

// @ts-ignore: decorator
@inline function word(m: usize, i: i32): i32 { return load<i32>(m + <usize>(i * 4)); }
// @ts-ignore: decorator
@inline function ptr(m: usize, i: i32): usize { return <usize>load<u32>(m + <usize>(i * 4)); }

// The thread context of the running forward(): set once at its start (each instance has its own globals).
let taps = false;
let ctl: usize = 0;
let ith = 0;
let nth = 1;

/** A tap: every thread's share is written (barrier), thread 0 hands it to the host, which copies it (barrier). */
function tap(layer: i32, code: i32, p: usize, rows: i32, cols: i32): void {
  if (!taps) return;
  barrier(ctl, nth);
  if (ith == 0) tapHost(32 * (layer + 1) + code, p, rows, cols);
  barrier(ctl, nth);
}

// The other activation forms (descriptor words M_ACTK, M_XF16, M_XBF16), set at the start of forward().
let actK: usize = 0;
let xf16: usize = 0;
let xbf16: usize = 0;

// @ts-ignore: decorator
@inline function usesQ8_0(t: i32): bool { return t == 2 || t == 8; }
// @ts-ignore: decorator
@inline function usesQ8_K(t: i32): bool { return t == 12 || t == 13 || t == 14; }

/**
 * Puts this thread's rows [r0, r1) of x (T, K) into the form each consumer's weights multiply (ggml's
 * vec_dot_type): Q8_0 activations for Q4_0 / Q8_0, Q8_K for the K-quants, an f16-rounded copy for F16 (times 2^112
 * when T = 1, the matvec's input: f16w.ts) and a bf16-rounded one for BF16; f32 weights take x itself.
 */
function prep(x: usize, act: usize, K: i32, r0: i32, r1: i32, T: i32, t1: i32, t2: i32, t3: i32): void {
  if (r1 <= r0) return;
  const n = r1 - r0, xr = x + <usize>(r0 * K * 4);
  if (usesQ8_0(t1) || usesQ8_0(t2) || usesQ8_0(t3)) quantizeActRows(xr, act + <usize>r0 * <usize>actRowBytes(K), K, n);
  if (usesQ8_K(t1) || usesQ8_K(t2) || usesQ8_K(t3)) quantizeActKRows(xr, actK + <usize>r0 * <usize>actKRowBytes(K), K, n);
  if (t1 == 1 || t2 == 1 || t3 == 1) {
    if (T == 1) roundRowsF16Scaled(xr, xf16 + <usize>(r0 * K * 4), n * K);
    else roundRowsF16(xr, xf16 + <usize>(r0 * K * 4), n * K);
  }
  if (t1 == 30 || t2 == 30 || t3 == 30) roundRowsBF16(xr, xbf16 + <usize>(r0 * K * 4), n * K);
}

/**
 * This thread's share of y (T, R) = x (T, K) . W^T for a weight of `type` (its GGML type id: 0 f32, 1 F16,
 * 2 Q4_0 x4, 8 Q8_0 x4, 12 / 13 / 14 Q4_K / Q5_K / Q6_K x4, 30 BF16), from the activation form prep() made.
 */
function matmul(type: i32, w: usize, x: usize, act: usize, y: usize, R: i32, K: i32, T: i32): void {
  if (type == 0 || type == 1 || type == 30) {
    // row layouts: a thread's share is rows
    const r0 = share(R, ith, nth), r1 = share(R, ith + 1, nth);
    if (type == 0) gemmF32(w, x, y, R, K, T, r0, r1);
    else if (type == 1) { if (T == 1) matvecF16(w, xf16, y, R, K, r0, r1); else gemmF16(w, xf16, y, R, K, T, r0, r1); }
    else { if (T == 1) matvecBF16(w, xbf16, y, R, K, r0, r1); else gemmBF16(w, xbf16, y, R, K, T, r0, r1); }
    return;
  }
  const G = (R + 3) >> 2;
  const g0 = share(G, ith, nth), g1 = share(G, ith + 1, nth);
  if (type == 2) { if (T == 1) matvecQ4_0(w, act, y, R, K, g0, g1); else gemmQ4_0(w, act, y, R, K, T, g0, g1); }
  else if (type == 8) { if (T == 1) matvecQ8_0(w, act, y, R, K, g0, g1); else gemmQ8_0(w, act, y, R, K, T, g0, g1); }
  else if (type == 12) { if (T == 1) matvecQ4_K(w, actK, y, R, K, g0, g1); else gemmQ4_K(w, actK, y, R, K, T, g0, g1); }
  else if (type == 13) { if (T == 1) matvecQ5_K(w, actK, y, R, K, g0, g1); else gemmQ5_K(w, actK, y, R, K, T, g0, g1); }
  else { if (T == 1) matvecQ6_K(w, actK, y, R, K, g0, g1); else gemmQ6_K(w, actK, y, R, K, T, g0, g1); }
}

/** h[r] += o[r] for rows [r0, r1) of n floats. */
function residual(h: usize, o: usize, n: i32, r0: i32, r1: i32): void {
  for (let i = r0 * n; i < r1 * n; i += 4) v128.store(h + <usize>(i * 4), f32x4.add(v128.load(h + <usize>(i * 4)), v128.load(o + <usize>(i * 4))));
}

/**
 * Runs M_NTOK tokens (i32 ids at M_TOKENS, already validated by the host) from position M_POS, advances the conv
 * states, KV caches and M_POS, and writes logits (R, V) to M_LOGITS: R = T with M_ALL_LOGITS, else 1 (the last
 * position). The host has written the RoPE angles of the T positions to M_ROPE (per token hd floats: cos of the
 * hd/2 frequencies, then their sin). Called by every thread at once: thread `ith_` of `nth_`.
 */
export function forward(m: usize, ith_: i32, nth_: i32): void {
  ith = ith_;
  nth = nth_;
  ctl = ptr(m, M_CTL);
  const D = word(m, M_D), H = word(m, M_H), K = word(m, M_K), hd = word(m, M_HD), F = word(m, M_F), V = word(m, M_V);
  const Lc = word(m, M_LC), eps = load<f32>(m + <usize>(M_EPS * 4));
  const pos0 = word(m, M_POS), T = word(m, M_NTOK), tokens = ptr(m, M_TOKENS);
  taps = word(m, M_TAPS) != 0;
  const h = ptr(m, M_H_BUF); // (T, D) the residual stream
  const xb = ptr(m, M_XB); // (T, D) normed input of the current block
  const ob = ptr(m, M_OB); // (T, D) output of the current operator / MLP, before the residual add
  const act = ptr(m, M_ACT); // Q8_0 activations of whichever input is being multiplied
  actK = ptr(m, M_ACTK); // the same input as Q8_K activations (K-quant weights)
  xf16 = ptr(m, M_XF16); // ... rounded to f16 (F16 weights)
  xbf16 = ptr(m, M_XBF16); // ... rounded to bf16 (BF16 weights)
  const ropeCS = ptr(m, M_ROPE); // (T, hd)
  const t0 = share(T, ith, nth), t1 = share(T, ith + 1, nth); // this thread's token rows

  // --- model.embed_tokens: a plain row lookup
  const embed = ptr(m, M_EMBED), embedT = word(m, M_EMBED_T);
  for (let t = t0; t < t1; t++) {
    const id = load<i32>(tokens + <usize>(t * 4));
    const row = h + <usize>(t * D * 4);
    if (embedT == 0) memory.copy(row, embed + <usize>id * <usize>(D * 4), <usize>(D * 4));
    else if (embedT == 2 || embedT == 8) dequantRowX4(embed, embedT, id, D, row);
    else if (embedT == 1 || embedT == 30) dequantRowHalf(embed, embedT, id, D, row);
    else dequantRowK(embed, embedT, id, D, row);
  }
  tap(-1, T_EMBED, h, T, D);

  const nLayers = word(m, M_NLAYERS);
  for (let l = 0; l < nLayers; l++) {
    const lw = m + <usize>((M_LAYERS + l * LAYER_WORDS) * 4);

    // --- operator_norm (the rows this thread also added the residual to)
    rmsnorm(xb + <usize>(t0 * D * 4), h + <usize>(t0 * D * 4), ptr(lw, L_OP_NORM), t1 - t0, D, eps);
    tap(l, T_OP_NORM, xb, T, D);

    if (word(lw, L_KIND) == 0) {
      // --- conv: double-gated short convolution (spec §3)
      const bcx = ptr(m, M_BCX); // (T, 3D) = [b | c | x] per token
      const inT = word(lw, L_IN_T);
      prep(xb, act, D, t0, t1, T, inT, 0, 0);
      barrier(ctl, nth);
      matmul(inT, ptr(lw, L_IN), xb, act, bcx, 3 * D, D, T);
      barrier(ctl, nth);
      tap(l, T_IN_PROJ, bcx, T, 3 * D);
      // b*x before the conv (the cached history), the causal depthwise conv, then c * conv; threads split channels
      const convOut = ptr(m, M_CONV_OUT); // (T, D)
      const y = ptr(m, M_CONV_Y); // (T, D)
      const c0 = 4 * share(D >> 2, ith, nth), c1 = 4 * share(D >> 2, ith + 1, nth);
      shortConv(bcx, ptr(lw, L_CONV), ptr(lw, L_STATE), ptr(m, M_BX), convOut, y, T, D, Lc, c0, c1);
      barrier(ctl, nth);
      tap(l, T_CONV, convOut, T, D);
      const outT = word(lw, L_OUT_T);
      prep(y, act, D, t0, t1, T, outT, 0, 0);
      barrier(ctl, nth);
      matmul(outT, ptr(lw, L_OUT), y, act, ob, D, D, T);
      barrier(ctl, nth);
      tap(l, T_CONV_OUT, ob, T, D);
    } else {
      // --- self_attn: GQA with per-head q/k RMSNorm and NeoX RoPE (spec §4)
      const q = ptr(m, M_Q), k = ptr(m, M_KB), v = ptr(m, M_VB); // (T, H*hd), (T, K*hd), (T, K*hd)
      const qT = word(lw, L_QP_T), kT = word(lw, L_KP_T), vT = word(lw, L_VP_T);
      prep(xb, act, D, t0, t1, T, qT, kT, vT);
      barrier(ctl, nth);
      matmul(qT, ptr(lw, L_QP), xb, act, q, H * hd, D, T);
      matmul(kT, ptr(lw, L_KP), xb, act, k, K * hd, D, T);
      matmul(vT, ptr(lw, L_VP), xb, act, v, K * hd, D, T);
      barrier(ctl, nth);
      tap(l, T_Q, q, T, H * hd);
      tap(l, T_K, k, T, K * hd);
      tap(l, T_V, v, T, K * hd);

      // q_layernorm / k_layernorm and RoPE, per head vector: threads split the (token, head) rows
      const q0 = share(T * H, ith, nth), q1 = share(T * H, ith + 1, nth);
      const k0 = share(T * K, ith, nth), k1 = share(T * K, ith + 1, nth);
      rmsnorm(q + <usize>(q0 * hd * 4), q + <usize>(q0 * hd * 4), ptr(lw, L_QN), q1 - q0, hd, eps);
      rmsnorm(k + <usize>(k0 * hd * 4), k + <usize>(k0 * hd * 4), ptr(lw, L_KN), k1 - k0, hd, eps);
      tap(l, T_QN, q, T, H * hd);
      tap(l, T_KN, k, T, K * hd);
      for (let r = q0; r < q1; r++) rope(q + <usize>(r * hd * 4), 1, hd, ropeCS + <usize>((r / H) * hd * 4));
      for (let r = k0; r < k1; r++) rope(k + <usize>(r * hd * 4), 1, hd, ropeCS + <usize>((r / K) * hd * 4));
      tap(l, T_QR, q, T, H * hd);
      tap(l, T_KR, k, T, K * hd);

      // this thread's K and V head rows into the caches at positions pos0 + t (f16: rounded to nearest even)
      const kc = ptr(lw, L_KC), vc = ptr(lw, L_VC), f16 = word(m, M_KV_F16);
      const cap = (word(m, M_CAPACITY) + 7) & ~7; // cache rows per kv head (whole K tiles)
      kvWrite(k, v, kc, vc, pos0, K, hd, cap, f16, k0, k1);
      barrier(ctl, nth);

      // attention in fixed blocks of ATT_BLOCK positions, folded in block order (attention.ts): the same bits
      // whichever thread computes a block. Prefill: threads split (kv head, token) units. Decode: threads split
      // (kv head, block) units into partials, then the query heads to fold them.
      const attn = ptr(m, M_ATTN); // (T, H*hd)
      const ml = ptr(m, M_ATTN_ML); // (T, H, 2) running max and sum
      const work = ptr(m, M_ATTN_WORK) + <usize>ith * <usize>(attnWorkFloats(H / K, hd) * 4); // this thread's
      if (T == 1) {
        const nb = (pos0 + ATT_BLOCK) / ATT_BLOCK, parts = ptr(m, M_ATTN_PARTS);
        attentionBlocks(q, kc, vc, parts, work, pos0, H, K, hd, cap, f16, share(K * nb, ith, nth), share(K * nb, ith + 1, nth));
        barrier(ctl, nth);
        attentionMerge(parts, attn, ml, H, hd, nb, share(H, ith, nth), share(H, ith + 1, nth));
      } else {
        attention(q, kc, vc, attn, ml, work, T, pos0, H, K, hd, cap, f16, share(T * K, ith, nth), share(T * K, ith + 1, nth));
      }
      barrier(ctl, nth);
      tap(l, T_ATTN, attn, T, H * hd);
      const oT = word(lw, L_OP_T);
      prep(attn, act, H * hd, t0, t1, T, oT, 0, 0);
      barrier(ctl, nth);
      matmul(oT, ptr(lw, L_OP), attn, act, ob, D, H * hd, T);
      barrier(ctl, nth);
      tap(l, T_ATTN_OUT, ob, T, D);
    }

    // --- residual
    residual(h, ob, D, t0, t1);

    // --- ffn_norm -> feed_forward (SwiGLU): w2( silu(w1 x) * (w3 x) )
    rmsnorm(xb + <usize>(t0 * D * 4), h + <usize>(t0 * D * 4), ptr(lw, L_FFN_NORM), t1 - t0, D, eps);
    tap(l, T_FFN_NORM, xb, T, D);
    const gate = ptr(m, M_GATE), up = ptr(m, M_UP); // (T, F)
    const w1T = word(lw, L_W1_T), w3T = word(lw, L_W3_T), w2T = word(lw, L_W2_T);
    prep(xb, act, D, t0, t1, T, w1T, w3T, 0);
    barrier(ctl, nth);
    matmul(w1T, ptr(lw, L_W1), xb, act, gate, F, D, T);
    matmul(w3T, ptr(lw, L_W3), xb, act, up, F, D, T);
    barrier(ctl, nth);
    tap(l, T_W1, gate, T, F);
    tap(l, T_W3, up, T, F);
    if (T == 1) {
      // one token: the gate row is long (F) and the work per element is real (an exp): threads split it by
      // quantization blocks, each gating and quantizing its own
      const unit = usesQ8_K(w2T) ? QK_K : usesQ8_0(w2T) ? QK : 4, n = F / unit;
      const e0 = unit * share(n, ith, nth), e1 = unit * share(n, ith + 1, nth);
      siluMul(gate + <usize>(e0 * 4), up + <usize>(e0 * 4), e1 - e0);
      if (usesQ8_0(w2T)) quantizeActBlocks(gate, act, F, e0 / QK, e1 / QK);
      else if (usesQ8_K(w2T)) quantizeActKBlocks(gate, actK, F, e0 / QK_K, e1 / QK_K);
      else if (w2T == 1) roundRowsF16Scaled(gate + <usize>(e0 * 4), xf16 + <usize>(e0 * 4), e1 - e0);
      else if (w2T == 30) roundRowsBF16(gate + <usize>(e0 * 4), xbf16 + <usize>(e0 * 4), e1 - e0);
    } else {
      siluMul(gate + <usize>(t0 * F * 4), up + <usize>(t0 * F * 4), (t1 - t0) * F);
      prep(gate, act, F, t0, t1, T, w2T, 0, 0);
    }
    barrier(ctl, nth);
    matmul(w2T, ptr(lw, L_W2), gate, act, ob, D, F, T);
    barrier(ctl, nth);
    tap(l, T_W2, ob, T, D);

    // --- residual
    residual(h, ob, D, t0, t1);
    tap(l, T_LAYER, h, T, D);
  }
  barrier(ctl, nth); // the final norm's rows are split differently from the residual's

  // --- embedding_norm (the final norm) and the tied head, for the rows asked for
  const R = word(m, M_ALL_LOGITS) != 0 ? T : 1;
  const r0 = share(R, ith, nth), r1 = share(R, ith + 1, nth);
  const hf = xb; // (R, D)
  rmsnorm(hf + <usize>(r0 * D * 4), h + <usize>((T - R + r0) * D * 4), ptr(m, M_FINAL_NORM), r1 - r0, D, eps);
  tap(-1, T_FINAL_NORM, hf, R, D);
  const headT = word(m, M_HEAD_T);
  const logits = ptr(m, M_LOGITS); // (R, V)
  prep(hf, act, D, r0, r1, R, headT, 0, 0);
  barrier(ctl, nth);
  matmul(headT, ptr(m, M_HEAD), hf, act, logits, V, D, R);
  tap(-1, T_LM_HEAD, logits, R, V);
  barrier(ctl, nth); // every thread's logits are written before thread 0 returns to the host
  if (ith == 0) store<i32>(m + <usize>(M_POS * 4), pos0 + T);
}

/** Bytes of one Q8_0 activation row of K floats (the host sizes the act scratch with it). */
export function actRowBytes(K: i32): i32 {
  return (K / QK) * ACT_BLOCK_BYTES;
}
