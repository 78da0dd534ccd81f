// The README's main command end to end: `lfm run "<prompt>"` with no --model resolves the default model
// (LiquidAI/LFM2.5-1.2B-Thinking-GGUF:Q4_0) on the hub, downloads and verifies it, caches it, and answers.
// The "hub" is a small server on 127.0.0.1 in the hub's URL layout (HF_ENDPOINT points at it), serving a tiny
// seeded model under the real repo and file names.

import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { concatParts } from '../reference/gguf.js';
import { main } from '../src/cli/main.js';
import { DEFAULT_MODEL } from '../src/sources/spec.js';
import { synthGguf, synthModel } from '../src/synth/random-model.js';
import { TINY_SHAPES } from '../src/synth/shapes.js';

const REPO = 'LiquidAI/LFM2.5-1.2B-Thinking-GGUF';
const FILE = 'LFM2.5-1.2B-Thinking-Q4_0.gguf';
const gguf = concatParts(synthGguf(synthModel(TINY_SHAPES[0]), 'Q4_0'));
const requests: string[] = [];
let server: Server;
let endpoint = '';
const cache = mkdtempSync(join(tmpdir(), 'lfm-cli-hub-'));
const saved = { HF_ENDPOINT: process.env.HF_ENDPOINT, LFM_CACHE: process.env.LFM_CACHE, HF_TOKEN: process.env.HF_TOKEN };

beforeAll(async () => {
  server = createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    if (requests.length > 50) return void res.writeHead(503).end(); // bounded: a runaway client stops here
    const url = new URL(req.url!, 'http://x');
    if (url.pathname === `/api/models/${REPO}/tree/main`) {
      const sha = createHash('sha256').update(gguf).digest('hex');
      res.writeHead(200, { 'content-type': 'application/json' });
      return void res.end(JSON.stringify([{ type: 'file', path: FILE, size: gguf.length, oid: 'x', lfs: { oid: sha, size: gguf.length } }, { type: 'file', path: 'README.md', size: 2, oid: 'y' }]));
    }
    if (url.pathname === `/${REPO}/resolve/main/${FILE}`) {
      const m = /bytes=(\d+)-/.exec(req.headers.range ?? '');
      const from = m ? Number(m[1]) : 0;
      res.writeHead(m ? 206 : 200, { 'content-length': gguf.length - from, ...(m ? { 'content-range': `bytes ${from}-${gguf.length - 1}/${gguf.length}` } : {}) });
      return void res.end(gguf.subarray(from));
    }
    res.writeHead(404, { 'x-error-code': 'EntryNotFound' }).end('not found');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  endpoint = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  process.env.HF_ENDPOINT = endpoint;
  process.env.LFM_CACHE = cache;
  delete process.env.HF_TOKEN;
});

afterAll(async () => {
  for (const [k, v] of Object.entries(saved)) v === undefined ? delete process.env[k] : (process.env[k] = v);
  await new Promise((r) => server.close(r));
  rmSync(cache, { recursive: true, force: true });
});

describe('lfm run with no --model (the README main command)', () => {
  it(`downloads ${DEFAULT_MODEL} from the hub once, then answers from the cache`, async () => {
    expect(DEFAULT_MODEL).toBe(`${REPO}:Q4_0`);
    const out = { stdout: '', stderr: '' };
    const io = { stdout: { write: (s: string) => (out.stdout += s) }, stderr: { write: (s: string) => (out.stderr += s) } };
    expect(await main(['run', 'What is 2+2?', '--max-tokens', '8', '--seed', '1'], io)).toBe(0);
    expect(out.stderr).toMatch(/8 tokens .* finish: length/);
    expect(requests.filter((r) => r.includes('/resolve/'))).toHaveLength(1);
    const files = readdirSync(join(cache, 'hub', 'LiquidAI', 'LFM2.5-1.2B-Thinking-GGUF', 'main'));
    expect(files).toContain(FILE);
    expect(files.some((f) => f.endsWith('.partial'))).toBe(false);

    const first = out.stdout;
    out.stdout = '';
    expect(await main(['run', 'What is 2+2?', '--max-tokens', '8', '--seed', '1'], io)).toBe(0);
    expect(requests.filter((r) => r.includes('/resolve/'))).toHaveLength(1); // served from the cache
    expect(out.stdout).toBe(first);
  });

  it('a quant the repo does not have names the repo and the files it has', async () => {
    const out = { stdout: '', stderr: '' };
    const io = { stdout: { write: (s: string) => (out.stdout += s) }, stderr: { write: (s: string) => (out.stderr += s) } };
    expect(await main(['run', 'hi', '--model', `${REPO}:Q5_K_M`], io)).toBe(1);
    expect(out.stderr).toContain(REPO);
    expect(out.stderr).toContain(FILE);
  });
});
