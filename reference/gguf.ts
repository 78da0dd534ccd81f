// GGUF v2/v3 container: read the header of a (possibly 1 GB) file through a ByteSource, read tensors on demand,
// and write files as a list of parts that can be streamed to disk.
//
// Mirrors ggml's gguf.cpp (gguf_init_from_file_impl, gguf_write_to_buf); the layout is in spec/LFM2.md §5.3:
//   "GGUF" u32 version u64 tensor_count u64 kv_count
//   kv_count × { string key, u32 value_type, value }          string = u64 byte length + UTF-8 bytes
//   tensor_count × { string name, u32 n_dims, u64 ne[n_dims], u32 ggml_type, u64 offset }
//   padding to `general.alignment` (default 32), then the data section; `offset` is relative to its start.
// v2 and v3 have the same little-endian layout (v3 only added big-endian files); v1 (u32 counts) is rejected.
//
// Values keep their GGUF type so that write(read(file)) is lossless:
//   - u64/i64 are always `bigint` (never a number, even when small), scalars and arrays alike.
//   - numeric arrays are typed arrays (Float32Array, Int32Array, BigUint64Array, ...) holding a copy of the file's
//     bytes, so float arrays round-trip bit for bit, NaN payloads included. Scalar f32/f64 are JS numbers: -0
//     survives, but a NaN's payload and sign do not (ECMAScript lets an engine canonicalize a NaN whenever it
//     moves a number, and V8 does, so the bits would depend on the JIT): the writer writes every scalar NaN as
//     the canonical quiet NaN (0x7fc00000 / 0x7ff8000000000000), so the same value always gives the same bytes.
//   - bool arrays are boolean[], string arrays string[], arrays of arrays GgufArray[] (each with its own itemType).
//
// Where this is stricter or looser than gguf.cpp, on purpose:
//   - stricter: a bool byte must be 0 or 1 and strings must be valid UTF-8 (else a JS value could not hold
//     them losslessly); `general.alignment` of another type than u32 is an error (gguf.cpp asserts).
//   - stricter: nothing may follow the last tensor's data but its padding. With gguf.cpp's own rule (tensors
//     packed in file order, each at the previous one's end padded to the alignment) this pins the data section:
//     a `general.alignment` that disagrees with the layout the file was written with moves the computed start of
//     the data section, and every tensor would otherwise be read shifted (finite garbage that no NaN scan sees).
//   - looser: arrays of arrays are read (gguf-py writes them; gguf.cpp refuses them); tensor names may exceed
//     ggml's 63 bytes (the writer refuses such names so its files load in llama.cpp).
// Left out: big-endian files (detected and rejected), v1, memory mapping, editing in place.

import { type ByteSource, checkRange } from './bytes.js';
import { FormatError, TensorError } from './errors.js';
import { checkFinite } from './finite.js';
import { GGML_TYPES, ggmlTypeName } from './ggml-type.js';
import { dequantize } from './quant.js';

// --- value types ----------------------------------------------------------------------------------------------

/** GGUF metadata value types (names as in gguf-py's GGUFValueType). */
export const GgufValueType = {
  UINT8: 0,
  INT8: 1,
  UINT16: 2,
  INT16: 3,
  UINT32: 4,
  INT32: 5,
  FLOAT32: 6,
  BOOL: 7,
  STRING: 8,
  ARRAY: 9,
  UINT64: 10,
  INT64: 11,
  FLOAT64: 12,
} as const;
export type GgufValueType = (typeof GgufValueType)[keyof typeof GgufValueType];

const VT = GgufValueType;
type NumberType = 0 | 1 | 2 | 3 | 4 | 5 | 6 | 12;
type BigIntType = 10 | 11;

export type GgufScalar =
  | { readonly type: NumberType; readonly value: number }
  | { readonly type: BigIntType; readonly value: bigint }
  | { readonly type: typeof VT.BOOL; readonly value: boolean }
  | { readonly type: typeof VT.STRING; readonly value: string };

/** The JS container for an array of each item type. */
export interface GgufArrayItems {
  0: Uint8Array;
  1: Int8Array;
  2: Uint16Array;
  3: Int16Array;
  4: Uint32Array;
  5: Int32Array;
  6: Float32Array;
  7: boolean[];
  8: string[];
  9: GgufArray[];
  10: BigUint64Array;
  11: BigInt64Array;
  12: Float64Array;
}

export type GgufArray = {
  [T in GgufValueType]: { readonly type: typeof VT.ARRAY; readonly itemType: T; readonly value: GgufArrayItems[T] };
}[GgufValueType];

export type GgufValue = GgufScalar | GgufArray;

/** What `ggufGet` returns: the value without its type tag (arrays of arrays unwrapped recursively). */
export type GgufPlain = number | bigint | boolean | string | GgufArrayItems[Exclude<GgufValueType, 9>] | GgufPlain[];

const TYPE_NAMES = Object.keys(VT) as (keyof typeof VT)[];
function typeName(t: number): string {
  return TYPE_NAMES[t] ?? `unknown(${t})`;
}

/** Byte size of fixed-size value types; strings and arrays are variable (0 here). */
const FIXED_SIZE = [1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8];
/** The fewest bytes one item can take: bounds array counts before anything is allocated. */
const MIN_SIZE = [1, 1, 2, 2, 4, 4, 4, 1, 8, 12, 8, 8, 8];

type TypedArrayCtor =
  | Uint8ArrayConstructor
  | Int8ArrayConstructor
  | Uint16ArrayConstructor
  | Int16ArrayConstructor
  | Uint32ArrayConstructor
  | Int32ArrayConstructor
  | Float32ArrayConstructor
  | Float64ArrayConstructor
  | BigUint64ArrayConstructor
  | BigInt64ArrayConstructor;
