// GQA attention over the KV cache (spec §4), for decode and prefill, and the cache write (f32 -> f16).
//
// One pass with an online softmax, in FIXED blocks of ATT_BLOCK positions: for one token and one query head,
// block b (positions [b*ATT_BLOCK, ...) up to the token's own) gives a partial
//     m_b = max_j s_j,   l_b = sum_j p_j,   o_b = sum_j p_j v_j,   p_j = exp(s_j - m_b),  s_j = (q . k_j) * scale
// and the partials are folded in block order:
//     M = max(M, m_b);  a = exp(M_old - M);  c = exp(m_b - M);  L = L a + l_b c;  O = O a + o_b c
// then out = O / L. No score buffer grows with the context (a block's probabilities live in a per-thread work
// area of ATT_BLOCK floats per head). Because the blocks are fixed and the fold order is fixed, the bits do not
// depend on who computes which block: prefill (`attention`, threads split (kv head, token) units and fold as they
// go) and decode (`attentionBlocks` -> `attentionMerge`: threads split (kv head, block) units, write partials,
// then split the query heads to fold them) give the same bits for the same token, for any thread count.
//
// GQA: a kv head's K and V rows are read once for all the H/K query heads that share it (register tiles of 4
// heads). SIMD over positions for the scores (the K cache is stored in tiles of 8 positions, dims outer, so one
// vector holds one dim of 4 positions and every lane is a plain sequential dot product), and over the head dim
// for p . V (V rows as stored). Each lane does exactly the operations, in the order, of the scalar twin's loops,
// so the SIMD kernels equal their twins bit for bit.
//
// KV cache layouts, per attention layer, kv head by kv head (each head's rows contiguous, so a block streams from
// memory in one run; cap = the capacity rounded up to a multiple of KV_TILE positions):
//   K: kv head g, tile t = j / 8, dim i, lane p = j % 8 at   ((g*(cap/8) + t)*hd + i)*8 + p
//   V: kv head g, position j, dim i at                       (g*cap + j)*hd + i
// Elements are f16 bits (u16) when f16 != 0 (written with round-to-nearest-even, as ggml's fp32 -> fp16), else
// f32. f16 elements are widened by bit moves only: (h & 0x7fff) << 13 with the sign on top is the f32 whose value
// is h * 2^-112; the query (for K) and the probabilities (for V) are multiplied by 2^112 beforehand, which is
// exact, so every product equals q_i * f16ToF32(k_i) bit for bit (what the twins compute). That needs
// |q_i| < 2^16 (after the q RMSNorm, |q_i| <= sqrt(hd) * max|q_layernorm|).

import {
  expf, expf4With, f16ToF32, f32ToF16, keepF32x4, keepI32x4, EXP_LO, EXP_HI, LOG2E, LN2_HI, LN2_LO, P0, P1, P2, P3, P4, P5,
} from './common';

/** Positions per softmax block. Fixed: the fold order, hence the bits, depend on it. */
export const ATT_BLOCK = 256;
/** Positions per K tile. */
export const KV_TILE = 8;
const SIGN_AND_MAG = 0x8fffffff;

// @ts-ignore: decorator
@inline function f32At(p: usize, i: i32): f32 { return load<f32>(p + <usize>i * 4); }
// @ts-ignore: decorator
@inline function setF32(p: usize, i: i32, v: f32): void { store<f32>(p + <usize>i * 4, v); }

/** Floats of one thread's work area for a group of G query heads of hd (the host sizes it with this). */
export function attnWorkFloats(G: i32, hd: i32): i32 {
  return G * hd + G * ATT_BLOCK + 4 * G + G * hd; // qs | probabilities | (m, l) per head, padded | o_b
}

/** Floats of one (head, block) partial in the decode partials buffer: m, l, 2 pad, o (hd). */
// @ts-ignore: decorator
@inline function partFloats(hd: i32): i32 { return hd + 4; }

// ---------------------------------------------------------------------------------------------------------------
// The cache write: rows r = t*K + g in [r0, r1) of k and v (T, K*hd) f32 go to position pos0 + t. Scalar only
// (1024 values per token per layer: nothing to gain), shared by both paths.

