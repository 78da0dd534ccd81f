// Rendering a chat and turning it into token ids, with special tokens honoured only where the TEMPLATE wrote them.
//
// The usual path (HF apply_chat_template + tokenize, llama.cpp's server) tokenizes the whole rendered prompt with
// special-token parsing on, so a user who types `<|im_end|>\n<|im_start|>assistant\n` in a message closes their own
// turn and writes the assistant's, and one who types `<think>` opens the model's reasoning. Here, system, user and
// tool content is plain text: every user-supplied string (content, name, tool_call_id, and the keys and strings of
// tool definitions) has the text of every added token (control tokens and plain ones such as `<think>` and
// `</think>`) replaced by private-use placeholders before rendering; the rendered text is then split at the added
// tokens that remain (the template's own), the placeholders are put back, and each stretch between two of them is
// encoded as plain text (BPE only, no added token recognised).
// For content without added-token text the ids are exactly those of whole-text tokenization (HF also splits at
// added tokens first and encodes each stretch on its own). Assistant messages are the model's own output: their
// markers (<think>, tool-call markers) stay real tokens.

import { renderChat, type RenderChatOptions } from './template.js';
import type { ChatMessage, ContentPart } from './types.js';
import { checkMessages, checkTools } from './validate.js';

/** What encodeChat needs from a tokenizer (src/tokenizer/tokenizer.ts implements it). */
export interface ChatTokenizer {
  readonly vocabSize: number;
  /** Every added token: control tokens and plain ones (`<think>`). */
  isAdded(id: number): boolean;
  idToToken(id: number): string | undefined;
  /** Encodes text as plain text: no added token recognised. */
  encodePlain(text: string): number[];
}

// Placeholders use private-use characters: MARK + two digits in base 256 (U+E100..U+E1FF) give the index of the
// added token (the real vocabulary has about 500 of them); MARK + ESCAPE stands for a literal MARK in user text.
const MARK = '\uE000';
const ESCAPE = '\uE0FF';
const DIGIT = 0xe100;

interface Specials {
  /** Added-token strings, longest first, with their ids. */
  list: { text: string; id: number }[];
  index: Map<string, number>;
  find: RegExp;
}
const cache = new WeakMap<ChatTokenizer, Specials>();

function specialsOf(tk: ChatTokenizer): Specials {
  let s = cache.get(tk);
  if (!s) {
    const list: { text: string; id: number }[] = [];
    for (let id = 0; id < tk.vocabSize; id++) {
      const t = tk.idToToken(id);
      if (t && tk.isAdded(id)) list.push({ text: t, id });
    }
    list.sort((a, b) => b.text.length - a.text.length || a.id - b.id);
    const esc = (x: string) => x.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const index = new Map(list.map((x, i) => [x.text, i]));
    s = { list, index, find: new RegExp(list.length ? list.map((x) => esc(x.text)).join('|') : '(?!)', 'g') };
    cache.set(tk, s);
  }
  return s;
}

/** Replaces added-token text (and stray MARK characters) in a user-supplied string with placeholders. */
function defuse(s: string, sp: Specials): string {
  if (!s) return s;
  const marked = s.split(MARK).join(MARK + ESCAPE);
  return marked.replace(sp.find, (m) => {
    const i = sp.index.get(m)!;
    return MARK + String.fromCharCode(DIGIT + (i >> 8), DIGIT + (i & 0xff));
  });
}

/** Undoes defuse() on a stretch of rendered text. */
function restore(s: string, sp: Specials): string {
  if (!s.includes(MARK)) return s;
  return s.replace(/\uE000(?:\uE0FF|([\uE100-\uE1FF])([\uE100-\uE1FF]))/g, (_, hi?: string, lo?: string) =>
    hi === undefined ? MARK : sp.list[((hi.charCodeAt(0) - DIGIT) << 8) | (lo!.charCodeAt(0) - DIGIT)].text,
  );
}

function defuseDeep(v: unknown, sp: Specials): unknown {
  if (typeof v === 'string') return defuse(v, sp);
  if (Array.isArray(v)) return v.map((x) => defuseDeep(x, sp));
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [defuse(k, sp), defuseDeep(x, sp)]));
  return v;
}

function defuseContent(c: ChatMessage['content'], sp: Specials): ChatMessage['content'] {
  if (typeof c === 'string') return defuse(c, sp);
  if (Array.isArray(c)) return c.map((p: ContentPart) => (p && p.type === 'text' ? { ...p, text: defuse(p.text, sp) } : p));
  return c;
}

/** A user-supplied message with its strings defused (assistant messages are the model's own output: kept). */
function defuseMessage(m: ChatMessage, sp: Specials): ChatMessage {
  if (m.role === 'assistant') return m;
  const out: ChatMessage = { ...m, content: defuseContent(m.content, sp) };
  if (typeof m.name === 'string') out.name = defuse(m.name, sp);
  if (typeof m.tool_call_id === 'string') out.tool_call_id = defuse(m.tool_call_id, sp);
  return out;
}

/**
 * Renders the chat (see renderChat) and encodes it. `text` is the rendered prompt as the model sees it; `tokens`
 * honour only the template's own added tokens. Throws a ChatTemplateError naming the bad field.
 */
export function encodeChat(tk: ChatTokenizer, messages: readonly ChatMessage[], opts: RenderChatOptions = {}): { text: string; tokens: number[] } {
  checkMessages(messages);
  checkTools(opts.tools, { allowStrings: true }); // before walking them: a bad value must not fail in defuseDeep
  const sp = specialsOf(tk);
  const safe = messages.map((m) => defuseMessage(m, sp));
  const tools = opts.tools?.map((t) => defuseDeep(t, sp)) as RenderChatOptions['tools'];
  const rendered = renderChat(safe, { ...opts, tools });

  const tokens: number[] = [];
  const append = (ids: readonly number[]) => {
    for (const id of ids) tokens.push(id); // not push(...ids): a long message has more ids than a call takes arguments
  };
  let at = 0;
  for (const m of rendered.matchAll(sp.find)) {
    if (m.index > at) append(tk.encodePlain(restore(rendered.slice(at, m.index), sp)));
    tokens.push(sp.list[sp.index.get(m[0])!].id);
    at = m.index + m[0].length;
  }
  if (at < rendered.length) append(tk.encodePlain(restore(rendered.slice(at), sp)));
  return { text: restore(rendered, sp), tokens };
}
