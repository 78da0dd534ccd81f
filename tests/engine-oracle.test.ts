// The WASM engine against the fp32 oracle (reference/model.ts) on the tiny seeded golden models.
//
//   F32 / F16 files, engine in f32-weight mode with an f32 KV cache: every tap and the logits within
//   ENGINE_F32_MAX_ABS; with the default f16 KV cache: logits within KV_F16_LOGITS_MAX_ABS of both.
//   Q8_0 / Q4_0 files (engine: native Q8_0 / Q4_0 weights, Q8_0 activations like llama.cpp): logits within the
//   named max-abs tolerances, every tap within ENGINE_QUANT_TAP_NMSE, and the same greedy tokens for
//   GREEDY_STEPS decode steps.
//   F16 / BF16 files and the K-quant mixes at their stored types (no conversion): logits within the named
//   tolerances (the activation rounding ggml pairs with each type), taps within ENGINE_QUANT_TAP_NMSE, greedy tokens.
// Plus: conversions on request (HF BF16 folder -> f32 / Q8_0 / Q4_0, the stock-style K-quant file -> Q8_0).

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { GOLDEN_FILE_TYPES, GOLDEN_SHAPES, goldenSequences, KQUANT_BASE_TYPE, KQUANT_FILE_TYPES, KQUANT_SHAPE } from '../golden/cases.js';
import { bytesSource, memoryFileSet } from '../reference/bytes.js';
import { concatParts, readGguf, readGgufTensorBytes } from '../reference/gguf.js';
import { loadModel, type LoadedModel } from '../reference/load.js';
import { forward, newState } from '../reference/model.js';
import { synthGguf, synthHfFolder, synthModel, type SynthFileType } from '../src/synth/random-model.js';
import { createWasmCore, type WasmCore, type WasmEngineOptions } from '../src/engine/wasm-core.js';
import { argmax, diff, describe as describeDiff } from './compare.js';
import { dequantizeQ4_0, dequantizeQ8_0, quantizeQ4_0, quantizeQ8_0 } from '../reference/quant.js';
import type { Lfm2Weights } from '../reference/model.js';

/** The oracle's weights with every matrix passed through q (norms and conv kernels untouched, as the engine does). */
function requantized(w: Lfm2Weights, q: (m: Float32Array) => Float32Array): Lfm2Weights {
  const embed = q(w.embed_tokens);
  return {
    embed_tokens: embed,
    embedding_norm: w.embedding_norm,
    lm_head: w.lm_head === w.embed_tokens ? embed : q(w.lm_head),
    layers: w.layers.map((l) => ({
      operator_norm: l.operator_norm,
      ffn_norm: l.ffn_norm,
      feed_forward: { w1: q(l.feed_forward.w1), w3: q(l.feed_forward.w3), w2: q(l.feed_forward.w2) },
      conv: l.conv && { in_proj: q(l.conv.in_proj), conv: l.conv.conv, out_proj: q(l.conv.out_proj) },
      self_attn: l.self_attn && { ...l.self_attn, q_proj: q(l.self_attn.q_proj), k_proj: q(l.self_attn.k_proj), v_proj: q(l.self_attn.v_proj), out_proj: q(l.self_attn.out_proj) },
    })),
  };
}

/** max |Δ| of every tap and of the logits, f32 weights (F32 / F16 files) vs the oracle (f64 sums, f32 storage). */
const ENGINE_F32_MAX_ABS = 1e-4;
/**
 * max |Δ| of the logits that the f16 KV cache (the default) adds, f32 weights: against the f32 cache and against the
 * oracle. f16 keeps 11 significant bits of each K and V element; measured <= 9e-5 on the golden models.
 */
const KV_F16_LOGITS_MAX_ABS = 5e-4;
/** max |Δ| of the logits vs the oracle with Q8_0 weights (the error is the Q8_0 rounding of activations). */
const ENGINE_Q8_0_MAX_ABS = 4e-2;
/** max |Δ| of the logits vs the oracle with Q4_0 weights (same activation rounding; the oracle dequantizes). */
const ENGINE_Q4_0_MAX_ABS = 4e-2;
/** NMSE of every tap with quantized weights (activation rounding only: ~1e-5 typical). */
const ENGINE_QUANT_TAP_NMSE = 1e-3;
/**
 * max |Δ| of the logits vs the oracle with native F16 / BF16 weights: the same weights, but the engine rounds each
 * matmul input to f16 / bf16 as llama.cpp does (measured worst 4e-4 / 4e-3: f16 keeps 11 significant bits, bf16 8).
 */
