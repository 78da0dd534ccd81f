// The API a user touches: load a model, then chat.
//
//   const lfm = await loadLfm({ gguf: await fileSource('model.gguf') });
//   for await (const e of lfm.chat([{ role: 'user', content: 'Hi' }])) { ... }      // typed events
//   const r = await lfm.chat.completions.create({ messages, tools });               // OpenAI shapes
//
// Runtime-agnostic: the model arrives as a ByteSource (GGUF) or a FileSet (HF folder); resolving paths, URLs and
// hub ids to those is the job of the runtime adapters (src/node/open-model.ts for Node, Deno and Bun).
// One Lfm holds one engine and one conversation state; calls take turns on it (src/turns.ts), and each call reuses
// the engine state of the previous ones for the prompt prefix they share. The rule for turns:
//   - a call's stream takes the engine when it is first pulled, and calls wait in that order;
//   - it hands the engine back before its `done` event is handed out, so `chat()` may be called (and awaited)
//     from a `done` handler, and when its consumer stops early (break, return, throw);
//   - a stream whose consumer stops pulling without ending it is idle; after `preemptIdleMs` (default 10 s) with
//     another call waiting, that call takes the engine and the idle stream, if pulled again, ends with
//     finish_reason 'abort'. So an abandoned stream cannot block later calls forever.
//
// Input is checked at the call: messages and options (src/chat/validate.ts, src/generate/options.ts) throw an
// InputError naming the bad field; null means "not given" for every option. loadLfm checks its options before it
// reads anything, and closes the byte source it was given on every failure path.
//
// A conversation that outgrows the context: by default an InputError at the call, naming the sizes (prompt
// tokens, max_tokens, context). With context_overflow 'drop-oldest' the oldest turns are dropped (the system
// prompt and the latest turn are always kept) until the prompt leaves room for max_tokens (or, without
// max_tokens, a quarter of the context); the engine state of the system prompt is reused. An answer that reaches
// the end of the context mid-way ends with finish_reason 'length'.

import { readText, type FileSet } from '../reference/bytes.js';
import { FormatError, InputError } from '../reference/errors.js';
import { describe, isPlainObject, shown } from './chat/json.js';
import { checkMessages } from './chat/validate.js';
import { ggufGet, readGguf } from '../reference/gguf.js';
import { loadModel, type ModelInput } from '../reference/load.js';
import { configFromGguf, configFromHf, deriveDims, type Lfm2Config } from '../reference/config.js';
import { wasmUnsupported } from './engine/wasm-module.js';
import type { LoadProgress } from '../reference/weights.js';
import { encodeChat } from './chat/encode-chat.js';
import type { ChatMessage, ToolCall, ToolDefinition } from './chat/types.js';
import { referenceEngine } from './engine/reference-engine.js';
import type { Engine } from './engine/types.js';
import type { WasmEngineOptions } from './engine/wasm-engine.js';
import { checkWasmEngineOptions } from './engine/wasm-options.js';
import { GenerationSession, type GenerationEvent, type GenerationOptions, type GenerationResult } from './generate/generate.js';
import { checkGenerationOptions, withoutNulls } from './generate/options.js';
import { validateSampling, type SamplingOptions } from './generate/sampler.js';
import { createCompletions, type Completions } from './openai.js';
import { Lfm2Tokenizer } from './tokenizer/tokenizer.js';
import { Turns } from './turns.js';

/** LFM2.5-1.2B-Thinking model card: temperature 0.05, top_k 50, repetition_penalty 1.05. */
export const THINKING_DEFAULTS: SamplingOptions = { temperature: 0.05, top_k: 50, repetition_penalty: 1.05 };
/** LFM2.5-1.2B-Instruct model card: temperature 0.1, top_k 50, top_p 0.1, repetition_penalty 1.05. */
export const INSTRUCT_DEFAULTS: SamplingOptions = { temperature: 0.1, top_k: 50, top_p: 0.1, repetition_penalty: 1.05 };

