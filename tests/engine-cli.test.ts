// `lfm logits --engine wasm`: the file holds the WASM engine's logits (T, V), bitwise what the engine API gives,
// and close to the oracle's.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { GOLDEN_SHAPES } from '../golden/cases.js';
import { bytesSource } from '../reference/bytes.js';
import { concatParts } from '../reference/gguf.js';
import { loadModel } from '../reference/load.js';
import { forward, newState } from '../reference/model.js';
import { EXIT_OK, main } from '../src/cli/main.js';
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
    expect(err).toMatch(/wasm (baseline|relaxed) \(Q4_0 -> Q4_0\)/);
    const got = new Float32Array(new Uint8Array(readFileSync(out)).buffer);
    const engine = await createWasmEngine({ gguf: bytesSource(bytes) });
    expectBitwiseEqual('cli vs engine', got, await engine.forward(tokens, { allLogits: true }));
    const ref = await loadModel({ gguf: bytesSource(bytes) });
    expectClose('cli vs oracle', got, forward(ref.weights, ref.dims, newState(ref.dims), tokens, { allLogits: true }), 4e-2);
  });
});
