// HF safetensors: read a file's header and tensors through a ByteSource, write small files, and open an HF model
// folder (config.json + model.safetensors, or shards listed in model.safetensors.index.json).
//
// Mirrors the Rust crate huggingface/safetensors (safetensors/src/tensor.rs: `SafeTensors::read_metadata`,
// `Metadata::validate`, `prepare`) and transformers' choice of weight files (a single model.safetensors wins over
// an index). Layout, all integers little-endian:
//
//   [0, 8)          u64 N = header length in bytes
//   [8, 8+N)        UTF-8 JSON { "__metadata__"?: {str: str}, name: {dtype, shape, data_offsets: [begin, end]}, ... }
//                   (the writers pad it with spaces so that N is a multiple of 8)
//   [8+N, size)     the data buffer; data_offsets are relative to its start; tensors are row-major (C order)
//
// The reader validates what the Rust crate validates, and says which file and which field or tensor is wrong:
// header length (more than 100 MB is absurd, past the end is a truncated file), UTF-8, JSON object, string-valued
// __metadata__, known dtype, shape (non-negative integers), data_offsets ([begin, end], begin <= end), byte size ==
// product(shape) * dtype size, tensors inside the data buffer (past the end = truncated), no overlaps, no holes
// (the tensors must tile the data buffer exactly, trailing bytes included).
//
// Alignment: the format does not require it, and files written before the writers padded their header (or by
// other tools) can hold an F32 tensor at a file offset that is not a multiple of 4. So by default such files are
// ACCEPTED and readSafetensorF32 copies unaligned bytes before viewing them; a caller that wants zero-copy views
// (mmap-like uploads into wasm memory) passes { requireAligned: true } and gets a FormatError that says
// "misaligned", names the tensor, its dtype and its absolute offset. Our writer always produces aligned files.
//
// Deliberately left out: big-endian hosts get a slower DataView path, nothing more; conversion of dtypes other than
// F32/F16/BF16 (they are recognised and reported as "known but unsupported"); duplicate keys inside one header
// (JSON.parse keeps the last, as serde_json does for maps).
//
// Verdict on the `safetensors` npm package (0.0.1, one release, no types, ISC): not fit for purpose, so this file
// is our own. It parses only a whole file already in memory (or fetches it whole and caches it in IndexedDB), so
// it cannot read a 2.3 GB checkpoint through a ByteSource. It validates nothing (no length, offset, size,
// overlap or dtype checks), treats "__metadata__" as a tensor (crashing on its missing data_offsets), and builds
// its DataView over `buffer.buffer`, which is wrong for a Uint8Array that does not start at offset 0. It has no
// BF16/F16 conversion (it returns raw byte views), no writer and no shard support, and its loader is browser-only
// (window/indexedDB/fetch).

import { checkRange, readText, type ByteSource, type FileSet } from './bytes.js';
import { ConfigError, FormatError, TensorError } from './errors.js';
import { f16ToF32Table, f32ToBf16, f32ToF16 } from './f16.js';

// --- dtypes --------------------------------------------------------------------------------------------------------

/** Every dtype the safetensors format defines, in the Rust crate's enum order (increasing alignment). */
export const SAFETENSORS_DTYPE_NAMES = [
  'BOOL', 'F4', 'F6_E2M3', 'F6_E3M2', 'U8', 'I8', 'F8_E5M2', 'F8_E4M3', 'F8_E8M0',
  'I16', 'U16', 'F16', 'BF16', 'I32', 'U32', 'F32', 'C64', 'F64', 'I64', 'U64',
] as const;
export type SafetensorsDtype = (typeof SAFETENSORS_DTYPE_NAMES)[number];

/** The dtypes readSafetensorF32 converts to f32 (and writeSafetensors converts f32 data to). */
export const SAFETENSORS_F32_DTYPES = ['F32', 'F16', 'BF16'] as const;
export type SafetensorsFloatDtype = (typeof SAFETENSORS_F32_DTYPES)[number];

/** Bits per element (the Rust crate's `Dtype::bitsize`). */
const DTYPE_BITS: Readonly<Record<SafetensorsDtype, number>> = {
  BOOL: 8, F4: 4, F6_E2M3: 6, F6_E3M2: 6, U8: 8, I8: 8, F8_E5M2: 8, F8_E4M3: 8, F8_E8M0: 8,
  I16: 16, U16: 16, F16: 16, BF16: 16, I32: 32, U32: 32, F32: 32, C64: 64, F64: 64, I64: 64, U64: 64,
};

