// The LFM2 forward pass in plain fp32 TypeScript: the oracle every faster implementation is held to.
//
// Mirrors transformers' modeling_lfm2.py (Lfm2Model.forward, Lfm2ShortConv.slow_forward, Lfm2Attention) and
// llama.cpp's src/models/lfm2.cpp. Written to be read top to bottom: `forward()` is one function in the order
// the data flows, with the conv block and the attention block written out where they run.
//
// What it deliberately is not: fast. Weights are f32 (any stored type is dequantized at load, see weights.ts),
// dot products accumulate in f64 (JS numbers) and are stored to f32, the KV cache is f32. That makes it a
// stable reference: llama.cpp's differences from it (Q8_0 activations, f16 KV cache) are llama.cpp's.
//
// Shape legend (spec §2): T new tokens, D hidden, H query heads, K kv heads, hd head dim, F FFN width,
// V vocab (embedding rows), Lc conv kernel length. Matrices are HF-style (out, in), row-major: W[i*in + j].
// Activations are (T, width) row-major.

import type { Lfm2Dims } from './config.js';
import { InputError } from './errors.js';

/** One layer's weights, f32, with HF module names. Exactly one of `conv` / `self_attn` is set. */
export interface Lfm2LayerWeights {
  operator_norm: Float32Array; // (D)
  ffn_norm: Float32Array; // (D)
  feed_forward: {
    w1: Float32Array; // (F, D) gate: silu goes on w1
    w3: Float32Array; // (F, D) up
    w2: Float32Array; // (D, F) down
  };
  conv?: {
    in_proj: Float32Array; // (3D, D) rows [0,D) -> b, [D,2D) -> c, [2D,3D) -> x
    conv: Float32Array; // (D, Lc) depthwise kernel; tap Lc-1 goes with the current token
    out_proj: Float32Array; // (D, D)
  };
  self_attn?: {
    q_proj: Float32Array; // (H*hd, D)
    k_proj: Float32Array; // (K*hd, D)
    v_proj: Float32Array; // (K*hd, D)
    out_proj: Float32Array; // (D, H*hd)
    q_layernorm: Float32Array; // (hd) shared by every head
    k_layernorm: Float32Array; // (hd)
  };
}

export interface Lfm2Weights {
  embed_tokens: Float32Array; // (V, D)
  embedding_norm: Float32Array; // (D) the FINAL norm, despite its name
  lm_head: Float32Array; // (V, D) the same array as embed_tokens when tied
  layers: Lfm2LayerWeights[];
}

/**
 * Everything carried from one call to the next: the position, each conv layer's last Lc-1 values of b*x, and
 * each attention layer's K and V for every position so far (K already normed and roped).
 */
export interface Lfm2State {
  pos: number;
  conv: (Float32Array | null)[]; // per layer: (Lc-1, D), oldest first; null for attention layers
  key: Float32Array[][]; // per layer: one (K*hd) row per past position; empty for conv layers
  value: Float32Array[][]; // per layer: one (K*hd) row per past position
}

export function newState(dims: Lfm2Dims): Lfm2State {
  return {
    pos: 0,
    conv: dims.layerTypes.map((t) => (t === 'conv' ? new Float32Array((dims.Lc - 1) * dims.D) : null)),
    key: dims.layerTypes.map(() => []),
    value: dims.layerTypes.map(() => []),
  };
}

/** A deep copy, so a caller can snapshot the state and continue from it later. */
export function cloneState(s: Lfm2State): Lfm2State {
  return {
    pos: s.pos,
    conv: s.conv.map((c) => (c ? c.slice() : null)),
    key: s.key.map((rows) => rows.map((r) => r.slice())),
    value: s.value.map((rows) => rows.map((r) => r.slice())),
  };
}

/**
 * Receives intermediate activations, named after the HF module that produced them
 * (`model.layers.3.conv.in_proj`), with their shape. The data is a fresh copy the callee may keep.
 */
