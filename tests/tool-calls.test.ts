import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  createToolCallStream,
  extractToolCalls,
  formatToolCall,
  formatToolCalls,
  MAX_NESTING,
  parseToolCalls,
  TOOL_CALL_END,
  TOOL_CALL_START,
  toOpenAiToolCalls,
  validateToolCall,
  type ParsedToolCall,
  type ToolSpec,
} from '../src/chat/tool-calls.js';

const S = TOOL_CALL_START;
const E = TOOL_CALL_END;

/** Parses and insists on success. */
const ok = (text: string): ParsedToolCall[] => {
  const r = parseToolCalls(text);
  expect(r.error, `parse error for ${JSON.stringify(text)}`).toBeUndefined();
  return r.calls;
};
/** Parses and insists on an error; returns it. */
const bad = (text: string) => {
  const r = parseToolCalls(text);
  expect(r.error, `expected an error for ${JSON.stringify(text)}`).toBeDefined();
  expect(r.calls).toEqual([]);
  return r.error!;
};
const args1 = (text: string) => ok(text)[0].arguments;

/**
 * `s` behind a view that counts the parser's reads: one per character read by index, one per method call plus
 * the length of any string it returns (so `s.slice(pos)` in a loop counts as the quadratic work it is). The
 * parser sees a string in every way it uses one (index, length, methods, conversion by RegExp.exec).
 */
function countingText(s: string): { text: string; reads: () => number } {
  let reads = 0;
  const view = new Proxy(Object(s) as object, {
    get(target, key) {
      if (typeof key === 'string' && /^\d+$/.test(key)) {
        reads++;
        return s[Number(key)];
      }
      if (key === 'length') return s.length;
      if (key === Symbol.toPrimitive) return () => (reads++, s);
      const method: unknown = (String.prototype as unknown as Record<PropertyKey, unknown>)[key];
      if (typeof method === 'function') {
        return (...args: unknown[]) => {
          const r: unknown = method.apply(s, args);
          reads += 1 + (typeof r === 'string' ? r.length : 0);
          return r;
        };
      }
      return Reflect.get(target, key);
    },
  });
  return { text: view as unknown as string, reads: () => reads };
}

