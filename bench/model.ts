// Whole-model speed and memory: the WASM engine against llama.cpp (node-llama-cpp) on the same full-size
// LFM2.5-1.2B-shaped random model, same prompt, for each thread count.
//
//   npm run bench:model [-- --type Q4_0|Q8_0|Q4_K_M|Q5_K_M|Q6_K|F16|BF16] [--threads 1,2] [--prompt 512] [--decode 128] [--only wasm|llama]
//                       [--file path] [--chunk 64 (engine prefill chunk)] [--node <node binary for the children>]
//                       [--in-thread (the core on the main thread, no workers)] [--copying-reads] [--fresh-logits]
//                       [--depth 16,2048,16384] [--kv-cache f16|f32] [--context model (the engine's default context)]
//
// --depth: decode speed deep in the context. Each child fills one context step by step: prefill up to the first
// depth, `decode` greedy steps timed there, more prompt up to the next depth, and so on (the longest prefill
// happens once); the table gives decode tok/s at each depth, relative to the shallowest depth and to llama.cpp
// at the same depth and threads, and the peak RSS after the deepest (e.g. --depth 32768 --decode 16: a 32K
// context filled).
//
// The engine runs as loadLfm runs it: in workers, `threads` of them over one shared memory; the main thread only
// orchestrates, and its event-loop delay during the decode (perf_hooks.monitorEventLoopDelay, p99) is reported.
// The model is made once with `lfm synth --shape lfm2.5-1.2b` into bench/out/ (git-ignored; ~630 MB for Q4_0,
// ~1.2 GB for Q8_0, ~2.3 GB for F16 / BF16; the K-quant mixes take ~12 CPU-minutes to quantize in JS) and never
// committed. The engine runs every matrix at its stored type. Each engine runs in its own child process, so peak RSS (maxRSS) is
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
  threads: number;
  loadS: number;
  prefillTokS: number;
  decodeTokS: number;
  peakRssBytes: number;
  /** p99 of the main thread's event-loop delay during the decode, in ms (the engine only). */
  loopDelayP99Ms?: number;
  note?: string;
  /** --depth: decode tok/s measured after prompts of these lengths (in one context, filled step by step). */
  depths?: { depth: number; decodeTokS: number; rssBytes: number }[];
}

