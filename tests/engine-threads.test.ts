// The WASM engine in workers, with threads (src/engine/worker/): bitwise the same logits as the in-thread core
// for every thread count (no reduction is split across threads), the same errors (typed, across the thread
// boundary), snapshots, HF folders read through the host, abort between prefill chunks, dispose, and a caller's
// thread that stays free while the engine computes.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bytesSource, memoryFileSet } from '../reference/bytes.js';
import { InputError, TensorError } from '../reference/errors.js';
import { concatParts } from '../reference/gguf.js';
import { createWasmCore } from '../src/engine/wasm-core.js';
import { createWasmEngine, type WasmEngine } from '../src/engine/wasm-engine.js';
import { workerSpawner } from '../src/engine/worker/spawn.js';
import { registerNodeWorkers } from '../src/node/worker-spawn.js';
import { synthGguf, synthHfFolder, synthModel, type SynthFileType } from '../src/synth/random-model.js';
import { KQUANT_SHAPE, shapeSequences, TINY_SHAPES } from '../src/synth/shapes.js';
import { expectBitwiseEqual } from './compare.js';

registerNodeWorkers();

const THREAD_COUNTS = [1, 2, 3, 4];
const fileOf = (spec: (typeof TINY_SHAPES)[number], type: SynthFileType) => concatParts(synthGguf(synthModel(spec), type));

describe('threads: bitwise the same logits for every thread count', () => {
  it('uses worker_threads here', () => {
    expect(workerSpawner()?.kind).toBe('worker_threads');
  });

  // every weight type: the Q4_0 / Q8_0 / F32 files on every tiny shape, F16 / BF16 on two, the K-quant mixes on
  // the shape whose rows are multiples of 256
  const cases: [(typeof TINY_SHAPES)[number], SynthFileType][] = [
    ...TINY_SHAPES.flatMap((spec) => (['Q4_0', 'Q8_0', 'F32'] as const).map((t): [typeof spec, SynthFileType] => [spec, t])),
    ...[TINY_SHAPES[1], TINY_SHAPES[3]].flatMap((spec) => (['F16', 'BF16'] as const).map((t): [typeof spec, SynthFileType] => [spec, t])),
    ...(['Q4_K_M', 'Q5_K_M', 'Q6_K'] as const).map((t): [(typeof TINY_SHAPES)[number], SynthFileType] => [KQUANT_SHAPE, t]),
  ];
  for (const [spec, type] of cases) {
    it(`${spec.name}.${type}: threads ${THREAD_COUNTS.join(', ')} == the in-thread core (prefill all logits, then decode steps)`, async () => {
      const bytes = fileOf(spec, type);
      const [tokens] = shapeSequences(spec);
      const core = await createWasmCore({ gguf: bytesSource(bytes) }, { prefillChunk: 16 });
      const want = core.forward(tokens.slice(0, 40), { allLogits: true });
      const wantSteps = tokens.slice(40).map((t) => core.decode(t));
      for (const threads of THREAD_COUNTS) {
        const e = await createWasmEngine({ gguf: bytesSource(bytes) }, { threads, prefillChunk: 16 });
        try {
          expect(e.threads).toBe(threads);
          expectBitwiseEqual(`${threads} threads, prefill`, await e.forward(tokens.slice(0, 40), { allLogits: true }), want);
          for (const [i, t] of tokens.slice(40).entries()) expectBitwiseEqual(`${threads} threads, decode ${i}`, await e.decode(t), wantSteps[i]);
        } finally {
          await e.dispose();
        }
      }
    });
  }

  it('across attention blocks: a 765-token prompt, then decode steps past the block boundary at 768, threads 1..4 == the core, f16 and f32 caches', async () => {
    const spec = TINY_SHAPES[1];
    const bytes = fileOf(spec, 'Q8_0');
    const prompt = Array.from({ length: 765 }, (_, i) => (i * 37 + 11) % spec.vocab_size);
    const steps = [5, 9, 14, 2, 7, 3];
    for (const kvCache of ['f16', 'f32'] as const) {
      const core = await createWasmCore({ gguf: bytesSource(bytes) }, { prefillChunk: 64, kvCache, contextLength: 1024 });
      const want = [core.prefill(prompt), ...steps.map((t) => core.decode(t))];
      for (const threads of THREAD_COUNTS) {
        const e = await createWasmEngine({ gguf: bytesSource(bytes) }, { threads, prefillChunk: 64, kvCache, contextLength: 1024 });
        try {
          expectBitwiseEqual(`${kvCache} cache, ${threads} threads, prefill`, await e.prefill(prompt), want[0]);
          for (const [i, t] of steps.entries()) expectBitwiseEqual(`${kvCache} cache, ${threads} threads, decode ${i}`, await e.decode(t), want[i + 1]);
        } finally {
          await e.dispose();
        }
      }
    }
  });

  it('taps come back from the workers under the oracle names, equal to the in-thread core\'s', async () => {
    const spec = TINY_SHAPES[2];
    const bytes = fileOf(spec, 'Q4_0');
    const tokens = shapeSequences(spec)[1].slice(0, 12);
    const want = new Map<string, Float32Array>();
    (await createWasmCore({ gguf: bytesSource(bytes) })).forward(tokens, { allLogits: true, tap: (n, d) => want.set(n, d) });
    const e = await createWasmEngine({ gguf: bytesSource(bytes) }, { threads: 3 });
    const got = new Map<string, Float32Array>();
    await e.forward(tokens, { allLogits: true, tap: (n, d) => got.set(n, d) });
    await e.dispose();
    expect([...got.keys()]).toEqual([...want.keys()]);
    for (const [n, d] of want) expectBitwiseEqual(n, got.get(n)!, d);
  });
});

