// The runtime smoke test's payload: one seeded tiny model, built in memory and chatted with, using only the
// runtime-agnostic core (no fs, fetch, process or wasm). build/bundle-smoke.ts bundles this file for a neutral
// platform; tests/runtimes/ runs the bundle in Node, Deno, Bun, Chromium and workerd and compares the results.
//
//   smoke()      the two chat runs the runtimes must agree on: seeded sampling (seed 7, temperature 0.8) and
//                greedy (temperature 0), 24 tokens each, on TINY_SHAPES[0] written as Q8_0
//   logitTrace() the evidence behind a token mismatch: the logits the sampler saw at every step of the sampled
//                run (prompt, then the sampled tokens fed one at a time), and a hash of the model bytes
//
// Everything here is deterministic on any engine with IEEE doubles, except where the model calls Math.exp,
// Math.pow, Math.sin and Math.cos, which ECMAScript lets engines compute with different last bits (and they do:
// see runtimes.rt.ts). logitTrace() shows whether that reaches the Float32 logits.

import { bytesSource } from '../../reference/bytes.js';
import { concatParts } from '../../reference/gguf.js';
import type { ChatMessage } from '../../src/chat/types.js';
import { wasmEngineUsable } from '../../src/engine/wasm-module.js';
import { loadLfm, type Lfm } from '../../src/lfm.js';
import { synthGguf, synthModel } from '../../src/synth/random-model.js';
import { TINY_SHAPES } from '../../src/synth/shapes.js';

export interface SmokeResult {
  /** Ids of the seeded sampled run. */
  tokens: number[];
  /** Ids of the greedy run. */
  greedy: number[];
  /** The greedy run's answer text. */
  answer: string;
  /** The greedy run's finish reason. */
  finish: string;
  /** Wall time of the whole smoke(): model build, load, both runs. */
  ms: number;
  /**
   * The same two runs on the WASM engine with 2 threads (workers over a shared memory where the runtime has
   * them), or why it cannot run here (workerd forbids compiling wasm bytes).
   */
  wasm: { build: string; threads: number; description: string; tokens: number[]; greedy: number[] } | { unavailable: string };
}

export interface LogitTrace {
  /** FNV-1a (32-bit, hex) of the GGUF bytes: the model every runtime built must be the same file. */
  ggufHash: string;
  /** The rendered prompt's ids. */
  prompt: number[];
  /** logits[i] (V entries, the exact Float32 values) came before sampled token i. */
  logits: number[][];
}

export const MESSAGES: ChatMessage[] = [{ role: 'user', content: 'What is 2+2?' }];
export const SAMPLED = { seed: 7, temperature: 0.8, max_tokens: 24, loop_guard: { enabled: false } };
export const GREEDY = { temperature: 0, max_tokens: 24, loop_guard: { enabled: false } };

const now = () => (typeof performance !== 'undefined' ? performance.now() : Date.now());

function ggufBytes(): Uint8Array {
  return concatParts(synthGguf(synthModel(TINY_SHAPES[0]), 'Q8_0'));
}

async function load(bytes: Uint8Array, engine: 'reference' | 'wasm' = 'reference'): Promise<Lfm> {
  return loadLfm({ gguf: bytesSource(bytes, `${TINY_SHAPES[0].name}.Q8_0.gguf`) }, { engine, wasm: { threads: WASM_THREADS } });
}

/** Threads of the WASM engine runs: where threads are possible, they must not change a bit. */
export const WASM_THREADS = 2;

async function wasmRuns(bytes: Uint8Array): Promise<SmokeResult['wasm']> {
  if (!wasmEngineUsable()) return { unavailable: 'this runtime cannot compile WebAssembly from bytes, or has no SIMD128' };
  const lfm = await load(bytes, 'wasm');
  const sampled = await lfm.chat(MESSAGES, SAMPLED).result();
  const greedy = await lfm.chat(MESSAGES, GREEDY).result();
  const { build, threads, description } = lfm.engine as unknown as { build: string; threads: number; description: string };
  await lfm.dispose();
  return { build, threads, description, tokens: sampled.tokens, greedy: greedy.tokens };
}

export async function smoke(): Promise<SmokeResult> {
  const t0 = now();
  const bytes = ggufBytes();
  const lfm = await load(bytes);
  const sampled = await lfm.chat(MESSAGES, SAMPLED).result();
  const greedy = await lfm.chat(MESSAGES, GREEDY).result();
  const ms = now() - t0;
  await lfm.dispose();
  return { tokens: sampled.tokens, greedy: greedy.tokens, answer: greedy.answer, finish: greedy.finish_reason, ms, wasm: await wasmRuns(bytes) };
}

/** Only the WASM engine's greedy run, and how it ran (a page that is not cross-origin isolated gets one worker). */
export async function wasmGreedy(): Promise<{ description: string; threads: number; greedy: number[] }> {
  const lfm = await load(ggufBytes(), 'wasm');
  const greedy = await lfm.chat(MESSAGES, GREEDY).result();
  const { threads, description } = lfm.engine as unknown as { threads: number; description: string };
  await lfm.dispose();
  return { description, threads, greedy: greedy.tokens };
}

/** Replays the prompt and then `tokens` (the sampled run's ids) through a fresh engine, keeping every logit vector. */
export async function logitTrace(tokens: readonly number[]): Promise<LogitTrace> {
  const bytes = ggufBytes();
  const lfm = await load(bytes);
  const prompt = lfm.render(MESSAGES).tokens;
  const logits: number[][] = [Array.from(await lfm.engine.prefill(prompt))];
  for (const id of tokens.slice(0, -1)) logits.push(Array.from(await lfm.engine.decode(id)));
  await lfm.dispose();
  return { ggufHash: fnv1a(bytes), prompt, logits };
}

/** Which runtime this is, by feature detection (each runner prints it beside the result). */
export function describeRuntime(): string {
  const g = globalThis as { Deno?: { version: { deno: string; v8: string } }; Bun?: { version: string }; process?: { versions?: { node?: string; v8?: string } }; navigator?: { userAgent?: string } };
  if (g.Deno) return `deno ${g.Deno.version.deno} (v8 ${g.Deno.version.v8})`;
  if (g.Bun) return `bun ${g.Bun.version} (JavaScriptCore)`;
  if (g.navigator?.userAgent === 'Cloudflare-Workers') return 'workerd (v8)';
  if (g.process?.versions?.node) return `node ${g.process.versions.node} (v8 ${g.process.versions.v8})`;
  return g.navigator?.userAgent ?? 'unknown';
}

function fnv1a(bytes: Uint8Array): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i], 0x01000193) >>> 0;
  return h.toString(16).padStart(8, '0');
}
