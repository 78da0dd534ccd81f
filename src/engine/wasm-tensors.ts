// Tensors into WASM memory: the engine's view of a model file (GGUF raw blocks streamed in row ranges, HF
// safetensors converted in chunks) and the streaming conversion of one matrix into its layout.
//
// Nothing here holds a whole file or a whole tensor in a JS buffer (except HF tensors, read whole then converted
// in chunks): rows go through a staging area inside WASM memory a few MiB at a time.

import { TensorError } from '../../reference/errors.js';
import { checkFinite } from '../../reference/finite.js';
import { configFromGguf, configFromHf, type Lfm2Config } from '../../reference/config.js';
import { GgmlType, ggmlRowBytes } from '../../reference/ggml-type.js';
import { ggufGet, ggufTensorShape, readGguf, type GgufFile } from '../../reference/gguf.js';
import type { ModelInput } from '../../reference/load.js';
import { dequantize } from '../../reference/quant.js';
import { openHfFolder, type HfFolder } from '../../reference/safetensors.js';
import type { ByteSource } from '../../reference/bytes.js';
import { WeightCode } from './wasm-layout.js';
import type { Arena, WasmExports } from './wasm-module.js';

/** A model file's tensors as the engine reads them: names, HF-order shapes, stored types, raw row ranges. */
export interface RawTensors {
  name: string;
  naming: 'gguf' | 'hf';
  names(): string[];
  shape(name: string): number[] | undefined;
  /** ggml type id of the stored data (safetensors F32/F16/BF16 map to the same ids). */
  type(name: string): number;
  /** Bytes of rows [r0, r0+n) of a 2-D tensor with rows of K elements (or the whole tensor when 1-D). */
  readRows(name: string, r0: number, n: number, K: number): Promise<Uint8Array>;
  /** The same bytes written into `target` (WASM memory), when the byte source can read in place. */
  readRowsInto?(name: string, r0: number, n: number, K: number, target: Uint8Array): Promise<void>;
}

/**
 * A ByteSource that can also read straight into a caller's buffer. Optional: with it, weights go from the file
 * into WASM memory with no JS buffer in between (no garbage, lower peak RSS); without it, chunks are copied.
 */
export interface ByteSourceReadInto extends ByteSource {
  readInto(offset: number, target: Uint8Array, what?: string): Promise<void>;
}

function ggufTensors(file: GgufFile, src: ByteSource): RawTensors {
  const into = (src as Partial<ByteSourceReadInto>).readInto?.bind(src);
  const range = (n: string, r0: number, rows: number, K: number) => {
    const t = file.tensorsByName.get(n)!;
    const rb = ggmlRowBytes(t.type, K);
    return { offset: t.offset + r0 * rb, bytes: rows * rb, what: `tensor '${n}' rows ${r0}..${r0 + rows}` };
  };
  return {
    name: src.name,
    naming: 'gguf',
    names: () => file.tensors.map((t) => t.name),
    shape: (n) => ggufTensorShape(file, n),
    type: (n) => file.tensorsByName.get(n)!.type,
    readRows: (n, r0, rows, K) => {
      const r = range(n, r0, rows, K);
      return src.read(r.offset, r.bytes, r.what);
    },
    readRowsInto: into
      ? (n, r0, rows, K, target) => {
          const r = range(n, r0, rows, K);
          return into(r.offset, target.subarray(0, r.bytes), r.what);
        }
      : undefined,
  };
}

const SAFETENSORS_TO_GGML: Record<string, number> = { F32: GgmlType.F32, F16: GgmlType.F16, BF16: GgmlType.BF16 };

function hfTensors(folder: HfFolder): RawTensors {
  let cached: { name: string; bytes: Uint8Array } | null = null;
  return {
    name: folder.name,
    naming: 'hf',
    names: () => folder.tensorNames(),
    shape: (n) => (folder.has(n) ? folder.info(n).shape : undefined),
    type: (n) => {
      const dt = folder.info(n).dtype;
      const t = SAFETENSORS_TO_GGML[dt];
      if (t === undefined) throw new TensorError(folder.name, n, `has dtype ${dt}; the engine reads F32, F16 and BF16 safetensors`);
      return t;
    },
    readRows: async (n, r0, rows, K) => {
      if (cached?.name !== n) cached = { name: n, bytes: await folder.readRaw(n) };
      const eb = ggmlRowBytes(SAFETENSORS_TO_GGML[folder.info(n).dtype], K);
      return cached.bytes.subarray(r0 * eb, (r0 + rows) * eb);
    },
  };
}

/** An opened model file: its config, its tensors, and how to release it. */
export interface OpenedTensors {
  config: Lfm2Config;
  tensors: RawTensors;
  close(): Promise<void>;
}

