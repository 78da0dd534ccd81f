// Generation: prompt tokens in, a stream of typed events out (reasoning text, answer text, tool calls, and a
// final result), for one sequence held by an Engine.
//
// The LFM2.5 Thinking model writes `<think> reasoning </think> answer <|im_end|>`; tool calls are sections
// `<|tool_call_start|>[f(a=1)]<|tool_call_end|>` inside the answer. All of these markers are single special
// tokens, so the phase is tracked by token id, never by matching text: a user's prompt or the model's prose that
// merely spells "<think>" changes nothing.
//
// Why a session: the KV cache and the conv state of the previous turn are reused for the shared prefix of the
// next prompt. The conv state cannot be rolled back, so the session keeps snapshots (checkpoints) at the end of
// each prompt and restores the longest one that is a prefix of the new prompt, then feeds only the rest.
//
// The prompt and max_tokens must fit in the context (else an InputError naming the sizes). Generation that reaches
// the end of the context mid-answer stops there with finish_reason 'length' (it does not shift the context: the
// answer so far is returned, and the next turn decides what to drop: src/lfm.ts context_overflow).
//
// finish_reason: 'stop' (end-of-turn token or a stop string), 'length' (max_tokens or the context is full),
// 'tool_calls' (the turn ended after at least one tool call), 'abort' (the AbortSignal fired; checked between
// tokens), 'loop' (the loop guard found a cycle it could not steer out of).
//
// tool_choice (src/generate/options.ts) is enforced on the logits, never by rewriting text:
//   'none'      the tool-call start token is masked out: no section can open.
//   'required'  until the first tool-call section opens, the turn cannot end (end-of-turn ids masked); at the
//               start only `<think>` or the tool-call start may come; once the answer begins (after `</think>`,
//               or at once for a model that does not reason) the tool-call start is inserted. Inside the section,
//               tokens are masked to those that continue `[name(` for a declared name, until one is complete.
//   named       the same, with only that name.
// The arguments are the model's own; a call that does not parse or fit its schema is reported in
// invalid_tool_calls as always (max_tokens can still end the turn first: finish_reason 'length').

import { InputError } from '../../reference/errors.js';
import { parseToolCalls, validateToolCall, type ParsedToolCall, type ToolSpec } from '../chat/tool-calls.js';
import { toolNames } from '../chat/validate.js';
import type { Engine, EngineSnapshot } from '../engine/types.js';
import { detectLoop, LOOP_GUARD_DEFAULTS, type LoopGuardOptions } from './loop-guard.js';
import { Sampler, type SamplingOptions } from './sampler.js';
import { checkGenerationOptions, withoutNulls, type ToolChoice } from './options.js';
import { StopMatcher } from './stop-strings.js';

/** What generation needs from a tokenizer (src/tokenizer/ implements it). */
export interface GenerationTokenizer {
  readonly eosId: number;
  /** Ids that end the turn (<|im_end|>, and <|endoftext|> as a safeguard). */
  readonly stopIds: readonly number[];
  readonly thinkStartId?: number;
  readonly thinkEndId?: number;
  readonly toolCallStartId?: number;
  readonly toolCallEndId?: number;
  /** 1 for ids that may be sampled; length = logits length. */
  readonly sampleable: Uint8Array;
  createStreamDecoder(opts?: { skipSpecial?: boolean }): { push(id: number): string; flush(): string };
  /** For tool_choice 'required' / named: the text of ids, and ids of text (no special-token parsing). */
  decode?(ids: readonly number[]): string;
  encode?(text: string): number[];
}

export type FinishReason = 'stop' | 'length' | 'tool_calls' | 'abort' | 'loop';