export function kvWrite(k: usize, v: usize, kc: usize, vc: usize, pos0: i32, K: i32, hd: i32, cap: i32, f16: i32, r0: i32, r1: i32): void {
  for (let r = r0; r < r1; r++) {
    const t = r / K, g = r % K, j = pos0 + t;
    const kTile = kIndex(g, j, hd, cap); // element index of (i = 0, lane)
    const vRow = vIndex(g, j, hd, cap);
    const kr = k + <usize>(r * hd) * 4, vr = v + <usize>(r * hd) * 4;
    if (f16 != 0) {
      for (let i = 0; i < hd; i++) {
        store<u16>(kc + (kTile + <usize>(i * 8)) * 2, <u16>f32ToF16(f32At(kr, i)));
        store<u16>(vc + (vRow + <usize>i) * 2, <u16>f32ToF16(f32At(vr, i)));
      }
    } else {
      for (let i = 0; i < hd; i++) store<f32>(kc + (kTile + <usize>(i * 8)) * 4, f32At(kr, i));
      memory.copy(vc + vRow * 4, vr, <usize>(hd * 4));
    }
  }
}

/** Element index of K (kv head g, position j, dim 0); dim i is 8 * i further. */
// @ts-ignore: decorator
@inline function kIndex(g: i32, j: i32, hd: i32, cap: i32): usize {
  return <usize>((g * (cap >> 3) + (j >> 3)) * hd) * 8 + <usize>(j & 7);
}
/** Element index of V (kv head g, position j, dim 0). */
// @ts-ignore: decorator
@inline function vIndex(g: i32, j: i32, hd: i32, cap: i32): usize {
  return <usize>(g * cap + j) * <usize>hd;
}

// @ts-ignore: decorator
@inline function kvAt(c: usize, e: usize, f16: i32): f32 {
  return f16 != 0 ? f16ToF32(load<u16>(c + e * 2)) : load<f32>(c + e * 4);
}

// ---------------------------------------------------------------------------------------------------------------
// Scalar twins: the plain loops, which fix the order of every operation.

/**
 * One block's partial for query heads [g*G, g*G + G) of one token (q rows at qt): positions [j0, j0 + cnt).
 * Writes (m, l) per head to pm (stride 4 floats) and o_b per head to po (G, hd).
 */
function blockPartialScalar(qt: usize, kc: usize, vc: usize, P: usize, pm: usize, po: usize, G: i32, hd: i32, cap: i32, g: i32, j0: i32, cnt: i32, f16: i32): void {
  const scale: f32 = <f32>1.0 / sqrt<f32>(<f32>hd);
  for (let hh = 0; hh < G; hh++) {
    const qh = qt + <usize>((g * G + hh) * hd) * 4;
    const ph = P + <usize>(hh * ATT_BLOCK) * 4;
    let mx: f32 = -Infinity;
    for (let jj = 0; jj < cnt; jj++) {
      const j = j0 + jj;
      const kTile = kIndex(g, j, hd, cap);
      let s: f32 = 0;
      for (let i = 0; i < hd; i++) s += f32At(qh, i) * kvAt(kc, kTile + <usize>(i * 8), f16);
      s *= scale;
      setF32(ph, jj, s);
      mx = max<f32>(mx, s);
    }
    // probabilities; their sum in 4 lanes by position mod 4 (the SIMD kernel's order), then (l0 + l1) + (l2 + l3)
    let l0: f32 = 0, l1: f32 = 0, l2: f32 = 0, l3: f32 = 0;
    for (let jj = 0; jj < cnt; jj++) {
      const e = expf(f32At(ph, jj) - mx);
      setF32(ph, jj, e);
      const lane = jj & 3;
      if (lane == 0) l0 += e; else if (lane == 1) l1 += e; else if (lane == 2) l2 += e; else l3 += e;
    }
    setF32(pm, hh * 4, mx);
    setF32(pm, hh * 4 + 1, (l0 + l1) + (l2 + l3));
    const oh = po + <usize>(hh * hd) * 4;
    for (let i = 0; i < hd; i++) {
      let o: f32 = 0;
      for (let jj = 0; jj < cnt; jj++) o += f32At(ph, jj) * kvAt(vc, vIndex(g, j0 + jj, hd, cap) + <usize>i, f16);
      setF32(oh, i, o);
    }
  }
}