describe('the worker engine as an Engine', () => {
  const spec = TINY_SHAPES[2];
  let e: WasmEngine;
  beforeAll(async () => {
    e = await createWasmEngine({ gguf: bytesSource(fileOf(spec, 'Q4_0')) }, { threads: 2, contextLength: 64, prefillChunk: 8 });
  });
  afterAll(() => e.dispose());

  it('bad token ids and an over-long prompt are InputErrors thrown in the worker, rethrown here with their class; the state is untouched', async () => {
    await e.reset();
    await e.prefill([1, 2, 3]);
    await expect(e.decode(spec.vocab_size)).rejects.toThrow(InputError);
    await expect(e.prefill([1.5])).rejects.toThrow(/outside the vocabulary/);
    await expect(e.prefill(Array.from({ length: 70 }, () => 5))).rejects.toThrow(/exceed the engine's context of 64/);
    expect(e.position).toBe(3);
  });

  it('save / restore: back to the same logits, also after the cache rows were overwritten (re-read)', async () => {
    const tokens = shapeSequences(spec)[0];
    await e.reset();
    await e.prefill(tokens.slice(0, 20));
    const snap = await e.save();
    const a = await e.decode(tokens[20]);
    await e.restore(snap);
    expect(e.position).toBe(20);
    expectBitwiseEqual('restored, intact cache', await e.decode(tokens[20]), a);
    await e.reset();
    await e.prefill([7, 8, 9, 10, 11]); // overwrites cache rows 0..4: the snapshot's tokens are read again
    await e.restore(snap);
    expect(e.position).toBe(20);
    expectBitwiseEqual('restored, rewritten cache', await e.decode(tokens[20]), a);
  });

  it('an aborted prefill stops between chunks with the signal\'s reason', async () => {
    await e.reset();
    const ac = new AbortController();
    ac.abort(new Error('stop here'));
    await expect(e.prefill(Array.from({ length: 40 }, () => 5), { signal: ac.signal })).rejects.toThrow('stop here');
    expect(e.position).toBe(0);
  });

  it('the caller\'s event loop turns while the workers compute (each step is a message, not a blocking call)', async () => {
    await e.reset();
    let turns = 0;
    let on = true;
    const spin = () => {
      if (!on) return;
      turns++;
      setImmediate(spin);
    };
    setImmediate(spin);
    await e.prefill(Array.from({ length: 40 }, (_, i) => 10 + i)); // 5 chunks
    for (let i = 0; i < 10; i++) await e.decode(20 + i);
    on = false;
    expect(turns).toBeGreaterThanOrEqual(15); // at least one turn per message round trip
  });
});

describe('loading in a worker', () => {
  it('an HF folder: the files are opened, read and closed through the host', async () => {
    const spec = TINY_SHAPES[0];
    const m = synthModel(spec);
    const files = synthHfFolder(m, 'F32');
    const opened: string[] = [];
    let open = 0;
    const set = memoryFileSet(files, spec.name);
    const tracked = {
      name: set.name,
      async open(f: string) {
        const src = await set.open(f);
        if (!src) return null;
        opened.push(f);
        open++;
        return { ...src, close: async () => void open-- };
      },
    };
    const e = await createWasmEngine({ hf: tracked }, { threads: 2, weights: 'f32' });
    const core = await createWasmCore({ hf: memoryFileSet(files, spec.name) }, { weights: 'f32' });
    const tokens = shapeSequences(spec)[0].slice(0, 10);
    expectBitwiseEqual('hf folder in a worker', await e.forward(tokens, { allLogits: true }), core.forward(tokens, { allLogits: true }));
    await e.dispose();
    expect(opened).toContain('config.json');
    expect(open).toBe(0); // every file the worker opened was closed
  });

  it('a load error in the worker is the same typed error here, and the source is closed', async () => {
    const spec = TINY_SHAPES[0];
    const bytes = fileOf(spec, 'Q4_0');
    let closed = 0;
    const src = { ...bytesSource(bytes.subarray(0, bytes.length - 100), 'cut.gguf'), close: async () => void closed++ };
    const err = await createWasmEngine({ gguf: src }, { threads: 2 }).catch((x: unknown) => x);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/cut\.gguf/);
    expect(closed).toBe(1);
    const folder = synthHfFolder(synthModel(spec), 'F32');
    const config = JSON.parse(folder['config.json'] as string);
    const fewer = { ...folder, 'config.json': JSON.stringify({ ...config, num_hidden_layers: config.num_hidden_layers - 1 }) };
    const extra = await createWasmEngine({ hf: memoryFileSet(fewer, 'fewer-layers') }, { threads: 2 }).catch((x: unknown) => x);
    expect(extra).toBeInstanceOf(TensorError); // the last layer's tensors are unexpected
    expect((extra as TensorError).file).toBe('fewer-layers');
  });

  it('after dispose every call rejects; dispose twice is fine', async () => {
    const e = await createWasmEngine({ gguf: bytesSource(fileOf(TINY_SHAPES[0], 'Q4_0')) }, { threads: 2 });
    await e.dispose();
    await e.dispose();
    await expect(e.decode(1)).rejects.toThrow(/after dispose/);
  });

  it("workers: 'none' runs on this thread and yields between steps", async () => {
    const spec = TINY_SHAPES[1];
    const bytes = fileOf(spec, 'Q8_0');
    const e = await createWasmEngine({ gguf: bytesSource(bytes) }, { workers: 'none' });
    expect(e.description).toMatch(/caller's thread/);
    let turns = 0;
    let on = true;
    const spin = () => on && (turns++, setImmediate(spin));
    setImmediate(spin);
    for (let i = 0; i < 8; i++) await e.decode(10 + i);
    on = false;
    expect(turns).toBeGreaterThanOrEqual(7);
    const core = await createWasmCore({ gguf: bytesSource(bytes) });
    await e.reset();
    expectBitwiseEqual('in-thread engine == core', await e.prefill([1, 2, 3, 4, 5]), core.prefill([1, 2, 3, 4, 5]));
    await e.dispose();
  });
});
