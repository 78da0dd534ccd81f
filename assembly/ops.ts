// The f32 operators of the forward pass, each SIMD version right after its scalar twin: RMSNorm, NeoX RoPE,
// SiLU * mul, softmax, and the causal short conv with its state (attention over the KV cache: attention.ts).
//
// Mirrors reference/model.ts (rmsnorm, rope, the conv block). The oracle accumulates in f64;
// these accumulate in f32 (the SIMD versions in four lanes), which is the tolerance the engine tests name.
// Vectorised loops need lengths that are multiples of 4 (D, head dim, FFN width all are: they are multiples of
// 32 for the quantized matrices); the twins take any length.

import {
  expf, expf4, expf4With, keepF32x4, keepI32x4, EXP_LO, EXP_HI, LOG2E, LN2_HI, LN2_LO, P0, P1, P2, P3, P4, P5,
} from './common';

// ---------------------------------------------------------------------------------------------------------------
// RMSNorm: y[t] = w * x[t] / sqrt(mean(x[t]^2) + eps), T rows of n. y may alias x.

export function rmsnormScalar(y: usize, x: usize, w: usize, T: i32, n: i32, eps: f32): void {
  for (let t = 0; t < T; t++) {
    const xr = x + <usize>(t * n * 4), yr = y + <usize>(t * n * 4);
    let ss: f32 = 0;
    for (let i = 0; i < n; i++) { const v = load<f32>(xr + <usize>(i * 4)); ss += v * v; }
    const inv: f32 = <f32>1.0 / sqrt<f32>(ss / <f32>n + eps);
    for (let i = 0; i < n; i++) store<f32>(yr + <usize>(i * 4), load<f32>(w + <usize>(i * 4)) * (load<f32>(xr + <usize>(i * 4)) * inv));
  }
}

