// Chat messages and tool definitions, shaped like OpenAI's Chat Completions objects so that a request body can be
// handed to the runtime as is.
//
// These are types only. The runtime checks (roles, content parts, tool-call arguments) live in ./validate.ts,
// because requests arrive as JSON and are never type-checked by the compiler.
//
// Mirrors: OpenAI `ChatCompletionMessageParam` / `ChatCompletionTool` (the subset a text-only model can use), and
// Liquid's plain tool objects `{ name, description, parameters }` from docs.liquid.ai.
// Leaves out: image/audio content parts (LFM2.5-1.2B is text only: an image part is rejected at render time),
// `refusal`, `function_call` (the pre-tools OpenAI field), `developer` role.

export type ChatRole = 'system' | 'user' | 'assistant' | 'tool';

/** A piece of message content. Only text exists for this model; other part types are rejected at render time. */
export interface ContentPart {
  type: 'text';
  text: string;
}

/** A call the assistant made, OpenAI style. `arguments` is JSON text (an object), as OpenAI sends it. */
export interface ToolCall {
  id?: string;
  type?: 'function';
  function: {
    name: string;
    /** JSON text of an object, e.g. `{"city": "Paris"}`. Not an object: a non-string is rejected. */
    arguments: string;
  };
}

export interface ChatMessage {
  role: ChatRole;
  /** Text, text parts (concatenated when rendered), or null (an assistant turn that only calls tools). */
  content: string | ContentPart[] | null;
  /** Assistant only: calls made in this turn (OpenAI style). See `normalizeMessagesForLfm` for how they render. */
  tool_calls?: ToolCall[];
  /** Tool only: the id of the call this message answers. LFM templates do not render it. */
  tool_call_id?: string;
  /** Tool only (optional): the name of the tool that produced this result. LFM templates do not render it. */
  name?: string;
  /** Assistant only: the thinking text, when it was split off the answer (`<think>…</think>` content). */
  reasoning_content?: string;
}

/** A JSON Schema object (kept loose: it is written into the prompt as JSON, never interpreted here). */
export type JSONSchema = { [key: string]: unknown };

/** A function the model may call, in the shape the function is described to the model. */
export interface FunctionDefinition {
  name: string;
  description?: string;
  parameters?: JSONSchema;
}

/** OpenAI form `{ type: 'function', function: {...} }`, or Liquid's plain `{ name, description, parameters }`. */
export type ToolDefinition = { type: 'function'; function: FunctionDefinition } | FunctionDefinition;
