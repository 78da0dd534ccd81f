// A GGUF file as an editable record, and a writer that checks nothing: the fuzzer's way to make the files that
// reference/gguf.ts's writer refuses (duplicate names, odd alignments, offsets anywhere, wrong value types).
//
// The writer also returns a field map (the byte position of every count, length, type tag, dimension and offset),
// so that byte-level mutations can aim at the fields a parser trusts instead of landing in tensor data.

import { bytesSource } from '../../../reference/bytes.js';
import { GgufValueType as VT, readGguf, readGgufTensorBytes, type GgufValue } from '../../../reference/gguf.js';

export interface RawTensor {
  name: string;
  /** ne[], innermost first (numbers or bigints: anything a u64 holds). */
  dims: (number | bigint)[];
  type: number;
  /** Offset relative to the data section; undefined = packed after the previous tensor (as writers do). */
  offset?: number | bigint;
  data: Uint8Array;
}

export interface RawGguf {
  version: number;
  kvs: [string, GgufValue][];
  tensors: RawTensor[];
  /** Used to pad the header and to pack tensors; need not agree with general.alignment. */
  alignment: number;
}

export interface Field {
  kind: 'magic' | 'version' | 'count' | 'strlen' | 'vtype' | 'itemtype' | 'scalar' | 'ndims' | 'dim' | 'ggmltype' | 'offset';
  pos: number;
  size: number;
  /** The key or tensor the field belongs to. */
  label: string;
}

export interface Written {
  bytes: Uint8Array;
  fields: Field[];
  /** Where the header (and its padding) ends. */
  dataOffset: number;
  /** Absolute offset of each tensor's data as written (undefined when not placed). */
  placed: (number | undefined)[];
}

const FIXED = [1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8];
/** Largest data section the writer builds: offsets beyond it are written but their data is left out. */
const MAX_DATA = 16 << 20;

const utf8 = new TextEncoder();

class W {
  buf = new Uint8Array(1 << 16);
  dv = new DataView(this.buf.buffer);
  len = 0;
  fields: Field[] = [];
  /** Makes room for n more bytes and returns where they start. */
  private room(n: number): number {
    if (this.len + n > this.buf.length) {
      const b = new Uint8Array(Math.max(this.buf.length * 2, this.len + n));
      b.set(this.buf.subarray(0, this.len));
      this.buf = b;
      this.dv = new DataView(b.buffer);
    }
    const at = this.len;
    this.len += n;
    return at;
  }
  mark(kind: Field['kind'], size: number, label: string): void {
    this.fields.push({ kind, pos: this.len, size, label });
  }
  u32(x: number): void {
    this.dv.setUint32(this.room(4), x >>> 0, true);
  }
  u64(x: number | bigint): void {
    this.dv.setBigUint64(this.room(8), BigInt.asUintN(64, BigInt(x)), true);
  }
  bytes(b: Uint8Array): void {
    this.buf.set(b, this.room(b.length));
  }
  str(s: string, label: string): void {
    this.mark('strlen', 8, label);
    const lenAt = this.room(8);
    this.room(3 * s.length); // UTF-8 takes at most 3 bytes per UTF-16 unit
    const { written } = utf8.encodeInto(s, this.buf.subarray(lenAt + 8));
    this.len = lenAt + 8 + written;
    this.dv.setBigUint64(lenAt, BigInt(written), true);
  }
  scalar(type: number, x: unknown, label: string): void {
    this.mark('scalar', FIXED[type], label);
    const at = this.room(FIXED[type]);
    const v = this.dv;
    switch (type) {
      case VT.UINT8: return v.setUint8(at, Number(x));
      case VT.INT8: return v.setInt8(at, Number(x));
      case VT.UINT16: return v.setUint16(at, Number(x), true);
      case VT.INT16: return v.setInt16(at, Number(x), true);
      case VT.UINT32: return v.setUint32(at, Number(x), true);
      case VT.INT32: return v.setInt32(at, Number(x), true);
      case VT.FLOAT32: return v.setFloat32(at, Number(x), true);
      case VT.BOOL: return v.setUint8(at, x ? 1 : 0);
      case VT.UINT64: return v.setBigUint64(at, BigInt.asUintN(64, BigInt(x as bigint)), true);
      case VT.INT64: return v.setBigInt64(at, BigInt.asIntN(64, BigInt(x as bigint)), true);
      case VT.FLOAT64: return v.setFloat64(at, Number(x), true);
    }
  }
  value(v: GgufValue, label: string): void {
    if (v.type === VT.STRING) return this.str(v.value, label);
    if (v.type === VT.ARRAY) {
      this.mark('itemtype', 4, label);
      this.u32(v.itemType);
      const items = v.value as ArrayLike<unknown>;
      this.mark('count', 8, label);
      this.u64(items.length);
      for (let i = 0; i < items.length; i++) {
        const x = items[i];
        if (v.itemType === VT.STRING) this.str(x as string, label);
        else if (v.itemType === VT.ARRAY) this.value(x as GgufValue, label);
        else this.scalar(v.itemType, x, label);
      }
      return;
    }
    this.scalar(v.type, v.value, label);
  }
}

