// `lfm run "<prompt>"` and `lfm chat`: the commands a person uses to talk to the model.
//
// The model comes from --model (a .gguf file, an HF folder, an http(s) URL, or a hub id such as
// LiquidAI/LFM2.5-1.2B-Thinking-GGUF:Q4_0; default DEFAULT_MODEL), downloaded into the cache with a progress bar.
// The answer streams to stdout; the reasoning streams dimmed (hidden with --hide-reasoning); statistics go to
// stderr. `--json` prints one OpenAI-shaped chat.completion object instead. In `lfm chat`, Ctrl-C stops the
// answer being written (the conversation goes on); Ctrl-C at an empty prompt, `/exit` or end of input quits.

import { createInterface } from 'node:readline';
import type { ChatMessage } from '../chat/types.js';
import { InputError } from '../../reference/errors.js';
import type { GenerationEvent } from '../generate/generate.js';
import { checkGenerationOptions } from '../generate/options.js';
import { loadLfm, type ChatOptions, type ChatResult, type ContextOverflow, type Lfm } from '../lfm.js';
import { openModelSource } from '../node/open-model.js';
import { DEFAULT_MODEL } from '../sources/spec.js';
import { MAX_THREADS } from '../engine/worker/spawn.js';
import { describeWeightLayouts } from '../engine/wasm-layout.js';
import { parseCommand, UsageError, weightsFlag, WEIGHTS_HELP, type Flags, type FlagSpec } from './flags.js';

export interface ChatIo {
  stdout: { write(s: string): unknown; isTTY?: boolean };
  stderr: { write(s: string): unknown; isTTY?: boolean };
}

/** The context flags of run, chat and serve (checked by contextOptions before the model loads). */
const CONTEXT_FLAGS: FlagSpec = {
  context: { type: 'string' },
  'kv-cache': { type: 'string' },
  'context-overflow': { type: 'string' },
};

export const CONTEXT_OPTIONS_HELP = `  --context <n>             tokens of context the wasm engine holds (default: the model's own, as far as memory allows)
  --kv-cache <f16|f32>      KV cache elements of the wasm engine (default f16: half the memory of f32)
  --context-overflow <mode> when a conversation outgrows the context: error (default) or drop-oldest (drop the
                            oldest turns, keeping the system prompt and the latest turn)`;

export const RUN_FLAGS: FlagSpec = {
  model: { type: 'string', short: 'm' },
  engine: { type: 'string' },
  threads: { type: 'string' },
  system: { type: 'string' },
  'hide-reasoning': { type: 'boolean' },
  json: { type: 'boolean' },
  quiet: { type: 'boolean', short: 'q' },
  temperature: { type: 'string' },
  'top-k': { type: 'string' },
  'top-p': { type: 'string' },
  'min-p': { type: 'string' },
  'repetition-penalty': { type: 'string' },
  'presence-penalty': { type: 'string' },
  'frequency-penalty': { type: 'string' },
  seed: { type: 'string' },
  'max-tokens': { type: 'string' },
  'reasoning-budget': { type: 'string' },
  stop: { type: 'string' },
  'no-loop-guard': { type: 'boolean' },
  'cache-dir': { type: 'string' },
  ...CONTEXT_FLAGS,
  weights: { type: 'string' },
};

export const RUN_OPTIONS_HELP = `  -m, --model <spec>        .gguf file, HF folder, http(s) URL, or hub id (default ${DEFAULT_MODEL})
  --system <text>           a system prompt
  --hide-reasoning          do not show the <think> reasoning (it is still generated)
  --json                    print one OpenAI chat.completion JSON object instead of streaming text
  -q, --quiet               no progress bars or statistics on stderr
  --temperature <t>         sampling temperature, 0 = greedy (model card default 0.05)
  --top-k <k>               keep the k most likely tokens (default 50)
  --top-p <p>               keep the smallest set with probability mass p
  --min-p <p>               keep tokens at least p times as likely as the best
  --repetition-penalty <r>  HF repetition penalty (default 1.05)
  --presence-penalty <x>    OpenAI presence penalty
  --frequency-penalty <x>   OpenAI frequency penalty
  --seed <n>                seed: the same seed gives the same output
  --max-tokens <n>          most tokens to generate, reasoning included
  --reasoning-budget <n>    most reasoning tokens; then the reasoning is closed and the model answers
  --stop <text>             end the answer at this text
  --no-loop-guard           do not stop repetition loops
  --engine <name>           auto (default: wasm where WebAssembly SIMD runs), wasm, or reference (the fp32 oracle)
  --threads <n>             compute threads of the wasm engine (default: every core)
${CONTEXT_OPTIONS_HELP}
${WEIGHTS_HELP}
  --cache-dir <dir>         download cache (default $LFM_CACHE or ~/.cache/lfm.ts)`;

