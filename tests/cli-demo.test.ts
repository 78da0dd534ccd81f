// `lfm demo` (src/cli/demo.ts) runs the whole pipeline offline, and `lfm synth --hf` writes a folder that
// `lfm run` can chat with: both through main(), in process, as a newcomer would type them.

import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EXIT_OK, main } from '../src/cli/main.js';
import { DEMO_MAX_TOKENS, DEMO_REASONING_BUDGET, DEMO_SHAPE } from '../src/cli/demo.js';

const dir = mkdtempSync(join(tmpdir(), 'lfm-cli-demo-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function lfm(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(argv, { stdout: { write: (s: string) => (out += s) }, stderr: { write: (s: string) => (err += s) } });
  return { code, out, err };
}

/** "31 tokens (24 reasoning) · prompt 41 · ... · finish: stop" -> its numbers. */
function stats(err: string): { tokens: number; reasoning: number; prompt: number; finish: string } {
  const m = /(\d+) tokens \((\d+) reasoning\) · prompt (\d+).* finish: (\w+)/.exec(err);
  if (!m) throw new Error(`no statistics line in: ${err}`);
  return { tokens: Number(m[1]), reasoning: Number(m[2]), prompt: Number(m[3]), finish: m[4] };
}

describe('lfm demo', () => {
  it('streams reasoning then an answer from a synthesized model on the WASM engine, and cleans up', async () => {
    const r = await lfm('demo');
    expect(r.code, r.err).toBe(EXIT_OK);
    expect(r.out).toContain(DEMO_SHAPE);
    // Not a terminal: the reasoning is framed by <think> ... </think>, and the answer follows it.
    const think = /<think>\n([\s\S]*)\n<\/think>\n([\s\S]*)$/.exec(r.out);
    expect(think, r.out).not.toBeNull();
    expect(r.err).toMatch(/loaded d96-gqa3 in [\d.]+ s \(wasm (baseline|relaxed)\b/);
    const s = stats(r.err);
    expect(s.reasoning).toBeGreaterThan(0);
    expect(s.reasoning).toBeLessThanOrEqual(DEMO_REASONING_BUDGET);
    expect(s.tokens).toBeGreaterThan(s.reasoning); // an answer was generated after the reasoning
    expect(s.tokens).toBeLessThanOrEqual(DEMO_MAX_TOKENS);
    expect(s.prompt).toBeGreaterThan(10); // the chat template wrapped the prompt
    // The temp model is gone.
    const path = /written to (\S+\.gguf)/.exec(r.out)?.[1];
    expect(path).toBeDefined();
    expect(existsSync(path!)).toBe(false);
    // The same engine gives the same tokens every time.
    const again = await lfm('demo');
    expect(again.out.replace(/lfm-demo-\w+/g, '')).toBe(r.out.replace(/lfm-demo-\w+/g, ''));
  });

  it('says what it does', async () => {
    const r = await lfm('demo', '--help');
    expect(r.code).toBe(EXIT_OK);
    expect(r.out).toContain('usage: lfm demo');
    expect(r.out).toContain('offline');
  });
});

describe('lfm synth --hf', () => {
  it('writes a folder with its tokenizer that lfm run can chat with, on both engines', async () => {
    const out = join(dir, 'tiny-hf');
    expect((await lfm('synth', '--shape', DEMO_SHAPE, '--type', 'F32', '--hf', '--out', out)).code).toBe(EXIT_OK);
    expect(readdirSync(out).sort()).toEqual(['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']);
    for (const engine of ['wasm', 'reference']) {
      const r = await lfm('run', 'What is the capital of France?', '--model', out, '--engine', engine, '--max-tokens', '8', '--seed', '1');
      expect(r.code, r.err).toBe(EXIT_OK);
      expect(stats(r.err).tokens).toBeGreaterThan(0);
    }
  });
});