export interface GenerationOptions extends SamplingOptions {
  /** Most tokens to generate (reasoning + answer). Default: the rest of the context. */
  max_tokens?: number;
  /** Strings that end the answer when they appear in it (not in the reasoning); they are not returned. */
  stop?: string | string[];
  /** Most reasoning tokens; then `</think>` is inserted and the model answers. Default: no cap. */
  reasoning_budget?: number;
  /** Declared tools: calls are validated against them (invalid calls are reported, not executed). */
  tools?: ToolSpec[];
  /** Whether and which tool must be called (see the file comment). Default 'auto'. */
  tool_choice?: ToolChoice;
  loop_guard?: LoopGuardOptions & {
    /**
     * What to do on a loop inside the reasoning: 'close-thinking' inserts `</think>` once so the model answers
     * (a second loop then stops), 'stop' ends with finish_reason 'loop'. Loops in the answer always stop.
     * Default 'close-thinking'.
     */
    onReasoningLoop?: 'close-thinking' | 'stop';
  };
  signal?: AbortSignal;
  /**
   * Prompt tokens [0, n) that later prompts will keep while their middle changes (the system prompt, when a
   * conversation drops its oldest turns): the session keeps a checkpoint there, apart from its recent ones, so such
   * a prompt re-reads only what follows.
   */
  checkpoint_prefix?: number;
}

export interface ToolCallResult extends ParsedToolCall {
  id: string;
}

export interface InvalidToolCall {
  /** The raw text between the markers. */
  raw: string;
  error: string;
}

export interface GenerationUsage {
  prompt_tokens: number;
  /** Prompt tokens served from a reused checkpoint instead of being fed again. */
  cached_prompt_tokens: number;
  completion_tokens: number;
  reasoning_tokens: number;
  answer_tokens: number;
  prefill_ms: number;
  decode_ms: number;
  /** Prompt tokens actually fed per second of prefill. */
  prefill_tokens_per_s: number;
  /** Generated tokens per second of decode. */
  decode_tokens_per_s: number;
}

export interface GenerationResult {
  finish_reason: FinishReason;
  reasoning: string;
  answer: string;
  tool_calls: ToolCallResult[];
  invalid_tool_calls: InvalidToolCall[];
  /** Every generated id, including any inserted `</think>`. */
  tokens: number[];
  usage: GenerationUsage;
}

export type GenerationEvent =
  | { type: 'reasoning'; text: string }
  | { type: 'answer'; text: string }
  | { type: 'tool_call'; call: ToolCallResult }
  | { type: 'invalid_tool_call'; call: InvalidToolCall }
  | { type: 'done'; result: GenerationResult };

type Phase = 'start' | 'reasoning' | 'answer' | 'tool';

interface Checkpoint {
  tokens: number[];
  snapshot: EngineSnapshot;
  logits: Float32Array;
}

/** True when the prompt ends inside an open <think> (the last <think> comes after any </think> and turn end). */
function promptOpensThinking(prompt: readonly number[], tk: GenerationTokenizer): boolean {
  if (tk.thinkStartId === undefined) return false;
  for (let i = prompt.length - 1; i >= 0; i--) {
    if (prompt[i] === tk.thinkStartId) return true;
    if (prompt[i] === tk.thinkEndId || tk.stopIds.includes(prompt[i])) return false;
  }
  return false;
}

const textsCache = new WeakMap<GenerationTokenizer, string[]>();
/** The text of every id (its own decode), for masking by text; '' for ids that are not sampleable. */
function tokenTexts(tk: GenerationTokenizer, n: number): string[] {
  let t = textsCache.get(tk);
  if (!t || t.length !== n) {
    t = new Array<string>(n);
    for (let id = 0; id < n; id++) t[id] = tk.sampleable[id] ? tk.decode!([id]) : '';
    textsCache.set(tk, t);
  }
  return t;
}

const now = () => (typeof performance !== 'undefined' ? performance.now() : Date.now());

/** One conversation's engine state, reused across turns. */
export class GenerationSession {
  private checkpoints: Checkpoint[] = [];
  /** The checkpoint at a checkpoint_prefix, kept apart from the recent ones (not evicted by them). */
  private prefixCheckpoint: Checkpoint | null = null;
  private callCounter = 0;

  constructor(
    readonly engine: Engine,
    readonly tokenizer: GenerationTokenizer,
    /** How many prompt checkpoints to keep (each holds a copy of the KV cache). */
    readonly maxCheckpoints = 4,
  ) {}

  /** Forgets every checkpoint; the next prompt is read from scratch. */
  async reset(): Promise<void> {
    this.checkpoints = [];
    this.prefixCheckpoint = null;
    await this.engine.reset();
  }