const TYPED: Partial<Record<number, TypedArrayCtor>> = {
  0: Uint8Array,
  1: Int8Array,
  2: Uint16Array,
  3: Int16Array,
  4: Uint32Array,
  5: Int32Array,
  6: Float32Array,
  10: BigUint64Array,
  11: BigInt64Array,
  12: Float64Array,
};

/** Integer ranges of the number-valued integer types. */
const INT_RANGE: Partial<Record<number, [number, number]>> = {
  0: [0, 0xff],
  1: [-0x80, 0x7f],
  2: [0, 0xffff],
  3: [-0x8000, 0x7fff],
  4: [0, 0xffffffff],
  5: [-0x80000000, 0x7fffffff],
};
const U64_MAX = (1n << 64n) - 1n;
const I64_MIN = -(1n << 63n);
const I64_MAX = (1n << 63n) - 1n;

// Typed arrays use the host's byte order; GGUF (as read here) is little-endian. Every JS host we target is
// little-endian, but on a big-endian one we fall back to element-wise DataView access instead of byte copies.
const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export const GGUF_MAGIC = 0x46554747; // "GGUF" read as a little-endian u32
export const GGUF_DEFAULT_ALIGNMENT = 32;
/** ggml's GGML_MAX_DIMS. */
const MAX_DIMS = 4;
/** ggml's GGML_MAX_NAME: a tensor name must be shorter (the byte after it is the C string's NUL). */
const MAX_NAME_BYTES = 64;
/** Arrays of arrays deeper than this are treated as corruption (each level costs 12 bytes, so a crafted file
 *  could otherwise recurse until the stack overflows). */
const MAX_ARRAY_DEPTH = 64;
/** Read-ahead of the header reader: big enough that 65536 short token strings cost a few dozen reads, small
 *  enough that the bytes read past the header (into tensor data) stay negligible. */
const DEFAULT_CHUNK = 64 * 1024;

// --- the parsed file --------------------------------------------------------------------------------------------

export interface GgufTensorInfo {
  readonly name: string;
  /** ne[], innermost (contiguous) dimension first: a 2D matrix (out, in) is dims [in, out]. */
  readonly dims: readonly number[];
  /** ggml type id (see GgmlType). */
  readonly type: number;
  /** Absolute byte offset in the file (data section start + the stored relative offset). */
  readonly offset: number;
  readonly nbytes: number;
  readonly nelements: number;
}

export interface GgufFile {
  /** The ByteSource's name, for error messages. */
  readonly name: string;
  readonly version: number;
  /** Metadata in file order. */
  readonly metadata: Map<string, GgufValue>;
  /** Tensor infos in file order. */
  readonly tensors: readonly GgufTensorInfo[];
  readonly tensorsByName: ReadonlyMap<string, GgufTensorInfo>;
  readonly alignment: number;
  /** Absolute offset of the data section. */
  readonly dataOffset: number;
}

// --- reader -----------------------------------------------------------------------------------------------------

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * A forward-only cursor over the header. Bytes are fetched `chunk` at a time and parsed synchronously; `fill`
 * is awaited only when the buffered window runs out, so 65536 token strings do not cost 65536 awaits.
 */
class HeaderReader {
  pos = 0;
  private start = 0; // absolute offset of buf[0]
  private buf = new Uint8Array(0);
  private view = new DataView(this.buf.buffer);

  constructor(
    readonly src: ByteSource,
    private readonly chunk: number,
  ) {}

  get name(): string {
    return this.src.name;
  }
  /** Bytes between the cursor and the end of the file. */
  get left(): number {
    return this.src.size - this.pos;
  }
  has(n: number): boolean {
    return this.pos + n <= this.start + this.buf.length;
  }
  /** Buffers bytes [pos, pos+n); a FormatError naming `what` when the file ends first. */
  async fill(n: number, what: string): Promise<void> {
    checkRange(this.src.name, this.src.size, this.pos, n, what);
    const end = this.start + this.buf.length;
    const readEnd = Math.min(this.src.size, this.pos + Math.max(n, this.chunk));
    const fresh = await this.src.read(end, readEnd - end, what);
    const keep = this.buf.subarray(this.pos - this.start);
    const merged = new Uint8Array(keep.length + fresh.length);
    merged.set(keep);
    merged.set(fresh, keep.length);
    this.buf = merged;
    this.start = this.pos;
    this.view = new DataView(merged.buffer);
  }
  async need(n: number, what: string): Promise<void> {
    if (!this.has(n)) await this.fill(n, what);
  }

  // Synchronous getters: the caller has made sure the bytes are buffered.
  private at(n: number): number {
    const p = this.pos - this.start;
    this.pos += n;
    return p;
  }
  u8(): number {
    return this.view.getUint8(this.at(1));
  }
  u32(): number {
    return this.view.getUint32(this.at(4), true);
  }
  /** A u64 as a number, or -1 when it exceeds 2^53 (callers turn that into an "absurd value" error). */
  u64n(): number {
    const p = this.at(8);
    const lo = this.view.getUint32(p, true);
    const hi = this.view.getUint32(p + 4, true);
    return hi >= 0x200000 ? -1 : hi * 0x100000000 + lo;
  }
  bytes(n: number): Uint8Array {
    const p = this.at(n);
    return this.buf.subarray(p, p + n);
  }
  scalar(type: number): number | bigint {
    const p = this.at(FIXED_SIZE[type]);
    const v = this.view;
    switch (type) {
      case VT.UINT8: return v.getUint8(p);
      case VT.INT8: return v.getInt8(p);
      case VT.UINT16: return v.getUint16(p, true);
      case VT.INT16: return v.getInt16(p, true);
      case VT.UINT32: return v.getUint32(p, true);
      case VT.INT32: return v.getInt32(p, true);
      case VT.FLOAT32: return v.getFloat32(p, true);
      case VT.UINT64: return v.getBigUint64(p, true);
      case VT.INT64: return v.getBigInt64(p, true);
      case VT.FLOAT64: return v.getFloat64(p, true);
      default: return v.getUint8(p); // BOOL: the caller checks 0/1
    }
  }
}