export function isSafetensorsDtype(s: string): s is SafetensorsDtype {
  return Object.prototype.hasOwnProperty.call(DTYPE_BITS, s);
}

/** Bits per element of a dtype. */
export function safetensorsDtypeBits(dtype: SafetensorsDtype): number {
  return DTYPE_BITS[dtype];
}

/** Byte alignment a zero-copy typed-array view of the dtype needs (1 for byte and sub-byte types; C64 = 2 x f32). */
function dtypeAlignment(dtype: SafetensorsDtype): number {
  if (dtype === 'C64') return 4;
  return DTYPE_BITS[dtype] >= 8 ? DTYPE_BITS[dtype] / 8 : 1;
}

const SUPPORTED_LIST = SAFETENSORS_F32_DTYPES.join(', ');

// --- header --------------------------------------------------------------------------------------------------------

/** One tensor of a safetensors file; begin/end are ABSOLUTE file offsets (data_offsets + dataOffset). */
export interface SafetensorsTensorInfo {
  readonly name: string;
  readonly dtype: SafetensorsDtype;
  readonly shape: number[];
  readonly begin: number;
  readonly end: number;
}

export interface SafetensorsFile {
  /** The source's name (for error messages). */
  readonly name: string;
  /** File size in bytes. */
  readonly size: number;
  /** The string-to-string `__metadata__` map ({} when absent). */
  readonly metadata: Record<string, string>;
  /** Tensors by name, in header order. */
  readonly tensors: Map<string, SafetensorsTensorInfo>;
  /** Absolute offset of the data buffer: 8 + header length. */
  readonly dataOffset: number;
}

export interface SafetensorsReadOptions {
  /** Reject tensors whose absolute offset is not a multiple of their element size (default false: accept). */
  requireAligned?: boolean;
}

/** The Rust crate's MAX_HEADER_SIZE: a longer header means a corrupt file or not a safetensors file at all. */
export const SAFETENSORS_MAX_HEADER = 100_000_000;

/**
 * Reads and validates the header of a safetensors file: the 8-byte length and the JSON header, never the data.
 * Throws FormatError naming the file and the field or tensor at fault.
 */
export async function readSafetensorsHeader(src: ByteSource, options: SafetensorsReadOptions = {}): Promise<SafetensorsFile> {
  const file = src.name;
  checkRange(file, src.size, 0, 8, 'header length (first 8 bytes)');
  const lenBytes = await src.read(0, 8, 'header length (first 8 bytes)');
  const n64 = new DataView(lenBytes.buffer, lenBytes.byteOffset, 8).getBigUint64(0, true);
  if (n64 > BigInt(SAFETENSORS_MAX_HEADER)) {
    throw new FormatError(file, 'header length', `${n64} bytes is more than the ${SAFETENSORS_MAX_HEADER}-byte limit of the safetensors format (corrupt file, or not a safetensors file)`);
  }
  const n = Number(n64);
  if (8 + n > src.size) {
    throw new FormatError(file, 'header length', `the header claims ${n} bytes but the file has only ${src.size - 8} after the length (truncated or corrupt file)`);
  }
  const headerBytes = await src.read(8, n, 'header');
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(headerBytes);
  } catch {
    throw new FormatError(file, 'header', 'is not valid UTF-8');
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new FormatError(file, 'header', `is not valid JSON (${(e as Error).message})`);
  }
  if (!isPlainObject(json)) throw new FormatError(file, 'header', `is not a JSON object (got ${describe(json)})`);

  const dataOffset = 8 + n;
  const dataLength = src.size - dataOffset;
  let metadata: Record<string, string> = {};
  const tensors = new Map<string, SafetensorsTensorInfo>();
  for (const [key, value] of Object.entries(json)) {
    if (key === '__metadata__') {
      metadata = parseMetadata(file, value);
      continue;
    }
    tensors.set(key, parseTensorEntry(file, key, value, dataOffset, dataLength));
  }
  checkTiling(file, tensors, dataOffset, dataLength);
  if (options.requireAligned) {
    for (const t of tensors.values()) {
      const a = dtypeAlignment(t.dtype);
      if (t.begin % a !== 0) {
        throw new FormatError(file, `tensor '${t.name}'`, `misaligned: ${t.dtype} data starts at file offset ${t.begin}, not a multiple of ${a} (header length ${n} is not padded to 8, or the data_offsets are not aligned)`);
      }
    }
  }
  return { name: file, size: src.size, metadata, tensors, dataOffset };
}