  /**
   * Feeds the prompt (reusing the longest checkpointed prefix) and returns the logits after it, or null when the
   * signal fired first (checked between prefill chunks).
   */
  private async prefill(prompt: readonly number[], signal?: AbortSignal, keep = 0): Promise<{ logits: Float32Array | null; cached: number; fed: number; ms: number }> {
    const t0 = now();
    let best: Checkpoint | null = null;
    for (const c of [...this.checkpoints, ...(this.prefixCheckpoint ? [this.prefixCheckpoint] : [])]) {
      if (c.tokens.length <= prompt.length && (!best || c.tokens.length > best.tokens.length) && c.tokens.every((t, i) => t === prompt[i])) best = c;
    }
    let logits: Float32Array;
    let cached = 0;
    try {
      if (best) {
        await this.engine.restore(best.snapshot);
        cached = best.tokens.length;
        if (best !== this.prefixCheckpoint) this.checkpoints = [best, ...this.checkpoints.filter((c) => c !== best)]; // most recently used first
      } else {
        await this.engine.reset();
      }
      if (keep > cached && keep < prompt.length) {
        // feed up to the kept prefix, checkpoint there (prefill in pieces gives the same state as in one call)
        const at = await this.engine.prefill(prompt.slice(cached, keep), { signal });
        this.prefixCheckpoint = { tokens: prompt.slice(0, keep), snapshot: await this.engine.save(), logits: at };
        logits = await this.engine.prefill(prompt.slice(keep), { signal });
      } else {
        logits = cached === prompt.length ? best!.logits : await this.engine.prefill(prompt.slice(cached), { signal });
      }
    } catch (e) {
      if (signal?.aborted && e === signal.reason) return { logits: null, cached, fed: 0, ms: now() - t0 };
      throw e;
    }
    if (!best || cached !== prompt.length) {
      this.checkpoints.unshift({ tokens: [...prompt], snapshot: await this.engine.save(), logits });
      this.checkpoints.length = Math.min(this.checkpoints.length, this.maxCheckpoints);
    }
    return { logits, cached, fed: prompt.length - cached, ms: now() - t0 };
  }

