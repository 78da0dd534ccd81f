// Both engines against llama.cpp at long positions (golden/long/, made by `npm run golden`): the seeded
// LONG_SHAPE model over 3600 tokens in one context, compared at the kept positions (up to 3599) with the same
// named tolerances and top-1 agreement as the short goldens. This is where RoPE at large positions and the f16 KV
// cache's rounding over thousands of rows would show. The WASM engine runs its default f16 cache (as llama.cpp)
// and the f32 one, on every case; the oracle (f32 cache) on the F32 file.

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeLongGolden, LONG_SHAPE, longPositions, longSequence } from '../golden/long-file.js';
import type { LongManifest } from '../golden/long-golden.js';
import { bytesSource } from '../reference/bytes.js';
import { concatParts } from '../reference/gguf.js';
import { loadModel } from '../reference/load.js';
import { forward, newState } from '../reference/model.js';
import { createWasmCore } from '../src/engine/wasm-core.js';
import { synthGguf, synthModel } from '../src/synth/random-model.js';
import { argmax, describe as describeDiff, diff, LLAMACPP_MIN_TOP1_AGREEMENT } from './compare.js';
import { GOLDEN_DIR, LLAMACPP_TOLERANCE } from './golden-cases.js';

const manifest = JSON.parse(readFileSync(join(GOLDEN_DIR, 'long', 'manifest.json'), 'utf8')) as LongManifest;
const STALE = 'the goldens are stale; run `npm run golden`';
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const measured: string[] = [];
afterAll(() => console.log(`long context vs llama.cpp (${manifest.generator.package}):\n${measured.join('\n')}`));

describe('long positions vs llama.cpp goldens', () => {
  it('the manifest covers the long shape, its sequence and positions as this code makes them', () => {
    expect(manifest.shape).toBe(LONG_SHAPE.name);
    for (const c of manifest.cases) {
      const g = decodeLongGolden(readFileSync(join(GOLDEN_DIR, c.file)), c.file);
      expect(g.tokens, STALE).toEqual(longSequence());
      expect(g.positions, STALE).toEqual(longPositions());
    }
  });

  for (const c of manifest.cases) {
    it(`${c.id}: the WASM engine (f16 and f32 KV cache)${c.toleranceClass === 'float' ? ' and the oracle' : ''} at positions up to ${c.tokens - 1}`, async () => {
      const gguf = concatParts(synthGguf(synthModel(LONG_SHAPE), c.fileType as never));
      if (sha256(gguf) !== c.modelSha256) throw new Error(`${c.id}: the model maker now writes a different file: ${STALE}`);
      const bytes = readFileSync(join(GOLDEN_DIR, c.file));
      if (sha256(bytes) !== c.fileSha256) throw new Error(`${c.file} does not match its manifest entry: ${STALE}`);
      const g = decodeLongGolden(bytes, c.file);
      const tol = LLAMACPP_TOLERANCE[c.toleranceClass];
      const check = (who: string, all: Float32Array) => {
        let worst = 0, worstAt = 0, agree = 0;
        g.positions.forEach((p, k) => {
          const ours = all.subarray(p * g.V, (p + 1) * g.V), ref = g.logits.subarray(k * g.V, (k + 1) * g.V);
          const d = diff(ours, ref);
          if (!(d.maxAbs <= tol)) throw new Error(describeDiff(`${c.id} ${who} position ${p}`, d, tol));
          if (d.maxAbs > worst) (worst = d.maxAbs), (worstAt = p);
          agree += argmax(ours) === argmax(ref) ? 1 : 0;
        });
        const top1 = agree / g.positions.length;
        measured.push(`  ${c.id.padEnd(16)} ${who.padEnd(22)} max|Δ| ${worst.toExponential(2)} at position ${worstAt} (tol ${tol})  top-1 ${(top1 * 100).toFixed(1)}% of ${g.positions.length}`);
        expect(top1, `${c.id} ${who}: top-1 agreement`).toBeGreaterThanOrEqual(LLAMACPP_MIN_TOP1_AGREEMENT);
      };
      const weights = c.toleranceClass === 'float' ? 'f32' : 'auto';
      for (const kvCache of ['f16', 'f32'] as const) {
        const core = await createWasmCore({ gguf: bytesSource(gguf, `${c.id}.gguf`) }, { weights, kvCache, prefillChunk: 256 });
        check(`wasm, ${kvCache} KV cache`, core.forward(g.tokens, { allLogits: true }));
      }
      if (c.toleranceClass === 'float') {
        // (the oracle's cost is attention in f64 over 3600 positions: run once; its Q8_0 path is the short goldens')
        const model = await loadModel({ gguf: bytesSource(gguf, `${c.id}.gguf`) });
        check('oracle (f32 cache)', forward(model.weights, model.dims, newState(model.dims), g.tokens, { allLogits: true }));
      }
    }, 300_000);
  }
});