/** A number flag; an integer flag must be written as digits and fit a safe integer (so 1e3 and 2^64 are errors). */
function num(command: string, flags: Flags, name: string, int = false): number | undefined {
  const v = flags[name];
  if (v === undefined) return undefined;
  const text = typeof v === 'string' ? v.trim() : '';
  const x = Number(text);
  const ok = text !== '' && Number.isFinite(x) && (!int || (/^[-+]?\d+$/.test(text) && Number.isSafeInteger(x)));
  if (!ok) {
    const why = int && /^[-+]?\d+$/.test(text) ? 'an integer of magnitude below 2^53' : int ? 'an integer' : 'a number';
    throw new UsageError(command, `--${name} needs ${why}, got '${String(v)}'`);
  }
  return x;
}

/** A string flag that, when given, must not be empty. */
function text(command: string, flags: Flags, name: string): string | undefined {
  const v = flags[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || v === '') throw new UsageError(command, `--${name} needs a value`);
  return v;
}

/** Generation options from the flags (only those given: the rest come from the model's defaults). */
export function chatOptionsFromFlags(command: string, flags: Flags): ChatOptions {
  const o: ChatOptions = {};
  const set = <K extends keyof ChatOptions>(k: K, v: ChatOptions[K] | undefined) => {
    if (v !== undefined) o[k] = v;
  };
  set('temperature', num(command, flags, 'temperature'));
  set('top_k', num(command, flags, 'top-k', true));
  set('top_p', num(command, flags, 'top-p'));
  set('min_p', num(command, flags, 'min-p'));
  set('repetition_penalty', num(command, flags, 'repetition-penalty'));
  set('presence_penalty', num(command, flags, 'presence-penalty'));
  set('frequency_penalty', num(command, flags, 'frequency-penalty'));
  set('seed', num(command, flags, 'seed', true));
  set('max_tokens', num(command, flags, 'max-tokens', true));
  set('reasoning_budget', num(command, flags, 'reasoning-budget', true));
  set('stop', text(command, flags, 'stop'));
  if (flags['no-loop-guard']) o.loop_guard = { enabled: false };
  // Every value checked before the (long) model load, by the same rules as the API, named by its flag.
  try {
    checkGenerationOptions(o);
  } catch (e) {
    if (e instanceof InputError && e.param) throw new UsageError(command, `--${e.param.replace(/_/g, '-')}: ${e.message}`);
    throw e;
  }
  return o;
}

/** The flags every model-loading command shares, checked before anything is opened. */
function checkModelFlags(command: string, flags: Flags): void {
  text(command, flags, 'model');
  text(command, flags, 'cache-dir');
  const engine = flags.engine;
  if (engine !== undefined && engine !== 'auto' && engine !== 'reference' && engine !== 'wasm') throw new UsageError(command, `--engine '${String(engine)}' is not an engine (auto, wasm or reference)`);
  const threads = num(command, flags, 'threads', true);
  if (threads !== undefined && (threads < 1 || threads > MAX_THREADS)) throw new UsageError(command, `--threads must be 1..${MAX_THREADS}, got ${threads}`);
  weightsFlag(command, flags, typeof engine === 'string' ? engine : 'auto');
}

/** A one-line progress bar on stderr (only when it is a terminal). */
function progressBar(io: ChatIo, quiet: boolean) {
  let last = '';
  return {
    update(label: string, loaded: number, total: number | undefined) {
      if (quiet || !io.stderr.isTTY) return;
      const frac = total ? Math.min(1, loaded / total) : 0;
      const width = 30;
      const bar = total ? '#'.repeat(Math.round(frac * width)).padEnd(width, '.') : '';
      const line = total ? `${label} [${bar}] ${(frac * 100).toFixed(0)}%` : `${label} ${(loaded / 2 ** 20).toFixed(1)} MiB`;
      if (line !== last) io.stderr.write(`\r\x1b[2K${line}`);
      last = line;
    },
    done() {
      if (!quiet && io.stderr.isTTY && last) io.stderr.write('\r\x1b[2K');
      last = '';
    },
  };
}