/** Folds a block partial (m, l at pm[4hh], o_b at po) into the running state of nh heads (M, L at ml[2hh], O at o). */
function foldScalar(o: usize, oStride: i32, ml: usize, pm: usize, po: usize, nh: i32, hd: i32, first: bool): void {
  for (let hh = 0; hh < nh; hh++) {
    const oh = o + <usize>(hh * oStride) * 4, ob = po + <usize>(hh * hd) * 4;
    const mb = f32At(pm, hh * 4), lb = f32At(pm, hh * 4 + 1);
    if (first) {
      setF32(ml, hh * 2, mb);
      setF32(ml, hh * 2 + 1, lb);
      for (let i = 0; i < hd; i++) setF32(oh, i, f32At(ob, i));
      continue;
    }
    const M = f32At(ml, hh * 2), Mn = max<f32>(M, mb);
    const a = expf(M - Mn), c = expf(mb - Mn);
    setF32(ml, hh * 2, Mn);
    setF32(ml, hh * 2 + 1, f32At(ml, hh * 2 + 1) * a + lb * c);
    for (let i = 0; i < hd; i++) setF32(oh, i, f32At(oh, i) * a + f32At(ob, i) * c);
  }
}

function normalizeScalar(o: usize, oStride: i32, ml: usize, nh: i32, hd: i32): void {
  for (let hh = 0; hh < nh; hh++) {
    const oh = o + <usize>(hh * oStride) * 4, L = f32At(ml, hh * 2 + 1);
    for (let i = 0; i < hd; i++) setF32(oh, i, f32At(oh, i) / L);
  }
}

/**
 * Attention for T new tokens at positions pos0 .. pos0+T-1 (their K, V rows already in the caches): q (T, H*hd),
 * out (T, H*hd). Work units u = g*T + t (kv head g, token t) in [u0, u1): a thread's range runs block by block
 * over its tokens, so each K/V block is read from memory once for all of them. ml (T, H, 2) holds each
 * (token, head)'s running max and sum; work is this thread's area (attnWorkFloats).
 */
export function attentionScalar(q: usize, kc: usize, vc: usize, out: usize, ml: usize, work: usize, T: i32, pos0: i32, H: i32, K: i32, hd: i32, cap: i32, f16: i32, u0: i32, u1: i32): void {
  const G = H / K;
  const P = work + <usize>(G * hd) * 4, pm = P + <usize>(G * ATT_BLOCK) * 4, po = pm + <usize>(4 * G) * 4;
  for (let g = u0 / T; g < K && g * T < u1; g++) {
    const ta = max<i32>(u0 - g * T, 0), tb = min<i32>(u1 - g * T, T);
    const nb = (pos0 + tb + ATT_BLOCK - 1) / ATT_BLOCK; // blocks seen by the last token
    for (let b = 0; b < nb; b++) {
      for (let t = ta; t < tb; t++) {
        const n = pos0 + t + 1, j0 = b * ATT_BLOCK;
        if (j0 >= n) continue;
        blockPartialScalar(q + <usize>(t * H * hd) * 4, kc, vc, P, pm, po, G, hd, cap, g, j0, min<i32>(ATT_BLOCK, n - j0), f16);
        const row = (t * H + g * G);
        foldScalar(out + <usize>(row * hd) * 4, hd, ml + <usize>(row * 2) * 4, pm, po, G, hd, b == 0);
      }
    }
    for (let t = ta; t < tb; t++) {
      const row = (t * H + g * G);
      normalizeScalar(out + <usize>(row * hd) * 4, hd, ml + <usize>(row * 2) * 4, G, hd);
    }
  }
}

/**
 * Decode (one token at position pos, n = pos + 1 positions): the block partials of units u = g*nb + b (kv head g,
 * block b; nb = ceil(n / ATT_BLOCK)) in [u0, u1), written to parts: (H, nb, hd + 4) = [m, l, -, -, o_b].
 */
export function attentionBlocksScalar(q: usize, kc: usize, vc: usize, parts: usize, work: usize, pos: i32, H: i32, K: i32, hd: i32, cap: i32, f16: i32, u0: i32, u1: i32): void {
  const G = H / K, n = pos + 1, nb = (n + ATT_BLOCK - 1) / ATT_BLOCK, pf = partFloats(hd);
  const P = work + <usize>(G * hd) * 4, pm = P + <usize>(G * ATT_BLOCK) * 4, po = pm + <usize>(4 * G) * 4;
  for (let u = u0; u < u1; u++) {
    const g = u / nb, b = u % nb, j0 = b * ATT_BLOCK;
    blockPartialScalar(q, kc, vc, P, pm, po, G, hd, cap, g, j0, min<i32>(ATT_BLOCK, n - j0), f16);
    storeParts(parts, pm, po, G, hd, g, b, nb, pf);
  }
}

