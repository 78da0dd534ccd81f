// Calls take turns on one Lfm's engine (src/turns.ts, src/lfm.ts): the engine is handed back before `done`, and a
// started stream whose consumer stops pulling is preempted by a waiting call after preemptIdleMs.

import { afterEach, describe, expect, it, vi } from 'vitest';
import { bytesSource } from '../reference/bytes.js';
import { concatParts } from '../reference/gguf.js';
import type { ChatMessage } from '../src/chat/types.js';
import { loadLfm, PREEMPT_IDLE_MS, type ChatEvent, type LoadLfmOptions } from '../src/lfm.js';
import { synthGguf, synthModel } from '../src/synth/random-model.js';
import { TINY_SHAPES } from '../src/synth/shapes.js';
import { Turns } from '../src/turns.js';

const gguf = concatParts(synthGguf(synthModel(TINY_SHAPES[0]), 'F32'));
const USER: ChatMessage[] = [{ role: 'user', content: 'What is 2+2?' }];
const OPTS = { temperature: 0.9, seed: 7, max_tokens: 12, loop_guard: { enabled: false } };
const load = (o: LoadLfmOptions = {}) => loadLfm({ gguf: bytesSource(gguf, 'tiny.gguf') }, { engine: 'reference', ...o });

/** Settles pending promise reactions and I/O callbacks: ordering, not time. */
const settle = async (rounds = 20) => {
  for (let i = 0; i < rounds; i++) await new Promise((r) => setImmediate(r));
};

/** Whether `p` has settled after the queue drains. */
async function isSettled(p: Promise<unknown>): Promise<boolean> {
  let settled = false;
  p.then(
    () => (settled = true),
    () => (settled = true),
  );
  await settle();
  return settled;
}

afterEach(() => {
  vi.useRealTimers();
});

describe('turns on the engine', () => {
  it('chat() called and awaited from a done handler returns (the engine is handed back before done)', async () => {
    const lfm = await load();
    let inner: string | null = null;
    for await (const e of lfm.chat(USER, OPTS)) {
      if (e.type === 'done') inner = (await lfm.chat(USER, OPTS).result()).finish_reason;
    }
    expect(inner).toBe('length');
  });

  it('a later call waits for a stream that is being pulled, and runs when it ends', async () => {
    const lfm = await load({ preemptIdleMs: Infinity });
    const it = lfm.chat(USER, OPTS)[Symbol.asyncIterator]();
    await it.next(); // holds the engine
    const later = lfm.chat(USER, OPTS).result();
    expect(await isSettled(later)).toBe(false);
    let last: IteratorResult<ChatEvent>;
    do last = await it.next();
    while (!last.done && last.value.type !== 'done');
    expect((last.value as Extract<ChatEvent, { type: 'done' }>).result.finish_reason).toBe('length');
    expect((await later).finish_reason).toBe('length');
  });

  it('an abandoned stream is preempted by a waiting call; pulled again, it ends as aborted; the engine state is sound', async () => {
    const lfm = await load({ preemptIdleMs: 0 });
    const cold = await (await load()).chat(USER, OPTS).result();
    const abandoned = lfm.chat([{ role: 'user', content: 'Something else entirely' }], { ...OPTS, max_tokens: 100 })[Symbol.asyncIterator]();
    await abandoned.next(); // started, then never pulled again
    const r = await lfm.chat(USER, OPTS).result(); // would hang forever before
    expect(r.tokens).toEqual(cold.tokens); // the preempting call saw a clean engine
    const rest: ChatEvent[] = [];
    for (let e = await abandoned.next(); !e.done; e = await abandoned.next()) rest.push(e.value);
    const done = rest.at(-1) as Extract<ChatEvent, { type: 'done' }>;
    expect(done.type).toBe('done');
    expect(done.result.finish_reason).toBe('abort');
    expect(done.result.usage.completion_tokens).toBeLessThan(100);
    expect((await lfm.chat(USER, OPTS).result()).tokens).toEqual(cold.tokens); // and the engine goes on serving
  });

  it(`by default a stream idle for ${PREEMPT_IDLE_MS} ms with a call waiting is preempted; one that keeps being pulled is not`, async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const lfm = await load();
    const it = lfm.chat(USER, { ...OPTS, max_tokens: 40 })[Symbol.asyncIterator]();
    await it.next();
    const later = lfm.chat(USER, OPTS).result();
    await settle();
    vi.advanceTimersByTime(PREEMPT_IDLE_MS - 1);
    expect(await isSettled(later)).toBe(false);
    await it.next(); // pulled again: no longer idle; the idle clock restarts at the next yield
    vi.advanceTimersByTime(PREEMPT_IDLE_MS - 1);
    expect(await isSettled(later)).toBe(false);
    vi.advanceTimersByTime(1); // idle for the whole PREEMPT_IDLE_MS now
    expect(await isSettled(later)).toBe(true);
    expect((await later).finish_reason).toBe('length');
    const next = await it.next();
    expect(next.value.type === 'done' ? next.value.result.finish_reason : 'no more events: ' + next.value.type).toBe('abort');
  });

  it('a stream the consumer stops with break hands the engine back at once', async () => {
    const lfm = await load({ preemptIdleMs: Infinity });
    for await (const e of lfm.chat(USER, { ...OPTS, max_tokens: 100 })) if (e.type !== 'done') break;
    expect((await lfm.chat(USER, OPTS).result()).finish_reason).toBe('length');
  });

  it('reset() takes its turn too', async () => {
    const lfm = await load({ preemptIdleMs: Infinity });
    const it = lfm.chat(USER, OPTS)[Symbol.asyncIterator]();
    await it.next();
    const reset = lfm.reset();
    expect(await isSettled(reset)).toBe(false);
    while (!(await it.next()).done);
    await reset;
  });

  it('Turns: grants in order; a working holder is never preempted', async () => {
    let t = 0;
    const turns = new Turns(5, () => t);
    const a = await turns.acquire();
    const order: string[] = [];
    const b = turns.acquire().then((x) => (order.push('b'), x));
    const c = turns.acquire().then((x) => (order.push('c'), x));
    t = 1000; // a is working (not idle): time does not matter
    turns.pump();
    await settle();
    expect(order).toEqual([]);
    a.idle();
    t = 1004;
    turns.pump();
    await settle();
    expect(order).toEqual([]);
    t = 1005;
    turns.pump();
    await settle();
    expect(a.preempted).toBe(true);
    expect(order).toEqual(['b']);
    a.release(); // a no-op after preemption: c still waits for b
    await settle();
    expect(order).toEqual(['b']);
    (await b).release();
    await c;
    expect(order).toEqual(['b', 'c']);
  });
});