/** --context, --kv-cache and --context-overflow, checked (a bad value fails before the long model load). */
export function contextOptions(command: string, flags: Flags, engine: string): { contextLength?: number; kvCache?: 'f16' | 'f32'; contextOverflow?: ContextOverflow } {
  const contextLength = num(command, flags, 'context', true);
  if (contextLength !== undefined && contextLength < 1) throw new UsageError(command, `--context must be a positive number of tokens, got ${contextLength}`);
  const kv = flags['kv-cache'];
  if (kv !== undefined && kv !== 'f16' && kv !== 'f32') throw new UsageError(command, `--kv-cache '${String(kv)}' is not a cache type (f16 or f32)`);
  const overflow = flags['context-overflow'];
  if (overflow !== undefined && overflow !== 'error' && overflow !== 'drop-oldest') {
    throw new UsageError(command, `--context-overflow '${String(overflow)}' is not a mode (error or drop-oldest)`);
  }
  if (engine === 'reference' && (contextLength !== undefined || kv !== undefined)) {
    throw new UsageError(command, `--${contextLength !== undefined ? 'context' : 'kv-cache'} applies to the wasm engine (the reference engine holds the model's whole context in f32)`);
  }
  return { contextLength, kvCache: kv as 'f16' | 'f32' | undefined, contextOverflow: overflow as ContextOverflow | undefined };
}

/** Resolves --model, downloads if needed, loads weights and tokenizer, with progress. */
export async function openLfm(command: string, flags: Flags, io: ChatIo): Promise<Lfm> {
  checkModelFlags(command, flags);
  const engine = (flags.engine ?? 'auto') as 'auto' | 'reference' | 'wasm';
  const threads = num(command, flags, 'threads', true);
  const { contextLength, kvCache, contextOverflow } = contextOptions(command, flags, engine);
  const weights = weightsFlag(command, flags, engine);
  const quiet = flags.quiet === true || flags.json === true;
  const bar = progressBar(io, quiet);
  const spec = typeof flags.model === 'string' ? flags.model : DEFAULT_MODEL;
  const opened = await openModelSource(spec, {
    cacheDir: typeof flags['cache-dir'] === 'string' ? flags['cache-dir'] : undefined,
    onProgress: (p) => bar.update(`download ${p.file}`, p.loaded, p.total),
  });
  bar.done();
  const input = opened.kind === 'gguf' ? { gguf: opened.source } : { hf: opened.files };
  const t0 = Date.now();
  const lfm = await loadLfm(input, { engine, wasm: { threads, contextLength, kvCache, ...(weights ? { weights } : {}) }, contextOverflow, onLoadProgress: (p) => bar.update(`load ${spec}`, p.loaded, p.total) });
  bar.done();
  if (!quiet) {
    const e = lfm.engine as { kind: string; description?: string; weightBytes?: number; kvCache?: string; dims?: { attnLayers: number[]; K: number; hd: number }; weightLayouts?: ReadonlyMap<string, string> };
    // what ran as what ("as stored: 82 Q4_K, 11 Q6_K", or what --weights converted)
    const ran = e.weightLayouts ? `: ${describeWeightLayouts(e.weightLayouts)}` : '';
    const weightsMiB = e.weightBytes ? `, ${(e.weightBytes / 2 ** 20).toFixed(0)} MiB of weights${ran}` : '';
    // the KV cache is reserved for the whole context but becomes resident only as it fills
    const perToken = e.dims && e.kvCache ? e.dims.attnLayers.length * 2 * e.dims.K * e.dims.hd * (e.kvCache === 'f16' ? 2 : 4) : 0;
    const kv = perToken ? ` (${e.kvCache} KV cache: ${(perToken / 1024).toFixed(0)} KiB per token, ${((perToken * lfm.engine.contextLength) / 2 ** 20).toFixed(0)} MiB when full)` : '';
    io.stderr.write(`loaded ${lfm.name} in ${((Date.now() - t0) / 1000).toFixed(1)} s (${e.description ?? `${e.kind} engine`}${weightsMiB}); context ${lfm.engine.contextLength} tokens${kv}\n`);
  }
  return lfm;
}

