// The chat page in a real browser: `lfm web` on 127.0.0.1, Chromium (playwright-core), and a seeded tiny model
// served by a local hub in the hub's URL layout (HF_ENDPOINT points the page at it, across origins, with CORS).
//
//   npm run test:runtimes   (or: npx vitest run -c vitest.runtimes.config.ts tests/runtimes/web.rt.ts)
//
// What must hold: the page is cross-origin isolated and the engine runs on 2 threads in Web Workers; the hub id
// resolves, downloads with progress (a cut connection resumes with a Range request), verifies and caches; the
// engine reads the weights in slices (never the whole file in one buffer); an answer streams; Stop stops it; no
// task on the page's thread runs over 50 ms while generating; a reload loads from the cache without downloading
// the weights again, and so does a reload with the hub gone; a picked .gguf loads from the File. A screenshot goes
// to build/out/web/ (git-ignored).
// Without Chromium every test skips with the reason (in CI, findChromium() installs it).

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { concatParts } from '../../reference/gguf.js';
import { DEFAULT_MODEL } from '../../src/sources/spec.js';
import { synthGguf, synthModel } from '../../src/synth/random-model.js';
import { TINY_SHAPES } from '../../src/synth/shapes.js';
import { startLocalHub, type LocalHub } from '../local-hub.js';
import { CHROMIUM_FLAGS, findChromium } from './runners.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const OUT = join(ROOT, 'build', 'out', 'web');
const [REPO, QUANT] = DEFAULT_MODEL.split(':');
const FILE = 'LFM2.5-1.2B-Thinking-Q4_0.gguf';
// 16 layers with the real layer pattern, so the file has many tensors and each is read on its own.
const GGUF = concatParts(synthGguf(synthModel(TINY_SHAPES[2]), 'Q4_0'));
const CUT_AT = 5000;
/** A task on the page's thread longer than this is a "long task" (the browser's own definition). */
const LONG_TASK_MS = 50;

let skip: string | null = null;
let hub: LocalHub;
let web: { url: string; child: ChildProcess } | null = null;
let context: BrowserContext | undefined;
let page: Page;
let profile = '';
const pageErrors: string[] = [];

/** `lfm web --port 0` as a user runs it (through tsx), with HF_ENDPOINT; resolves with the address it prints. */
function startLfmWeb(endpoint: string): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src', 'cli', 'main.ts'), 'web', '--port', '0', '-q'], {
    cwd: ROOT, env: { ...process.env, HF_ENDPOINT: endpoint }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`lfm web did not start in 60 s:\n${out}`)), 60_000);
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = /lfm web: (http:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ url: m[1], child });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`lfm web exited (${code}):\n${out}`)));
  });
}

// In the page before its own script: long tasks (PerformanceObserver 'longtask') and the sizes of Blob reads
// (arrayBuffer() of a Blob or a Response, and slices streamed with stream()).
const INIT_SCRIPT = () => {
  const w = window as unknown as { longTasks: { start: number; duration: number }[]; blobReads: number[] };
  w.longTasks = [];
  w.blobReads = [];
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) w.longTasks.push({ start: e.startTime, duration: e.duration });
  }).observe({ type: 'longtask', buffered: true });
  const read = Blob.prototype.arrayBuffer;
  Blob.prototype.arrayBuffer = async function (this: Blob) {
    const b = await read.call(this);
    w.blobReads.push(b.byteLength);
    return b;
  };
  const stream = Blob.prototype.stream;
  Blob.prototype.stream = function (this: Blob) {
    w.blobReads.push(this.size); // a slice streamed into the engine's memory (readInto)
    return stream.call(this);
  };
  const resRead = Response.prototype.arrayBuffer;
  Response.prototype.arrayBuffer = async function (this: Response) {
    const b = await resRead.call(this);
    w.blobReads.push(b.byteLength);
    return b;
  };
};

beforeAll(async () => {
  const chromium = await findChromium();
  if ('missing' in chromium) {
    skip = chromium.missing;
    console.log(`skipped: ${skip}`);
    return;
  }
  const playwright = await import('playwright-core');
  hub = await startLocalHub(REPO, { [FILE]: GGUF, 'README.md': new TextEncoder().encode('# tiny\n') });
  web = await startLfmWeb(hub.endpoint);
  profile = mkdtempSync(join(tmpdir(), 'lfm-web-profile-'));
  context = await playwright.chromium.launchPersistentContext(profile, { executablePath: chromium.path, headless: true, args: CHROMIUM_FLAGS, viewport: { width: 900, height: 760 } });
  await context.addInitScript(INIT_SCRIPT);
  page = context.pages()[0] ?? (await context.newPage());
  page.on('pageerror', (e) => pageErrors.push(e.message));
  page.on('console', (m) => m.type() === 'error' && pageErrors.push(m.text()));
});

