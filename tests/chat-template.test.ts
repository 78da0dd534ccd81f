// Chat template: the built-in LFM2.5 formatter against hand-written prompts (spec §7.1), against the real
// LFM2.5 template rendered by @huggingface/jinja (byte for byte, when ../shared is present), the LFM2 v1
// templates (spec §7.2), the tool-call printer, and the error cases.
//
// The real templates are data from ../shared and are read from there, never copied here.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { extractToolCalls } from '../src/chat/tool-calls.js';
import { ChatTemplateError, hfToJson, lfm2ToolCallText, normalizeMessagesForLfm, renderChat } from '../src/chat/template.js';
import type { RenderChatOptions } from '../src/chat/template.js';
import type { ChatMessage, ToolDefinition } from '../src/chat/types.js';
import { SHARED_ASSETS } from './shared.js';

// --- the real templates (null when ../shared is absent) ----------------------------------------------------------

const readShared = (rel: string): string | null => (SHARED_ASSETS ? readFileSync(join(SHARED_ASSETS, rel), 'utf8') : null);
const LFM25_TEMPLATE = readShared('lfm2.5-1.2b/chat_template.jinja');
const LFM2_V1_FILE_TEMPLATE = readShared('lfm2-1.2b/chat_template.jinja');
const LFM2_V1_CONFIG_TEMPLATE: string | null = (() => {
  const text = readShared('lfm2-1.2b/tokenizer_config.json');
  if (text === null) return null;
  const t = (JSON.parse(text) as { chat_template?: unknown }).chat_template;
  return typeof t === 'string' ? t : null;
})();
if (SHARED_ASSETS && !LFM2_V1_CONFIG_TEMPLATE) {
  console.warn('lfm2-1.2b/tokenizer_config.json has no chat_template field (this July 2025 snapshot keeps it in chat_template.jinja): skipping its test');
}

// --- tools and the JSON the template must write for them (by hand) -----------------------------------------------

const weatherTool: ToolDefinition = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'Météo actuelle — 東京/Paris ☀️ "quoted" \\ back\nSecond line.',
    parameters: {
      type: 'object',
      properties: {
        city: { type: 'string', description: 'City name' },
        unit: { type: 'string', enum: ['celsius', 'fahrenheit'] },
        options: {
          type: 'object',
          properties: { days: { type: 'integer', minimum: 1, maximum: 7 }, hourly: { type: 'boolean', default: false } },
          required: ['days'],
        },
      },
      required: ['city'],
    },
  },
};
const weatherJson = String.raw`{"type": "function", "function": {"name": "get_weather", "description": "Météo actuelle — 東京/Paris ☀️ \"quoted\" \\ back\nSecond line.", "parameters": {"type": "object", "properties": {"city": {"type": "string", "description": "City name"}, "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}, "options": {"type": "object", "properties": {"days": {"type": "integer", "minimum": 1, "maximum": 7}, "hourly": {"type": "boolean", "default": false}}, "required": ["days"]}}, "required": ["city"]}}}`;

const calcTool: ToolDefinition = {
  name: 'calc',
  description: 'Évalue une expression ½ + ¼',
  parameters: { type: 'object', properties: { expr: { type: 'string' } }, required: ['expr'] },
};
const calcJson = String.raw`{"name": "calc", "description": "Évalue une expression ½ + ¼", "parameters": {"type": "object", "properties": {"expr": {"type": "string"}}, "required": ["expr"]}}`;

const BOS = '<|startoftext|>';
const GEN = '<|im_start|>assistant\n';
const turn = (role: string, content: string) => `<|im_start|>${role}\n${content}<|im_end|>\n`;

// --- conversations with their hand-written LFM2.5 prompts ---------------------------------------------------------

interface Case {
  name: string;
  messages: ChatMessage[];
  opts?: RenderChatOptions;
  expected: string;
}