export interface LoadLfmOptions {
  /**
   * 'wasm' (the WASM SIMD engine), 'reference' (the fp32 oracle: exact, slow, about 4 bytes of memory per weight),
   * or 'auto' (the default): wasm wherever the runtime can compile WebAssembly with SIMD, else reference.
   */
  engine?: 'auto' | 'reference' | 'wasm';
  /** Options for the WASM engine (weight conversion, context length, ...). */
  wasm?: WasmEngineOptions;
  /** Sampling defaults for every call (merged over the model card's). */
  sampling?: SamplingOptions;
  /** How many prompt checkpoints to keep for prefix reuse. Default 4. */
  maxCheckpoints?: number;
  /** Called as weights are read (one call per tensor). */
  onLoadProgress?: LoadProgress;
  /**
   * How long (ms) a started stream whose consumer stopped pulling keeps the engine while another call waits; then
   * that call preempts it (see the file comment). Default 10,000; 0 = at once; Infinity = never.
   */
  preemptIdleMs?: number;
  /** The default context_overflow of every chat call (default 'error'). */
  contextOverflow?: ContextOverflow;
}

/** Default of LoadLfmOptions.preemptIdleMs. */
export const PREEMPT_IDLE_MS = 10_000;

/**
 * What a chat call does when the conversation and max_tokens do not fit in the context: 'error' (an InputError
 * naming the sizes) or 'drop-oldest' (drop the oldest turns, keeping the system prompt and the latest turn).
 */
export type ContextOverflow = 'error' | 'drop-oldest';
/** With 'drop-oldest' and no max_tokens: the share of the context left free for the answer. */
export const DROP_OLDEST_ANSWER_SHARE = 0.25;

export interface ChatOptions extends Omit<GenerationOptions, 'tools'> {
  tools?: ToolDefinition[];
  /** Keep earlier turns' <think> text in the prompt (the template strips it by default). */
  keep_past_thinking?: boolean;
  /** When the conversation outgrows the context: 'error' (default: the Lfm's contextOverflow) or 'drop-oldest'. */
  context_overflow?: ContextOverflow;
}

/** The final result of a chat call: the generation result plus the assistant message to append to the history. */
export interface ChatResult extends GenerationResult {
  message: ChatMessage & { role: 'assistant' };
  /** Messages dropped from the start of the conversation (after the system prompt) to fit the context. */
  dropped_messages: number;
}

export type ChatEvent = Exclude<GenerationEvent, { type: 'done' }> | { type: 'done'; result: ChatResult };

/** The events of one call; `result()` drains them and resolves to the final result. */
export interface ChatStream extends AsyncIterable<ChatEvent> {
  result(): Promise<ChatResult>;
}

export interface ChatFn {
  (messages: ChatMessage[], options?: ChatOptions): ChatStream;
  /** OpenAI-compatible in-process surface. */
  completions: Completions;
}

export interface Lfm {
  readonly name: string;
  readonly tokenizer: Lfm2Tokenizer;
  readonly engine: Engine;
  /** The model's own chat template, or null when it has none (the built-in LFM2.5 formatter is used). */
  readonly template: string | null;
  readonly defaults: SamplingOptions;
  readonly chat: ChatFn;
  /** The exact prompt text and ids a chat call would feed. */
  render(messages: ChatMessage[], options?: Pick<ChatOptions, 'tools' | 'keep_past_thinking'>): { text: string; tokens: number[] };
  /** Forgets the conversation state (checkpoints); the next call reads its prompt from scratch. */
  reset(): Promise<void>;
  dispose(): Promise<void>;
}

/** Throws an InputError naming the first bad option (param `engine`, `wasm.contextLength`, ...). */
function checkLoadOptions(options: unknown): asserts options is LoadLfmOptions {
  if (!isPlainObject(options)) throw new InputError(`loadLfm: options must be an object, got ${describe(options)}`, { param: 'options' });
  const o = options as Record<string, unknown>;
  if (o.engine !== undefined && !['auto', 'reference', 'wasm'].includes(o.engine as string)) {
    throw new InputError(`loadLfm: unknown engine ${shown(o.engine)} (auto, reference or wasm)`, { param: 'engine' });
  }
  checkWasmEngineOptions(o.wasm, 'wasm');
  if (o.sampling !== undefined) {
    if (!isPlainObject(o.sampling)) throw new InputError('loadLfm: sampling must be an object', { param: 'sampling' });
    validateSampling(o.sampling);
  }
  const m = o.maxCheckpoints;
  if (m !== undefined && !(typeof m === 'number' && Number.isSafeInteger(m) && m >= 0 && m <= 64)) {
    throw new InputError(`loadLfm: maxCheckpoints must be an integer in [0, 64], got ${describe(m)}`, { param: 'maxCheckpoints' });
  }
  if (o.onLoadProgress !== undefined && typeof o.onLoadProgress !== 'function') throw new InputError('loadLfm: onLoadProgress must be a function', { param: 'onLoadProgress' });
  if (o.contextOverflow !== undefined && o.contextOverflow !== 'error' && o.contextOverflow !== 'drop-oldest') {
    throw new InputError(`loadLfm: contextOverflow must be 'error' or 'drop-oldest', got ${describe(o.contextOverflow)}`, { param: 'contextOverflow' });
  }
  const p = o.preemptIdleMs;
  if (p !== undefined && !(typeof p === 'number' && p >= 0 && !Number.isNaN(p))) {
    throw new InputError(`loadLfm: preemptIdleMs must be a number of milliseconds >= 0 (or Infinity), got ${describe(p)}`, { param: 'preemptIdleMs' });
  }
}

