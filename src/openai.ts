// An OpenAI-compatible Chat Completions surface, in process: `lfm.chat.completions.create(params)` returns the
// shapes of the OpenAI API (and of the llama.cpp / vLLM servers for reasoning models), so code written against
// the `openai` client can switch to a local model with a one-line change.
//
// Reasoning text is returned in `reasoning_content` (message and stream deltas), as llama.cpp, vLLM and DeepSeek
// do. Tool calls come as `tool_calls` with JSON `arguments`. Streaming yields chunk objects; `toSSE(chunk)` and
// `SSE_DONE` turn them into a server-sent-events body.
// Extensions beyond OpenAI's parameters: top_k, min_p, repetition_penalty, reasoning_budget, keep_past_thinking,
// loop_guard, context_overflow ('error' | 'drop-oldest': see src/lfm.ts), signal. finish_reason may also be 'abort' or 'loop' (see src/generate/generate.ts).
// Not supported (an InputError says so): n > 1, tool_choice other than 'auto' / 'none', logprobs,
// response_format.

import { InputError } from '../reference/errors.js';
import type { ChatMessage, ToolDefinition } from './chat/types.js';
import type { FinishReason, GenerationUsage, InvalidToolCall } from './generate/generate.js';
import type { LoopGuardOptions } from './generate/loop-guard.js';
import type { ChatOptions, Lfm } from './lfm.js';

export interface ChatCompletionCreateParams {
  messages: ChatMessage[];
  model?: string;
  tools?: ToolDefinition[];
  tool_choice?: 'auto' | 'none';
  stream?: boolean;
  stream_options?: { include_usage?: boolean };
  max_tokens?: number;
  max_completion_tokens?: number;
  temperature?: number;
  top_p?: number;
  stop?: string | string[] | null;
  seed?: number;
  presence_penalty?: number;
  frequency_penalty?: number;
  n?: number;
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
  choices: {
    index: 0;
    message: { role: 'assistant'; content: string | null; reasoning_content?: string; tool_calls?: ChatCompletionToolCall[] };
    finish_reason: FinishReason;
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
  choices: {
    index: 0;
    delta: { role?: 'assistant'; content?: string; reasoning_content?: string; tool_calls?: (ChatCompletionToolCall & { index: number })[] };
    finish_reason: FinishReason | null;
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

let counter = 0;

function toChatOptions(p: ChatCompletionCreateParams): ChatOptions {
  if (!p || !Array.isArray(p.messages)) throw new InputError('chat.completions.create: messages must be an array');
  if (p.n !== undefined && p.n !== 1) throw new InputError(`chat.completions.create: n = ${p.n} is not supported (only 1)`);
  if (p.tool_choice !== undefined && p.tool_choice !== 'auto' && p.tool_choice !== 'none') {
    throw new InputError(`chat.completions.create: tool_choice ${JSON.stringify(p.tool_choice)} is not supported (use 'auto' or 'none')`);
  }
  for (const k of ['logprobs', 'top_logprobs', 'response_format', 'logit_bias'] as const) {
    if ((p as unknown as Record<string, unknown>)[k] !== undefined) throw new InputError(`chat.completions.create: ${k} is not supported`);
  }
  const o: ChatOptions = {};
  const copy = <K extends keyof ChatOptions & keyof ChatCompletionCreateParams>(k: K) => {
    if (p[k] !== undefined && p[k] !== null) (o as Record<string, unknown>)[k] = p[k];
  };
  for (const k of ['temperature', 'top_p', 'top_k', 'min_p', 'repetition_penalty', 'presence_penalty', 'frequency_penalty', 'seed', 'reasoning_budget', 'keep_past_thinking', 'loop_guard', 'context_overflow', 'signal'] as const) copy(k);
  const max = p.max_completion_tokens ?? p.max_tokens;
  if (max !== undefined && max !== null) o.max_tokens = max;
  if (p.stop !== undefined && p.stop !== null) o.stop = p.stop;
  if (p.tools && p.tool_choice !== 'none') o.tools = p.tools;
  return o;
}

function usageOf(u: GenerationUsage): CompletionUsage {
  return {
    prompt_tokens: u.prompt_tokens,
    completion_tokens: u.completion_tokens,
    total_tokens: u.prompt_tokens + u.completion_tokens,
    prompt_tokens_details: { cached_tokens: u.cached_prompt_tokens },
    completion_tokens_details: { reasoning_tokens: u.reasoning_tokens },
  };
}

export function createCompletions(lfm: Lfm): Completions {
  async function create(params: ChatCompletionCreateParams): Promise<ChatCompletion | AsyncIterable<ChatCompletionChunk>> {
    const options = toChatOptions(params);
    const stream = lfm.chat(params.messages, options);
    const id = `chatcmpl-${Date.now().toString(36)}${(counter++).toString(36)}`;
    const created = Math.floor(Date.now() / 1000);
    const model = params.model ?? lfm.name;

    if (!params.stream) {
      const r = await stream.result();
      const tool_calls = r.message.tool_calls?.map((c) => ({ id: c.id!, type: 'function' as const, function: c.function }));
      return {
        id,
        object: 'chat.completion',
        created,
        model,
        choices: [
          {
            index: 0,
            message: {
              role: 'assistant',
              content: tool_calls && !r.answer ? null : r.answer,
              ...(r.reasoning ? { reasoning_content: r.reasoning } : {}),
              ...(tool_calls ? { tool_calls } : {}),
            },
            finish_reason: r.finish_reason,
            ...(r.invalid_tool_calls.length ? { invalid_tool_calls: r.invalid_tool_calls } : {}),
          },
        ],
        usage: usageOf(r.usage),
        timings: { prefill_ms: r.usage.prefill_ms, decode_ms: r.usage.decode_ms, prefill_tokens_per_s: r.usage.prefill_tokens_per_s, decode_tokens_per_s: r.usage.decode_tokens_per_s },
      };
    }

    const includeUsage = params.stream_options?.include_usage ?? false;
    async function* chunks(): AsyncGenerator<ChatCompletionChunk> {
      const chunk = (delta: ChatCompletionChunk['choices'][0]['delta'], finish_reason: FinishReason | null = null, extra = {}): ChatCompletionChunk => ({
        id,
        object: 'chat.completion.chunk',
        created,
        model,
        choices: [{ index: 0, delta, finish_reason, ...extra }],
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
          if (includeUsage) yield { id, object: 'chat.completion.chunk', created, model, choices: [], usage: usageOf(r.usage) };
        }
      }
    }
    return chunks();
  }
  return { create } as Completions;
}