function storeParts(parts: usize, pm: usize, po: usize, G: i32, hd: i32, g: i32, b: i32, nb: i32, pf: i32): void {
  for (let hh = 0; hh < G; hh++) {
    const dst = parts + <usize>(((g * G + hh) * nb + b) * pf) * 4;
    memory.copy(dst, pm + <usize>(hh * 4) * 4, 8);
    memory.copy(dst + 16, po + <usize>(hh * hd) * 4, <usize>(hd * 4));
  }
}

/** Decode: folds each query head h in [h0, h1)'s nb block partials in block order into out (H*hd). ml: (H, 2). */
export function attentionMergeScalar(parts: usize, out: usize, ml: usize, H: i32, hd: i32, nb: i32, h0: i32, h1: i32): void {
  const pf = partFloats(hd);
  for (let h = h0; h < h1; h++) {
    for (let b = 0; b < nb; b++) {
      const p = parts + <usize>((h * nb + b) * pf) * 4;
      foldScalar(out + <usize>(h * hd) * 4, hd, ml + <usize>(h * 2) * 4, p, p + 16, 1, hd, b == 0);
    }
    normalizeScalar(out + <usize>(h * hd) * 4, hd, ml + <usize>(h * 2) * 4, 1, hd);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// SIMD. E is the cache element: u16 (f16 bits) or f32.

/**
 * 4 consecutive cache elements as f32x4: f32 as is; f16 as value * 2^-112 (bit moves only; see the top). mask =
 * keepI32x4(SIGN_AND_MAG), made once per block outside the loops (a constant would be rebuilt at every use).
 */
// @ts-ignore: decorator
@inline function load4<E>(p: usize, mask: v128): v128 {
  if (sizeof<E>() == 2) return v128.and(i32x4.shl(v128.load16x4_s(p), 13), mask);
  return v128.load(p);
}

/** Scores of one K tile (8 positions) for 4 heads: acc[h] += qs[h][i] * K[i][lane], i = 0..hd-1, times scale. */
// @ts-ignore: decorator
@inline function tileScores4<E>(qs: usize, kt: usize, sp: usize, hd: i32, sc: v128, lim: v128, mx: usize, mask: v128): void {
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0), b0 = f32x4.splat(0), b1 = f32x4.splat(0);
  let c0 = f32x4.splat(0), c1 = f32x4.splat(0), d0 = f32x4.splat(0), d1 = f32x4.splat(0);
  const es = <usize>sizeof<E>(), hb = <usize>(hd * 4);
  for (let i = 0; i < hd; i++) {
    const kp = kt + <usize>(i * 8) * es;
    const k0 = load4<E>(kp, mask), k1 = load4<E>(kp + 4 * es, mask);
    const qp = qs + <usize>(i * 4);
    const qa = v128.load32_splat(qp), qb = v128.load32_splat(qp + hb), qc = v128.load32_splat(qp + 2 * hb), qd = v128.load32_splat(qp + 3 * hb);
    a0 = f32x4.add(a0, f32x4.mul(qa, k0)); a1 = f32x4.add(a1, f32x4.mul(qa, k1));
    b0 = f32x4.add(b0, f32x4.mul(qb, k0)); b1 = f32x4.add(b1, f32x4.mul(qb, k1));
    c0 = f32x4.add(c0, f32x4.mul(qc, k0)); c1 = f32x4.add(c1, f32x4.mul(qc, k1));
    d0 = f32x4.add(d0, f32x4.mul(qd, k0)); d1 = f32x4.add(d1, f32x4.mul(qd, k1));
  }
  const lo = i32x4.gt_s(lim, i32x4(0, 1, 2, 3)), hi = i32x4.gt_s(lim, i32x4(4, 5, 6, 7)); // lanes inside the block
  const ninf = f32x4.splat(-Infinity), pb = <usize>(ATT_BLOCK * 4);
  a0 = v128.bitselect(f32x4.mul(a0, sc), ninf, lo); a1 = v128.bitselect(f32x4.mul(a1, sc), ninf, hi);
  b0 = v128.bitselect(f32x4.mul(b0, sc), ninf, lo); b1 = v128.bitselect(f32x4.mul(b1, sc), ninf, hi);
  c0 = v128.bitselect(f32x4.mul(c0, sc), ninf, lo); c1 = v128.bitselect(f32x4.mul(c1, sc), ninf, hi);
  d0 = v128.bitselect(f32x4.mul(d0, sc), ninf, lo); d1 = v128.bitselect(f32x4.mul(d1, sc), ninf, hi);
  v128.store(sp, a0); v128.store(sp + 16, a1);
  v128.store(sp + pb, b0); v128.store(sp + pb + 16, b1);
  v128.store(sp + 2 * pb, c0); v128.store(sp + 2 * pb + 16, c1);
  v128.store(sp + 3 * pb, d0); v128.store(sp + 3 * pb + 16, d1);
  v128.store(mx, f32x4.max(v128.load(mx), f32x4.max(a0, a1)));
  v128.store(mx + 16, f32x4.max(v128.load(mx + 16), f32x4.max(b0, b1)));
  v128.store(mx + 32, f32x4.max(v128.load(mx + 32), f32x4.max(c0, c1)));
  v128.store(mx + 48, f32x4.max(v128.load(mx + 48), f32x4.max(d0, d1)));
}

/** The same for one head. */
// @ts-ignore: decorator
@inline function tileScores1<E>(qs: usize, kt: usize, sp: usize, hd: i32, sc: v128, lim: v128, mx: usize, mask: v128): void {
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0);
  const es = <usize>sizeof<E>();
  for (let i = 0; i < hd; i++) {
    const kp = kt + <usize>(i * 8) * es;
    const qa = v128.load32_splat(qs + <usize>(i * 4));
    a0 = f32x4.add(a0, f32x4.mul(qa, load4<E>(kp, mask)));
    a1 = f32x4.add(a1, f32x4.mul(qa, load4<E>(kp + 4 * es, mask)));
  }
  const ninf = f32x4.splat(-Infinity);
  a0 = v128.bitselect(f32x4.mul(a0, sc), ninf, i32x4.gt_s(lim, i32x4(0, 1, 2, 3)));
  a1 = v128.bitselect(f32x4.mul(a1, sc), ninf, i32x4.gt_s(lim, i32x4(4, 5, 6, 7)));
  v128.store(sp, a0);
  v128.store(sp + 16, a1);
  v128.store(mx, f32x4.max(v128.load(mx), f32x4.max(a0, a1)));
}

