// The long-context logits goldens (golden/long/, written by golden/long-golden.ts): llama.cpp's logits for one
// token sequence of thousands of positions, kept only at a subset of positions so the file stays small. Plain
// bytes in and out, no Node APIs, so tests in any runtime can read them.
//
// File format (little-endian), version LONG_FORMAT_VERSION:
//   u32 magic "LFML" (0x4c4d464c)  u32 version  u32 V  u32 T  T x u32 token ids
//   u32 P  P x u32 positions (ascending, < T)  P x V f32 logits (row p = next-token logits after tokens[0..p])

import type { SynthSpec } from '../src/synth/random-model.js';
import { Rng } from '../src/synth/rng.js';

export const LONG_MAGIC = 0x4c4d464c; // "LFML"
/** Bump when the layout changes; the test refuses other versions. */
export const LONG_FORMAT_VERSION = 1;

/**
 * The long-context model: every attention layer with head_dim 64 (RoPE's slowest frequencies as in LFM2.5) and
 * GQA 2, a conv layer in front; small enough that the fp32 oracle reads 3600 tokens in seconds.
 */
export const LONG_SHAPE: SynthSpec = {
  name: 'long-d128', seed: 606, hidden_size: 128, num_hidden_layers: 3, attn_layers: [1, 2], num_attention_heads: 2, num_key_value_heads: 1,
  ffn: 256, vocab_size: 320, max_position_embeddings: 8192,
};
/** File types of the long goldens, with their tolerance class (tests/golden-cases.ts LLAMACPP_TOLERANCE). */
export const LONG_FILE_TYPES = [['F32', 'float'], ['Q8_0', 'q8_0']] as const;
/** Tokens in the sequence: past 14 attention blocks of 256, not a multiple of one. */
export const LONG_TOKENS = 3600;

/** The sequence: BOS then seeded ordinary ids (control tokens excluded). */
export function longSequence(spec: SynthSpec = LONG_SHAPE, n = LONG_TOKENS): number[] {
  const r = new Rng(spec.seed ^ 0x10e6);
  return [1, ...Array.from({ length: n - 1 }, () => 14 + r.int(spec.vocab_size - 14))];
}

/** Positions whose logits are kept: every 90th, the first few and the last few (RoPE and cache rounding grow with position). */
export function longPositions(n = LONG_TOKENS): number[] {
  const s = new Set<number>([0, 1, 2, 3]);
  for (let p = 90; p < n; p += 90) s.add(p);
  for (let p = n - 4; p < n; p++) s.add(p);
  return [...s].sort((a, b) => a - b);
}

export function encodeLongGolden(V: number, tokens: number[], positions: number[], logits: Float32Array): Uint8Array {
  const words = 5 + tokens.length + positions.length + logits.length;
  const buf = new ArrayBuffer(words * 4);
  const u32 = new Uint32Array(buf);
  let o = 0;
  u32.set([LONG_MAGIC, LONG_FORMAT_VERSION, V, tokens.length], o);
  o += 4;
  u32.set(tokens, o);
  o += tokens.length;
  u32[o++] = positions.length;
  u32.set(positions, o);
  o += positions.length;
  new Float32Array(buf, o * 4, logits.length).set(logits);
  return new Uint8Array(buf);
}

/** Decodes a long golden file; `what` names it in errors (a stale file says how to regenerate it). */
export function decodeLongGolden(bytes: Uint8Array, what: string): { V: number; tokens: number[]; positions: number[]; logits: Float32Array } {
  const copy = bytes.slice(); // aligned
  const u32 = new Uint32Array(copy.buffer, 0, copy.byteLength >>> 2);
  if (u32[0] !== LONG_MAGIC) throw new Error(`${what}: not a long-context golden file (bad magic); run \`npm run golden\``);
  if (u32[1] !== LONG_FORMAT_VERSION) throw new Error(`${what}: format version ${u32[1]}, this code reads ${LONG_FORMAT_VERSION}; run \`npm run golden\``);
  const V = u32[2], T = u32[3];
  let o = 4;
  const tokens = Array.from(u32.subarray(o, o + T));
  o += T;
  const P = u32[o++];
  const positions = Array.from(u32.subarray(o, o + P));
  o += P;
  const logits = new Float32Array(copy.buffer, o * 4, P * V).slice();
  if ((o + P * V) * 4 !== copy.byteLength) throw new Error(`${what}: ${copy.byteLength} bytes, expected ${(o + P * V) * 4}; run \`npm run golden\``);
  return { V, tokens, positions, logits };
}