function parseMetadata(file: string, value: unknown): Record<string, string> {
  if (value === null) return {}; // the Rust crate reads `Option<HashMap>`: null is "no metadata"
  if (!isPlainObject(value)) throw new FormatError(file, '__metadata__', `must be an object of strings, got ${describe(value)}`);
  const entries = Object.entries(value);
  for (const [k, v] of entries) {
    if (typeof v !== 'string') throw new FormatError(file, `__metadata__['${k}']`, `must be a string, got ${describe(v)}`);
  }
  return Object.fromEntries(entries) as Record<string, string>; // fromEntries: a '__proto__' key stays a key
}

function parseTensorEntry(file: string, name: string, value: unknown, dataOffset: number, dataLength: number): SafetensorsTensorInfo {
  const field = `tensor '${name}'`;
  if (!isPlainObject(value)) throw new FormatError(file, field, `must be an object {dtype, shape, data_offsets}, got ${describe(value)}`);
  const { dtype, shape, data_offsets: offsets } = value as Record<string, unknown>;
  if (typeof dtype !== 'string') throw new FormatError(file, `${field}.dtype`, `must be a string, got ${describe(dtype)}`);
  if (!isSafetensorsDtype(dtype)) {
    throw new FormatError(file, `${field}.dtype`, `unknown dtype '${dtype}' (safetensors dtypes: ${SAFETENSORS_DTYPE_NAMES.join(', ')}; this reader converts ${SUPPORTED_LIST})`);
  }
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw new FormatError(file, `${field}.shape`, `must be an array of non-negative integers, got ${shownList(shape)}`);
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0)) {
    throw new FormatError(file, `${field}.data_offsets`, `must be [begin, end] with non-negative integers, got ${shownList(offsets)}`);
  }
  const [b, e] = offsets as [number, number];
  if (b > e) throw new FormatError(file, `${field}.data_offsets`, `[${b}, ${e}] has begin > end`);
  const nbytes = byteSize(dtype, shape as number[]);
  if (nbytes === null) {
    throw new FormatError(file, `${field}.shape`, `${dtype} ${JSON.stringify(shape)} is not a whole number of bytes, or too large`);
  }
  if (e - b !== nbytes) {
    throw new FormatError(file, `${field}.data_offsets`, `[${b}, ${e}] spans ${e - b} bytes but ${dtype} ${JSON.stringify(shape)} needs ${nbytes}`);
  }
  if (e > dataLength) {
    throw new FormatError(file, `${field}.data_offsets`, `[${b}, ${e}] ends past the data buffer, which has only ${dataLength} bytes (truncated file)`);
  }
  return { name, dtype, shape: (shape as number[]).slice(), begin: dataOffset + b, end: dataOffset + e };
}

/** Bytes of a tensor, or null when the bit count is not a multiple of 8 or overflows a safe integer. */
function byteSize(dtype: SafetensorsDtype, shape: readonly number[]): number | null {
  let count = 1;
  for (const d of shape) {
    count *= d;
    if (!Number.isSafeInteger(count)) return null;
  }
  const bits = count * DTYPE_BITS[dtype];
  if (!Number.isSafeInteger(bits) || bits % 8 !== 0) return null;
  return bits / 8;
}

/** Tensors must tile [0, dataLength) of the data buffer: no overlaps, no holes, nothing after the last tensor. */
function checkTiling(file: string, tensors: Map<string, SafetensorsTensorInfo>, dataOffset: number, dataLength: number): void {
  const sorted = [...tensors.values()].sort((x, y) => x.begin - y.begin || x.end - y.end);
  let end = 0; // relative offset where the previous tensor ended
  let prev: SafetensorsTensorInfo | null = null;
  for (const t of sorted) {
    const b = t.begin - dataOffset;
    const e = t.end - dataOffset;
    if (b < end) {
      throw new FormatError(file, `tensor '${t.name}'.data_offsets`, `[${b}, ${e}] overlaps tensor '${prev!.name}' [${prev!.begin - dataOffset}, ${end}]`);
    }
    if (b > end) {
      const after = prev ? `tensor '${prev.name}' ends at ${end}` : 'the data buffer starts at 0';
      throw new FormatError(file, `tensor '${t.name}'.data_offsets`, `[${b}, ${e}] leaves a hole: ${after}, so bytes ${end}..${b} belong to no tensor (safetensors forbids holes)`);
    }
    end = e;
    prev = t;
  }
  if (end !== dataLength) {
    throw new FormatError(file, 'data buffer', `has ${dataLength} bytes but the tensors cover only 0..${end}: bytes ${end}..${dataLength} belong to no tensor (safetensors forbids holes)`);
  }
}