function pad(n: number, a: number): number {
  return Math.ceil(n / a) * a;
}

/** Serializes without any validation. Tensor data goes at each tensor's offset (packed when undefined). */
export function writeRawGguf(g: RawGguf): Written {
  const w = new W();
  w.mark('magic', 4, 'magic');
  w.u32(0x46554747);
  w.mark('version', 4, 'version');
  w.u32(g.version);
  w.mark('count', 8, 'tensor_count');
  w.u64(g.tensors.length);
  w.mark('count', 8, 'kv_count');
  w.u64(g.kvs.length);
  for (const [k, v] of g.kvs) {
    w.str(k, k);
    w.mark('vtype', 4, k);
    w.u32(v.type);
    w.value(v, k);
  }
  const a = Math.max(1, g.alignment);
  let rel = 0;
  const rels: (number | undefined)[] = [];
  for (const t of g.tensors) {
    w.str(t.name, t.name);
    w.mark('ndims', 4, t.name);
    w.u32(t.dims.length);
    for (const d of t.dims) {
      w.mark('dim', 8, t.name);
      w.u64(d);
    }
    w.mark('ggmltype', 4, t.name);
    w.u32(t.type);
    const off = t.offset ?? rel;
    w.mark('offset', 8, t.name);
    w.u64(off);
    const n = typeof off === 'bigint' || off > MAX_DATA ? undefined : off;
    rels.push(n);
    if (t.offset === undefined) rel = pad(rel + t.data.length, a);
    else if (n !== undefined) rel = Math.max(rel, pad(n + t.data.length, a));
  }
  const dataOffset = pad(w.len, a);
  let dataLen = 0;
  g.tensors.forEach((t, i) => {
    const r = rels[i];
    if (r !== undefined && r + t.data.length <= MAX_DATA) dataLen = Math.max(dataLen, pad(r + t.data.length, a));
  });
  const out = new Uint8Array(dataOffset + dataLen);
  out.set(w.buf.subarray(0, Math.min(w.len, out.length)));
  const placed = g.tensors.map((t, i) => {
    const r = rels[i];
    if (r === undefined || r + t.data.length > MAX_DATA) return undefined;
    out.set(t.data, dataOffset + r);
    return dataOffset + r;
  });
  return { bytes: out, fields: w.fields, dataOffset, placed };
}

/** A valid GGUF as an editable record (metadata values and tensor bytes are copies). */
export async function parseRawGguf(bytes: Uint8Array): Promise<RawGguf> {
  const src = bytesSource(bytes, 'seed.gguf');
  const f = await readGguf(src);
  const tensors: RawTensor[] = [];
  for (const t of f.tensors) tensors.push({ name: t.name, dims: [...t.dims], type: t.type, data: (await readGgufTensorBytes(f, src, t.name)).slice() });
  return { version: f.version, kvs: [...f.metadata], tensors, alignment: f.alignment };
}

/** A deep copy (tensor data shared until a mutator copies it). */
export function cloneRawGguf(g: RawGguf): RawGguf {
  return { version: g.version, kvs: g.kvs.map(([k, v]) => [k, v]), tensors: g.tensors.map((t) => ({ ...t, dims: [...t.dims] })), alignment: g.alignment };
}
