// Requests that must be rejected with a 400 / InputError naming the field: the reproducers of issue 7 and their
// neighbours. Shared by the in-process tests (api-input), the server tests and the fuzz test's regression corpus.

import type { ChatMessage } from '../src/chat/types.js';

const USER: ChatMessage[] = [{ role: 'user', content: 'What is 2+2?' }];

/** `levels` levels of `{type: 'object', properties: {a: ...}}`. */
export function deepSchema(levels: number): Record<string, unknown> {
  let s: Record<string, unknown> = { type: 'string' };
  for (let i = 0; i < levels; i++) s = { type: 'object', properties: { a: s } };
  return s;
}

/**
 * JSON text of a request, written without recursion (JSON.stringify of 3,000 levels can overflow a test's stack).
 * For fuzzed values: a bigint is written as its digits (valid JSON), undefined as null, and an object met a second
 * time (a cycle, or a shared part) as null.
 */
export function requestJson(v: unknown): string {
  class Raw {
    constructor(readonly text: string) {}
  }
  const out: string[] = [];
  const stack: unknown[] = [v];
  const seen = new Set<object>();
  while (stack.length > 0) {
    const x = stack.pop();
    if (x instanceof Raw) out.push(x.text);
    else if (typeof x === 'bigint') out.push(x.toString());
    else if (typeof x === 'object' && x !== null && seen.has(x)) out.push('null');
    else if (typeof x === 'object' && x !== null && !Array.isArray(x) && Object.getPrototypeOf(x) !== Object.prototype && Object.getPrototypeOf(x) !== null) {
      seen.add(x);
      out.push(JSON.stringify(x, (_k, y: unknown) => (typeof y === 'bigint' ? String(y) : y)) ?? 'null'); // Date, Map, typed arrays: as JSON.stringify writes them
    }
    else if (Array.isArray(x)) {
      seen.add(x);
      stack.push(new Raw(']'));
      for (let i = x.length - 1; i >= 0; i--) stack.push(x[i], ...(i > 0 ? [new Raw(',')] : []));
      stack.push(new Raw('['));
    } else if (x !== null && typeof x === 'object') {
      seen.add(x);
      const entries = Object.entries(x);
      stack.push(new Raw('}'));
      for (let i = entries.length - 1; i >= 0; i--) stack.push(entries[i][1], new Raw(`${i > 0 ? ',' : ''}${JSON.stringify(entries[i][0])}:`));
      stack.push(new Raw('{'));
    } else out.push(JSON.stringify(x) ?? 'null');
  }
  return out.join('');
}

// [what, params (as a request body would hold them), the param the error must name]
export const BAD_REQUESTS: [string, Record<string, unknown>, string][] = [
  ['messages: [null]', { messages: [null] }, 'messages[0]'],
  ['messages: null', { messages: null }, 'messages'],
  ['messages missing', {}, 'messages'],
  ['messages: []', { messages: [] }, 'messages'],
  ['a text part whose text is a number', { messages: [{ role: 'user', content: [{ type: 'text', text: 5 }] }] }, 'messages[0].content[0].text'],
  ['a role that is a number', { messages: [{ role: 1, content: 'x' }] }, 'messages[0].role'],
  ['tool_calls on a user message', { messages: [{ role: 'user', content: 'x', tool_calls: [] }] }, 'messages[0].tool_calls'],
  ['tools: "x"', { messages: USER, tools: 'x' }, 'tools'],
  ['tools: [null]', { messages: USER, tools: [null] }, 'tools[0]'],
  ['a tool with no name', { messages: USER, tools: [{ type: 'function', function: {} }] }, 'tools[0].function.name'],
  ['parameters nested 3,000 levels deep', { messages: USER, tools: [{ type: 'function', function: { name: 'f', parameters: deepSchema(3000) } }] }, 'tools[0].function.parameters'],
  ['two tools with one name', { messages: USER, tools: [{ name: 'f' }, { name: 'f' }] }, 'tools[1].name'],
  ['stop: 5', { messages: USER, stop: 5 }, 'stop'],
  ['stop: [5]', { messages: USER, stop: [5] }, 'stop[0]'],
  ['stop: 17 strings', { messages: USER, stop: Array.from({ length: 17 }, (_, i) => `s${i}`) }, 'stop'],
  ['stream: "yes"', { messages: USER, stream: 'yes' }, 'stream'],
  ['stream_options without stream', { messages: USER, stream_options: { include_usage: true } }, 'stream_options'],
  ['tool_choice: "bogus"', { messages: USER, tool_choice: 'bogus' }, 'tool_choice'],
  ['tool_choice names a tool that is not there', { messages: USER, tools: [{ name: 'f' }], tool_choice: { type: 'function', function: { name: 'g' } } }, 'tool_choice.function.name'],
  ['tool_choice required without tools', { messages: USER, tool_choice: 'required' }, 'tool_choice'],
  ['seed: 2^53', { messages: USER, seed: 2 ** 53 }, 'seed'],
  ['seed: 1.5', { messages: USER, seed: 1.5 }, 'seed'],
  ['seed: "1"', { messages: USER, seed: '1' }, 'seed'],
  ['temperature: 3 (OpenAI: [0, 2])', { messages: USER, temperature: 3 }, 'temperature'],
  ['max_tokens: 0', { messages: USER, max_tokens: 0 }, 'max_tokens'],
  ['max_tokens: 1e20', { messages: USER, max_tokens: 1e20 }, 'max_tokens'],
  ['max_completion_tokens: "5"', { messages: USER, max_completion_tokens: '5' }, 'max_completion_tokens'],
  ['reasoning_budget: -1', { messages: USER, reasoning_budget: -1 }, 'reasoning_budget'],
  ['n: 2', { messages: USER, n: 2 }, 'n'],
  ['logprobs: true', { messages: USER, logprobs: true }, 'logprobs'],
  ['response_format json', { messages: USER, response_format: { type: 'json_object' } }, 'response_format'],
  ['functions (deprecated)', { messages: USER, functions: [{ name: 'f' }] }, 'functions'],
  ['loop_guard.maxPeriod: 1e9', { messages: USER, loop_guard: { maxPeriod: 1e9 } }, 'loop_guard.maxPeriod'],
  ['keep_past_thinking: "yes"', { messages: USER, keep_past_thinking: 'yes' }, 'keep_past_thinking'],
  ['model: 5', { messages: USER, model: 5 }, 'model'],
  ['a 40,000-word message (longer than the context)', { messages: [{ role: 'user', content: 'word '.repeat(40_000) }] }, 'messages'],
];