// --- tensor data ---------------------------------------------------------------------------------------------------

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function tensorInfo(file: SafetensorsFile, name: string): SafetensorsTensorInfo {
  const t = file.tensors.get(name);
  if (!t) {
    const some = [...file.tensors.keys()].slice(0, 5).map((k) => `'${k}'`).join(', ');
    throw new TensorError(file.name, name, `not in this file (it has ${file.tensors.size} tensors${some ? `: ${some}${file.tensors.size > 5 ? ', ...' : ''}` : ''})`);
  }
  return t;
}

/** The raw little-endian bytes of one tensor, exactly as stored. */
export async function readSafetensorBytes(file: SafetensorsFile, src: ByteSource, name: string): Promise<Uint8Array> {
  const t = tensorInfo(file, name);
  return src.read(t.begin, t.end - t.begin, `tensor '${name}'`);
}

/**
 * One tensor as a fresh Float32Array (row-major, shape `file.tensors.get(name).shape`), widening F16/BF16 exactly.
 * TensorError for an unknown name or a dtype other than F32/F16/BF16. Source bytes at any alignment are fine.
 */
export async function readSafetensorF32(file: SafetensorsFile, src: ByteSource, name: string): Promise<Float32Array> {
  const t = tensorInfo(file, name);
  if (t.dtype !== 'F32' && t.dtype !== 'F16' && t.dtype !== 'BF16') {
    throw new TensorError(file.name, name, `dtype ${t.dtype} is a valid safetensors dtype, but this reader converts only ${SUPPORTED_LIST} to f32`);
  }
  const nbytes = t.end - t.begin;
  const count = nbytes / (DTYPE_BITS[t.dtype] / 8);
  const out = new Float32Array(count);
  if (count === 0) return out;
  const bytes = await src.read(t.begin, nbytes, `tensor '${name}'`);
  if (!LITTLE_ENDIAN) return readF32BigEndianHost(t.dtype, bytes, out);
  if (t.dtype === 'F32') {
    new Uint8Array(out.buffer).set(bytes); // one copy; any source alignment
    return out;
  }
  const aligned = bytes.byteOffset % 2 === 0 ? bytes : bytes.slice();
  const u16 = new Uint16Array(aligned.buffer, aligned.byteOffset, count);
  if (t.dtype === 'F16') {
    const table = f16ToF32Table();
    for (let i = 0; i < count; i++) out[i] = table[u16[i]];
  } else {
    const u32 = new Uint32Array(out.buffer); // bf16 is the top half of an f32: exact, NaN payloads kept
    for (let i = 0; i < count; i++) u32[i] = u16[i] << 16;
  }
  return out;
}

function readF32BigEndianHost(dtype: SafetensorsFloatDtype, bytes: Uint8Array, out: Float32Array): Float32Array {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const table = dtype === 'F16' ? f16ToF32Table() : null;
  for (let i = 0; i < out.length; i++) {
    if (dtype === 'F32') out[i] = dv.getFloat32(4 * i, true);
    else if (table) out[i] = table[dv.getUint16(2 * i, true)];
    else out[i] = new Float32Array(new Uint32Array([dv.getUint16(2 * i, true) << 16]).buffer)[0];
  }
  return out;
}

// --- writer --------------------------------------------------------------------------------------------------------

/** A tensor to write: f32 data converted to F32/F16/BF16 (round to nearest even), or raw bytes of any dtype. */
export type SafetensorsWriteTensor =
  | { name: string; dtype: SafetensorsFloatDtype; shape: readonly number[]; data: Float32Array }
  | { name: string; dtype: SafetensorsDtype; shape: readonly number[]; bytes: Uint8Array };