/** Streams one answer's events to the terminal; returns the result. */
async function streamAnswer(lfm: Lfm, messages: ChatMessage[], options: ChatOptions, io: ChatIo, hideReasoning: boolean): Promise<ChatResult> {
  const color = io.stdout.isTTY === true;
  let inReasoning = false;
  const endReasoning = () => {
    if (inReasoning) io.stdout.write(color ? '\x1b[22m\n' : '\n</think>\n');
    inReasoning = false;
  };
  let result: ChatResult | null = null;
  for await (const e of lfm.chat(messages, options) as AsyncIterable<GenerationEvent & { result?: ChatResult }>) {
    if (e.type === 'reasoning') {
      if (hideReasoning) continue;
      if (!inReasoning) io.stdout.write(color ? '\x1b[2m' : '<think>\n');
      inReasoning = true;
      io.stdout.write(e.text);
    } else if (e.type === 'answer') {
      endReasoning();
      io.stdout.write(e.text);
    } else if (e.type === 'tool_call') {
      endReasoning();
      io.stdout.write(`\n[tool call ${e.call.id}] ${e.call.name}(${JSON.stringify(e.call.arguments)})\n`);
    } else if (e.type === 'invalid_tool_call') {
      endReasoning();
      io.stderr.write(`\n[invalid tool call] ${e.call.error}\n`);
    } else if (e.type === 'done') {
      endReasoning();
      result = e.result as ChatResult;
    }
  }
  io.stdout.write('\n');
  return result!;
}

function stats(r: ChatResult): string {
  const u = r.usage;
  return (
    `${u.completion_tokens} tokens (${u.reasoning_tokens} reasoning) · prompt ${u.prompt_tokens}` +
    `${u.cached_prompt_tokens ? ` (${u.cached_prompt_tokens} reused)` : ''} · prefill ${u.prefill_tokens_per_s.toFixed(1)} tok/s · ` +
    `decode ${u.decode_tokens_per_s.toFixed(1)} tok/s · finish: ${r.finish_reason}`
  );
}

export async function cmdRun(argv: string[], io: ChatIo): Promise<number> {
  const { flags, positionals } = parseCommand('run', argv, RUN_FLAGS, 1);
  if (flags.help) return -1;
  const prompt = positionals[0];
  if (prompt === undefined || prompt.trim() === '') throw new UsageError('run', 'missing the prompt: lfm run "<prompt>"');
  const options = chatOptionsFromFlags('run', flags);
  text('run', flags, 'system');
  checkModelFlags('run', flags);
  const lfm = await openLfm('run', flags, io);
  try {
    const messages: ChatMessage[] = [...(typeof flags.system === 'string' ? [{ role: 'system' as const, content: flags.system }] : []), { role: 'user', content: prompt }];
    if (flags.json) {
      const r = await lfm.chat.completions.create({ messages, ...options, stream: false });
      io.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
      return 0;
    }
    const r = await streamAnswer(lfm, messages, options, io, flags['hide-reasoning'] === true);
    if (!flags.quiet) io.stderr.write(`${stats(r)}\n`);
    return 0;
  } finally {
    await lfm.dispose();
  }
}

/** Where `lfm chat` reads lines and learns about Ctrl-C; tests pass their own. */
export interface ChatInput {
  lines: AsyncIterable<string>;
  /** Registers the Ctrl-C handler; returns a function that unregisters it. */
  onInterrupt(handler: () => void): () => void;
}

export async function chatLoop(lfm: Lfm, input: ChatInput, io: ChatIo, options: ChatOptions, hideReasoning: boolean, system?: string): Promise<number> {
  const start: ChatMessage[] = system ? [{ role: 'system', content: system }] : [];
  let history: ChatMessage[] = [...start];
  let current: AbortController | null = null;
  let interruptsAtPrompt = 0;
  const off = input.onInterrupt(() => {
    if (current) {
      current.abort(); // stop this answer; the conversation goes on
    } else if (++interruptsAtPrompt >= 2) {
      process.exit(130);
    } else {
      io.stderr.write('\n(press Ctrl-C again or type /exit to quit)\n');
    }
  });
  try {
    io.stdout.write('> ');
    for await (const raw of input.lines) {
      const line = raw.trim();
      interruptsAtPrompt = 0;
      if (line === '/exit' || line === '/quit') break;
      if (line === '/reset') {
        history = [...start];
        await lfm.reset();
        io.stdout.write('(conversation cleared)\n> ');
        continue;
      }
      if (line === '') {
        io.stdout.write('> ');
        continue;
      }
      history.push({ role: 'user', content: line });
      current = new AbortController();
      let r: ChatResult;
      try {
        r = await streamAnswer(lfm, history, { ...options, signal: current.signal }, io, hideReasoning);
      } catch (e) {
        // the conversation no longer fits (context_overflow 'error'): say so and let the user go on or /reset
        if (!(e instanceof InputError)) throw e;
        current = null;
        history.pop();
        io.stderr.write(`${e.message}\n> `);
        continue;
      }
      current = null;
      if (r.finish_reason === 'abort') io.stderr.write('(stopped)\n');
      if (r.dropped_messages > 0) {
        // the oldest turns no longer fit: they were left out of this prompt, and leave the history too
        io.stderr.write(`(the ${r.dropped_messages} oldest messages no longer fit the context of ${lfm.engine.contextLength} tokens: dropped)\n`);
        history.splice(start.length, r.dropped_messages);
      }
      if (r.finish_reason === 'length' && lfm.engine.position >= lfm.engine.contextLength - 1) io.stderr.write('(the answer reached the end of the context)\n');
      history.push(r.message);
      io.stderr.write(`${stats(r)}\n`);
      io.stdout.write('> ');
    }
    io.stdout.write('\n');
    return 0;
  } finally {
    off();
  }
}

