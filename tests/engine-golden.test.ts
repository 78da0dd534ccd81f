// The WASM engine against llama.cpp's logits (golden/logits/, made by `npm run golden`), with the same
// tolerances and top-1 agreement the oracle is held to in golden-llamacpp.test.ts. Every file runs as users get it
// (weights 'auto'): each matrix at its stored type (F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q5_K, Q6_K), with the
// activations in the form ggml pairs with that type (f16 / bf16 rounding, Q8_0, Q8_K).

import { afterAll, describe, expect, it } from 'vitest';
import { bytesSource } from '../reference/bytes.js';
import { createWasmCore } from '../src/engine/wasm-core.js';
import { LLAMACPP_MIN_TOP1_AGREEMENT } from './compare.js';
import { compareToGolden, goldenModelBytes, logitsManifest } from './golden-cases.js';

const measured: string[] = [];
afterAll(() => console.log(`wasm engine vs llama.cpp (${logitsManifest.generator.package}):\n${measured.join('\n')}`));

describe('wasm engine vs llama.cpp goldens', () => {
  for (const c of logitsManifest.cases) {
    it(c.id, async () => {
      const gguf = await goldenModelBytes(c);
      const engine = await createWasmCore({ gguf: bytesSource(gguf, `${c.id}.gguf`) });
      // no silent conversion: every matrix runs at its stored type
      for (const [name, l] of engine.weightLayouts) expect(l.split(' -> ')[1], name).toBe(l.split(' -> ')[0]);
      const r = compareToGolden(c, (tokens) => {
        engine.reset();
        return engine.forward(tokens, { allLogits: true });
      });
      measured.push(`  ${c.id.padEnd(24)} ${engine.build} max|Δ| ${r.worst.toExponential(2)} (tol ${r.tol})  NMSE ${r.nmse.toExponential(2)} (tol ${r.nmseTol})  top-1 ${(r.top1 * 100).toFixed(1)}% of ${r.positions}`);
      expect(r.top1).toBeGreaterThanOrEqual(LLAMACPP_MIN_TOP1_AGREEMENT);
    });
  }
});
