// Tool calls in model output (spec §7.3), part 1 of 3: scanning and parsing (this file), schema validation
// (tool-call-schema.ts), formatting (tool-call-format.ts). tool-calls.ts re-exports all three.
//
// LFM2 / LFM2.5 write tool calls as a Pythonic list between special tokens:
//   <|tool_call_start|>[get_weather(city="Paris", unit='celsius'), other_fn(x=1)]<|tool_call_end|>
// The text between the markers is a Python list of calls with keyword arguments whose values are Python
// literals. This module reads that grammar (plus the JSON form `[{"name": …, "arguments": {…}}]` some prompts
// elicit, and a bare `[fn(...)]` without markers, which llama.cpp's LFM2.5 parser also accepts), never by
// `eval` and never by regex over the whole section: one hand-written recursive-descent scanner, linear in the
// input, nesting capped at MAX_NESTING, that reports the first error with its offset and never throws.
//
// Grammar (whitespace, including newlines, is allowed between all tokens; trailing commas are allowed):
//   section  := '[' [item (',' item)*] ']' | item (',' item)*
//   item     := name '(' [arg (',' arg)*] ')' | dict            (a dict is a JSON-form call)
//   name     := segment ('.' segment)*   segment := [ID_Start _][ID_Continue -]*   (hyphens: OpenAI/MCP names)
//   arg      := segment '=' value | '**' dict                   (positional arguments are an error)
//   value    := string | number | True | False | None | true | false | null | list | tuple | dict | set
// Decisions (each is pinned by a test):
//   - Integers beyond ±2^53 become the nearest double, exactly as JSON.parse does (arguments end up as JSON
//     for the caller anyway). Python int -0 is 0; float -0.0 stays -0.
//   - NaN / inf / nan / Infinity and literals that overflow to ±Infinity (1e999) are errors: arguments must be
//     JSON-compatible. Complex (1j), bytes (b'') and f-strings are errors.
//   - Dict keys: strings as written; numbers, True/False/None become the strings Python's json.dumps would
//     write ("1", "1.5", "true", "null"); list/dict keys are errors. A repeated dict key keeps the last value
//     (Python, JSON.parse); a repeated keyword argument is an error (Python's SyntaxError/TypeError).
//   - Tuples and sets become arrays. `(x)` is just x. Adjacent string literals concatenate ("a" "b").
//   - String escapes follow Python (\n \t \r \\ \' \" \a \b \f \v \ooo \xNN \uXXXX \UXXXXXXXX, backslash-
//     newline), plus JSON's \/ → '/'; an unknown escape keeps its backslash (Python). r'' strings are raw.
//     A raw newline inside a single-quoted string is accepted (lenient).
//   - A section that has any error yields no calls at all (a half-parsed parallel batch is not executed).
//   - Every object we build gets its keys through defineProperty, so "__proto__" is an ordinary key.
// Left out: Python expressions (calls as values, arithmetic, names), comments, \N{...} escapes.

import { isPlainObject, MAX_JSON_DEPTH } from './json.js';
import { TOOL_CALL_END, TOOL_CALL_START } from './markers.js';

export { TOOL_CALL_END, TOOL_CALL_START };

/** Deepest nesting of brackets/parens/braces a section may have; deeper input is an error, not a stack overflow. */
export const MAX_NESTING = MAX_JSON_DEPTH;

export interface ParsedToolCall {
  name: string;
  arguments: Record<string, unknown>;
}

export interface ToolCallSyntaxError {
  /** UTF-16 offset where the problem is: into the parsed text for parseToolCalls, into the answer for extractToolCalls. */
  position: number;
  message: string;
  /** extractToolCalls only: index of the section (in `raw`) the error came from. */
  section?: number;
}

export interface ToolCallParse {
  calls: ParsedToolCall[];
  error?: ToolCallSyntaxError;
}

// ---------------------------------------------------------------------------------------------------------------
// Scanner

