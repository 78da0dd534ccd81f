// The oracle against llama.cpp: per-position logits of the seeded tiny models (golden/cases.ts) in F32, F16,
// Q8_0 and Q4_0, produced by llama.cpp through node-llama-cpp (`npm run golden`). This is the independent check
// the whole project stands on. It needs no llama.cpp at test time: the goldens are committed, and the models are
// rebuilt from their seeds here, their sha256 checked against the manifest first.

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { caseId, GOLDEN_FILE_TYPES, GOLDEN_SHAPES, KQUANT_BASE_TYPE, KQUANT_CASE_ID, KQUANT_SHAPE, KQUANT_TENSORS, type ToleranceClass } from '../golden/cases.js';
import { decodeLogitsGolden } from '../golden/logits-file.js';
import type { LogitsManifest } from '../golden/logits-golden.js';
import { bytesSource } from '../reference/bytes.js';
import { concatParts, readGguf, readGgufTensorBytes } from '../reference/gguf.js';
import { loadModel } from '../reference/load.js';
import { forward, newState } from '../reference/model.js';
import { synthGguf, synthModel } from '../src/synth/random-model.js';
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

/** The stock-style mixed file: our Q4_0 model with the committed ggml-made K-quant tensors swapped in. */
async function kquantModel(file: string): Promise<Uint8Array> {
  const src = bytesSource(readFileSync(join(GOLDEN_DIR, file)), file);
  const stored = await readGguf(src);
  const overrides = new Map<string, { type: number; data: Uint8Array }>();
  for (const t of stored.tensors) overrides.set(t.name, { type: t.type, data: await readGgufTensorBytes(stored, src, t.name) });
  expect([...overrides.keys()].sort()).toEqual(Object.keys(KQUANT_TENSORS).sort());
  for (const [name, type] of Object.entries(KQUANT_TENSORS)) expect(overrides.get(name)!.type, name).toBe(type);
  return concatParts(synthGguf(synthModel(KQUANT_SHAPE), KQUANT_BASE_TYPE, overrides));
}

afterAll(() => {
  // The figures for the closing note / README: max |Δ| and top-1 agreement per case.
  console.log(`oracle vs llama.cpp (${manifest.generator.package}, llama.cpp ${manifest.generator.llamaCppRelease}):\n${measured.join('\n')}`);
});

describe('oracle vs llama.cpp goldens', () => {
  it('covers every shape x file type, and the stock-style K-quant file', () => {
    const want = [...GOLDEN_SHAPES.flatMap((s) => GOLDEN_FILE_TYPES.map((t) => caseId(s, t))), KQUANT_CASE_ID].sort();
    expect(manifest.cases.map((c) => c.id).sort()).toEqual(want);
  });

  for (const c of manifest.cases) {
    it(c.id, async () => {
      const spec = [...GOLDEN_SHAPES, KQUANT_SHAPE].find((s) => s.name === c.shape);
      if (!spec) throw new Error(`${c.id}: shape ${c.shape} is not in golden/cases.ts; run \`npm run golden\``);
      const gguf = c.kquantFile ? await kquantModel(c.kquantFile) : concatParts(synthGguf(synthModel(spec), c.fileType as never));
      const sha = createHash('sha256').update(gguf).digest('hex');
      if (sha !== c.modelSha256) {
        throw new Error(`${c.id}: the model maker now writes a different file (sha256 ${sha.slice(0, 12)}…, golden made from ${c.modelSha256.slice(0, 12)}…): the goldens are stale; run \`npm run golden\``);
      }
      const goldenBytes = readFileSync(join(GOLDEN_DIR, c.file));
      expect(createHash('sha256').update(goldenBytes).digest('hex'), `${c.file} does not match its manifest entry`).toBe(c.fileSha256);
      const golden = decodeLogitsGolden(goldenBytes, c.file);

      const model = await loadModel({ gguf: bytesSource(gguf, `${c.id}.gguf`) });
      const V = model.dims.V;
      expect(golden.V).toBe(V);
      const tol = TOLERANCE[c.toleranceClass];
      let worst = 0;
      let agree = 0;
      let positions = 0;
      for (const [s, seq] of golden.sequences.entries()) {
        const ours = forward(model.weights, model.dims, newState(model.dims), seq.tokens, { allLogits: true });
        for (let t = 0; t < seq.tokens.length; t++) {
          const row = ours.subarray(t * V, (t + 1) * V);
          const ref = seq.logits.subarray(t * V, (t + 1) * V);
          const r = diff(row, ref);
          if (!(r.maxAbs <= tol)) throw new Error(describeDiff(`${c.id} sequence ${s} position ${t} (lm_head logits)`, r, tol));
          worst = Math.max(worst, r.maxAbs);
          agree += argmax(row) === argmax(ref) ? 1 : 0;
          positions++;
        }
      }
      const top1 = agree / positions;
      measured.push(`  ${c.id.padEnd(20)} max|Δ| ${worst.toExponential(2)} (tol ${tol})  top-1 ${(top1 * 100).toFixed(1)}% of ${positions}`);
      expect(top1, `${c.id}: top-1 agreement with llama.cpp`).toBeGreaterThanOrEqual(LLAMACPP_MIN_TOP1_AGREEMENT);
    });
  }
});