const ENGINE_F16_MAX_ABS = 2e-3;
const ENGINE_BF16_MAX_ABS = 1.5e-2;
/** max |Δ| of the logits vs the oracle with native K-quant weights (Q8_K activations, one scale per 256 values). */
const ENGINE_KQUANT_MAX_ABS = 5e-2;
/** Greedy decode steps that must match the oracle's token for token. */
const GREEDY_STEPS = 64;

const measured: string[] = [];
afterAll(() => console.log(`engine vs oracle:\n${measured.join('\n')}`));

const gguf = (spec: (typeof GOLDEN_SHAPES)[number], type: SynthFileType) => concatParts(synthGguf(synthModel(spec), type));

async function pair(bytes: Uint8Array, name: string, opts: WasmEngineOptions): Promise<{ ref: LoadedModel; eng: WasmCore }> {
  const ref = await loadModel({ gguf: bytesSource(bytes, name) });
  const eng = await createWasmCore({ gguf: bytesSource(bytes, name) }, opts);
  return { ref, eng };
}

/** Runs both over tokens with taps; returns the worst tap (by the given measure) and the logits report. */
function compareTaps(ref: LoadedModel, eng: WasmCore, tokens: number[]) {
  const refTaps = new Map<string, Float32Array>();
  const engTaps = new Map<string, Float32Array>();
  const a = forward(ref.weights, ref.dims, newState(ref.dims), tokens, { allLogits: true, tap: (n, d) => refTaps.set(n, d) });
  eng.reset();
  const b = eng.forward(tokens, { allLogits: true, tap: (n, d) => engTaps.set(n, d) });
  expect([...engTaps.keys()]).toEqual([...refTaps.keys()]);
  let worstAbs = { name: '', maxAbs: 0 };
  let worstNmse = { name: '', nmse: 0 };
  for (const [name, r] of refTaps) {
    const d = diff(engTaps.get(name)!, r);
    if (d.maxAbs > worstAbs.maxAbs) worstAbs = { name, maxAbs: d.maxAbs };
    if (d.nmse > worstNmse.nmse) worstNmse = { name, nmse: d.nmse };
  }
  return { logits: diff(b, a), worstAbs, worstNmse, refTaps, engTaps };
}

/** Greedy decoding from a prompt: the oracle's tokens and the engine's, step by step. */
async function greedy(ref: LoadedModel, eng: WasmCore, prompt: number[], steps: number): Promise<{ ref: number[]; eng: number[]; gaps: number[] }> {
  const st = newState(ref.dims);
  let lr = forward(ref.weights, ref.dims, st, prompt);
  eng.reset();
  let le = await eng.prefill(prompt);
  const out = { ref: [] as number[], eng: [] as number[], gaps: [] as number[] };
  for (let i = 0; i < steps; i++) {
    const tr = argmax(lr), te = argmax(le);
    out.ref.push(tr);
    out.eng.push(te);
    const sorted = Array.from(lr).sort((x, y) => y - x);
    out.gaps.push(sorted[0] - sorted[1]);
    if (tr !== te) break;
    lr = forward(ref.weights, ref.dims, st, [tr]);
    le = await eng.decode(te);
  }
  return out;
}

describe('engine vs oracle: f32 weights (F32 / F16 files)', () => {
  for (const spec of GOLDEN_SHAPES) {
    for (const type of ['F32', 'F16'] as const) {
      it(`${spec.name}.${type.toLowerCase()}: every tap and the logits within ${ENGINE_F32_MAX_ABS}`, async () => {
        const { ref, eng } = await pair(gguf(spec, type), `${spec.name}.${type}`, { weights: 'f32', kvCache: 'f32' });
        for (const tokens of goldenSequences(spec)) {
          const r = compareTaps(ref, eng, tokens);
          for (const [name, t] of r.refTaps) {
            const d = diff(r.engTaps.get(name)!, t);
            if (!(d.maxAbs <= ENGINE_F32_MAX_ABS)) throw new Error(describeDiff(`${spec.name}.${type} tap ${name}`, d, ENGINE_F32_MAX_ABS));
          }
          measured.push(`  ${`${spec.name}.${type.toLowerCase()}`.padEnd(22)} f32 weights   logits max|Δ| ${r.logits.maxAbs.toExponential(2)}  worst tap ${r.worstAbs.name} ${r.worstAbs.maxAbs.toExponential(2)}`);
        }
      });
    }
  }
});

