// Per-position logits from llama.cpp (through node-llama-cpp's prebuilt binaries) for the seeded tiny models of
// golden/cases.ts: the independent implementation the oracle is held to.
//
// For each case of golden/cases.ts GOLDEN_CASES (shape x file type, the K-quant mixes included) plus one mixed
// file whose K-quant tensors ggml itself quantized (golden/cases.ts KQUANT_*): build the GGUF
// with our model maker, load it in llama.cpp (CPU, no GPU layers),
// feed each token sequence through `sequence.controlledEvaluate` asking for logits at every position, and write
// them to golden/logits/<case>.bin (format below). The manifest records each model file's sha256 so the tests
// can tell "our model maker changed" (stale goldens: rerun `npm run golden`) from "the oracle is wrong".
//
// File format (little-endian), version GOLDEN_FORMAT_VERSION:
//   u32 magic "LFMG" (0x474d464c)  u32 version  u32 nSeq  u32 V
//   nSeq times: u32 T, T x u32 token ids, T x V f32 logits (row i = next-token logits after tokens[0..i])

import { createHash } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { concatParts, writeGguf } from '../reference/gguf.js';
import { ggmlTypeName } from '../reference/ggml-type.js';
import { hfToGguf } from '../reference/tensor-names.js';
import { synthGguf, synthModel, type SynthSpec } from '../src/synth/random-model.js';
import {
  caseId,
  GOLDEN_CASES,
  GOLDEN_FORMAT_VERSION,
  goldenSequences,
  KQUANT_BASE_TYPE,
  KQUANT_CASE_ID,
  KQUANT_SHAPE,
  KQUANT_TENSORS,
  TOLERANCE_CLASS,
  type ToleranceClass,
} from './cases.js';
import type { GgmlFfiType } from './ggml-ffi.js';
import { goldenDeps, NODE_LLAMA_CPP_VERSION } from './deps.js';
import { LOGITS_MAGIC } from './logits-file.js';


export interface LogitsGoldenCase {
  id: string;
  shape: string;
  fileType: string;
  toleranceClass: ToleranceClass;
  /** sha256 (hex) and size of the GGUF our model maker wrote for this case. */
  modelSha256: string;
  modelBytes: number;
  /** The golden file, relative to golden/, and its sha256. */
  file: string;
  fileSha256: string;
  /** For the K-quant case: the ggml-quantized tensors (a tensor-only GGUF) swapped into the Q4_0 file. */
  kquantFile?: string;
  kquantSha256?: string;
  sequences: number[][];
}

export interface LogitsManifest {
  formatVersion: number;
  generator: { package: string; llamaCppRelease: string; options: Record<string, unknown> };
  regenerate: string;
  cases: LogitsGoldenCase[];
}

/** Encodes one case's golden file. */
export function encodeLogitsGolden(V: number, seqs: { tokens: number[]; logits: Float32Array }[]): Uint8Array {
  const words = 4 + seqs.reduce((n, s) => n + 1 + s.tokens.length + s.logits.length, 0);
  const buf = new ArrayBuffer(words * 4);
  const u32 = new Uint32Array(buf);
  const f32 = new Float32Array(buf);
  u32.set([LOGITS_MAGIC, GOLDEN_FORMAT_VERSION, seqs.length, V]);
  let o = 4;
  for (const s of seqs) {
    u32[o++] = s.tokens.length;
    u32.set(s.tokens, o);
    o += s.tokens.length;
    f32.set(s.logits, o);
    o += s.logits.length;
  }
  return new Uint8Array(buf);
}

/** llama.cpp settings, recorded in the manifest. Flash attention off: the plain path (f16 K*Q). */
const LLAMA_OPTIONS = { contextSize: 128, batchSize: 128, threads: 2, flashAttention: false, gpuLayers: 0 };

