// The oracle's own invariants (llama.cpp agreement is in golden-llamacpp.test.ts): prefill == decode,
// state snapshots, format independence (HF folder == GGUF, bitwise), taps, and bad input.

import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { GOLDEN_SHAPES, goldenSequences } from '../golden/cases.js';
import { bytesSource, memoryFileSet } from '../reference/bytes.js';
import { deriveDims } from '../reference/config.js';
import { InputError } from '../reference/errors.js';
import { concatParts } from '../reference/gguf.js';
import { loadModel, type LoadedModel } from '../reference/load.js';
import { cloneState, forward, newState } from '../reference/model.js';
import { writeSafetensors } from '../reference/safetensors.js';
import { synthGguf, synthHfFolder, synthModel, type SynthModel } from '../src/synth/random-model.js';
import { chunkSizes, expectBitwiseEqual } from './compare.js';

const models = new Map<string, { synth: SynthModel; gguf: LoadedModel }>();

beforeAll(async () => {
  for (const spec of GOLDEN_SHAPES) {
    const synth = synthModel(spec);
    const gguf = await loadModel({ gguf: bytesSource(concatParts(synthGguf(synth, 'F32')), `${spec.name}.gguf`) });
    models.set(spec.name, { synth, gguf });
  }
});

/** Logits for every position when the sequence is fed in chunks of the given sizes. */
function chunked(m: LoadedModel, tokens: number[], sizes: number[]): Float32Array {
  const V = m.dims.V;
  const state = newState(m.dims);
  const out = new Float32Array(tokens.length * V);
  let at = 0;
  for (const n of sizes) {
    out.set(forward(m.weights, m.dims, state, tokens.slice(at, at + n), { allLogits: true }), at * V);
    at += n;
  }
  expect(state.pos).toBe(tokens.length);
  return out;
}

describe('prefill and decode', () => {
  for (const spec of GOLDEN_SHAPES) {
    it(`${spec.name}: one prefill of T tokens equals T single decode steps, bitwise`, () => {
      const m = models.get(spec.name)!.gguf;
      for (const tokens of goldenSequences(spec)) {
        const prefill = chunked(m, tokens, [tokens.length]);
        const steps = chunked(m, tokens, tokens.map(() => 1));
        expectBitwiseEqual(`${spec.name} prefill vs decode`, steps, prefill);
      }
    });
  }

  it('any split of the sequence into chunks gives the same logits (property)', () => {
    const m = models.get('d96-gqa3')!.gguf;
    const tokens = goldenSequences(GOLDEN_SHAPES[1])[0].slice(0, 24);
    const whole = chunked(m, tokens, [tokens.length]);
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 8 }), { minLength: 1, maxLength: 24 }), (raw) => {
        const sizes = chunkSizes(raw, tokens.length);
        expectBitwiseEqual(`chunks ${sizes.join('+')}`, chunked(m, tokens, sizes), whole);
      }),
      { numRuns: 25 },
    );
  });

  it('a saved state continues exactly like the uninterrupted run, and the snapshot is independent', () => {
    const m = models.get('tiny-gqa4')!.gguf;
    const [tokens] = goldenSequences(GOLDEN_SHAPES[0]);
    const state = newState(m.dims);
    forward(m.weights, m.dims, state, tokens.slice(0, 20));
    const snap = cloneState(state);
    const a = forward(m.weights, m.dims, state, tokens.slice(20), { allLogits: true });
    const b = forward(m.weights, m.dims, snap, tokens.slice(20), { allLogits: true });
    expectBitwiseEqual('continued from snapshot', b, a);
    const fresh = chunked(m, tokens, [tokens.length]).subarray(20 * m.dims.V);
    expectBitwiseEqual('continued vs uninterrupted', a, fresh);
  });

  it('returns only the last row unless allLogits is set', () => {
    const m = models.get('tiny-gqa4')!.gguf;
    const tokens = [1, 20, 30, 40];
    const last = forward(m.weights, m.dims, newState(m.dims), tokens);
    const all = forward(m.weights, m.dims, newState(m.dims), tokens, { allLogits: true });
    expect(last.length).toBe(m.dims.V);
    expectBitwiseEqual('last row', last, all.subarray(3 * m.dims.V));
  });
});

