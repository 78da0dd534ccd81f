// Chat messages -> prompt text, the way Hugging Face `apply_chat_template(..., tokenize=False)` does it.
//
// Two paths, one result:
//   - with a template (the `chat_template` string from the model's GGUF or tokenizer_config.json): render it with
//     @huggingface/jinja, passing what transformers passes (messages as plain objects, `tools` as given,
//     `add_generation_prompt`, `keep_past_thinking`, `bos_token`, `eos_token`).
//   - without one: `formatLfm25`, the LFM2.5-1.2B template's rules written as code (spec §7.1). Tests check that it
//     equals the real template rendered through jinja, byte for byte.
//
// History normalization (on by default, `normalize: false` turns it off). The real LFM2.5 template ignores the
// OpenAI `tool_calls` and `reasoning_content` fields and tojson's any non-string content (null -> "null"). So
// before rendering, `normalizeMessagesForLfm` rewrites each message into the form the model was trained on:
//   - content parts -> their texts concatenated; null content -> "".
//   - assistant `reasoning_content` -> `<think>{reasoning}</think>` in front of the content (unless the content
//     already has a `</think>`). Earlier turns are stripped by the template anyway; this matters for the last one.
//   - assistant `tool_calls` -> LFM2's native call text `<|tool_call_start|>[name(arg="v", n=1)]<|tool_call_end|>`,
//     placed at the start of the answer (right after `</think>` when there is one), before any prose, unless
//     the content already holds `<|tool_call_start|>`.
//   - both fields are then dropped from the message, so a template that renders them itself (llama.cpp's LFM2 copy
//     renders `tool_calls` as a JSON list) does not write the calls twice.
//
// Leaves out: images (rejected: LFM2.5-1.2B is text only), `continue_final_message`, template variables other
// than the ones listed above, tokenization (encode the result with add_special_tokens=false: it starts with BOS).
//
// Known differences from HF (Python) that no real prompt is likely to hit, all inherited from the JS runtime:
//   - numbers: JS has one number type, so 1.0 prints as `1`, 1e-7 as `1e-7` (Python: `1.0`, `1e-07`); integer-like
//     object keys ("2") come first in JS objects, so their order is not kept.
//   - jinja path only: @huggingface/jinja's `trim` is JS `String.trim` (strips U+FEFF, keeps U+001C-U+001F and
//     U+0085), Python's `str.strip` does the opposite. `formatLfm25` follows Python.

import { Template } from '@huggingface/jinja';
import { ChatTemplateError } from './errors.js';
import { describe, isPlainObject, jsonDepth, MAX_JSON_DEPTH } from './json.js';
import { THINK_END, THINK_START, TOOL_CALL_END, TOOL_CALL_START } from './markers.js';
import { formatToolCalls } from './tool-call-format.js';
import type { ChatMessage, ContentPart, ToolCall, ToolDefinition } from './types.js';
import { checkMessages, checkTools } from './validate.js';

export { ChatTemplateError, type ChatTemplateErrorKind } from './errors.js';

// --- constants -------------------------------------------------------------------------------------------------

const DEFAULT_BOS = '<|startoftext|>';
const DEFAULT_EOS = '<|im_end|>';

// --- public API ------------------------------------------------------------------------------------------------

export interface RenderChatOptions {
  /** A jinja chat template. null, undefined or '' selects the built-in LFM2.5 formatter. */
  template?: string | null;
  /** Tools offered to the model, written into the system turn as JSON (strings are written as they are). */
  tools?: readonly (ToolDefinition | string)[];
  /** End with `<|im_start|>assistant\n`. Default true. */
  addGenerationPrompt?: boolean;
  /** Keep `<think>…</think>` of assistant turns before the last one. Default false (the template strips them). */
  keepPastThinking?: boolean;
  /** Default '<|startoftext|>'. */
  bosToken?: string;
  /** Default '<|im_end|>'. Passed to templates; the LFM2.5 format writes `<|im_end|>` itself. */
  eosToken?: string;
  /** Rewrite messages with `normalizeMessagesForLfm` first. Default true. */
  normalize?: boolean;
}

/** One call for `lfm2ToolCallText`: arguments as a parsed object. */
export interface Lfm2ToolCall {
  name: string;
  arguments: Record<string, unknown>;
}

/** Render a conversation into prompt text. Throws `ChatTemplateError`. */
export function renderChat(messages: readonly ChatMessage[], opts: RenderChatOptions = {}): string {
  checkMessages(messages);
  const tools = checkTools(opts.tools, { allowStrings: true });
  const msgs = (opts.normalize ?? true) ? normalizeMessagesForLfm(messages) : messages;
  const addGenerationPrompt = opts.addGenerationPrompt ?? true;
  const keepPastThinking = opts.keepPastThinking ?? false;
  const bosToken = opts.bosToken ?? DEFAULT_BOS;

  if (opts.template == null || opts.template === '') {
    return formatLfm25(msgs, tools ?? [], { addGenerationPrompt, keepPastThinking, bosToken });
  }
  const template = compile(opts.template);
  try {
    return template.render({
      messages: msgs.map(plainMessage),
      tools: tools ?? null,
      add_generation_prompt: addGenerationPrompt,
      keep_past_thinking: keepPastThinking,
      bos_token: bosToken,
      eos_token: opts.eosToken ?? DEFAULT_EOS,
    });
  } catch (e) {
    throw new ChatTemplateError('template-render', `chat template failed while rendering: ${errorText(e)}`, { cause: e });
  }
}