afterAll(async () => {
  await context?.close();
  if (web) {
    web.child.kill('SIGINT');
    await new Promise((r) => web!.child.once('exit', r));
  }
  await hub?.close().catch(() => {});
  if (profile) rmSync(profile, { recursive: true, force: true });
});

const state = () => page.getAttribute('[data-testid=status]', 'data-state');
const statusText = () => page.textContent('[data-testid=status]');

/** Clicks Load and waits for the page to be ready (or fail); returns every status text seen on the way. */
async function loadModel(): Promise<string[]> {
  await page.evaluate(() => {
    const seen: string[] = ((window as unknown as { statusSeen: string[] }).statusSeen = []);
    const s = document.querySelector('[data-testid=status]')!;
    new MutationObserver(() => seen.push(`${s.getAttribute('data-state')}: ${s.textContent}`)).observe(s, { childList: true, characterData: true, subtree: true, attributes: true });
  });
  await page.click('[data-testid=load]');
  await page.waitForSelector('[data-testid=status]:is([data-state=ready], [data-state=error])', { timeout: 120_000 });
  expect(await state(), `${await statusText()}\n${pageErrors.join('\n')}`).toBe('ready');
  return page.evaluate(() => (window as unknown as { statusSeen: string[] }).statusSeen);
}

/** Types a prompt, sends it, waits for the answer to end; returns the last generation's record. */
async function ask(prompt: string, maxTokens: number): Promise<{ start: number; end: number; finish: string; tokens: number }> {
  const before = await page.evaluate(() => (window as unknown as { lfmPage: { generations: unknown[] } }).lfmPage.generations.length);
  if (!(await page.isVisible('[data-testid=max-tokens]'))) await page.click('#settings summary');
  await page.fill('[data-testid=max-tokens]', String(maxTokens));
  await page.fill('[data-testid=prompt]', prompt);
  await page.click('[data-testid=send]');
  await page.waitForFunction((n) => (window as unknown as { lfmPage: { generations: unknown[]; state: string } }).lfmPage.generations.length > n && (window as unknown as { lfmPage: { state: string } }).lfmPage.state !== 'generating', before, { timeout: 120_000 });
  return page.evaluate(() => (window as unknown as { lfmPage: { generations: { start: number; end: number; finish: string; tokens: number }[] } }).lfmPage.generations.at(-1)!);
}