/**
 * A whole safetensors file in memory, byte-identical to what the Rust crate (and so Python's save_file) writes for
 * the same tensors: tensors ordered by decreasing dtype alignment, then by name (code-point order), which keeps
 * every tensor aligned; the header JSON compact, `__metadata__` first (keys sorted) when given, padded with
 * spaces to a multiple of 8 bytes. Throws TensorError('writeSafetensors', name, ...) for bad input.
 */
export function writeSafetensors(tensors: readonly SafetensorsWriteTensor[], metadata?: Record<string, string>): Uint8Array {
  const W = 'writeSafetensors';
  const seen = new Set<string>();
  for (const t of tensors) {
    if (t.name === '__metadata__') throw new TensorError(W, t.name, 'this name is reserved for the metadata map');
    if (seen.has(t.name)) throw new TensorError(W, t.name, 'given twice');
    if (!isWellFormed(t.name)) throw new TensorError(W, t.name, 'name holds a lone UTF-16 surrogate');
    seen.add(t.name);
    if (!isSafetensorsDtype(t.dtype)) throw new TensorError(W, t.name, `unknown dtype '${t.dtype}'`);
    if (!t.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw new TensorError(W, t.name, `shape ${JSON.stringify(t.shape)} must hold non-negative integers`);
    }
    const nbytes = byteSize(t.dtype, t.shape);
    if (nbytes === null) throw new TensorError(W, t.name, `${t.dtype} ${JSON.stringify(t.shape)} is not a whole number of bytes`);
    if ('data' in t) {
      if (t.dtype !== 'F32' && t.dtype !== 'F16' && t.dtype !== 'BF16') {
        throw new TensorError(W, t.name, `f32 data can be written as ${SUPPORTED_LIST} only; pass bytes for ${t.dtype}`);
      }
      const count = nbytes / (DTYPE_BITS[t.dtype] / 8);
      if (t.data.length !== count) throw new TensorError(W, t.name, `data has ${t.data.length} values but shape ${JSON.stringify(t.shape)} needs ${count}`);
    } else if (t.bytes.byteLength !== nbytes) {
      throw new TensorError(W, t.name, `bytes has ${t.bytes.byteLength} bytes but ${t.dtype} ${JSON.stringify(t.shape)} needs ${nbytes}`);
    }
  }
  if (metadata) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') throw new TensorError(W, '__metadata__', `value of '${k}' must be a string`);
      if (!isWellFormed(k) || !isWellFormed(v)) throw new TensorError(W, '__metadata__', `entry '${k}' holds a lone UTF-16 surrogate`);
    }
  }

  const rank = (d: SafetensorsDtype) => SAFETENSORS_DTYPE_NAMES.indexOf(d);
  const order = [...tensors].sort((x, y) => rank(y.dtype) - rank(x.dtype) || compareCodePoints(x.name, y.name));

  // Header, built by hand so that integer-like names keep our order (a JS object would move them first).
  const parts: string[] = [];
  if (metadata) {
    const keys = Object.keys(metadata).sort(compareCodePoints);
    parts.push(`"__metadata__":{${keys.map((k) => `${JSON.stringify(k)}:${JSON.stringify(metadata[k])}`).join(',')}}`);
  }
  let offset = 0;
  const placed: { t: SafetensorsWriteTensor; begin: number; nbytes: number }[] = [];
  for (const t of order) {
    const nbytes = byteSize(t.dtype, t.shape)!;
    parts.push(`${JSON.stringify(t.name)}:{"dtype":"${t.dtype}","shape":[${t.shape.join(',')}],"data_offsets":[${offset},${offset + nbytes}]}`);
    placed.push({ t, begin: offset, nbytes });
    offset += nbytes;
  }
  const json = new TextEncoder().encode(`{${parts.join(',')}}`);
  const n = Math.ceil(json.length / 8) * 8;
  const out = new Uint8Array(8 + n + offset);
  const dv = new DataView(out.buffer);
  dv.setBigUint64(0, BigInt(n), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + n);

  const base = 8 + n;
  for (const { t, begin, nbytes } of placed) {
    const at = base + begin;
    if (!('data' in t)) {
      out.set(t.bytes, at);
    } else if (t.dtype === 'F32') {
      if (LITTLE_ENDIAN) out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, nbytes), at);
      else for (let i = 0; i < t.data.length; i++) dv.setFloat32(at + 4 * i, t.data[i], true);
    } else {
      const conv = t.dtype === 'F16' ? f32ToF16 : f32ToBf16;
      for (let i = 0; i < t.data.length; i++) dv.setUint16(at + 2 * i, conv(t.data[i]), true);
    }
  }
  return out;
}