const CASES: Case[] = [
  {
    name: 'one user turn, no system',
    messages: [{ role: 'user', content: 'What is 2+2?' }],
    expected: `${BOS}<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n`,
  },
  {
    name: 'system prompt',
    messages: [
      { role: 'system', content: 'You are a helpful assistant trained by Liquid AI.' },
      { role: 'user', content: 'What is C. elegans?' },
    ],
    expected: BOS + turn('system', 'You are a helpful assistant trained by Liquid AI.') + turn('user', 'What is C. elegans?') + GEN,
  },
  {
    name: 'empty system prompt and no tools: no system turn',
    messages: [{ role: 'system', content: '' }, { role: 'user', content: 'Hi' }],
    expected: BOS + turn('user', 'Hi') + GEN,
  },
  {
    name: 'OpenAI-form tool with unicode, escapes and a nested schema, after a system prompt',
    messages: [
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'Weather in Tōkyō?' },
    ],
    opts: { tools: [weatherTool] },
    expected: BOS + turn('system', `Be brief.\nList of tools: [${weatherJson}]`) + turn('user', 'Weather in Tōkyō?') + GEN,
  },
  {
    name: 'two tools (plain and OpenAI form) and a string tool, no system prompt',
    messages: [{ role: 'user', content: 'Compute 1+1' }],
    opts: { tools: [calcTool, weatherTool, '{"name": "raw"}'] },
    expected: BOS + turn('system', `List of tools: [${calcJson}, ${weatherJson}, {"name": "raw"}]`) + turn('user', 'Compute 1+1') + GEN,
  },
  {
    name: 'empty tool list: no system turn',
    messages: [{ role: 'user', content: 'Hi' }],
    opts: { tools: [] },
    expected: BOS + turn('user', 'Hi') + GEN,
  },
  {
    name: 'tool call in content and tool result (raw, not wrapped)',
    messages: [
      { role: 'user', content: 'Compute 6*7' },
      { role: 'assistant', content: '<|tool_call_start|>[calc(expr="6*7")]<|tool_call_end|>' },
      { role: 'tool', content: '{"result": 42}' },
    ],
    opts: { tools: [calcTool] },
    expected:
      BOS +
      turn('system', `List of tools: [${calcJson}]`) +
      turn('user', 'Compute 6*7') +
      turn('assistant', '<|tool_call_start|>[calc(expr="6*7")]<|tool_call_end|>') +
      turn('tool', '{"result": 42}') +
      GEN,
  },
  {
    name: 'multi-turn: earlier thinking stripped (and trimmed), last kept',
    messages: [
      { role: 'user', content: 'Q1' },
      { role: 'assistant', content: '<think>\nFirst thoughts.\n</think>\n\nAnswer one.\n' },
      { role: 'user', content: 'Q2' },
      { role: 'assistant', content: '<think>a</think>x</think>\t Answer two. ' },
      { role: 'user', content: 'Q3' },
      { role: 'assistant', content: '<think>\nKept.\n</think>\n\nAnswer three.' },
      { role: 'user', content: 'Q4' },
    ],
    expected:
      BOS +
      turn('user', 'Q1') +
      turn('assistant', 'Answer one.') +
      turn('user', 'Q2') +
      turn('assistant', 'Answer two.') +
      turn('user', 'Q3') +
      turn('assistant', '<think>\nKept.\n</think>\n\nAnswer three.') +
      turn('user', 'Q4') +
      GEN,
  },
  {
    name: 'keepPastThinking: nothing stripped',
    messages: [
      { role: 'user', content: 'Q1' },
      { role: 'assistant', content: '<think>\nFirst thoughts.\n</think>\n\nAnswer one.\n' },
      { role: 'user', content: 'Q2' },
    ],
    opts: { keepPastThinking: true },
    expected: BOS + turn('user', 'Q1') + turn('assistant', '<think>\nFirst thoughts.\n</think>\n\nAnswer one.\n') + turn('user', 'Q2') + GEN,
  },
  {
    name: 'earlier assistant turn without </think> is left as is (not trimmed)',
    messages: [
      { role: 'user', content: 'Q1' },
      { role: 'assistant', content: '  plain answer \n' },
      { role: 'user', content: 'Q2' },
      { role: 'assistant', content: 'last' },
    ],
    opts: { addGenerationPrompt: false },
    expected: BOS + turn('user', 'Q1') + turn('assistant', '  plain answer \n') + turn('user', 'Q2') + turn('assistant', 'last'),
  },
  {
    name: 'addGenerationPrompt false',
    messages: [
      { role: 'system', content: 'S' },
      { role: 'user', content: 'Hi' },
      { role: 'assistant', content: 'Hello!' },
    ],
    opts: { addGenerationPrompt: false },
    expected: BOS + turn('system', 'S') + turn('user', 'Hi') + turn('assistant', 'Hello!'),
  },
  {
    name: 'content parts are concatenated (system, user, tool); null content is empty',
    messages: [
      { role: 'system', content: [{ type: 'text', text: 'You are ' }, { type: 'text', text: 'terse.' }] },
      { role: 'user', content: [{ type: 'text', text: 'Hello, ' }, { type: 'text', text: 'wörld 👋' }] },
      { role: 'assistant', content: null },
      { role: 'tool', content: [{ type: 'text', text: '{"ok": true}' }] },
    ],
    opts: { tools: [calcTool] },
    expected:
      BOS +
      turn('system', `You are terse.\nList of tools: [${calcJson}]`) +
      turn('user', 'Hello, wörld 👋') +
      turn('assistant', '') +
      turn('tool', '{"ok": true}') +
      GEN,
  },
  {
    name: 'a system message that is not first is an ordinary turn',
    messages: [
      { role: 'user', content: 'Hi' },
      { role: 'system', content: 'Late system note.' },
    ],
    expected: BOS + turn('user', 'Hi') + turn('system', 'Late system note.') + GEN,
  },
  {
    name: 'OpenAI tool_calls history with null content: written as LFM2 call text',
    messages: [
      { role: 'user', content: 'Weather in São Paulo, and say hi?' },
      {
        role: 'assistant',
        content: null,
        tool_calls: [
          { id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city": "São Paulo", "unit": "celsius", "options": {"days": 3, "hourly": true}}' } },
          { id: 'call_2', type: 'function', function: { name: 'calc', arguments: '{"expr": "say \\"hi\\"\\n", "values": [1, 2.5, -3, null, false], "meta": null}' } },
        ],
      },
      { role: 'tool', tool_call_id: 'call_1', content: '{"temp": 21, "sky": "clear"}' },
      { role: 'tool', tool_call_id: 'call_2', name: 'calc', content: [{ type: 'text', text: '42' }] },
    ],
    opts: { tools: [weatherTool, calcTool] },
    expected:
      BOS +
      turn('system', `List of tools: [${weatherJson}, ${calcJson}]`) +
      turn('user', 'Weather in São Paulo, and say hi?') +
      turn(
        'assistant',
        String.raw`<|tool_call_start|>[get_weather(city="São Paulo", unit="celsius", options={"days": 3, "hourly": True}), calc(expr="say \"hi\"\n", values=[1, 2.5, -3, None, False], meta=None)]<|tool_call_end|>`,
      ) +
      turn('tool', '{"temp": 21, "sky": "clear"}') +
      turn('tool', '42') +
      GEN,
  },
  {
    name: 'tool_calls with prose: calls first, then the prose; call text already in content is not repeated',
    messages: [
      { role: 'user', content: 'Compute' },
      { role: 'assistant', content: 'Let me compute.', tool_calls: [{ function: { name: 'calc', arguments: '{"expr": "1+1"}' } }] },
      { role: 'tool', content: '2' },
      {
        role: 'assistant',
        content: '<|tool_call_start|>[calc(expr="2+2")]<|tool_call_end|>',
        tool_calls: [{ function: { name: 'calc', arguments: '{"expr": "2+2"}' } }],
      },
    ],
    opts: { addGenerationPrompt: false },
    expected:
      BOS +
      turn('user', 'Compute') +
      turn('assistant', '<|tool_call_start|>[calc(expr="1+1")]<|tool_call_end|>Let me compute.') +
      turn('tool', '2') +
      turn('assistant', '<|tool_call_start|>[calc(expr="2+2")]<|tool_call_end|>'),
  },
  {
    name: 'reasoning_content and tool_calls: thinking first, calls after </think>; stripped when not last',
    messages: [
      { role: 'user', content: 'Weather in Paris?' },
      { role: 'assistant', content: '', reasoning_content: 'I should look it up.', tool_calls: [{ function: { name: 'get_weather', arguments: '{"city": "Paris"}' } }] },
      { role: 'tool', content: '{"temp": 18}' },
      { role: 'assistant', content: '<think>\nIt is 18.\n</think>\n\nIt is 18 °C in Paris.' },
      { role: 'user', content: 'Thanks! And tomorrow?' },
    ],
    expected:
      BOS +
      turn('user', 'Weather in Paris?') +
      turn('assistant', '<|tool_call_start|>[get_weather(city="Paris")]<|tool_call_end|>') +
      turn('tool', '{"temp": 18}') +
      turn('assistant', '<think>\nIt is 18.\n</think>\n\nIt is 18 °C in Paris.') +
      turn('user', 'Thanks! And tomorrow?') +
      GEN,
  },
  {
    name: 'reasoning_content and tool_calls with keepPastThinking',
    messages: [
      { role: 'user', content: 'Weather in Paris?' },
      { role: 'assistant', content: null, reasoning_content: 'I should look it up.', tool_calls: [{ function: { name: 'get_weather', arguments: '{"city": "Paris"}' } }] },
      { role: 'tool', content: '{"temp": 18}' },
      { role: 'assistant', content: 'It is 18 °C.', reasoning_content: 'Easy.' },
    ],
    opts: { keepPastThinking: true, addGenerationPrompt: false },
    expected:
      BOS +
      turn('user', 'Weather in Paris?') +
      turn('assistant', '<think>I should look it up.</think><|tool_call_start|>[get_weather(city="Paris")]<|tool_call_end|>') +
      turn('tool', '{"temp": 18}') +
      turn('assistant', '<think>Easy.</think>It is 18 °C.'),
  },
  {
    name: 'reasoning_content is ignored when the content already has its thinking',
    messages: [
      { role: 'user', content: 'Q' },
      { role: 'assistant', content: '<think>in content</think>A', reasoning_content: 'separate' },
    ],
    opts: { addGenerationPrompt: false },
    expected: BOS + turn('user', 'Q') + turn('assistant', '<think>in content</think>A'),
  },
  {
    name: 'custom bos token',
    messages: [{ role: 'user', content: 'x' }],
    opts: { bosToken: '' },
    expected: turn('user', 'x') + GEN,
  },
];

