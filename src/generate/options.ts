// The one check of generation options, for every way in: lfm.chat (src/lfm.ts), chat.completions.create and the
// HTTP server (src/openai.ts), GenerationSession.generate, and the CLI's flags (src/cli/chat-commands.ts). Options
// arrive from JSON and from JavaScript callers that the compiler never saw, so every field is checked here, and a
// bad one is an InputError whose `param` names it (`stop[1]`, `loop_guard.maxPeriod`, `tool_choice.function.name`).
//
// Decisions: null means "not given" for every option (OpenAI's parameters are nullable); options we do not know
// are ignored (they are the caller's typo to catch at compile time; the OpenAI layer decides about its own).

import { InputError } from '../../reference/errors.js';
import { describe, isPlainObject } from '../chat/json.js';
import { checkTools, toolNames } from '../chat/validate.js';
import { validateSampling } from './sampler.js';

/**
 * OpenAI's tool_choice: 'auto' (the model decides; the default), 'none' (no tool call: the tool-call token is never
 * sampled), 'required' (at least one call: the turn cannot end before the first tool-call section, which opens
 * right after the reasoning, and the section starts with one of the declared names), or one named function (the
 * same, with that name). See src/generate/generate.ts for how it is enforced.
 */
export type ToolChoice = 'auto' | 'none' | 'required' | { type: 'function'; function: { name: string } };

/** Most stop strings, and longest stop string (UTF-16 units): each costs work per generated token. */
export const MAX_STOPS = 16;
export const MAX_STOP_LENGTH = 1000;

/** Bounds of the loop guard's knobs (its work per token grows with maxPeriod * minSpan). */
const LOOP_GUARD_LIMITS = { maxPeriod: [1, 4096], minRepeats: [2, 1000], minSpan: [1, 65536] } as const;

function fail(param: string, what: string, v: unknown): never {
  throw new InputError(`${param} must be ${what}, got ${describe(v)}`, { param });
}

const given = (v: unknown) => v !== undefined && v !== null;

/** A positive (min 1) or non-negative (min 0) safe integer, or absent. */
export function checkCount(param: string, v: unknown, min: 0 | 1): void {
  if (given(v) && !(typeof v === 'number' && Number.isSafeInteger(v) && v >= min)) fail(param, min === 1 ? 'a positive integer' : 'an integer >= 0', v);
}

export function checkStop(param: string, v: unknown): void {
  if (!given(v)) return;
  const one = (s: unknown, at: string) => {
    if (typeof s !== 'string') fail(at, 'a string', s);
    if (s.length > MAX_STOP_LENGTH) throw new InputError(`${at} is ${s.length} characters long (at most ${MAX_STOP_LENGTH})`, { param: at });
  };
  if (typeof v === 'string') return one(v, param);
  if (!Array.isArray(v)) fail(param, 'a string or an array of strings', v);
  if (v.length > MAX_STOPS) throw new InputError(`${param} has ${v.length} strings (at most ${MAX_STOPS})`, { param });
  Array.from(v).forEach((s, i) => one(s, `${param}[${i}]`)); // holes of a sparse array are checked too
}

/** tool_choice against the (checked) tools. */
export function checkToolChoice(v: unknown, tools: readonly unknown[] | undefined): void {
  if (!given(v) || v === 'auto' || v === 'none') return;
  const names = tools ? toolNames(tools as Record<string, unknown>[]) : [];
  if (v === 'required') {
    if (names.length === 0) throw new InputError(`tool_choice 'required' needs tools (none were given)`, { param: 'tool_choice' });
    return;
  }
  if (!isPlainObject(v)) fail('tool_choice', `'auto', 'none', 'required' or { type: 'function', function: { name } }`, v);
  if (v.type !== 'function') fail('tool_choice.type', `'function'`, v.type);
  if (!isPlainObject(v.function)) fail('tool_choice.function', 'an object { name }', v.function);
  const name = v.function.name;
  if (typeof name !== 'string' || name === '') fail('tool_choice.function.name', 'a non-empty string', name);
  if (!names.includes(name)) {
    throw new InputError(`tool_choice.function.name '${name}' is not one of the tools (${names.length ? names.join(', ') : 'none were given'})`, { param: 'tool_choice.function.name' });
  }
}

function checkLoopGuard(v: unknown): void {
  if (!given(v)) return;
  if (!isPlainObject(v)) fail('loop_guard', 'an object', v);
  if (given(v.enabled) && typeof v.enabled !== 'boolean') fail('loop_guard.enabled', 'a boolean', v.enabled);
  for (const [k, [lo, hi]] of Object.entries(LOOP_GUARD_LIMITS)) {
    const x = v[k];
    if (given(x) && !(typeof x === 'number' && Number.isInteger(x) && x >= lo && x <= hi)) fail(`loop_guard.${k}`, `an integer in [${lo}, ${hi}]`, x);
  }
  const r = v.onReasoningLoop;
  if (given(r) && r !== 'close-thinking' && r !== 'stop') fail('loop_guard.onReasoningLoop', `'close-thinking' or 'stop'`, r);
}

/**
 * Checks the options of one generation (lfm.chat's options: sampling, max_tokens, stop, reasoning_budget, tools,
 * tool_choice, keep_past_thinking, loop_guard, signal). Throws an InputError naming the first bad one.
 */
export function checkGenerationOptions(o: unknown): void {
  if (!given(o)) return;
  if (!isPlainObject(o)) throw new InputError(`options must be an object, got ${describe(o)}`, { param: 'options' });
  validateSampling(o);
  checkCount('max_tokens', o.max_tokens, 1);
  checkCount('reasoning_budget', o.reasoning_budget, 0);
  checkStop('stop', o.stop);
  const tools = checkTools(o.tools);
  checkToolChoice(o.tool_choice, tools);
  if (given(o.keep_past_thinking) && typeof o.keep_past_thinking !== 'boolean') fail('keep_past_thinking', 'a boolean', o.keep_past_thinking);
  checkLoopGuard(o.loop_guard);
  const signal = o.signal as { aborted?: unknown } | null | undefined;
  if (given(signal) && (typeof signal !== 'object' || typeof signal!.aborted !== 'boolean')) fail('signal', 'an AbortSignal', signal);
}

/** The options without their null (= not given) entries, so that they do not override defaults when merged. */
export function withoutNulls<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== null && v !== undefined)) as T;
}
