// Values a mutator puts where a loader expects something else: numbers at the edges of every range, every GGUF
// value type (64-bit integer arrays included), JSON of the wrong type, absurdly deep nesting, long strings.

import { GgufValueType as VT, type GgufArray, type GgufValue } from '../../../reference/gguf.js';
import type { FuzzRng } from './census.js';

/** Integers at the edges: small, powers of two and their neighbours, 2^53, u32/u64 limits. */
export const EDGE_INTS: readonly number[] = [
  0, 1, 2, 3, 4, 7, 8, 15, 16, 31, 32, 33, 63, 64, 65, 127, 128, 255, 256, 257, 1023, 1024, 4096, 65535, 65536,
  0x7fffffff, 0x80000000, 0xffffffff, 2 ** 32, 2 ** 40, 2 ** 53 - 1, 2 ** 53,
];
export const EDGE_U64: readonly bigint[] = [...EDGE_INTS.map(BigInt), 2n ** 53n + 1n, 2n ** 63n - 1n, 2n ** 63n, 2n ** 64n - 1n];
export const EDGE_FLOATS: readonly number[] = [
  0, -0, 1, -1, 0.5, 1e-5, 1e-38, 1e-45, 3.4e38, 3.5e38, 1e300, -1e300, NaN, Infinity, -Infinity, 1e6, 10000, 2 ** 31,
];

/** A plausible-or-not integer near `x`: x ± small, x * 2, x / 2, 0, -1, or an edge integer. */
export function nearInt(r: FuzzRng, x: number): number {
  switch (r.int(7)) {
    case 0: return x + r.between(1, 3);
    case 1: return x - r.between(1, 3);
    case 2: return x * 2;
    case 3: return Math.floor(x / 2);
    case 4: return -r.between(1, 3);
    default: return r.pick(EDGE_INTS);
  }
}

function scalarOf(r: FuzzRng, type: number): unknown {
  switch (type) {
    case VT.UINT8: return r.pick([0, 1, 2, 127, 128, 255]);
    case VT.INT8: return r.pick([0, 1, -1, 127, -128]);
    case VT.UINT16: return r.pick([0, 1, 2, 32, 65535]);
    case VT.INT16: return r.pick([0, 1, -1, 32767, -32768]);
    case VT.UINT32: return r.pick(EDGE_INTS.filter((x) => x <= 0xffffffff));
    case VT.INT32: return r.pick([0, 1, -1, 2, 32, 0x7fffffff, -0x80000000]);
    case VT.FLOAT32: return Math.fround(r.pick(EDGE_FLOATS));
    case VT.FLOAT64: return r.pick(EDGE_FLOATS);
    case VT.BOOL: return r.chance(0.5);
    case VT.UINT64: return r.pick(EDGE_U64);
    case VT.INT64: return r.pick([...EDGE_U64.filter((x) => x < 2n ** 63n), -1n, -(2n ** 63n)]);
    default: return r.pick(['', 'lfm2', 'gpt2', 'x'.repeat(r.between(1, 300)), '\u{1F600}', 'conv', '32']);
  }
}

const TYPED: Record<number, new (n: number) => ArrayLike<unknown>> = {
  0: Uint8Array, 1: Int8Array, 2: Uint16Array, 3: Int16Array, 4: Uint32Array, 5: Int32Array, 6: Float32Array,
  10: BigUint64Array, 11: BigInt64Array, 12: Float64Array,
};

/** An array of `itemType` with n items (typed arrays for numbers, as readGguf returns them). */
export function ggufArrayOf(r: FuzzRng, itemType: number, n: number, item?: () => unknown): GgufArray {
  const Ctor = TYPED[itemType];
  const items = Array.from({ length: n }, () => (item ? item() : itemType === VT.ARRAY ? ggufArrayOf(r, VT.UINT8, r.between(0, 2)) : scalarOf(r, itemType)));
  if (Ctor) {
    const a = new Ctor(n) as unknown as Record<number, unknown>;
    items.forEach((x, i) => (a[i] = x));
    return { type: VT.ARRAY, itemType, value: a } as unknown as GgufArray;
  }
  return { type: VT.ARRAY, itemType, value: items } as unknown as GgufArray;
}

/**
 * A GGUF value of a random type: a scalar of any type, or an array of any item type (64-bit integer arrays and
 * arrays of arrays included). `like` (the value it replaces) biases towards the same shape with other contents.
 */
