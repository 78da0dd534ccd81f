// The caller's thread stays free while the model generates (the engine runs in workers): driven the way a user
// drives it, as child processes for the CLI and the server. Each check is about ORDER, never about time: a
// request answered before a long generation ends, a Ctrl-C that ends the answer with finish: abort rather than
// length, a timer that fires before the answer is complete, a disconnect that frees the server for the next
// request. With the old blocking engine each of these failed (or waited for the whole generation).

import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bytesSource } from '../reference/bytes.js';
import { concatParts } from '../reference/gguf.js';
import { loadLfm } from '../src/lfm.js';
import { registerNodeWorkers } from '../src/node/worker-spawn.js';
import { synthGguf, synthModel } from '../src/synth/random-model.js';
import { TINY_SHAPES } from '../src/synth/shapes.js';

registerNodeWorkers();

const ROOT = join(import.meta.dirname, '..');
const dir = mkdtempSync(join(tmpdir(), 'lfm-responsive-'));
const model = join(dir, 'model.gguf');
const bytes = concatParts(synthGguf(synthModel(TINY_SHAPES[2]), 'Q4_0')); // 16 layers: a few ms per token
/** A generation far longer than any check here waits for: it only ends early if something stops it. */
const LONG = ['--max-tokens', '3000', '--no-loop-guard', '--temperature', '1', '--seed', '1'];

beforeAll(() => writeFileSync(model, bytes));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** `lfm <args>` as a child process; `until` resolves when stdout+stderr match. */
function cli(args: string[]) {
  const p = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src', 'cli', 'main.ts'), ...args], { cwd: ROOT, stdio: 'pipe' }) as ChildProcessWithoutNullStreams;
  let out = '';
  let err = '';
  const waiters: { re: RegExp; stream: 'out' | 'err'; resolve: (m: RegExpMatchArray) => void }[] = [];
  const check = () => {
    for (const w of [...waiters]) {
      const m = (w.stream === 'out' ? out : err).match(w.re);
      if (m) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(m);
      }
    }
  };
  p.stdout.on('data', (d) => ((out += d), check()));
  p.stderr.on('data', (d) => ((err += d), check()));
  const exit = new Promise<number | null>((r) => p.on('exit', (code) => r(code)));
  return {
    p,
    exit,
    get out() {
      return out;
    },
    get err() {
      return err;
    },
    until: (re: RegExp, stream: 'out' | 'err' = 'err') => new Promise<RegExpMatchArray>((resolve) => (waiters.push({ re, stream, resolve }), check())),
  };
}

describe('lfm serve (a child process)', () => {
  it('answers /health during a long streamed generation, and a client that disconnects frees it for the next request', async () => {
    const s = cli(['serve', '--model', model, '--port', '0', '--threads', '2']);
    try {
      const [, port] = await s.until(/serving .* at http:\/\/127\.0\.0\.1:(\d+)\/v1/);
      const base = `http://127.0.0.1:${port}`;
      const ac = new AbortController();
      const res = await fetch(`${base}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ messages: [{ role: 'user', content: 'Tell me everything.' }], stream: true, max_tokens: 3000, loop_guard: { enabled: false }, temperature: 1, seed: 1 }),
        signal: ac.signal,
      });
      const reader = res.body!.getReader();
      const first = new TextDecoder().decode((await reader.read()).value);
      expect(first).toMatch(/^data: /); // the first token arrived on its own, before the generation ended

      expect(await (await fetch(`${base}/health`)).json()).toEqual({ status: 'ok' });
      // the server logs each request when it ends: /health ended while the generation was still running
      await s.until(/GET \/health 200/);
      expect(s.err).not.toMatch(/POST \/v1\/chat\/completions \d{3}/);

      ac.abort(); // the client goes away
      await reader.cancel().catch(() => {});
      await s.until(/POST \/v1\/chat\/completions \d{3}/); // its generation stopped (3000 tokens would take minutes)
      const next = await fetch(`${base}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ messages: [{ role: 'user', content: 'hi' }], max_tokens: 2 }),
      });
      expect((await next.json()).usage.completion_tokens).toBe(2);
    } finally {
      s.p.kill('SIGINT');
      await s.exit;
    }
  });
});

describe('lfm chat (a child process)', () => {
  it('Ctrl-C stops the answer (finish: abort) and returns to the prompt; the conversation goes on', async () => {
    const c = cli(['chat', '--model', model, '--threads', '2', ...LONG]);
    try {
      await c.until(/> $/, 'out');
      c.p.stdin.write('Write a very long story.\n');
      await c.until(/> [\s\S]{20,}/, 'out'); // some of the answer is out
      c.p.kill('SIGINT');
      await c.until(/\(stopped\)\n.*finish: abort/);
      await c.until(/> $/, 'out');
      c.p.stdin.write('/exit\n');
      expect(await c.exit).toBe(0);
      expect(c.err).not.toMatch(/finish: length/);
    } finally {
      c.p.kill('SIGKILL');
    }
  });
});

describe('in process', () => {
  it('an AbortSignal fired by a timer stops the generation before it completes', async () => {
    const lfm = await loadLfm({ gguf: bytesSource(bytes, 'model.gguf') }, { wasm: { threads: 2 } });
    try {
      const ac = new AbortController();
      const stream = lfm.chat([{ role: 'user', content: 'Go on forever.' }], { max_tokens: 3000, loop_guard: { enabled: false }, temperature: 1, seed: 1, signal: ac.signal });
      setTimeout(() => ac.abort(), 0); // fires on the next turn of the event loop, which the engine now gives up
      const r = await stream.result();
      expect(r.finish_reason).toBe('abort');
      expect(r.usage.completion_tokens).toBeLessThan(3000);
    } finally {
      await lfm.dispose();
    }
  });
});
