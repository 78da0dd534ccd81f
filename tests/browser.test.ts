// lfm.ts/browser in Node: the parts a page uses that do not need a page. openModelSource and loadLfm against the
// local hub (tests/local-hub.ts) with a Cache API stand-in, progress events (phases, totals, rate), typed errors for
// bad input, and the blob byte source's streaming readInto (BYOB and plain streams). The real page runs in Chromium
// in tests/runtimes/web.rt.ts.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { blobSource } from '../reference/bytes.js';
import { FormatError, InputError } from '../reference/errors.js';
import { concatParts } from '../reference/gguf.js';
import { loadLfm, openModelSource, progressSource, rateMeter, type LfmProgress } from '../src/browser/index.js';
import { browserCacheStore, type CacheLike, type CacheStorageLike } from '../src/sources/browser-cache.js';
import { memoryCacheStore } from '../src/sources/cache-store.js';
import { SpecError } from '../src/sources/errors.js';
import { synthGguf, synthModel } from '../src/synth/random-model.js';
import { TINY_SHAPES } from '../src/synth/shapes.js';
import { startLocalHub, type LocalHub } from './local-hub.js';

const REPO = 'LiquidAI/Tiny-GGUF';
const FILE = 'Tiny-Q4_0.gguf';
const GGUF = concatParts(synthGguf(synthModel(TINY_SHAPES[1]), 'Q4_0')) as Uint8Array<ArrayBuffer>;
let hub: LocalHub;

beforeAll(async () => {
  hub = await startLocalHub(REPO, { [FILE]: GGUF });
});
afterAll(async () => {
  await hub.close();
});

/** An in-memory stand-in for CacheStorage (Node has no Cache API). */
function fakeCaches(): CacheStorageLike {
  const entries = new Map<string, { body: Blob; headers: [string, string][] }>();
  const cache: CacheLike = {
    async match(url) {
      const e = entries.get(url);
      return e ? new Response(e.body, { headers: e.headers }) : undefined;
    },
    async put(url, res) {
      const headers: [string, string][] = [];
      res.headers.forEach((v, k) => headers.push([k, v]));
      entries.set(url, { body: await res.blob(), headers });
    },
    async delete(url) {
      return entries.delete(url);
    },
  };
  return { open: async () => cache };
}

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected a rejection');
}

describe('openModelSource (browser)', () => {
  it('a File is read in place: no download, no cache', async () => {
    const file = new File([GGUF], 'picked.gguf');
    const m = await openModelSource(file);
    expect(m).toMatchObject({ kind: 'gguf', name: 'picked.gguf', origin: 'file' });
    if (m.kind !== 'gguf') throw new Error('unreachable');
    expect(m.source.size).toBe(GGUF.length);
    expect(Buffer.from(await m.source.read(100, 50)).equals(Buffer.from(GGUF.subarray(100, 150)))).toBe(true);
  });

  it('a hub id downloads once into the cache with progress (bytes, total, rate), then opens from the cache', async () => {
    const store = await browserCacheStore({ caches: fakeCaches() });
    const events: LfmProgress[] = [];
    const start = hub.downloads().length;
    const m = await openModelSource(`${REPO}:Q4_0`, { store, endpoint: hub.endpoint, progressIntervalMs: 0, onProgress: (p) => events.push(p), persist: false });
    expect(m.origin).toBe('cache');
    expect(m.name).toBe(`${REPO}:Q4_0`);
    expect(m.fetched?.files[0]).toMatchObject({ file: FILE, downloaded: true, size: GGUF.length });
    expect(hub.downloads().length - start).toBe(1);
    expect(events.length).toBeGreaterThan(1);
    expect(events.every((e) => e.phase === 'download' && e.file === FILE && e.total === GGUF.length && e.rate >= 0)).toBe(true);
    expect(events.at(-1)!.loaded).toBe(GGUF.length);
    if (m.kind !== 'gguf') throw new Error('unreachable');
    expect(Buffer.from(await m.source.read(0, m.source.size)).equals(Buffer.from(GGUF))).toBe(true);

    const again = await openModelSource(`${REPO}:Q4_0`, { store, endpoint: hub.endpoint, onProgress: (p) => events.push(p), persist: false });
    expect(again.fetched?.files[0].downloaded).toBe(false);
    expect(hub.downloads().length - start).toBe(1); // no second request for the weights
  });

  it('a URL downloads once too (cached by URL)', async () => {
    const store = memoryCacheStore();
    const url = `${hub.endpoint}/${REPO}/resolve/main/${FILE}`;
    const start = hub.downloads().length;
    await openModelSource(url, { store, persist: false });
    const again = await openModelSource(new URL(url), { store, persist: false });
    expect(again.fetched?.files[0]).toMatchObject({ downloaded: false, size: GGUF.length });
    expect(hub.downloads().length - start).toBe(1);
  });

  it('bad input is a typed error naming what is wrong', async () => {
    const store = memoryCacheStore();
    expect(await rejection(openModelSource('./model.gguf', { store }))).toBeInstanceOf(SpecError);
    expect((await rejection(openModelSource('./model.gguf', { store }))).message).toMatch(/pass a File or Blob/);
    const e = await rejection(openModelSource(42 as unknown as string, { store }));
    expect(e).toBeInstanceOf(InputError);
    expect(e.message).toMatch(/^model: expected a hub id .* got number/);
    expect((await rejection(openModelSource(null as unknown as string, { store }))).message).toMatch(/got null/);
    expect(await rejection(openModelSource('owner/name:', { store }))).toBeInstanceOf(SpecError);
    // no Cache API in Node and no store given: the store says so
    expect((await rejection(openModelSource(`${REPO}:Q4_0`, { endpoint: hub.endpoint }))).message).toMatch(/Cache API/);
  });
});