export async function makeLogitsGolden(goldenDir: string): Promise<LogitsManifest> {
  const deps = await goldenDeps();
  const { getLlama, LlamaLogLevel } = await deps.importPkg('node-llama-cpp');
  const llama = await getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error, usePrebuiltBinaries: true });
  const outDir = join(goldenDir, 'logits');
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  const tmp = join(tmpdir(), `lfm-golden-${process.pid}`);
  mkdirSync(tmp, { recursive: true });

  // Every case: a GGUF built by our model maker (for the K-quant case, with ggml-quantized tensors swapped in).
  const builds: { id: string; spec: SynthSpec; fileType: string; tol: ToleranceClass; gguf: Uint8Array; kquants?: Uint8Array }[] = [];
  for (const { spec, type: fileType } of GOLDEN_CASES) {
    builds.push({ id: caseId(spec, fileType), spec, fileType, tol: TOLERANCE_CLASS[fileType], gguf: concatParts(synthGguf(synthModel(spec), fileType)) });
  }
  {
    const { loadGgmlFfi } = await import('./ggml-ffi.js');
    const ggml = await loadGgmlFfi();
    const model = synthModel(KQUANT_SHAPE);
    const overrides = new Map<string, { type: number; data: Uint8Array }>();
    const stored = [];
    for (const [name, type] of Object.entries(KQUANT_TENSORS)) {
      const t = model.tensors.find((x) => hfToGguf(x.name) === name)!;
      const data = ggml.quantize(type as GgmlFfiType, t.make());
      overrides.set(name, { type, data });
      stored.push({ name, dims: [...t.shape].reverse(), type, data });
    }
    builds.push({
      id: KQUANT_CASE_ID,
      spec: KQUANT_SHAPE,
      fileType: `${KQUANT_BASE_TYPE}+${Object.values(KQUANT_TENSORS).map(ggmlTypeName).join(',')}`,
      tol: TOLERANCE_CLASS[KQUANT_BASE_TYPE],
      gguf: concatParts(synthGguf(model, KQUANT_BASE_TYPE, overrides)),
      kquants: concatParts(writeGguf({ metadata: [], tensors: stored })),
    });
  }

  const cases: LogitsGoldenCase[] = [];
  try {
    for (const b of builds) {
      const { id, spec, gguf } = b;
      const sequences = goldenSequences(spec);
      const path = join(tmp, `${id}.gguf`);
      writeFileSync(path, gguf);

      const lm = await llama.loadModel({ modelPath: path, gpuLayers: LLAMA_OPTIONS.gpuLayers });
      const seqs: { tokens: number[]; logits: Float32Array }[] = [];
      for (const tokens of sequences) {
        // A fresh context per sequence: no state carried between sequences.
        const ctx = await lm.createContext({
          contextSize: LLAMA_OPTIONS.contextSize,
          batchSize: LLAMA_OPTIONS.batchSize,
          threads: LLAMA_OPTIONS.threads,
          flashAttention: LLAMA_OPTIONS.flashAttention,
        });
        const seq = ctx.getSequence();
        const out = await seq.controlledEvaluate(tokens.map((t) => [t, { generateNext: { logits: true } }]));
        const V = spec.vocab_size;
        const logits = new Float32Array(tokens.length * V);
        for (let i = 0; i < tokens.length; i++) {
          const row: Map<number, number> | undefined = out[i]?.next?.logits;
          if (!row || row.size !== V) throw new Error(`${id}: llama.cpp gave ${row?.size ?? 'no'} logits at position ${i}, expected ${V}`);
          for (const [tok, v] of row) logits[i * V + tok] = v;
        }
        seqs.push({ tokens, logits });
        await ctx.dispose();
      }
      await lm.dispose();

      const bytes = encodeLogitsGolden(spec.vocab_size, seqs);
      const file = `logits/${id}.bin`;
      writeFileSync(join(goldenDir, file), bytes);
      let kquantFile: string | undefined;
      if (b.kquants) {
        kquantFile = `logits/${id}.kquants.gguf`;
        writeFileSync(join(goldenDir, kquantFile), b.kquants);
      }
      cases.push({
        id,
        shape: spec.name,
        fileType: b.fileType,
        toleranceClass: b.tol,
        modelSha256: sha256(gguf),
        modelBytes: gguf.byteLength,
        file,
        fileSha256: sha256(bytes),
        ...(kquantFile ? { kquantFile, kquantSha256: sha256(b.kquants!) } : {}),
        sequences,
      });
      process.stderr.write(`golden: ${id} (${gguf.byteLength} bytes, ${sequences.map((x) => x.length).join('+')} positions)\n`);
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
    await llama.dispose?.();
  }

  const manifest: LogitsManifest = {
    formatVersion: GOLDEN_FORMAT_VERSION,
    generator: { package: `node-llama-cpp@${NODE_LLAMA_CPP_VERSION} (${deps.binaryPackage})`, llamaCppRelease: deps.llamaCppRelease, options: LLAMA_OPTIONS },
    regenerate: 'npm run golden',
    cases,
  };
  writeFileSync(join(goldenDir, 'logits', 'manifest.json'), JSON.stringify(manifest, null, 1) + '\n');
  return manifest;
}

function sha256(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}
