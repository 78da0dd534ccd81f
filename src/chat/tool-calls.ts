// Tool calls in model output (spec §7.3): parse, extract, stream-split (tool-call-parse.ts), validate against the
// declared tools (tool-call-schema.ts), format as LFM2 call text and OpenAI tool_calls (tool-call-format.ts).

export * from './tool-call-parse.js';
export * from './tool-call-schema.js';
export * from './tool-call-format.js';