/** Internal: thrown inside the scanner, always caught by parseToolCalls. */
class ScanError {
  constructor(readonly position: number, readonly message: string) {}
}

// A name segment: an identifier that may also hold hyphens (OpenAI / MCP tool names).
const SEGMENT = '[\\p{ID_Start}_][\\p{ID_Continue}-]*';
const NAME_SEGMENT = new RegExp(SEGMENT, 'uy');
/** A tool name that call syntax `name(...)` can carry: segments joined by dots. Other names need the JSON form. */
export const CALL_NAME = new RegExp(`^${SEGMENT}(?:\\.${SEGMENT})*$`, 'u');
const IDENT_CONTINUE = /[\p{ID_Continue}]/u;
const WS = /\s/;

function setKey(obj: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

const shown = (s: string, i: number): string => (i >= s.length ? 'end of input' : JSON.stringify(String.fromCodePoint(s.codePointAt(i)!)));

class Scanner {
  pos = 0;
  depth = 0;
  constructor(readonly s: string) {}

  fail(message: string, position = this.pos): never {
    throw new ScanError(position, message);
  }

  skipWs(): void {
    while (this.pos < this.s.length && WS.test(this.s[this.pos])) this.pos++;
  }

  peek(): string {
    return this.s[this.pos] ?? '';
  }

  enter(opener: number): void {
    if (++this.depth > MAX_NESTING) this.fail(`nesting deeper than ${MAX_NESTING} levels`, opener);
  }

  /** After an item inside brackets: ',' (returns false) or the closer (returns true); anything else is an error. */
  afterItem(closer: string, opener: number, what: string): boolean {
    this.skipWs();
    const c = this.peek();
    if (c === ',') {
      this.pos++;
      return false;
    }
    if (c === closer) {
      this.pos++;
      return true;
    }
    if (c === '') this.fail(`'${this.s[opener]}' opened at ${opener} is never closed`, opener);
    if (c === ']' || c === ')' || c === '}') this.fail(`mismatched '${c}': '${this.s[opener]}' opened at ${opener} is still open`);
    return this.fail(`expected ',' or '${closer}' ${what}, found ${shown(this.s, this.pos)}`);
  }

  /** Reads one name segment at pos (no whitespace skipping), or returns undefined. */
  segment(): string | undefined {
    NAME_SEGMENT.lastIndex = this.pos;
    const m = NAME_SEGMENT.exec(this.s);
    if (!m) return undefined;
    this.pos += m[0].length;
    return m[0];
  }

  // --- top level ---------------------------------------------------------------------------------------------

  section(): ParsedToolCall[] {
    this.skipWs();
    if (this.pos >= this.s.length) this.fail('empty tool call: expected [name(arg=value), ...]');
    const calls: ParsedToolCall[] = [];
    if (this.peek() === '[') {
      const opener = this.pos++;
      this.enter(opener);
      this.skipWs();
      if (this.peek() === ']') this.pos++;
      else {
        do {
          this.skipWs();
          if (this.peek() === ']') {
            this.pos++; // trailing comma
            break;
          }
          calls.push(this.item());
        } while (!this.afterItem(']', opener, 'between tool calls'));
      }
      this.depth--;
    } else {
      calls.push(this.item());
      for (this.skipWs(); this.peek() === ','; this.skipWs()) {
        this.pos++;
        this.skipWs();
        if (this.pos >= this.s.length) break; // trailing comma
        calls.push(this.item());
      }
    }
    this.skipWs();
    if (this.pos < this.s.length) this.fail(`unexpected ${shown(this.s, this.pos)} after the tool call list`);
    return calls;
  }

  item(): ParsedToolCall {
    this.skipWs();
    const start = this.pos;
    if (this.peek() === '{') return this.jsonCall(this.value(), start);
    const first = this.segment();
    if (first === undefined) {
      if (this.pos >= this.s.length) this.fail('expected a tool call, found end of input');
      this.fail(`expected a tool call like name(arg=value), found ${shown(this.s, this.pos)}`);
    }
    let name = first;
    while (this.peek() === '.') {
      this.pos++;
      const seg = this.segment();
      if (seg === undefined) this.fail(`expected a name after '.' in '${name}.'`);
      name += '.' + seg;
    }
    this.skipWs();
    if (this.peek() !== '(') {
      if (name === 'True' || name === 'False' || name === 'None') this.fail(`expected a tool call like name(arg=value), found '${name}'`, start);
      this.fail(`expected '(' after tool name '${name}', found ${shown(this.s, this.pos)}`);
    }
    return { name, arguments: this.args(name) };
  }

  args(name: string): Record<string, unknown> {
    const opener = this.pos++;
    this.enter(opener);
    const args: Record<string, unknown> = {};
    const put = (key: string, value: unknown, at: number) => {
      if (Object.prototype.hasOwnProperty.call(args, key)) this.fail(`repeated argument '${key}' in call to '${name}'`, at);
      setKey(args, key, value);
    };
    for (;;) {
      this.skipWs();
      if (this.peek() === ')') {
        this.pos++;
        break;
      }
      if (this.pos >= this.s.length) this.fail(`'(' of call '${name}' opened at ${opener} is never closed`, opener);
      const at = this.pos;
      if (this.s.startsWith('**', this.pos)) {
        this.pos += 2;
        this.skipWs();
        if (this.peek() !== '{') this.fail(`'**' must be followed by a dict literal in call to '${name}'`);
        const d = this.value();
        if (!isPlainObject(d)) this.fail(`'**' must be followed by a dict literal in call to '${name}'`, at);
        for (const k of Object.keys(d)) put(k, d[k], at);
      } else {
        const key = this.segment();
        if (key === undefined) this.fail(`positional arguments are not supported in call to '${name}': write name=value`);
        this.skipWs();
        const c = this.peek();
        if (c === '=' && this.s[this.pos + 1] !== '=') {
          this.pos++;
          put(key, this.value(), at);
        } else if (c === ',' || c === ')' || c === '') {
          this.fail(`positional argument '${key}' is not supported in call to '${name}': write name=value`, at);
        } else if (c === '"' || c === "'" || c === '(' || c === '[' || c === '{' || c === '.') {
          this.fail(`positional arguments are not supported in call to '${name}': write name=value`, at);
        } else {
          this.fail(`expected '=' after argument name '${key}' in call to '${name}', found ${shown(this.s, this.pos)}`);
        }
      }
      if (this.afterItem(')', opener, `between arguments of '${name}'`)) break;
    }
    this.depth--;
    return args;
  }

  /** Interprets a parsed dict as a JSON-form call: {"name", "arguments"|"parameters"} or {"function": {...}}. */
  jsonCall(v: unknown, at: number): ParsedToolCall {
    let d = v as Record<string, unknown>;
    if (!isPlainObject(d)) this.fail('expected a tool call object', at);
    if (d.name === undefined && isPlainObject(d.function)) d = d.function;
    if (typeof d.name !== 'string' || d.name === '') this.fail('JSON-form tool call needs a non-empty string "name"', at);
    let args: unknown = d.arguments !== undefined ? d.arguments : d.parameters;
    if (typeof args === 'string') {
      const inner = new Scanner(args);
      try {
        inner.skipWs();
        args = inner.s.trim() === '' ? {} : inner.value();
        inner.skipWs();
        if (inner.pos < inner.s.length) inner.fail('unexpected text after the arguments object');
      } catch (e) {
        if (e instanceof ScanError) this.fail(`"arguments" string of '${d.name}' is not a valid object (${e.message} at ${e.position})`, at);
        throw e;
      }
    }
    if (args === undefined || args === null) args = {};
    if (!isPlainObject(args)) this.fail(`"arguments" of '${d.name}' must be an object`, at);
    return { name: d.name, arguments: args };
  }

  // --- values ------------------------------------------------------------------------------------------------

  value(): unknown {
    this.skipWs();
    const start = this.pos;
    const c = this.peek();
    if (c === '') this.fail('expected a value, found end of input');
    if (c === '"' || c === "'") return this.strings(false);
    if (c === '[') return this.list(']');
    if (c === '(') return this.tuple();
    if (c === '{') return this.dict();
    if (c === '-' || c === '+') {
      this.pos++;
      this.skipWs();
      const d = this.peek();
      if (!(d >= '0' && d <= '9') && !(d === '.' && this.s[this.pos + 1] >= '0' && this.s[this.pos + 1] <= '9')) {
        const w = this.segment();
        if (w !== undefined && /^(inf|infinity|nan)$/i.test(w)) this.fail(`non-finite number '${c}${w}' is not supported (arguments must be JSON-compatible)`, start);
        this.fail(`expected a number after '${c}'`, start);
      }
      const n = this.number(start);
      return c === '-' ? (n.isInt ? -n.value || 0 : -n.value) : n.value; // int -0 is 0, float -0.0 is -0
    }
    if ((c >= '0' && c <= '9') || c === '.') return this.number(start).value;
    const w = this.segment();
    if (w === undefined) return this.fail(`expected a value, found ${shown(this.s, this.pos)}`);
    const q = this.peek();
    if (q === '"' || q === "'") {
      const p = w.toLowerCase();
      if (p === 'r' || p === 'u') {
        this.pos = start + w.length;
        return this.strings(p === 'r');
      }
      if (/^(b|f|rb|br|rf|fr)$/.test(p)) this.fail(`${p.includes('b') ? 'bytes' : 'f-string'} literals are not supported`, start);
    }
    switch (w) {
      case 'True':
      case 'true':
        return true;
      case 'False':
      case 'false':
        return false;
      case 'None':
      case 'null':
        return null;
    }
    if (/^(inf|infinity|nan)$/i.test(w)) this.fail(`non-finite number '${w}' is not supported (arguments must be JSON-compatible)`, start);
    this.skipWs();
    if (this.peek() === '(') this.fail(`calls are not allowed as argument values ('${w}(...)')`, start);
    return this.fail(`unexpected name '${w}' (strings must be quoted)`, start);
  }

  list(closer: string): unknown[] {
    const opener = this.pos++;
    this.enter(opener);
    const out: unknown[] = [];
    for (;;) {
      this.skipWs();
      if (this.peek() === closer) {
        this.pos++;
        break;
      }
      out.push(this.value());
      if (this.afterItem(closer, opener, 'in list')) break;
    }
    this.depth--;
    return out;
  }

  /** `()` is [], `(x)` is x, `(x,)` and `(x, y)` are tuples → arrays. */
  tuple(): unknown {
    const opener = this.pos++;
    this.skipWs();
    if (this.peek() === ')') {
      this.pos++;
      return [];
    }
    this.enter(opener);
    const first = this.value();
    this.skipWs();
    const out = [first];
    if (this.peek() === ')') {
      this.pos++;
      this.depth--;
      return first;
    }
    if (!this.afterItem(')', opener, 'in tuple')) {
      for (;;) {
        this.skipWs();
        if (this.peek() === ')') {
          this.pos++;
          break;
        }
        out.push(this.value());
        if (this.afterItem(')', opener, 'in tuple')) break;
      }
    }
    this.depth--;
    return out;
  }

  dict(): unknown {
    const opener = this.pos++;
    this.enter(opener);
    const obj: Record<string, unknown> = {};
    let set: unknown[] | undefined; // `{1, 2}` is a set → array
    for (let first = true; ; first = false) {
      this.skipWs();
      if (this.peek() === '}') {
        this.pos++;
        break;
      }
      const at = this.pos;
      const k = this.value();
      this.skipWs();
      if (first && this.peek() !== ':') set = [];
      if (set !== undefined) {
        set.push(k);
      } else {
        if (this.peek() !== ':') this.fail(`expected ':' after dict key, found ${shown(this.s, this.pos)}`);
        this.pos++;
        setKey(obj, this.dictKey(k, at), this.value());
      }
      if (this.afterItem('}', opener, 'in dict')) break;
    }
    this.depth--;
    return set ?? obj;
  }

  /** Python dict key → JSON object key, the way json.dumps converts it. */
  dictKey(k: unknown, at: number): string {
    if (typeof k === 'string') return k;
    if (typeof k === 'number') return String(k);
    if (k === true) return 'true';
    if (k === false) return 'false';
    if (k === null) return 'null';
    return this.fail('dict keys must be strings, numbers, True/False or None', at);
  }

  number(start: number): { value: number; isInt: boolean } {
    const s = this.s;
    const isDec = (c: string) => c >= '0' && c <= '9';
    // digits with single underscores between them (Python 3.6+); returns the digits without underscores
    const digits = (ok: (c: string) => boolean): string => {
      let out = '';
      while (this.pos < s.length && ok(s[this.pos])) {
        out += s[this.pos++];
        if (s[this.pos] === '_' && ok(s[this.pos + 1] ?? '')) this.pos++;
      }
      return out;
    };
    let value: number;
    let isInt = true;
    const radix = s[this.pos] === '0' ? ({ x: 16, o: 8, b: 2 } as Record<string, number>)[(s[this.pos + 1] ?? '').toLowerCase()] : undefined;
    if (radix !== undefined) {
      this.pos += 2;
      if (s[this.pos] === '_') this.pos++;
      const ok = radix === 16 ? (c: string) => /[0-9a-fA-F]/.test(c) : (c: string) => c >= '0' && c < String(radix);
      const d = digits(ok);
      if (d === '') this.fail('invalid number', start);
      value = Number(BigInt((radix === 16 ? '0x' : radix === 8 ? '0o' : '0b') + d));
    } else {
      let text = digits(isDec);
      if (s[this.pos] === '.') {
        this.pos++;
        isInt = false;
        const frac = digits(isDec);
        if (text === '' && frac === '') this.fail('invalid number', start);
        text += '.' + frac;
      }
      if (s[this.pos] === 'e' || s[this.pos] === 'E') {
        const save = this.pos++;
        let sign = '';
        if (s[this.pos] === '+' || s[this.pos] === '-') sign = s[this.pos++];
        const exp = digits(isDec);
        if (exp === '') this.fail('invalid exponent in number', save);
        text += 'e' + sign + exp;
        isInt = false;
      }
      value = Number(text === '' || text === '.' ? NaN : text);
    }
    const c = s[this.pos] ?? '';
    if (c === 'j' || c === 'J') this.fail('complex numbers are not supported', start);
    if (c !== '' && IDENT_CONTINUE.test(c)) this.fail(`invalid number: unexpected ${shown(s, this.pos)}`, start);
    if (!Number.isFinite(value)) this.fail('number out of range (arguments must be finite)', start);
    return { value, isInt };
  }

  /** One or more adjacent string literals at pos, concatenated. */
  strings(raw: boolean): string {
    let out = this.string(raw);
    for (;;) {
      const save = this.pos;
      this.skipWs();
      const c = this.peek();
      if (c === '"' || c === "'") out += this.string(false);
      else if ((c === 'r' || c === 'R' || c === 'u' || c === 'U') && (this.s[this.pos + 1] === '"' || this.s[this.pos + 1] === "'")) {
        this.pos++;
        out += this.string(c === 'r' || c === 'R');
      } else {
        this.pos = save;
        return out;
      }
    }
  }

  string(raw: boolean): string {
    const s = this.s;
    const open = this.pos;
    const q = s[open];
    const triple = s[open + 1] === q && s[open + 2] === q;
    this.pos += triple ? 3 : 1;
    let out = '';
    let runStart = this.pos; // copy runs of plain characters in one slice
    for (;;) {
      if (this.pos >= s.length) this.fail(`unclosed string (opened at ${open})`, open);
      const c = s[this.pos];
      if (c === q && (!triple || (s[this.pos + 1] === q && s[this.pos + 2] === q))) {
        out += s.slice(runStart, this.pos);
        this.pos += triple ? 3 : 1;
        return out;
      }
      if (c !== '\\') {
        this.pos++;
        continue;
      }
      out += s.slice(runStart, this.pos);
      if (this.pos + 1 >= s.length) this.fail(`unclosed string (opened at ${open})`, open);
      if (raw) {
        out += s.slice(this.pos, this.pos + 2); // r'\'' keeps both characters
        this.pos += 2;
      } else {
        out += this.escape();
      }
      runStart = this.pos;
    }
  }

  /** One escape sequence at pos (which is the backslash); returns its text. */
  escape(): string {
    const s = this.s;
    const at = this.pos;
    const e = s[at + 1];
    this.pos += 2;
    const hex = (n: number, what: string): number => {
      const h = s.slice(this.pos, this.pos + n);
      if (h.length !== n || !/^[0-9a-fA-F]+$/.test(h)) this.fail(`invalid \\${what} escape: expected ${n} hex digits`, at);
      this.pos += n;
      return parseInt(h, 16);
    };
    switch (e) {
      case '\n':
        return '';
      case '\r':
        if (s[this.pos] === '\n') this.pos++;
        return '';
      case '\\':
      case "'":
      case '"':
        return e;
      case '/':
        return '/';
      case 'a':
        return '\x07';
      case 'b':
        return '\b';
      case 'f':
        return '\f';
      case 'n':
        return '\n';
      case 'r':
        return '\r';
      case 't':
        return '\t';
      case 'v':
        return '\v';
      case 'x':
        return String.fromCharCode(hex(2, 'x'));
      case 'u':
        return String.fromCharCode(hex(4, 'u'));
      case 'U': {
        const cp = hex(8, 'U');
        if (cp > 0x10ffff) this.fail('invalid \\U escape: code point above U+10FFFF', at);
        return String.fromCodePoint(cp);
      }
      case 'N':
        return this.fail('\\N{...} escapes are not supported', at);
    }
    if (e >= '0' && e <= '7') {
      let v = e.charCodeAt(0) - 48;
      for (let i = 0; i < 2 && s[this.pos] >= '0' && s[this.pos] <= '7'; i++) v = v * 8 + s.charCodeAt(this.pos++) - 48;
      return String.fromCharCode(v);
    }
    return '\\' + e; // unknown escape: Python keeps the backslash
  }
}

/**
 * Parses the text of one tool-call section (what the model wrote between the markers, or a bare `[fn(...)]`).
 * Never throws. On error, `calls` is empty and `error` says where and why.
 */
export function parseToolCalls(text: string): ToolCallParse {
  const sc = new Scanner(text);
  try {
    return { calls: sc.section() };
  } catch (e) {
    if (e instanceof ScanError) return { calls: [], error: { position: e.position, message: e.message } };
    throw e;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Sections in a whole answer

export interface ToolCallExtraction {
  /** The answer with every section (markers included) cut out; nothing else changed (no trimming). */
  text: string;
  /** Calls from the sections that parsed cleanly, in order. */
  calls: ParsedToolCall[];
  /** One per malformed or unterminated section; `position` is an offset into the answer. */
  errors: ToolCallSyntaxError[];
  /** The raw text of every section, between the markers (an unterminated one runs to the end). */
  raw: string[];
}

/**
 * Finds every `<|tool_call_start|>…<|tool_call_end|>` section in an answer and parses it. A start marker with
 * no end marker swallows the rest of the answer and is reported as "tool call not closed" (its calls are not
 * returned). A stray end marker outside a section is left in the text.
 * With `{ bare: true }`, an answer with no markers that is, trimmed, exactly a `[...]` list of calls is read as
 * one section (llama.cpp's LFM2.5 parser does this); the streaming splitter never does.
 */
export function extractToolCalls(answer: string, opts: { bare?: boolean } = {}): ToolCallExtraction {
  const out: ToolCallExtraction = { text: '', calls: [], errors: [], raw: [] };
  let i = 0;
  for (;;) {
    const s = answer.indexOf(TOOL_CALL_START, i);
    if (s < 0) {
      out.text += answer.slice(i);
      break;
    }
    out.text += answer.slice(i, s);
    const body = s + TOOL_CALL_START.length;
    const e = answer.indexOf(TOOL_CALL_END, body);
    const section = out.raw.length;
    if (e < 0) {
      out.raw.push(answer.slice(body));
      out.errors.push({ position: s, message: 'tool call not closed', section });
      break;
    }
    const raw = answer.slice(body, e);
    out.raw.push(raw);
    const r = parseToolCalls(raw);
    if (r.error) out.errors.push({ position: body + r.error.position, message: r.error.message, section });
    else for (const c of r.calls) out.calls.push(c);
    i = e + TOOL_CALL_END.length;
  }
  if (opts.bare && out.raw.length === 0) {
    const t = answer.trim();
    if (t.startsWith('[') && t.endsWith(']')) {
      const r = parseToolCalls(t);
      if (!r.error && r.calls.length > 0) return { text: '', calls: r.calls, errors: [], raw: [t] };
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Streaming splitter

export interface ToolCallStream {
  /** Feeds generated text; returns the answer text safe to show now and any sections completed by this chunk. */
  push(text: string): { text: string; sections: string[] };
  /** Flushes: held-back text, and the body of a section still open at the end (`unterminated`). */
  end(): { text: string; sections: string[]; unterminated?: string };
}

/**
 * Splits streamed output the way extractToolCalls splits a whole answer: concatenating every `text` gives
 * extractToolCalls(answer).text, and `sections` (+ `unterminated`) give its `raw`. Text is passed through at
 * once, except a tail that could be the start of `<|tool_call_start|>` (held until the next chunk decides it).
 */
export function createToolCallStream(): ToolCallStream {
  let buf = '';
  let inSection = false;
  let searchFrom = 0; // inside a section: where the end marker could first start in buf
  const pump = (): { text: string; sections: string[] } => {
    let text = '';
    const sections: string[] = [];
    for (;;) {
      if (inSection) {
        const e = buf.indexOf(TOOL_CALL_END, searchFrom);
        if (e < 0) {
          searchFrom = Math.max(0, buf.length - TOOL_CALL_END.length + 1);
          break;
        }
        sections.push(buf.slice(0, e));
        buf = buf.slice(e + TOOL_CALL_END.length);
        inSection = false;
      } else {
        const s = buf.indexOf(TOOL_CALL_START);
        if (s >= 0) {
          text += buf.slice(0, s);
          buf = buf.slice(s + TOOL_CALL_START.length);
          inSection = true;
          searchFrom = 0;
          continue;
        }
        // hold back the longest tail that is a proper prefix of the start marker
        let hold = Math.min(buf.length, TOOL_CALL_START.length - 1);
        while (hold > 0 && !TOOL_CALL_START.startsWith(buf.slice(buf.length - hold))) hold--;
        text += buf.slice(0, buf.length - hold);
        buf = buf.slice(buf.length - hold);
        break;
      }
    }
    return { text, sections };
  };
  return {
    push(chunk: string) {
      buf += chunk;
      return pump();
    },
    end() {
      const r: { text: string; sections: string[]; unterminated?: string } = pump();
      if (inSection) r.unterminated = buf;
      else r.text += buf;
      buf = '';
      inSection = false;
      searchFrom = 0;
      return r;
    },
  };
}

