// Reading the llama.cpp logits goldens (written by golden/logits-golden.ts). Plain bytes in, no Node APIs, so
// tests in any runtime can use it.

import { GOLDEN_FORMAT_VERSION } from './cases.js';

export const LOGITS_MAGIC = 0x474d464c; // "LFMG"

export interface LogitsGoldenSequence {
  tokens: number[];
  /** (T, V) row-major; row i = next-token logits after tokens[0..i]. */
  logits: Float32Array;
}

/** Decodes a golden file; `what` names it in errors (a stale file says how to regenerate it). */
export function decodeLogitsGolden(bytes: Uint8Array, what: string): { V: number; sequences: LogitsGoldenSequence[] } {
  const copy = bytes.slice(); // aligned
  const u32 = new Uint32Array(copy.buffer, 0, copy.byteLength >>> 2);
  const f32 = new Float32Array(copy.buffer, 0, copy.byteLength >>> 2);
  if (u32[0] !== LOGITS_MAGIC) throw new Error(`${what}: not a logits golden file (bad magic); run \`npm run golden\``);
  if (u32[1] !== GOLDEN_FORMAT_VERSION) {
    throw new Error(`${what}: golden format version ${u32[1]}, this code reads ${GOLDEN_FORMAT_VERSION}; run \`npm run golden\` to regenerate`);
  }
  const nSeq = u32[2];
  const V = u32[3];
  let o = 4;
  const sequences: LogitsGoldenSequence[] = [];
  for (let s = 0; s < nSeq; s++) {
    const T = u32[o++];
    const tokens = Array.from(u32.subarray(o, o + T));
    o += T;
    sequences.push({ tokens, logits: f32.slice(o, o + T * V) });
    o += T * V;
  }
  if (o * 4 !== copy.byteLength) throw new Error(`${what}: ${copy.byteLength} bytes, expected ${o * 4}; run \`npm run golden\``);
  return { V, sequences };
}