describe('built-in LFM2.5 formatter (spec §7.1), against hand-written prompts', () => {
  for (const c of CASES) {
    it(c.name, () => {
      expect(renderChat(c.messages, { ...c.opts, template: null })).toBe(c.expected);
    });
  }

  it('defaults: template undefined or "" selects the built-in formatter', () => {
    const c = CASES[1];
    expect(renderChat(c.messages)).toBe(c.expected);
    expect(renderChat(c.messages, { template: '' })).toBe(c.expected);
  });

  it("trims stripped turns like Python's str.strip (U+0085 and U+001F are space, U+FEFF is not)", () => {
    const messages: ChatMessage[] = [
      { role: 'assistant', content: '<think>t</think>\u0085\u001f A \ufeff' },
      { role: 'assistant', content: 'last' },
    ];
    expect(renderChat(messages, { addGenerationPrompt: false })).toBe(BOS + turn('assistant', 'A \ufeff') + turn('assistant', 'last'));
  });

  it('normalize false: non-string content is tojson-ed, as the template does; tool_calls are not rendered', () => {
    const messages: ChatMessage[] = [
      { role: 'user', content: [{ type: 'text', text: 'hi' }] },
      { role: 'assistant', content: null, tool_calls: [{ function: { name: 'f', arguments: '{}' } }] },
    ];
    expect(renderChat(messages, { normalize: false, addGenerationPrompt: false })).toBe(
      BOS + turn('user', '[{"type": "text", "text": "hi"}]') + turn('assistant', 'null'),
    );
  });

  it('empty conversation: BOS and the generation prompt (as jinja renders it)', () => {
    expect(renderChat([])).toBe(BOS + GEN);
  });

  it('tools: undefined keys are dropped, as JSON would; key order is kept', () => {
    const tool = { name: 'f', description: undefined, parameters: { z: 1, a: [true, null] } };
    expect(renderChat([{ role: 'user', content: 'x' }], { tools: [tool] })).toBe(
      BOS + turn('system', 'List of tools: [{"name": "f", "parameters": {"z": 1, "a": [true, null]}}]') + turn('user', 'x') + GEN,
    );
  });
});