describe('the f16 KV cache (the default), f32 weights', () => {
  for (const spec of GOLDEN_SHAPES) {
    it(`${spec.name}: logits within ${KV_F16_LOGITS_MAX_ABS} of the f32 cache and of the oracle`, async () => {
      const bytes = gguf(spec, 'F32');
      const { ref, eng } = await pair(bytes, `${spec.name}.F32`, { weights: 'f32' });
      const f32 = await createWasmCore({ gguf: bytesSource(bytes, spec.name) }, { weights: 'f32', kvCache: 'f32' });
      expect([eng.kvCache, f32.kvCache]).toEqual(['f16', 'f32']);
      for (const tokens of goldenSequences(spec)) {
        eng.reset();
        const ours = eng.forward(tokens, { allLogits: true });
        const want = f32.forward(tokens, { allLogits: true });
        const oracle = forward(ref.weights, ref.dims, newState(ref.dims), tokens, { allLogits: true });
        const vsCache = diff(ours, want), vsOracle = diff(ours, oracle);
        if (!(vsCache.maxAbs <= KV_F16_LOGITS_MAX_ABS)) throw new Error(describeDiff(`${spec.name} f16 vs f32 cache`, vsCache, KV_F16_LOGITS_MAX_ABS));
        if (!(vsOracle.maxAbs <= KV_F16_LOGITS_MAX_ABS)) throw new Error(describeDiff(`${spec.name} f16 cache vs oracle`, vsOracle, KV_F16_LOGITS_MAX_ABS));
        measured.push(`  ${spec.name.padEnd(22)} f16 KV cache  logits max|Δ| vs f32 cache ${vsCache.maxAbs.toExponential(2)}, vs oracle ${vsOracle.maxAbs.toExponential(2)}`);
        f32.reset();
      }
    });
  }
});

describe('engine vs oracle: quantized weights (Q8_0 / Q4_0 files)', () => {
  for (const spec of GOLDEN_SHAPES) {
    for (const type of ['Q8_0', 'Q4_0'] as const) {
      const tol = type === 'Q8_0' ? ENGINE_Q8_0_MAX_ABS : ENGINE_Q4_0_MAX_ABS;
      it(`${spec.name}.${type.toLowerCase()}: logits within ${tol}, taps within NMSE ${ENGINE_QUANT_TAP_NMSE}, ${GREEDY_STEPS} greedy tokens identical`, async () => {
        const { ref, eng } = await pair(gguf(spec, type), `${spec.name}.${type}`, {});
        expect([...eng.weightLayouts.values()].every((l) => l === `${type} -> ${type}`)).toBe(true);
        for (const tokens of goldenSequences(spec)) {
          const r = compareTaps(ref, eng, tokens);
          if (!(r.logits.maxAbs <= tol)) throw new Error(describeDiff(`${spec.name}.${type} logits`, r.logits, tol));
          expect(r.worstNmse.nmse, `worst tap ${r.worstNmse.name}`).toBeLessThanOrEqual(ENGINE_QUANT_TAP_NMSE);
          measured.push(`  ${`${spec.name}.${type.toLowerCase()}`.padEnd(22)} ${type} weights logits max|Δ| ${r.logits.maxAbs.toExponential(2)}  worst tap NMSE ${r.worstNmse.name} ${r.worstNmse.nmse.toExponential(2)}`);
        }
        const g = await greedy(ref, eng, goldenSequences(spec)[0].slice(0, 8), GREEDY_STEPS);
        const minGap = Math.min(...g.gaps);
        measured.push(`  ${`${spec.name}.${type.toLowerCase()}`.padEnd(22)} greedy: ${g.eng.length} steps compared, smallest top-1/top-2 gap ${minGap.toExponential(2)}`);
        expect(g.eng, `greedy tokens (oracle top-2 gaps: min ${minGap})`).toEqual(g.ref);
        expect(g.eng.length).toBe(GREEDY_STEPS);
      });
    }
  }
});