function compareCodePoints(a: string, b: string): number {
  // Rust orders String by UTF-8 bytes = code points; JS `<` compares UTF-16 units, which differs above U+FFFF.
  const ia = a[Symbol.iterator]();
  const ib = b[Symbol.iterator]();
  for (;;) {
    const x = ia.next();
    const y = ib.next();
    if (x.done || y.done) return x.done && y.done ? 0 : x.done ? -1 : 1;
    const d = x.value.codePointAt(0)! - y.value.codePointAt(0)!;
    if (d !== 0) return d;
  }
}

function isWellFormed(s: string): boolean {
  return !/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(s);
}

// --- HF model folder -----------------------------------------------------------------------------------------------

export const HF_CONFIG_FILE = 'config.json';
export const HF_WEIGHTS_FILE = 'model.safetensors';
export const HF_WEIGHTS_INDEX_FILE = 'model.safetensors.index.json';

export interface HfTensorInfo {
  readonly dtype: SafetensorsDtype;
  readonly shape: number[];
  /** The weight file holding it (model.safetensors or a shard name). */
  readonly file: string;
}

export interface HfFolder {
  readonly name: string;
  /** Parsed config.json (a JSON object; reference/config.ts interprets it). */
  readonly config: unknown;
  /** All tensor names, sorted. */
  tensorNames(): string[];
  has(name: string): boolean;
  /** dtype and shape of a tensor; TensorError when absent. */
  info(name: string): HfTensorInfo;
  /** A tensor as f32 (F32/F16/BF16 stored); TensorError when absent or of another dtype. */
  readF32(name: string): Promise<Float32Array>;
  /** A tensor's stored little-endian bytes (for uploading BF16/F16 weights without widening them). */
  readRaw(name: string): Promise<Uint8Array>;
  /** Closes every weight file. Reads after close() reject. */
  close(): Promise<void>;
}

/**
 * Opens an HF model folder: config.json, then model.safetensors if present (as transformers does), else the shards
 * of model.safetensors.index.json. Every weight file's header is read and validated now; tensor data is read on
 * demand through sources kept open until close(). The index is checked against the shards: every shard exists,
 * each weight_map tensor is in its shard, no tensor is in two shards, no shard holds a tensor weight_map omits.
 */
export async function openHfFolder(files: FileSet, options: SafetensorsReadOptions = {}): Promise<HfFolder> {
  const folder = files.name;
  const configPath = `${folder}/${HF_CONFIG_FILE}`;
  const configText = await readText(files, HF_CONFIG_FILE);
  if (configText === null) {
    throw new ConfigError(configPath, HF_CONFIG_FILE, `missing: an HF model folder needs ${HF_CONFIG_FILE} beside its weights`);
  }
  const config = parseJsonObject(configText, configPath);

  const opened: ByteSource[] = [];
  const closeAll = async () => {
    await Promise.all(opened.splice(0).map((s) => s.close?.()));
  };
  // name -> [header of its file, the file's source]
  const where = new Map<string, { file: SafetensorsFile; src: ByteSource; fileName: string }>();
  try {
    const single = await files.open(HF_WEIGHTS_FILE);
    if (single) {
      opened.push(single);
      const header = await readSafetensorsHeader(single, options);
      for (const name of header.tensors.keys()) where.set(name, { file: header, src: single, fileName: HF_WEIGHTS_FILE });
    } else {
      const indexText = await readText(files, HF_WEIGHTS_INDEX_FILE);
      if (indexText === null) {
        throw new FormatError(folder, 'weights', `neither ${HF_WEIGHTS_FILE} nor ${HF_WEIGHTS_INDEX_FILE} is in this folder`);
      }
      await loadShards(files, indexText, options, opened, where);
    }
  } catch (e) {
    await closeAll();
    throw e;
  }

  let closed = false;
  const lookup = (name: string) => {
    const w = where.get(name);
    if (!w) throw new TensorError(folder, name, `not in this model folder (${where.size} tensors)`);
    if (closed) throw new TensorError(folder, name, 'the model folder is closed');
    return w;
  };
  const names = [...where.keys()].sort();
  return {
    name: folder,
    config,
    tensorNames: () => names.slice(),
    has: (name) => where.has(name),
    info(name) {
      const w = lookup(name);
      const t = w.file.tensors.get(name)!;
      return { dtype: t.dtype, shape: t.shape.slice(), file: w.fileName };
    },
    async readF32(name) {
      const w = lookup(name);
      return readSafetensorF32(w.file, w.src, name);
    },
    async readRaw(name) {
      const w = lookup(name);
      return readSafetensorBytes(w.file, w.src, name);
    },
    async close() {
      closed = true;
      await closeAll();
    },
  };
}