describe('parseToolCalls: the Pythonic form', () => {
  it('reads the spec example: two parallel calls', () => {
    expect(ok(`[get_weather(city="Paris", unit="celsius"), other_fn(x=1)]`)).toEqual([
      { name: 'get_weather', arguments: { city: 'Paris', unit: 'celsius' } },
      { name: 'other_fn', arguments: { x: 1 } },
    ]);
  });

  it('accepts single quotes (the LFM2.5 8B template style) and mixes of both', () => {
    expect(args1(`[f(a='x', b="y", c='say "hi"', d="it's")]`)).toEqual({ a: 'x', b: 'y', c: 'say "hi"', d: "it's" });
  });

  it('reads escapes: quotes, backslash, \\n \\t \\r, \\uXXXX, \\xNN, \\UXXXXXXXX, octal, line continuation', () => {
    expect(args1(String.raw`f(a="q\"q", b='q\'q', c="back\\slash", d="l1\nl2\tt\rr", e="\u00e9\u4e2d", f="\x41\x7e", g="\U0001F600", h="\0\101", i="a\
b")`)).toEqual({ a: 'q"q', b: "q'q", c: 'back\\slash', d: 'l1\nl2\tt\rr', e: 'é中', f: 'A~', g: '😀', h: '\0A', i: 'ab' });
  });

  it('keeps an unknown escape as Python does (backslash stays), maps JSON \\/ to /, joins surrogate pairs', () => {
    expect(args1(String.raw`f(re="\d+\s", url="a\/b", emoji="\ud83d\ude00")`)).toEqual({ re: '\\d+\\s', url: 'a/b', emoji: '😀' });
  });

  it('reads triple-quoted, raw and adjacent string literals', () => {
    expect(args1(`f(a="""line1\nhe said "hi" """, b='''it's''', c=r"C:\\dir\\n", d="ab" 'cd' "ef", e=u"u")`)).toEqual({
      a: 'line1\nhe said "hi" ',
      b: "it's",
      c: 'C:\\dir\\n',
      d: 'abcdef',
      e: 'u',
    });
  });

  it('keeps commas, brackets, parens, equals signs and markers-like text inside strings', () => {
    expect(ok(`[f(q="a, b], c) = [d(", r='{x: (1, 2]}'), g(s=")]")]`)).toEqual([
      { name: 'f', arguments: { q: 'a, b], c) = [d(', r: '{x: (1, 2]}' } },
      { name: 'g', arguments: { s: ')]' } },
    ]);
  });

  it('reads unicode in strings and names', () => {
    expect(ok(`[traduire(texte="héllo wörld 中文 😀 \u2028", clé="ü")]`)).toEqual([{ name: 'traduire', arguments: { texte: 'héllo wörld 中文 😀 \u2028', clé: 'ü' } }]);
  });

  it('reads True/False/None and JSON true/false/null', () => {
    expect(args1(`f(a=True, b=False, c=None, d=true, e=false, f=null)`)).toEqual({ a: true, b: false, c: null, d: true, e: false, f: null });
  });

  it('reads ints, floats, negatives, exponents, leading-dot floats, underscores and 0x/0o/0b', () => {
    expect(args1(`f(a=0, b=42, c=-7, d=2.5, e=-2.5, f=1e-3, g=1E6, h=.5, i=-.25, j=3., k=1_000_000, l=0x1F, m=0o17, n=0b101, o=+3, p=- 4)`)).toEqual({
      a: 0, b: 42, c: -7, d: 2.5, e: -2.5, f: 0.001, g: 1e6, h: 0.5, i: -0.25, j: 3, k: 1_000_000, l: 31, m: 15, n: 5, o: 3, p: -4,
    });
  });

  it('reads nested lists, tuples, dicts and sets, arbitrarily deep', () => {
    expect(args1(`f(a=[1, [2, [3, []]]], b=(1, "x"), c=(), d=(5,), e=(6), f={"k": {"k2": [{"k3": None}]}}, g={}, h={1, 2})`)).toEqual({
      a: [1, [2, [3, []]]],
      b: [1, 'x'],
      c: [],
      d: [5],
      e: 6,
      f: { k: { k2: [{ k3: null }] } },
      g: {},
      h: [1, 2],
    });
  });

  it('reads empty argument lists, an empty list, trailing commas, and a single call without brackets', () => {
    expect(ok(`[f()]`)).toEqual([{ name: 'f', arguments: {} }]);
    expect(ok(`[]`)).toEqual([]);
    expect(ok(`[f(a=1,), g(),]`)).toEqual([
      { name: 'f', arguments: { a: 1 } },
      { name: 'g', arguments: {} },
    ]);
    expect(ok(`f(a=[1,2,],b={"x":1,})`)).toEqual([{ name: 'f', arguments: { a: [1, 2], b: { x: 1 } } }]);
    expect(ok(`f(), g(x=1)`)).toEqual([
      { name: 'f', arguments: {} },
      { name: 'g', arguments: { x: 1 } },
    ]);
  });

  it('allows whitespace and newlines between all tokens', () => {
    const text = `\n  [\n\tget_weather (\n    city = "Paris" ,\n    days = [ 1 ,\n 2 ] ,\n    opts = { "a" :\n True }\n  ) ,\n  ns . x ( )\n]\n`;
    expect(ok(text.replace('ns . x', 'ns.x'))).toEqual([
      { name: 'get_weather', arguments: { city: 'Paris', days: [1, 2], opts: { a: true } } },
      { name: 'ns.x', arguments: {} },
    ]);
  });

  it('allows dotted and hyphenated tool names and hyphenated argument names', () => {
    expect(ok(`[tools.weather.get(city="x"), get-weather(max-results=3)]`)).toEqual([
      { name: 'tools.weather.get', arguments: { city: 'x' } },
      { name: 'get-weather', arguments: { 'max-results': 3 } },
    ]);
  });

  it('merges **{...} groups (how formatToolCall writes non-identifier argument names)', () => {
    expect(args1(`f(a=1, **{"b c": 2, "class": 3}, d=4)`)).toEqual({ a: 1, 'b c': 2, class: 3, d: 4 });
  });

  it('treats "__proto__" as an ordinary key, never as a prototype', () => {
    const a = args1(`f(__proto__={"polluted": 1}, x={"__proto__": 2})`);
    expect(Object.keys(a)).toEqual(['__proto__', 'x']);
    expect(Object.getPrototypeOf(a)).toBe(Object.prototype);
    expect((a.x as Record<string, unknown>)['__proto__']).toBe(2);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('parseToolCalls: decisions', () => {
  it('integers beyond 2^53 become the nearest double, like JSON.parse', () => {
    expect(args1(`f(a=9007199254740993, b=123456789012345678901234567890, c=0xFFFFFFFFFFFFFFFF)`)).toEqual({
      a: JSON.parse('9007199254740993'),
      b: 1.2345678901234568e29,
      c: 18446744073709552000,
    });
  });

  it('int -0 is 0 (Python), float -0.0 stays -0', () => {
    const a = args1(`f(i=-0, x=-0.0, y=-0e0)`);
    expect(Object.is(a.i, 0)).toBe(true);
    expect(Object.is(a.x, -0)).toBe(true);
    expect(Object.is(a.y, -0)).toBe(true);
  });

  it('NaN, inf, and literals that overflow to Infinity are errors (arguments must be JSON-compatible)', () => {
    for (const v of ['nan', 'NaN', 'inf', '-inf', 'Infinity', '-Infinity', '1e999', '-1e400']) {
      expect(bad(`f(a=${v})`).message).toMatch(/non-finite|out of range/);
    }
  });

  it('dict keys: numbers and True/False/None become the strings json.dumps writes; lists/dicts are errors', () => {
    expect(args1(`f(d={1: "a", 1.5: "b", -2: "c", True: "t", None: "n", "s": "s"})`).d).toEqual({ '1': 'a', '1.5': 'b', '-2': 'c', true: 't', null: 'n', s: 's' });
    expect(bad(`f(d={[1]: 2})`).message).toMatch(/dict keys must be/);
    expect(bad(`f(d={(1, 2): 2})`).message).toMatch(/dict keys must be/);
  });

  it('a repeated dict key keeps the last value; a repeated keyword argument is an error', () => {
    expect(args1(`f(d={"a": 1, "a": 2})`).d).toEqual({ a: 2 });
    expect(bad(`f(a=1, a=2)`)).toEqual({ position: 7, message: "repeated argument 'a' in call to 'f'" });
    expect(bad(`f(a=1, **{"a": 2})`).message).toMatch(/repeated argument 'a'/);
  });

  it('complex numbers, bytes, f-strings, \\N{} escapes, bare names and nested calls are errors', () => {
    expect(bad(`f(a=1j)`).message).toMatch(/complex/);
    expect(bad(`f(a=b"x")`).message).toMatch(/bytes/);
    expect(bad(`f(a=f"x")`).message).toMatch(/f-string/);
    expect(bad(String.raw`f(a="\N{BULLET}")`).message).toMatch(/\\N/);
    expect(bad(`f(a=Paris)`).message).toMatch(/unexpected name 'Paris' \(strings must be quoted\)/);
    expect(bad(`f(a=g(x=1))`).message).toMatch(/calls are not allowed/);
  });
});

describe('parseToolCalls: the JSON form', () => {
  it('reads a list of {"name", "arguments"} objects, a single object, and arguments given as a JSON string', () => {
    expect(ok(`[{"name": "f", "arguments": {"a": 1, "b": [true, null]}}, {"name": "g", "arguments": "{\\"x\\": \\"y\\"}"}]`)).toEqual([
      { name: 'f', arguments: { a: 1, b: [true, null] } },
      { name: 'g', arguments: { x: 'y' } },
    ]);
    expect(ok(`{"name": "ns.f", "arguments": {}}`)).toEqual([{ name: 'ns.f', arguments: {} }]);
  });

  it('accepts "parameters", the OpenAI {"function": {...}} wrapper, and missing/null arguments', () => {
    expect(ok(`[{"name": "f", "parameters": {"a": 1}}, {"type": "function", "function": {"name": "g", "arguments": "{}"}}, {"name": "h"}, {"name": "i", "arguments": null}]`)).toEqual([
      { name: 'f', arguments: { a: 1 } },
      { name: 'g', arguments: {} },
      { name: 'h', arguments: {} },
      { name: 'i', arguments: {} },
    ]);
  });

  it('mixes with Pythonic calls in one list', () => {
    expect(ok(`[f(a=1), {"name": "g", "arguments": {"b": 2}}]`).map((c) => c.name)).toEqual(['f', 'g']);
  });

  it('reports a missing name, non-object arguments and a bad arguments string', () => {
    expect(bad(`[{"arguments": {}}]`).message).toMatch(/needs a non-empty string "name"/);
    expect(bad(`[{"name": "f", "arguments": [1]}]`).message).toMatch(/must be an object/);
    expect(bad(`[{"name": "f", "arguments": "{\\"a\\": }"}]`).message).toMatch(/"arguments" string of 'f' is not a valid object/);
  });
});

describe('parseToolCalls: malformed input → a clear error, never a throw', () => {
  const cases: [string, number, RegExp][] = [
    [``, 0, /empty tool call/],
    [`   \n `, 5, /empty tool call/],
    [`[f(a="x)]`, 5, /unclosed string \(opened at 5\)/],
    [`[f(a='x\\')]`, 5, /unclosed string/],
    [`[f(a="""x")]`, 5, /unclosed string/],
    [`[f(a=1)`, 0, /'\[' opened at 0 is never closed/],
    [`[f(a=1`, 2, /'\(' of call 'f' opened at 2 is never closed|'\(' opened at 2 is never closed/],
    [`[f(a=[1, 2)]`, 10, /mismatched '\)': '\[' opened at 5 is still open/],
    [`[f(a=1]`, 6, /mismatched '\]': '\(' opened at 2 is still open/],
    [`[f(a=1))]`, 7, /mismatched '\)': '\[' opened at 0 is still open/],
    [`[f("Paris")]`, 3, /positional arguments are not supported in call to 'f': write name=value/],
    [`[f(city)]`, 3, /positional argument 'city' is not supported/],
    [`[f(1, b=2)]`, 3, /positional arguments are not supported/],
    [`[f(city "Paris")]`, 3, /positional arguments are not supported/],
    [`[f(a 1)]`, 5, /expected '=' after argument name 'a'/],
    [`[f(a==1)]`, 4, /expected '=' after argument name 'a'/],
    [`[f(a=)]`, 5, /expected a value/],
    [`[f(a=1 b=2)]`, 7, /expected ',' or '\)' between arguments of 'f'/],
    [`[f(a=1)] and then some prose`, 9, /unexpected "a" after the tool call list/],
    [`[f(a=1)] [g()]`, 9, /after the tool call list/],
    [`[f]`, 2, /expected '\(' after tool name 'f'/],
    [`[1, 2]`, 1, /expected a tool call like name\(arg=value\)/],
    [`["f(a=1)"]`, 1, /expected a tool call/],
    [`[f(a=1), ]]`, 10, /after the tool call list/],
    [`[ns.(a=1)]`, 4, /expected a name after '\.'/],
    [`[f(a=1.2.3)]`, 8, /expected ',' or '\)'/],
    [`[f(a=12abc)]`, 5, /invalid number/],
    [`[f(a=1e)]`, 6, /invalid exponent/],
    [`[f(a=-x)]`, 5, /expected a number after '-'/],
    [String.raw`[f(a="\x4")]`, 6, /invalid \\x escape/],
    [String.raw`[f(a="\u12")]`, 6, /invalid \\u escape/],
    [String.raw`[f(a="\UFFFFFFFF")]`, 6, /above U\+10FFFF/],
    [`[f(**[1])]`, 5, /'\*\*' must be followed by a dict literal/],
  ];
  it.each(cases)('%j → error at %i', (text, position, message) => {
    const e = bad(text);
    expect(e.message).toMatch(message);
    expect(e.position).toBe(position);
  });

  it('caps nesting at MAX_NESTING instead of overflowing the stack', () => {
    // the list and the call's parens are two levels; MAX_NESTING - 2 more fit exactly
    const n = MAX_NESTING - 2;
    expect(args1(`[f(a=${'['.repeat(n)}${']'.repeat(n)})]`).a).toBeDefined();
    expect(bad(`[f(a=${'['.repeat(n + 1)}${']'.repeat(n + 1)})]`).message).toMatch(/nesting deeper than/);
    for (const open of ['[', '(', '{"k": ', '{']) {
      expect(bad(`[f(a=${open.repeat(100_000)}`).message).toMatch(/nesting deeper than|never closed|expected/);
    }
  });

  // Work, not time: the parser reads its input through a counting view (countingText above), and the reads it
  // makes per input character are bounded. Measured: at most 3.0 reads per character on the inputs below, 3.6 on
  // short valid calls; a parser that rescans from the start (quadratic) makes thousands per character here.
  const MAX_READS_PER_CHAR = 8;
  const READS_SLACK = 64; // fixed overhead of a short input (an error message quotes a character or two)

  it('does work linear in the input on large pathological inputs (counted reads, no clock)', () => {
    const big = [
      '"'.repeat(200_000),
      "'''" + 'x'.repeat(200_000),
      '['.repeat(200_000),
      '1'.repeat(200_000),
      `f(a=${'1_'.repeat(100_000)})`,
      `f(a="${'\\u00e9'.repeat(50_000)}")`,
      `[${'f(),'.repeat(50_000)}]`,
      `f(a=0x${'f'.repeat(100_000)})`,
      `f(${'a=1,'.repeat(1)}${'\\'.repeat(100_000)}`,
      '<|tool_call_start|>'.repeat(10_000),
    ];
    for (const s of big) {
      const c = countingText(s);
      expect(parseToolCalls(c.text)).toEqual(parseToolCalls(s)); // the view changes nothing
      expect(c.reads(), `${JSON.stringify(s.slice(0, 20))}... (${s.length} chars)`).toBeLessThanOrEqual(MAX_READS_PER_CHAR * s.length + READS_SLACK);
    }
    // The count must see the parser's reads, or the bound above proves nothing: a valid input is read whole.
    const valid = `[f(a=[${'1, '.repeat(5_000)}2], b="${'x'.repeat(10_000)}")]`;
    const c = countingText(valid);
    expect(parseToolCalls(c.text).calls).toHaveLength(1);
    expect(c.reads()).toBeGreaterThanOrEqual(valid.length);
  });

  it('never throws, and does bounded work, on arbitrary strings', () => {
    const check = (arb: fc.Arbitrary<string>) =>
      fc.assert(
        fc.property(arb, (s) => {
          const c = countingText(s);
          const r = parseToolCalls(c.text);
          expect(c.reads()).toBeLessThanOrEqual(MAX_READS_PER_CHAR * s.length + READS_SLACK);
          if (r.error) {
            expect(r.calls).toEqual([]);
            expect(r.error.position).toBeGreaterThanOrEqual(0);
            expect(r.error.position).toBeLessThanOrEqual(s.length);
            expect(typeof r.error.message).toBe('string');
          }
        }),
        { numRuns: 500 },
      );
    check(fc.string());
    check(fc.string({ unit: 'binary' }));
    check(fc.string({ unit: 'grapheme' }));
    // strings of grammar tokens reach much deeper into the parser than random characters
    const token = fc.constantFrom('[', ']', '(', ')', '{', '}', ',', '=', ':', '"', "'", '"""', "'''", '\\', '\\u', '\\x', '**', 'f', 'ns.', 'a', 'r', 'b', 'True', 'None', '1', '-', '.', 'e', '0x', '_', 'j', ' ', '\n', '\u00e9');
    check(fc.array(token, { maxLength: 60 }).map((t) => t.join('')));
    check(fc.array(token, { maxLength: 60 }).map((t) => `[f(a=${t.join('')})]`));
  });
});

// ---------------------------------------------------------------------------------------------------------------

describe('formatToolCall / formatToolCalls', () => {
  it('prints Python literal calls', () => {
    expect(formatToolCall({ name: 'name', arguments: { a: 'x', b: [1, 2], c: { k: null } } })).toBe(`name(a="x", b=[1, 2], c={"k": None})`);
    expect(formatToolCall({ name: 'f', arguments: { s: `it's "q"`, t: true, f: false } }, { quote: "'" })).toBe(`f(s='it\\'s "q"', t=True, f=False)`);
    expect(formatToolCalls([
      { name: 'a', arguments: {} },
      { name: 'ns.b', arguments: { x: 1.5 } },
    ])).toBe(`[a(), ns.b(x=1.5)]`);
    expect(formatToolCalls([])).toBe('[]');
  });

  it('escapes so that the output is one line and parses back exactly', () => {
    const s = 'a\\b\n\r\t\x00\x7f"\'\u2028\ud800 😀';
    const out = formatToolCall({ name: 'f', arguments: { s } });
    expect(out).toBe(String.raw`f(s="a\\b\n\r\t\x00\x7f\"'\u2028\ud800 😀")`);
    expect(args1(out).s).toBe(s);
  });

  it('puts non-identifier and keyword argument names in **{...} groups, keeping their order', () => {
    const call = { name: 'f', arguments: { a: 1, 'b c': 2, class: 3, d: 4, '': 5 } };
    expect(formatToolCall(call)).toBe(`f(a=1, **{"b c": 2, "class": 3}, d=4, **{"": 5})`);
    expect(Object.keys(ok(formatToolCall(call))[0].arguments)).toEqual(Object.keys(call.arguments));
  });

  it('falls back to the JSON form for names call syntax cannot carry', () => {
    const call = { name: 'my tool!', arguments: { a: 1 } };
    expect(formatToolCall(call)).toBe(`{"name": "my tool!", "arguments": {"a": 1}}`);
    expect(ok(formatToolCalls([call]))).toEqual([call]);
  });

  it('follows JSON.stringify for values JSON cannot hold; -0 prints as -0.0; bigint prints its digits', () => {
    expect(formatToolCall({ name: 'f', arguments: { n: NaN, i: -Infinity, u: undefined, l: [undefined, 1], z: -0, big: 12345678901234567890n, d: new Date(0) } })).toBe(
      `f(n=None, i=None, l=[None, 1], z=-0.0, big=12345678901234567890, d="1970-01-01T00:00:00.000Z")`,
    );
    const cyc: Record<string, unknown> = {};
    cyc.self = cyc;
    expect(() => formatToolCall({ name: 'f', arguments: cyc })).toThrow(TypeError);
  });
});

// Arbitrary calls: identifier names, JSON-compatible values whose strings are dense in quotes, backslashes,
// newlines, control characters, lone surrogates and non-BMP characters.
const nasty = fc.oneof(
  fc.constantFrom('"', "'", '\\', '\n', '\r', '\t', '\x00', '\x1b', '\x7f', '\x85', '"""', "'''", '\\n', '\u2028', 'é', '中', '😀', '\ud800', '\udfff', '<|tool_call_end|>', ']', ')', '=', ','),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
);
const value = fc.jsonValue({ maxDepth: 4, stringUnit: nasty });
const identifier = fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,8}$/);
const toolName = fc.oneof(identifier, fc.tuple(identifier, identifier).map(([a, b]) => `${a}.${b}`));
const callOf = (key: fc.Arbitrary<string>) => fc.record({ name: toolName, arguments: fc.dictionary(key, value, { maxKeys: 5 }) });

describe('round trip: parseToolCalls(formatToolCalls(calls)) is the identity', () => {
  for (const quote of ['"', "'"] as const) {
    it(`identifier argument names, ${quote} quotes`, () => {
      fc.assert(
        fc.property(fc.array(callOf(identifier), { maxLength: 4 }), (calls) => {
          expect(ok(formatToolCalls(calls, { quote }))).toEqual(calls);
        }),
        { numRuns: 300 },
      );
    });
    it(`arbitrary argument names (via **{...}) and names, ${quote} quotes`, () => {
      const anyName = fc.oneof(toolName, fc.string({ unit: nasty, minLength: 1, maxLength: 6 }));
      fc.assert(
        fc.property(fc.array(fc.record({ name: anyName, arguments: fc.dictionary(fc.string({ unit: nasty, maxLength: 6 }), value, { maxKeys: 5 }) }), { maxLength: 3 }), (calls) => {
          expect(ok(formatToolCalls(calls, { quote }))).toEqual(calls);
          for (const c of calls) expect(ok(formatToolCall(c, { quote }))).toEqual([c]);
        }),
        { numRuns: 300 },
      );
    });
  }
});

// ---------------------------------------------------------------------------------------------------------------

describe('extractToolCalls', () => {
  it('cuts sections out of prose before and after, leaving the rest untouched', () => {
    const answer = `Let me check.\n${S}[get_weather(city="Paris")]${E}\nI asked the weather service.`;
    expect(extractToolCalls(answer)).toEqual({
      text: 'Let me check.\n\nI asked the weather service.',
      calls: [{ name: 'get_weather', arguments: { city: 'Paris' } }],
      errors: [],
      raw: ['[get_weather(city="Paris")]'],
    });
  });

  it('collects calls from several sections in order', () => {
    const r = extractToolCalls(`${S}[a(x=1), b()]${E}middle${S}c(y="${E.slice(0, 5)}")${E}end`);
    expect(r.calls.map((c) => c.name)).toEqual(['a', 'b', 'c']);
    expect(r.text).toBe('middleend');
    expect(r.errors).toEqual([]);
    expect(r.raw).toHaveLength(2);
  });

  it('reports malformed sections with positions in the answer and does not leak them into the text', () => {
    const answer = `ok ${S}[f(a=1)]${E} then ${S}[g(1)]${E} and ${S}[h(b=2)]${E}.`;
    const r = extractToolCalls(answer);
    expect(r.text).toBe('ok  then  and .');
    expect(r.calls.map((c) => c.name)).toEqual(['f', 'h']);
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0].section).toBe(1);
    expect(r.errors[0].message).toMatch(/positional/);
    expect(answer.slice(r.errors[0].position)).toMatch(/^1\)\]/);
  });

  it('an unterminated start marker swallows the rest and is reported as "tool call not closed"', () => {
    const answer = `Calling now ${S}[f(a=1)]`;
    expect(extractToolCalls(answer)).toEqual({
      text: 'Calling now ',
      calls: [],
      errors: [{ position: answer.indexOf(S), message: 'tool call not closed', section: 0 }],
      raw: ['[f(a=1)]'],
    });
  });

  it('leaves a stray end marker and plain text alone; an empty answer is empty', () => {
    expect(extractToolCalls(`a ${E} b`)).toEqual({ text: `a ${E} b`, calls: [], errors: [], raw: [] });
    expect(extractToolCalls('')).toEqual({ text: '', calls: [], errors: [], raw: [] });
  });

  it('with {bare: true}, reads an answer that is only a [fn(...)] list', () => {
    expect(extractToolCalls(' [f(a=1)]\n', { bare: true })).toEqual({ text: '', calls: [{ name: 'f', arguments: { a: 1 } }], errors: [], raw: ['[f(a=1)]'] });
    expect(extractToolCalls(' [f(a=1)]\n').calls).toEqual([]);
    expect(extractToolCalls('[1, 2]', { bare: true }).text).toBe('[1, 2]');
    expect(extractToolCalls('see [f(a=1)]', { bare: true }).calls).toEqual([]);
  });
});

