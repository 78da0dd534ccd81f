// The page side of bench/browser.ts (bundled by it into bench/out/browser/page.js): loads one engine the way a page
// user would, then times a prefill and a greedy decode. Every entry point returns plain JSON for playwright.
//
//   lfm     loadLfm(URL): download into the Cache API (first visit) or read it from there (later visits), engine
//           in Web Workers with `threads` over a shared memory; prefill + greedy decode on lfm.engine
//   wllama  @wllama/wllama (llama.cpp in WASM), served from bench/out/wllama: loadModelFromUrl (its own cache),
//           then createCompletion with temperature 0 and ignore_eos; its own timings (llama.cpp's)
//
// Long tasks (> 50 ms) on the page's thread are recorded from the start and counted over the decode.

import { loadLfm, type BrowserLfm } from '../src/browser/index.js';

interface LongTask {
  start: number;
  duration: number;
}
const longTasks: LongTask[] = [];
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) longTasks.push({ start: e.startTime, duration: e.duration });
}).observe({ type: 'longtask', buffered: true });

export interface PageLoad {
  loadS: number;
  downloaded: boolean;
  description: string;
  threads: number;
  /** The engine's WASM memory (lfm only). */
  memoryBytes?: number;
}
export interface PageRun {
  promptTokens: number;
  prefillTokS: number;
  decodeTokens: number;
  decodeTokS: number;
  /** Long tasks (> 50 ms) on the page's thread while generating, and the longest. */
  longTasks: number;
  longestTaskMs: number;
}

let lfm: BrowserLfm | null = null;
// deno-lint-ignore no-explicit-any
let wllama: any = null;

function tasksBetween(t0: number, t1: number): { longTasks: number; longestTaskMs: number } {
  const hit = longTasks.filter((t) => t.start < t1 && t.start + t.duration > t0);
  return { longTasks: hit.length, longestTaskMs: Math.max(0, ...hit.map((t) => t.duration)) };
}

function argmax(x: Float32Array): number {
  let best = 0;
  for (let i = 1; i < x.length; i++) if (x[i] > x[best]) best = i;
  return best;
}

async function loadEngine(engine: 'lfm' | 'wllama', url: string, threads: number, ctx: number): Promise<PageLoad> {
  const t0 = performance.now();
  if (engine === 'lfm') {
    lfm = await loadLfm(url, { threads, wasm: { contextLength: ctx } });
    const e = lfm.engine as unknown as { description: string; threads: number; memoryBytes: number };
    return { loadS: (performance.now() - t0) / 1000, downloaded: lfm.source.downloaded, description: e.description, threads: e.threads, memoryBytes: e.memoryBytes };
  }
  const { Wllama } = await import(/* @vite-ignore */ new URL('/wllama/index.js', location.href).href);
  const quiet = { debug() {}, log() {}, warn() {}, error: console.error };
  wllama = new Wllama({ default: '/wllama/wasm/wllama.wasm' }, { suppressNativeLog: true, logger: quiet });
  let downloaded = false;
  await wllama.loadModelFromUrl(url, { n_threads: threads, n_ctx: ctx, n_batch: 512, n_gpu_layers: 0, progressCallback: () => void (downloaded = true) });
  return {
    loadS: (performance.now() - t0) / 1000, downloaded,
    description: `wllama ${Wllama.getLibllamaVersion?.() ?? ''} (llama.cpp wasm, ${wllama.isMultithread() ? 'multi-thread build' : 'single-thread build'})`,
    threads: wllama.getNumThreads(),
  };
}

async function run(engine: 'lfm' | 'wllama', prompt: string, decode: number): Promise<PageRun> {
  if (engine === 'lfm') {
    const e = lfm!.engine;
    const ids = lfm!.tokenizer.encode(prompt);
    await e.decode(1); // warm-up, as bench/model.ts does
    await e.reset();
    let t = performance.now();
    let logits = await e.prefill(ids);
    const prefillS = (performance.now() - t) / 1000;
    t = performance.now();
    for (let i = 0; i < decode; i++) logits = await e.decode(argmax(logits));
    const t1 = performance.now();
    return { promptTokens: ids.length, prefillTokS: ids.length / prefillS, decodeTokens: decode, decodeTokS: decode / ((t1 - t) / 1000), ...tasksBetween(t, t1) };
  }
  const t0 = performance.now();
  const r = await wllama.createCompletion({ prompt, max_tokens: decode, temp: 0, ignore_eos: true });
  const t1 = performance.now();
  const tm = r.timings;
  return { promptTokens: tm.prompt_n, prefillTokS: tm.prompt_per_second, decodeTokens: tm.predicted_n, decodeTokS: tm.predicted_per_second, ...tasksBetween(t0, t1) };
}

async function unload(): Promise<void> {
  await lfm?.dispose();
  lfm = null;
  await wllama?.exit();
  wllama = null;
}

/** playwright shows a rejected page promise by the error's name alone: hand it back as one plain Error with the message. */
const plain = <A extends unknown[], R>(f: (...a: A) => Promise<R>) => async (...a: A): Promise<R> => {
  try {
    return await f(...a);
  } catch (e) {
    throw new Error(e instanceof Error ? `${e.name}: ${e.message}` : String(e));
  }
};

Object.assign(globalThis, { benchLoad: plain(loadEngine), benchRun: plain(run), benchUnload: plain(unload) });