export async function cmdChat(argv: string[], io: ChatIo): Promise<number> {
  const { flags } = parseCommand('chat', argv, RUN_FLAGS, 0);
  if (flags.help) return -1;
  if (flags.json) throw new UsageError('chat', '--json is for `lfm run`');
  const options = chatOptionsFromFlags('chat', flags);
  text('chat', flags, 'system');
  checkModelFlags('chat', flags);
  const lfm = await openLfm('chat', flags, io);
  const rl = createInterface({ input: process.stdin, terminal: false });
  try {
    return await chatLoop(
      lfm,
      {
        lines: rl,
        onInterrupt(handler) {
          process.on('SIGINT', handler);
          return () => process.off('SIGINT', handler);
        },
      },
      io,
      options,
      flags['hide-reasoning'] === true,
      typeof flags.system === 'string' ? flags.system : undefined,
    );
  } finally {
    rl.close();
    await lfm.dispose();
  }
}


export const SERVE_FLAGS: FlagSpec = {
  model: { type: 'string', short: 'm' },
  engine: { type: 'string' },
  threads: { type: 'string' },
  ...CONTEXT_FLAGS,
  host: { type: 'string' },
  port: { type: 'string', short: 'p' },
  cors: { type: 'string' },
  quiet: { type: 'boolean', short: 'q' },
  'cache-dir': { type: 'string' },
  weights: { type: 'string' },
};

/** `--cors '*'` or a comma-separated list of origins (scheme://host[:port], no path). */
export function parseCors(value: string): string[] {
  const items = value.split(',').map((s) => s.trim());
  return items.map((o) => {
    if (o === '*') {
      if (items.length > 1) throw new UsageError('serve', `--cors: '*' allows every origin; it cannot be listed with others`);
      return o;
    }
    let u: URL | null = null;
    try {
      u = new URL(o);
    } catch {
      // reported below
    }
    if (!u || (u.protocol !== 'http:' && u.protocol !== 'https:') || u.origin !== o) {
      throw new UsageError('serve', `--cors: '${o}' is not an origin (write it as scheme://host[:port], e.g. https://app.example or http://localhost:5173, or '*')`);
    }
    return o;
  });
}

/** `lfm serve`: an OpenAI-compatible HTTP server until Ctrl-C. */
export async function cmdServe(argv: string[], io: ChatIo): Promise<number> {
  const { flags } = parseCommand('serve', argv, SERVE_FLAGS, 0);
  if (flags.help) return -1;
  const port = num('serve', flags, 'port', true) ?? 8080;
  if (port < 0 || port > 65535) throw new UsageError('serve', `--port must be 0..65535, got ${port}`);
  const host = text('serve', flags, 'host') ?? '127.0.0.1';
  const corsText = text('serve', flags, 'cors');
  const cors = corsText === undefined ? undefined : parseCors(corsText);
  checkModelFlags('serve', flags);
  const lfm = await openLfm('serve', flags, io);
  const { createLfmServer } = await import('../node/server.js');
  const server = createLfmServer(lfm, {
    cors,
    onRequest: flags.quiet ? undefined : (r) => io.stderr.write(`${r.method} ${r.path} ${r.status} ${r.ms} ms\n`),
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  const addr = server.address() as { port: number };
  io.stderr.write(`serving ${lfm.name} at http://${host}:${addr.port}/v1 (POST /v1/chat/completions, GET /v1/models); Ctrl-C stops\n`);
  await new Promise<void>((resolve) => process.once('SIGINT', resolve));
  await new Promise((r) => server.close(r));
  await lfm.dispose();
  return 0;
}