describe('the same weights from an HF folder and from a GGUF', () => {
  for (const spec of GOLDEN_SHAPES) {
    it(`${spec.name}: HF folder (F32 safetensors) and F32 GGUF give bitwise-equal logits`, async () => {
      const { synth, gguf } = models.get(spec.name)!;
      const hf = await loadModel({ hf: memoryFileSet(synthHfFolder(synth), spec.name) });
      expect(hf.format).toBe('hf');
      expect(deriveDims(hf.config)).toEqual(gguf.dims);
      for (const tokens of goldenSequences(spec)) {
        const a = forward(gguf.weights, gguf.dims, newState(gguf.dims), tokens, { allLogits: true });
        const b = forward(hf.weights, hf.dims, newState(hf.dims), tokens, { allLogits: true });
        expectBitwiseEqual(`${spec.name} HF vs GGUF`, b, a);
      }
    });
  }

  it('a sharded HF folder (model.safetensors.index.json + 2 shards) loads to the same logits', async () => {
    const { synth, gguf } = models.get('d96-gqa3')!;
    const half = Math.ceil(synth.tensors.length / 2);
    const shards = [synth.tensors.slice(0, half), synth.tensors.slice(half)];
    const names = ['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors'];
    const files: Record<string, Uint8Array | string> = { 'config.json': JSON.stringify(synth.config) };
    const weightMap: Record<string, string> = {};
    shards.forEach((ts, i) => {
      files[names[i]] = writeSafetensors(ts.map((t) => ({ name: t.name, dtype: 'F32' as const, shape: t.shape, data: t.make() })));
      for (const t of ts) weightMap[t.name] = names[i];
    });
    files['model.safetensors.index.json'] = JSON.stringify({ metadata: { total_size: 0 }, weight_map: weightMap });
    const hf = await loadModel({ hf: memoryFileSet(files, 'sharded') });
    const tokens = goldenSequences(GOLDEN_SHAPES[1])[1];
    expectBitwiseEqual(
      'sharded HF vs GGUF',
      forward(hf.weights, hf.dims, newState(hf.dims), tokens, { allLogits: true }),
      forward(gguf.weights, gguf.dims, newState(gguf.dims), tokens, { allLogits: true }),
    );
  });
});

describe('taps', () => {
  it('are named after the HF module paths, in data-flow order, with consistent shapes', () => {
    const m = models.get('tiny-gqa4')!.gguf; // layers: conv, attention, conv, attention
    const seen: [string, number[]][] = [];
    forward(m.weights, m.dims, newState(m.dims), [1, 50, 60], { allLogits: true, tap: (n, _d, s) => seen.push([n, s]) });
    const names = seen.map(([n]) => n);
    const { D, H, K, hd, F, V } = m.dims;
    expect(names.slice(0, 8)).toEqual([
      'model.embed_tokens',
      'model.layers.0.operator_norm',
      'model.layers.0.conv.in_proj',
      'model.layers.0.conv.conv',
      'model.layers.0.conv.out_proj',
      'model.layers.0.ffn_norm',
      'model.layers.0.feed_forward.w1',
      'model.layers.0.feed_forward.w3',
    ]);
    for (const t of ['q_proj', 'k_proj', 'v_proj', 'q_layernorm', 'k_layernorm', 'q_rope', 'k_rope', 'attn', 'out_proj']) {
      expect(names).toContain(`model.layers.1.self_attn.${t}`);
    }
    expect(names.filter((n) => /^model\.layers\.\d+$/.test(n))).toEqual(['model.layers.0', 'model.layers.1', 'model.layers.2', 'model.layers.3']);
    expect(names.slice(-2)).toEqual(['model.embedding_norm', 'lm_head']);
    const shape = Object.fromEntries(seen);
    expect(shape['model.layers.0.conv.in_proj']).toEqual([3, 3 * D]);
    expect(shape['model.layers.1.self_attn.q_proj']).toEqual([3, H * hd]);
    expect(shape['model.layers.1.self_attn.k_proj']).toEqual([3, K * hd]);
    expect(shape['model.layers.1.feed_forward.w1']).toEqual([3, F]);
    expect(shape['lm_head']).toEqual([3, V]);
  });

  it('the lm_head tap equals the returned logits', () => {
    const m = models.get('tiny-gqa4')!.gguf;
    let tapped: Float32Array | null = null;
    const logits = forward(m.weights, m.dims, newState(m.dims), [1, 2, 3], { tap: (n, d) => n === 'lm_head' && (tapped = d) });
    expectBitwiseEqual('lm_head tap', tapped!, logits);
  });
});