/** Opens a GGUF file or an HF folder for the engine (header and config only). Closes the source on failure. */
export async function openTensors(input: ModelInput): Promise<OpenedTensors> {
  if ('gguf' in input) {
    const src = input.gguf;
    try {
      const file = input.header ?? (await readGguf(src));
      const config = configFromGguf((k) => ggufGet(file, k), src.name, file.tensorsByName.get('token_embd.weight')?.dims[1]);
      return { config, tensors: ggufTensors(file, src), close: async () => src.close?.() };
    } catch (e) {
      await src.close?.();
      throw e;
    }
  }
  const folder = await openHfFolder(input.hf);
  try {
    return { config: configFromHf(folder.config, `${folder.name}/config.json`), tensors: hfTensors(folder), close: () => folder.close() };
  } catch (e) {
    await folder.close();
    throw e;
  }
}

/** The repack of a stored type into its own x4 layout (the layout code is the type id), or null. */
function repackOf(wasm: WasmExports, code: WeightCode): ((dst: number, src: number, r0: number, n: number, K: number, R: number) => void) | null {
  switch (code) {
    case WeightCode.Q4_0_X4: return wasm.repackQ4_0;
    case WeightCode.Q8_0_X4: return wasm.repackQ8_0;
    case WeightCode.Q4_K_X4: return wasm.repackQ4_K;
    case WeightCode.Q5_K_X4: return wasm.repackQ5_K;
    case WeightCode.Q6_K_X4: return wasm.repackQ6_K;
    default: return null;
  }
}

/**
 * One matrix (R, K) of stored type t -> its layout at dst, `rows` at a time through the staging area:
 * a quantized type into its own x4 layout is repacked as raw blocks; F16 / BF16 rows into the same layout are
 * copied as they are; everything else is dequantized (reference dequantizers) into f32 and then either copied
 * (f32 layout) or quantized in WASM (ggml's reference quantizers).
 */
export async function loadMatrix(
  wasm: WasmExports, arena: Arena, src: RawTensors, name: string, t: number, R: number, K: number, code: WeightCode, dst: number,
  staging: number, stagingBytes: number,
): Promise<void> {
  const rawRow = ggmlRowBytes(t, K);
  const repack = t === code ? repackOf(wasm, code) : null;
  const copy = t === code && (code === WeightCode.F16 || code === WeightCode.BF16);
  if (copy) {
    // F16 / BF16 rows as they are, straight into place when the source reads in place
    const rows = Math.max(1, Math.floor(stagingBytes / rawRow));
    for (let r0 = 0; r0 < R; r0 += rows) {
      const n = Math.min(rows, R - r0);
      const target = arena.u8(dst + r0 * rawRow, n * rawRow);
      if (src.readRowsInto) await src.readRowsInto(name, r0, n, K, target);
      else target.set(await src.readRows(name, r0, n, K));
      checkFinite(t, target, src.name, name, r0 * K); // NaN / Inf weights are a TensorError at load
    }
    return;
  }
  const native = repack !== null;
  // staging holds: raw rows | f32 rows | GGML block rows (for the quantizers)
  const perRow = native ? rawRow : rawRow + K * 4 + (K / 32) * 34;
  const rows = Math.max(4, Math.floor(stagingBytes / perRow / 4) * 4);
  if (rows * perRow > stagingBytes && rows === 4) throw new TensorError(src.name, name, `rows of ${K} are too long for the load staging area`);
  const rawP = staging;
  const f32P = staging + Math.ceil((rows * rawRow) / 64) * 64;
  const tmpP = f32P + rows * K * 4;
  for (let r0 = 0; r0 < R; r0 += rows) {
    const n = Math.min(rows, R - r0);
    let bytes: Uint8Array;
    if (src.readRowsInto) {
      bytes = arena.u8(rawP, n * rawRow);
      await src.readRowsInto(name, r0, n, K, bytes);
    } else bytes = await src.readRows(name, r0, n, K);
    checkFinite(t, bytes, src.name, name, r0 * K); // NaN / Inf weights (or scales) are a TensorError at load
    if (repack) {
      if (!src.readRowsInto) arena.u8(rawP, bytes.length).set(bytes);
      repack(dst, rawP, r0, n, K, R);
    } else if (code === WeightCode.F32) {
      dequantize(t, bytes, n * K, arena.f32(dst + r0 * K * 4, n * K));
    } else {
      dequantize(t, bytes, n * K, arena.f32(f32P, n * K));
      if (code === WeightCode.Q4_0_X4) wasm.quantizeRowsQ4_0(dst, f32P, tmpP, r0, n, K, R);
      else wasm.quantizeRowsQ8_0(dst, f32P, tmpP, r0, n, K, R);
    }
  }
}