export type TapFn = (name: string, data: Float32Array, shape: number[]) => void;

export interface ForwardOptions {
  /** Logits for every new position (T, V); by default only the last one (1, V). */
  allLogits?: boolean;
  tap?: TapFn;
}

// ---------------------------------------------------------------------------------------------------------------
// Small helpers, in the order forward() uses them.

/** y[t] = w * x[t] / sqrt(mean(x[t]^2) + eps), for T rows of n. */
function rmsnorm(y: Float32Array, x: Float32Array, w: Float32Array, T: number, n: number, eps: number): void {
  for (let t = 0; t < T; t++) {
    let ss = 0;
    for (let i = 0; i < n; i++) ss += x[t * n + i] * x[t * n + i];
    const inv = 1 / Math.sqrt(ss / n + eps);
    for (let i = 0; i < n; i++) y[t * n + i] = w[i] * (x[t * n + i] * inv);
  }
}

/** y (T, out) = x (T, in) . W^T, W (out, in). The dot product accumulates in f64. */
function matmul(y: Float32Array, x: Float32Array, W: Float32Array, T: number, nIn: number, nOut: number): void {
  for (let i = 0; i < nOut; i++) {
    const row = i * nIn;
    for (let t = 0; t < T; t++) {
      const xr = t * nIn;
      let s = 0;
      for (let j = 0; j < nIn; j++) s += W[row + j] * x[xr + j];
      y[t * nOut + i] = s;
    }
  }
}

function silu(z: number): number {
  return z / (1 + Math.exp(-z));
}

/**
 * NeoX ("rotate_half") RoPE on one head vector v[off .. off+hd): pairs (i, i + hd/2), angle pos * theta^(-2i/hd).
 */
function rope(v: Float32Array, off: number, hd: number, pos: number, theta: number): void {
  const half = hd / 2;
  for (let i = 0; i < half; i++) {
    const angle = pos * Math.pow(theta, (-2 * i) / hd);
    const cos = Math.cos(angle);
    const sin = Math.sin(angle);
    const a = v[off + i];
    const b = v[off + i + half];
    v[off + i] = a * cos - b * sin;
    v[off + i + half] = b * cos + a * sin;
  }
}

// ---------------------------------------------------------------------------------------------------------------

/**
 * Runs `tokens` (T >= 1) through the model from `state`, which it advances (pos += T, conv and KV caches
 * updated). One call with T tokens (prefill) gives the same logits as T calls with one token each (decode).
 * Returns logits (T, V) with `allLogits`, else the last position's (1, V).
 */