describe('loadLfm (browser)', () => {
  it('a hub id to a running model: download, then load progress, then chat', async () => {
    const events: LfmProgress[] = [];
    const lfm = await loadLfm(`${REPO}:Q4_0`, { store: memoryCacheStore(), endpoint: hub.endpoint, progressIntervalMs: 0, onProgress: (p) => events.push(p), persist: false, engine: 'wasm', threads: 1 });
    try {
      expect(lfm.source).toMatchObject({ origin: 'cache', downloaded: true, name: `${REPO}:Q4_0` });
      const phases = events.map((e) => e.phase);
      expect(phases.indexOf('load')).toBeGreaterThan(phases.lastIndexOf('download'));
      const loads = events.filter((e) => e.phase === 'load');
      expect(loads.at(-1)).toMatchObject({ loaded: GGUF.length, total: GGUF.length });
      const r = await lfm.chat([{ role: 'user', content: 'hi' }], { max_tokens: 4, seed: 1 }).result();
      expect(r.usage.completion_tokens).toBe(4);
    } finally {
      await lfm.dispose();
    }
  });

  it('a Blob, and a { gguf } input, load the same way', async () => {
    const a = await loadLfm(new Blob([GGUF]), { engine: 'reference' });
    const b = await loadLfm({ gguf: blobSource(new Blob([GGUF]), 'x.gguf') }, { engine: 'reference' });
    try {
      expect(a.source).toMatchObject({ origin: 'file', downloaded: false });
      expect(b.source).toMatchObject({ origin: 'file', name: 'x.gguf' });
      const msgs = [{ role: 'user' as const, content: 'hi' }];
      expect((await a.chat(msgs, { max_tokens: 3, seed: 2 }).result()).tokens).toEqual((await b.chat(msgs, { max_tokens: 3, seed: 2 }).result()).tokens);
    } finally {
      await a.dispose();
      await b.dispose();
    }
  });

  it.each([
    [{ onProgress: 'yes' }, /options\.onProgress must be a function/],
    [{ threads: 0 }, /options\.threads must be an integer >= 1/],
    [{ threads: 1.5 }, /options\.threads/],
    [{ endpoint: 'ftp://hub' }, /options\.endpoint must be an http\(s\) URL/],
    [{ token: '' }, /options\.token must be a non-empty string/],
    [{ signal: {} }, /options\.signal must be an AbortSignal/],
    [{ engine: 'gpu' }, /unknown engine "gpu"/],
  ])('rejects bad options %j with an InputError naming the option', async (opts, message) => {
    const e = await rejection(loadLfm(new Blob([GGUF]), opts as never));
    expect(e).toBeInstanceOf(InputError);
    expect(e.message).toMatch(message);
  });
});