  /**
   * Generates a reply to `prompt` (token ids of the rendered chat, ending with the generation prompt).
   * Yields events as text becomes available; the last event is always `done`.
   */
  async *generate(prompt: readonly number[], options: GenerationOptions = {}): AsyncGenerator<GenerationEvent> {
    const tk = this.tokenizer;
    const engine = this.engine;
    checkGenerationOptions(options);
    options = withoutNulls(options);
    if (prompt.length === 0) throw new InputError('generate: the prompt is empty');
    if (prompt.length >= engine.contextLength) {
      throw new InputError(`generate: the prompt has ${prompt.length} tokens but the context holds ${engine.contextLength} (no room to answer)`);
    }
    const room = engine.contextLength - prompt.length;
    const maxTokens = options.max_tokens ?? room;
    if (!Number.isInteger(maxTokens) || maxTokens < 1) throw new InputError(`generate: max_tokens must be a positive integer, got ${options.max_tokens}`);
    if (maxTokens > room) {
      throw new InputError(`generate: the prompt has ${prompt.length} tokens and max_tokens is ${maxTokens}: ${prompt.length + maxTokens} exceed the context of ${engine.contextLength}`);
    }
    const keep = options.checkpoint_prefix ?? 0;
    if (!Number.isInteger(keep) || keep < 0) throw new InputError(`generate: checkpoint_prefix must be an integer >= 0, got ${options.checkpoint_prefix}`);
    const budget = options.reasoning_budget;
    if (budget !== undefined && (!Number.isInteger(budget) || budget < 0)) throw new InputError(`generate: reasoning_budget must be an integer >= 0, got ${budget}`);
    const sampler = new Sampler(options, tk.sampleable);
    const guard = { ...LOOP_GUARD_DEFAULTS, ...options.loop_guard };
    const stops = options.stop === undefined ? [] : Array.isArray(options.stop) ? options.stop : [options.stop];
    const stopMatcher = new StopMatcher(stops);
    const choice = options.tool_choice ?? 'auto';
    const forceCall = choice === 'required' || typeof choice === 'object';
    const callNames = (forceCall ? (typeof choice === 'object' ? [choice.function.name] : toolNames(options.tools ?? [])) : []).map((n) => `[${n}(`);
    if (forceCall && (tk.toolCallStartId === undefined || !tk.decode || !tk.encode)) {
      throw new InputError(`tool_choice ${JSON.stringify(choice)}: this model's tokenizer has no tool-call token`, { param: 'tool_choice' });
    }
    let mustOpen = forceCall; // no tool-call section has opened yet
    let namePending = false; // inside the first section, before `[name(` is complete
    const forced: number[] = []; // ids to insert before sampling again

    const pre = await this.prefill(prompt, options.signal, keep);
    let logits = pre.logits ?? new Float32Array(0);
    const context = [...prompt];
    const generated: number[] = [];
    const decoder = tk.createStreamDecoder({ skipSpecial: true });
    // A template may pre-open the reasoning (`...assistant\n<think>\n`): then the model starts inside it.
    let phase: Phase = promptOpensThinking(prompt, tk) ? 'reasoning' : 'start';
    let reasoning = '';
    let answer = '';
    let toolText = '';
    let reasoningTokens = 0;
    let loopFrom = 0; // the loop guard looks only at tokens after its last intervention
    let steered = false;
    const toolCalls: ToolCallResult[] = [];
    const invalid: InvalidToolCall[] = [];
    let finish: FinishReason | null = pre.logits ? null : 'abort'; // (aborted during the prefill)
    const tDecode = now();
    const pending: GenerationEvent[] = [];

    const emitText = (text: string) => {
      if (!text) return;
      if (phase === 'reasoning') {
        reasoning += text;
        pending.push({ type: 'reasoning', text });
      } else if (phase === 'tool') {
        toolText += text;
      } else {
        const r = stopMatcher.push(text);
        if (r.text) {
          answer += r.text;
          pending.push({ type: 'answer', text: r.text });
        }
        if (r.stopped) finish = 'stop';
      }
    };
    const closeTool = () => {
      const parsed = parseToolCalls(toolText);
      if (parsed.error || parsed.calls.length === 0) {
        const call = { raw: toolText, error: parsed.error ? parsed.error.message : 'no call in the tool-call section' };
        invalid.push(call);
        pending.push({ type: 'invalid_tool_call', call });
      }
      for (const c of parsed.error ? [] : parsed.calls) {
        const problems = options.tools ? validateToolCall(c, options.tools) : [];
        if (problems.length > 0) {
          const call = { raw: toolText, error: `${c.name}: ${problems.join('; ')}` };
          invalid.push(call);
          pending.push({ type: 'invalid_tool_call', call });
          continue;
        }
        const call = { ...c, id: `call_${this.callCounter++}` };
        toolCalls.push(call);
        pending.push({ type: 'tool_call', call });
      }
      toolText = '';
    };
    /** Feeds `id` to the model (it was sampled or inserted) and updates the phase. */
    const consume = async (id: number) => {
      generated.push(id);
      context.push(id);
      const opensReasoning = id === tk.thinkStartId && phase === 'start';
      if (id === tk.thinkStartId && phase === 'start') {
        emitText(decoder.flush());
        phase = 'reasoning';
      } else if (id === tk.thinkEndId && (phase === 'reasoning' || phase === 'start')) {
        emitText(decoder.flush());
        phase = 'answer';
      } else if (id === tk.toolCallStartId && phase !== 'reasoning' && phase !== 'tool') {
        emitText(decoder.flush());
        phase = 'tool';
        namePending = mustOpen;
        mustOpen = false;
      } else if (id === tk.toolCallEndId && phase === 'tool') {
        emitText(decoder.flush());
        closeTool();
        phase = 'answer';
      } else {
        emitText(decoder.push(id));
      }
      if (phase === 'reasoning' && !opensReasoning) reasoningTokens++; // a <think> written inside the reasoning counts
      if (namePending && (phase !== 'tool' || callNames.some((n) => toolText.startsWith(n)) || !callNames.some((n) => n.startsWith(toolText)))) namePending = false;
    };
    /** The logits with what tool_choice forbids now set to -Infinity (or the logits themselves when nothing is). */
    const constrained = (): Float32Array => {
      const ban = new Set<number>();
      let allow: ((id: number) => boolean) | null = null;
      if (choice === 'none' && tk.toolCallStartId !== undefined) ban.add(tk.toolCallStartId);
      if (mustOpen) {
        for (const id of tk.stopIds) ban.add(id); // the turn cannot end before the call
        if (phase === 'start') allow = (id) => id === tk.thinkStartId || id === tk.toolCallStartId;
      }
      if (namePending) {
        const texts = tokenTexts(tk, logits.length);
        allow = (id) => texts[id] !== '' && callNames.some((n) => n.startsWith(toolText + texts[id]) || (toolText + texts[id]).startsWith(n));
      }
      if (ban.size === 0 && allow === null) return logits;
      const z = Float32Array.from(logits);
      let open = 0;
      for (let id = 0; id < z.length; id++) {
        if (ban.has(id) || (allow !== null && !allow(id)) || !tk.sampleable[id]) z[id] = -Infinity;
        else open++;
      }
      if (open === 0 && namePending) {
        // No single token continues the name (e.g. a name whose characters span tokens): insert its tokens.
        const name = callNames.find((n) => n.startsWith(toolText))!;
        forced.push(...tk.encode!(name.slice(toolText.length)));
        namePending = false;
        return logits;
      }
      return z;
    };

    while (finish === null) {
      for (const e of pending.splice(0)) yield e;
      if (options.signal?.aborted) {
        finish = 'abort';
        break;
      }
      // Decide the next token: an inserted one (</think> for the budget or loop steering, the tool-call start or a
      // tool name for tool_choice), or a sampled one.
      let next: number;
      if (phase === 'reasoning' && budget !== undefined && reasoningTokens >= budget && tk.thinkEndId !== undefined) {
        next = tk.thinkEndId;
      } else if (mustOpen && ((phase as Phase) === 'answer' || (phase === 'start' && tk.thinkStartId === undefined))) {
        next = tk.toolCallStartId!;
      } else {
        const z = constrained();
        next = forced.length > 0 ? forced.shift()! : sampler.sample(z, context, generated);
        if (tk.stopIds.includes(next)) {
          finish = toolCalls.length > 0 ? 'tool_calls' : 'stop';
          generated.push(next);
          break;
        }
      }
      await consume(next);
      if (finish !== null) break;

      const period = guard.enabled ? detectLoop(generated.slice(loopFrom), guard) : 0;
      if (period > 0) {
        if (phase === 'reasoning' && !steered && (options.loop_guard?.onReasoningLoop ?? 'close-thinking') === 'close-thinking' && tk.thinkEndId !== undefined) {
          steered = true;
          loopFrom = generated.length + 1;
          logits = await engine.decode(next);
          await consume(tk.thinkEndId);
          next = tk.thinkEndId;
        } else {
          finish = 'loop';
          break;
        }
      }
      if (forced.length > 0 && (generated.length >= maxTokens || engine.position + 1 >= engine.contextLength)) forced.length = 0;
      if (generated.length >= maxTokens || engine.position + 1 >= engine.contextLength) {
        finish = 'length';
        break;
      }
      logits = await engine.decode(next);
    }

    emitText(decoder.flush());
    if ((phase as Phase) === 'tool') { // (phase changes inside consume(), which TypeScript's narrowing cannot see)
      const call = { raw: toolText, error: 'tool call not closed' };
      invalid.push(call);
      pending.push({ type: 'invalid_tool_call', call });
    }
    const tail = stopMatcher.flush();
    if (tail && finish !== 'stop') {
      answer += tail;
      pending.push({ type: 'answer', text: tail });
    }
    for (const e of pending.splice(0)) yield e;

    const decodeMs = now() - tDecode;
    const completion = generated.length;
    const result: GenerationResult = {
      finish_reason: finish,
      reasoning,
      answer,
      tool_calls: toolCalls,
      invalid_tool_calls: invalid,
      tokens: generated,
      usage: {
        prompt_tokens: prompt.length,
        cached_prompt_tokens: pre.cached,
        completion_tokens: completion,
        reasoning_tokens: reasoningTokens,
        answer_tokens: completion - reasoningTokens,
        prefill_ms: pre.ms,
        decode_ms: decodeMs,
        prefill_tokens_per_s: pre.ms > 0 ? (pre.fed * 1000) / pre.ms : 0,
        decode_tokens_per_s: decodeMs > 0 ? (completion * 1000) / decodeMs : 0,
      },
    };
    yield { type: 'done', result };
  }
}
