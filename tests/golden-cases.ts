// The llama.cpp logits goldens as test material: the manifest, each case's model rebuilt from its seed (checked
// against the manifest's sha256, so a changed model maker reads as "stale goldens", not as a numeric failure),
// the golden logits, and the comparison every engine is held to (per-position max |Δ| and top-1 agreement).

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { GOLDEN_SHAPES, KQUANT_BASE_TYPE, KQUANT_SHAPE, KQUANT_TENSORS, type ToleranceClass } from '../golden/cases.js';
import { decodeLogitsGolden, type LogitsGoldenSequence } from '../golden/logits-file.js';
import type { LogitsGoldenCase, LogitsManifest } from '../golden/logits-golden.js';
import { bytesSource } from '../reference/bytes.js';
import { concatParts, readGguf, readGgufTensorBytes } from '../reference/gguf.js';
import { synthGguf, synthModel } from '../src/synth/random-model.js';
import {
  argmax,
  describe as describeDiff,
  diff,
  LLAMACPP_MAX_ABS_BF16,
  LLAMACPP_MAX_ABS_FLOAT,
  LLAMACPP_MAX_ABS_KQUANT,
  LLAMACPP_MAX_ABS_Q4_0,
  LLAMACPP_MAX_ABS_Q8_0,
  LLAMACPP_MAX_NMSE_BF16,
  LLAMACPP_MAX_NMSE_FLOAT,
  LLAMACPP_MAX_NMSE_KQUANT,
  LLAMACPP_MAX_NMSE_QUANT,
} from './compare.js';

export const GOLDEN_DIR = join(import.meta.dirname, '..', 'golden');
export const logitsManifest = JSON.parse(readFileSync(join(GOLDEN_DIR, 'logits', 'manifest.json'), 'utf8')) as LogitsManifest;
export const LLAMACPP_TOLERANCE: Record<ToleranceClass, number> = {
  float: LLAMACPP_MAX_ABS_FLOAT, bf16: LLAMACPP_MAX_ABS_BF16, q8_0: LLAMACPP_MAX_ABS_Q8_0, q4_0: LLAMACPP_MAX_ABS_Q4_0, kquant: LLAMACPP_MAX_ABS_KQUANT,
};
export const LLAMACPP_NMSE_TOLERANCE: Record<ToleranceClass, number> = {
  float: LLAMACPP_MAX_NMSE_FLOAT, bf16: LLAMACPP_MAX_NMSE_BF16, q8_0: LLAMACPP_MAX_NMSE_QUANT, q4_0: LLAMACPP_MAX_NMSE_QUANT, kquant: LLAMACPP_MAX_NMSE_KQUANT,
};

/** The NMSE a case is held to (tests/compare.ts says what each bounds and what was measured). */
export function nmseTolerance(c: LogitsGoldenCase): number {
  return c.kquantFile ? LLAMACPP_MAX_NMSE_KQUANT : LLAMACPP_NMSE_TOLERANCE[c.toleranceClass];
}
const STALE = 'the goldens are stale; run `npm run golden`';
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** The stock-style mixed file: our Q4_0 model with the committed ggml-made K-quant tensors swapped in. */
async function kquantModel(file: string): Promise<Uint8Array> {
  const src = bytesSource(readFileSync(join(GOLDEN_DIR, file)), file);
  const stored = await readGguf(src);
  const overrides = new Map<string, { type: number; data: Uint8Array }>();
  for (const t of stored.tensors) overrides.set(t.name, { type: t.type, data: await readGgufTensorBytes(stored, src, t.name) });
  const want = Object.keys(KQUANT_TENSORS).sort();
  if ([...overrides.keys()].sort().join() !== want.join() || want.some((n) => overrides.get(n)!.type !== KQUANT_TENSORS[n])) {
    throw new Error(`${file}: its tensors or types differ from golden/cases.ts KQUANT_TENSORS: ${STALE}`);
  }
  return concatParts(synthGguf(synthModel(KQUANT_SHAPE), KQUANT_BASE_TYPE, overrides));
}

/** The GGUF a case was made from, rebuilt from its seed; throws when it is not the file the goldens came from. */
export async function goldenModelBytes(c: LogitsGoldenCase): Promise<Uint8Array> {
  const spec = [...GOLDEN_SHAPES, KQUANT_SHAPE].find((s) => s.name === c.shape);
  if (!spec) throw new Error(`${c.id}: shape ${c.shape} is not in golden/cases.ts: ${STALE}`);
  const gguf = c.kquantFile ? await kquantModel(c.kquantFile) : concatParts(synthGguf(synthModel(spec), c.fileType as never));
  const sha = sha256(gguf);
  if (sha !== c.modelSha256) {
    throw new Error(`${c.id}: the model maker now writes a different file (sha256 ${sha.slice(0, 12)}…, golden made from ${c.modelSha256.slice(0, 12)}…): ${STALE}`);
  }
  return gguf;
}

/** The case's golden logits, checked against the manifest. */
export function goldenLogits(c: LogitsGoldenCase): { V: number; sequences: LogitsGoldenSequence[] } {
  const bytes = readFileSync(join(GOLDEN_DIR, c.file));
  if (sha256(bytes) !== c.fileSha256) throw new Error(`${c.file} does not match its manifest entry: ${STALE}`);
  return decodeLogitsGolden(bytes, c.file);
}

/**
 * Runs every golden sequence through `allLogits` (tokens -> (T, V) logits from a fresh state) and compares each
 * position with llama.cpp's. Throws, naming case, sequence and position, when max |Δ| exceeds the case's
 * tolerance, and naming the case when the NMSE over all its positions exceeds the case's NMSE tolerance; returns
 * the worst |Δ|, the NMSE and the share of positions whose argmax agrees.
 */
export function compareToGolden(
  c: LogitsGoldenCase,
  allLogits: (tokens: number[]) => Float32Array,
): { worst: number; nmse: number; top1: number; positions: number; tol: number; nmseTol: number } {
  const golden = goldenLogits(c);
  const tol = LLAMACPP_TOLERANCE[c.toleranceClass];
  const nmseTol = nmseTolerance(c);
  const V = golden.V;
  let worst = 0;
  let agree = 0;
  let positions = 0;
  let se = 0; // sum of squared differences, all positions
  let sr = 0; // sum of squared golden logits
  for (const [s, seq] of golden.sequences.entries()) {
    const ours = allLogits(seq.tokens);
    if (ours.length !== seq.tokens.length * V) throw new Error(`${c.id}: got ${ours.length} logits, expected ${seq.tokens.length} x ${V}`);
    for (let t = 0; t < seq.tokens.length; t++) {
      const row = ours.subarray(t * V, (t + 1) * V);
      const ref = seq.logits.subarray(t * V, (t + 1) * V);
      const r = diff(row, ref);
      if (!(r.maxAbs <= tol)) throw new Error(describeDiff(`${c.id} sequence ${s} position ${t} (lm_head logits)`, r, tol));
      worst = Math.max(worst, r.maxAbs);
      for (let i = 0; i < V; i++) {
        se += (row[i] - ref[i]) ** 2;
        sr += ref[i] ** 2;
      }
      agree += argmax(row) === argmax(ref) ? 1 : 0;
      positions++;
    }
  }
  const nmse = se / sr;
  if (!(nmse <= nmseTol)) {
    throw new Error(`${c.id}: NMSE ${nmse.toExponential(3)} over ${positions} positions exceeds the tolerance ${nmseTol} (max |Δ| ${worst.toExponential(3)} was within ${tol})`);
  }
  return { worst, nmse, top1: agree / positions, positions, tol, nmseTol };
}
