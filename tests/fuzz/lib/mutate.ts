// Mutators: bytes (bit flips, interesting values at known fields, truncation, shifts, splices) and JSON (a value
// of the wrong type anywhere in the tree, deletions, duplicates, deep nesting; and text-level damage).

import type { FuzzRng } from './census.js';
import type { Field } from './gguf-raw.js';
import { DEEP_TEXT, EDGE_INTS, EDGE_U64, getPath, jsonPaths, randomJson, setPath } from './values.js';

// --- bytes ----------------------------------------------------------------------------------------------------

/** Little-endian interesting value of `size` bytes for a field that held `old`. */
function fieldValue(r: FuzzRng, size: number, old: bigint, fileSize: number): bigint {
  const mask = (1n << BigInt(8 * size)) - 1n;
  const cands: bigint[] = [
    old + 1n, old - 1n, old * 2n, old / 2n, old + 32n, old - 32n, 0n, 1n, mask, mask >> 1n, (mask >> 1n) + 1n,
    BigInt(fileSize), BigInt(fileSize) - old, BigInt(fileSize + 1),
    BigInt(r.pick(EDGE_INTS)),
  ];
  if (size === 8) cands.push(r.pick(EDGE_U64));
  return r.pick(cands) & mask;
}

function readLe(b: Uint8Array, pos: number, size: number): bigint {
  let x = 0n;
  for (let i = size - 1; i >= 0; i--) x = (x << 8n) | BigInt(b[pos + i] ?? 0);
  return x;
}

function writeLe(b: Uint8Array, pos: number, size: number, x: bigint): void {
  for (let i = 0; i < size && pos + i < b.length; i++) b[pos + i] = Number((x >> BigInt(8 * i)) & 0xffn);
}

export interface ByteRegions {
  /** Where the header ends (bytes before it are structure, after it tensor data). */
  headerEnd: number;
  /** Known fields (counts, lengths, type tags...); may be empty. */
  fields: readonly Field[];
}

/**
 * One byte-level mutation of `b` (a copy is returned). Positions favour the header: a flip in tensor data mostly
 * makes a file that loads with other weights, which the poison mutators cover more cheaply.
 */
export function mutateBytes(r: FuzzRng, b: Uint8Array, regions: ByteRegions, log: string[]): Uint8Array {
  const n = b.length;
  const header = Math.max(1, Math.min(regions.headerEnd, n));
  const pos = () => {
    const k = r.int(10);
    if (k < 4 && regions.fields.length > 0) {
      const f = r.pick(regions.fields);
      return Math.min(n - 1, f.pos + r.int(f.size));
    }
    return k < 8 ? r.int(header) : r.int(Math.max(1, n));
  };
  const op = r.weighted([14, 16, 4, 6, 3, 2, 2, 2]);
  switch (op) {
    case 0: {
      const out = b.slice();
      const k = r.between(1, 3);
      for (let i = 0; i < k; i++) {
        const p = pos();
        const bit = r.int(8);
        if (p < out.length) out[p] ^= 1 << bit;
        log.push(`flip bit ${bit} of byte ${p}`);
      }
      return out;
    }
    case 1: {
      if (regions.fields.length === 0) return mutateBytes(r, b, regions, log);
      const f = r.pick(regions.fields);
      const out = b.slice();
      const old = readLe(out, f.pos, f.size);
      const v = fieldValue(r, f.size, old, n);
      writeLe(out, f.pos, f.size, v);
      log.push(`${f.kind} of ${f.label} at ${f.pos}: ${old} -> ${v}`);
      return out;
    }
    case 2: {
      const out = b.slice();
      const p = r.int(Math.max(1, n));
      const v = r.pick([0, 0xff, 0x7f, 0x80, 0x7c, 0x7e, 0xfc]);
      if (p < out.length) out[p] = v;
      log.push(`byte ${p} := 0x${v.toString(16)}`);
      return out;
    }
    case 3: {
      const at = r.chance(0.5) ? pos() : Math.max(0, n - r.between(1, 64));
      log.push(`truncate to ${at} of ${n} bytes`);
      return b.slice(0, at);
    }
    case 4: {
      const at = Math.min(n, r.chance(0.5) ? header : pos()); // an earlier cut may have left less than the header
      if (r.chance(0.5)) {
        const k = r.pick([1, 2, 4, 8, 16, 32]);
        log.push(`insert ${k} zero bytes at ${at}`);
        const out = new Uint8Array(n + k);
        out.set(b.subarray(0, at));
        out.set(b.subarray(at), at + k);
        return out;
      }
      const k = Math.min(r.pick([1, 2, 4, 8, 16, 32]), n - at);
      log.push(`delete ${k} bytes at ${at}`);
      const out = new Uint8Array(n - k);
      out.set(b.subarray(0, at));
      out.set(b.subarray(at + k), at);
      return out;
    }
    case 5: {
      const k = r.pick([1, 16, 32, 4096]);
      log.push(`append ${k} bytes`);
      const out = new Uint8Array(n + k);
      out.set(b);
      out.fill(r.pick([0, 0x41]), n);
      return out;
    }
    case 6: {
      const out = b.slice();
      const from = pos();
      const to = pos();
      const len = Math.min(r.between(1, 64), n - from, n - to);
      out.copyWithin(to, from, from + Math.max(0, len));
      log.push(`copy ${len} bytes ${from} -> ${to}`);
      return out;
    }
    default: {
      const out = b.slice();
      const p = pos();
      const len = Math.min(r.between(1, 16), n - p);
      for (let i = 0; i < len; i++) out[p + i] = r.u32() & 0xff;
      log.push(`random ${len} bytes at ${p}`);
      return out;
    }
  }
}

