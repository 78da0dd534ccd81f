// An OpenAI-compatible Chat Completions surface, in process: `lfm.chat.completions.create(params)` returns the
// shapes of the OpenAI API (and of the llama.cpp / vLLM servers for reasoning models), so code written against
// the `openai` client can switch to a local model with a one-line change. The HTTP server (src/node/server.ts)
// hands request bodies to it as they are: parseChatCompletionParams is the one request validator for both.
//
// Reasoning text is returned in `reasoning_content` (message and stream deltas), as llama.cpp, vLLM and DeepSeek
// do. Tool calls come as `tool_calls` with JSON `arguments`. Streaming yields chunk objects; `toSSE(chunk)` and
// `SSE_DONE` turn them into a server-sent-events body. `model` is always the served model's name (whatever the
// request named: one model is served); `system_fingerprint` names the engine that ran.
//
// finish_reason takes only OpenAI's values. Our finer reason is in the extension field `lfm_finish_reason` of the
// same choice: 'stop', 'length', 'tool_calls' as in finish_reason; 'loop' (the loop guard cut a repetition:
// finish_reason 'length', the answer was cut off by a limit) and 'abort' (the caller's AbortSignal fired:
// finish_reason 'stop', the end the caller asked for).
//
// Extensions beyond OpenAI's parameters: top_k, min_p, repetition_penalty, reasoning_budget, keep_past_thinking,
// loop_guard, context_overflow ('error' | 'drop-oldest': see src/lfm.ts), signal (in process only). Parameters are checked as OpenAI checks them (types, ranges: temperature
// in [0, 2], presence/frequency penalties in [-2, 2], seed a safe integer; at most 16 stop strings) and a bad one is
// an InputError whose `param` names it. Not supported (an InputError says so): n > 1, logprobs, response_format other
// than text, logit_bias, audio, prediction, the deprecated functions / function_call. Accepted and ignored: user,
// metadata, store, service_tier, parallel_tool_calls (the model may still write several calls in one section),
// reasoning_effort, and any field we do not know (as llama.cpp and vLLM do).

import { InputError } from '../reference/errors.js';
import { describe, isPlainObject } from './chat/json.js';
import type { ChatMessage, ToolDefinition } from './chat/types.js';
import { checkMessages, checkTools } from './chat/validate.js';
import type { FinishReason, GenerationUsage, InvalidToolCall } from './generate/generate.js';
import type { LoopGuardOptions } from './generate/loop-guard.js';
import { checkCount, checkGenerationOptions, checkStop, checkToolChoice, withoutNulls, type ToolChoice } from './generate/options.js';
import type { ChatOptions, Lfm } from './lfm.js';

export interface ChatCompletionCreateParams {
  messages: ChatMessage[];
  model?: string;
  tools?: ToolDefinition[];
  tool_choice?: ToolChoice;
  stream?: boolean | null;
  stream_options?: { include_usage?: boolean } | null;
  max_tokens?: number | null;
  max_completion_tokens?: number | null;
  temperature?: number | null;
  top_p?: number | null;
  stop?: string | string[] | null;
  seed?: number | null;
  presence_penalty?: number | null;
  frequency_penalty?: number | null;
  n?: number | null;
  parallel_tool_calls?: boolean | null;
  user?: string;
  // extensions
  top_k?: number;
  min_p?: number;
  repetition_penalty?: number;
  reasoning_budget?: number;
  keep_past_thinking?: boolean;
  loop_guard?: LoopGuardOptions & { onReasoningLoop?: 'close-thinking' | 'stop' };
  context_overflow?: ChatOptions['context_overflow'];
  signal?: AbortSignal;
}

/** The values OpenAI's clients accept (the official `openai` types reject any other). */
export type OpenAiFinishReason = 'stop' | 'length' | 'tool_calls' | 'content_filter';

export interface ChatCompletionToolCall {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
}

export interface CompletionUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  prompt_tokens_details: { cached_tokens: number };
  completion_tokens_details: { reasoning_tokens: number };
}