// --- parity with the real LFM2.5 template ---------------------------------------------------------------------------

describe.skipIf(!LFM25_TEMPLATE)('real LFM2.5 template through @huggingface/jinja equals the built-in formatter', () => {
  const template = LFM25_TEMPLATE ?? '';

  for (const c of CASES) {
    it(c.name, () => {
      const viaJinja = renderChat(c.messages, { ...c.opts, template });
      expect(viaJinja).toBe(renderChat(c.messages, { ...c.opts, template: null }));
      expect(viaJinja).toBe(c.expected);
    });
  }

  it('normalize false: same output on raw messages (no system parts)', () => {
    for (const c of CASES) {
      if (Array.isArray(c.messages[0]?.content) && c.messages[0].role === 'system') continue;
      if (c.messages[0]?.role === 'system' && c.messages[0].content === null) continue;
      const opts = { ...c.opts, normalize: false };
      expect(renderChat(c.messages, { ...opts, template }), c.name).toBe(renderChat(c.messages, { ...opts, template: null }));
    }
  });

  it('property: random conversations, tools and flags render the same both ways', () => {
    const piece = fc.constantFrom('a', 'Zz', ' ', '  ', '\n', '\t', 'é', '東京', '😀', '"', '\\', '{}', '<think>', '</think>', '<|im_end|>', '\u2028');
    const text = fc.string({ unit: piece, maxLength: 12 });
    const message = fc.record({
      role: fc.constantFrom<ChatMessage['role']>('system', 'user', 'assistant', 'tool'),
      content: fc.oneof(text, fc.array(text.map((t) => ({ type: 'text' as const, text: t })), { maxLength: 3 }), fc.constant(null)),
    });
    const tool = fc.record({ name: fc.string({ minLength: 1, maxLength: 8 }), description: fc.string(), parameters: fc.dictionary(fc.string({ maxLength: 6 }), fc.jsonValue({ maxDepth: 2 })) });
    fc.assert(
      fc.property(
        fc.array(message, { maxLength: 7 }),
        fc.option(fc.array(tool, { maxLength: 3 }), { nil: undefined }),
        fc.boolean(),
        fc.boolean(),
        (messages, tools, addGenerationPrompt, keepPastThinking) => {
          const opts: RenderChatOptions = { tools, addGenerationPrompt, keepPastThinking };
          expect(renderChat(messages, { ...opts, template })).toBe(renderChat(messages, { ...opts, template: null }));
        },
      ),
      { numRuns: 300 },
    );
  });

  it("known divergence (pinned): @huggingface/jinja's trim is JS String.trim, not Python's str.strip", () => {
    const messages: ChatMessage[] = [
      { role: 'assistant', content: '<think>t</think>\u0085\u001f A \ufeff' },
      { role: 'assistant', content: 'last' },
    ];
    const jinjaTurn = renderChat(messages, { template, addGenerationPrompt: false });
    expect(jinjaTurn).toBe(BOS + turn('assistant', '\u0085\u001f A') + turn('assistant', 'last')); // Python would give 'A \ufeff'
    expect(renderChat(messages, { addGenerationPrompt: false })).toBe(BOS + turn('assistant', 'A \ufeff') + turn('assistant', 'last'));
  });

  it('hfToJson equals the template filter `tojson` on JSON values', () => {
    const probe = '{{ x | tojson }}';
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 3 }), (x) => {
        expect(renderChat([], { template: probe.replace('x', 'tools[0]'), tools: [{ name: 'n', x } as unknown as ToolDefinition] })).toBe(
          hfToJson({ name: 'n', x: JSON.parse(JSON.stringify(x)) as unknown }),
        );
      }),
      { numRuns: 200 },
    );
  });
});

