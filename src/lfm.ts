// The API a user touches: load a model, then chat.
//
//   const lfm = await loadLfm({ gguf: await fileSource('model.gguf') });
//   for await (const e of lfm.chat([{ role: 'user', content: 'Hi' }])) { ... }      // typed events
//   const r = await lfm.chat.completions.create({ messages, tools });               // OpenAI shapes
//
// Runtime-agnostic: the model arrives as a ByteSource (GGUF) or a FileSet (HF folder); resolving paths, URLs and
// hub ids to those is the job of the runtime adapters (src/node/open-model.ts for Node, Deno and Bun).
// One Lfm holds one engine and one conversation state; calls are served one at a time in call order, and each
// call reuses the engine state of the previous ones for the prompt prefix they share.

import { readText, type FileSet } from '../reference/bytes.js';
import { FormatError, InputError } from '../reference/errors.js';
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
import { GenerationSession, type GenerationEvent, type GenerationOptions, type GenerationResult } from './generate/generate.js';
import type { SamplingOptions } from './generate/sampler.js';
import { createCompletions, type Completions } from './openai.js';
import { Lfm2Tokenizer } from './tokenizer/tokenizer.js';

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
}

export interface ChatOptions extends Omit<GenerationOptions, 'tools'> {
  tools?: ToolDefinition[];
  /** Keep earlier turns' <think> text in the prompt (the template strips it by default). */
  keep_past_thinking?: boolean;
}

/** The final result of a chat call: the generation result plus the assistant message to append to the history. */
export interface ChatResult extends GenerationResult {
  message: ChatMessage & { role: 'assistant' };
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

/** Loads a model and its tokenizer from a GGUF file or an HF folder. */
export async function loadLfm(input: ModelInput, options: LoadLfmOptions = {}): Promise<Lfm> {
  if (options.engine !== undefined && !['auto', 'reference', 'wasm'].includes(options.engine)) {
    throw new InputError(`loadLfm: unknown engine ${JSON.stringify(options.engine)} (auto, reference or wasm)`);
  }
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
    engine = await createWasmEngine(withHeader, options.wasm);
  } else {
    engine = referenceEngine(await loadModel(withHeader, { onProgress: options.onLoadProgress }));
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
  const defaults = { ...(/instruct/i.test(name) ? INSTRUCT_DEFAULTS : THINKING_DEFAULTS), ...options.sampling };
  return createLfm(name, engine, tokenizer, tokenizer.chatTemplate ?? null, defaults, options.maxCheckpoints);
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
export function createLfm(name: string, engine: Engine, tokenizer: Lfm2Tokenizer, template: string | null, defaults: SamplingOptions, maxCheckpoints = 4): Lfm {
  const session = new GenerationSession(engine, tokenizer, maxCheckpoints);
  let queue: Promise<unknown> = Promise.resolve();

  // Special tokens count only where the template wrote them, never in user-supplied text (src/chat/encode-chat.ts).
  const render: Lfm['render'] = (messages, o = {}) =>
    encodeChat(tokenizer, messages, { template, tools: o.tools, addGenerationPrompt: true, keepPastThinking: o.keep_past_thinking ?? false });

  const run = (messages: ChatMessage[], o: ChatOptions = {}): ChatStream => {
    // Render eagerly, so bad messages fail at the call, not at the first iteration.
    const { tokens } = render(messages, o);
    let started = false;
    let final: ChatResult | null = null;
    async function* events(): AsyncGenerator<ChatEvent> {
      if (started) throw new Error('chat: this stream was already consumed (call result() or iterate once)');
      started = true;
      // One call at a time on the shared engine: wait for the previous call to finish.
      let release!: () => void;
      const mine = new Promise<void>((r) => (release = r));
      const previous = queue;
      queue = previous.then(() => mine);
      await previous;
      try {
        const gen: GenerationOptions = { ...defaults, ...o, tools: o.tools };
        for await (const e of session.generate(tokens, gen)) {
          if (e.type === 'done') {
            final = { ...e.result, message: assistantMessage(e.result) };
            yield { type: 'done', result: final };
          } else yield e;
        }
      } finally {
        release();
      }
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
    reset: () => session.reset(),
    dispose: () => engine.dispose(),
  };
  chat.completions = createCompletions(lfm);
  return lfm;
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