export interface ChatCompletion {
  id: string;
  object: 'chat.completion';
  created: number;
  model: string;
  system_fingerprint: string;
  choices: {
    index: 0;
    message: { role: 'assistant'; content: string | null; refusal: null; reasoning_content?: string; tool_calls?: ChatCompletionToolCall[] };
    finish_reason: OpenAiFinishReason;
    logprobs: null;
    /** Extension: our finer finish reason ('abort', 'loop' included). */
    lfm_finish_reason: FinishReason;
    /** Extension: tool-call sections that did not parse or did not fit the declared tools. */
    invalid_tool_calls?: InvalidToolCall[];
  }[];
  usage: CompletionUsage;
  /** Extension: timings of this call. */
  timings: Pick<GenerationUsage, 'prefill_ms' | 'decode_ms' | 'prefill_tokens_per_s' | 'decode_tokens_per_s'>;
}

export interface ChatCompletionChunk {
  id: string;
  object: 'chat.completion.chunk';
  created: number;
  model: string;
  system_fingerprint: string;
  choices: {
    index: 0;
    delta: { role?: 'assistant'; content?: string; reasoning_content?: string; tool_calls?: (ChatCompletionToolCall & { index: number })[] };
    finish_reason: OpenAiFinishReason | null;
    logprobs: null;
    /** Extension, on the chunk that carries finish_reason: our finer finish reason. */
    lfm_finish_reason?: FinishReason;
    invalid_tool_calls?: InvalidToolCall[];
  }[];
  usage?: CompletionUsage | null;
}

export interface Completions {
  create(params: ChatCompletionCreateParams & { stream: true }): Promise<AsyncIterable<ChatCompletionChunk>>;
  create(params: ChatCompletionCreateParams & { stream?: false | null }): Promise<ChatCompletion>;
  create(params: ChatCompletionCreateParams): Promise<ChatCompletion | AsyncIterable<ChatCompletionChunk>>;
}

/** One server-sent event carrying a chunk. */
export function toSSE(chunk: ChatCompletionChunk): string {
  return `data: ${JSON.stringify(chunk)}\n\n`;
}
export const SSE_DONE = 'data: [DONE]\n\n';

/** OpenAI's finish_reason for ours (see the file comment). */
export function openAiFinishReason(r: FinishReason): OpenAiFinishReason {
  return r === 'loop' ? 'length' : r === 'abort' ? 'stop' : r;
}

// ---------------------------------------------------------------------------------------------------------------
// The request validator

/** A checked request: the messages and options for lfm.chat, and how to answer. */
export interface ChatCompletionRequest {
  messages: ChatMessage[];
  options: ChatOptions;
  stream: boolean;
  includeUsage: boolean;
}

const given = (v: unknown) => v !== undefined && v !== null;

function bad(param: string, what: string, v: unknown): never {
  throw new InputError(`${param} must be ${what}, got ${describe(v)}`, { param });
}

function range(p: Record<string, unknown>, param: string, lo: number, hi: number, loOpen = false): void {
  const v = p[param];
  if (given(v) && !(typeof v === 'number' && Number.isFinite(v) && (loOpen ? v > lo : v >= lo) && v <= hi)) bad(param, `a number in ${loOpen ? '(' : '['}${lo}, ${hi}]`, v);
}

function unsupported(param: string, why: string): never {
  throw new InputError(`${param} is not supported: ${why}`, { param });
}

/**
 * Checks a Chat Completions request body (parsed JSON, or the object a caller passed) and returns what lfm.chat
 * needs. Throws an InputError whose `param` names the first bad field; never anything else.
 */
