// The WASM engine's sequence state: one prefill equals the same tokens fed one by one (bitwise: the GEMM and the
// matvec kernels agree bit for bit, tests/kernels.test.ts), any chunking gives the same logits, save -> restore ->
// continue equals the uninterrupted run, and bad input raises typed errors without touching the state.

import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { GOLDEN_SHAPES, goldenSequences } from '../golden/cases.js';
import { bytesSource } from '../reference/bytes.js';
import { InputError } from '../reference/errors.js';
import { concatParts } from '../reference/gguf.js';
import { synthGguf, synthModel, type SynthFileType } from '../src/synth/random-model.js';
import { createWasmCore, type WasmCore, type WasmEngineOptions } from '../src/engine/wasm-core.js';
import { createWasmEngine } from '../src/engine/wasm-engine.js';
import { chunkSizes, expectBitwiseEqual } from './compare.js';

const files = new Map<string, Uint8Array>();
const fileOf = (spec: (typeof GOLDEN_SHAPES)[number], type: SynthFileType) => {
  const k = `${spec.name}.${type}`;
  if (!files.has(k)) files.set(k, concatParts(synthGguf(synthModel(spec), type)));
  return files.get(k)!;
};
const engineOf = (spec: (typeof GOLDEN_SHAPES)[number], type: SynthFileType, opts: WasmEngineOptions = {}) =>
  createWasmCore({ gguf: bytesSource(fileOf(spec, type), `${spec.name}.${type}`) }, opts);

/** Logits (T, V) for the sequence fed in chunks of the given sizes, from a reset engine. */
function chunked(e: WasmCore, tokens: number[], sizes: number[]): Float32Array {
  const V = e.vocabSize;
  e.reset();
  const out = new Float32Array(tokens.length * V);
  let at = 0;
  for (const n of sizes) {
    out.set(e.forward(tokens.slice(at, at + n), { allLogits: true }), at * V);
    at += n;
  }
  expect(e.position).toBe(tokens.length);
  return out;
}

describe('prefill and decode', () => {
  for (const spec of GOLDEN_SHAPES) {
    for (const type of ['Q4_0', 'Q8_0', 'F32'] as const) {
      it(`${spec.name}.${type.toLowerCase()}: one prefill of T tokens equals T single decode steps, bitwise`, async () => {
        const e = await engineOf(spec, type, { weights: type === 'F32' ? 'f32' : 'auto' });
        for (const tokens of goldenSequences(spec)) {
          expectBitwiseEqual(`${spec.name}.${type} prefill vs decode`, chunked(e, tokens, tokens.map(() => 1)), chunked(e, tokens, [tokens.length]));
        }
      });
    }
  }

  it('any split into chunks, and any prefillChunk size, gives the same logits (property)', async () => {
    const spec = GOLDEN_SHAPES[1];
    const tokens = goldenSequences(spec)[0].slice(0, 24);
    const e = await engineOf(spec, 'Q4_0');
    const small = await engineOf(spec, 'Q4_0', { prefillChunk: 5 });
    const whole = chunked(e, tokens, [tokens.length]);
    expectBitwiseEqual('prefillChunk 5', chunked(small, tokens, [tokens.length]), whole);
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 8 }), { minLength: 1, maxLength: 24 }), (raw) => {
        const sizes = chunkSizes(raw, tokens.length);
        expectBitwiseEqual(`chunks ${sizes.join('+')}`, chunked(e, tokens, sizes), whole);
      }),
      { numRuns: 20 },
    );
  });

  it('prefill returns the last row of allLogits; decode continues from it', async () => {
    const spec = GOLDEN_SHAPES[0];
    const e = await engineOf(spec, 'Q8_0');
    const tokens = [1, 20, 30, 40];
    const all = e.forward(tokens, { allLogits: true });
    e.reset();
    const last = await e.prefill(tokens);
    expect(last.length).toBe(e.vocabSize);
    expectBitwiseEqual('last row', last, all.subarray(3 * e.vocabSize));
    expect(e.position).toBe(4);
    await e.decode(5);
    expect(e.position).toBe(5);
  });
});