/** o[h][c .. c+w) = sum_j P'[h][j] V[j][c ..], 4 heads, w = 8 or 4 dims; written to po. */
// @ts-ignore: decorator
@inline function pv4<E>(P: usize, vh: usize, vStride: usize, po: usize, hd: i32, c: i32, cnt: i32, wide: bool, mask: v128): void {
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0), b0 = f32x4.splat(0), b1 = f32x4.splat(0);
  let c0 = f32x4.splat(0), c1 = f32x4.splat(0), d0 = f32x4.splat(0), d1 = f32x4.splat(0);
  const es = <usize>sizeof<E>(), pb = <usize>(ATT_BLOCK * 4);
  let vp = vh + <usize>c * es;
  for (let j = 0; j < cnt; j++) {
    const v0 = load4<E>(vp, mask);
    const pp = P + <usize>(j * 4);
    const pa = v128.load32_splat(pp), pbv = v128.load32_splat(pp + pb), pc = v128.load32_splat(pp + 2 * pb), pd = v128.load32_splat(pp + 3 * pb);
    a0 = f32x4.add(a0, f32x4.mul(pa, v0));
    b0 = f32x4.add(b0, f32x4.mul(pbv, v0));
    c0 = f32x4.add(c0, f32x4.mul(pc, v0));
    d0 = f32x4.add(d0, f32x4.mul(pd, v0));
    if (wide) {
      const v1 = load4<E>(vp + 4 * es, mask);
      a1 = f32x4.add(a1, f32x4.mul(pa, v1));
      b1 = f32x4.add(b1, f32x4.mul(pbv, v1));
      c1 = f32x4.add(c1, f32x4.mul(pc, v1));
      d1 = f32x4.add(d1, f32x4.mul(pd, v1));
    }
    vp += vStride;
  }
  const hb = <usize>(hd * 4), o = po + <usize>(c * 4);
  v128.store(o, a0); v128.store(o + hb, b0); v128.store(o + 2 * hb, c0); v128.store(o + 3 * hb, d0);
  if (wide) { v128.store(o + 16, a1); v128.store(o + hb + 16, b1); v128.store(o + 2 * hb + 16, c1); v128.store(o + 3 * hb + 16, d1); }
}

