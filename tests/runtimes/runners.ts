// Runs the smoke bundle (build/bundle-smoke.ts) in each JavaScript runtime and returns what it printed:
//
//   node      `node tests/runtimes/print-smoke-node.mjs` (the bundle's Node variant: workers on worker_threads)
//   deno      `deno run --no-prompt --no-config --no-lock --no-remote --no-npm print-smoke.mjs`: no permissions at all
//   bun       `bun print-smoke.mjs` (JavaScriptCore, the one non-V8 engine here)
//   chromium  a page served from 127.0.0.1 imports the bundle; playwright-core calls smoke() in it
//   workerd   `workerd test smoke.capnp`: the bundle as a Worker module, run by a `test` handler
//
// Where the binaries come from: deno, bun and workerd are devDependencies whose real binary is an optional
// platform dependency (@deno/linux-x64-glibc, @oven/bun-linux-x64, @cloudflare/workerd-linux-64). Their
// postinstall scripts only copy or move that binary, so we look in both places and work whether or not npm ran
// the scripts (npm 11 runs unapproved ones with a warning, skips them under strict-allow-scripts or
// --ignore-scripts; both cases tried). deno and workerd are pinned to the newest versions whose platform packages
// exist for every OS in the registry reached here: with one missing, the lock file lacks it and `npm ci` refuses
// ("package.json and package-lock.json are not in sync"). Chromium is Debian's
// (/usr/bin/chromium, or LFM_CHROMIUM): when it is missing and we are root with CI=true or LFM_INSTALL_BROWSER=1,
// we `apt-get install chromium` (30-60 s here); otherwise that runtime is skipped with the reason.
// playwright-core never downloads a browser.
//
//   npx tsx tests/runtimes/runners.ts [node deno bun chromium workerd]   -> one JSON line per runtime

import { execFile, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleSmoke, SMOKE_BUNDLE, SMOKE_OUT_DIR } from '../../build/bundle-smoke.js';
import type { LogitTrace, SmokeResult } from './smoke-entry.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const PRINT_SMOKE = join(ROOT, 'tests', 'runtimes', 'print-smoke.mjs');
const PRINT_SMOKE_NODE = join(ROOT, 'tests', 'runtimes', 'print-smoke-node.mjs');
const RUN_TIMEOUT_MS = 120_000;
const INSTALL_TIMEOUT_MS = 600_000;

export const RUNTIMES = ['node', 'deno', 'bun', 'chromium', 'workerd'] as const;
export type RuntimeName = (typeof RUNTIMES)[number];

/** What every runtime prints (print-smoke.mjs, the page, the worker). */
export interface SmokeOutput {
  runtime: string;
  smoke: SmokeResult;
  trace: LogitTrace;
}

export type RunResult =
  | { ok: true; output: SmokeOutput; /** Wall time of the run, process start (or page load) included. */ wallMs: number; command: string }
  | { ok: false; skipped: string };

// -----------------------------------------------------------------------------------------------------------------
// Binaries from node_modules

/** Per platform: the optional dependency that holds the binary, and where the postinstall script puts it. */
const BINARIES: Record<'deno' | 'bun' | 'workerd', { platform: Record<string, string>; installed: string }> = {
  deno: {
    platform: {
      'linux-x64': '@deno/linux-x64-glibc/deno',
      'linux-arm64': '@deno/linux-arm64-glibc/deno',
      'darwin-x64': '@deno/darwin-x64/deno',
      'darwin-arm64': '@deno/darwin-arm64/deno',
      'win32-x64': '@deno/win32-x64/deno.exe',
      'win32-arm64': '@deno/win32-arm64/deno.exe',
    },
    installed: process.platform === 'win32' ? 'deno/deno.exe' : 'deno/deno',
  },
  bun: {
    platform: {
      'linux-x64': '@oven/bun-linux-x64/bin/bun',
      'linux-arm64': '@oven/bun-linux-aarch64/bin/bun',
      'darwin-x64': '@oven/bun-darwin-x64/bin/bun',
      'darwin-arm64': '@oven/bun-darwin-aarch64/bin/bun',
      'win32-x64': '@oven/bun-windows-x64/bin/bun.exe',
      'win32-arm64': '@oven/bun-windows-aarch64/bin/bun.exe',
    },
    // The postinstall script moves the binary here (the file is a text placeholder until it runs).
    installed: 'bun/bin/bun.exe',
  },
  workerd: {
    platform: {
      'linux-x64': '@cloudflare/workerd-linux-64/bin/workerd',
      'linux-arm64': '@cloudflare/workerd-linux-arm64/bin/workerd',
      'darwin-x64': '@cloudflare/workerd-darwin-64/bin/workerd',
      'darwin-arm64': '@cloudflare/workerd-darwin-arm64/bin/workerd',
      'win32-x64': '@cloudflare/workerd-windows-64/bin/workerd.exe',
    },
    installed: 'workerd/bin/workerd',
  },
};