export function rmsnorm(y: usize, x: usize, w: usize, T: i32, n: i32, eps: f32): void {
  for (let t = 0; t < T; t++) {
    const xr = x + <usize>(t * n * 4), yr = y + <usize>(t * n * 4);
    let a = f32x4.splat(0);
    for (let i = 0; i < n; i += 4) { const v = v128.load(xr + <usize>(i * 4)); a = f32x4.add(a, f32x4.mul(v, v)); }
    const ss = f32x4.extract_lane(a, 0) + f32x4.extract_lane(a, 1) + f32x4.extract_lane(a, 2) + f32x4.extract_lane(a, 3);
    const inv = f32x4.splat(<f32>1.0 / sqrt<f32>(ss / <f32>n + eps));
    for (let i = 0; i < n; i += 4) {
      v128.store(yr + <usize>(i * 4), f32x4.mul(v128.load(w + <usize>(i * 4)), f32x4.mul(v128.load(xr + <usize>(i * 4)), inv)));
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// NeoX ("rotate_half") RoPE on `heads` head vectors of hd at v (one token): pairs (i, i + hd/2).
// cs holds the token's angles: cos at cs[0 .. hd/2), sin at cs[hd/2 .. hd) (the host computes them in f64).

export function ropeScalar(v: usize, heads: i32, hd: i32, cs: usize): void {
  const half = hd >> 1;
  for (let h = 0; h < heads; h++) {
    const p = v + <usize>(h * hd * 4);
    for (let i = 0; i < half; i++) {
      const c = load<f32>(cs + <usize>(i * 4)), s = load<f32>(cs + <usize>((half + i) * 4));
      const a = load<f32>(p + <usize>(i * 4)), b = load<f32>(p + <usize>((half + i) * 4));
      store<f32>(p + <usize>(i * 4), a * c - b * s);
      store<f32>(p + <usize>((half + i) * 4), b * c + a * s);
    }
  }
}

export function rope(v: usize, heads: i32, hd: i32, cs: usize): void {
  const half = hd >> 1;
  if ((half & 3) != 0) { ropeScalar(v, heads, hd, cs); return; }
  for (let h = 0; h < heads; h++) {
    const p = v + <usize>(h * hd * 4);
    for (let i = 0; i < half; i += 4) {
      const c = v128.load(cs + <usize>(i * 4)), s = v128.load(cs + <usize>((half + i) * 4));
      const a = v128.load(p + <usize>(i * 4)), b = v128.load(p + <usize>((half + i) * 4));
      v128.store(p + <usize>(i * 4), f32x4.sub(f32x4.mul(a, c), f32x4.mul(b, s)));
      v128.store(p + <usize>((half + i) * 4), f32x4.add(f32x4.mul(b, c), f32x4.mul(a, s)));
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// SwiGLU gate: g[i] = silu(g[i]) * u[i], silu(z) = z / (1 + exp(-z)).

export function siluMulScalar(g: usize, u: usize, n: i32): void {
  for (let i = 0; i < n; i++) {
    const z = load<f32>(g + <usize>(i * 4));
    store<f32>(g + <usize>(i * 4), (z / (<f32>1.0 + expf(-z))) * load<f32>(u + <usize>(i * 4)));
  }
}

export function siluMul(g: usize, u: usize, n: i32): void {
  const n4 = n & ~3;
  // expf4's constants built once, outside the loop (see keepI32x4 in common.ts)
  const eLo = keepF32x4(EXP_LO), eHi = keepF32x4(EXP_HI), eLog2e = keepF32x4(LOG2E), eLn2Hi = keepF32x4(LN2_HI), eLn2Lo = keepF32x4(LN2_LO);
  const e0 = keepF32x4(P0), e1 = keepF32x4(P1), e2 = keepF32x4(P2), e3 = keepF32x4(P3), e4 = keepF32x4(P4), e5 = keepF32x4(P5);
  const one = keepF32x4(1.0), e127 = keepI32x4(127);
  for (let i = 0; i < n4; i += 4) {
    const z = v128.load(g + <usize>(i * 4));
    const e = expf4With(f32x4.neg(z), eLo, eHi, eLog2e, eLn2Hi, eLn2Lo, e0, e1, e2, e3, e4, e5, one, e127);
    v128.store(g + <usize>(i * 4), f32x4.mul(f32x4.div(z, f32x4.add(one, e)), v128.load(u + <usize>(i * 4))));
  }
  if (n4 < n) siluMulScalar(g + <usize>(n4 * 4), u + <usize>(n4 * 4), n - n4);
}

// ---------------------------------------------------------------------------------------------------------------
// Softmax in place over n scores: exp(s - max) / sum. Returns nothing; the sum is folded into the scores.

export function softmaxScalar(s: usize, n: i32): void {
  let mx: f32 = -Infinity;
  for (let j = 0; j < n; j++) mx = max<f32>(mx, load<f32>(s + <usize>(j * 4)));
  let sum: f32 = 0;
  for (let j = 0; j < n; j++) { const e = expf(load<f32>(s + <usize>(j * 4)) - mx); store<f32>(s + <usize>(j * 4), e); sum += e; }
  const inv: f32 = <f32>1.0 / sum;
  for (let j = 0; j < n; j++) store<f32>(s + <usize>(j * 4), load<f32>(s + <usize>(j * 4)) * inv);
}

export function softmax(s: usize, n: i32): void {
  const n4 = n & ~3;
  let mv = f32x4.splat(-Infinity);
  for (let j = 0; j < n4; j += 4) mv = f32x4.max(mv, v128.load(s + <usize>(j * 4)));
  let mx = max<f32>(max<f32>(f32x4.extract_lane(mv, 0), f32x4.extract_lane(mv, 1)), max<f32>(f32x4.extract_lane(mv, 2), f32x4.extract_lane(mv, 3)));
  for (let j = n4; j < n; j++) mx = max<f32>(mx, load<f32>(s + <usize>(j * 4)));
  const m4 = f32x4.splat(mx);
  let sv = f32x4.splat(0);
  for (let j = 0; j < n4; j += 4) {
    const e = expf4(f32x4.sub(v128.load(s + <usize>(j * 4)), m4));
    v128.store(s + <usize>(j * 4), e);
    sv = f32x4.add(sv, e);
  }
  let sum = f32x4.extract_lane(sv, 0) + f32x4.extract_lane(sv, 1) + f32x4.extract_lane(sv, 2) + f32x4.extract_lane(sv, 3);
  for (let j = n4; j < n; j++) { const e = expf(load<f32>(s + <usize>(j * 4)) - mx); store<f32>(s + <usize>(j * 4), e); sum += e; }
  const inv: f32 = <f32>1.0 / sum;
  const i4 = f32x4.splat(inv);
  for (let j = 0; j < n4; j += 4) v128.store(s + <usize>(j * 4), f32x4.mul(v128.load(s + <usize>(j * 4)), i4));
  for (let j = n4; j < n; j++) store<f32>(s + <usize>(j * 4), load<f32>(s + <usize>(j * 4)) * inv);
}

// ---------------------------------------------------------------------------------------------------------------
// The short conv (spec §3) for T tokens, channels [c0, c1) (threads split the channels; the SIMD version needs
// multiples of 4). bcx (T, 3D) = [b | c | x] per token; kw (Lc, D) is the depthwise kernel transposed at load
// (tap k of every channel contiguous); state (Lc-1, D) holds the last Lc-1 rows of b*x, oldest first. bx is
// scratch of (Lc-1+T, D). Writes out (T, D) = the conv output (the `conv.conv` tap) and y (T, D) = c * conv (the
// out_proj input); advances the state.

function convStateIn(state: usize, bx: usize, D: i32, Lc: i32, c0: i32, c1: i32): void {
  const rowB = <usize>(D * 4), cb = <usize>(c0 * 4), n = <usize>((c1 - c0) * 4);
  for (let k = 0; k < Lc - 1; k++) memory.copy(bx + <usize>k * rowB + cb, state + <usize>k * rowB + cb, n);
}

function convStateOut(state: usize, bx: usize, T: i32, D: i32, Lc: i32, c0: i32, c1: i32): void {
  const rowB = <usize>(D * 4), cb = <usize>(c0 * 4), n = <usize>((c1 - c0) * 4);
  for (let k = 0; k < Lc - 1; k++) memory.copy(state + <usize>k * rowB + cb, bx + <usize>(T + k) * rowB + cb, n);
}

export function shortConvScalar(bcx: usize, kw: usize, state: usize, bx: usize, out: usize, y: usize, T: i32, D: i32, Lc: i32, c0: i32, c1: i32): void {
  const rowB = <usize>(D * 4);
  convStateIn(state, bx, D, Lc, c0, c1);
  for (let t = 0; t < T; t++) {
    const z = bcx + <usize>(t * 3) * rowB, r = bx + <usize>(Lc - 1 + t) * rowB;
    for (let ch = c0; ch < c1; ch++) store<f32>(r + <usize>(ch * 4), load<f32>(z + <usize>(ch * 4)) * load<f32>(z + 2 * rowB + <usize>(ch * 4)));
  }
  for (let t = 0; t < T; t++) {
    const z = bcx + <usize>(t * 3) * rowB;
    for (let ch = c0; ch < c1; ch++) {
      let s: f32 = 0;
      for (let k = 0; k < Lc; k++) s += load<f32>(kw + <usize>(k) * rowB + <usize>(ch * 4)) * load<f32>(bx + <usize>(t + k) * rowB + <usize>(ch * 4));
      store<f32>(out + <usize>t * rowB + <usize>(ch * 4), s);
      store<f32>(y + <usize>t * rowB + <usize>(ch * 4), load<f32>(z + rowB + <usize>(ch * 4)) * s);
    }
  }
  convStateOut(state, bx, T, D, Lc, c0, c1);
}

export function shortConv(bcx: usize, kw: usize, state: usize, bx: usize, out: usize, y: usize, T: i32, D: i32, Lc: i32, c0: i32, c1: i32): void {
  const rowB = <usize>(D * 4);
  convStateIn(state, bx, D, Lc, c0, c1);
  for (let t = 0; t < T; t++) {
    const z = bcx + <usize>(t * 3) * rowB, r = bx + <usize>(Lc - 1 + t) * rowB;
    for (let ch = c0; ch < c1; ch += 4) v128.store(r + <usize>(ch * 4), f32x4.mul(v128.load(z + <usize>(ch * 4)), v128.load(z + 2 * rowB + <usize>(ch * 4))));
  }
  for (let t = 0; t < T; t++) {
    const z = bcx + <usize>(t * 3) * rowB;
    for (let ch = c0; ch < c1; ch += 4) {
      let s = f32x4.splat(0);
      for (let k = 0; k < Lc; k++) s = f32x4.add(s, f32x4.mul(v128.load(kw + <usize>(k) * rowB + <usize>(ch * 4)), v128.load(bx + <usize>(t + k) * rowB + <usize>(ch * 4))));
      v128.store(out + <usize>t * rowB + <usize>(ch * 4), s);
      v128.store(y + <usize>t * rowB + <usize>(ch * 4), f32x4.mul(v128.load(z + rowB + <usize>(ch * 4)), s));
    }
  }
  convStateOut(state, bx, T, D, Lc, c0, c1);
}