// @ts-ignore: decorator
@inline function pv1<E>(P: usize, vh: usize, vStride: usize, po: usize, c: i32, cnt: i32, wide: bool, mask: v128): void {
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0);
  const es = <usize>sizeof<E>();
  let vp = vh + <usize>c * es;
  for (let j = 0; j < cnt; j++) {
    const pa = v128.load32_splat(P + <usize>(j * 4));
    a0 = f32x4.add(a0, f32x4.mul(pa, load4<E>(vp, mask)));
    if (wide) a1 = f32x4.add(a1, f32x4.mul(pa, load4<E>(vp + 4 * es, mask)));
    vp += vStride;
  }
  v128.store(po + <usize>(c * 4), a0);
  if (wide) v128.store(po + <usize>(c * 4) + 16, a1);
}

/** blockPartialScalar, SIMD: the same results bit for bit. */
function blockPartial<E>(qt: usize, kc: usize, vc: usize, qs: usize, P: usize, pm: usize, po: usize, G: i32, hd: i32, cap: i32, g: i32, j0: i32, cnt: i32): void {
  const kvs: f32 = sizeof<E>() == 2 ? reinterpret<f32>(0x77800000) : 1; // 2^112 for f16 (see the top)
  const es = <usize>sizeof<E>(), mask = keepI32x4(SIGN_AND_MAG);
  // the group's query rows, times 2^112 for an f16 cache (exact)
  const q0 = qt + <usize>(g * G * hd) * 4, ks = f32x4.splat(kvs);
  for (let i = 0; i < G * hd; i += 4) v128.store(qs + <usize>(i * 4), f32x4.mul(v128.load(q0 + <usize>(i * 4)), ks));
  // scores of every tile of the block, and each head's max in 4 lanes (pm doubles as that scratch)
  const sc = f32x4.splat(<f32>1.0 / sqrt<f32>(<f32>hd));
  for (let hh = 0; hh < G; hh++) v128.store(pm + <usize>(hh * 16), f32x4.splat(-Infinity));
  const tileB = <usize>(hd * 8) * es;
  const kFirst = kc + kIndex(g, j0, hd, cap) * es;
  for (let jj = 0; jj < cnt; jj += 8) {
    const kt = kFirst + <usize>(jj >> 3) * tileB, lim = i32x4.splat(cnt - jj);
    let hh = 0;
    for (; hh + 4 <= G; hh += 4) {
      tileScores4<E>(qs + <usize>(hh * hd * 4), kt, P + <usize>(hh * ATT_BLOCK + jj) * 4, hd, sc, lim, pm + <usize>(hh * 16), mask);
    }
    for (; hh < G; hh++) tileScores1<E>(qs + <usize>(hh * hd * 4), kt, P + <usize>(hh * ATT_BLOCK + jj) * 4, hd, sc, lim, pm + <usize>(hh * 16), mask);
  }
  // probabilities (masked lanes -> 0), each head's sum in 4 lanes; stored times 2^112 for an f16 cache (exact)
  const c4 = (cnt + 3) & ~3;
  // expf4's constants and the lane indices, built once here rather than at every use in the loop (see keepI32x4)
  const eLo = keepF32x4(EXP_LO), eHi = keepF32x4(EXP_HI), eLog2e = keepF32x4(LOG2E), eLn2Hi = keepF32x4(LN2_HI), eLn2Lo = keepF32x4(LN2_LO);
  const e0 = keepF32x4(P0), e1 = keepF32x4(P1), e2 = keepF32x4(P2), e3 = keepF32x4(P3), e4 = keepF32x4(P4), e5 = keepF32x4(P5);
  const eOne = keepF32x4(1.0), e127 = keepI32x4(127), lanes = v128.xor(i32x4(0, 1, 2, 3), keepI32x4(0));
  for (let hh = 0; hh < G; hh++) {
    const mv = v128.load(pm + <usize>(hh * 16));
    const mx = max<f32>(max<f32>(f32x4.extract_lane(mv, 0), f32x4.extract_lane(mv, 1)), max<f32>(f32x4.extract_lane(mv, 2), f32x4.extract_lane(mv, 3)));
    const m4 = f32x4.splat(mx);
    const ph = P + <usize>(hh * ATT_BLOCK) * 4;
    let ls = f32x4.splat(0);
    for (let jj = 0; jj < c4; jj += 4) {
      const inside = i32x4.gt_s(i32x4.splat(cnt - jj), lanes);
      const x = f32x4.sub(v128.load(ph + <usize>(jj * 4)), m4);
      const e = v128.and(expf4With(x, eLo, eHi, eLog2e, eLn2Hi, eLn2Lo, e0, e1, e2, e3, e4, e5, eOne, e127), inside);
      ls = f32x4.add(ls, e);
      v128.store(ph + <usize>(jj * 4), f32x4.mul(e, ks));
    }
    setF32(pm, hh * 4, mx);
    setF32(pm, hh * 4 + 1, (f32x4.extract_lane(ls, 0) + f32x4.extract_lane(ls, 1)) + (f32x4.extract_lane(ls, 2) + f32x4.extract_lane(ls, 3)));
  }
  // o_b = sum_j P'[j] V[j], 8 dims (then 4) at a time, 4 heads at a time
  const vh = vc + vIndex(g, j0, hd, cap) * es, vStride = <usize>hd * es;
  let hh = 0;
  for (; hh + 4 <= G; hh += 4) {
    const ph = P + <usize>(hh * ATT_BLOCK) * 4, oh = po + <usize>(hh * hd) * 4;
    let c = 0;
    for (; c + 8 <= hd; c += 8) pv4<E>(ph, vh, vStride, oh, hd, c, cnt, true, mask);
    if (c < hd) pv4<E>(ph, vh, vStride, oh, hd, c, cnt, false, mask);
  }
  for (; hh < G; hh++) {
    const ph = P + <usize>(hh * ATT_BLOCK) * 4, oh = po + <usize>(hh * hd) * 4;
    let c = 0;
    for (; c + 8 <= hd; c += 8) pv1<E>(ph, vh, vStride, oh, c, cnt, true, mask);
    if (c < hd) pv1<E>(ph, vh, vStride, oh, c, cnt, false, mask);
  }
}