// --- JSON -----------------------------------------------------------------------------------------------------

/** JSON text of any value, nesting depth included (JSON.stringify overflows the stack past ~10k levels). */
export function jsonText(v: unknown, indent = false): string {
  // JSON.stringify recurses and overflows the stack past a few thousand levels: the deep values deepJson made are
  // swapped for placeholders and their ready-made text put back; any other deep value is written iteratively below.
  try {
    return JSON.stringify(v, null, indent ? 1 : undefined); // the common case, and twice as fast as with a replacer
  } catch (e) {
    if (!(e instanceof RangeError)) throw e;
  }
  const deep: string[] = [];
  try {
    const text = JSON.stringify(
      v,
      (_k, x: unknown) => {
        const t = x && typeof x === 'object' ? DEEP_TEXT.get(x) : undefined;
        if (t === undefined) return x;
        deep.push(t);
        return `\u0000deep${deep.length - 1}\u0000`;
      },
      indent ? 1 : undefined,
    );
    return deep.length === 0 ? text : text.replace(/"\\u0000deep(\d+)\\u0000"/g, (_, i: string) => deep[Number(i)]);
  } catch (e) {
    if (!(e instanceof RangeError)) throw e;
  }
  class Raw {
    constructor(readonly s: string) {}
  }
  const out: string[] = [];
  const stack: unknown[] = [v];
  while (stack.length > 0) {
    const x = stack.pop();
    if (x instanceof Raw) out.push(x.s);
    else if (x && typeof x === 'object' && DEEP_TEXT.has(x)) out.push(DEEP_TEXT.get(x)!);
    else if (x === null || typeof x !== 'object') out.push(JSON.stringify(x) ?? 'null');
    else {
      const parts: unknown[] = [];
      if (Array.isArray(x)) {
        parts.push(new Raw('['));
        x.forEach((c, i) => parts.push(...(i > 0 ? [new Raw(',')] : []), c));
        parts.push(new Raw(']'));
      } else {
        parts.push(new Raw('{'));
        Object.entries(x).forEach(([k, c], i) => parts.push(new Raw(`${i > 0 ? (indent ? ',\n' : ',') : ''}${JSON.stringify(k)}:`), c));
        parts.push(new Raw('}'));
      }
      for (let i = parts.length - 1; i >= 0; i--) stack.push(parts[i]);
    }
  }
  return out.join('');
}

/**
 * One structural mutation of a JSON tree (a new root is returned; the input is not changed). `focus` paths, when
 * given, are picked half of the time: the fields a loader reads, rather than entries of a 400-token vocabulary.
 */
const pathCache = new WeakMap<object, (string | number)[][]>();