/** A u64 count or length that must fit in the bytes left (each item taking at least `minBytes`). */
async function readCount(r: HeaderReader, what: string, noun: string, minBytes: number): Promise<number> {
  await r.need(8, what);
  const at = r.pos;
  const n = r.u64n();
  const left = r.src.size - r.pos;
  if (n < 0 || n * minBytes > left) {
    const shown = n < 0 ? 'more than 2^53' : String(n);
    const why = `${shown} ${noun} (at byte ${at}) cannot fit in the ${left} bytes left of the file`;
    throw new FormatError(r.name, what, `${why} (corrupt or truncated)`);
  }
  return n;
}

async function readString(r: HeaderReader, what: string): Promise<string> {
  if (!r.has(8)) await r.fill(8, what);
  const at = r.pos;
  const len = r.u64n();
  if (len < 0 || len > r.left) {
    const shown = len < 0 ? '>= 2^53' : len;
    const why = `string length ${shown} at byte ${at} runs past the end of the ${r.src.size}-byte file`;
    throw new FormatError(r.name, what, `${why} (corrupt or truncated)`);
  }
  if (!r.has(len)) await r.fill(len, what);
  try {
    return utf8.decode(r.bytes(len));
  } catch {
    throw new FormatError(r.name, what, `string at byte ${at} is not valid UTF-8`);
  }
}

function checkBool(r: HeaderReader, b: number, what: string): boolean {
  if (b > 1) throw new FormatError(r.name, what, `bool byte at ${r.pos - 1} is ${b}, expected 0 or 1`);
  return b === 1;
}

async function readValue(r: HeaderReader, type: number, what: string): Promise<GgufValue> {
  if (type === VT.STRING) return { type, value: await readString(r, what) };
  if (type === VT.ARRAY) return readArray(r, what, 0);
  if (type > VT.FLOAT64) throw new FormatError(r.name, what, `unknown value type ${type} (GGUF defines 0..12)`);
  await r.need(FIXED_SIZE[type], what);
  const v = r.scalar(type);
  if (type === VT.BOOL) return { type, value: checkBool(r, v as number, what) };
  return { type, value: v } as GgufValue;
}

/** Array body: u32 item type, u64 count, items (items carry no type tag of their own). */
async function readArray(r: HeaderReader, what: string, depth: number): Promise<GgufArray> {
  if (depth > MAX_ARRAY_DEPTH) throw new FormatError(r.name, what, `arrays nested deeper than ${MAX_ARRAY_DEPTH} levels`);
  await r.need(4, what);
  const itemType = r.u32();
  if (itemType > VT.FLOAT64) throw new FormatError(r.name, what, `unknown array item type ${itemType} (GGUF defines 0..12)`);
  const n = await readCount(r, what, `${typeName(itemType)} array items`, MIN_SIZE[itemType]);

  if (itemType === VT.STRING) {
    const value: string[] = new Array(n);
    for (let i = 0; i < n; i++) value[i] = await readString(r, what);
    return { type: VT.ARRAY, itemType, value };
  }
  if (itemType === VT.ARRAY) {
    const value: GgufArray[] = new Array(n);
    for (let i = 0; i < n; i++) value[i] = await readArray(r, what, depth + 1);
    return { type: VT.ARRAY, itemType, value };
  }
  const size = FIXED_SIZE[itemType];
  await r.need(n * size, what);
  if (itemType === VT.BOOL) {
    const value: boolean[] = new Array(n);
    for (let i = 0; i < n; i++) value[i] = checkBool(r, r.u8(), what);
    return { type: VT.ARRAY, itemType, value };
  }
  const Ctor = TYPED[itemType]!;
  let value;
  if (LITTLE_ENDIAN_HOST) {
    const copy = r.bytes(n * size).slice(); // own, 0-aligned buffer: the typed array may not sit at an odd offset
    value = new Ctor(copy.buffer, 0, n);
  } else {
    value = new Ctor(n);
    for (let i = 0; i < n; i++) value[i] = r.scalar(itemType) as never;
  }
  return { type: VT.ARRAY, itemType, value } as GgufArray;
}