/**
 * Loads a model and its tokenizer from a GGUF file or an HF folder. Takes ownership of a GGUF byte source: it is
 * closed once the weights are read, and on every failure (bad options, bad header, bad tokenizer).
 */
export async function loadLfm(input: ModelInput, options: LoadLfmOptions = {}): Promise<Lfm> {
  const state: LoadState = { engine: null, handedOver: false };
  try {
    return await load(input, options, state);
  } catch (e) {
    if (state.engine) await state.engine.dispose().catch(() => {});
    else if (!state.handedOver && 'gguf' in input) await input.gguf.close?.().catch(() => {});
    throw e;
  }
}

interface LoadState {
  engine: Engine | null;
  /** From the engine's constructor on, the engine closes the byte source (on success and on failure). */
  handedOver: boolean;
}

async function load(input: ModelInput, options: LoadLfmOptions, state: LoadState): Promise<Lfm> {
  checkLoadOptions(options);
  const auto = options.engine === undefined || options.engine === 'auto';
  let kind = auto ? ((await import('./engine/wasm-module.js')).wasmEngineUsable() ? 'wasm' : 'reference') : options.engine;
  // The tokenizer comes from the GGUF header or the folder's tokenizer files; read them before the engine, which
  // closes the byte source when it has read the weights.
  const header = 'gguf' in input ? (input.header ?? (await readGguf(input.gguf))) : null;
  const withHeader: ModelInput = header && 'gguf' in input ? { gguf: input.gguf, header } : input; // parsed once
  // 'auto' runs a model the WASM engine cannot (a width that is not a multiple of 4) on the oracle
  if (kind === 'wasm' && auto && wasmUnsupported(deriveDims(await modelConfig(withHeader))) !== null) kind = 'reference';
  let engine: Engine;
  if (kind === 'wasm') {
    const { createWasmEngine } = await import('./engine/wasm-engine.js');
    state.handedOver = true;
    engine = state.engine = await createWasmEngine(withHeader, options.wasm);
  } else {
    state.handedOver = true;
    engine = state.engine = referenceEngine(await loadModel(withHeader, { onProgress: options.onLoadProgress }));
  }
  let tokenizer: Lfm2Tokenizer;
  let name: string;
  if (header) {
    tokenizer = Lfm2Tokenizer.fromGguf(header, { embeddingRows: engine.vocabSize });
    name = String(ggufGet(header, 'general.name') ?? header.name);
  } else {
    const files = (input as { hf: FileSet }).hf;
    const json = await readText(files, 'tokenizer.json');
    if (json === null) throw new FormatError(files.name, 'tokenizer.json', 'is missing (an HF model folder needs it to turn text into tokens)');
    const config = (await readText(files, 'tokenizer_config.json')) ?? undefined;
    const jinja = await readText(files, 'chat_template.jinja');
    tokenizer = Lfm2Tokenizer.fromJson(json, config, { embeddingRows: engine.vocabSize, chatTemplate: jinja ?? undefined });
    name = files.name;
  }
  const defaults = { ...(/instruct/i.test(name) ? INSTRUCT_DEFAULTS : THINKING_DEFAULTS), ...withoutNulls(options.sampling ?? {}) };
  return createLfm(name, engine, tokenizer, tokenizer.chatTemplate ?? null, defaults, options.maxCheckpoints, options.preemptIdleMs, options.contextOverflow);
}