/** The first candidate binary that answers `--version`, or why there is none. */
export function findBinary(name: keyof typeof BINARIES): { path: string; version: string } | { missing: string } {
  const key = `${process.platform}-${process.arch}`;
  const spec = BINARIES[name];
  const candidates = [spec.platform[key], spec.installed].filter((p): p is string => p !== undefined).map((p) => join(ROOT, 'node_modules', p));
  for (const path of candidates) {
    if (!existsSync(path)) continue;
    const r = spawnSync(path, ['--version'], { encoding: 'utf8', timeout: 30_000 });
    if (r.status === 0) return { path, version: r.stdout.trim().split('\n')[0] };
  }
  const pkg = spec.platform[key]?.split('/').slice(0, 2).join('/') ?? `(no ${name} package for ${key})`;
  return { missing: `${name}: no working binary in node_modules (tried ${candidates.map((c) => c.slice(ROOT.length + 1)).join(', ')}); \`npm ci\` installs it from the optional dependency ${pkg}` };
}

// -----------------------------------------------------------------------------------------------------------------
// Processes

function run(file: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; timeout?: number } = {}): Promise<{ stdout: string; stderr: string; ms: number }> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    execFile(file, args, { cwd: options.cwd ?? ROOT, env: options.env ?? process.env, timeout: options.timeout ?? RUN_TIMEOUT_MS, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${file} ${args.join(' ')} failed: ${err.message}\n${stderr}`));
      else resolve({ stdout, stderr, ms: performance.now() - t0 });
    });
  });
}

/** The last line of stdout that parses as a smoke output. */
function parseOutput(stdout: string, what: string): SmokeOutput {
  for (const line of stdout.trim().split('\n').reverse()) {
    if (!line.startsWith('{')) continue;
    const j = JSON.parse(line) as SmokeOutput;
    if (j.smoke && j.trace) return j;
  }
  throw new Error(`${what}: no smoke JSON on stdout:\n${stdout.slice(0, 2000)}`);
}

async function runScript(file: string, args: string[], env: NodeJS.ProcessEnv = process.env, cwd = ROOT): Promise<RunResult> {
  const { stdout, ms } = await run(file, args, { env, cwd });
  const command = [file.startsWith(ROOT) ? file.slice(ROOT.length + 1) : file, ...args.map((a) => (a.startsWith(ROOT) ? a.slice(ROOT.length + 1) : a))].join(' ');
  return { ok: true, output: parseOutput(stdout, command), wallMs: ms, command };
}

// -----------------------------------------------------------------------------------------------------------------
// The runtimes

async function runNode(): Promise<RunResult> {
  return runScript(process.execPath, [PRINT_SMOKE_NODE]);
}

async function runDeno(): Promise<RunResult> {
  const bin = findBinary('deno');
  if ('missing' in bin) return { ok: false, skipped: bin.missing };
  return runScript(bin.path, ['run', '--no-prompt', '--no-config', '--no-lock', '--no-remote', '--no-npm', PRINT_SMOKE], { ...process.env, DENO_NO_UPDATE_CHECK: '1', NO_COLOR: '1' });
}

async function runBun(): Promise<RunResult> {
  const bin = findBinary('bun');
  if ('missing' in bin) return { ok: false, skipped: bin.missing };
  return runScript(bin.path, [PRINT_SMOKE], { ...process.env, NO_COLOR: '1' });
}

const WORKER_JS = `import { describeRuntime, logitTrace, smoke } from './smoke.js';
export default {
  async test() {
    const result = await smoke();
    console.log(JSON.stringify({ runtime: describeRuntime(), smoke: result, trace: await logitTrace(result.tokens) }));
  },
};
`;

const WORKERD_CONFIG = `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (services = [(name = "smoke", worker = .smokeWorker)]);
const smokeWorker :Workerd.Worker = (
  modules = [(name = "worker.js", esModule = embed "worker.js"), (name = "smoke.js", esModule = embed "smoke.js")],
  compatibilityDate = "2025-01-01",
);
`;

async function runWorkerd(): Promise<RunResult> {
  const bin = findBinary('workerd');
  if ('missing' in bin) return { ok: false, skipped: bin.missing };
  writeFileSync(join(SMOKE_OUT_DIR, 'worker.js'), WORKER_JS);
  writeFileSync(join(SMOKE_OUT_DIR, 'smoke.capnp'), WORKERD_CONFIG);
  return runScript(bin.path, ['test', 'smoke.capnp'], process.env, SMOKE_OUT_DIR);
}

const PAGE_HTML = `<!doctype html>
<meta charset="utf-8">
<title>lfm.ts runtime smoke</title>
<script type="module">
  import { describeRuntime, logitTrace, smoke, wasmGreedy } from './smoke.js';
  window.runSmoke = async () => {
    const result = await smoke();
    return { runtime: describeRuntime(), smoke: result, trace: await logitTrace(result.tokens) };
  };
  window.runWasmGreedy = () => wasmGreedy();
</script>
`;

/** The flags the machine notes ask for: no background connections to a closed network, no sandbox as root. */
export const CHROMIUM_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'];

/** Debian's chromium, installed on demand where that is allowed (see the file comment). */
export async function findChromium(): Promise<{ path: string } | { missing: string }> {
  const path = process.env.LFM_CHROMIUM ?? '/usr/bin/chromium';
  if (existsSync(path)) return { path };
  if (process.env.LFM_CHROMIUM) return { missing: `chromium: LFM_CHROMIUM=${path} does not exist` };
  const root = process.getuid?.() === 0;
  const allowed = process.env.CI === 'true' || process.env.CI === '1' || process.env.LFM_INSTALL_BROWSER === '1';
  if (!root || !allowed || !existsSync('/usr/bin/apt-get')) {
    return {
      missing:
        `chromium: ${path} not found. Install Debian's chromium (apt-get install chromium), point LFM_CHROMIUM at a ` +
        `Chromium binary, or run as root with LFM_INSTALL_BROWSER=1 (or CI=true) and apt-get to let this test install it` +
        ` (now: ${root ? 'root' : 'not root'}, ${allowed ? 'allowed' : 'not allowed'}, apt-get ${existsSync('/usr/bin/apt-get') ? 'present' : 'absent'})`,
    };
  }
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const t0 = performance.now();
  try {
    await run('apt-get', ['update', '-qq'], { env, timeout: INSTALL_TIMEOUT_MS });
    await run('apt-get', ['install', '-y', '-qq', 'chromium'], { env, timeout: INSTALL_TIMEOUT_MS });
  } catch (e) {
    // A package mirror that is down is not a portability bug: skip the browser, say why.
    return { missing: `chromium: apt-get install chromium failed (${(e as Error).message.split('\n')[0]})` };
  }
  console.log(`chromium: installed with apt-get in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  return existsSync(path) ? { path } : { missing: `chromium: apt-get install chromium did not provide ${path}` };
}

/** The page in Chromium: `isolated` serves it with COOP + COEP (shared memory for the engine's threads). */
async function withChromiumPage<T>(isolated: boolean, body: (page: import('playwright-core').Page, url: string, chromiumPath: string) => Promise<T>): Promise<T | { skipped: string }> {
  let playwright: typeof import('playwright-core');
  try {
    playwright = await import('playwright-core');
  } catch (e) {
    return { skipped: `chromium: playwright-core cannot be imported (${(e as Error).message}); \`npm ci\` installs it` };
  }
  const chromium = await findChromium();
  if ('missing' in chromium) return { skipped: chromium.missing };

  writeFileSync(join(SMOKE_OUT_DIR, 'index.html'), PAGE_HTML);
  const files: Record<string, string> = { '/': 'index.html', '/index.html': 'index.html', '/smoke.js': 'smoke.js' };
  const types: Record<string, string> = { html: 'text/html; charset=utf-8', js: 'text/javascript; charset=utf-8' };
  // cross-origin isolated (COOP + COEP), so the page may share memory with its workers: the engine's threads
  const isolation = isolated ? { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' } : {};
  const server = createServer((req, res) => {
    const file = files[(req.url ?? '/').split('?')[0]];
    if (!file) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': types[file.split('.').pop()!], 'cache-control': 'no-store', ...isolation }).end(readFileSync(join(SMOKE_OUT_DIR, file)));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  const profile = mkdtempSync(join(tmpdir(), 'lfm-chromium-'));
  const errors: string[] = [];
  let context: import('playwright-core').BrowserContext | undefined;
  try {
    context = await playwright.chromium.launchPersistentContext(profile, { executablePath: chromium.path, headless: true, args: CHROMIUM_FLAGS });
    const page = context.pages()[0] ?? (await context.newPage());
    page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
    page.on('console', (m) => m.type() === 'error' && errors.push(`console: ${m.text()}`));
    await page.goto(url);
    await page.waitForFunction(() => 'runSmoke' in window, undefined, { timeout: 30_000 });
    return await body(page, url, chromium.path);
  } catch (e) {
    throw new Error(`chromium: ${(e as Error).message}${errors.length ? `\n${errors.join('\n')}` : ''}`);
  } finally {
    await context?.close();
    server.close();
    rmSync(profile, { recursive: true, force: true });
  }
}

async function runChromium(): Promise<RunResult> {
  const t0 = performance.now();
  const r = await withChromiumPage(true, async (page, url, path) => {
    const output = (await page.evaluate(() => (window as unknown as { runSmoke(): Promise<unknown> }).runSmoke())) as SmokeOutput;
    return { ok: true as const, output, wallMs: performance.now() - t0, command: `${path} (playwright-core) ${url}` };
  });
  return 'skipped' in r ? { ok: false, skipped: r.skipped } : r;
}

/** The WASM engine's greedy run in a page that is NOT cross-origin isolated: no shared memory, so one worker. */
export async function runChromiumNotIsolated(): Promise<{ description: string; threads: number; greedy: number[]; crossOriginIsolated: boolean } | { skipped: string }> {
  return withChromiumPage(false, async (page) => ({
    ...((await page.evaluate(() => (window as unknown as { runWasmGreedy(): Promise<unknown> }).runWasmGreedy())) as { description: string; threads: number; greedy: number[] }),
    crossOriginIsolated: await page.evaluate(() => crossOriginIsolated),
  }));
}

/** Runs the bundle (build it first with bundleSmoke()) in one runtime. Throws when the runtime runs and fails. */
export function runRuntime(name: RuntimeName): Promise<RunResult> {
  if (!existsSync(SMOKE_BUNDLE)) throw new Error(`${SMOKE_BUNDLE} is missing: run npx tsx build/bundle-smoke.ts`);
  return { node: runNode, deno: runDeno, bun: runBun, chromium: runChromium, workerd: runWorkerd }[name]();
}

// -----------------------------------------------------------------------------------------------------------------
// Comparing a runtime with Node

/** A Float32 value with its bit pattern, for messages about last-bit differences. */
function f32(x: number): string {
  const b = new DataView(new ArrayBuffer(4));
  b.setFloat32(0, x, true);
  return `${x} (0x${b.getUint32(0, true).toString(16).padStart(8, '0')})`;
}

function firstDiff(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) if (a[i] !== b[i]) return i;
  return -1;
}

/** The first (step, index) where two logit traces differ bit for bit, or null. */
export function firstLogitDiff(a: LogitTrace, b: LogitTrace): { step: number; index: number; a: number; b: number; differing: number } | null {
  for (let s = 0; s < Math.max(a.logits.length, b.logits.length); s++) {
    const x = a.logits[s] ?? [];
    const y = b.logits[s] ?? [];
    const i = firstDiff(x, y);
    if (i < 0) continue;
    let differing = 0;
    for (let j = 0; j < Math.max(x.length, y.length); j++) if (!Object.is(x[j], y[j])) differing++;
    return { step: s, index: i, a: x[i], b: y[i], differing };
  }
  return null;
}

export interface Comparison {
  /** Model bytes, greedy ids + answer, sampled ids, logits: one line each, naming the first difference. */
  model: string | null;
  greedy: string | null;
  sampled: string | null;
  logits: string | null;
  summary: string;
}

/** Compares a runtime's output with Node's; each field is null when equal, else says where and how they differ. */
export function compareWithNode(node: SmokeOutput, other: SmokeOutput): Comparison {
  const n = node.smoke;
  const o = other.smoke;
  const model = node.trace.ggufHash === other.trace.ggufHash ? null : `model bytes differ: GGUF hash ${other.trace.ggufHash}, Node ${node.trace.ggufHash}`;

  let greedy: string | null = null;
  const g = firstDiff(n.greedy, o.greedy);
  if (g >= 0) greedy = `greedy ids differ first at position ${g}: ${o.greedy[g]} vs Node ${n.greedy[g]} (${JSON.stringify(o.greedy)} vs ${JSON.stringify(n.greedy)})`;
  else if (n.answer !== o.answer || n.finish !== o.finish) greedy = `greedy ids equal but answer/finish differ: ${JSON.stringify([o.answer, o.finish])} vs Node ${JSON.stringify([n.answer, n.finish])}`;

  const logitDiff = firstLogitDiff(node.trace, other.trace);
  const logits = logitDiff && `logits differ first at step ${logitDiff.step}, id ${logitDiff.index}: ${f32(logitDiff.b)} vs Node ${f32(logitDiff.a)} (${logitDiff.differing} of ${node.trace.logits[logitDiff.step]?.length} ids differ at that step)`;

  let sampled: string | null = null;
  const s = firstDiff(n.tokens, o.tokens);
  if (s >= 0) {
    const cause = logitDiff && logitDiff.step <= s ? `; the logits already differ at step ${logitDiff.step} (${logits})` : `; the logits up to that step are bit-identical, so the sampler's own arithmetic (Math.exp in the softmax) differs`;
    sampled = `sampled ids (seed 7) differ first at position ${s}: ${o.tokens[s]} vs Node ${n.tokens[s]}${cause}`;
  }

  const steps = node.trace.logits.length;
  const V = node.trace.logits[0]?.length ?? 0;
  const summary =
    `${other.runtime}: greedy ${g < 0 ? `${o.greedy.length}/${n.greedy.length} ids equal` : `differs at ${g}`}, ` +
    `sampled ${s < 0 ? `${o.tokens.length}/${n.tokens.length} ids equal` : `differs at ${s}`}, ` +
    `logits ${logitDiff ? `differ from step ${logitDiff.step}` : `${steps}x${V} bit-identical`}, smoke ${o.ms.toFixed(0)} ms`;
  return { model, greedy, sampled, logits, summary };
}

// -----------------------------------------------------------------------------------------------------------------
// CLI

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const names = (process.argv.length > 2 ? process.argv.slice(2) : [...RUNTIMES]) as RuntimeName[];
  await bundleSmoke();
  for (const name of names) {
    if (!RUNTIMES.includes(name)) throw new Error(`unknown runtime ${name}: expected one of ${RUNTIMES.join(', ')}`);
    const r = await runRuntime(name);
    if (!r.ok) console.log(JSON.stringify({ name, skipped: r.skipped }));
    else {
      const { logits, ...trace } = r.output.trace;
      console.log(JSON.stringify({ name, command: r.command, wallMs: Math.round(r.wallMs), runtime: r.output.runtime, smoke: r.output.smoke, trace: { ...trace, logitSteps: logits.length } }));
    }
  }
}