/** foldScalar, SIMD over the head dim. */
function fold(o: usize, oStride: i32, ml: usize, pm: usize, po: usize, nh: i32, hd: i32, first: bool): void {
  for (let hh = 0; hh < nh; hh++) {
    const oh = o + <usize>(hh * oStride) * 4, ob = po + <usize>(hh * hd) * 4;
    const mb = f32At(pm, hh * 4), lb = f32At(pm, hh * 4 + 1);
    if (first) {
      setF32(ml, hh * 2, mb);
      setF32(ml, hh * 2 + 1, lb);
      memory.copy(oh, ob, <usize>(hd * 4));
      continue;
    }
    const M = f32At(ml, hh * 2), Mn = max<f32>(M, mb);
    const a = expf(M - Mn), c = expf(mb - Mn);
    setF32(ml, hh * 2, Mn);
    setF32(ml, hh * 2 + 1, f32At(ml, hh * 2 + 1) * a + lb * c);
    const a4 = f32x4.splat(a), c4 = f32x4.splat(c);
    for (let i = 0; i < hd; i += 4) {
      const p = oh + <usize>(i * 4);
      v128.store(p, f32x4.add(f32x4.mul(v128.load(p), a4), f32x4.mul(v128.load(ob + <usize>(i * 4)), c4)));
    }
  }
}

function normalize(o: usize, oStride: i32, ml: usize, nh: i32, hd: i32): void {
  for (let hh = 0; hh < nh; hh++) {
    const oh = o + <usize>(hh * oStride) * 4, L = f32x4.splat(f32At(ml, hh * 2 + 1));
    for (let i = 0; i < hd; i += 4) v128.store(oh + <usize>(i * 4), f32x4.div(v128.load(oh + <usize>(i * 4)), L));
  }
}