async function loadShards(
  files: FileSet,
  indexText: string,
  options: SafetensorsReadOptions,
  opened: ByteSource[],
  where: Map<string, { file: SafetensorsFile; src: ByteSource; fileName: string }>,
): Promise<void> {
  const indexPath = `${files.name}/${HF_WEIGHTS_INDEX_FILE}`;
  const index = parseJsonObject(indexText, indexPath);
  const weightMap = index.weight_map;
  if (!isPlainObject(weightMap)) throw new FormatError(indexPath, 'weight_map', `must be an object {tensor: shard file}, got ${describe(weightMap)}`);
  const byShard = new Map<string, string[]>();
  for (const [tensor, shard] of Object.entries(weightMap)) {
    if (typeof shard !== 'string') throw new FormatError(indexPath, `weight_map['${tensor}']`, `must be a file name string, got ${describe(shard)}`);
    if (shard === '' || shard === '.' || shard === '..' || /[/\\]/.test(shard)) {
      throw new FormatError(indexPath, `weight_map['${tensor}']`, `'${shard}' is not a plain file name inside the folder`);
    }
    let list = byShard.get(shard);
    if (!list) byShard.set(shard, (list = []));
    list.push(tensor);
  }
  const shards = [...byShard.keys()].sort();
  const headers = new Map<string, { file: SafetensorsFile; src: ByteSource }>();
  for (const shard of shards) {
    const src = await files.open(shard);
    if (!src) {
      const listed = byShard.get(shard)!;
      throw new FormatError(indexPath, 'weight_map', `shard '${shard}' (holding '${listed[0]}'${listed.length > 1 ? ` and ${listed.length - 1} more tensors` : ''}) is missing from ${files.name}`);
    }
    opened.push(src);
    headers.set(shard, { file: await readSafetensorsHeader(src, options), src });
  }
  // No tensor in two shards (checked before the weight_map so that the message names both files).
  const owner = new Map<string, string>();
  for (const shard of shards) {
    const h = headers.get(shard)!;
    for (const name of h.file.tensors.keys()) {
      const first = owner.get(name);
      if (first !== undefined) throw new TensorError(h.file.name, name, `is also in shard '${first}': a tensor may live in one shard only`);
      owner.set(name, shard);
    }
  }
  for (const shard of shards) {
    const h = headers.get(shard)!;
    for (const tensor of byShard.get(shard)!) {
      if (!h.file.tensors.has(tensor)) {
        const actual = owner.get(tensor);
        throw new TensorError(h.file.name, tensor, `is listed in ${HF_WEIGHTS_INDEX_FILE} weight_map for this shard but is not in it${actual ? ` (it is in '${actual}')` : ''}`);
      }
      where.set(tensor, { ...h, fileName: shard });
    }
  }
  for (const [name, shard] of owner) {
    if (!where.has(name)) throw new TensorError(headers.get(shard)!.file.name, name, `is in this shard but ${HF_WEIGHTS_INDEX_FILE} weight_map does not list it`);
  }
}

// --- small helpers -------------------------------------------------------------------------------------------------

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v)}`;
  return typeof v === 'object' ? 'an object' : `${typeof v} ${String(v)}`;
}

/** A short list of scalars as JSON (`[1,-2]`), anything else described (never a deep or huge JSON dump). */
function shownList(v: unknown): string {
  if (Array.isArray(v) && v.length <= 8 && v.every((x) => x === null || typeof x !== 'object')) {
    return JSON.stringify(v.map((x) => (typeof x === 'string' && x.length > 20 ? `${x.slice(0, 20)}...` : x)));
  }
  return describe(v);
}

function parseJsonObject(text: string, path: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new FormatError(path, 'json', `is not valid JSON (${(e as Error).message})`);
  }
  if (!isPlainObject(v)) throw new FormatError(path, 'json', `must be a JSON object, got ${describe(v)}`);
  return v;
}
