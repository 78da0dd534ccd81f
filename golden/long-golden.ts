// Long-context logits from llama.cpp (node-llama-cpp's prebuilt binaries): the seeded LONG_SHAPE model
// (golden/long-file.ts) read over LONG_TOKENS tokens in one context, logits kept at longPositions(). What it
// checks that the short goldens cannot: RoPE at positions in the thousands and the f16 KV cache's rounding
// accumulated over thousands of rows (llama.cpp's cache is f16 too).
//
// Written to golden/long/<case>.bin + golden/long/manifest.json (each model file's sha256, so a changed model
// maker reads as "stale goldens"). Part of `npm run golden`; alone: `npx tsx golden/long-golden.ts`.

import { createHash } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { concatParts } from '../reference/gguf.js';
import { synthGguf, synthModel } from '../src/synth/random-model.js';
import { goldenDeps, NODE_LLAMA_CPP_VERSION } from './deps.js';
import { encodeLongGolden, LONG_FILE_TYPES, LONG_SHAPE, LONG_TOKENS, longPositions, longSequence } from './long-file.js';

export interface LongGoldenCase {
  id: string;
  fileType: string;
  toleranceClass: 'float' | 'q8_0' | 'q4_0';
  modelSha256: string;
  /** The golden file, relative to golden/, and its sha256. */
  file: string;
  fileSha256: string;
  tokens: number;
  positions: number;
}

export interface LongManifest {
  formatVersion: number;
  generator: { package: string; llamaCppRelease: string; options: Record<string, unknown> };
  regenerate: string;
  shape: string;
  cases: LongGoldenCase[];
}

/** llama.cpp settings (recorded): flash attention off, the default f16 K and V cache. */
const LLAMA_OPTIONS = { contextSize: 4096, batchSize: 512, threads: 2, flashAttention: false, gpuLayers: 0 };

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

export async function makeLongGolden(goldenDir: string): Promise<LongManifest> {
  const { LONG_FORMAT_VERSION } = await import('./long-file.js');
  const deps = await goldenDeps();
  const { getLlama, LlamaLogLevel } = await deps.importPkg('node-llama-cpp');
  const llama = await getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error, usePrebuiltBinaries: true });
  const outDir = join(goldenDir, 'long');
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  const tmp = join(tmpdir(), `lfm-golden-long-${process.pid}`);
  mkdirSync(tmp, { recursive: true });
  const tokens = longSequence();
  const positions = longPositions();
  const want = new Set(positions);
  const model = synthModel(LONG_SHAPE);
  const V = LONG_SHAPE.vocab_size;
  const cases: LongGoldenCase[] = [];
  try {
    for (const [fileType, toleranceClass] of LONG_FILE_TYPES) {
      const id = `${LONG_SHAPE.name}.${fileType.toLowerCase()}`;
      const gguf = concatParts(synthGguf(model, fileType));
      const path = join(tmp, `${id}.gguf`);
      writeFileSync(path, gguf);
      const lm = await llama.loadModel({ modelPath: path, gpuLayers: LLAMA_OPTIONS.gpuLayers });
      const ctx = await lm.createContext({ contextSize: LLAMA_OPTIONS.contextSize, batchSize: LLAMA_OPTIONS.batchSize, threads: LLAMA_OPTIONS.threads, flashAttention: LLAMA_OPTIONS.flashAttention });
      const out = await ctx.getSequence().controlledEvaluate(tokens.map((t, i) => (want.has(i) ? [t, { generateNext: { logits: true } }] : t)));
      const logits = new Float32Array(positions.length * V);
      positions.forEach((p, k) => {
        const row: Map<number, number> | undefined = out[p]?.next?.logits;
        if (!row || row.size !== V) throw new Error(`${id}: llama.cpp gave ${row?.size ?? 'no'} logits at position ${p}, expected ${V}`);
        for (const [tok, v] of row) logits[k * V + tok] = v;
      });
      await ctx.dispose();
      await lm.dispose();
      const bytes = encodeLongGolden(V, tokens, positions, logits);
      const file = `long/${id}.bin`;
      writeFileSync(join(goldenDir, file), bytes);
      cases.push({ id, fileType, toleranceClass, modelSha256: sha256(gguf), file, fileSha256: sha256(bytes), tokens: tokens.length, positions: positions.length });
      process.stderr.write(`golden: ${id} (${LONG_TOKENS} tokens, logits at ${positions.length} positions)\n`);
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
    await llama.dispose?.();
  }
  const manifest: LongManifest = {
    formatVersion: LONG_FORMAT_VERSION,
    generator: { package: `node-llama-cpp@${NODE_LLAMA_CPP_VERSION} (${deps.binaryPackage})`, llamaCppRelease: deps.llamaCppRelease, options: LLAMA_OPTIONS },
    regenerate: 'npm run golden',
    shape: LONG_SHAPE.name,
    cases,
  };
  writeFileSync(join(outDir, 'manifest.json'), JSON.stringify(manifest, null, 1) + '\n');
  return manifest;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const m = await makeLongGolden(dirname(fileURLToPath(import.meta.url)));
  console.log(`golden: ${m.cases.length} long-context cases from ${m.generator.package}, llama.cpp ${m.generator.llamaCppRelease}`);
}