function attentionE<E>(q: usize, kc: usize, vc: usize, out: usize, ml: usize, work: usize, T: i32, pos0: i32, H: i32, K: i32, hd: i32, cap: i32, u0: i32, u1: i32): void {
  const G = H / K;
  const qs = work, P = qs + <usize>(G * hd) * 4, pm = P + <usize>(G * ATT_BLOCK) * 4, po = pm + <usize>(4 * G) * 4;
  for (let g = u0 / T; g < K && g * T < u1; g++) {
    const ta = max<i32>(u0 - g * T, 0), tb = min<i32>(u1 - g * T, T);
    const nb = (pos0 + tb + ATT_BLOCK - 1) / ATT_BLOCK;
    for (let b = 0; b < nb; b++) {
      for (let t = ta; t < tb; t++) {
        const n = pos0 + t + 1, j0 = b * ATT_BLOCK;
        if (j0 >= n) continue;
        blockPartial<E>(q + <usize>(t * H * hd) * 4, kc, vc, qs, P, pm, po, G, hd, cap, g, j0, min<i32>(ATT_BLOCK, n - j0));
        const row = t * H + g * G;
        fold(out + <usize>(row * hd) * 4, hd, ml + <usize>(row * 2) * 4, pm, po, G, hd, b == 0);
      }
    }
    for (let t = ta; t < tb; t++) {
      const row = t * H + g * G;
      normalize(out + <usize>(row * hd) * 4, hd, ml + <usize>(row * 2) * 4, G, hd);
    }
  }
}

/** attentionScalar, SIMD (same arguments, same bits). */
export function attention(q: usize, kc: usize, vc: usize, out: usize, ml: usize, work: usize, T: i32, pos0: i32, H: i32, K: i32, hd: i32, cap: i32, f16: i32, u0: i32, u1: i32): void {
  if (f16 != 0) attentionE<u16>(q, kc, vc, out, ml, work, T, pos0, H, K, hd, cap, u0, u1);
  else attentionE<f32>(q, kc, vc, out, ml, work, T, pos0, H, K, hd, cap, u0, u1);
}

function attentionBlocksE<E>(q: usize, kc: usize, vc: usize, parts: usize, work: usize, pos: i32, H: i32, K: i32, hd: i32, cap: i32, u0: i32, u1: i32): void {
  const G = H / K, n = pos + 1, nb = (n + ATT_BLOCK - 1) / ATT_BLOCK, pf = partFloats(hd);
  const qs = work, P = qs + <usize>(G * hd) * 4, pm = P + <usize>(G * ATT_BLOCK) * 4, po = pm + <usize>(4 * G) * 4;
  for (let u = u0; u < u1; u++) {
    const g = u / nb, b = u % nb, j0 = b * ATT_BLOCK;
    blockPartial<E>(q, kc, vc, qs, P, pm, po, G, hd, cap, g, j0, min<i32>(ATT_BLOCK, n - j0));
    storeParts(parts, pm, po, G, hd, g, b, nb, pf);
  }
}

/** attentionBlocksScalar, SIMD (same bits). */
export function attentionBlocks(q: usize, kc: usize, vc: usize, parts: usize, work: usize, pos: i32, H: i32, K: i32, hd: i32, cap: i32, f16: i32, u0: i32, u1: i32): void {
  if (f16 != 0) attentionBlocksE<u16>(q, kc, vc, parts, work, pos, H, K, hd, cap, u0, u1);
  else attentionBlocksE<f32>(q, kc, vc, parts, work, pos, H, K, hd, cap, u0, u1);
}

/** attentionMergeScalar, SIMD (same bits). */
export function attentionMerge(parts: usize, out: usize, ml: usize, H: i32, hd: i32, nb: i32, h0: i32, h1: i32): void {
  const pf = partFloats(hd);
  for (let h = h0; h < h1; h++) {
    for (let b = 0; b < nb; b++) {
      const p = parts + <usize>((h * nb + b) * pf) * 4;
      fold(out + <usize>(h * hd) * 4, hd, ml + <usize>(h * 2) * 4, p, p + 16, 1, hd, b == 0);
    }
    normalize(out + <usize>(h * hd) * 4, hd, ml + <usize>(h * 2) * 4, 1, hd);
  }
}