export function mutateJson(r: FuzzRng, root: unknown, log: string[], focus?: readonly (string | number)[][]): unknown {
  // The seeds are mutated again and again: their (large) path lists are made once.
  let paths = root && typeof root === 'object' ? pathCache.get(root) : undefined;
  if (!paths) {
    paths = jsonPaths(root, r);
    if (root && typeof root === 'object') pathCache.set(root, paths);
  }
  const known = focus?.filter((p) => {
    try {
      return getPath(root, p.slice(0, -1)) !== undefined;
    } catch {
      return false;
    }
  });
  const path = known && known.length > 0 && r.chance(0.6) ? r.pick(known) : r.pick(paths);
  const where = pathText(path);
  const old = (() => {
    try {
      return getPath(root, path);
    } catch {
      return undefined;
    }
  })();
  switch (r.weighted([12, 3, 2, 2, 1])) {
    case 0: {
      const v = randomJson(r, old);
      log.push(`${where} := ${describeShort(v)}`);
      return setPath(root, path, v);
    }
    case 1:
      if (path.length === 0) return root;
      log.push(`delete ${where}`);
      return setPath(root, path, undefined, true);
    case 2: {
      const parent = getPath(root, path.slice(0, -1));
      if (path.length > 0 && Array.isArray(parent)) {
        log.push(`duplicate ${where}`);
        return setPath(root, path.slice(0, -1), [...parent, old]);
      }
      log.push(`${where}.unexpected := 1`);
      return old && typeof old === 'object' && !Array.isArray(old) ? setPath(root, path, { ...old, unexpected: 1 }) : setPath(root, path, [old]);
    }
    case 3: {
      const other = r.pick(paths);
      log.push(`${where} := value of ${pathText(other)}`);
      return setPath(root, path, getPath(root, other));
    }
    default:
      log.push('root := another value');
      return randomJson(r, root);
  }
}

function pathText(p: readonly (string | number)[]): string {
  if (p.length === 0) return '(root)';
  const s = p.length > 6 ? `${p.slice(0, 3).join('.')}...(${p.length} deep)...${p.slice(-2).join('.')}` : p.join('.');
  return s.length > 120 ? `${s.slice(0, 120)}…` : s;
}

export function describeShort(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return `array(${v.length})${v.length === 1 && typeof v[0] === 'object' ? ' nested' : ''}`;
  if (typeof v === 'object') return `object{${Object.keys(v as object).slice(0, 3).join(',')}}`;
  if (typeof v === 'string') return v.length > 20 ? `string(${v.length})` : JSON.stringify(v);
  return String(v);
}

/** One text-level mutation of JSON text: a changed, dropped or inserted character, a cut, a repeated span. */
export function mutateJsonText(r: FuzzRng, text: string, log: string[]): string {
  const p = r.int(Math.max(1, text.length));
  switch (r.int(6)) {
    case 0: {
      const c = r.pick(['{', '}', '[', ']', '"', ',', ':', '\\', '0', '-', 'e', '9', ' ', 'n', '\u00ff']);
      log.push(`text: insert ${JSON.stringify(c)} at ${p}`);
      return text.slice(0, p) + c + text.slice(p);
    }
    case 1:
      log.push(`text: delete char ${p}`);
      return text.slice(0, p) + text.slice(p + 1);
    case 2:
      log.push(`text: cut at ${p}`);
      return text.slice(0, p);
    case 3: {
      // Duplicate a `"key": value,` span: JSON.parse keeps the last of duplicate keys.
      const m = /"[^"\\]{1,40}":\s*[^,{}[\]]{1,20},/g;
      const all = [...text.matchAll(m)];
      if (all.length === 0) return mutateJsonText(r, text, log);
      const hit = r.pick(all);
      log.push(`text: duplicate ${hit[0].slice(0, 40)}`);
      return text.slice(0, hit.index) + hit[0] + text.slice(hit.index);
    }
    case 4: {
      const len = r.between(1, 40);
      log.push(`text: repeat ${len} chars at ${p}`);
      return text.slice(0, p + len) + text.slice(p, p + len) + text.slice(p + len);
    }
    default: {
      const digits = [...text.matchAll(/-?\d+(\.\d+)?/g)];
      if (digits.length === 0) return mutateJsonText(r, text, log);
      const hit = r.pick(digits);
      const v = r.pick(['1e999', '-1', '0', '4294967296', '9007199254740993', '1.5', '-0', '1e-400', '99999999999999999999']);
      log.push(`text: number ${hit[0]} at ${hit.index} -> ${v}`);
      return text.slice(0, hit.index) + v + text.slice(hit.index! + hit[0].length);
    }
  }
}