describe('createToolCallStream', () => {
  it('passes text through at once and holds back only a possible marker prefix', () => {
    const s = createToolCallStream();
    expect(s.push('Hello <')).toEqual({ text: 'Hello ', sections: [] });
    expect(s.push('|tool_')).toEqual({ text: '', sections: [] });
    expect(s.push('x and more')).toEqual({ text: '<|tool_x and more', sections: [] });
    expect(s.push(`${S}[f(a=`)).toEqual({ text: '', sections: [] });
    expect(s.push(`1)]<|tool_call`)).toEqual({ text: '', sections: [] });
    expect(s.push(`_end|> after <|tool_call_star`)).toEqual({ text: ' after ', sections: ['[f(a=1)]'] });
    expect(s.end()).toEqual({ text: '<|tool_call_star', sections: [] });
  });

  it('reports a section still open at the end as unterminated', () => {
    const s = createToolCallStream();
    expect(s.push(`x${S}[f(`)).toEqual({ text: 'x', sections: [] });
    expect(s.end()).toEqual({ text: '', sections: [], unterminated: '[f(' });
  });

  it('gives the same text, sections and calls as extractToolCalls for any chunking', () => {
    const piece = fc.oneof(
      fc.string({ maxLength: 8 }),
      fc.constantFrom(S, E, '<', '<|', '<|tool_call_', S.slice(0, -1), E.slice(0, -2), '\n', '[f(a=1)]', 'g(x="]")', '[h(1)]'),
      fc.array(callOf(identifier), { maxLength: 2 }).map((c) => formatToolCalls(c)),
    );
    const answerAndCuts = fc.array(piece, { maxLength: 12 }).chain((ps) => {
      const answer = ps.join('');
      return fc.tuple(fc.constant(answer), fc.uniqueArray(fc.integer({ min: 0, max: answer.length }), { maxLength: 10 }));
    });
    fc.assert(
      fc.property(answerAndCuts, ([answer, cuts]) => {
        const points = [0, ...cuts.sort((a, b) => a - b), answer.length];
        const s = createToolCallStream();
        let text = '';
        const raw: string[] = [];
        for (let i = 1; i < points.length; i++) {
          const r = s.push(answer.slice(points[i - 1], points[i]));
          text += r.text;
          raw.push(...r.sections);
        }
        const last = s.end();
        text += last.text;
        raw.push(...last.sections);
        if (last.unterminated !== undefined) raw.push(last.unterminated);
        const want = extractToolCalls(answer);
        expect(text).toBe(want.text);
        expect(raw).toEqual(want.raw);
        const closed = last.unterminated === undefined ? raw : raw.slice(0, -1);
        expect(closed.flatMap((r) => parseToolCalls(r).calls)).toEqual(want.calls);
      }),
      { numRuns: 500 },
    );
  });
});