describe('engine vs oracle: native F16 / BF16 and K-quant weights (weights: auto)', () => {
  const cases = [
    ...GOLDEN_SHAPES.flatMap((spec) => (['F16', 'BF16'] as const).map((type) => ({ spec, type }))),
    ...KQUANT_FILE_TYPES.map((type) => ({ spec: KQUANT_SHAPE, type })),
  ];
  for (const { spec, type } of cases) {
    const tol = type === 'F16' ? ENGINE_F16_MAX_ABS : type === 'BF16' ? ENGINE_BF16_MAX_ABS : ENGINE_KQUANT_MAX_ABS;
    it(`${spec.name}.${type.toLowerCase()}: at its stored types, logits within ${tol}, taps within NMSE ${ENGINE_QUANT_TAP_NMSE}, greedy tokens identical up to a near-tie`, async () => {
      const { ref, eng } = await pair(gguf(spec, type), `${spec.name}.${type}`, {});
      for (const [name, l] of eng.weightLayouts) expect(l.split(' -> ')[1], name).toBe(l.split(' -> ')[0]);
      for (const tokens of goldenSequences(spec)) {
        const r = compareTaps(ref, eng, tokens);
        if (!(r.logits.maxAbs <= tol)) throw new Error(describeDiff(`${spec.name}.${type} logits`, r.logits, tol));
        expect(r.worstNmse.nmse, `worst tap ${r.worstNmse.name}`).toBeLessThanOrEqual(ENGINE_QUANT_TAP_NMSE);
        measured.push(`  ${`${spec.name}.${type.toLowerCase()}`.padEnd(22)} native        logits max|Δ| ${r.logits.maxAbs.toExponential(2)}  worst tap NMSE ${r.worstNmse.name} ${r.worstNmse.nmse.toExponential(2)}`);
      }
      // Logits within tol can swap two tokens only where the oracle's top-1/top-2 gap is <= 2 tol: the tokens
      // must agree up to GREEDY_STEPS or up to such a near-tie (greedy() stops at the first difference).
      const g = await greedy(ref, eng, goldenSequences(spec)[0].slice(0, 8), GREEDY_STEPS);
      const minGap = Math.min(...g.gaps);
      const last = g.eng.length - 1;
      measured.push(`  ${`${spec.name}.${type.toLowerCase()}`.padEnd(22)} greedy: ${g.eng.length} steps compared, smallest top-1/top-2 gap ${minGap.toExponential(2)}`);
      if (g.eng[last] !== g.ref[last]) expect(g.gaps[last], `greedy tokens differ at step ${last} (oracle gap ${g.gaps[last]})`).toBeLessThanOrEqual(2 * tol);
      else expect(g.eng.length).toBe(GREEDY_STEPS);
    });
  }
});

