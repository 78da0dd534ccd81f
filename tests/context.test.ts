// The context an engine holds: by default the model's own (config max_position_embeddings / GGUF
// lfm2.context_length), cut to what fits in WASM memory; an explicit contextLength that does not fit is an
// InputError saying how much does; the KV cache element type (f16 by default) and bad options as typed errors.

import { describe, expect, it } from 'vitest';
import { bytesSource } from '../reference/bytes.js';
import { InputError } from '../reference/errors.js';
import { concatParts } from '../reference/gguf.js';
import { referenceEngine } from '../src/engine/reference-engine.js';
import { instantiateEngineModule } from '../src/engine/wasm-builds.js';
import { createWasmCore } from '../src/engine/wasm-core.js';
import { ATT_BLOCK } from '../src/engine/wasm-layout.js';
import { loadModel } from '../reference/load.js';
import { synthGguf, synthModel, type SynthSpec } from '../src/synth/random-model.js';
import { TINY_SHAPES } from '../src/synth/shapes.js';

const tiny = TINY_SHAPES[0]; // 2 attention layers, 1 kv head of 16: 128 bytes of f16 cache per position
const file = (spec: SynthSpec) => concatParts(synthGguf(synthModel(spec), 'Q8_0'));
/** A shared memory that can grow to `mib` MiB only (browsers may grant less than 4 GiB). */
const smallMemory = (mib: number) => instantiateEngineModule({ memory: new WebAssembly.Memory({ initial: 2, maximum: mib * 16, shared: true } as WebAssembly.MemoryDescriptor) });

describe('the context an engine holds', () => {
  it("defaults to the model's own context, with an f16 KV cache; the reference engine reports the same", async () => {
    const core = await createWasmCore({ gguf: bytesSource(file(tiny)) });
    expect(core.contextLength).toBe(4096); // the tiny files say lfm2.context_length = 4096
    expect(core.kvCache).toBe('f16');
    const ref = referenceEngine(await loadModel({ gguf: bytesSource(file(tiny)) }));
    expect(ref.contextLength).toBe(core.contextLength);
  });

  it("an explicit contextLength is held as asked, and one beyond the model's is cut to the model's", async () => {
    expect((await createWasmCore({ gguf: bytesSource(file(tiny)) }, { contextLength: 300 })).contextLength).toBe(300);
    expect((await createWasmCore({ gguf: bytesSource(file(tiny)) }, { contextLength: 100000 })).contextLength).toBe(4096);
  });

  it('the f32 cache takes twice the memory of the f16 one', async () => {
    const spec = { ...tiny, max_position_embeddings: 65536 };
    const a = await createWasmCore({ gguf: bytesSource(file(spec)) }, { kvCache: 'f16' });
    const b = await createWasmCore({ gguf: bytesSource(file(spec)) }, { kvCache: 'f32' });
    const kv = (c: typeof a) => c.memoryBytes - c.weightBytes;
    // 2 layers x (K + V) x 16 per position: 64 KiB positions x 128 bytes = 8 MiB in f16, 16 MiB in f32 (+ scratch)
    expect(kv(b) - kv(a)).toBeGreaterThanOrEqual(8 * 2 ** 20 - 2 * 65536);
    expect(kv(b) - kv(a)).toBeLessThanOrEqual(8 * 2 ** 20 + 2 * 65536);
  });

  it('when the memory cannot grow to the model\'s context, the default shrinks to what fits (whole blocks) and runs to its end', async () => {
    // every layer attention, 4 kv heads: 1 KiB of f16 cache per position; 1 GiB for the model's context, 8 MiB of memory
    const spec = { ...tiny, attn_layers: [0, 1, 2, 3], num_key_value_heads: 4, max_position_embeddings: 1 << 20 };
    const core = await createWasmCore({ gguf: bytesSource(file(spec)) }, {}, { instance: smallMemory(8) });
    expect(core.contextLength).toBeLessThan(1 << 20);
    expect(core.contextLength).toBeGreaterThanOrEqual(2 * ATT_BLOCK); // the room left after weights and scratch
    expect(core.contextLength % ATT_BLOCK).toBe(0);
    expect(core.memoryBytes).toBeLessThanOrEqual(8 * 2 ** 20);
    // the last positions are usable: fill to the end in big chunks, then one more token is an InputError
    const n = core.contextLength;
    core.prefill(Array.from({ length: 5 }, (_, i) => 20 + i));
    const step = 512;
    for (let at = 5; at < n; at += step) core.prefill(Array.from({ length: Math.min(step, n - at) }, (_, i) => 14 + ((at + i) % 200)));
    expect(core.position).toBe(n);
    expect(() => core.decode(3)).toThrow(InputError);
  }, 120_000);

  it('an explicit contextLength that does not fit is an InputError saying how many positions do', async () => {
    const spec = { ...tiny, max_position_embeddings: 1 << 20 };
    const err = await createWasmCore({ gguf: bytesSource(file(spec)) }, { contextLength: 1 << 20 }, { instance: smallMemory(32) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect((err as Error).message).toMatch(/contextLength 1048576: its KV cache \(\d+ MiB\) does not fit in WASM memory .* about \d+ positions fit/);
    const f32 = await createWasmCore({ gguf: bytesSource(file(spec)) }, { contextLength: 1 << 20, kvCache: 'f32' }, { instance: smallMemory(32) }).catch((e: unknown) => e);
    expect((f32 as Error).message).toMatch(/kvCache 'f16' holds twice as many/);
  });

  it('bad options are InputErrors naming the option', async () => {
    for (const contextLength of [0, -5, 1.5, Number.NaN]) {
      await expect(createWasmCore({ gguf: bytesSource(file(tiny)) }, { contextLength })).rejects.toThrow(/options\.contextLength must be an integer in \[1, /);
    }
    await expect(createWasmCore({ gguf: bytesSource(file(tiny)) }, { kvCache: 'f8' as never })).rejects.toThrow(/kvCache must be 'f16' or 'f32', got "f8"/);
  });
});
