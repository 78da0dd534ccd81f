// Tool calls, part 3 of 3: writing calls as LFM2's Python-literal text (the inverse of parseToolCalls), and the
// OpenAI `tool_calls` shape. The one writer of call text: the chat template writes assistant history with it too.

import { CALL_NAME, type ParsedToolCall } from './tool-call-parse.js';

const PY_KEYWORDS = new Set(
  'False None True and as assert async await break class continue def del elif else except finally for from global if import in is lambda nonlocal not or pass raise return try while with yield'.split(' '),
);
const KWARG_NAME = /^[\p{ID_Start}_][\p{ID_Continue}]*$/u;

/** A Python string literal that parseToolCalls (and Python) read back as exactly `s`, code unit for code unit. */
function quoteString(s: string, q: '"' | "'"): string {
  let out = q;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    const u = s.charCodeAt(i);
    if (c === '\\') out += '\\\\';
    else if (c === q) out += '\\' + q;
    else if (c === '\n') out += '\\n';
    else if (c === '\r') out += '\\r';
    else if (c === '\t') out += '\\t';
    else if (u < 0x20 || (u >= 0x7f && u <= 0x9f)) out += '\\x' + u.toString(16).padStart(2, '0');
    else if (u === 0x2028 || u === 0x2029) out += '\\u' + u.toString(16);
    else if (u >= 0xd800 && u <= 0xdbff && i + 1 < s.length && s.charCodeAt(i + 1) >= 0xdc00 && s.charCodeAt(i + 1) <= 0xdfff) {
      out += c + s[++i]; // a valid pair, written as is
    } else if (u >= 0xd800 && u <= 0xdfff) out += '\\u' + u.toString(16); // lone surrogate
    else out += c;
  }
  return out + q;
}

function formatValue(v: unknown, q: '"' | "'", seen: Set<object>): string {
  switch (typeof v) {
    case 'string':
      return quoteString(v, q);
    case 'boolean':
      return v ? 'True' : 'False';
    case 'number':
      if (!Number.isFinite(v)) return 'None'; // as JSON.stringify
      return Object.is(v, -0) ? '-0.0' : String(v);
    case 'bigint':
      return v.toString();
    case 'object':
      break;
    default:
      return 'None'; // undefined, function, symbol
  }
  if (v === null) return 'None';
  if (seen.has(v)) throw new TypeError('formatToolCall: cyclic argument value');
  seen.add(v);
  let out: string;
  if (Array.isArray(v)) {
    out = '[' + v.map((x) => formatValue(x, q, seen)).join(', ') + ']';
  } else if (typeof (v as { toJSON?: unknown }).toJSON === 'function') {
    out = formatValue((v as { toJSON(): unknown }).toJSON(), q, seen);
  } else {
    out = '{' + entries(v as Record<string, unknown>).map(([k, x]) => `${quoteString(k, q)}: ${formatValue(x, q, seen)}`).join(', ') + '}';
  }
  seen.delete(v);
  return out;
}

/** Own enumerable entries JSON.stringify would keep (undefined, functions and symbols dropped). */
const entries = (o: Record<string, unknown>): [string, unknown][] =>
  Object.keys(o)
    .map((k): [string, unknown] => [k, o[k]])
    .filter(([, x]) => x !== undefined && typeof x !== 'function' && typeof x !== 'symbol');

/**
 * Prints a call as a Python literal call: `name(a="x", b=[1, 2], c={"k": None})`. parseToolCalls reads the
 * result back as exactly `call`. Argument names that are not Python identifiers (or are keywords) go in a
 * `**{...}` group in their place, so order and identity survive. A name that call syntax cannot carry (e.g.
 * "my tool") is printed in the JSON form `{"name": ..., "arguments": {...}}`, which the parser also reads.
 * Values follow JSON.stringify: NaN/±Infinity → None, undefined/function properties dropped, toJSON honoured;
 * bigint prints its digits; -0 prints as -0.0. Throws TypeError on cyclic values (as JSON.stringify does).
 * The one call that does not round-trip is an empty name, which the parser rejects.
 */
export function formatToolCall(call: ParsedToolCall, opts: { quote?: '"' | "'" } = {}): string {
  const q = opts.quote ?? '"';
  const seen = new Set<object>();
  if (!CALL_NAME.test(call.name)) {
    return `{${quoteString('name', q)}: ${quoteString(call.name, q)}, ${quoteString('arguments', q)}: ${formatValue(call.arguments ?? {}, q, seen)}}`;
  }
  const parts: string[] = [];
  let splat: string[] = [];
  const flush = () => {
    if (splat.length) parts.push(`**{${splat.join(', ')}}`);
    splat = [];
  };
  for (const [k, x] of entries(call.arguments ?? {})) {
    if (KWARG_NAME.test(k) && !PY_KEYWORDS.has(k)) {
      flush();
      parts.push(`${k}=${formatValue(x, q, seen)}`);
    } else {
      splat.push(`${quoteString(k, q)}: ${formatValue(x, q, seen)}`);
    }
  }
  flush();
  return `${call.name}(${parts.join(', ')})`;
}

/** `[a(...), b(...)]`: the whole section body, as the model would write it. */
export function formatToolCalls(calls: readonly ParsedToolCall[], opts: { quote?: '"' | "'" } = {}): string {
  return '[' + calls.map((c) => formatToolCall(c, opts)).join(', ') + ']';
}

// ---------------------------------------------------------------------------------------------------------------
// OpenAI shape

export interface OpenAiToolCall {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
}

/** OpenAI `tool_calls` entries; ids are `${idPrefix}${index}`, so the same calls always get the same ids. */
export function toOpenAiToolCalls(calls: readonly ParsedToolCall[], idPrefix = 'call_'): OpenAiToolCall[] {
  return calls.map((c, i) => ({ id: `${idPrefix}${i}`, type: 'function', function: { name: c.name, arguments: JSON.stringify(c.arguments) } }));
}
