// `lfm web`'s server (src/node/web-server.ts) and command line (src/cli/web.ts), in Node: the headers that make the
// page cross-origin isolated, config.json, a local model served with Range, no way out of web/, and usage errors.
// The page itself runs in Chromium in tests/runtimes/web.rt.ts.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../src/cli/main.js';
import { cmdWeb } from '../src/cli/web.js';
import { createWebServer, ISOLATION_HEADERS, packageWebDir } from '../src/node/web-server.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const tmp = mkdtempSync(join(tmpdir(), 'lfm-web-'));
const MODEL = join(tmp, 'm.gguf');
const BYTES = new Uint8Array(1000).map((_, i) => i & 255);
let server: Server;
let base = '';

beforeAll(async () => {
  writeFileSync(MODEL, BYTES);
  server = createWebServer({ webDir: join(ROOT, 'web'), modelFile: MODEL, endpoint: 'http://hub.test' });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  rmSync(tmp, { recursive: true, force: true });
});

const io = () => {
  const out = { stdout: '', stderr: '' };
  return { out, io: { stdout: { write: (s: string) => (out.stdout += s) }, stderr: { write: (s: string) => (out.stderr += s) } } };
};

describe('the web server', () => {
  it('serves the page cross-origin isolated (COOP + COEP + CORP on every response)', async () => {
    for (const path of ['/', '/index.html', '/style.css', '/config.json', '/models/m.gguf', '/nope']) {
      const res = await fetch(base + path);
      for (const [k, v] of Object.entries(ISOLATION_HEADERS)) expect(res.headers.get(k), `${path} ${k}`).toBe(v);
      await res.arrayBuffer();
    }
    const html = await (await fetch(base + '/')).text();
    expect(html).toContain('data-testid="prompt"');
    expect((await fetch(base + '/style.css')).headers.get('content-type')).toMatch(/text\/css/);
  });

  it('config.json hands the page the local model as a URL on this server, the hub endpoint, autoload', async () => {
    const c = await (await fetch(base + '/config.json')).json();
    expect(c).toEqual({ model: `${base}/models/m.gguf`, endpoint: 'http://hub.test', autoload: true });
  });

  it('the local model: whole, a range (206), and past the end (416)', async () => {
    const whole = await fetch(base + '/models/m.gguf');
    expect(whole.status).toBe(200);
    expect(new Uint8Array(await whole.arrayBuffer())).toEqual(BYTES);
    const part = await fetch(base + '/models/m.gguf', { headers: { range: 'bytes=900-' } });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe('bytes 900-999/1000');
    expect(new Uint8Array(await part.arrayBuffer())).toEqual(BYTES.subarray(900));
    const past = await fetch(base + '/models/m.gguf', { headers: { range: 'bytes=1000-' } });
    expect(past.status).toBe(416);
    expect(past.headers.get('content-range')).toBe('bytes */1000');
  });

  it('nothing outside web/, no dot files, GET and HEAD only', async () => {
    for (const path of ['/../package.json', '/%2e%2e/package.json', '/..%2fpackage.json', '/.gitignore', '/dist/../../README.md']) {
      expect((await fetch(base + path)).status, path).toBe(404);
    }
    expect((await fetch(base + '/', { method: 'POST' })).status).toBe(405);
    expect((await fetch(base + '/', { method: 'HEAD' })).status).toBe(200);
  });

  it('finds web/ from the package', () => {
    expect(packageWebDir(join(ROOT, 'src', 'cli'))).toBe(join(ROOT, 'web'));
  });
});

describe('lfm web (command line)', () => {
  it('bad flags are usage errors (exit 2) naming the flag', async () => {
    const a = io();
    expect(await main(['web', '--port', 'x'], a.io)).toBe(2);
    expect(a.out.stderr).toMatch(/--port must be an integer/);
    const b = io();
    expect(await main(['web', '--bogus'], b.io)).toBe(2);
    expect(b.out.stderr).toMatch(/unknown option '--bogus'/);
  });

  it('a missing local model or a folder is a runtime error (exit 1) naming it', async () => {
    const a = io();
    expect(await main(['web', '--model', './no-such-model.gguf'], a.io)).toBe(1);
    expect(a.out.stderr).toMatch(/no-such-model\.gguf: no such file/);
    const b = io();
    expect(await main(['web', '--model', 'owner/name:'], b.io)).toBe(1);
    expect(b.out.stderr).toMatch(/model 'owner\/name:'/);
  });

  it('--help prints the usage; serving prints the address and stops when told to', async () => {
    const h = io();
    expect(await main(['web', '--help'], h.io)).toBe(0);
    expect(h.out.stdout).toMatch(/^usage: lfm web/);
    const s = io();
    let stop!: () => void;
    const done = cmdWeb(['--port', '0', '-q', '--model', 'LiquidAI/LFM2.5-1.2B-Thinking-GGUF:Q8_0'], s.io, new Promise<void>((r) => (stop = r)));
    for (let i = 0; i < 600 && !s.out.stdout.includes('http'); i++) await new Promise((r) => setTimeout(r, 50));
    const url = /lfm web: (http:\/\/\S+)/.exec(s.out.stdout)![1];
    expect(await (await fetch(url + 'config.json')).json()).toMatchObject({ model: 'LiquidAI/LFM2.5-1.2B-Thinking-GGUF:Q8_0', autoload: true });
    expect((await fetch(url + 'dist/app.js')).status).toBe(200); // built on demand
    stop();
    expect(await done).toBe(0);
  });
});