describe('progress helpers', () => {
  it('rateMeter: bytes per second over a sliding window; a restart from scratch starts over', () => {
    let t = 0;
    const meter = rateMeter(1000, () => t);
    expect(meter(0)).toBe(0);
    t = 500;
    expect(meter(1000)).toBe(2000);
    t = 1000;
    expect(meter(3000)).toBe(3000);
    t = 2500; // the 0 ms sample has left the window
    expect(meter(3000)).toBeCloseTo(0, 6);
    t = 3000;
    expect(meter(10)).toBe(0); // restarted
  });

  it('progressSource counts the bytes read (read and readInto), forwards readInto, ends at the total', async () => {
    const events: LfmProgress[] = [];
    const src = progressSource(blobSource(new Blob([GGUF])), 'm.gguf', (p) => events.push(p), 0) as ReturnType<typeof blobSource>;
    expect(typeof src.readInto).toBe('function');
    const half = Math.floor(GGUF.length / 2);
    await src.read(0, half);
    const rest = new Uint8Array(GGUF.length - half);
    await src.readInto(half, rest);
    expect(Buffer.from(rest).equals(Buffer.from(GGUF.subarray(half)))).toBe(true);
    expect(events.map((e) => e.loaded)).toEqual([half, GGUF.length]);
    expect(events.every((e) => e.phase === 'load' && e.total === GGUF.length && e.file === 'm.gguf')).toBe(true);
  });
});

describe('blobSource.readInto', () => {
  const data: Uint8Array<ArrayBuffer> = new Uint8Array(3 << 20).map((_, i) => (i * 31 + (i >> 11)) & 255);

  /** A Blob look-alike whose slices stream through `make` (a byte stream or a plain one). */
  const fakeBlob = (make: (bytes: Uint8Array) => ReadableStream<Uint8Array>, bytes = data): Blob =>
    ({ size: bytes.length, slice: (a: number, b: number) => ({ stream: () => make(bytes.subarray(a, b)) }) }) as unknown as Blob;
  const plain = (chunk: number) => (bytes: Uint8Array) => {
    let at = 0;
    return new ReadableStream<Uint8Array>({
      pull(c) {
        if (at >= bytes.length) return c.close();
        c.enqueue(bytes.slice(at, at + chunk));
        at += chunk;
      },
    });
  };
  const byteStream = (bytes: Uint8Array) => {
    let at = 0;
    return new ReadableStream({
      type: 'bytes',
      pull(c) {
        const req = c.byobRequest;
        if (at >= bytes.length) {
          c.close();
          req?.respond(0);
          return;
        }
        if (!req) throw new Error('expected a BYOB read');
        const view = req.view as Uint8Array;
        const n = Math.min(view.byteLength, bytes.length - at, 70_000);
        view.set(bytes.subarray(at, at + n));
        at += n;
        req.respond(n);
      },
    }) as unknown as ReadableStream<Uint8Array>;
  };

  it.each([
    ['a real Blob', () => new Blob([data])],
    ['a plain stream of odd chunks', () => fakeBlob(plain(12_345))],
    ['a byte stream (BYOB reads into one reused buffer)', () => fakeBlob(byteStream)],
  ])('%s: exactly the asked range lands in the target, at its offset', async (_, make) => {
    const src = blobSource(make(), 'b');
    for (const [offset, length] of [[0, 10], [7, (1 << 20) + 3], [data.length - 5000, 5000], [123_456, 2 << 20]]) {
      const target = new Uint8Array(length + 8).fill(0xee);
      await src.readInto(offset, target.subarray(4, 4 + length));
      expect(Buffer.from(target.subarray(4, 4 + length)).equals(Buffer.from(data.subarray(offset, offset + length))), `${offset}+${length}`).toBe(true);
      expect([...target.subarray(0, 4), ...target.subarray(4 + length)]).toEqual(new Array(8).fill(0xee));
    }
  });

  it('a stream that ends early or gives too much is a FormatError; a range outside the blob too', async () => {
    const short = fakeBlob((b) => plain(1000)(b.subarray(0, b.length - 1)));
    expect(await rejection(blobSource(short, 's').readInto(0, new Uint8Array(5000), 'tensor x'))).toBeInstanceOf(FormatError);
    const long = fakeBlob((b) => plain(1000)(new Uint8Array(b.length + 1)));
    expect((await rejection(blobSource(long, 'l').readInto(0, new Uint8Array(5000)))).message).toMatch(/more than the 5000 bytes/);
    expect(await rejection(blobSource(new Blob([data]), 'b').readInto(data.length - 10, new Uint8Array(11)))).toBeInstanceOf(FormatError);
  });
});