/**
 * Messages as the LFM templates expect them: string content, thinking and tool calls written into the content
 * (see the file header). Returns new objects; every `content` is a string; no `tool_calls`/`reasoning_content`.
 */
export function normalizeMessagesForLfm(messages: readonly ChatMessage[]): (ChatMessage & { content: string })[] {
  checkMessages(messages);
  return messages.map((m, i) => {
    let content = contentText(m.content);
    if (m.role === 'assistant') {
      if (m.reasoning_content && !content.includes(THINK_END)) {
        content = `${THINK_START}${m.reasoning_content}${THINK_END}${content}`;
      }
      if (m.tool_calls && m.tool_calls.length > 0 && !content.includes(TOOL_CALL_START)) {
        const calls = m.tool_calls.map((c, j) => ({ name: c.function.name, arguments: parseArguments(c, `messages[${i}].tool_calls[${j}]`) }));
        const cut = content.lastIndexOf(THINK_END);
        const at = cut < 0 ? 0 : cut + THINK_END.length;
        content = content.slice(0, at) + lfm2ToolCallText(calls) + content.slice(at);
      }
    }
    const out: ChatMessage & { content: string } = { role: m.role, content };
    if (m.tool_call_id !== undefined) out.tool_call_id = m.tool_call_id;
    if (m.name !== undefined) out.name = m.name;
    return out;
  });
}

/**
 * LFM2's native call text: `<|tool_call_start|>[get_weather(city="Paris", days=3), f()]<|tool_call_end|>`, written
 * by the one tool-call writer (formatToolCalls, src/chat/tool-call-format.ts), so parseToolCalls reads it back as
 * exactly these calls: arguments keep their key order as Python literals (strings, numbers, True/False/None, lists,
 * dicts); an argument name that is not a Python identifier goes in a `**{...}` group; a function name that call
 * syntax cannot carry (e.g. "1st-tool", "a b") is written in the JSON form `{"name": ..., "arguments": {...}}`.
 * Throws a ChatTemplateError for what cannot be written: no calls, an empty name, arguments that are not an object,
 * nest deeper than MAX_JSON_DEPTH or are cyclic.
 */
export function lfm2ToolCallText(calls: readonly Lfm2ToolCall[]): string {
  if (calls.length === 0) throw new ChatTemplateError('tool-call', 'lfm2ToolCallText: no calls to write');
  calls.forEach((call, i) => {
    const where = `tool call ${i}`;
    if (typeof call.name !== 'string' || call.name === '') throw new ChatTemplateError('tool-call', `${where}: function name must be a non-empty string, got ${describe(call.name)}`);
    if (!isPlainObject(call.arguments)) throw new ChatTemplateError('tool-call', `${where} (${call.name}): arguments must be an object, got ${describe(call.arguments)}`);
    if (jsonDepth(call.arguments) > MAX_JSON_DEPTH) throw new ChatTemplateError('tool-call', `${where} (${call.name}): arguments nest deeper than ${MAX_JSON_DEPTH} levels`);
  });
  try {
    return `${TOOL_CALL_START}${formatToolCalls(calls)}${TOOL_CALL_END}`;
  } catch (e) {
    throw new ChatTemplateError('tool-call', `cannot write the tool calls: ${errorText(e)}`, { cause: e }); // a cyclic value
  }
}

/**
 * HF's `tojson` filter as @huggingface/jinja implements it: `json.dumps(x, ensure_ascii=False)` with the default
 * separators `", "` and `": "`, keys in insertion order, strings escaped as JSON.stringify does (the same escapes
 * as Python). undefined -> null, as jinja converts it.
 */
export function hfToJson(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  switch (typeof value) {
    case 'string':
    case 'number':
      return JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object':
      if (Array.isArray(value)) return `[${value.map(hfToJson).join(', ')}]`;
      return `{${Object.entries(value).map(([k, v]) => `${JSON.stringify(k)}: ${hfToJson(v)}`).join(', ')}}`;
    default:
      throw new ChatTemplateError('tool', `cannot write a ${typeof value} as JSON`);
  }
}

// --- the built-in LFM2.5 formatter (spec §7.1) -----------------------------------------------------------------

interface FormatOptions {
  addGenerationPrompt: boolean;
  keepPastThinking: boolean;
  bosToken: string;
}