describe('the chat page (lfm web) in Chromium', () => {
  it('opens cross-origin isolated, with the test hooks in place', async (ctx) => {
    if (skip) return ctx.skip(skip);
    await page.goto(`${web!.url}?threads=2&seed=3`);
    await page.waitForFunction(() => 'lfmPage' in window);
    expect(await page.evaluate(() => crossOriginIsolated)).toBe(true);
    for (const id of ['prompt', 'send', 'stop', 'status', 'model', 'load']) expect(await page.locator(`[data-testid=${id}]`).count(), id).toBe(1);
    expect(await state()).toBe('idle');
    expect(await page.inputValue('[data-testid=model]')).toBe(DEFAULT_MODEL);
    expect(await page.isDisabled('[data-testid=send]')).toBe(true);
  });

  it(`loads ${DEFAULT_MODEL} from the hub: progress, resumed after a cut, verified, read in slices, 2 threads`, async (ctx) => {
    if (skip) return ctx.skip(skip);
    hub.cutOnce(FILE, CUT_AT);
    const seen = await loadModel();
    expect(QUANT).toBe('Q4_0');
    // one cut request, then one that resumes where the bytes stopped
    expect(hub.downloads().map((r) => r.range)).toEqual([undefined, `bytes=${CUT_AT}-`]);
    expect(seen.some((s) => s.startsWith('downloading: Downloading') && s.includes(FILE)), seen.join('\n')).toBe(true);
    expect(seen.some((s) => s.startsWith('loading: Loading')), seen.join('\n')).toBe(true);
    expect(await statusText()).toMatch(/Ready: .*\(downloaded/);
    expect(await page.textContent('#engine')).toMatch(/2 threads \(web workers, shared memory\)/);
    // the engine read the cached file in pieces: never the whole file in one buffer
    const reads = await page.evaluate(() => (window as unknown as { blobReads: number[] }).blobReads);
    expect(reads.length).toBeGreaterThan(10);
    expect(Math.max(...reads)).toBeLessThan(GGUF.length / 4);
    expect(reads.reduce((a, b) => a + b, 0)).toBeGreaterThan(GGUF.length * 0.9);
  });

  it('streams an answer, with no long task on the page thread while generating', async (ctx) => {
    if (skip) return ctx.skip(skip);
    // count the answer's updates as they land
    await page.evaluate(() => {
      const w = window as unknown as { answerUpdates: number };
      w.answerUpdates = 0;
      new MutationObserver(() => w.answerUpdates++).observe(document.querySelector('#log')!, { childList: true, characterData: true, subtree: true });
    });
    const g = await ask('Hello! What is 2 + 2?', 48);
    const answer = await page.locator('[data-testid=answer]').last().textContent();
    const updates = await page.evaluate(() => (window as unknown as { answerUpdates: number }).answerUpdates);
    expect(g.tokens).toBeGreaterThan(4);
    expect((answer ?? '').length).toBeGreaterThan(0);
    expect(updates, 'the answer arrives in many updates, not at once').toBeGreaterThan(g.tokens / 2);
    const long = await page.evaluate(({ g, ms }) => (window as unknown as { longTasks: { start: number; duration: number }[] }).longTasks
      .filter((t) => t.start < g.end && t.start + t.duration > g.start && t.duration > ms), { g, ms: LONG_TASK_MS });
    expect(long, `long tasks during generation (${(g.end - g.start).toFixed(0)} ms from ${g.start.toFixed(0)} ms): ${JSON.stringify(long)}`).toEqual([]);
    expect(await page.textContent('[data-testid=status]')).toMatch(/^Done: \d+ tokens, [\d.]+ tok\/s/);
    mkdirSync(OUT, { recursive: true });
    await page.screenshot({ path: join(OUT, 'chat.png'), fullPage: true });
  });

  it('Stop ends the answer being written', async (ctx) => {
    if (skip) return ctx.skip(skip);
    // press Stop as soon as the first piece of the next answer shows (a real click on the button)
    await page.evaluate(() => {
      const log = document.querySelector('#log')!;
      const n = log.querySelectorAll('[data-testid=answer]').length;
      const mo = new MutationObserver(() => {
        const answers = log.querySelectorAll('[data-testid=answer]');
        if (answers.length > n && (answers[answers.length - 1].textContent ?? '').length > 0) {
          mo.disconnect();
          (document.querySelector('[data-testid=stop]') as HTMLButtonElement).click();
        }
      });
      mo.observe(log, { childList: true, characterData: true, subtree: true });
    });
    const g = await ask('Tell me a long story.', 3000);
    expect(g.finish).toBe('abort');
    expect(g.tokens).toBeLessThan(3000);
    const text = await page.locator('[data-testid=answer]').last().textContent();
    await page.waitForTimeout(300);
    expect(await page.locator('[data-testid=answer]').last().textContent()).toBe(text);
    expect(await statusText()).toMatch(/^Stopped after \d+ tokens/);
    expect(await page.isDisabled('[data-testid=stop]')).toBe(true);
  });

  it('New chat clears the conversation', async (ctx) => {
    if (skip) return ctx.skip(skip);
    expect(await page.locator('[data-testid=answer]').count()).toBe(2);
    await page.click('[data-testid=new-chat]');
    expect(await page.locator('#log > li').count()).toBe(0);
    await ask('Hi again', 8);
    expect(await page.locator('[data-testid=answer]').count()).toBe(1);
  });

  it('a reload loads the model from the cache: no second download of the weights', async (ctx) => {
    if (skip) return ctx.skip(skip);
    const downloads = hub.downloads().length;
    await page.reload();
    await page.waitForFunction(() => 'lfmPage' in window);
    const seen = await loadModel();
    expect(hub.downloads().length).toBe(downloads);
    expect(seen.some((s) => s.startsWith('downloading')), seen.join('\n')).toBe(false);
    expect(await statusText()).toMatch(/from the cache/);
    await ask('Still there?', 8);
  });

  it('works offline once the model is cached: the hub gone, a reload still loads it', async (ctx) => {
    if (skip) return ctx.skip(skip);
    await hub.close();
    await page.reload();
    await page.waitForFunction(() => 'lfmPage' in window);
    await loadModel();
    expect(await statusText()).toMatch(/from the cache/);
    const g = await ask('Offline?', 8);
    expect(g.tokens).toBeGreaterThan(0);
    expect(pageErrors.filter((e) => !/Failed to load resource|ERR_CONNECTION_REFUSED/.test(e))).toEqual([]);
  });

  it('a .gguf picked from disk loads from the File itself (no download, no cache)', async (ctx) => {
    if (skip) return ctx.skip(skip);
    await page.reload();
    await page.waitForFunction(() => 'lfmPage' in window);
    await page.setInputFiles('[data-testid=file]', { name: 'picked.gguf', mimeType: 'application/octet-stream', buffer: Buffer.from(GGUF) });
    await page.waitForSelector('[data-testid=status]:is([data-state=ready], [data-state=error])', { timeout: 120_000 });
    expect(await statusText()).toMatch(/^Ready: .* \(from the file/);
    const g = await ask('From a file?', 8);
    expect(g.tokens).toBeGreaterThan(0);
  });
});
