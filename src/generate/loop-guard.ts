// Detecting a "doom loop": the output has fallen into a cycle that repeats token for token.
//
// Small reasoning models sometimes repeat a sentence or a paragraph forever inside <think> (the LFM2.5 Thinking
// model card warns about it). Sampling penalties make it rarer but do not stop it. The guard looks at the tail of
// the generated ids after every token: a loop is a period p (1 <= p <= maxPeriod) such that the last
// max(minSpan, p * minRepeats) ids repeat with period p. Long spans keep legitimate repetition (a row of
// dashes, a list with a repeated prefix) from tripping it. Cost: O(maxPeriod * span) integer comparisons per
// token in the worst case, typically far less since mismatches end each check early.

export interface LoopGuardOptions {
  /** Default true. */
  enabled?: boolean;
  /** Longest cycle looked for, in tokens. Default 200. */
  maxPeriod?: number;
  /** The cycle must have repeated this many times. Default 3. */
  minRepeats?: number;
  /** ...and the repeated span must be at least this many tokens. Default 64. */
  minSpan?: number;
}

export const LOOP_GUARD_DEFAULTS: Required<LoopGuardOptions> = { enabled: true, maxPeriod: 200, minRepeats: 3, minSpan: 64 };

/** The period of the loop the tail of `ids` has fallen into, or 0. */
export function detectLoop(ids: readonly number[], options: LoopGuardOptions = {}): number {
  const o = { ...LOOP_GUARD_DEFAULTS, ...options };
  if (!o.enabled) return 0;
  const n = ids.length;
  for (let p = 1; p <= o.maxPeriod; p++) {
    const span = Math.max(o.minSpan, p * o.minRepeats);
    if (span > n) {
      if (p * o.minRepeats > n) break; // longer periods need even more tokens
      continue;
    }
    let periodic = true;
    for (let i = n - span; i < n - p; i++) {
      if (ids[i] !== ids[i + p]) {
        periodic = false;
        break;
      }
    }
    if (periodic) return p;
  }
  return 0;
}