export function parseChatCompletionParams(body: unknown): ChatCompletionRequest {
  if (!isPlainObject(body)) throw new InputError(`the request must be a JSON object, got ${describe(body)}`, { param: 'body' });
  const p = body;
  checkMessages(p.messages, { nonEmpty: true });
  if (given(p.model) && typeof p.model !== 'string') bad('model', 'a string', p.model);
  if (given(p.stream) && typeof p.stream !== 'boolean') bad('stream', 'a boolean', p.stream);
  const stream = p.stream === true;
  let includeUsage = false;
  if (given(p.stream_options)) {
    if (!isPlainObject(p.stream_options)) bad('stream_options', 'an object', p.stream_options);
    if (!stream) throw new InputError(`stream_options is only allowed when stream is true`, { param: 'stream_options' });
    const u = p.stream_options.include_usage;
    if (given(u) && typeof u !== 'boolean') bad('stream_options.include_usage', 'a boolean', u);
    includeUsage = u === true;
  }
  if (given(p.n)) {
    if (!(typeof p.n === 'number' && Number.isInteger(p.n) && p.n >= 1)) bad('n', 'a positive integer', p.n);
    if (p.n !== 1) unsupported('n', `n = ${p.n} (only one choice per request)`);
  }
  checkCount('max_tokens', p.max_tokens, 1);
  checkCount('max_completion_tokens', p.max_completion_tokens, 1);
  range(p, 'temperature', 0, 2);
  range(p, 'top_p', 0, 1, true);
  range(p, 'presence_penalty', -2, 2);
  range(p, 'frequency_penalty', -2, 2);
  checkStop('stop', p.stop);
  const tools = checkTools(p.tools);
  checkToolChoice(p.tool_choice, tools);
  if (given(p.parallel_tool_calls) && typeof p.parallel_tool_calls !== 'boolean') bad('parallel_tool_calls', 'a boolean', p.parallel_tool_calls);
  if (given(p.logprobs) && p.logprobs !== false) unsupported('logprobs', 'log probabilities are not returned');
  if (given(p.top_logprobs)) unsupported('top_logprobs', 'log probabilities are not returned');
  if (given(p.response_format) && !(isPlainObject(p.response_format) && p.response_format.type === 'text')) unsupported('response_format', 'only { type: "text" } (no JSON mode or schema)');
  if (given(p.logit_bias) && !(isPlainObject(p.logit_bias) && Object.keys(p.logit_bias).length === 0)) unsupported('logit_bias', 'logit bias is not applied');
  if (given(p.functions)) unsupported('functions', 'the deprecated form; use tools');
  if (given(p.function_call)) unsupported('function_call', 'the deprecated form; use tool_choice');
  if (given(p.audio)) unsupported('audio', 'this model reads and writes text only');
  if (given(p.modalities) && !(Array.isArray(p.modalities) && Array.from(p.modalities).every((m) => m === 'text'))) unsupported('modalities', 'this model writes text only');
  if (given(p.prediction)) unsupported('prediction', 'predicted outputs are not used');

  const o = p as unknown as ChatCompletionCreateParams;
  const options: ChatOptions = withoutNulls({
    temperature: o.temperature,
    top_p: o.top_p,
    top_k: o.top_k,
    min_p: o.min_p,
    repetition_penalty: o.repetition_penalty,
    presence_penalty: o.presence_penalty,
    frequency_penalty: o.frequency_penalty,
    seed: o.seed,
    max_tokens: o.max_completion_tokens ?? o.max_tokens,
    stop: o.stop,
    reasoning_budget: o.reasoning_budget,
    keep_past_thinking: o.keep_past_thinking,
    loop_guard: o.loop_guard,
    context_overflow: o.context_overflow,
    signal: o.signal,
    // tool_choice 'none': the tools are not shown to the model either
    tools: o.tool_choice === 'none' ? undefined : (tools as ToolDefinition[] | undefined),
    tool_choice: o.tool_choice,
  } as ChatOptions);
  checkGenerationOptions(options); // the extensions, and the sampling rules OpenAI does not have (top_k, min_p ...)
  return { messages: p.messages as ChatMessage[], options, stream, includeUsage };
}

// ---------------------------------------------------------------------------------------------------------------
// create()

let counter = 0;