export function randomGgufValue(r: FuzzRng, like?: GgufValue): GgufValue {
  const kind = r.int(10);
  if (like && kind < 3) {
    // Same type, other contents.
    if (like.type === VT.ARRAY) {
      const n = (like.value as ArrayLike<unknown>).length;
      return ggufArrayOf(r, like.itemType, r.pick([0, 1, Math.max(0, n - 1), n + 1, n]));
    }
    return { type: like.type, value: scalarOf(r, like.type) } as GgufValue;
  }
  if (kind < 7) {
    const type = r.pick([0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 12]);
    return { type, value: scalarOf(r, type) } as GgufValue;
  }
  const itemType = r.pick([0, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
  const n = r.pick([0, 1, 2, 3, like?.type === VT.ARRAY ? (like.value as ArrayLike<unknown>).length : 4]);
  return ggufArrayOf(r, itemType, n);
}

// --- JSON -----------------------------------------------------------------------------------------------------

/** The JSON text of each value deepJson made (mutate.ts jsonText writes it without walking 20,000 levels). */
export const DEEP_TEXT = new WeakMap<object, string>();
const deepMade = new Map<string, unknown>();

/** Arrays or objects nested `depth` deep, built without recursion (one shared, frozen value per shape). */
export function deepJson(depth: number, objects: boolean): unknown {
  const key = `${depth}${objects}`;
  let v = deepMade.get(key);
  if (v === undefined) {
    v = 1;
    for (let i = 0; i < depth; i++) v = Object.freeze(objects ? { a: v } : [v]);
    deepMade.set(key, v);
    DEEP_TEXT.set(v as object, objects ? `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}` : `${'['.repeat(depth)}1${']'.repeat(depth)}`);
  }
  return v;
}

/** A JSON value of a random type (biased to the types loaders confuse: numbers as strings, lists, null). */
export function randomJson(r: FuzzRng, like?: unknown): unknown {
  switch (r.int(16)) {
    case 0: return null;
    case 1: return r.chance(0.5);
    case 2: return r.pick(EDGE_INTS) * (r.chance(0.2) ? -1 : 1);
    case 3: return r.pick([0.5, -0.5, 1e-300, 1e308, -1e308, 1.5, 2 ** 53 + 2, 1e21, 3.5e38, 1e39, -0]);
    case 4: return typeof like === 'number' ? nearInt(r, like) : r.pick(EDGE_INTS);
    case 5: return String(typeof like === 'number' || typeof like === 'string' ? like : r.pick(EDGE_INTS));
    case 6: return r.pick(['', 'x', 'conv', 'full_attention', 'lfm2', 'BPE', 'F32', 'BF16', 'I64', '<|im_end|>', '\u0000', '\uD800']);
    case 7: return 'x'.repeat(r.pick([100, 10_000, 1 << 20]));
    case 8: return [];
    case 9: return {};
    case 10: return like === undefined ? [1, 2] : [like];
    case 11: return { value: like ?? 1 };
    case 12: return deepJson(r.pick([100, 1000, 20_000]), r.chance(0.5));
    case 13: return Array.from({ length: r.pick([2, 3, 100]) }, () => (typeof like === 'number' ? like : 1));
    case 14: return r.pick([{ __proto__: null }, { constructor: 1 }, { toString: 'x' }, JSON.parse('{"__proto__": {"x": 1}}')]);
    default: return typeof like === 'number' ? -like : r.pick(EDGE_INTS);
  }
}

type Path = (string | number)[];

/** Paths stop this deep: nesting is something the mutators make, not something they need to walk. */
const MAX_PATH_DEPTH = 12;

/** Paths in a JSON tree (the root is []), at most `limit` of them, chosen evenly when there are more. */
export function jsonPaths(v: unknown, r: FuzzRng, limit = 5000): Path[] {
  const out: Path[] = [];
  const stack: [unknown, Path][] = [[v, []]];
  let seen = 0;
  while (stack.length > 0) {
    const [x, p] = stack.pop()!;
    seen++;
    if (out.length < limit) out.push(p);
    else if (r.int(seen) < limit) out[r.int(limit)] = p; // reservoir sampling
    if (x && typeof x === 'object' && p.length < MAX_PATH_DEPTH) {
      if (Array.isArray(x)) x.forEach((c, i) => stack.push([c, [...p, i]]));
      else for (const [k, c] of Object.entries(x)) stack.push([c, [...p, k]]);
    }
  }
  return out;
}

export function getPath(v: unknown, p: Path): unknown {
  let x = v;
  for (const k of p) x = (x as Record<string | number, unknown>)[k];
  return x;
}

/** Copies the containers along `p` and replaces (or with `remove`, deletes) the value there; returns the new root. */
export function setPath(root: unknown, p: Path, value: unknown, remove = false): unknown {
  if (p.length === 0) return value;
  const copy = (x: unknown): Record<string | number, unknown> =>
    (Array.isArray(x) ? [...x] : Object.assign(Object.create(Object.getPrototypeOf(x ?? {}) ?? null), x)) as Record<string | number, unknown>;
  const top = copy(root);
  let cur = top;
  for (let i = 0; i < p.length - 1; i++) {
    const next = copy(cur[p[i]]);
    cur[p[i]] = next;
    cur = next;
  }
  const last = p[p.length - 1];
  if (remove) {
    if (Array.isArray(cur)) cur.splice(last as number, 1);
    else delete cur[last];
  } else cur[last] = value;
  return top;
}
