// Whole-model speed and memory: the WASM engine against llama.cpp (node-llama-cpp) on the same full-size
// LFM2.5-1.2B-shaped random model, single thread, same prompt.
//
//   npm run bench:model [-- --type Q4_0|Q8_0] [--prompt 512] [--decode 128] [--only wasm|llama] [--file path]
//                       [--chunk 64 (engine prefill chunk)] [--copying-reads] [--fresh-logits]
//
// The model is made once with `lfm synth --shape lfm2.5-1.2b` into bench/out/ (git-ignored; ~630 MB for Q4_0,
// ~1.2 GB for Q8_0) and never committed. Each engine runs in its own child process, so peak RSS (maxRSS) is
// that engine's alone: load, prefill of `prompt` tokens, then `decode` greedy steps. llama.cpp comes from
// golden/deps.ts (installed on demand into golden/.deps). Speed does not depend on the weight values.

import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

interface RunResult {
  engine: string;
  loadS: number;
  prefillTokS: number;
  decodeTokS: number;
  peakRssBytes: number;
  note?: string;
}

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : dflt;
}

/** The prompt: fixed pseudo-random ids in the ordinary-token range. */
function promptTokens(n: number): number[] {
  return Array.from({ length: n }, (_, i) => 14 + ((i * 7919 + 13) % 60000));
}

// --- child: one engine, one model -----------------------------------------------------------------------------

async function runWasm(file: string, nPrompt: number, nDecode: number): Promise<RunResult> {
  const { fileSource } = await import('../src/node/files.js');
  const { createWasmCore } = await import('../src/engine/wasm-core.js');
  const { argmax } = await import('../tests/compare.js');
  const t0 = performance.now();
  // fileSource reads in place (readInto): weights go from the file into WASM memory without JS buffers in
  // between. --copying-reads hides readInto to measure the plain ByteSource path (~70 MiB higher peak).
  const src = await fileSource(file);
  const gguf = process.argv.includes('--copying-reads') ? { name: src.name, size: src.size, read: src.read, close: src.close } : src;
  const e = await createWasmCore({ gguf }, { contextLength: nPrompt + nDecode + 8, reuseLogits: !process.argv.includes('--fresh-logits'), prefillChunk: Number(arg('chunk', '64')) });
  const loadS = (performance.now() - t0) / 1000;
  await e.decode(1); // warm-up: first calls run in V8's baseline tier
  e.reset();
  let t = performance.now();
  let logits = await e.prefill(promptTokens(nPrompt));
  const prefillS = (performance.now() - t) / 1000;
  t = performance.now();
  for (let i = 0; i < nDecode; i++) logits = await e.decode(argmax(logits));
  const decodeS = (performance.now() - t) / 1000;
  return {
    engine: `wasm (${e.build}, ${[...new Set(e.weightLayouts.values())].join(', ')})`,
    loadS, prefillTokS: nPrompt / prefillS, decodeTokS: nDecode / decodeS, peakRssBytes: process.resourceUsage().maxRSS * 1024,
  };
}

async function runLlama(file: string, nPrompt: number, nDecode: number): Promise<RunResult> {
  const { goldenDeps } = await import('../golden/deps.js');
  const deps = await goldenDeps();
  const { getLlama, LlamaLogLevel } = await deps.importPkg('node-llama-cpp');
  const llama = await getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error, usePrebuiltBinaries: true });
  const t0 = performance.now();
  const model = await llama.loadModel({ modelPath: file, gpuLayers: 0 });
  const ctx = await model.createContext({ contextSize: nPrompt + nDecode + 8, batchSize: nPrompt, threads: 1, flashAttention: false });
  const loadS = (performance.now() - t0) / 1000;
  const seq = ctx.getSequence();
  const it = seq.evaluate(promptTokens(nPrompt), { temperature: 0 })[Symbol.asyncIterator]();
  let t = performance.now();
  await it.next(); // the prompt, plus sampling the first token
  const prefillS = (performance.now() - t) / 1000;
  t = performance.now();
  for (let i = 0; i < nDecode; i++) await it.next();
  const decodeS = (performance.now() - t) / 1000;
  await it.return?.();
  const r = {
    engine: `llama.cpp ${deps.llamaCppRelease} (${deps.binaryPackage}, 1 thread)`,
    loadS, prefillTokS: nPrompt / prefillS, decodeTokS: nDecode / decodeS, peakRssBytes: process.resourceUsage().maxRSS * 1024,
  };
  await ctx.dispose();
  await model.dispose();
  return r;
}

