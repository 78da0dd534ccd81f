// What llama.cpp's own quantizer (llama_model_quantize in libllama, through koffi) makes of our F32 synth models for
// the stock presets Q4_K_M, Q5_K_M, Q6_K and BF16: per tensor, the type it chose and the sha256 of its bytes.
// tests/synth-mix.test.ts holds `lfm synth --type <preset>` (src/synth/random-model.ts) to it: same type for every
// tensor, and the same bytes (our reference/quant.ts K-quant quantizers against llama-quantize without imatrix).
//
// Shapes: golden/cases.ts MIX_GOLDEN_SHAPES, whose rows are all multiples of 256 (on other shapes llama.cpp falls
// back to Q5_0 / Q5_1, types lfm.ts does not read, and synth deliberately writes Q8_0 instead).
//
// File: golden/quant/mixes.json, written by `npm run golden` or `npx tsx golden/mix-golden.ts`.

import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { bytesSource } from '../reference/bytes.js';
import { concatParts, readGguf, readGgufTensorBytes } from '../reference/gguf.js';
import { ggmlTypeName } from '../reference/ggml-type.js';
import { synthGguf, synthModel, type SynthFileType } from '../src/synth/random-model.js';
import { MIX_GOLDEN_SHAPES } from './cases.js';

export const MIX_GOLDEN_FILE = join(dirname(fileURLToPath(import.meta.url)), 'quant', 'mixes.json');
export const MIX_GOLDEN_REGENERATE = 'npm run golden   (or: npx tsx golden/mix-golden.ts)';

/** The presets and their llama_ftype ids (include/llama.h). */
export const MIX_PRESETS: Partial<Record<SynthFileType, number>> = { Q4_K_M: 15, Q5_K_M: 17, Q6_K: 18, BF16: 32 };

export interface MixGoldenCase {
  shape: string;
  preset: SynthFileType;
  /** sha256 of the F32 input file (our model maker): a changed maker makes the case stale. */
  inputSha256: string;
  tensors: { name: string; type: number; typeName: string; sha256: string }[];
}

export interface MixGolden {
  generator: string;
  regenerate: string;
  source: { library: string; llamaCppRelease: string; function: string; params: Record<string, unknown> };
  cases: MixGoldenCase[];
}

export const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** Runs llama_model_quantize over every shape x preset and writes golden/quant/mixes.json. */
export async function makeMixGolden(file = MIX_GOLDEN_FILE): Promise<MixGolden> {
  const { goldenDeps } = await import('./deps.js');
  const deps = await goldenDeps();
  const koffi = ((m) => m.default ?? m)(await deps.importPkg('koffi')) as {
    load(p: string): { func(proto: string): (...args: unknown[]) => unknown };
    struct(name: string, fields: Record<string, string>): unknown;
  };
  const libDir = dirname(deps.ggmlBaseLib);
  const libFile = (await import('node:fs')).readdirSync(libDir).find((f) => /^libllama(\.v[\d.]+)?\.(so|dylib)$/.test(f) || f === 'llama.dll');
  if (!libFile) throw new Error(`mix golden: no libllama in ${libDir}`);
  const lib = koffi.load(join(libDir, libFile));
  // include/llama.h llama_model_quantize_params (this llama.cpp release)
  koffi.struct('llama_model_quantize_params', {
    nthread: 'int32_t', ftype: 'int', output_tensor_type: 'int', token_embedding_type: 'int',
    allow_requantize: 'bool', quantize_output_tensor: 'bool', only_copy: 'bool', pure: 'bool', keep_split: 'bool', dry_run: 'bool',
    imatrix: 'void *', kv_overrides: 'void *', tt_overrides: 'void *', prune_layers: 'void *', max_buf_size: 'size_t',
  });
  const defaults = lib.func('llama_model_quantize_params llama_model_quantize_default_params()');
  const quantize = lib.func('uint32_t llama_model_quantize(const char *inp, const char *out, const llama_model_quantize_params *params)');

  const tmp = join(tmpdir(), `lfm-mix-golden-${process.pid}`);
  mkdirSync(tmp, { recursive: true });
  const cases: MixGoldenCase[] = [];
  try {
    for (const spec of MIX_GOLDEN_SHAPES) {
      const input = concatParts(synthGguf(synthModel(spec), 'F32'));
      const inPath = join(tmp, `${spec.name}.f32.gguf`);
      writeFileSync(inPath, input);
      for (const [preset, ftype] of Object.entries(MIX_PRESETS) as [SynthFileType, number][]) {
        const params = defaults() as Record<string, unknown>;
        params.ftype = ftype;
        params.nthread = 1;
        const outPath = join(tmp, `${spec.name}.${preset}.gguf`);
        const rc = quantize(inPath, outPath, params);
        if (rc !== 0) throw new Error(`llama_model_quantize(${spec.name}, ${preset}) returned ${String(rc)}`);
        const src = bytesSource(readFileSync(outPath), outPath);
        const g = await readGguf(src);
        const tensors = [];
        for (const t of g.tensors) tensors.push({ name: t.name, type: t.type, typeName: ggmlTypeName(t.type), sha256: sha256(await readGgufTensorBytes(g, src, t.name)) });
        cases.push({ shape: spec.name, preset, inputSha256: sha256(input), tensors });
        process.stderr.write(`mix golden: ${spec.name} ${preset}: ${[...new Set(tensors.map((t) => t.typeName))].join(', ')}\n`);
      }
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  const golden: MixGolden = {
    generator: 'golden/mix-golden.ts',
    regenerate: MIX_GOLDEN_REGENERATE,
    source: {
      library: `${deps.binaryPackage}/${libFile}`,
      llamaCppRelease: deps.llamaCppRelease,
      function: 'llama_model_quantize (llama_model_quantize_default_params, no imatrix)',
      params: { nthread: 1 },
    },
    cases,
  };
  mkdirSync(dirname(file), { recursive: true });
  // one line per tensor
  const text = JSON.stringify({ ...golden, cases: '@CASES@' }, null, 1).replace(
    '"@CASES@"',
    `[\n${cases.map((c) => `  {"shape": ${JSON.stringify(c.shape)}, "preset": ${JSON.stringify(c.preset)}, "inputSha256": ${JSON.stringify(c.inputSha256)}, "tensors": [\n${c.tensors.map((t) => `   ${JSON.stringify(t)}`).join(',\n')}\n  ]}`).join(',\n')}\n ]`,
  );
  writeFileSync(file, text + '\n');
  return golden;
}

/** The committed golden (throws with the regenerate command when missing). */
export function readMixGolden(file = MIX_GOLDEN_FILE): MixGolden {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as MixGolden;
  } catch (e) {
    throw new Error(`${file}: ${(e as Error).message}; regenerate with: ${MIX_GOLDEN_REGENERATE}`);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  makeMixGolden().catch((e: unknown) => {
    console.error(e);
    process.exitCode = 1;
  });
}