describe('RMSNorm', () => {
  // Rows far below sqrt(eps) in magnitude, where eps decides the output: the token embedding scaled to RMS ~1e-4
  // makes mean(x^2) ~1e-8, a thousandth of eps (1e-5), so a norm without eps would come out ~30x too large.
  // Well-conditioned test models (unit-RMS rows) cannot see eps at all: its effect there is ~5e-6 relative.
  /** The scale applied to the embedding rows. */
  const SMALL = 1e-4;
  /** |tap - formula| <= NORM_REL * |formula| + NORM_ABS: f32 rounding of the output (and of a residual add). */
  const NORM_REL = 1e-6;
  const NORM_ABS = 1e-30;

  it('every norm tap equals w * x / sqrt(mean(x^2) + eps), computed here from its input, on rows smaller than eps', () => {
    const m = models.get('tiny-gqa4')!.gguf; // conv, attention, conv, attention
    const { D, H, K, hd, eps, nLayers } = m.dims;
    const weights = { ...m.weights, embed_tokens: m.weights.embed_tokens.map((v) => v * SMALL) };
    const taps = new Map<string, Float32Array>();
    const tokens = [1, 50, 60, 7];
    forward(weights, m.dims, newState(m.dims), tokens, { allLogits: true, tap: (name, data) => taps.set(name, data) });
    const tap = (name: string) => taps.get(name) ?? expect.fail(`no tap ${name}`);

    let checked = 0;
    /** Checks rows of n in `out` against the formula on the same rows of `x` with weight `w`. */
    const check = (where: string, out: Float32Array, x: ArrayLike<number>, w: Float32Array, n: number) => {
      expect(out.length, where).toBe(x.length);
      for (let r = 0; r < x.length / n; r++) {
        let ss = 0;
        for (let i = 0; i < n; i++) ss += x[r * n + i] ** 2;
        const inv = 1 / Math.sqrt(ss / n + eps);
        for (let i = 0; i < n; i++) {
          const ref = w[i] * x[r * n + i] * inv;
          const got = out[r * n + i];
          if (!(Math.abs(got - ref) <= NORM_REL * Math.abs(ref) + NORM_ABS)) expect.fail(`${where} row ${r} [${i}]: ${got}, formula ${ref} (mean x^2 ${ss / n}, eps ${eps})`);
        }
        checked++;
      }
    };

    // The premise: the first norm's rows are far below eps.
    const x0 = tap('model.embed_tokens');
    for (let t = 0; t < tokens.length; t++) expect(x0.subarray(t * D, (t + 1) * D).reduce((a, v) => a + v * v, 0) / D).toBeLessThan(eps / 100);

    let input = x0; // (T, D) the residual stream entering layer l
    for (let l = 0; l < nLayers; l++) {
      const p = `model.layers.${l}`;
      const lw = m.weights.layers[l];
      check(`${p}.operator_norm`, tap(`${p}.operator_norm`), input, lw.operator_norm, D);
      if (lw.self_attn) {
        check(`${p}.self_attn.q_layernorm`, tap(`${p}.self_attn.q_layernorm`), tap(`${p}.self_attn.q_proj`), lw.self_attn.q_layernorm, hd);
        check(`${p}.self_attn.k_layernorm`, tap(`${p}.self_attn.k_layernorm`), tap(`${p}.self_attn.k_proj`), lw.self_attn.k_layernorm, hd);
      }
      const branch = tap(lw.self_attn ? `${p}.self_attn.out_proj` : `${p}.conv.out_proj`);
      const mid = input.map((v, i) => v + branch[i]); // the residual add, in f32 as the model does it
      check(`${p}.ffn_norm`, tap(`${p}.ffn_norm`), mid, lw.ffn_norm, D);
      input = tap(p);
    }
    check('model.embedding_norm', tap('model.embedding_norm'), input, m.weights.embedding_norm, D);
    expect(checked).toBe(tokens.length * (2 * nLayers + 1) + tokens.length * (H + K) * m.dims.attnLayers.length);
  });
});

describe('bad input', () => {
  const m = () => models.get('tiny-gqa4')!.gguf;
  it.each([
    [[1, 300], /token id 300 at index 1 is outside the vocabulary 0\.\.299/],
    [[-1], /token id -1/],
    [[1.5], /token id 1\.5/],
    [[], /no tokens/],
  ])('rejects tokens %j with an InputError', (tokens, msg) => {
    const mm = m();
    expect(() => forward(mm.weights, mm.dims, newState(mm.dims), tokens)).toThrow(InputError);
    expect(() => forward(mm.weights, mm.dims, newState(mm.dims), tokens)).toThrow(msg);
  });

  it('rejects a sequence longer than the context, before doing any work', () => {
    const mm = m();
    const dims = { ...mm.dims, maxPositions: 8 };
    const state = newState(dims);
    forward(mm.weights, dims, state, [1, 2, 3, 4, 5]);
    expect(() => forward(mm.weights, dims, state, [1, 2, 3, 4])).toThrow(/9 positions exceed the model's context of 8/);
    expect(state.pos).toBe(5); // unchanged by the failed call
  });
});

