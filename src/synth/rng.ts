// A seeded PRNG whose output is the same on every JS engine: integer ops only (no Math.random, no Math.log or
// Math.cos, whose last bits may differ between engines), so a seed always rebuilds the same model bytes.

/** splitmix32-style generator: a 32-bit state advanced by a Weyl step and mixed. */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  /** Uniform 32-bit unsigned integer. */
  u32(): number {
    this.s = (this.s + 0x9e3779b9) >>> 0;
    let z = this.s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  }
  /** Uniform in [0, 1) with 32 bits of resolution (exact: a dyadic rational). */
  uniform(): number {
    return this.u32() / 4294967296;
  }
  /** Uniform in [-a, a). */
  symmetric(a: number): number {
    return (2 * this.uniform() - 1) * a;
  }
  /** Roughly normal with standard deviation `sd`: a sum of 4 uniforms (Irwin-Hall), exact arithmetic only. */
  normalish(sd: number): number {
    const s = this.uniform() + this.uniform() + this.uniform() + this.uniform() - 2; // variance 4/12
    return s * sd * Math.sqrt(3); // sqrt is correctly rounded everywhere (IEEE 754)
  }
  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.uniform() * n);
  }
}

/** A 32-bit FNV-1a hash of a string, to derive independent per-tensor seeds from names. */
export function hashString(s: string, seed = 0x811c9dc5): number {
  let h = seed >>> 0;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}