describe('save and restore', () => {
  let e: WasmCore;
  const spec = GOLDEN_SHAPES[2]; // lfm2-pattern: 10 conv + 6 attention layers
  beforeAll(async () => {
    e = await engineOf(spec, 'Q4_0');
  });

  it('save -> continue, restore -> continue again: identical to the uninterrupted run', async () => {
    const [tokens] = goldenSequences(spec);
    const whole = chunked(e, tokens, [tokens.length]).subarray(20 * e.vocabSize);
    e.reset();
    await e.prefill(tokens.slice(0, 20));
    const snap = e.save();
    expect(snap.position).toBe(20);
    const a = e.forward(tokens.slice(20), { allLogits: true });
    expectBitwiseEqual('continued vs uninterrupted', a, whole);
    e.restore(snap);
    expect(e.position).toBe(20);
    expectBitwiseEqual('restored, continued', e.forward(tokens.slice(20), { allLogits: true }), whole);
    // the snapshot stays valid after a reset and a different continuation
    e.reset();
    await e.prefill([1, 2, 3]);
    e.restore(snap);
    expectBitwiseEqual('restored twice', e.forward(tokens.slice(20), { allLogits: true }), whole);
  });

  it('a snapshot from another engine is refused', async () => {
    const other = await engineOf(GOLDEN_SHAPES[2], 'Q4_0');
    await other.prefill([1, 2]);
    expect(() => e.restore(other.save())).toThrow(InputError);
  });
});

describe('bad input', () => {
  it('token ids outside the vocabulary, empty input, over-long prompts and use after dispose raise InputError; the state is untouched', async () => {
    const spec = GOLDEN_SHAPES[0];
    const e = await createWasmEngine({ gguf: bytesSource(fileOf(spec, 'Q4_0'), `${spec.name}.Q4_0`) }, { contextLength: 16 });
    expect(e.contextLength).toBe(16);
    await e.prefill([1, 2, 3]);
    const before = await e.save();
    for (const bad of [[spec.vocab_size], [-1], [1.5], [Number.NaN], []]) {
      await expect(e.prefill(bad), JSON.stringify(bad)).rejects.toThrow(InputError);
    }
    await expect(e.decode(spec.vocab_size)).rejects.toThrow(/outside the vocabulary/);
    await expect(e.prefill(Array.from({ length: 14 }, () => 5))).rejects.toThrow(/exceed the engine's context of 16/);
    expect(e.position).toBe(3);
    const a = await e.decode(4);
    await e.restore(before);
    expectBitwiseEqual('state untouched by the failed calls', await e.decode(4), a);
    await e.prefill(Array.from({ length: 12 }, () => 5)); // exactly fills the context
    await expect(e.decode(1)).rejects.toThrow(InputError);
    await e.dispose();
    await expect(e.decode(1)).rejects.toThrow(/after dispose/);
    await expect(e.save()).rejects.toThrow(InputError);
  });
});

describe('loading and output options', () => {
  it('a byte source with readInto (weights read straight into WASM memory) loads the same model; reuseLogits reuses one array', async () => {
    const spec = GOLDEN_SHAPES[3];
    const bytes = fileOf(spec, 'Q4_0');
    let inPlace = 0;
    const src = {
      ...bytesSource(bytes, 'in-place'),
      async readInto(offset: number, target: Uint8Array) {
        inPlace++;
        target.set(bytes.subarray(offset, offset + target.length));
      },
    };
    const a = await createWasmCore({ gguf: src }, { reuseLogits: true });
    expect(inPlace).toBeGreaterThan(0);
    const b = await engineOf(spec, 'Q4_0');
    const tokens = goldenSequences(spec)[1];
    expectBitwiseEqual('readInto vs read', a.forward(tokens, { allLogits: true }), b.forward(tokens, { allLogits: true }));
    a.reset();
    const l1 = await a.prefill([1, 2, 3]);
    const copy = l1.slice();
    const l2 = await a.decode(4);
    expect(l2).toBe(l1); // the same array, overwritten
    expect(Array.from(l2)).not.toEqual(Array.from(copy));
  });
});