/** What a file that is not GGUF looks like, for the bad-magic message. */
function describeMagic(head: Uint8Array): string {
  const shown = Array.from(head.subarray(0, 4), (b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '?')).join('');
  const hex = Array.from(head.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join(' ');
  const text = String.fromCharCode(...head.subarray(0, 4));
  let guess = '';
  if (head.length >= 9 && head[8] === 0x7b && head[6] === 0 && head[7] === 0) guess = ' (looks like a safetensors file)';
  else if (text === 'FUGG') guess = ' (a big-endian GGUF; only little-endian files are supported)';
  else if (text === 'lmgg' || text === 'fmgg' || text === 'tjgg') guess = ' (a pre-GGUF GGML/GGJT file: re-convert it)';
  else if (text === 'PK\x03\x04') guess = ' (looks like a zip / PyTorch checkpoint)';
  else if (head[0] === 0x3c || head[0] === 0x7b) guess = ' (looks like HTML or JSON text: an error page saved as the file?)';
  return `bad magic '${shown}' (bytes ${hex}), expected 'GGUF'${guess}`;
}

export interface ReadGgufOptions {
  /** Read-ahead in bytes (default 64 KiB). Tests use tiny values to put chunk boundaries everywhere. */
  chunkSize?: number;
}

/**
 * Parses the header (metadata and tensor infos) of a GGUF file. Reads only the header plus at most one chunk
 * of read-ahead; tensor data is read later with readGgufTensorBytes / readGgufTensorF32.
 */
export async function readGguf(src: ByteSource, options: ReadGgufOptions = {}): Promise<GgufFile> {
  const r = new HeaderReader(src, Math.max(1, options.chunkSize ?? DEFAULT_CHUNK));
  const file = src.name;

  // --- magic, version, counts
  await r.need(4, 'magic');
  if (r.u32() !== GGUF_MAGIC) {
    r.pos = 0;
    await r.need(Math.min(9, src.size), 'magic');
    throw new FormatError(file, 'magic', describeMagic(r.bytes(Math.min(9, src.size))));
  }
  await r.need(4, 'version');
  const version = r.u32();
  if (version !== 2 && version !== 3) {
    const why =
      version === 1
        ? 'GGUF v1 is no longer supported (re-convert the model with a current llama.cpp)'
        : (version & 0xffff) === 0 && version !== 0
          ? `version ${version} looks byte-swapped: a big-endian GGUF, which is not supported`
          : `unsupported GGUF version ${version} (this reader supports 2 and 3)`;
    throw new FormatError(file, 'version', why);
  }
  const tensorCount = await readCount(r, 'tensor_count', 'tensors', 24); // name len + n_dims + type + offset
  const kvCount = await readCount(r, 'kv_count', 'metadata entries', 13); // key len + type + 1-byte value
  if (tensorCount * 24 + kvCount * 13 > r.left) {
    const why = `${kvCount} metadata entries and ${tensorCount} tensors cannot fit in the ${r.left} bytes left`;
    throw new FormatError(file, 'kv_count', `${why} of the file`);
  }

  // --- metadata
  const metadata = new Map<string, GgufValue>();
  for (let i = 0; i < kvCount; i++) {
    const key = await readString(r, `metadata key #${i}`);
    if (metadata.has(key)) throw new FormatError(file, key, `duplicate metadata key (entry #${i})`);
    await r.need(4, key);
    const type = r.u32();
    metadata.set(key, await readValue(r, type, key));
  }

  const alignment = readAlignment(file, metadata.get('general.alignment'));

  // --- tensor infos
  const infos: { name: string; dims: number[]; type: number; rel: number; nbytes: number; nelements: number }[] = [];
  const seen = new Set<string>();
  for (let i = 0; i < tensorCount; i++) {
    const name = await readString(r, `tensor #${i} name`);
    const what = `tensor '${name}'`;
    if (seen.has(name)) throw new FormatError(file, what, `duplicate tensor name (tensor #${i})`);
    seen.add(name);
    await r.need(4, what);
    const nDims = r.u32();
    if (nDims > MAX_DIMS) throw new FormatError(file, what, `has ${nDims} dimensions; ggml allows at most ${MAX_DIMS}`);
    await r.need(8 * nDims + 4 + 8, what);
    const dims: number[] = [];
    let nelements = 1;
    for (let d = 0; d < nDims; d++) {
      const ne = r.u64n();
      nelements *= ne;
      if (ne < 0 || !Number.isSafeInteger(nelements)) {
        throw new FormatError(file, what, `dimension ${d} makes the element count absurd (over 2^53)`);
      }
      dims.push(ne);
    }
    const type = r.u32();
    const t = GGML_TYPES.get(type);
    if (!t) {
      const known = [...GGML_TYPES].map(([id, k]) => `${k.name}=${id}`).join(', ');
      throw new FormatError(file, what, `unknown ggml type ${type} (known: ${known})`);
    }
    const ne0 = nDims > 0 ? dims[0] : 1;
    if (ne0 % t.blockSize !== 0) {
      throw new FormatError(file, what, `ne0 = ${ne0} is not a multiple of the ${t.name} block size ${t.blockSize}`);
    }
    const rel = r.u64n();
    if (rel < 0) throw new FormatError(file, what, 'data offset is over 2^53 (corrupt file)');
    if (rel % alignment !== 0) {
      throw new FormatError(file, what, `data offset ${rel} is not a multiple of the alignment ${alignment}`);
    }
    infos.push({ name, dims, type, rel, nbytes: (nelements / t.blockSize) * t.typeSize, nelements });
  }

  // --- data section: starts at the first alignment boundary after the infos
  const dataOffset = Math.ceil(r.pos / alignment) * alignment;
  const tensors: GgufTensorInfo[] = infos.map((i) => ({
    name: i.name,
    dims: i.dims,
    type: i.type,
    offset: dataOffset + i.rel,
    nbytes: i.nbytes,
    nelements: i.nelements,
  }));
  for (const t of tensors) {
    if (t.offset + t.nbytes > src.size) {
      throw new FormatError(
        file,
        `tensor '${t.name}'`,
        `data (${ggmlTypeName(t.type)} [${t.dims.join(', ')}], bytes ${t.offset}..${t.offset + t.nbytes}) ` +
          `runs past the end of the ${src.size}-byte file (truncated download?)`,
      );
    }
  }
  checkOverlaps(file, tensors);
  checkLayout(file, infos, alignment, dataOffset, src.size);
  return {
    name: file,
    version,
    metadata,
    tensors,
    tensorsByName: new Map(tensors.map((t) => [t.name, t])),
    alignment,
    dataOffset,
  };
}

function readAlignment(file: string, v: GgufValue | undefined): number {
  if (v === undefined) return GGUF_DEFAULT_ALIGNMENT;
  if (v.type !== VT.UINT32) throw new FormatError(file, 'general.alignment', `must be a UINT32, got ${typeName(v.type)}`);
  if (v.value === 0 || (v.value & (v.value - 1)) !== 0) {
    throw new FormatError(file, 'general.alignment', `must be a power of two, got ${v.value}`);
  }
  return v.value;
}

/**
 * gguf.cpp's layout rule (gguf_init_from_file_impl: "tensor '%s' has offset %zu, expected %zu"): tensor i starts
 * where tensor i-1 ends, padded to the alignment; and ours: the file ends with the last tensor's padding at the
 * latest. Together they catch a data section that is not where the header puts it.
 */
function checkLayout(file: string, infos: readonly { name: string; rel: number; nbytes: number }[], alignment: number, dataOffset: number, size: number): void {
  let expected = 0;
  let end = 0; // where the last tensor's bytes end, relative to the data section
  for (const t of infos) {
    if (t.rel !== expected) {
      const why = `data offset ${t.rel} breaks the layout: tensors are packed in file order, each padded to the alignment ${alignment}`;
      throw new FormatError(file, `tensor '${t.name}'`, `${why}, so this one must start at ${expected} (corrupt file, or a wrong general.alignment)`);
    }
    end = t.rel + t.nbytes;
    expected = Math.ceil(end / alignment) * alignment;
  }
  const lastByte = infos.length === 0 ? dataOffset : dataOffset + expected;
  if (size > lastByte) {
    const after = infos.length === 0 ? 'the header and its padding' : `the last tensor's data (byte ${dataOffset + end}) and its padding`;
    const why = `${size - lastByte} bytes follow ${after}: the data section does not start where the header says`;
    throw new FormatError(file, 'data section', `${why} (a general.alignment of ${alignment} that the file was not written with, or a corrupt file)`);
  }
}

function checkOverlaps(file: string, tensors: readonly GgufTensorInfo[]): void {
  const sorted = tensors.filter((t) => t.nbytes > 0).sort((a, b) => a.offset - b.offset);
  for (let i = 1; i < sorted.length; i++) {
    const a = sorted[i - 1];
    const b = sorted[i];
    if (b.offset < a.offset + a.nbytes) {
      throw new FormatError(
        file,
        `tensor '${b.name}'`,
        `data (bytes ${b.offset}..${b.offset + b.nbytes}) overlaps tensor '${a.name}' (bytes ${a.offset}..${a.offset + a.nbytes})`,
      );
    }
  }
}

// --- tensor data ------------------------------------------------------------------------------------------------

function tensorInfo(file: GgufFile, name: string): GgufTensorInfo {
  const t = file.tensorsByName.get(name);
  if (!t) throw new TensorError(file.name, name, `not in this GGUF file (it has ${file.tensors.length} tensors)`);
  return t;
}

/** A tensor's shape in HF order (outermost first: GGUF lists dims innermost first), or undefined if absent. */
export function ggufTensorShape(file: GgufFile, name: string): number[] | undefined {
  const t = file.tensorsByName.get(name);
  return t ? [...t.dims].reverse() : undefined;
}

/** The tensor's raw bytes (ggml layout, rows of dims[0] elements). */
export async function readGgufTensorBytes(file: GgufFile, src: ByteSource, name: string): Promise<Uint8Array> {
  const t = tensorInfo(file, name);
  return src.read(t.offset, t.nbytes, `tensor '${name}'`);
}

/**
 * The tensor dequantized to f32, dims[0] fastest. With `finite`, a NaN or Inf in the stored data (an element, or a
 * block's scale) is a TensorError (reference/finite.ts), as the model loaders want.
 */
export async function readGgufTensorF32(file: GgufFile, src: ByteSource, name: string, opts: { finite?: boolean } = {}): Promise<Float32Array> {
  const t = tensorInfo(file, name);
  if (!GGML_TYPES.get(t.type)?.supported) {
    const ok = [...GGML_TYPES.values()].filter((k) => k.supported).map((k) => k.name).join(', ');
    const why = `has type ${ggmlTypeName(t.type)} (${t.type}), which this reader cannot dequantize`;
    throw new TensorError(file.name, name, `${why} (supported: ${ok})`);
  }
  const bytes = await readGgufTensorBytes(file, src, name);
  if (opts.finite) checkFinite(t.type, bytes, file.name, name);
  return dequantize(t.type, bytes, t.nelements);
}

// --- typed getters ----------------------------------------------------------------------------------------------

function unwrap(v: GgufValue): GgufPlain {
  if (v.type === VT.ARRAY && v.itemType === VT.ARRAY) return v.value.map(unwrap);
  return v.value;
}

/** The plain JS value of `key` (typed arrays for numeric arrays, bigint for u64/i64), or undefined. */
export function ggufGet(file: GgufFile, key: string): GgufPlain | undefined {
  const v = file.metadata.get(key);
  return v === undefined ? undefined : unwrap(v);
}

interface Opt {
  required?: boolean;
}

function lookup(file: GgufFile, key: string, opts: Opt | undefined, expected: string): GgufValue | undefined {
  const v = file.metadata.get(key);
  if (v === undefined && opts?.required) throw new FormatError(file.name, key, `missing metadata key (expected ${expected})`);
  return v;
}

function wrongType(file: GgufFile, key: string, expected: string, v: GgufValue): FormatError {
  const got = v.type === VT.ARRAY ? `ARRAY of ${typeName(v.itemType)}` : typeName(v.type);
  return new FormatError(file.name, key, `expected ${expected}, got ${got}`);
}

export function ggufString(file: GgufFile, key: string, opts: Opt & { required: true }): string;
export function ggufString(file: GgufFile, key: string, opts?: Opt): string | undefined;
export function ggufString(file: GgufFile, key: string, opts?: Opt): string | undefined {
  const v = lookup(file, key, opts, 'a STRING');
  if (v === undefined) return undefined;
  if (v.type !== VT.STRING) throw wrongType(file, key, 'a STRING', v);
  return v.value;
}

/** Any numeric scalar (u8..f64); u64/i64 only when they fit a JS number exactly. */
export function ggufNumber(file: GgufFile, key: string, opts: Opt & { required: true }): number;
export function ggufNumber(file: GgufFile, key: string, opts?: Opt): number | undefined;
export function ggufNumber(file: GgufFile, key: string, opts?: Opt): number | undefined {
  const v = lookup(file, key, opts, 'a number');
  if (v === undefined) return undefined;
  if (typeof v.value === 'number') return v.value;
  if (typeof v.value === 'bigint') return toSafeNumber(file, key, v.value);
  throw wrongType(file, key, 'a number', v);
}

function toSafeNumber(file: GgufFile, key: string, b: bigint): number {
  const n = Number(b);
  if (!Number.isSafeInteger(n)) throw new FormatError(file.name, key, `value ${b} does not fit a JS number exactly`);
  return n;
}

/** An array's items; with `itemType`, the item type is checked and the result typed (string[] for STRING...). */
export function ggufArray<T extends GgufValueType>(
  file: GgufFile,
  key: string,
  opts: Opt & { required: true; itemType: T },
): GgufArrayItems[T];
export function ggufArray<T extends GgufValueType>(
  file: GgufFile,
  key: string,
  opts: Opt & { itemType: T },
): GgufArrayItems[T] | undefined;
export function ggufArray(file: GgufFile, key: string, opts: Opt & { required: true }): GgufArray['value'];
export function ggufArray(file: GgufFile, key: string, opts?: Opt): GgufArray['value'] | undefined;
export function ggufArray(file: GgufFile, key: string, opts?: Opt & { itemType?: number }): GgufArray['value'] | undefined {
  const expected = opts?.itemType === undefined ? 'an ARRAY' : `an ARRAY of ${typeName(opts.itemType)}`;
  const v = lookup(file, key, opts, expected);
  if (v === undefined) return undefined;
  const ok = v.type === VT.ARRAY && (opts?.itemType === undefined || v.itemType === opts.itemType);
  if (!ok) throw wrongType(file, key, expected, v);
  return v.value;
}

/** A numeric array of any item type as number[] (e.g. head_count_kv, written as i32 or u32 by different tools). */
export function ggufNumbers(file: GgufFile, key: string, opts: Opt & { required: true }): number[];
export function ggufNumbers(file: GgufFile, key: string, opts?: Opt): number[] | undefined;
export function ggufNumbers(file: GgufFile, key: string, opts?: Opt): number[] | undefined {
  const v = lookup(file, key, opts, 'a numeric ARRAY');
  if (v === undefined) return undefined;
  if (v.type !== VT.ARRAY || !(v.itemType in TYPED)) throw wrongType(file, key, 'a numeric ARRAY', v);
  return Array.from(v.value as ArrayLike<number | bigint>, (x) => (typeof x === 'bigint' ? toSafeNumber(file, key, x) : x));
}

// --- value constructors -----------------------------------------------------------------------------------------

/** Concise GgufValue constructors: `gv.u32(1)`, `gv.f32(1e-5)`, `gv.arr(GgufValueType.INT32, [0, 8])`. */
export const gv = {
  u8: (value: number): GgufValue => ({ type: VT.UINT8, value }),
  i8: (value: number): GgufValue => ({ type: VT.INT8, value }),
  u16: (value: number): GgufValue => ({ type: VT.UINT16, value }),
  i16: (value: number): GgufValue => ({ type: VT.INT16, value }),
  u32: (value: number): GgufValue => ({ type: VT.UINT32, value }),
  i32: (value: number): GgufValue => ({ type: VT.INT32, value }),
  f32: (value: number): GgufValue => ({ type: VT.FLOAT32, value }),
  f64: (value: number): GgufValue => ({ type: VT.FLOAT64, value }),
  u64: (value: bigint | number): GgufValue => ({ type: VT.UINT64, value: BigInt(value) }),
  i64: (value: bigint | number): GgufValue => ({ type: VT.INT64, value: BigInt(value) }),
  bool: (value: boolean): GgufValue => ({ type: VT.BOOL, value }),
  str: (value: string): GgufValue => ({ type: VT.STRING, value }),
  strArr: (value: readonly string[]): GgufArray => ({ type: VT.ARRAY, itemType: VT.STRING, value: [...value] }),
  /** An array; plain number/bigint lists become the item type's typed array, range-checked (no silent wrap). */
  arr<T extends GgufValueType>(itemType: T, items: GgufArrayItems[T] | readonly unknown[]): GgufArray {
    if (!Array.isArray(items)) return { type: VT.ARRAY, itemType, value: items } as GgufArray;
    const big = itemType === VT.UINT64 || itemType === VT.INT64;
    const xs = big ? items.map((x) => (Number.isInteger(x) ? BigInt(x as number) : x)) : [...items];
    if (itemType !== VT.ARRAY) xs.forEach((x, i) => checkScalar(itemType, x, `item ${i}`, 'gv.arr'));
    const Ctor = TYPED[itemType];
    const value = Ctor ? (Ctor.from as (a: unknown[]) => unknown)(xs) : xs;
    return { type: VT.ARRAY, itemType, value } as GgufArray;
  },
};

// --- writer -----------------------------------------------------------------------------------------------------

export interface GgufTensorSpec {
  readonly name: string;
  /** ne[], innermost first. */
  readonly dims: readonly number[];
  readonly type: number;
  /** Exactly ggmlRowBytes(type, product of dims) bytes. */
  readonly data: Uint8Array;
}

export interface GgufWriteSpec {
  /** Default 3. */
  readonly version?: 2 | 3;
  /** Default: general.alignment from the metadata, else 32. Written to the metadata when it is not 32. */
  readonly alignment?: number;
  readonly metadata: Iterable<readonly [string, GgufValue]>;
  readonly tensors: readonly GgufTensorSpec[];
}

const WRITER = 'writeGguf';

/** A growable little-endian byte buffer for the header. */
class ByteWriter {
  private buf = new Uint8Array(1 << 16);
  private view = new DataView(this.buf.buffer);
  len = 0;
  private room(n: number): number {
    if (this.len + n > this.buf.length) {
      const bigger = new Uint8Array(Math.max(this.buf.length * 2, this.len + n));
      bigger.set(this.buf.subarray(0, this.len));
      this.buf = bigger;
      this.view = new DataView(bigger.buffer);
    }
    const p = this.len;
    this.len += n;
    return p;
  }
  // room() may swap buffers, so it runs before this.view / this.buf are read.
  u32(x: number): void {
    const p = this.room(4);
    this.view.setUint32(p, x, true);
  }
  u64(x: number | bigint): void {
    const p = this.room(8);
    this.view.setBigUint64(p, BigInt(x), true);
  }
  bytes(b: Uint8Array): void {
    const p = this.room(b.length);
    this.buf.set(b, p);
  }
  string(s: string): void {
    const b = utf8enc.encode(s);
    this.u64(b.length);
    this.bytes(b);
  }
  scalar(type: number, x: unknown): void {
    const p = this.room(FIXED_SIZE[type]);
    const v = this.view;
    switch (type) {
      case VT.UINT8: v.setUint8(p, x as number); break;
      case VT.INT8: v.setInt8(p, x as number); break;
      case VT.UINT16: v.setUint16(p, x as number, true); break;
      case VT.INT16: v.setInt16(p, x as number, true); break;
      case VT.UINT32: v.setUint32(p, x as number, true); break;
      case VT.INT32: v.setInt32(p, x as number, true); break;
      case VT.FLOAT32: if (Number.isNaN(x)) v.setUint32(p, 0x7fc00000, true); else v.setFloat32(p, x as number, true); break;
      case VT.BOOL: v.setUint8(p, x ? 1 : 0); break;
      case VT.UINT64: v.setBigUint64(p, x as bigint, true); break;
      case VT.INT64: v.setBigInt64(p, x as bigint, true); break;
      case VT.FLOAT64: if (Number.isNaN(x)) v.setBigUint64(p, 0x7ff8000000000000n, true); else v.setFloat64(p, x as number, true); break;
    }
  }
  padTo(alignment: number): void {
    this.room(padding(this.len, alignment));
  }
  result(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}
const utf8enc = new TextEncoder();

function padding(n: number, alignment: number): number {
  return (alignment - (n % alignment)) % alignment;
}

/** Throws unless `x` is a valid JS value for a scalar of `type` (no silent wrapping or lossy encoding). */
function checkScalar(type: number, x: unknown, field: string, file = WRITER): void {
  const bad = (want: string) => new FormatError(file, field, `${typeName(type)} value ${String(x)} is not ${want}`);
  const range = INT_RANGE[type];
  if (range) {
    const [lo, hi] = range;
    if (typeof x !== 'number' || !Number.isInteger(x) || x < lo || x > hi) throw bad(`an integer in ${lo}..${hi}`);
  } else if (type === VT.FLOAT32 || type === VT.FLOAT64) {
    if (typeof x !== 'number') throw bad('a number');
  } else if (type === VT.UINT64 || type === VT.INT64) {
    const [lo, hi] = type === VT.UINT64 ? [0n, U64_MAX] : [I64_MIN, I64_MAX];
    if (typeof x !== 'bigint' || x < lo || x > hi) throw bad(`a bigint in ${lo}..${hi}`);
  } else if (type === VT.BOOL) {
    if (typeof x !== 'boolean') throw bad('a boolean');
  } else if (type === VT.STRING) {
    if (typeof x !== 'string') throw bad('a string');
    // A lone surrogate would be written as U+FFFD and read back different.
    if (/\p{Cs}/u.test(x)) throw new FormatError(file, field, 'string has a lone UTF-16 surrogate (no UTF-8 for it)');
  } else {
    throw new FormatError(file, field, `unknown value type ${type}`);
  }
}

function writeValue(w: ByteWriter, v: GgufValue, key: string): void {
  if (v.type === VT.ARRAY) return writeArray(w, v, key, 0);
  checkScalar(v.type, v.value, key);
  if (v.type === VT.STRING) w.string(v.value);
  else w.scalar(v.type, v.value);
}

function writeArray(w: ByteWriter, a: GgufArray, key: string, depth: number): void {
  if (a.type !== VT.ARRAY) throw new FormatError(WRITER, key, `array item has type ${typeName(a.type)}, expected ARRAY`);
  if (depth > MAX_ARRAY_DEPTH) throw new FormatError(WRITER, key, `arrays nested deeper than ${MAX_ARRAY_DEPTH} levels`);
  const t = a.itemType;
  if (!Number.isInteger(t) || t < 0 || t > VT.FLOAT64) throw new FormatError(WRITER, key, `unknown array item type ${t}`);
  const items = a.value as ArrayLike<unknown>;
  w.u32(t);
  w.u64(items.length);
  const Ctor = TYPED[t];
  if (Ctor && items instanceof Ctor && LITTLE_ENDIAN_HOST) {
    // Same layout as the file: copy the bytes (keeps float bit patterns exactly).
    w.bytes(new Uint8Array(items.buffer, items.byteOffset, items.byteLength));
    return;
  }
  for (let i = 0; i < items.length; i++) {
    const x = items[i];
    if (t === VT.ARRAY) writeArray(w, x as GgufArray, key, depth + 1);
    else {
      checkScalar(t, x, key);
      if (t === VT.STRING) w.string(x as string);
      else w.scalar(t, x);
    }
  }
}

/**
 * Serializes a GGUF file as parts: [header + padding, tensor 0 data, padding, tensor 1 data, padding, ...].
 * Tensor data is not copied; write the parts in order (or concatParts them for small files). Tensors are
 * packed in the given order at aligned offsets, each padded to the alignment, as gguf.cpp writes them.
 */
export function writeGguf(spec: GgufWriteSpec): Uint8Array[] {
  const version = spec.version ?? 3;
  if (version !== 2 && version !== 3) throw new FormatError(WRITER, 'version', `can write GGUF 2 or 3, not ${String(version)}`);

  const metadata: [string, GgufValue][] = [];
  const keys = new Set<string>();
  for (const [key, value] of spec.metadata) {
    if (keys.has(key)) throw new FormatError(WRITER, key, 'duplicate metadata key');
    keys.add(key);
    metadata.push([key, value]);
  }
  const stated = metadata.find(([k]) => k === 'general.alignment')?.[1];
  const alignment = spec.alignment ?? (stated ? readAlignment(WRITER, stated) : GGUF_DEFAULT_ALIGNMENT);
  if (!Number.isInteger(alignment) || alignment < 1 || alignment > 0xffffffff || (alignment & (alignment - 1)) !== 0) {
    throw new FormatError(WRITER, 'general.alignment', `must be a power of two, got ${alignment}`);
  }
  if (stated && readAlignment(WRITER, stated) !== alignment) {
    throw new FormatError(WRITER, 'general.alignment', `metadata says ${String(stated.value)} but the spec asks for ${alignment}`);
  }
  // A reader only learns a non-default alignment from the metadata.
  if (!stated && alignment !== GGUF_DEFAULT_ALIGNMENT) metadata.push(['general.alignment', gv.u32(alignment)]);

  const names = new Set<string>();
  const sizes = spec.tensors.map((t) => {
    if (names.has(t.name)) throw new TensorError(WRITER, t.name, 'duplicate tensor name');
    names.add(t.name);
    const fail = (msg: string) => new TensorError(WRITER, t.name, msg);
    if (utf8enc.encode(t.name).length >= MAX_NAME_BYTES) throw fail(`name is ${MAX_NAME_BYTES} bytes or longer (ggml's limit)`);
    const info = GGML_TYPES.get(t.type);
    if (!info) throw fail(`unknown ggml type ${t.type}`);
    const shape = `${info.name} [${t.dims.join(', ')}]`;
    if (t.dims.length > MAX_DIMS) throw fail(`${shape} has ${t.dims.length} dims; ggml allows at most ${MAX_DIMS}`);
    let n = 1;
    for (const d of t.dims) {
      if (!Number.isSafeInteger(d) || d < 0) throw fail(`${shape} has a bad dimension ${d}`);
      n *= d;
    }
    const ne0 = t.dims.length > 0 ? t.dims[0] : 1;
    if (ne0 % info.blockSize !== 0) throw fail(`ne0 = ${ne0} is not a multiple of the ${info.name} block size ${info.blockSize}`);
    const nbytes = (n / info.blockSize) * info.typeSize;
    if (t.data.length !== nbytes) throw fail(`${shape} needs ${nbytes} bytes, data has ${t.data.length}`);
    return nbytes;
  });

  const w = new ByteWriter();
  w.u32(GGUF_MAGIC);
  w.u32(version);
  w.u64(spec.tensors.length);
  w.u64(metadata.length);
  for (const [key, value] of metadata) {
    w.string(key);
    w.u32(value.type);
    writeValue(w, value, key);
  }
  let rel = 0;
  spec.tensors.forEach((t, i) => {
    w.string(t.name);
    w.u32(t.dims.length);
    for (const d of t.dims) w.u64(d);
    w.u32(t.type);
    w.u64(rel);
    rel += sizes[i] + padding(sizes[i], alignment);
  });
  w.padTo(alignment);

  const zeros = new Uint8Array(alignment);
  const parts = [w.result()];
  spec.tensors.forEach((t, i) => {
    parts.push(t.data);
    const pad = padding(sizes[i], alignment);
    if (pad > 0) parts.push(zeros.subarray(0, pad));
  });
  return parts;
}

/** Joins writeGguf's parts into one buffer (small files, tests). */
export function concatParts(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