function formatLfm25(messages: readonly ChatMessage[], tools: readonly unknown[], opts: FormatOptions): string {
  // 1. BOS.
  let out = opts.bosToken;

  // 3. A leading system message becomes the system prompt.
  let systemPrompt: string | null = '';
  let rest = messages;
  if (messages.length > 0 && messages[0].role === 'system') {
    const c = messages[0].content;
    if (c !== null && typeof c !== 'string') {
      throw new ChatTemplateError('message', 'messages[0]: system content must be a string when normalize is false (the LFM2.5 template cannot add a list to a string)');
    }
    systemPrompt = c;
    rest = messages.slice(1);
  }

  // 4. Tools: "List of tools: [" + each tool as-is (string) or tojson'd, joined with ", " + "]". No list markers.
  if (tools.length > 0) {
    if (systemPrompt === null) {
      throw new ChatTemplateError('message', 'messages[0]: system content is null and tools are given (the LFM2.5 template cannot add to None); pass a string or leave normalize on');
    }
    const list = tools.map((t) => (typeof t === 'string' ? t : hfToJson(t))).join(', ');
    systemPrompt += `${systemPrompt ? '\n' : ''}List of tools: [${list}]`;
  }

  // 5. The system turn, when there is anything to say.
  if (systemPrompt) out += `<|im_start|>system\n${systemPrompt}<|im_end|>\n`;

  // 6. The last assistant turn keeps its thinking.
  let lastAssistant = -1;
  rest.forEach((m, i) => {
    if (m.role === 'assistant') lastAssistant = i;
  });

  // 7. Each turn; earlier assistant turns lose everything up to their last </think>, then get stripped.
  rest.forEach((m, i) => {
    let content = typeof m.content === 'string' ? m.content : hfToJson(m.content);
    if (m.role === 'assistant' && !opts.keepPastThinking && i !== lastAssistant) {
      const cut = content.lastIndexOf(THINK_END);
      if (cut >= 0) content = pyStrip(content.slice(cut + THINK_END.length));
    }
    out += `<|im_start|>${m.role}\n${content}<|im_end|>\n`;
  });

  // 8. Generation prompt (no <think> pre-opened: the Thinking model opens it itself).
  if (opts.addGenerationPrompt) out += '<|im_start|>assistant\n';
  return out;
}

/** Python's `str.strip()` (jinja's `trim` filter): strips the characters for which `str.isspace()` is true. */
function pyStrip(s: string): string {
  return s.replace(PY_SPACE_START, '').replace(PY_SPACE_END, '');
}
const PY_SPACE = '\\t\\n\\v\\f\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const PY_SPACE_START = new RegExp(`^[${PY_SPACE}]+`);
const PY_SPACE_END = new RegExp(`[${PY_SPACE}]+$`);

// --- jinja -----------------------------------------------------------------------------------------------------

const compiled = new Map<string, Template>();
const COMPILED_MAX = 8;

function compile(source: string): Template {
  if (typeof source !== 'string') throw new ChatTemplateError('template-syntax', `chat template must be a string, got ${describe(source)}`);
  const hit = compiled.get(source);
  if (hit) return hit;
  let template: Template;
  try {
    template = new Template(source);
  } catch (e) {
    throw new ChatTemplateError('template-syntax', `chat template does not parse: ${errorText(e)}`, { cause: e });
  }
  if (compiled.size >= COMPILED_MAX) compiled.delete(compiled.keys().next().value as string);
  compiled.set(source, template);
  return template;
}

/** What transformers hands a template: the message dict with only the keys that are set. */
function plainMessage(m: ChatMessage): Record<string, unknown> {
  const out: Record<string, unknown> = { role: m.role, content: m.content ?? null };
  if (m.tool_calls !== undefined) out.tool_calls = m.tool_calls;
  if (m.tool_call_id !== undefined) out.tool_call_id = m.tool_call_id;
  if (m.name !== undefined) out.name = m.name;
  if (m.reasoning_content !== undefined) out.reasoning_content = m.reasoning_content;
  return out;
}

function errorText(e: unknown): string {
  return e instanceof Error ? `${e.name === 'Error' ? '' : `${e.name}: `}${e.message}` : String(e);
}

// --- checks ----------------------------------------------------------------------------------------------------

function parseArguments(call: ToolCall, where: string): Record<string, unknown> {
  const text = call.function.arguments;
  if (text.trim() === '') return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new ChatTemplateError('tool-call', `${where}.function.arguments is not valid JSON (${errorText(e)}): ${text.slice(0, 80)}`, { cause: e, param: `${where}.function.arguments` });
  }
  if (!isPlainObject(value)) throw new ChatTemplateError('tool-call', `${where}.function.arguments must be a JSON object, got ${describe(value)}`, { param: `${where}.function.arguments` });
  if (jsonDepth(value) > MAX_JSON_DEPTH) throw new ChatTemplateError('tool-call', `${where}.function.arguments nests deeper than ${MAX_JSON_DEPTH} levels`, { param: `${where}.function.arguments` });
  return value;
}

// --- small helpers ---------------------------------------------------------------------------------------------

function contentText(content: string | ContentPart[] | null | undefined): string {
  if (content === null || content === undefined) return '';
  if (typeof content === 'string') return content;
  return content.map((p) => p.text).join('');
}