// --- LFM2 (v1) templates ----------------------------------------------------------------------------------------

describe.skipIf(!LFM2_V1_FILE_TEMPLATE)('LFM2 v1 chat_template.jinja (the first, tool-less template)', () => {
  const template = LFM2_V1_FILE_TEMPLATE ?? '';

  it('simple chat with a system prompt', () => {
    const messages: ChatMessage[] = [
      { role: 'system', content: 'You are a helpful assistant.' },
      { role: 'user', content: 'What is machine learning?' },
    ];
    expect(renderChat(messages, { template })).toBe(
      '<|startoftext|><|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nWhat is machine learning?<|im_end|>\n<|im_start|>assistant\n',
    );
    expect(renderChat(messages, { template, addGenerationPrompt: false })).toBe(
      '<|startoftext|><|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nWhat is machine learning?<|im_end|>\n',
    );
  });

  it('no thinking stripping in v1', () => {
    const messages: ChatMessage[] = [
      { role: 'user', content: 'Q' },
      { role: 'assistant', content: '<think>t</think>A' },
      { role: 'user', content: 'Q2' },
    ];
    expect(renderChat(messages, { template })).toBe(
      '<|startoftext|><|im_start|>user\nQ<|im_end|>\n<|im_start|>assistant\n<think>t</think>A<|im_end|>\n<|im_start|>user\nQ2<|im_end|>\n<|im_start|>assistant\n',
    );
  });

  it('this file has no tool support: tools are not written, tool results are not wrapped', () => {
    const messages: ChatMessage[] = [
      { role: 'user', content: 'Compute' },
      { role: 'assistant', content: null, tool_calls: [{ function: { name: 'calc', arguments: '{"expr": "1+1"}' } }] },
      { role: 'tool', content: '2' },
    ];
    expect(renderChat(messages, { template, tools: [calcTool] })).toBe(
      '<|startoftext|><|im_start|>user\nCompute<|im_end|>\n<|im_start|>assistant\n<|tool_call_start|>[calc(expr="1+1")]<|tool_call_end|><|im_end|>\n<|im_start|>tool\n2<|im_end|>\n<|im_start|>assistant\n',
    );
  });
});

