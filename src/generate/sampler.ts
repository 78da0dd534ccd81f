// Turning logits into the next token: penalties, temperature, top-k, top-p, min-p, and a seeded draw.
//
// Order and semantics follow Hugging Face transformers' logits processors (the model card's settings are HF
// settings): repetition_penalty -> temperature -> top_k -> top_p -> min_p, then a draw from the softmax.
// OpenAI's presence/frequency penalties are applied right after the repetition penalty (subtracting
// presence + count * frequency for every id seen in the generated text).
//   - repetition_penalty (HF): for every id present in the context (prompt and generated), a logit > 0 is divided
//     by the penalty and a logit <= 0 multiplied by it.
//   - temperature 0 means greedy (argmax); ties go to the lowest id.
//   - top_p keeps the smallest set of most likely tokens whose probability mass reaches top_p (at least one).
//   - min_p keeps tokens whose probability is at least min_p times the most likely token's.
// Ids the tokenizer marks unsampleable (padding rows beyond the real vocabulary) get -inf before anything else.
// The draw uses a seeded PRNG, so a seed gives bit-identical output on the same engine. A seed is any safe integer
// (|seed| < 2^53, as JSON numbers carry them exactly); a seed in [0, 2^32) is the PRNG's state as it is, any other
// is hashed into it (seedState), so 2^32 does not wrap around to 0. Other numbers are an InputError.

import { InputError } from '../../reference/errors.js';
import { describe } from '../chat/json.js';
import { Rng } from '../synth/rng.js';

export interface SamplingOptions {
  /** 0 = greedy. Default 1. */
  temperature?: number;
  /** 0 or undefined = off. */
  top_k?: number;
  /** 1 or undefined = off. */
  top_p?: number;
  /** 0 or undefined = off. */
  min_p?: number;
  /** 1 or undefined = off (HF semantics, over prompt + generated ids). */
  repetition_penalty?: number;
  /** OpenAI semantics, over generated ids. */
  presence_penalty?: number;
  frequency_penalty?: number;
  /** Seed for the draw (a safe integer); without one, a random seed is taken once per generation. */
  seed?: number;
}

function check(name: string, v: number | undefined, ok: (x: number) => boolean, what: string): void {
  if (v !== undefined && v !== null && (typeof v !== 'number' || !Number.isFinite(v) || !ok(v))) {
    throw new InputError(`sampling option ${name} = ${typeof v === 'number' ? v : describe(v)}: expected ${what}`, { param: name });
  }
}

/** Throws an InputError naming the option for any out-of-range value. */
export function validateSampling(o: SamplingOptions): void {
  check('temperature', o.temperature, (x) => x >= 0, 'a number >= 0');
  check('top_k', o.top_k, (x) => Number.isInteger(x) && x >= 0, 'an integer >= 0');
  check('top_p', o.top_p, (x) => x > 0 && x <= 1, 'a number in (0, 1]');
  check('min_p', o.min_p, (x) => x >= 0 && x <= 1, 'a number in [0, 1]');
  check('repetition_penalty', o.repetition_penalty, (x) => x > 0, 'a number > 0');
  check('presence_penalty', o.presence_penalty, (x) => x >= -2 && x <= 2, 'a number in [-2, 2]');
  check('frequency_penalty', o.frequency_penalty, (x) => x >= -2 && x <= 2, 'a number in [-2, 2]');
  check('seed', o.seed, (x) => Number.isSafeInteger(x), 'an integer of magnitude below 2^53');
}

export class Sampler {
  private readonly rng: Rng;
  private readonly o: SamplingOptions;
  private readonly sampleable: Uint8Array | null;
  /** Scratch: marks of the ids already penalized. */
  private seen: Uint8Array = new Uint8Array(0);
  /** Scratch: candidate ids. */
  private ids: Int32Array = new Int32Array(0);
  private scratch(n: number): Int32Array {
    if (this.ids.length < n) this.ids = new Int32Array(n);
    return this.ids;
  }

  constructor(options: SamplingOptions, sampleable: Uint8Array | null = null) {
    validateSampling(options);
    this.o = options;
    this.sampleable = sampleable;
    this.rng = new Rng(options.seed === undefined || options.seed === null ? Math.floor(Math.random() * 2 ** 32) : seedState(options.seed));
  }