function usageOf(u: GenerationUsage): CompletionUsage {
  return {
    prompt_tokens: u.prompt_tokens,
    completion_tokens: u.completion_tokens,
    total_tokens: u.prompt_tokens + u.completion_tokens,
    prompt_tokens_details: { cached_tokens: u.cached_prompt_tokens },
    completion_tokens_details: { reasoning_tokens: u.reasoning_tokens },
  };
}

/** Names the engine that ran, e.g. "lfm.ts-wasm-relaxed" or "lfm.ts-reference". */
export function systemFingerprint(lfm: Lfm): string {
  const build = (lfm.engine as { build?: unknown }).build;
  return `lfm.ts-${lfm.engine.kind}${typeof build === 'string' ? `-${build}` : ''}`;
}

export function createCompletions(lfm: Lfm): Completions {
  async function create(params: ChatCompletionCreateParams): Promise<ChatCompletion | AsyncIterable<ChatCompletionChunk>> {
    const req = parseChatCompletionParams(params);
    const stream = lfm.chat(req.messages, req.options);
    const id = `chatcmpl-${Date.now().toString(36)}${(counter++).toString(36)}`;
    const created = Math.floor(Date.now() / 1000);
    const model = lfm.name;
    const system_fingerprint = systemFingerprint(lfm);

    if (!req.stream) {
      const r = await stream.result();
      const tool_calls = r.message.tool_calls?.map((c) => ({ id: c.id!, type: 'function' as const, function: c.function }));
      return {
        id,
        object: 'chat.completion',
        created,
        model,
        system_fingerprint,
        choices: [
          {
            index: 0,
            message: {
              role: 'assistant',
              content: tool_calls && !r.answer ? null : r.answer,
              refusal: null,
              ...(r.reasoning ? { reasoning_content: r.reasoning } : {}),
              ...(tool_calls ? { tool_calls } : {}),
            },
            finish_reason: openAiFinishReason(r.finish_reason),
            logprobs: null,
            lfm_finish_reason: r.finish_reason,
            ...(r.invalid_tool_calls.length ? { invalid_tool_calls: r.invalid_tool_calls } : {}),
          },
        ],
        usage: usageOf(r.usage),
        timings: { prefill_ms: r.usage.prefill_ms, decode_ms: r.usage.decode_ms, prefill_tokens_per_s: r.usage.prefill_tokens_per_s, decode_tokens_per_s: r.usage.decode_tokens_per_s },
      };
    }

    const includeUsage = req.includeUsage;
    async function* chunks(): AsyncGenerator<ChatCompletionChunk> {
      const chunk = (delta: ChatCompletionChunk['choices'][0]['delta'], finish: FinishReason | null = null, extra = {}): ChatCompletionChunk => ({
        id,
        object: 'chat.completion.chunk',
        created,
        model,
        system_fingerprint,
        choices: [{ index: 0, delta, finish_reason: finish && openAiFinishReason(finish), logprobs: null, ...(finish ? { lfm_finish_reason: finish } : {}), ...extra }],
        ...(includeUsage ? { usage: null } : {}),
      });
      yield chunk({ role: 'assistant', content: '' });
      let toolIndex = 0;
      for await (const e of stream) {
        if (e.type === 'reasoning') yield chunk({ reasoning_content: e.text });
        else if (e.type === 'answer') yield chunk({ content: e.text });
        else if (e.type === 'tool_call') {
          const c = e.call;
          yield chunk({ tool_calls: [{ index: toolIndex++, id: c.id, type: 'function', function: { name: c.name, arguments: JSON.stringify(c.arguments) } }] });
        } else if (e.type === 'done') {
          const r = e.result;
          yield chunk({}, r.finish_reason, r.invalid_tool_calls.length ? { invalid_tool_calls: r.invalid_tool_calls } : {});
          if (includeUsage) yield { id, object: 'chat.completion.chunk', created, model, system_fingerprint, choices: [], usage: usageOf(r.usage) };
        }
      }
    }
    return chunks();
  }
  return { create } as Completions;
}