/** --depth, ascending; empty without it. */
function depthsArg(): number[] {
  const i = process.argv.indexOf('--depth');
  if (i < 0) return [];
  const ds = process.argv[i + 1].split(',').map(Number);
  if (ds.some((d) => !Number.isInteger(d) || d < 1)) throw new Error(`--depth ${process.argv[i + 1]}: positive integers, comma-separated`);
  return [...new Set(ds)].sort((a, b) => a - b);
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

async function runWasm(file: string, nPrompt: number, nDecode: number, threads: number, depths: number[]): Promise<RunResult> {
  const { fileSource } = await import('../src/node/files.js');
  const { createWasmEngine } = await import('../src/engine/wasm-engine.js');
  const { registerNodeWorkers } = await import('../src/node/worker-spawn.js');
  const { monitorEventLoopDelay } = await import('node:perf_hooks');
  const { argmax } = await import('../tests/compare.js');
  registerNodeWorkers();
  const t0 = performance.now();
  // fileSource reads in place (readInto): weights go from the file into WASM memory without JS buffers in
  // between. --copying-reads hides readInto to measure the plain ByteSource path (~70 MiB higher peak).
  const src = await fileSource(file);
  const gguf = process.argv.includes('--copying-reads') ? { name: src.name, size: src.size, read: src.read, close: src.close } : src;
  const kvCache = arg('kv-cache', 'f16') as 'f16' | 'f32';
  const e = await createWasmEngine({ gguf }, {
    // --context model: the engine's default (the model's own context, reserved as address space only)
    contextLength: arg('context', '') === 'model' ? undefined : depths.length ? depths.at(-1)! + depths.length * (nDecode + 1) + 8 : nPrompt + nDecode + 8,
    reuseLogits: !process.argv.includes('--fresh-logits'), prefillChunk: Number(arg('chunk', '64')), threads, kvCache,
    workers: process.argv.includes('--in-thread') ? 'none' : 'auto',
  });
  const loadS = (performance.now() - t0) / 1000;
  await e.decode(1); // warm-up: first calls run in V8's baseline tier
  await e.reset();
  if (depths.length) {
    // one context, filled step by step: prompt up to each depth, then nDecode timed greedy steps there
    const prompt = promptTokens(depths.at(-1)! + depths.length);
    const out: { depth: number; decodeTokS: number; rssBytes: number }[] = [];
    let fed = 0, prefillS = 0, logits!: Float32Array;
    for (const d of depths) {
      const n = Math.max(1, d - e.position); // (the decode steps of the previous depth are in the context too)
      const t0 = performance.now();
      logits = await e.prefill(prompt.slice(fed, fed + n));
      prefillS += (performance.now() - t0) / 1000;
      fed += n;
      const depth = e.position;
      const t1 = performance.now();
      for (let i = 0; i < nDecode; i++) logits = await e.decode(argmax(logits));
      out.push({ depth, decodeTokS: nDecode / ((performance.now() - t1) / 1000), rssBytes: process.memoryUsage().rss });
    }
    const r: RunResult = {
      engine: `lfm.ts ${e.description} (${[...new Set(e.weightLayouts.values())].join(', ')}; ${e.kvCache} KV cache)`, threads: e.threads, loadS,
      prefillTokS: fed / prefillS, decodeTokS: out[0].decodeTokS, peakRssBytes: process.resourceUsage().maxRSS * 1024, depths: out,
    };
    await e.dispose();
    return r;
  }
  let t = performance.now();
  let logits = await e.prefill(promptTokens(nPrompt));
  const prefillS = (performance.now() - t) / 1000;
  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  t = performance.now();
  for (let i = 0; i < nDecode; i++) logits = await e.decode(argmax(logits));
  const decodeS = (performance.now() - t) / 1000;
  delay.disable();
  const r: RunResult = {
    engine: `lfm.ts ${e.description} (${[...new Set(e.weightLayouts.values())].join(', ')})`, threads: e.threads,
    loadS, prefillTokS: nPrompt / prefillS, decodeTokS: nDecode / decodeS, peakRssBytes: process.resourceUsage().maxRSS * 1024,
    loopDelayP99Ms: delay.percentile(99) / 1e6,
  };
  await e.dispose();
  return r;
}

async function runLlama(file: string, nPrompt: number, nDecode: number, threads: number, depths: number[]): Promise<RunResult> {
  const { goldenDeps } = await import('../golden/deps.js');
  const deps = await goldenDeps();
  const { getLlama, LlamaLogLevel } = await deps.importPkg('node-llama-cpp');
  const llama = await getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error, usePrebuiltBinaries: true });
  const t0 = performance.now();
  const model = await llama.loadModel({ modelPath: file, gpuLayers: 0 });
  const contextSize = depths.length ? depths.at(-1)! + depths.length * (nDecode + 2) + 8 : nPrompt + nDecode + 8;
  const ctx = await model.createContext({ contextSize, batchSize: depths.length ? 512 : nPrompt, threads, flashAttention: false });
  const loadS = (performance.now() - t0) / 1000;
  const seq = ctx.getSequence();
  const label = `llama.cpp ${deps.llamaCppRelease} (${deps.binaryPackage}, ${threads} thread${threads > 1 ? 's' : ''})`;
  if (depths.length) {
    // the same walk as the engine's: each evaluate() appends to the sequence (prompt part, then greedy steps)
    const prompt = promptTokens(depths.at(-1)! + depths.length);
    const out: { depth: number; decodeTokS: number; rssBytes: number }[] = [];
    let fed = 0, prefillS = 0;
    for (const d of depths) {
      const n = Math.max(1, d - seq.nextTokenIndex);
      const it = seq.evaluate(prompt.slice(fed, fed + n), { temperature: 0 })[Symbol.asyncIterator]();
      const t1 = performance.now();
      await it.next(); // the prompt part, plus sampling the first token
      prefillS += (performance.now() - t1) / 1000;
      fed += n;
      const depth = seq.nextTokenIndex;
      const t2 = performance.now();
      for (let i = 0; i < nDecode; i++) await it.next();
      out.push({ depth, decodeTokS: nDecode / ((performance.now() - t2) / 1000), rssBytes: process.memoryUsage().rss });
      await it.return?.();
    }
    const r: RunResult = { engine: label, threads, loadS, prefillTokS: fed / prefillS, decodeTokS: out[0].decodeTokS, peakRssBytes: process.resourceUsage().maxRSS * 1024, depths: out };
    await ctx.dispose();
    await model.dispose();
    return r;
  }
  const it = seq.evaluate(promptTokens(nPrompt), { temperature: 0 })[Symbol.asyncIterator]();
  let t = performance.now();
  await it.next(); // the prompt, plus sampling the first token
  const prefillS = (performance.now() - t) / 1000;
  t = performance.now();
  for (let i = 0; i < nDecode; i++) await it.next();
  const decodeS = (performance.now() - t) / 1000;
  await it.return?.();
  const r = {
    engine: label, threads,
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
    const [which, file, th] = [process.argv[child + 1], process.argv[child + 2], Number(process.argv[child + 3])];
    const r = which === 'wasm' ? await runWasm(file, nPrompt, nDecode, th, depthsArg()) : await runLlama(file, nPrompt, nDecode, th, depthsArg());
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
  const threadCounts = arg('threads', '1').split(',').map(Number);
  const nodeBin = arg('node', process.execPath);
  for (const threads of threadCounts) {
    for (const which of ['wasm', 'llama']) {
      if (only && only !== which) continue;
      const entry = which === 'wasm' ? [compiled] : ['--import', 'tsx', fileURLToPath(import.meta.url)];
      const bin = which === 'wasm' ? nodeBin : process.execPath;
      const depthFlags = depthsArg().length ? ['--depth', depthsArg().join(',')] : [];
      const p = spawnSync(bin, [...entry, '--child', which, file, String(threads), '--prompt', String(nPrompt), '--decode', String(nDecode), ...process.argv.filter((a) => ['--copying-reads', '--fresh-logits', '--in-thread'].includes(a)), '--chunk', arg('chunk', '64'), '--kv-cache', arg('kv-cache', 'f16'), '--context', arg('context', ''), ...depthFlags], { encoding: 'utf8', maxBuffer: 1 << 26 });
      const line = p.stdout.split('\n').find((l) => l.startsWith('RESULT '));
      if (!line) {
        console.error(`${which} (${threads} threads) failed (exit ${p.status}):\n${p.stderr.slice(-4000)}`);
        continue;
      }
      results.push(JSON.parse(line.slice(7)) as RunResult);
    }
  }
  const mib = (b: number) => `${(b / 2 ** 20).toFixed(0)} MiB`;
  let commit = '';
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
  } catch {}
  const nodeVersion = execFileSync(nodeBin, ['--version'], { encoding: 'utf8' }).trim();
  const shape = depthsArg().length ? `depths ${depthsArg().join(', ')} (one context, filled step by step), ${nDecode} decode steps at each` : `prompt ${nPrompt} tokens, ${nDecode} decode steps`;
  console.log(`\nmodel ${file} (${type}, ${mib(size)}), ${shape}, threads ${threadCounts.join(', ')}, ${arg('kv-cache', 'f16')} KV cache`);
  console.log(`machine: ${cpus().length} x ${cpus()[0]?.model}, engine on node ${nodeVersion}, commit ${commit}\n`);
  console.log('| engine | threads | load s | prefill tok/s | decode tok/s | peak RSS | RSS / file | event-loop delay p99 |');
  console.log('|---|---|---|---|---|---|---|---|');
  for (const r of results) {
    const loop = r.loopDelayP99Ms === undefined ? '' : `${r.loopDelayP99Ms.toFixed(1)} ms`;
    console.log(`| ${r.engine} | ${r.threads} | ${r.loadS.toFixed(1)} | ${r.prefillTokS.toFixed(2)} | ${r.decodeTokS.toFixed(2)} | ${mib(r.peakRssBytes)} | ${(r.peakRssBytes / size).toFixed(2)}x | ${loop} |`);
  }
  console.log('');
  for (const th of threadCounts) {
    const w = results.find((r) => r.threads === th && r.engine.startsWith('lfm.ts')), l = results.find((r) => r.threads === th && r.engine.startsWith('llama'));
    if (w && l) console.log(`${th} thread(s): lfm.ts / llama.cpp prefill ${(w.prefillTokS / l.prefillTokS).toFixed(2)}x, decode ${(w.decodeTokS / l.decodeTokS).toFixed(2)}x, peak RSS ${(w.peakRssBytes / l.peakRssBytes).toFixed(2)}x`);
  }
  if (depthsArg().length) {
    // decode deep in the context: each engine against itself at the shallowest depth, and against llama.cpp
    console.log('\n| engine | threads | depth (tokens) | decode tok/s | vs shallowest depth | vs llama.cpp (same depth, threads) | RSS there |');
    console.log('|---|---|---|---|---|---|---|');
    for (const r of results) {
      const l = results.find((x) => x.threads === r.threads && x.engine.startsWith('llama'));
      for (const d of r.depths ?? []) {
        const ld = r.engine.startsWith('lfm.ts') ? l?.depths?.find((x) => Math.abs(x.depth - d.depth) <= 2) : undefined;
        console.log(`| ${r.engine.startsWith('lfm.ts') ? 'lfm.ts' : 'llama.cpp'} | ${r.threads} | ${d.depth} | ${d.decodeTokS.toFixed(2)} | ${(d.decodeTokS / r.depths![0].decodeTokS).toFixed(2)}x | ${ld ? `${(d.decodeTokS / ld.decodeTokS).toFixed(2)}x` : ''} | ${mib(d.rssBytes)} |`);
      }
    }
    console.log(`\n(peak RSS above is after the deepest depth, ${depthsArg().at(-1)} tokens; prefill tok/s over the whole fill)`);
  }
  const w1 = results.find((r) => r.threads === 1 && r.engine.startsWith('lfm.ts'));
  for (const r of results.filter((x) => x.threads > 1 && x.engine.startsWith('lfm.ts'))) {
    if (w1) console.log(`lfm.ts ${r.threads} threads / 1 thread: prefill ${(r.prefillTokS / w1.prefillTokS).toFixed(2)}x, decode ${(r.decodeTokS / w1.decodeTokS).toFixed(2)}x`);
  }
}

await main();