describe('engine vs oracle: conversions at load (on request only)', () => {
  it('an HF folder (BF16 safetensors) runs as BF16 (default), as f32 exactly, as Q8_0 and as Q4_0 (on request)', async () => {
    const spec = GOLDEN_SHAPES[1];
    const files = synthHfFolder(synthModel(spec), 'BF16');
    const ref = await loadModel({ hf: memoryFileSet(files, spec.name) });
    const tokens = goldenSequences(spec)[0];
    for (const weights of ['auto', 'f32', 'q8_0', 'q4_0'] as const) {
      // The oracle on the same weights rounded the way the engine stores them (ggml's reference quantizers), so
      // the remaining difference is the engine's own: f32 sums, bf16 / Q8_0 activations.
      const q = weights === 'auto' || weights === 'f32' ? (w: Float32Array) => w : weights === 'q8_0' ? (w: Float32Array) => dequantizeQ8_0(quantizeQ8_0(w), w.length) : (w: Float32Array) => dequantizeQ4_0(quantizeQ4_0(w), w.length);
      const want = forward(requantized(ref.weights, q), ref.dims, newState(ref.dims), tokens, { allLogits: true });
      const tol = { auto: ENGINE_BF16_MAX_ABS, f32: ENGINE_F32_MAX_ABS, q8_0: ENGINE_Q8_0_MAX_ABS, q4_0: ENGINE_Q4_0_MAX_ABS }[weights];
      const eng = await createWasmCore({ hf: memoryFileSet(files, spec.name) }, { weights });
      expect(new Set(eng.weightLayouts.values())).toEqual(new Set([`BF16 -> ${{ auto: 'BF16', f32: 'F32', q8_0: 'Q8_0', q4_0: 'Q4_0' }[weights]}`]));
      const d = diff(eng.forward(tokens, { allLogits: true }), want);
      measured.push(`  ${`${spec.name} HF BF16`.padEnd(22)} as ${weights.padEnd(5)} logits max|Δ| ${d.maxAbs.toExponential(2)}`);
      if (!(d.maxAbs <= tol)) throw new Error(describeDiff(`HF BF16 as ${weights}`, d, tol));
    }
  });

  it('the stock-style file (Q4_0 + Q6_K embedding + Q4_K / Q5_K matrices made by ggml) runs natively, or as Q8_0 on request', async () => {
    const golden = join(import.meta.dirname, '..', 'golden', 'logits', 'kmix-d256.q4_0-kquants.kquants.gguf');
    const src = bytesSource(readFileSync(golden), 'kquants');
    const stored = await readGguf(src);
    const overrides = new Map<string, { type: number; data: Uint8Array }>();
    for (const t of stored.tensors) overrides.set(t.name, { type: t.type, data: await readGgufTensorBytes(stored, src, t.name) });
    const bytes = concatParts(synthGguf(synthModel(KQUANT_SHAPE), KQUANT_BASE_TYPE, overrides));
    for (const weights of ['auto', 'q8_0'] as const) {
      const { ref, eng } = await pair(bytes, 'kmix', { weights });
      const native = weights === 'auto';
      expect(eng.weightLayouts.get('token_embd.weight')).toBe(native ? 'Q6_K -> Q6_K' : 'Q6_K -> Q8_0');
      expect(eng.weightLayouts.get('blk.0.ffn_down.weight')).toBe(native ? 'Q5_K -> Q5_K' : 'Q5_K -> Q8_0');
      expect(eng.weightLayouts.get('blk.0.ffn_gate.weight')).toBe(native ? 'Q4_K -> Q4_K' : 'Q4_K -> Q8_0');
      expect(eng.weightLayouts.get('blk.0.ffn_up.weight')).toBe(native ? 'Q4_0 -> Q4_0' : 'Q4_0 -> Q8_0');
      for (const tokens of goldenSequences(KQUANT_SHAPE)) {
        const r = compareTaps(ref, eng, tokens);
        measured.push(`  ${'kmix-d256 K-quants'.padEnd(22)} ${weights.padEnd(13)} logits max|Δ| ${r.logits.maxAbs.toExponential(2)}`);
        // as Q8_0 the engine's weights are not the oracle's any more (requantized): Q4_0's tolerance covers that
        const tol = native ? ENGINE_KQUANT_MAX_ABS : ENGINE_Q4_0_MAX_ABS;
        if (!(r.logits.maxAbs <= tol)) throw new Error(describeDiff(`kmix logits (${weights})`, r.logits, tol));
      }
    }
  });

  it('every golden file type loads at its stored type by default, and as Q8_0 / Q4_0 / f32 when asked', async () => {
    for (const type of [...GOLDEN_FILE_TYPES, ...KQUANT_FILE_TYPES]) {
      const spec = KQUANT_FILE_TYPES.includes(type) ? KQUANT_SHAPE : GOLDEN_SHAPES[0];
      const bytes = gguf(spec, type);
      for (const weights of ['auto', 'q8_0', 'q4_0', 'f32'] as const) {
        const eng = await createWasmCore({ gguf: bytesSource(bytes, type) }, { weights });
        for (const [name, l] of eng.weightLayouts) {
          const [stored, runs] = l.split(' -> ');
          expect(runs, `${type} ${name} with weights ${weights}`).toBe(weights === 'auto' ? stored : weights.toUpperCase());
        }
        expect(eng.weightBytes).toBeGreaterThan(0);
      }
    }
    await expect(createWasmCore({ gguf: bytesSource(gguf(GOLDEN_SHAPES[0], 'Q8_0'), 'x') }, { weights: 'q5_0' as never })).rejects.toThrow(/options.weights must be 'auto', 'q8_0', 'q4_0' or 'f32', got "q5_0"/);
  });
});
