// The engine in headless Chromium against wllama (llama.cpp compiled to WASM, the browser peer), same full-size file,
// same prompt, at each thread count; plus the memory of Chromium's processes and the page thread's long tasks.
//
//   npm run bench:browser [-- --threads 1,2] [--prompt 128] [--decode 64] [--only lfm|wllama] [--file path]
//
// For each engine and thread count, a fresh browser profile:
//   1. first visit: the page loads the model from a URL on this server (download into the browser's cache, then
//      into the engine) — "download + load" time and memory peak;
//   2. a later visit (the browser closed and started again on the same profile): the page loads it again (from the
//      cache: no request for the weights), then prefills the prompt and decodes greedily — "cached load" time,
//      prefill and decode tok/s, long tasks, memory peak.
// Memory: every 100 ms the RSS of each Chromium process (the browser and all its descendants, from /proc) is read;
// the peak of their sum and the renderer's peak (the page and its workers live there) are reported against the
// file size. Linux only (no /proc elsewhere: memory columns stay empty).
// The model: bench/out/lfm2.5-1.2b.q4_0.gguf (made by `lfm synth --shape lfm2.5-1.2b --type Q4_0` when missing;
// speed does not depend on the weight values). wllama is installed on demand into bench/out/wllama (pinned).
// The page side is bench/browser-page.ts. The prompt is text (the same for both), tokenized by each engine.