describe.skipIf(!LFM2_V1_CONFIG_TEMPLATE)('LFM2 v1 tokenizer_config.json chat_template (spec §7.2)', () => {
  const template = LFM2_V1_CONFIG_TEMPLATE ?? '';

  it('simple chat', () => {
    expect(renderChat([{ role: 'system', content: 'S' }, { role: 'user', content: 'Hi' }], { template })).toBe(
      '<|startoftext|><|im_start|>system\nS<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n',
    );
  });

  it('tools inside <|tool_list_start|>…<|tool_list_end|>, tool results inside <|tool_response_start|>…<|tool_response_end|>', () => {
    const messages: ChatMessage[] = [
      { role: 'system', content: 'S' },
      { role: 'user', content: 'q' },
      { role: 'assistant', content: '<|tool_call_start|>[calc(expr="1+1")]<|tool_call_end|>' },
      { role: 'tool', content: '2' },
    ];
    expect(renderChat(messages, { template, tools: [calcTool] })).toBe(
      `<|startoftext|><|im_start|>system\nS\nList of tools: <|tool_list_start|>[${calcJson}]<|tool_list_end|><|im_end|>\n` +
        '<|im_start|>user\nq<|im_end|>\n' +
        '<|im_start|>assistant\n<|tool_call_start|>[calc(expr="1+1")]<|tool_call_end|><|im_end|>\n' +
        '<|im_start|>tool\n<|tool_response_start|>2<|tool_response_end|><|im_end|>\n' +
        '<|im_start|>assistant\n',
    );
  });
});

// --- the tool-call printer ------------------------------------------------------------------------------------------