export function forward(
  w: Lfm2Weights,
  dims: Lfm2Dims,
  state: Lfm2State,
  tokens: ArrayLike<number>,
  opts: ForwardOptions = {},
): Float32Array {
  const { D, H, K, hd, F, V, Lc, eps, ropeTheta } = dims;
  const T = tokens.length;
  const pos0 = state.pos;
  if (T < 1) throw new InputError('forward: no tokens given');
  if (pos0 + T > dims.maxPositions) {
    throw new InputError(`forward: ${pos0 + T} positions exceed the model's context of ${dims.maxPositions}`);
  }
  const tap = opts.tap ?? null;
  const emit = (name: string, a: Float32Array, shape: number[]) => tap?.(name, a.slice(), shape);

  // --- model.embed_tokens: a plain row lookup (no sqrt(D) scale, no norm on the input)
  const h = new Float32Array(T * D); // (T, D) the residual stream
  for (let t = 0; t < T; t++) {
    const id = tokens[t];
    if (!Number.isInteger(id) || id < 0 || id >= V) throw new InputError(`forward: token id ${id} at index ${t} is outside the vocabulary 0..${V - 1}`);
    h.set(w.embed_tokens.subarray(id * D, (id + 1) * D), t * D);
  }
  emit('model.embed_tokens', h, [T, D]);

  const xb = new Float32Array(T * D); // (T, D) normed input of the current block
  const ob = new Float32Array(T * D); // (T, D) output of the current operator / MLP, before the residual add

  for (let l = 0; l < dims.nLayers; l++) {
    const lw = w.layers[l];
    const p = `model.layers.${l}`;

    // --- operator_norm
    rmsnorm(xb, h, lw.operator_norm, T, D, eps);
    emit(`${p}.operator_norm`, xb, [T, D]);

    if (lw.conv) {
      // --- conv: double-gated short convolution (spec §3)
      const cw = lw.conv;
      const bcx = new Float32Array(T * 3 * D); // (T, 3D) = [b | c | x] per token
      matmul(bcx, xb, cw.in_proj, T, D, 3 * D);
      emit(`${p}.conv.in_proj`, bcx, [T, 3 * D]);

      // The conv runs over the sequence [state (Lc-1 rows); b*x of the T new tokens]: the first gate comes
      // BEFORE the conv, and the cached history is b*x, not the raw input.
      const S = Lc - 1 + T;
      const bx = new Float32Array(S * D); // (Lc-1+T, D)
      bx.set(state.conv[l]!, 0);
      for (let t = 0; t < T; t++) {
        for (let ch = 0; ch < D; ch++) {
          const b = bcx[t * 3 * D + ch];
          const x = bcx[t * 3 * D + 2 * D + ch];
          bx[(Lc - 1 + t) * D + ch] = b * x;
        }
      }
      // Causal depthwise conv: out[t][ch] = sum_k K[ch][k] * bx[t + k][ch] in the padded sequence, so tap
      // Lc-1 meets the current token (PyTorch Conv1d cross-correlation with Lc-1 left padding).
      const convOut = new Float32Array(T * D); // (T, D)
      for (let t = 0; t < T; t++) {
        for (let ch = 0; ch < D; ch++) {
          let s = 0;
          for (let k = 0; k < Lc; k++) s += cw.conv[ch * Lc + k] * bx[(t + k) * D + ch];
          convOut[t * D + ch] = s;
        }
      }
      emit(`${p}.conv.conv`, convOut, [T, D]);
      state.conv[l] = bx.slice(T * D); // the last Lc-1 rows become the new state

      // Second gate, AFTER the conv.
      const y = new Float32Array(T * D); // (T, D)
      for (let t = 0; t < T; t++) {
        for (let ch = 0; ch < D; ch++) y[t * D + ch] = bcx[t * 3 * D + D + ch] * convOut[t * D + ch];
      }
      matmul(ob, y, cw.out_proj, T, D, D);
      emit(`${p}.conv.out_proj`, ob, [T, D]);
    } else {
      // --- self_attn: GQA with per-head q/k RMSNorm and NeoX RoPE (spec §4)
      const aw = lw.self_attn!;
      const q = new Float32Array(T * H * hd); // (T, H, hd)
      const k = new Float32Array(T * K * hd); // (T, K, hd)
      const v = new Float32Array(T * K * hd); // (T, K, hd)
      matmul(q, xb, aw.q_proj, T, D, H * hd);
      matmul(k, xb, aw.k_proj, T, D, K * hd);
      matmul(v, xb, aw.v_proj, T, D, K * hd);
      emit(`${p}.self_attn.q_proj`, q, [T, H * hd]);
      emit(`${p}.self_attn.k_proj`, k, [T, K * hd]);
      emit(`${p}.self_attn.v_proj`, v, [T, K * hd]);

      // Each head vector is normed on its own, with one hd-long weight shared by all heads.
      rmsnorm(q, q, aw.q_layernorm, T * H, hd, eps);
      rmsnorm(k, k, aw.k_layernorm, T * K, hd, eps);
      emit(`${p}.self_attn.q_layernorm`, q, [T, H * hd]);
      emit(`${p}.self_attn.k_layernorm`, k, [T, K * hd]);

      // RoPE after the norm; v gets neither.
      for (let t = 0; t < T; t++) {
        for (let hh = 0; hh < H; hh++) rope(q, (t * H + hh) * hd, hd, pos0 + t, ropeTheta);
        for (let g = 0; g < K; g++) rope(k, (t * K + g) * hd, hd, pos0 + t, ropeTheta);
      }
      emit(`${p}.self_attn.q_rope`, q, [T, H * hd]);
      emit(`${p}.self_attn.k_rope`, k, [T, K * hd]);

      const keys = state.key[l];
      const values = state.value[l];
      for (let t = 0; t < T; t++) {
        keys.push(k.slice(t * K * hd, (t + 1) * K * hd));
        values.push(v.slice(t * K * hd, (t + 1) * K * hd));
      }

      // Causal attention: new token t sees positions 0 .. pos0+t. Query head hh reads kv head hh / (H/K).
      const attn = new Float32Array(T * H * hd); // (T, H*hd) concatenated head outputs
      const scale = 1 / Math.sqrt(hd);
      const group = H / K;
      const scores = new Float64Array(pos0 + T);
      for (let t = 0; t < T; t++) {
        const n = pos0 + t + 1;
        for (let hh = 0; hh < H; hh++) {
          const g = Math.floor(hh / group);
          const qo = (t * H + hh) * hd;
          let max = -Infinity;
          for (let j = 0; j < n; j++) {
            const kr = keys[j];
            let s = 0;
            for (let i = 0; i < hd; i++) s += q[qo + i] * kr[g * hd + i];
            scores[j] = s * scale;
            if (scores[j] > max) max = scores[j];
          }
          let sum = 0;
          for (let j = 0; j < n; j++) {
            scores[j] = Math.exp(scores[j] - max);
            sum += scores[j];
          }
          for (let i = 0; i < hd; i++) {
            let o = 0;
            for (let j = 0; j < n; j++) o += scores[j] * values[j][g * hd + i];
            attn[qo + i] = o / sum;
          }
        }
      }
      emit(`${p}.self_attn.attn`, attn, [T, H * hd]);
      matmul(ob, attn, aw.out_proj, T, H * hd, D);
      emit(`${p}.self_attn.out_proj`, ob, [T, D]);
    }

    // --- residual
    for (let i = 0; i < T * D; i++) h[i] += ob[i];

    // --- ffn_norm -> feed_forward (SwiGLU): w2( silu(w1 x) * (w3 x) )
    rmsnorm(xb, h, lw.ffn_norm, T, D, eps);
    emit(`${p}.ffn_norm`, xb, [T, D]);
    const gate = new Float32Array(T * F); // (T, F)
    const up = new Float32Array(T * F); // (T, F)
    matmul(gate, xb, lw.feed_forward.w1, T, D, F);
    matmul(up, xb, lw.feed_forward.w3, T, D, F);
    emit(`${p}.feed_forward.w1`, gate, [T, F]);
    emit(`${p}.feed_forward.w3`, up, [T, F]);
    for (let i = 0; i < T * F; i++) gate[i] = silu(gate[i]) * up[i];
    matmul(ob, gate, lw.feed_forward.w2, T, F, D);
    emit(`${p}.feed_forward.w2`, ob, [T, D]);

    // --- residual
    for (let i = 0; i < T * D; i++) h[i] += ob[i];
    emit(p, h, [T, D]);
  }
  state.pos = pos0 + T;

  // --- embedding_norm (the final norm) and the tied head, for the rows asked for
  const first = opts.allLogits ? 0 : T - 1;
  const R = T - first;
  const hf = new Float32Array(R * D); // (R, D)
  rmsnorm(hf, h.subarray(first * D), w.embedding_norm, R, D, eps);
  emit('model.embedding_norm', hf, [R, D]);
  const logits = new Float32Array(R * V); // (R, V)
  matmul(logits, hf, w.lm_head, R, D, V);
  emit('lm_head', logits, [R, V]);
  return logits;
}