  /**
   * Picks the next token. `context` is every id the model has seen (prompt + generated) for the repetition
   * penalty; `generated` the ids generated so far for presence/frequency penalties. `logits` is not modified.
   */
  sample(logits: Float32Array, context: readonly number[], generated: readonly number[]): number {
    const V = logits.length;
    const z = Float64Array.from(logits);
    if (this.sampleable) for (let i = 0; i < V; i++) if (!this.sampleable[i]) z[i] = -Infinity;

    const rp = this.o.repetition_penalty ?? 1;
    if (rp !== 1) {
      // each id once, however often it occurs (marks in a reused byte array: a Set of a long context cost ~0.5 ms)
      if (this.seen.length !== V) this.seen = new Uint8Array(V);
      const seen = this.seen;
      for (const id of context) {
        if (id >= 0 && id < V && seen[id] === 0) {
          seen[id] = 1;
          z[id] = z[id] > 0 ? z[id] / rp : z[id] * rp;
        }
      }
      for (const id of context) if (id >= 0 && id < V) seen[id] = 0;
    }
    const pp = this.o.presence_penalty ?? 0;
    const fp = this.o.frequency_penalty ?? 0;
    if (pp !== 0 || fp !== 0) {
      const counts = new Map<number, number>();
      for (const id of generated) counts.set(id, (counts.get(id) ?? 0) + 1);
      for (const [id, n] of counts) if (id >= 0 && id < V) z[id] -= pp + n * fp;
    }

    const temperature = this.o.temperature ?? 1;
    if (temperature === 0) return argmax(z);

    // Candidates sorted by logit, descending (ties: lower id first, so the result is deterministic). With top_k
    // only the k best are needed: one pass keeps them in order (a sort of all V ids took ~15 ms per token at
    // V = 65,536), and gives exactly the first k of the full sort.
    const topK = this.o.top_k ?? 0;
    const cand = topK > 0 ? topKIds(z, topK, this.scratch(topK)) : sortedIds(z, this.scratch(V));
    if (cand.length === 0) throw new InputError('sampler: every token is masked out');
    let keep = cand.length;

    // Probabilities over the kept candidates at this temperature.
    const p = new Float64Array(keep);
    const max = z[cand[0]] / temperature;
    let sum = 0;
    for (let i = 0; i < keep; i++) sum += p[i] = Math.exp(z[cand[i]] / temperature - max);
    for (let i = 0; i < keep; i++) p[i] /= sum;

    const topP = this.o.top_p ?? 1;
    if (topP < 1) {
      let mass = 0;
      let k = 0;
      while (k < keep && mass < topP) mass += p[k++];
      keep = Math.max(1, k);
    }
    const minP = this.o.min_p ?? 0;
    if (minP > 0) {
      let k = 1;
      while (k < keep && p[k] >= minP * p[0]) k++;
      keep = k;
    }

    let total = 0;
    for (let i = 0; i < keep; i++) total += p[i];
    let r = this.rng.uniform() * total;
    for (let i = 0; i < keep; i++) {
      r -= p[i];
      if (r < 0) return cand[i];
    }
    return cand[keep - 1];
  }
}

/**
 * The PRNG state for a seed: seeds in [0, 2^32) as they are (so existing seeds keep their output); any other safe
 * integer mixes its high part into its low 32 bits, so seeds that differ only above bit 31 (2^32 and 0, -1 and
 * 2^32 - 1) get different states. 2^53 seeds into 2^32 states must collide somewhere, but not by wrapping.
 */
export function seedState(seed: number): number {
  if (seed >= 0 && seed < 2 ** 32) return seed;
  const lo = ((seed % 2 ** 32) + 2 ** 32) % 2 ** 32; // seed mod 2^32, in [0, 2^32)
  const hi = Math.floor(seed / 2 ** 32); // nonzero here: in [-2^21, 2^21)
  let h = Math.imul((hi | 0) ^ 0x5bd1e995, 0x9e3779b1);
  h = Math.imul(h ^ (h >>> 15), 0x85ebca6b);
  h ^= h >>> 13;
  return (lo ^ (h | 1)) >>> 0; // h | 1: never 0, so the state always moves away from lo
}

/** Every id with a finite logit, sorted by logit descending, ties by id ascending (a view of `buf`). */
export function sortedIds(z: Float64Array, buf: Int32Array): Int32Array {
  let n = 0;
  for (let i = 0; i < z.length; i++) if (z[i] > -Infinity) buf[n++] = i;
  return buf.subarray(0, n).sort((a, b) => z[b] - z[a] || a - b);
}

/**
 * The first k ids of sortedIds(z), in that order, in one pass: a sorted run of the k best so far, into which an
 * id enters only when its logit beats the k-th (ids come in ascending order, so on a tie the one already in ranks
 * first and stays).
 */
export function topKIds(z: Float64Array, k: number, buf: Int32Array): Int32Array {
  let n = 0;
  for (let i = 0; i < z.length; i++) {
    const v = z[i];
    if (!(v > -Infinity) || (n === k && !(v > z[buf[k - 1]]))) continue;
    let j = n < k ? n++ : k - 1; // the slot it takes (the last one's, when full)
    while (j > 0 && z[buf[j - 1]] < v) {
      buf[j] = buf[j - 1];
      j--;
    }
    buf[j] = i;
  }
  return buf.subarray(0, n);
}

export function argmax(z: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < z.length; i++) if (z[i] > z[best]) best = i;
  return best;
}