// --- parent: make the model, run both, print the table ----------------------------------------------------------

async function main(): Promise<void> {
  const child = process.argv.indexOf('--child');
  const nPrompt = Number(arg('prompt', '512'));
  const nDecode = Number(arg('decode', '128'));
  if (child >= 0) {
    const [which, file] = [process.argv[child + 1], process.argv[child + 2]];
    const r = which === 'wasm' ? await runWasm(file, nPrompt, nDecode) : await runLlama(file, nPrompt, nDecode);
    process.stdout.write(`RESULT ${JSON.stringify(r)}\n`);
    return;
  }
  const type = arg('type', 'Q4_0');
  const file = arg('file', join(ROOT, 'bench', 'out', `lfm2.5-1.2b.${type.toLowerCase()}.gguf`));
  if (!existsSync(file)) {
    mkdirSync(dirname(file), { recursive: true });
    console.log(`making ${file} (lfm synth --shape lfm2.5-1.2b --type ${type}) ...`);
    execFileSync(process.execPath, ['--import', 'tsx', join(ROOT, 'src', 'cli', 'main.ts'), 'synth', '--shape', 'lfm2.5-1.2b', '--type', type, '--out', file], { stdio: 'inherit' });
  }
  const size = statSync(file).size;
  const only = arg('only', '');
  // The engine runs as users run it: compiled JS under plain node (tsx alone adds ~40 MiB of RSS). llama.cpp's
  // child keeps tsx (golden/deps.ts locates golden/.deps next to its source); its RSS includes those ~40 MiB.
  const compiled = join(ROOT, 'bench', 'out', 'js', 'bench', 'model.js');
  if (!only || only === 'wasm') {
    execFileSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), fileURLToPath(import.meta.url), '--outDir', join(ROOT, 'bench', 'out', 'js'), '--rootDir', ROOT,
      '--module', 'NodeNext', '--moduleResolution', 'NodeNext', '--target', 'ES2022', '--skipLibCheck', '--types', 'node'], { stdio: 'inherit' });
  }
  const results: RunResult[] = [];
  for (const which of ['wasm', 'llama']) {
    if (only && only !== which) continue;
    const entry = which === 'wasm' ? [compiled] : ['--import', 'tsx', fileURLToPath(import.meta.url)];
    const p = spawnSync(process.execPath, [...entry, '--child', which, file, '--prompt', String(nPrompt), '--decode', String(nDecode), ...process.argv.filter((a) => a === '--copying-reads' || a === '--fresh-logits'), '--chunk', arg('chunk', '64')], { encoding: 'utf8', maxBuffer: 1 << 26 });
    const line = p.stdout.split('\n').find((l) => l.startsWith('RESULT '));
    if (!line) {
      console.error(`${which} failed (exit ${p.status}):\n${p.stderr.slice(-4000)}`);
      continue;
    }
    results.push(JSON.parse(line.slice(7)) as RunResult);
  }
  const mib = (b: number) => `${(b / 2 ** 20).toFixed(0)} MiB`;
  let commit = '';
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
  } catch {}
  console.log(`\nmodel ${file} (${type}, ${mib(size)}), prompt ${nPrompt} tokens, ${nDecode} decode steps, 1 thread`);
  console.log(`machine: ${cpus().length} x ${cpus()[0]?.model}, node ${process.version}, commit ${commit}\n`);
  console.log('| engine | load s | prefill tok/s | decode tok/s | peak RSS | RSS / file |');
  console.log('|---|---|---|---|---|---|');
  for (const r of results) {
    console.log(`| ${r.engine} | ${r.loadS.toFixed(1)} | ${r.prefillTokS.toFixed(2)} | ${r.decodeTokS.toFixed(2)} | ${mib(r.peakRssBytes)} | ${(r.peakRssBytes / size).toFixed(2)}x |`);
  }
  const w = results.find((r) => r.engine.startsWith('wasm')), l = results.find((r) => r.engine.startsWith('llama'));
  if (w && l) console.log(`\nwasm / llama.cpp: prefill ${(w.prefillTokS / l.prefillTokS).toFixed(2)}x, decode ${(w.decodeTokS / l.decodeTokS).toFixed(2)}x, peak RSS ${(w.peakRssBytes / l.peakRssBytes).toFixed(2)}x`);
}

await main();