/** The model's config, from the parsed GGUF header or the folder's config.json. */
async function modelConfig(input: ModelInput): Promise<Lfm2Config> {
  if ('gguf' in input) {
    const file = input.header!;
    return configFromGguf((k) => ggufGet(file, k), input.gguf.name, file.tensorsByName.get('token_embd.weight')?.dims[1]);
  }
  const text = await readText(input.hf, 'config.json');
  if (text === null) throw new FormatError(input.hf.name, 'config.json', 'is missing (an HF model folder needs it)');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new FormatError(`${input.hf.name}/config.json`, 'JSON', (e as Error).message);
  }
  return configFromHf(json, `${input.hf.name}/config.json`);
}

/** An Lfm over an engine and tokenizer you already have (tests, other engines). */
export function createLfm(
  name: string,
  engine: Engine,
  tokenizer: Lfm2Tokenizer,
  template: string | null,
  defaults: SamplingOptions,
  maxCheckpoints = 4,
  preemptIdleMs = PREEMPT_IDLE_MS,
  contextOverflow: ContextOverflow = 'error',
): Lfm {
  checkOverflow(contextOverflow, 'loadLfm: contextOverflow');
  const session = new GenerationSession(engine, tokenizer, maxCheckpoints);
  const turns = new Turns(preemptIdleMs);

  // Special tokens count only where the template wrote them, never in user-supplied text (src/chat/encode-chat.ts).
  const render: Lfm['render'] = (messages, o = {}) =>
    encodeChat(tokenizer, messages, { template, tools: o.tools, addGenerationPrompt: true, keepPastThinking: o.keep_past_thinking ?? false });

  /**
   * The prompt for these messages, fitted to the context (eagerly, so an over-long conversation fails at the call):
   * the tokens, how many messages were dropped, and the tokens of the kept system prefix (0: none).
   */
  const fit = (messages: ChatMessage[], o: ChatOptions): { tokens: number[]; dropped: number; prefix: number } => {
    const policy = o.context_overflow ?? contextOverflow;
    checkOverflow(policy, 'chat: context_overflow');
    const C = engine.contextLength;
    const need = o.max_tokens ?? 1; // (max_tokens itself is checked by generate)
    const full = render(messages, o).tokens;
    if (full.length + need <= C && (policy === 'error' || o.max_tokens !== undefined || full.length <= C * (1 - DROP_OLDEST_ANSWER_SHARE))) {
      return { tokens: full, dropped: 0, prefix: policy === 'drop-oldest' ? systemPrefix(messages, o, full) : 0 };
    }
    const sizes = (p: number, what: string) =>
      o.max_tokens !== undefined
        ? `${what} ${p} tokens and max_tokens is ${o.max_tokens}: ${p + o.max_tokens}, over the context of ${C} tokens`
        : `${what} ${p} tokens, leaving no room for an answer in the context of ${C} tokens`;
    if (policy === 'error') {
      throw new InputError(`messages: ${sizes(full.length, 'the conversation takes')} (context_overflow 'drop-oldest' drops the oldest turns; or load a larger context)`, { param: 'messages' });
    }
    // drop-oldest: cut before a user message (a turn's start), the earliest cut that fits; always keep the last turn
    const sys = messages[0]?.role === 'system' ? 1 : 0;
    const cuts = messages.flatMap((m, i) => (i > sys && m.role === 'user' ? [i] : []));
    let lastUser = messages.length - 1;
    while (lastUser >= 0 && messages[lastUser].role !== 'user') lastUser--;
    if (lastUser > sys && !cuts.includes(lastUser)) cuts.push(lastUser);
    const keep = (cut: number) => [...messages.slice(0, sys), ...messages.slice(cut)];
    const room = o.max_tokens ?? Math.ceil(C * DROP_OLDEST_ANSWER_SHARE);
    const fits = (cut: number) => {
      const t = render(keep(cut), o).tokens;
      return { t, ok: t.length + room <= C };
    };
    let lo = 0, hi = cuts.length - 1, found: { cut: number; t: number[] } | null = null;
    while (lo <= hi) { // the prompt shrinks as the cut moves later: the earliest cut that fits
      const mid = (lo + hi) >> 1, r = fits(cuts[mid]);
      if (r.ok) (found = { cut: cuts[mid], t: r.t }), (hi = mid - 1);
      else lo = mid + 1;
    }
    if (!found) {
      // even the system prompt and the latest turn leave less room than wanted: run if the hard limit holds
      const cut = cuts.length ? cuts[cuts.length - 1] : sys;
      const t = render(keep(cut), o).tokens;
      if (t.length + need > C) throw new InputError(`messages: ${sizes(t.length, sys ? 'the system prompt and the latest turn take' : 'the latest turn takes')} (nothing older is left to drop)`, { param: 'messages' });
      found = { cut, t };
    }
    return { tokens: found.t, dropped: found.cut - sys, prefix: systemPrefix(keep(found.cut), o, found.t) };
  };

  /** Tokens of the rendered system prompt (with the tools) when the prompt starts with them, else 0. */
  const systemPrefix = (messages: ChatMessage[], o: ChatOptions, tokens: number[]): number => {
    if (messages[0]?.role !== 'system' && !o.tools?.length) return 0;
    try {
      const head = encodeChat(tokenizer, messages[0]?.role === 'system' ? [messages[0]] : [], { template, tools: o.tools, addGenerationPrompt: false, keepPastThinking: false }).tokens;
      return head.length > 1 && head.length < tokens.length && head.every((t, i) => t === tokens[i]) ? head.length : 0;
    } catch {
      return 0;
    }
  };

  const run = (messages: ChatMessage[], options: ChatOptions = {}): ChatStream => {
    // Check, render and fit to the context eagerly, so bad input fails at the call, not at the first iteration.
    checkMessages(messages, { nonEmpty: true });
    checkGenerationOptions(options);
    const o = withoutNulls(options ?? {});
    const { tokens, dropped, prefix } = fit(messages, o);
    let started = false;
    let final: ChatResult | null = null;
    async function* events(): AsyncGenerator<ChatEvent> {
      if (started) throw new Error('chat: this stream was already consumed (call result() or iterate once)');
      started = true;
      const turn = await turns.acquire(); // one call at a time on the shared engine (see the file comment)
      let done: ChatEvent | null = null;
      // The generation ends as aborted when the caller aborts, or when a waiting call preempted this idle stream.
      const aborter = new AbortController();
      const user = o.signal;
      const onUserAbort = () => aborter.abort(user!.reason);
      if (user?.aborted) onUserAbort();
      else user?.addEventListener('abort', onUserAbort, { once: true });
      turn.onPreempted = () => aborter.abort(new Error('chat: preempted by a waiting call'));
      try {
        const signal = aborter.signal;
        const { context_overflow: _, ...rest } = o;
        const gen: GenerationOptions = { ...defaults, ...rest, tools: o.tools, signal, ...(prefix ? { checkpoint_prefix: prefix } : {}) };
        for await (const e of session.generate(tokens, gen)) {
          if (e.type === 'done') {
            final = { ...e.result, message: assistantMessage(e.result), dropped_messages: dropped };
            done = { type: 'done', result: final };
            break; // the engine is no longer needed: hand it back before `done` is handed out
          }
          turn.idle();
          try {
            yield e;
          } finally {
            turn.busy();
          }
        }
      } finally {
        user?.removeEventListener('abort', onUserAbort);
        turn.release();
      }
      if (done) yield done;
    }
    const it = events();
    return {
      [Symbol.asyncIterator]: () => it,
      async result() {
        if (!started) for await (const _ of it);
        if (!final) throw new Error('chat: the stream ended without a result');
        return final;
      },
    };
  };

  const chat = Object.assign(run, { completions: undefined as unknown as Completions });
  const lfm: Lfm = {
    name,
    tokenizer,
    engine,
    template,
    defaults,
    chat,
    render,
    reset: async () => {
      const turn = await turns.acquire();
      try {
        await session.reset();
      } finally {
        turn.release();
      }
    },
    dispose: () => engine.dispose(),
  };
  chat.completions = createCompletions(lfm);
  return lfm;
}

function checkOverflow(v: unknown, what: string): void {
  if (v !== 'error' && v !== 'drop-oldest') throw new InputError(`${what} must be 'error' or 'drop-oldest', got ${describe(v)}`, { param: 'context_overflow' });
}

/** The assistant message for the history (OpenAI shape; the reasoning kept apart, as the template expects). */
function assistantMessage(r: GenerationResult): ChatMessage & { role: 'assistant' } {
  const tool_calls: ToolCall[] = r.tool_calls.map((c) => ({ id: c.id, type: 'function', function: { name: c.name, arguments: JSON.stringify(c.arguments) } }));
  return {
    role: 'assistant',
    content: r.answer,
    ...(r.reasoning ? { reasoning_content: r.reasoning } : {}),
    ...(tool_calls.length ? { tool_calls } : {}),
  };
}
