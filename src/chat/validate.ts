// The one check of chat messages and tool definitions, for every way in: renderChat, lfm.chat, and the OpenAI
// request validator (src/openai.ts) that the HTTP server uses. Requests arrive as JSON and are never type-checked
// by the compiler, so every field is checked here and a bad one is a ChatTemplateError (an InputError) whose
// `param` names it: `messages[1].content[0].text`, `tools[0].function.parameters`.
//
// Decisions: content may be null or absent for every role (rendered as ""; the templates accept it); messages
// and tools may carry fields we do not read (OpenAI's `refusal`, `strict`, ...), which are ignored; a tool message
// needs no tool_call_id (LFM templates do not render it).

import { ChatTemplateError } from './errors.js';
import { describe, isPlainObject, jsonDepth, MAX_JSON_DEPTH, shown } from './json.js';
import type { ChatMessage, ChatRole, ToolDefinition } from './types.js';

export const ROLES: readonly ChatRole[] = ['system', 'user', 'assistant', 'tool'];

/** Throws a ChatTemplateError naming the first bad field. `nonEmpty`: a request needs at least one message. */
export function checkMessages(messages: unknown, opts: { nonEmpty?: boolean } = {}): asserts messages is ChatMessage[] {
  const fail = (kind: 'message' | 'tool-call', param: string, what: string): never => {
    throw new ChatTemplateError(kind, `${param}${what}`, { param });
  };
  if (!Array.isArray(messages)) fail('message', 'messages', ` must be an array of messages, got ${describe(messages)}`);
  const list = messages as unknown[];
  if (opts.nonEmpty && list.length === 0) fail('message', 'messages', ': at least one message is needed');
  Array.from(list).forEach((m: unknown, i) => { // Array.from: a hole in a sparse array is checked as undefined
    const where = `messages[${i}]`;
    if (!isPlainObject(m)) fail('message', where, ` must be an object with a role and content, got ${describe(m)}`);
    const msg = m as Record<string, unknown>;
    const role = msg.role;
    if (typeof role !== 'string' || !(ROLES as readonly string[]).includes(role)) {
      fail('message', `${where}.role`, `: unknown role ${role === undefined ? 'undefined' : shown(role)} (expected one of ${ROLES.join(', ')})`);
    }
    const content = msg.content;
    if (Array.isArray(content)) {
      Array.from(content).forEach((p: unknown, j) => checkPart(p, `${where}.content[${j}]`));
    } else if (content !== null && content !== undefined && typeof content !== 'string') {
      fail('message', `${where}.content`, ` must be a string, an array of text parts, or null; got ${describe(content)}`);
    }
    for (const k of ['reasoning_content', 'name', 'tool_call_id'] as const) {
      if (msg[k] !== undefined && msg[k] !== null && typeof msg[k] !== 'string') fail('message', `${where}.${k}`, ` must be a string, got ${describe(msg[k])}`);
    }
    const calls = msg.tool_calls;
    if (calls === undefined || calls === null) return;
    if (role !== 'assistant') fail('tool-call', `${where}.tool_calls`, ` is only allowed on assistant messages (role is ${role})`);
    if (!Array.isArray(calls)) fail('tool-call', `${where}.tool_calls`, ` must be an array, got ${describe(calls)}`);
    Array.from(calls as unknown[]).forEach((c: unknown, j) => {
      const at = `${where}.tool_calls[${j}]`;
      if (!isPlainObject(c)) fail('tool-call', at, ` must be an object { type: 'function', function: { name, arguments } }, got ${describe(c)}`);
      const call = c as Record<string, unknown>;
      if (call.type !== undefined && call.type !== 'function') fail('tool-call', `${at}.type`, ` must be 'function', got ${describe(call.type)}`);
      if (call.id !== undefined && call.id !== null && typeof call.id !== 'string') fail('tool-call', `${at}.id`, ` must be a string, got ${describe(call.id)}`);
      const fn = call.function;
      if (!isPlainObject(fn)) fail('tool-call', `${at}.function`, ` must be an object { name, arguments }, got ${describe(fn)}`);
      const f = fn as Record<string, unknown>;
      if (typeof f.name !== 'string' || f.name === '') fail('tool-call', `${at}.function.name`, ` must be a non-empty string, got ${describe(f.name)}`);
      if (typeof f.arguments !== 'string') {
        fail('tool-call', `${at}.function.arguments`, ` must be JSON text (a string, as OpenAI sends it), got ${describe(f.arguments)}`);
      }
    });
  });
}

