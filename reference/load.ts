// Opening a model: a GGUF file or an HF folder, to config + dims + f32 weights for the oracle.
//
// Format detection is by content, not by name: a GGUF starts with the magic "GGUF"; an HF folder is a FileSet
// with config.json. Every tensor read for the oracle is scanned for NaN and Inf (reference/finite.ts), as the WASM
// engine scans what it loads. The engine (assembly/) will reuse `openTensorSource` to stream tensors in their
// stored type.

import type { ByteSource, FileSet } from './bytes.js';
import { configFromGguf, configFromHf, deriveDims, type Lfm2Config, type Lfm2Dims } from './config.js';
import { checkFinite } from './finite.js';
import { GgmlType, ggmlTypeName } from './ggml-type.js';
import { ggufGet, ggufTensorShape, readGguf, readGgufTensorF32, type GgufFile } from './gguf.js';
import type { Lfm2Weights } from './model.js';
import { openHfFolder } from './safetensors.js';
import { loadWeights, type LoadProgress, type TensorSource } from './weights.js';

/** A GGUF file (optionally with its header already parsed from the same source, to avoid reading it twice) or an HF folder. */
export type ModelInput = { gguf: ByteSource; header?: GgufFile } | { hf: FileSet };

export interface OpenedModel {
  format: 'gguf' | 'hf';
  config: Lfm2Config;
  tensors: TensorSource;
  /** The parsed GGUF header (metadata, tokenizer), when the input is a GGUF file. */
  gguf?: GgufFile;
  /** The raw config.json object, when the input is an HF folder. */
  hfConfig?: unknown;
  close(): Promise<void>;
}

/**
 * Reads the header / config and returns a tensor source; no weight data is read yet. Takes ownership of the
 * byte source: close() closes it, and so does a failure here.
 */
export async function openModel(input: ModelInput): Promise<OpenedModel> {
  if ('gguf' in input) {
    const src = input.gguf;
    let file: GgufFile;
    let config: Lfm2Config;
    try {
      file = input.header ?? (await readGguf(src));
      const embd = file.tensorsByName.get('token_embd.weight');
      config = configFromGguf((k) => ggufGet(file, k), src.name, embd?.dims[1]);
    } catch (e) {
      await src.close?.(); // we own the source from here on: a bad header must not leak the file handle
      throw e;
    }
    const tensors: TensorSource = {
      name: src.name,
      naming: 'gguf',
      names: () => file.tensors.map((t) => t.name),
      shape: (n) => ggufTensorShape(file, n),
      typeName: (n) => ggmlTypeName(file.tensorsByName.get(n)?.type ?? -1),
      readF32: (n) => readGgufTensorF32(file, src, n, { finite: true }),
    };
    return { format: 'gguf', config, tensors, gguf: file, close: async () => src.close?.() };
  }
  const folder = await openHfFolder(input.hf);
  try {
    const config = configFromHf(folder.config, `${folder.name}/config.json`);
    const tensors: TensorSource = {
      name: folder.name,
      naming: 'hf',
      names: () => folder.tensorNames(),
      shape: (n) => (folder.has(n) ? folder.info(n).shape : undefined),
      typeName: (n) => folder.info(n).dtype,
      readF32: async (n) => {
        // F16/BF16 widen to f32 exactly (NaN and Inf included), so scanning the f32 is scanning the file.
        const x = await folder.readF32(n);
        checkFinite(GgmlType.F32, new Uint8Array(x.buffer, x.byteOffset, x.byteLength), `${folder.name}/${folder.info(n).file}`, n);
        return x;
      },
    };
    return { format: 'hf', config, tensors, hfConfig: folder.config, close: () => folder.close() };
  } catch (e) {
    await folder.close();
    throw e;
  }
}

export interface LoadedModel {
  format: 'gguf' | 'hf';
  config: Lfm2Config;
  dims: Lfm2Dims;
  weights: Lfm2Weights;
  gguf?: GgufFile;
}

/** Opens a model and reads every weight as f32 (the oracle's form). The byte source is closed afterwards. */
export async function loadModel(input: ModelInput, opts: { onProgress?: LoadProgress } = {}): Promise<LoadedModel> {
  const m = await openModel(input);
  try {
    const weights = await loadWeights(m.tensors, m.config, opts.onProgress);
    return { format: m.format, config: m.config, dims: deriveDims(m.config), weights, gguf: m.gguf };
  } finally {
    await m.close();
  }
}
