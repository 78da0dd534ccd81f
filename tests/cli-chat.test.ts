// `lfm run` and the `lfm chat` loop, in process, on a tiny seeded model written to a temp folder.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bytesSource } from '../reference/bytes.js';
import { concatParts } from '../reference/gguf.js';
import { chatLoop, type ChatInput } from '../src/cli/chat-commands.js';
import { main } from '../src/cli/main.js';
import { loadLfm } from '../src/lfm.js';
import { synthGguf, synthModel } from '../src/synth/random-model.js';
import { TINY_SHAPES } from '../src/synth/shapes.js';

const dir = mkdtempSync(join(tmpdir(), 'lfm-cli-chat-'));
const model = join(dir, 'tiny.gguf');
const bytes = concatParts(synthGguf(synthModel(TINY_SHAPES[0]), 'Q8_0'));
beforeAll(() => writeFileSync(model, bytes));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function io() {
  const out = { stdout: '', stderr: '' };
  return {
    out,
    io: { stdout: { write: (s: string) => (out.stdout += s) }, stderr: { write: (s: string) => (out.stderr += s) } },
  };
}

describe('lfm run', () => {
  it('streams an answer and prints statistics', async () => {
    const { out, io: cio } = io();
    const code = await main(['run', 'What is 2+2?', '--model', model, '--seed', '3', '--max-tokens', '12', '--temperature', '0.8'], cio);
    expect(code).toBe(0);
    expect(out.stdout.length).toBeGreaterThan(1);
    expect(out.stderr).toMatch(/12 tokens \(\d+ reasoning\) · prompt \d+ · prefill [\d.]+ tok\/s · decode [\d.]+ tok\/s · finish: length/);
  });

  it('--engine wasm answers through the WASM engine', async () => {
    const { out, io: cio } = io();
    const code = await main(['run', 'What is 2+2?', '--model', model, '--engine', 'wasm', '--seed', '3', '--max-tokens', '12', '--temperature', '0.8'], cio);
    expect(code).toBe(0);
    expect(out.stderr).toMatch(/12 tokens .* finish: length/);
  });

  it('--json prints an OpenAI chat.completion object; the same seed gives the same text', async () => {
    const run = async () => {
      const { out, io: cio } = io();
      expect(await main(['run', 'hi', '--model', model, '--seed', '9', '--max-tokens', '10', '--temperature', '1', '--json'], cio)).toBe(0);
      return JSON.parse(out.stdout);
    };
    const a = await run();
    const b = await run();
    expect(a.object).toBe('chat.completion');
    expect(a.usage.completion_tokens).toBe(10);
    expect(a.choices[0].message.content).toBe(b.choices[0].message.content);
  });

  it.each([
    [['run'], 2, /missing the prompt/],
    [['run', 'x', '--temperature', 'hot'], 2, /--temperature needs a number/],
    [['run', 'x', '--top-k', '1.5', '--model', 'm.gguf'], 2, /--top-k needs an integer/],
    [['run', 'x', 'y'], 2, /unexpected argument 'y'/],
    [['run', 'x', '--engine', 'gpu', '--model', 'm.gguf'], 2, /not an engine \(auto, wasm or reference\)/],
    [['run', 'x', '--model', '/nonexistent/model.gguf'], 1, /nonexistent/],
    // Every flag is checked before the model is touched: a missing model is not what these report.
    [['run', 'x', '--model', '/nonexistent/model.gguf', '--top-p', '3'], 2, /--top-p: .*top_p/],
    [['run', 'x', '--model', '/nonexistent/model.gguf', '--max-tokens', '99999999999999999999'], 2, /--max-tokens needs an integer of magnitude below 2\^53/],
    [['run', 'x', '--model', '/nonexistent/model.gguf', '--max-tokens', '0'], 2, /--max-tokens: max_tokens must be a positive integer/],
    [['run', 'x', '--model', '/nonexistent/model.gguf', '--max-tokens', '1e3'], 2, /--max-tokens needs an integer/],
    [['run', 'x', '--model', '/nonexistent/model.gguf', '--reasoning-budget', '-1'], 2, /--reasoning-budget: reasoning_budget must be an integer >= 0/],
    [['run', 'x', '--model', '/nonexistent/model.gguf', '--seed', '9007199254740993'], 2, /--seed needs an integer/],
    [['run', 'x', '--model', '/nonexistent/model.gguf', '--stop', ''], 2, /--stop needs a value/],
    [['run', 'x', '--model', '/nonexistent/model.gguf', '--stop', 'y'.repeat(1001)], 2, /--stop: stop is 1001 characters long/],
    [['run', 'x', '--model', '', '--seed', '1'], 2, /--model needs a value/],
    [['chat', '--model', '/nonexistent/model.gguf', '--temperature', '-1'], 2, /--temperature: .*temperature/],
    [['serve', '--model', '/nonexistent/model.gguf', '--port', '70000'], 2, /--port must be 0..65535/],
    [['serve', '--model', '/nonexistent/model.gguf', '--port', '99999999999999999999'], 2, /--port needs an integer/],
    [['serve', '--model', '/nonexistent/model.gguf', '--cors', 'ftp://x'], 2, /--cors: 'ftp:\/\/x' is not an origin/],
    [['serve', '--model', '/nonexistent/model.gguf', '--cors', 'https://a.example/path'], 2, /is not an origin/],
    [['serve', '--model', '/nonexistent/model.gguf', '--cors', '*,https://a.example'], 2, /cannot be listed with others/],
    [['serve', '--model', '/nonexistent/model.gguf', '--host', ''], 2, /--host needs a value/],
    [['serve', '--model', '/nonexistent/model.gguf', '--engine', 'gpu'], 2, /not an engine/],
  ])('%j exits %i with a clear message', async (argv, want, msg) => {
    const { out, io: cio } = io();
    const code = await main(argv.map((a) => (a === 'MODEL' ? model : a)), cio);
    expect(code).toBe(want);
    expect(out.stderr).toMatch(msg);
    expect(out.stderr.trim().split('\n')).toHaveLength(1);
  });
});

