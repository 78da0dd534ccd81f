// The WASM engine against llama.cpp's logits (golden/logits/, made by `npm run golden`), with the same
// tolerances and top-1 agreement the oracle is held to in golden-llamacpp.test.ts. F32 / F16 files run with f32
// weights; Q8_0 / Q4_0 natively; the stock-style K-quant file with its K-quants converted to Q8_0 at load.

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { GOLDEN_SHAPES, KQUANT_BASE_TYPE, KQUANT_SHAPE, type ToleranceClass } from '../golden/cases.js';
import { decodeLogitsGolden } from '../golden/logits-file.js';
import type { LogitsManifest } from '../golden/logits-golden.js';
import { bytesSource } from '../reference/bytes.js';
import { concatParts, readGguf, readGgufTensorBytes } from '../reference/gguf.js';
import { synthGguf, synthModel } from '../src/synth/random-model.js';
import { createWasmEngine } from '../src/engine/wasm-engine.js';
import {
  argmax,
  diff,
  describe as describeDiff,
  LLAMACPP_MAX_ABS_FLOAT,
  LLAMACPP_MAX_ABS_Q4_0,
  LLAMACPP_MAX_ABS_Q8_0,
  LLAMACPP_MIN_TOP1_AGREEMENT,
} from './compare.js';

const GOLDEN_DIR = join(import.meta.dirname, '..', 'golden');
const manifest = JSON.parse(readFileSync(join(GOLDEN_DIR, 'logits', 'manifest.json'), 'utf8')) as LogitsManifest;
const TOLERANCE: Record<ToleranceClass, number> = { float: LLAMACPP_MAX_ABS_FLOAT, q8_0: LLAMACPP_MAX_ABS_Q8_0, q4_0: LLAMACPP_MAX_ABS_Q4_0 };
const measured: string[] = [];

async function kquantModel(file: string): Promise<Uint8Array> {
  const src = bytesSource(readFileSync(join(GOLDEN_DIR, file)), file);
  const stored = await readGguf(src);
  const overrides = new Map<string, { type: number; data: Uint8Array }>();
  for (const t of stored.tensors) overrides.set(t.name, { type: t.type, data: await readGgufTensorBytes(stored, src, t.name) });
  return concatParts(synthGguf(synthModel(KQUANT_SHAPE), KQUANT_BASE_TYPE, overrides));
}

afterAll(() => console.log(`wasm engine vs llama.cpp (${manifest.generator.package}):\n${measured.join('\n')}`));

describe('wasm engine vs llama.cpp goldens', () => {
  for (const c of manifest.cases) {
    it(c.id, async () => {
      const spec = [...GOLDEN_SHAPES, KQUANT_SHAPE].find((s) => s.name === c.shape)!;
      const gguf = c.kquantFile ? await kquantModel(c.kquantFile) : concatParts(synthGguf(synthModel(spec), c.fileType as never));
      expect(createHash('sha256').update(gguf).digest('hex'), `${c.id}: stale goldens; run \`npm run golden\``).toBe(c.modelSha256);
      const golden = decodeLogitsGolden(readFileSync(join(GOLDEN_DIR, c.file)), c.file);
      const engine = await createWasmEngine({ gguf: bytesSource(gguf, `${c.id}.gguf`) }, { weights: c.toleranceClass === 'float' ? 'f32' : 'auto' });
      const V = engine.vocabSize;
      expect(golden.V).toBe(V);
      const tol = TOLERANCE[c.toleranceClass];
      let worst = 0, agree = 0, positions = 0;
      for (const [s, seq] of golden.sequences.entries()) {
        engine.reset();
        const ours = engine.forward(seq.tokens, { allLogits: true });
        for (let t = 0; t < seq.tokens.length; t++) {
          const row = ours.subarray(t * V, (t + 1) * V), ref = seq.logits.subarray(t * V, (t + 1) * V);
          const r = diff(row, ref);
          if (!(r.maxAbs <= tol)) throw new Error(describeDiff(`${c.id} sequence ${s} position ${t} (lm_head logits)`, r, tol));
          worst = Math.max(worst, r.maxAbs);
          agree += argmax(row) === argmax(ref) ? 1 : 0;
          positions++;
        }
      }
      const top1 = agree / positions;
      measured.push(`  ${c.id.padEnd(24)} ${engine.build} max|Δ| ${worst.toExponential(2)} (tol ${tol})  top-1 ${(top1 * 100).toFixed(1)}% of ${positions}`);
      expect(top1).toBeGreaterThanOrEqual(LLAMACPP_MIN_TOP1_AGREEMENT);
    });
  }
});
