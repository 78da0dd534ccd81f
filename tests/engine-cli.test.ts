// `lfm logits --engine wasm`: the file holds the WASM engine's logits (T, V), bitwise what the engine API gives,
// and close to the oracle's; the load line says what ran as what (--weights converts on request).

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { GOLDEN_SHAPES, KQUANT_SHAPE } from '../golden/cases.js';
import { bytesSource } from '../reference/bytes.js';
import { concatParts } from '../reference/gguf.js';
import { loadModel } from '../reference/load.js';
import { forward, newState } from '../reference/model.js';
import { EXIT_OK, EXIT_USAGE, main } from '../src/cli/main.js';
import { createWasmEngine } from '../src/engine/wasm-engine.js';
import { synthGguf, synthModel } from '../src/synth/random-model.js';
import { expectBitwiseEqual, expectClose } from './compare.js';

const dir = mkdtempSync(join(tmpdir(), 'lfm-engine-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('lfm logits --engine wasm', () => {
  it('writes the engine logits for a Q4_0 GGUF', async () => {
    const spec = GOLDEN_SHAPES[1];
    const bytes = concatParts(synthGguf(synthModel(spec), 'Q4_0'));
    const model = join(dir, 'm.gguf');
    const out = join(dir, 'l.f32');
    writeFileSync(model, bytes);
    const tokens = [1, 20, 30, 40, 7, 3];
    let err = '';
    const code = await main(['logits', '--model', model, '--tokens', tokens.join(','), '--out', out, '--engine', 'wasm'], { stdout: { write: () => true }, stderr: { write: (s: string) => ((err += s), true) } });
    expect(code, err).toBe(EXIT_OK);
    expect(err).toMatch(/wasm (baseline|relaxed), weights as stored: \d+ Q4_0\)/);
    const got = new Float32Array(new Uint8Array(readFileSync(out)).buffer);
    const engine = await createWasmEngine({ gguf: bytesSource(bytes) });
    expectBitwiseEqual('cli vs engine', got, await engine.forward(tokens, { allLogits: true }));
    const ref = await loadModel({ gguf: bytesSource(bytes) });
    expectClose('cli vs oracle', got, forward(ref.weights, ref.dims, newState(ref.dims), tokens, { allLogits: true }), 4e-2);
  });

  it('synth --type Q4_K_M, then logits at the stored types (default) or converted (--weights q8_0 | f32); --weights needs the wasm engine', async () => {
    const model = join(dir, 'kmix.q4_k_m.gguf');
    const run = async (...argv: string[]) => {
      let err = '';
      const code = await main(argv, { stdout: { write: () => true }, stderr: { write: (s: string) => ((err += s), true) } });
      return { code, err };
    };
    const made = await run('synth', '--shape', 'kmix-d256', '--type', 'q4_k_m', '--out', model);
    expect(made.code, made.err).toBe(EXIT_OK);
    expect(readFileSync(model)).toEqual(Buffer.from(concatParts(synthGguf(synthModel(KQUANT_SHAPE), 'Q4_K_M'))));
    const tokens = '1,20,30,40,7,3';
    const native = await run('logits', '--model', model, '--tokens', tokens, '--out', join(dir, 'k1.f32'), '--engine', 'wasm');
    expect(native.code, native.err).toBe(EXIT_OK);
    expect(native.err).toMatch(/weights as stored: 15 Q4_K, 3 Q6_K\)/);
    const q8 = await run('logits', '--model', model, '--tokens', tokens, '--out', join(dir, 'k2.f32'), '--engine', 'wasm', '--weights', 'q8_0');
    expect(q8.err).toMatch(/weights converted: 15 Q4_K -> Q8_0, 3 Q6_K -> Q8_0\)/);
    const f32 = await run('logits', '--model', model, '--tokens', tokens, '--out', join(dir, 'k3.f32'), '--engine', 'wasm', '--weights', 'F32');
    expect(f32.err).toMatch(/weights converted: 15 Q4_K -> F32, 3 Q6_K -> F32\)/);
    const ref = await run('logits', '--model', model, '--tokens', tokens, '--out', join(dir, 'k4.f32'), '--weights', 'f32');
    expect([ref.code, ref.err]).toEqual([EXIT_USAGE, expect.stringMatching(/--weights applies to the wasm engine/)]);
    const bad = await run('logits', '--model', model, '--tokens', tokens, '--out', join(dir, 'k5.f32'), '--engine', 'wasm', '--weights', 'q5_0');
    expect([bad.code, bad.err]).toEqual([EXIT_USAGE, expect.stringMatching(/--weights 'q5_0' is not one of auto, q8_0, q4_0, f32/)]);
  });
});