import { execFileSync } from 'node:child_process';
import { createReadStream, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { dirname, extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CHROMIUM_FLAGS, findChromium } from '../tests/runtimes/runners.js';
import type { PageLoad, PageRun } from './browser-page.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const OUT = join(ROOT, 'bench', 'out', 'browser');
const WLLAMA_DIR = join(ROOT, 'bench', 'out', 'wllama');
export const WLLAMA_VERSION = '3.8.1';
const ISOLATION = { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp', 'cross-origin-resource-policy': 'same-origin' };

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : dflt;
}

// --- wllama, installed on demand (like golden/deps.ts does for llama.cpp) ---------------------------------------

function wllamaEsm(): string {
  const pkg = join(WLLAMA_DIR, 'node_modules', '@wllama', 'wllama');
  const version = existsSync(join(pkg, 'package.json')) ? (JSON.parse(readFileSync(join(pkg, 'package.json'), 'utf8')) as { version: string }).version : null;
  if (version !== WLLAMA_VERSION) {
    mkdirSync(WLLAMA_DIR, { recursive: true });
    writeFileSync(join(WLLAMA_DIR, 'package.json'), JSON.stringify({ name: 'lfm-bench-wllama', private: true, dependencies: { '@wllama/wllama': WLLAMA_VERSION } }, null, 2) + '\n');
    console.log(`installing @wllama/wllama@${WLLAMA_VERSION} into ${WLLAMA_DIR} ...`);
    execFileSync('npm', ['install', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: WLLAMA_DIR, stdio: 'inherit' });
  }
  return join(pkg, 'esm');
}

// --- memory of Chromium's process tree, from /proc -----------------------------------------------------------------

interface Proc {
  pid: number;
  ppid: number;
  rss: number;
  renderer: boolean;
  /** browser, renderer, gpu-process, or the utility's service (network, storage, ...). */
  kind: string;
}

function processKind(cmd: string): string {
  const type = /--type=([\w-]+)/.exec(cmd)?.[1];
  if (!type) return 'browser';
  if (type === 'utility') return /--utility-sub-type=[\w.]*?(\w+)\.mojom/.exec(cmd)?.[1] ?? 'utility';
  return type;
}

function procs(): Proc[] {
  const out: Proc[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const status = readFileSync(`/proc/${d}/status`, 'utf8');
      const ppid = Number(/^PPid:\s+(\d+)/m.exec(status)?.[1] ?? 0);
      const rss = Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? 0) * 1024;
      const cmd = readFileSync(`/proc/${d}/cmdline`, 'utf8');
      out.push({ pid: Number(d), ppid, rss, renderer: cmd.includes('--type=renderer'), kind: processKind(cmd), cmd } as Proc & { cmd: string });
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** Peak RSS summed over the browser (found by its profile folder) and all its descendants, and the renderer's peak. */
function memoryMeter(profile: string) {
  let peakSum = 0;
  let peakRenderer = 0;
  let atPeak: Record<string, number> = {};
  let base = { sum: 0, renderer: 0 };
  const sample = () => {
    if (process.platform !== 'linux') return;
    const all = procs() as (Proc & { cmd: string })[];
    const roots = all.filter((p) => p.cmd.includes(profile) && !all.some((q) => q.pid === p.ppid && q.cmd.includes(profile)));
    const tree = new Set(roots.map((p) => p.pid));
    for (let grew = true; grew; ) {
      grew = false;
      for (const p of all) if (!tree.has(p.pid) && tree.has(p.ppid)) (tree.add(p.pid), (grew = true));
    }
    const mine = all.filter((p) => tree.has(p.pid));
    const sum = mine.reduce((n, p) => n + p.rss, 0);
    if (sum > peakSum) {
      peakSum = sum;
      atPeak = {};
      for (const p of mine) atPeak[p.kind] = (atPeak[p.kind] ?? 0) + p.rss;
    }
    peakRenderer = Math.max(peakRenderer, ...mine.filter((p) => p.renderer).map((p) => p.rss), 0);
  };
  const timer = setInterval(sample, 100);
  return {
    reset() {
      peakSum = peakRenderer = 0;
      atPeak = {};
      sample();
      base = { sum: peakSum, renderer: peakRenderer };
    },
    read() {
      sample();
      return { sum: peakSum, renderer: peakRenderer, atPeak: { ...atPeak }, base: { ...base } };
    },
    stop: () => clearInterval(timer),
  };
}

// --- the server: the bench page, its script, wllama's files, the model (with Range) ---------------------------------

export async function serve(modelFile: string, wllamaDir: string): Promise<{ url: string; close(): void; modelRequests: () => number }> {
  const esbuild = await import('esbuild');
  mkdirSync(OUT, { recursive: true });
  await esbuild.build({ entryPoints: [join(ROOT, 'bench', 'browser-page.ts')], outfile: join(OUT, 'page.js'), bundle: true, format: 'esm', platform: 'browser', target: 'es2022', logLevel: 'silent' });
  const html = '<!doctype html><meta charset="utf-8"><title>lfm.ts browser bench</title><script type="module" src="/page.js"></script>\n';
  let modelRequests = 0;
  const types: Record<string, string> = { '.js': 'text/javascript', '.wasm': 'application/wasm', '.html': 'text/html' };
  const server = createServer((req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname));
    const file = path === '/' ? null : path === '/page.js' ? join(OUT, 'page.js') : path === '/model.gguf' ? modelFile : path.startsWith('/wllama/') ? join(wllamaDir, path.slice(8)) : undefined;
    if (file === null) return void res.writeHead(200, { ...ISOLATION, 'content-type': types['.html'] }).end(html);
    if (!file || !existsSync(file) || !statSync(file).isFile()) return void res.writeHead(404, ISOLATION).end();
    const size = statSync(file).size;
    if (path === '/model.gguf' && req.method === 'GET') modelRequests++;
    const m = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
    const start = m ? Number(m[1]) : 0;
    const end = m && m[2] ? Number(m[2]) : size - 1;
    res.writeHead(m ? 206 : 200, {
      ...ISOLATION, 'content-type': types[extname(file)] ?? 'application/octet-stream', 'content-length': end - start + 1, 'accept-ranges': 'bytes',
      ...(m ? { 'content-range': `bytes ${start}-${end}/${size}` } : {}),
    });
    if (req.method === 'HEAD') return void res.end();
    createReadStream(file, { start, end }).pipe(res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, close: () => (server.closeAllConnections(), server.close()), modelRequests: () => modelRequests };
}

// --- one engine at one thread count ---------------------------------------------------------------------------------

/** Peak RSS summed over the processes and of the renderer, by process kind at the peak, and with the page open before loading (the base). */
interface Peak {
  sum: number;
  renderer: number;
  atPeak: Record<string, number>;
  base: { sum: number; renderer: number };
}

interface Row {
  engine: string;
  threads: number;
  firstLoadS: number;
  firstPeak: Peak;
  cachedLoadS: number;
  run: PageRun;
  peak: Peak;
  /** Requests for the model's bytes during the reload (0: it came from the cache). */
  reloadRequests: number;
  /** The engine's own memory (WASM memory), when it says. */
  engineMemory?: number;
}

async function benchOne(chromiumPath: string, base: string, modelRequests: () => number, which: 'lfm' | 'wllama', threads: number, prompt: string, nDecode: number, ctx: number): Promise<Row> {
  const { chromium } = await import('playwright-core');
  const profile = mkdtempSync(join(tmpdir(), 'lfm-bench-browser-'));
  const meter = memoryMeter(profile);
  const model = `${base}model.gguf`;
  const errors: string[] = [];
  /** One browser session over the profile: a page on the bench, `body`, then the browser closes. */
  const session = async <T>(body: (page: import('playwright-core').Page) => Promise<T>): Promise<T> => {
    const context = await chromium.launchPersistentContext(profile, { executablePath: chromiumPath, headless: true, args: CHROMIUM_FLAGS });
    try {
      const page = context.pages()[0] ?? (await context.newPage());
      page.setDefaultTimeout(0);
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(base);
      await page.waitForFunction(() => 'benchLoad' in globalThis);
      if (!(await page.evaluate(() => crossOriginIsolated))) throw new Error('the bench page is not cross-origin isolated');
      meter.reset();
      return await body(page);
    } finally {
      await context.close();
    }
  };
  const load = (page: import('playwright-core').Page) =>
    page.evaluate(([w, u, t, c]) => (globalThis as any).benchLoad(w, u, t, c), [which, model, threads, ctx] as const) as Promise<PageLoad>;
  try {
    // 1. first visit: download into the browser's cache, load
    const first = await session(async (page) => ({ load: await load(page), peak: meter.read() }));
    // 2. a later visit (a new browser session on the same profile): from the cache, then prefill + decode
    const before = modelRequests();
    const second = await session(async (page) => {
      const cached = await load(page);
      const run = (await page.evaluate(([w, p, d]) => (globalThis as any).benchRun(w, p, d), [which, prompt, nDecode] as const)) as PageRun;
      return { cached, run, peak: meter.read() };
    });
    if (errors.length) console.error(`${which}: page errors:\n${errors.join('\n')}`);
    return {
      engine: second.cached.description, threads: second.cached.threads, firstLoadS: first.load.loadS, firstPeak: first.peak, cachedLoadS: second.cached.loadS,
      run: second.run, peak: second.peak, reloadRequests: modelRequests() - before, engineMemory: second.cached.memoryBytes,
    };
  } finally {
    meter.stop();
    rmSync(profile, { recursive: true, force: true });
  }
}

// --- main ---------------------------------------------------------------------------------------------------------

/** A prompt of about n tokens: ordinary words, the same text for both engines. */
function promptText(n: number): string {
  const words = ['the', 'model', 'reads', 'a', 'long', 'prompt', 'about', 'rivers', 'and', 'mountains', 'while', 'it', 'thinks', 'of', 'numbers', 'like', '42'];
  return Array.from({ length: n }, (_, i) => words[(i * 7 + 3) % words.length]).join(' ');
}

async function main(): Promise<void> {
  const file = arg('file', join(ROOT, 'bench', 'out', 'lfm2.5-1.2b.q4_0.gguf'));
  if (!existsSync(file)) {
    mkdirSync(dirname(file), { recursive: true });
    console.log(`making ${file} (lfm synth --shape lfm2.5-1.2b --type Q4_0) ...`);
    execFileSync(process.execPath, ['--import', 'tsx', join(ROOT, 'src', 'cli', 'main.ts'), 'synth', '--shape', 'lfm2.5-1.2b', '--type', 'Q4_0', '--out', file], { stdio: 'inherit' });
  }
  const chromium = await findChromium();
  if ('missing' in chromium) throw new Error(chromium.missing);
  const size = statSync(file).size;
  const nPrompt = Number(arg('prompt', '128'));
  const nDecode = Number(arg('decode', '64'));
  const threadCounts = arg('threads', '1,2').split(',').map(Number);
  const only = arg('only', '');
  const engines = (['lfm', 'wllama'] as const).filter((e) => !only || only === e);
  const prompt = promptText(nPrompt);
  const server = await serve(file, engines.includes('wllama') ? wllamaEsm() : OUT);
  const rows: Row[] = [];
  try {
    for (const threads of threadCounts) {
      for (const which of engines) {
        console.log(`${which}, ${threads} thread(s) ...`);
        try {
          // the context: a random model's tokenizer gives ~3 tokens per word of the prompt text
          rows.push(await benchOne(chromium.path, server.url, server.modelRequests, which, threads, prompt, nDecode, nPrompt * 4 + nDecode + 64));
        } catch (e) {
          console.error(`${which} (${threads} threads) failed: ${(e as Error).message}`);
        }
      }
    }
  } finally {
    server.close();
  }

  const mib = (b: number) => `${(b / 2 ** 20).toFixed(0)} MiB`;
  const x = (b: number) => `${(b / size).toFixed(2)}x`;
  const version = execFileSync(chromium.path, ['--version'], { encoding: 'utf8' }).trim();
  let commit = '';
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
  } catch {}
  console.log(`\nmodel ${file} (${mib(size)}), prompt ~${nPrompt} words, ${nDecode} decode steps; ${version}, headless, cross-origin isolated`);
  console.log(`machine: ${cpus().length} x ${cpus()[0]?.model}; commit ${commit}\n`);
  console.log('| engine | threads | prompt tokens | prefill tok/s | decode tok/s | long tasks > 50 ms (longest) | first load (download) s | cached load s | peak RSS, all processes (over the empty page) | peak RSS, renderer (over the empty page) | first visit: all / renderer |');
  console.log('|---|---|---|---|---|---|---|---|---|---|---|');
  const peak = (total: number, base: number) => `${mib(total)} ${x(total)} (+${mib(total - base)}, ${x(total - base)})`;
  for (const r of rows) {
    console.log(`| ${r.engine} | ${r.threads} | ${r.run.promptTokens} | ${r.run.prefillTokS.toFixed(2)} | ${r.run.decodeTokS.toFixed(2)} | ${r.run.longTasks} (${r.run.longestTaskMs.toFixed(0)} ms) | ${r.firstLoadS.toFixed(1)} | ${r.cachedLoadS.toFixed(1)}${r.reloadRequests ? ` (${r.reloadRequests} requests for the model!)` : ''} | ${peak(r.peak.sum, r.peak.base.sum)} | ${peak(r.peak.renderer, r.peak.base.renderer)} | ${mib(r.firstPeak.sum)} ${x(r.firstPeak.sum)} / ${mib(r.firstPeak.renderer)} ${x(r.firstPeak.renderer)} |`);
  }
  console.log('');
  const kinds = (m: Record<string, number>) => Object.entries(m).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${mib(v)}`).join(', ');
  for (const r of rows) {
    console.log(`${r.engine.split(' (')[0]}, ${r.threads} thread(s): at the peak ${kinds(r.peak.atPeak)}; first visit ${kinds(r.firstPeak.atPeak)}${r.engineMemory ? `; engine memory ${mib(r.engineMemory)} (${x(r.engineMemory)})` : ''}`);
  }
  for (const th of threadCounts) {
    const l = rows.find((r) => r.threads === th && r.engine.startsWith('wasm')), w = rows.find((r) => r.threads === th && r.engine.startsWith('wllama'));
    if (l && w) console.log(`${th} thread(s): lfm.ts / wllama prefill ${(l.run.prefillTokS / w.run.prefillTokS).toFixed(1)}x, decode ${(l.run.decodeTokS / w.run.decodeTokS).toFixed(1)}x`);
  }
  writeFileSync(join(OUT, 'results.json'), JSON.stringify({ file, size, nPrompt, nDecode, chromium: version, commit, rows }, null, 2) + '\n');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();