describe('lfm2ToolCallText', () => {
  it('writes Python literals', () => {
    expect(
      lfm2ToolCallText([
        {
          name: 'f',
          arguments: { s: 'it\'s "x"\\\n\t\u0001é😀', i: 42, neg: -7, f: 0.125, big: 1e21, t: true, n: null, l: [1, 'a', [false]], d: { 'k-1': { z: [] }, '': 0 } },
        },
      ]),
    ).toBe(String.raw`<|tool_call_start|>[f(s="it's \"x\"\\\n\t\x01é😀", i=42, neg=-7, f=0.125, big=1e+21, t=True, n=None, l=[1, "a", [False]], d={"k-1": {"z": []}, "": 0})]<|tool_call_end|>`);
  });

  it('several calls, no arguments, key order kept, undefined arguments left out', () => {
    expect(lfm2ToolCallText([{ name: 'a', arguments: {} }, { name: 'ns.tool-b', arguments: { z: 1, a: 2, u: undefined } }])).toBe(
      '<|tool_call_start|>[a(), ns.tool-b(z=1, a=2)]<|tool_call_end|>',
    );
  });

  it('unicode argument names that are Python identifiers are fine', () => {
    expect(lfm2ToolCallText([{ name: 'f', arguments: { città: 'Roma', _x1: 1 } }])).toBe('<|tool_call_start|>[f(città="Roma", _x1=1)]<|tool_call_end|>');
  });

  it('writes what call syntax cannot carry in forms the parser reads back (one writer: formatToolCalls)', () => {
    const cases: [Parameters<typeof lfm2ToolCallText>[0], string][] = [
      [[{ name: 'f', arguments: { 'not-an-id': 1, ok: 2, '1st': 3 } }], '[f(**{"not-an-id": 1}, ok=2, **{"1st": 3})]'],
      [[{ name: 'bad name', arguments: { a: 1 } }], '[{"name": "bad name", "arguments": {"a": 1}}]'],
      [[{ name: 'a:b', arguments: {} }], '[{"name": "a:b", "arguments": {}}]'], // the old template writer wrote a:b(), which no parser reads
      [[{ name: 'f', arguments: { class: 'x' } }], '[f(**{"class": "x"})]'], // a Python keyword
    ];
    for (const [calls, body] of cases) {
      const text = lfm2ToolCallText(calls);
      expect(text).toBe(`<|tool_call_start|>${body}<|tool_call_end|>`);
      expect(extractToolCalls(text).calls).toEqual(calls);
    }
    // Non-finite numbers follow JSON.stringify (history arguments are JSON text, so they never hold one).
    expect(lfm2ToolCallText([{ name: 'f', arguments: { x: Number.NaN } }])).toBe('<|tool_call_start|>[f(x=None)]<|tool_call_end|>');
  });

  it('rejects what cannot be written', () => {
    const bad = (calls: Parameters<typeof lfm2ToolCallText>[0], re: RegExp) => {
      expect(() => lfm2ToolCallText(calls)).toThrow(ChatTemplateError);
      expect(() => lfm2ToolCallText(calls)).toThrow(re);
    };
    bad([], /no calls/);
    bad([{ name: '', arguments: {} }], /non-empty string/);
    bad([{ name: 'f', arguments: [1] as unknown as Record<string, unknown> }], /arguments must be an object/);
    let deep: Record<string, unknown> = {};
    for (let i = 0; i < 3000; i++) deep = { a: deep };
    bad([{ name: 'f', arguments: deep }], /deeper than 128 levels/);
    const loop: Record<string, unknown> = {};
    loop.self = loop;
    bad([{ name: 'f', arguments: { loop } }], /cyclic|deeper/);
  });
});

describe('normalizeMessagesForLfm', () => {
  it('returns string content and drops tool_calls / reasoning_content, keeps tool_call_id and name', () => {
    const out = normalizeMessagesForLfm([
      { role: 'assistant', content: [{ type: 'text', text: 'x' }], reasoning_content: 'r', tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: '' } }] },
      { role: 'tool', content: null, tool_call_id: 'c', name: 'f' },
    ]);
    expect(out).toEqual([
      { role: 'assistant', content: '<think>r</think><|tool_call_start|>[f()]<|tool_call_end|>x' },
      { role: 'tool', content: '', tool_call_id: 'c', name: 'f' },
    ]);
  });
});

// --- errors ---------------------------------------------------------------------------------------------------------

