// `lfm synth --type Q4_K_M | Q5_K_M | Q6_K | BF16` against llama.cpp's own quantizer: golden/quant/mixes.json holds
// what llama_model_quantize (libllama, golden/mix-golden.ts) made of our F32 synth models, tensor by tensor.
//   - the per-tensor type choice (llama_tensor_get_type for these presets) must be the same for every tensor, on
//     lfm2-pattern (the real 16-layer pattern) and kmix-d256, and the full-size shape must get lfm2-pattern's;
//   - the bytes must be the same (sha256 per tensor) on kmix-d256: our K-quant quantizers == llama-quantize's.
// Plus the documented deviation on shapes whose rows are not multiples of 256 (Q8_0 where llama.cpp writes Q5_0/Q5_1).

import { describe, expect, it } from 'vitest';
import { MIX_GOLDEN_REGENERATE, readMixGolden, sha256 } from '../golden/mix-golden.js';
import { bytesSource } from '../reference/bytes.js';
import { concatParts, readGguf, readGgufTensorBytes } from '../reference/gguf.js';
import { GgmlType, ggmlTypeName } from '../reference/ggml-type.js';
import { synthGguf, synthModel, synthTensorTypes, type SynthFileType } from '../src/synth/random-model.js';
import { FULL_SHAPE_NAME, SYNTH_SHAPES } from '../src/synth/shapes.js';

const golden = readMixGolden();
const shape = (name: string) => SYNTH_SHAPES.find((s) => s.name === name)!;
/** Shapes whose bytes are compared too (the JS quantizers take ~1 s per file here, ~15 s on lfm2-pattern). */
const BYTES_CHECKED = new Set(['kmix-d256']);

describe('synth presets vs llama_model_quantize (golden/quant/mixes.json)', () => {
  it('covers Q4_K_M, Q5_K_M, Q6_K and BF16 on lfm2-pattern and kmix-d256', () => {
    const got = golden.cases.map((c) => `${c.shape} ${c.preset}`).sort();
    expect(got).toEqual(['kmix-d256', 'lfm2-pattern'].flatMap((s) => ['BF16', 'Q4_K_M', 'Q5_K_M', 'Q6_K'].map((p) => `${s} ${p}`)).sort());
  });

  for (const c of golden.cases) {
    it(`${c.shape} ${c.preset}: the same type for every tensor${BYTES_CHECKED.has(c.shape) ? ', the same bytes' : ''}`, async () => {
      const m = synthModel(shape(c.shape));
      const input = concatParts(synthGguf(m, 'F32'));
      if (sha256(input) !== c.inputSha256) throw new Error(`${c.shape}: the model maker's F32 file changed; the golden is stale: ${MIX_GOLDEN_REGENERATE}`);
      const types = synthTensorTypes(m, c.preset as SynthFileType);
      expect(new Map([...types].map(([n, t]) => [n, ggmlTypeName(t)]))).toEqual(new Map(c.tensors.map((t) => [t.name, t.typeName])));
      if (!BYTES_CHECKED.has(c.shape)) return;
      const bytes = concatParts(synthGguf(m, c.preset as SynthFileType));
      const src = bytesSource(bytes, `${c.shape}.${c.preset}`);
      const g = await readGguf(src);
      for (const t of c.tensors) {
        expect(sha256(await readGgufTensorBytes(g, src, t.name)), `${t.name} (${t.typeName}) bytes`).toBe(t.sha256);
      }
    });
  }

  it("the full-size shape gets lfm2-pattern's type for every matrix (same layers, every row a multiple of 256)", () => {
    const full = synthModel(shape(FULL_SHAPE_NAME)), pattern = synthModel(shape('lfm2-pattern'));
    for (const preset of ['Q4_K_M', 'Q5_K_M', 'Q6_K'] as const) {
      expect(synthTensorTypes(full, preset), preset).toEqual(synthTensorTypes(pattern, preset));
    }
    // and what that is: Q6_K embedding, attn_v of the 3rd and 6th attention layers (8, 14), ffn_down of layers 0, 1, 4, 7,
    // 10, 13, 14, 15 (use_more_bits over 16 layers); the rest Q4_K
    const t = synthTensorTypes(full, 'Q4_K_M');
    const q6 = [...t].filter(([, v]) => v === GgmlType.Q6_K).map(([n]) => n).sort();
    expect(q6).toEqual([
      'token_embd.weight', 'blk.8.attn_v.weight', 'blk.14.attn_v.weight',
      ...[0, 1, 4, 7, 10, 13, 14, 15].map((l) => `blk.${l}.ffn_down.weight`),
    ].sort());
  });

  it('shapes with rows that are not multiples of 256 get Q8_0 where llama.cpp would fall back to Q5_0 / Q5_1 (unreadable here)', () => {
    const m = synthModel(shape('d96-gqa3'));
    const t = synthTensorTypes(m, 'Q4_K_M');
    expect(t.get('token_embd.weight')).toBe(GgmlType.Q8_0); // rows of 96: llama.cpp's own choice for the output
    expect(t.get('blk.0.shortconv.in_proj.weight')).toBe(GgmlType.Q8_0); // llama.cpp: Q5_0
    expect(t.get('blk.0.ffn_down.weight')).toBe(GgmlType.Q4_K); // rows of 256 (the FFN width): a K-quant again
    expect(t.get('blk.0.shortconv.conv.weight')).toBe(GgmlType.F32);
  });
});