// ---------------------------------------------------------------------------------------------------------------

describe('validateToolCall', () => {
  const weather: ToolSpec = {
    type: 'function',
    function: {
      name: 'get_weather',
      description: 'Current weather',
      parameters: {
        type: 'object',
        properties: {
          city: { type: 'string' },
          unit: { type: 'string', enum: ['celsius', 'fahrenheit'] },
          days: { type: 'integer' },
          threshold: { type: 'number' },
          alerts: { type: 'boolean' },
          tags: { type: 'array', items: { type: 'string' } },
          where: { type: 'object', properties: { lat: { type: 'number' }, lon: { type: 'number' } }, required: ['lat', 'lon'], additionalProperties: false },
          note: { type: ['string', 'null'] },
          maybe: { type: 'string', nullable: true },
          either: { anyOf: [{ type: 'string' }, { type: 'integer' }] },
        },
        required: ['city'],
        additionalProperties: false,
      },
    },
  };
  const search: ToolSpec = { name: 'search', parameters: { type: 'object', properties: { q: { type: 'string' } } } };
  const ping: ToolSpec = { name: 'ping' };
  const tools = [weather, search, ping];
  const v = (name: string, args: Record<string, unknown>) => validateToolCall({ name, arguments: args }, tools);

  it('accepts valid calls in both tool forms', () => {
    expect(v('get_weather', { city: 'Paris' })).toEqual([]);
    expect(v('get_weather', { city: 'Paris', unit: 'celsius', days: 3, threshold: 2.5, alerts: false, tags: ['a'], where: { lat: 1, lon: 2 }, note: null, maybe: null, either: 4 })).toEqual([]);
    expect(v('search', { q: 'x', extra: 1 })).toEqual([]); // additionalProperties defaults to true
    expect(v('ping', { anything: [1] })).toEqual([]); // no parameters schema: nothing to check
  });

  it('rejects an unknown tool, naming the available ones', () => {
    expect(v('get_wether', {})).toEqual(["unknown tool 'get_wether' (available: get_weather, search, ping)"]);
  });

  it('reports missing required and unexpected arguments', () => {
    expect(v('get_weather', { town: 'Paris' })).toEqual(["missing required argument 'city'", "unexpected argument 'town'"]);
  });

  it('checks types, enum, integer vs number, nested properties and items, with paths', () => {
    expect(v('get_weather', { city: 1 })).toEqual(["argument 'city': expected string, got number 1"]);
    expect(v('get_weather', { city: 'x', days: 1.5, threshold: '2', alerts: 'yes' })).toEqual([
      "argument 'days': expected integer, got number 1.5",
      'argument \'threshold\': expected number, got string "2"',
      'argument \'alerts\': expected boolean, got string "yes"',
    ]);
    expect(v('get_weather', { city: 'x', unit: 'kelvin' })).toEqual(['argument \'unit\': "kelvin" is not one of ["celsius","fahrenheit"]']);
    expect(v('get_weather', { city: 'x', tags: ['a', 2] })).toEqual(["argument 'tags[1]': expected string, got number 2"]);
    expect(v('get_weather', { city: 'x', where: { lat: 'n', alt: 3 } })).toEqual([
      "missing required argument 'where.lon'",
      'argument \'where.lat\': expected number, got string "n"',
      "unexpected argument 'where.alt'",
    ]);
    expect(v('get_weather', { city: 'x', note: 3, maybe: 4, either: true, tags: 'a' })).toEqual([
      "argument 'note': expected string or null, got number 3",
      "argument 'maybe': expected string, got number 4",
      "argument 'either': true matches none of the allowed schemas",
      'argument \'tags\': expected array, got string "a"',
    ]);
  });

  it('takes loosely typed schemas (a request body) and ignores malformed keywords instead of throwing', () => {
    const loose: { name: string; parameters?: { [key: string]: unknown } } = {
      name: 'odd',
      parameters: { type: 7, required: 'city', properties: [1], items: 'x', enum: 'no', anyOf: {}, additionalProperties: 'maybe' },
    };
    const both: { type: 'function'; function: { name: string; parameters?: { [key: string]: unknown } } } = { type: 'function', function: { name: 'w', parameters: { required: ['a'] } } };
    expect(validateToolCall({ name: 'odd', arguments: { city: [1] } }, [loose, both])).toEqual([]);
    expect(validateToolCall({ name: 'w', arguments: {} }, [loose, both])).toEqual(["missing required argument 'a'"]);
    expect(validateToolCall({ name: 'x', arguments: {} }, [null, 3, { function: null }] as unknown as ToolSpec[])).toEqual(["unknown tool 'x'"]);
  });

  it('validates what the parser produces end to end', () => {
    const { calls } = extractToolCalls(`${S}[get_weather(city='Paris', days=2), search(q=None)]${E}`);
    expect(calls.map((c) => validateToolCall(c, tools))).toEqual([[], ["argument 'q': expected string, got null null"]]);
  });
});

describe('toOpenAiToolCalls', () => {
  it('gives deterministic ids and JSON-string arguments', () => {
    const calls = ok(`[f(a=1, b="x"), g()]`);
    const want = [
      { id: 'call_0', type: 'function', function: { name: 'f', arguments: '{"a":1,"b":"x"}' } },
      { id: 'call_1', type: 'function', function: { name: 'g', arguments: '{}' } },
    ];
    expect(toOpenAiToolCalls(calls)).toEqual(want);
    expect(toOpenAiToolCalls(calls)).toEqual(toOpenAiToolCalls(calls));
    expect(toOpenAiToolCalls(calls, 'turn3_').map((c) => c.id)).toEqual(['turn3_0', 'turn3_1']);
  });
});
