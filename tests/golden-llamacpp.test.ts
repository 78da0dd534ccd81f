// The oracle against llama.cpp: per-position logits of the seeded tiny models (golden/cases.ts) in F32, F16, BF16,
// Q8_0, Q4_0 and the K-quant mixes Q4_K_M, Q5_K_M, Q6_K, produced by llama.cpp through node-llama-cpp (`npm run golden`). This is the independent check
// the whole project stands on. It needs no llama.cpp at test time: the goldens are committed, and the models are
// rebuilt from their seeds (tests/golden-cases.ts checks their sha256 against the manifest first).

import { afterAll, describe, expect, it } from 'vitest';
import { caseId, GOLDEN_CASES, KQUANT_CASE_ID } from '../golden/cases.js';
import { bytesSource } from '../reference/bytes.js';
import { loadModel } from '../reference/load.js';
import { forward, newState } from '../reference/model.js';
import { LLAMACPP_MIN_TOP1_AGREEMENT } from './compare.js';
import { compareToGolden, goldenModelBytes, logitsManifest } from './golden-cases.js';

const measured: string[] = [];
afterAll(() => {
  // The figures for the closing note / README: max |Δ| and top-1 agreement per case.
  const g = logitsManifest.generator;
  console.log(`oracle vs llama.cpp (${g.package}, llama.cpp ${g.llamaCppRelease}):\n${measured.join('\n')}`);
});

describe('oracle vs llama.cpp goldens', () => {
  it('covers every shape x file type, the K-quant mixes, and the Q4_0 file with ggml-made K-quant tensors', () => {
    const want = [...GOLDEN_CASES.map((c) => caseId(c.spec, c.type)), KQUANT_CASE_ID].sort();
    expect(logitsManifest.cases.map((c) => c.id).sort()).toEqual(want);
  });

  for (const c of logitsManifest.cases) {
    it(c.id, async () => {
      const model = await loadModel({ gguf: bytesSource(await goldenModelBytes(c), `${c.id}.gguf`) });
      const r = compareToGolden(c, (tokens) => forward(model.weights, model.dims, newState(model.dims), tokens, { allLogits: true }));
      measured.push(`  ${c.id.padEnd(24)} max|Δ| ${r.worst.toExponential(2)} (tol ${r.tol})  NMSE ${r.nmse.toExponential(2)} (tol ${r.nmseTol})  top-1 ${(r.top1 * 100).toFixed(1)}% of ${r.positions}`);
      expect(r.top1, `${c.id}: top-1 agreement with llama.cpp`).toBeGreaterThanOrEqual(LLAMACPP_MIN_TOP1_AGREEMENT);
    });
  }
});