describe('errors', () => {
  const fails = (fn: () => unknown, kind: ChatTemplateError['kind'], re: RegExp) => {
    let err: unknown;
    try {
      fn();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ChatTemplateError);
    expect((err as ChatTemplateError).kind).toBe(kind);
    expect((err as ChatTemplateError).code).toBe('E_CHAT_TEMPLATE');
    expect((err as Error).message).toMatch(re);
  };
  const user = (content: unknown) => [{ role: 'user', content }] as unknown as ChatMessage[];

  it('unknown role', () => {
    fails(() => renderChat([{ role: 'developer', content: 'x' } as unknown as ChatMessage]), 'message', /messages\[0\]\.role: unknown role "developer"/);
    fails(() => renderChat([{ content: 'x' } as unknown as ChatMessage], { template: '{{ 1 }}' }), 'message', /unknown role undefined/);
  });

  it('image parts', () => {
    fails(() => renderChat(user([{ type: 'text', text: 'see' }, { type: 'image', image: 'x.png' }])), 'message', /content\[1\]: images are not supported by this model/);
    fails(() => renderChat(user([{ type: 'image_url', image_url: { url: 'data:' } }]), { normalize: false }), 'message', /images are not supported by this model/);
  });

  it('other part types and content values', () => {
    fails(() => renderChat(user([{ type: 'input_audio' }])), 'message', /unsupported content part type "input_audio"/);
    fails(() => renderChat(user([{ type: 'text', text: 3 }])), 'message', /needs a string 'text'/);
    fails(() => renderChat(user({ text: 'x' })), 'message', /content must be a string, an array of text parts, or null/);
    fails(() => renderChat(user(7)), 'message', /content must be/);
  });

  it('template syntax error', () => {
    fails(() => renderChat(user('x'), { template: '{% if %}oops' }), 'template-syntax', /chat template does not parse: .+/);
    fails(() => renderChat(user('x'), { template: '{{ messages[0]["content"] ' }), 'template-syntax', /does not parse/);
  });

  it('template render error, including raise_exception', () => {
    fails(() => renderChat(user('x'), { template: '{{ raise_exception("no tools here") }}' }), 'template-render', /failed while rendering: no tools here/);
  });

  it('non-string tool arguments (always checked, even with normalize off)', () => {
    const msgs = [{ role: 'assistant', content: null, tool_calls: [{ function: { name: 'f', arguments: { x: 1 } } }] }] as unknown as ChatMessage[];
    fails(() => renderChat(msgs), 'tool-call', /messages\[0\]\.tool_calls\[0\]\.function\.arguments must be JSON text/);
    fails(() => renderChat(msgs, { normalize: false }), 'tool-call', /must be JSON text/);
  });

  it('tool arguments that are not a JSON object', () => {
    const call = (args: string) => [{ role: 'assistant', content: null, tool_calls: [{ function: { name: 'f', arguments: args } }] }] as ChatMessage[];
    fails(() => renderChat(call('{"x": ')), 'tool-call', /is not valid JSON/);
    fails(() => renderChat(call('[1, 2]')), 'tool-call', /must be a JSON object, got an array/);
    fails(() => renderChat(call('null')), 'tool-call', /must be a JSON object, got null/);
  });

  it('malformed tool_calls', () => {
    fails(() => renderChat([{ role: 'user', content: 'x', tool_calls: [] }]), 'tool-call', /only allowed on assistant messages/);
    fails(() => renderChat([{ role: 'assistant', content: '', tool_calls: [{ name: 'f' }] }] as unknown as ChatMessage[]), 'tool-call', /tool_calls\[0\]\.function must be an object \{ name, arguments \}/);
    fails(() => renderChat([{ role: 'assistant', content: '', tool_calls: [{ function: { name: '', arguments: '{}' } }] }]), 'tool-call', /name must be a non-empty string/);
  });

  it('bad tools', () => {
    fails(() => renderChat(user('x'), { tools: [{ description: 'no name' } as unknown as ToolDefinition] }), 'tool', /tools\[0\]\.name must be a non-empty string/);
    fails(() => renderChat(user('x'), { tools: [{ name: 'f', parameters: { x: Number.NaN } }] }), 'tool', /tools\[0\]\.parameters\.x: NaN is not a JSON number/);
    fails(() => renderChat(user('x'), { tools: [42 as unknown as ToolDefinition] }), 'tool', /must be a tool object/);
  });

  it('built-in formatter with normalize off: system parts cannot be concatenated', () => {
    fails(() => renderChat([{ role: 'system', content: [{ type: 'text', text: 'S' }] }], { normalize: false }), 'message', /system content must be a string/);
  });
});