function checkPart(p: unknown, where: string): void {
  if (!isPlainObject(p)) throw new ChatTemplateError('message', `${where} must be a content part object, got ${describe(p)}`, { param: where });
  if (p.type === 'text') {
    if (typeof p.text !== 'string') throw new ChatTemplateError('message', `${where}.text: a text part needs a string 'text', got ${describe(p.text)}`, { param: `${where}.text` });
    return;
  }
  if (p.type === 'image' || p.type === 'image_url' || p.type === 'input_image') {
    throw new ChatTemplateError('message', `${where}: images are not supported by this model (LFM2.5-1.2B reads text only)`, { param: `${where}.type` });
  }
  throw new ChatTemplateError('message', `${where}.type: unsupported content part type ${shown(p.type)} (only "text" parts are supported)`, { param: `${where}.type` });
}

/**
 * Checks tool definitions and returns them as plain JSON (undefined keys dropped): each `{ type: 'function',
 * function: { name, description?, parameters? } }` or Liquid's `{ name, description?, parameters? }`, or (with
 * `allowStrings`, for renderChat) a string written into the prompt as it is. Names must be unique; schemas may
 * nest at most MAX_JSON_DEPTH levels.
 */
export function checkTools(tools: unknown, opts: { allowStrings?: boolean } = {}): (Record<string, unknown> | string)[] | undefined {
  if (tools === undefined || tools === null) return undefined;
  if (!Array.isArray(tools)) throw new ChatTemplateError('tool', `tools must be an array of tool definitions, got ${describe(tools)}`, { param: 'tools' });
  const names = new Map<string, number>();
  return Array.from(tools).map((t: unknown, i) => {
    const where = `tools[${i}]`;
    const fail = (param: string, what: string): never => {
      throw new ChatTemplateError('tool', `${param}${what}`, { param });
    };
    if (typeof t === 'string' && opts.allowStrings) return t;
    if (!isPlainObject(t)) fail(where, ` must be a tool object { type: 'function', function: { name, ... } }, got ${describe(t)}`);
    const tool = t as Record<string, unknown>;
    const wrapped = tool.function !== undefined || tool.type !== undefined;
    if (wrapped && tool.type !== 'function') fail(`${where}.type`, ` must be 'function', got ${describe(tool.type)}`);
    if (wrapped && !isPlainObject(tool.function)) fail(`${where}.function`, ` must be an object { name, description, parameters }, got ${describe(tool.function)}`);
    const fn = (wrapped ? tool.function : tool) as Record<string, unknown>;
    const at = wrapped ? `${where}.function` : where;
    if (typeof fn.name !== 'string' || fn.name === '') fail(`${at}.name`, ` must be a non-empty string, got ${describe(fn.name)}`);
    const name = fn.name as string;
    const twin = names.get(name);
    if (twin !== undefined) fail(`${at}.name`, `: '${name}' is already the name of tools[${twin}]`);
    names.set(name, i);
    if (fn.description !== undefined && fn.description !== null && typeof fn.description !== 'string') fail(`${at}.description`, ` must be a string, got ${describe(fn.description)}`);
    if (fn.parameters !== undefined && fn.parameters !== null) {
      if (!isPlainObject(fn.parameters)) fail(`${at}.parameters`, ` must be a JSON schema object, got ${describe(fn.parameters)}`);
      if (jsonDepth(fn.parameters) > MAX_JSON_DEPTH) fail(`${at}.parameters`, ` nests deeper than ${MAX_JSON_DEPTH} levels`);
    }
    return jsonClean(tool, where, []) as Record<string, unknown>;
  });
}

/** A copy holding only JSON values: undefined object entries dropped, undefined array items -> null. */
function jsonClean(v: unknown, where: string, stack: object[]): unknown {
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return v;
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new ChatTemplateError('tool', `${where}: ${v} is not a JSON number`, { param: where });
    return v;
  }
  if (Array.isArray(v) || isPlainObject(v)) {
    if (stack.includes(v)) throw new ChatTemplateError('tool', `${where}: circular reference`, { param: where });
    if (stack.length >= MAX_JSON_DEPTH + 2) throw new ChatTemplateError('tool', `${where}: nests deeper than ${MAX_JSON_DEPTH} levels`, { param: where });
    stack.push(v);
    const out = Array.isArray(v)
      ? Array.from(v).map((x, i) => (x === undefined ? null : jsonClean(x, `${where}[${i}]`, stack)))
      : Object.fromEntries(Object.entries(v).filter(([, x]) => x !== undefined).map(([k, x]) => [k, jsonClean(x, `${where}.${k}`, stack)]));
    stack.pop();
    return out;
  }
  throw new ChatTemplateError('tool', `${where}: ${describe(v)} is not a JSON value`, { param: where });
}

/** The tool names declared in (checked) tool definitions. */
export function toolNames(tools: readonly (ToolDefinition | Record<string, unknown> | string)[]): string[] {
  return tools.flatMap((t: unknown) => {
    if (!isPlainObject(t)) return [];
    const fn = isPlainObject(t.function) ? t.function : t;
    return typeof fn.name === 'string' ? [fn.name] : [];
  });
}