describe('lfm chat loop', () => {
  it('keeps the conversation across turns, /reset clears it, Ctrl-C stops only the current answer', async () => {
    const lfm = await loadLfm({ gguf: bytesSource(bytes, 'tiny.gguf') });
    let interrupt: (() => void) | null = null;
    let writesAfterSecond = -1;
    const { out, io: cio } = io();
    const stdout = {
      write: (s: string) => {
        out.stdout += s;
        // Press Ctrl-C a few writes into the second answer.
        if (writesAfterSecond >= 0 && ++writesAfterSecond === 3) interrupt!();
      },
    };
    const turns: string[] = [];
    async function* lines() {
      for (const l of ['hello', 'tell me more', '/reset', 'fresh start', '/exit', 'never read']) {
        turns.push(l);
        if (l === 'tell me more') writesAfterSecond = 0;
        yield l;
      }
    }
    const input: ChatInput = {
      lines: lines(),
      onInterrupt: (h) => {
        interrupt = h;
        return () => (interrupt = null);
      },
    };
    const code = await chatLoop(lfm, input, { stdout, stderr: cio.stderr }, { seed: 1, max_tokens: 40, temperature: 0.7, loop_guard: { enabled: false } }, false);
    expect(code).toBe(0);
    expect(turns).not.toContain('never read');
    const stats = out.stderr.split('\n').filter((l) => l.includes('tok/s'));
    expect(stats).toHaveLength(3);
    expect(stats[0]).toMatch(/finish: (length|stop)/); // (a random model: where it stops depends on its numerics)
    expect(out.stderr).toContain('(stopped)');
    expect(stats[1]).toMatch(/finish: abort/);
    expect(stats[1]).toMatch(/reused/); // the second turn reused the first turn's prompt state
    expect(out.stdout).toContain('(conversation cleared)');
    expect(interrupt).toBeNull(); // unregistered at the end
  });
});
