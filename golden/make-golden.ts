// `npm run golden`: regenerates every golden file from llama.cpp / ggml (installed on demand into golden/.deps).
//   golden/quant/   ggml's own quantizer output and dequantized values for Q4_0, Q8_0, Q4_K, Q5_K, Q6_K, Q8_K blocks,
//                   and llama_model_quantize's per-tensor types and bytes for the synth presets (mixes.json)
//   golden/logits/  llama.cpp's per-position logits for the seeded tiny models of golden/cases.ts
//   golden/long/    llama.cpp's logits at positions up to 3599 of one long sequence (golden/long-file.ts)
// The tests read only the committed files; they never need llama.cpp.

import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeLogitsGolden } from './logits-golden.js';
import { makeLongGolden } from './long-golden.js';
import { makeMixGolden } from './mix-golden.js';
import { makeQuantGolden, QUANT_GOLDEN_DIR } from './quant-golden.js';
import { makeTokenizerGolden } from './tokenizer-golden.js';

const goldenDir = dirname(fileURLToPath(import.meta.url));
const t0 = Date.now();
await makeQuantGolden(QUANT_GOLDEN_DIR);
await makeMixGolden();
await makeTokenizerGolden(goldenDir);
const m = await makeLogitsGolden(goldenDir);
await makeLongGolden(goldenDir);
console.log(`golden: ${m.cases.length} logits cases from ${m.generator.package}, llama.cpp ${m.generator.llamaCppRelease}, in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
